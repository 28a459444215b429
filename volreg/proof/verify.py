"""``verify_proof``: check a proof's signed statement offline, with the issuer's public key alone."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InvalidValue, MissingDependency, NotFound
from ..model.proofs import ProofCheck
from ..queries.sql import check_registry
from .keys import key_id, verify_signature
from .keys import public_key as load_public_key
from .statement import HEADER, parse_statement

if TYPE_CHECKING:
    from ..registry import Registry

__all__ = ["verify_proof", "read_statement"]


def read_statement(source: Any) -> str:
    """The statement text from the text itself, a text file holding it, or a proof PDF made by volreg.

    Raises:
        InvalidValue: not text or a path; a file that cannot be read.
        MissingDependency: a PDF without ``pypdf`` installed.
    """
    if isinstance(source, bytes):
        source = source.decode("utf-8", "replace")
    if isinstance(source, str) and source.strip().startswith(HEADER.split("/")[0]):
        return source.strip()
    if not isinstance(source, (str, os.PathLike)):
        raise InvalidValue("statement_or_file", "must be a statement (text) or the path of a file holding one",
                           shown=type(source).__name__)
    path = Path(source)
    if not _is_file(path):
        raise InvalidValue("statement_or_file", f"must start with {HEADER} or name an existing file",
                           shown=repr(str(source)[:60]))
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InvalidValue("statement_or_file", "must be a file that can be read", shown=type(error).__name__) from None
    if data.startswith(b"%PDF"):
        try:
            import pypdf
        except ImportError:
            raise MissingDependency("pypdf", "proofs") from None
        try:
            info = pypdf.PdfReader(path).metadata
        except Exception as error:  # pypdf raises many kinds for a broken file
            raise InvalidValue("statement_or_file", "must be a readable PDF", shown=type(error).__name__) from None
        return str((info.subject if info else None) or "").strip()
    return data.decode("utf-8", "replace").strip()


def _is_file(path: Path) -> bool:
    try:
        return len(str(path)) < 4096 and path.is_file()
    except (OSError, ValueError):   # a NUL byte, a lone surrogate, a name too long
        return False


def verify_proof(statement_or_file: Any, public_key: Any = None, *, registry: Registry | None = None) -> ProofCheck:
    """Check a proof of service offline: is its statement signed by the issuer's key, unchanged?

    Without a registry this needs only the statement (the QR code's text, a text file, or the PDF volreg
    printed) and the issuer's public key (PEM text or file, from ``registry.proof_public_key()`` or
    ``volreg proof key DB``). The answer's ``fields`` are the signed facts: compare them with the page, since
    a statement proves what it says, not what a page around it says. With the issuing ``registry`` it also
    says whether the proof is still in force there (``revoked``, ``superseded``, ``not_in_register``).

    Args:
        statement_or_file: the statement text, or the path of a text file or volreg PDF holding it.
        public_key: the issuer's public key (PEM text, a PEM file, or base64 of the 32 raw bytes); may be
            left out when ``registry`` is given (its recorded keys are used).
        registry: the issuing registry, to check the register too.

    Returns:
        A :class:`volreg.ProofCheck`: ``valid`` with ``reason`` ``valid``, or not, with ``reason``
        ``tampered``, ``unknown_key``, ``malformed``, ``revoked``, ``superseded`` or ``not_in_register``.

    Raises:
        InvalidValue: no public key and no registry, an unreadable key, or a source that is not a statement
            or a file.
    """
    if registry is not None:
        check_registry(registry)
    text = read_statement(statement_or_file)
    keys: dict[str, Any] = {}
    if public_key is not None:
        given = load_public_key(public_key)
        keys[key_id(given)] = given
    elif registry is not None:
        keys = {kid: load_public_key(pem) for kid, pem in registry.proof_public_keys().items()}
    else:
        raise InvalidValue("public_key", "must be given (the issuer's public key), or the issuing 'registry'", None)
    try:
        fields, signed, signature = parse_statement(text)
    except ValueError as error:
        return ProofCheck(False, "malformed", f"not a volreg proof statement: it {error}")
    number = fields["no"]
    key = keys.get(fields["key"])
    if key is None:
        known = ", ".join(sorted(keys)) or "none"
        return ProofCheck(False, "unknown_key", f"proof {number} names signing key {fields['key']!r}, not the key "
                          f"given ({known}): it was not issued with that key, or its key field was changed", fields)
    if not verify_signature(key, signature, signed):
        return ProofCheck(False, "tampered", f"proof {number}: the signature does not match the statement; "
                          "something in it was changed after signing", fields)
    if registry is not None:
        try:
            proof = registry.proof(number)
        except NotFound:
            return ProofCheck(False, "not_in_register", f"proof {number} is signed but not in this registry's register",
                              fields, signature_valid=True)
        if proof.signature != signature:
            return ProofCheck(False, "not_in_register", f"proof {number} in the register says something else",
                              fields, signature_valid=True)
        if proof.status != "issued":
            when = f" on {proof.status_at:%Y-%m-%d}" if proof.status_at else ""
            return ProofCheck(False, proof.status, f"proof {number} was {proof.status}{when}: {proof.status_reason}",
                              fields, signature_valid=True)
    return ProofCheck(True, "valid", f"proof {number} is signed by key {fields['key']}: {fields['name']}, "
                      f"{fields['org']}, {fields['from']} to {fields['to']}, {fields['min']} minutes, issued "
                      f"{fields['issued']}", fields, signature_valid=True)
