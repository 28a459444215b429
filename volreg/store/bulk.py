"""Inserting batches of new service records with the summaries brought up to date set-based.

The batch path lives with the rest of the summary knowledge in :mod:`volreg.store.summaries`; this name
stays for the callers that import it from here.
"""

from .summaries import BulkInsert, insert_records

__all__ = ["BulkInsert", "insert_records"]
