"""The compact signed statement of a proof: one line of text, what the QR code holds.

Form (fields in this order, values percent-escaped only for ``%`` and ``|``)::

    VOLREG-PROOF/1|no=3F9C0A-2024-00001|name=王*明|id=1****************X|org=新华社区|from=2024-01-01|
    to=2024-12-31|min=750|issued=2025-01-06|key=5a1f0c2e9b7d3a44|sig=<base64url Ed25519 signature>

(one line; broken here only for reading). The signature covers everything before ``|sig=``, the key id
included, as UTF-8. The name and the document number are masked: a QR code is read by whoever holds the
paper, so it carries no more than the page shows to everyone. Pure text handling; no cryptography here.
"""

from __future__ import annotations

__all__ = ["HEADER", "FIELDS", "signed_text", "statement_text", "parse_statement"]

HEADER = "VOLREG-PROOF/1"
"""The first field of every statement: the format and its version."""

FIELDS = ("no", "name", "id", "org", "from", "to", "min", "issued", "key")
"""The signed fields, in order: number, masked name, masked document number, issuing organisation, first and
last day of the period, total verified minutes, issue date, signing key id."""


def _escape(value: str) -> str:
    return value.replace("%", "%25").replace("|", "%7C")


def _unescape(value: str) -> str:
    return value.replace("%7C", "|").replace("%7c", "|").replace("%25", "%")


def signed_text(fields: dict[str, str]) -> str:
    """The part of the statement the signature covers."""
    return "|".join([HEADER, *(f"{name}={_escape(fields[name])}" for name in FIELDS)])


def statement_text(fields: dict[str, str], signature: str) -> str:
    """The whole statement: the signed part and the signature (base64url)."""
    return f"{signed_text(fields)}|sig={signature}"


def parse_statement(text: str) -> tuple[dict[str, str], str, str]:
    """Read a statement back.

    Returns:
        The fields (unescaped), the exact signed part, and the signature text.

    Raises:
        ValueError: the text is not a statement of this form (a message saying what is missing).
    """
    text = text.strip()
    parts = text.split("|")
    if not parts or parts[0] != HEADER:
        raise ValueError(f"does not start with {HEADER}")
    names = (*FIELDS, "sig")
    if len(parts) != len(names) + 1:
        raise ValueError(f"has {len(parts) - 1} fields, not {len(names)}")
    fields: dict[str, str] = {}
    for name, part in zip(names, parts[1:], strict=True):
        key, sep, value = part.partition("=")
        if key != name or not sep:
            raise ValueError(f"field {name!r} is missing or out of order")
        fields[name] = _unescape(value)
    signature = fields.pop("sig")
    return fields, text[: text.rindex("|sig=")], signature
