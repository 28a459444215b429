"""Proofs of service, verifiable offline: the signed statement, the signing key, verification and the PDF.

The registry side (issuing, the register, revoking) is :mod:`volreg.proofs`; this package needs the ``proofs``
extra (``cryptography``; ``reportlab`` and ``segno`` for the PDF) only when it signs, checks or prints.
"""

from .verify import read_statement, verify_proof

__all__ = ["read_statement", "verify_proof"]
