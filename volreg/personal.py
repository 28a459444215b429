"""Personal data: resident ID numbers, phone numbers, masking and the registry key.

A resident ID number (GB 11643-1999) is validated and then reduced to two things that are safe to keep: a keyed
digest (HMAC-SHA256 with the registry key) used to find the same person again, and a masked form for display.
The number itself is never stored, logged or put in an error message.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from datetime import date
from pathlib import Path

import attrs

from .errors import InvalidValue

__all__ = [
    "IdNumber",
    "parse_id_number",
    "normalise_phone",
    "mask_phone",
    "mask_name",
    "mask_id_text",
    "load_key",
    "digest",
]

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}-?[1-9]\d{6,7}(?:-\d{1,6})?$")


def mask_id_text(text: str) -> str:
    """Mask anything that may be an ID number for a message: keep the first 6 and last 4 characters."""
    text = str(text)
    if len(text) <= 10:
        return "*" * len(text)
    return text[:6] + "*" * (len(text) - 10) + text[-4:]


@attrs.frozen(repr=False)
class IdNumber:
    """A validated 18-character resident ID number, held only long enough to digest and mask it.

    Attributes:
        number: the canonical 18-character number (upper-case ``X``).
        birth_date: the birth date it encodes.
        gender: ``"male"`` (odd sequence digit) or ``"female"``.
    """

    number: str
    birth_date: date
    gender: str

    @property
    def masked(self) -> str:
        """The display form, e.g. ``110105********002X``."""
        return mask_id_text(self.number)

    def __repr__(self) -> str:
        return f"IdNumber({self.masked!r})"


def _check_char(first17: str) -> str:
    return _CHECK[sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def parse_id_number(value: object, *, today: date | None = None, field: str = "id_number") -> IdNumber:
    """Validate a resident ID number.

    18-character numbers are checked for their form, a real birth date not in the future and the ISO 7064
    MOD 11-2 check character.  15-digit numbers (issued before 1999) are converted to 18 characters: the
    century ``19`` is inserted and the check character computed.

    Args:
        value: the number as text.
        today: the date a birth date may not be after (default: today).
        field: the name used in an error message.

    Returns:
        The validated number.

    Raises:
        InvalidValue: with the number masked in the message.
    """
    if not isinstance(value, str):
        raise InvalidValue(field, "must be an 18-character resident ID number", shown=type(value).__name__)
    text = value.strip().upper().replace(" ", "")
    shown = mask_id_text(text) if text else "''"
    if re.fullmatch(r"\d{15}", text):
        body = text[:6] + "19" + text[6:]
        text = body + _check_char(body)
    if not re.fullmatch(r"\d{17}[\dX]", text):
        raise InvalidValue(field, "must be 17 digits and a check digit or X (GB 11643-1999)", shown=shown)
    try:
        born = date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        raise InvalidValue(field, "must encode a real birth date", shown=shown) from None
    if born > (today or date.today()) or born.year < 1880:
        raise InvalidValue(field, "must encode a birth date in the past", shown=shown)
    if _check_char(text[:17]) != text[17]:
        raise InvalidValue(field, "must end in the right check character (ISO 7064 MOD 11-2)", shown=shown)
    return IdNumber(text, born, "male" if int(text[16]) % 2 else "female")


def normalise_phone(value: object, field: str = "phone") -> str:
    """Validate a mainland mobile (``13812345678``, ``+86 138 1234 5678``) or landline (``0937-6221234``).

    Returns:
        The number without spaces or country code.

    Raises:
        InvalidValue: with the number masked in the message.
    """
    if not isinstance(value, str):
        raise InvalidValue(field, "must be a mainland mobile or landline number", shown=type(value).__name__)
    text = re.sub(r"[\s()（）]", "", value)
    text = re.sub(r"^(?:\+86|0086)-?", "", text)
    if _MOBILE.match(text) or _LANDLINE.match(text):
        return text
    raise InvalidValue(field, "must be a mainland mobile (11 digits) or landline number", shown=mask_phone(text))


def mask_phone(phone: str | None) -> str | None:
    """Mask a phone number for display: ``138****5678``."""
    if not phone:
        return phone
    digits = str(phone)
    if len(digits) <= 4:
        return "*" * len(digits)
    keep_head = 3 if len(digits) >= 11 else 2
    return digits[:keep_head] + "*" * (len(digits) - keep_head - 4) + digits[-4:]


def mask_name(name: str | None) -> str | None:
    """Mask a name for publication without consent: ``王小明`` → ``王*明``, ``李四`` → ``李*``."""
    if not name:
        return name
    if len(name) <= 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def digest(key: bytes, purpose: str, value: str) -> str:
    """A keyed digest (HMAC-SHA256) of ``value``, separated by ``purpose`` so digests do not cross uses."""
    return hmac.new(key, f"{purpose}\x00{value}".encode(), hashlib.sha256).hexdigest()


def load_key(key: str | bytes | None, database_path: str | None) -> tuple[bytes, str]:
    """Find the registry key: the argument, else ``VOLREG_KEY``, else a key file beside the database.

    The key file (``<database>.key``) is created with owner-only permissions on first use.  An in-memory
    registry without a key gets a random one that lives as long as it does.

    Returns:
        The key bytes and a description of where it came from (for error messages).
    """
    if key is not None:
        return (key.encode() if isinstance(key, str) else bytes(key)), "the 'key' argument"
    env = os.environ.get("VOLREG_KEY")
    if env:
        return env.encode(), "VOLREG_KEY"
    if not database_path:
        return secrets.token_bytes(32), "a random in-memory key"
    path = Path(str(database_path) + ".key")
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text().strip().encode(), f"the key file {path}"
