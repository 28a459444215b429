"""Inserting a batch of new service records with the summaries brought up to date once per batch.

The batch path lives with the rest of the summary knowledge in :mod:`volreg.store.summaries`; this name
stays for the callers that import it from here.
"""

from .summaries import insert_records

__all__ = ["insert_records"]
