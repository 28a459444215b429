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
import time
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
    "mask_document",
    "load_key",
    "read_key_file",
    "digest",
    "MIN_KEY_BYTES",
]

MIN_KEY_BYTES = 16
"""The shortest registry key accepted: a shorter one would make the ID digests guessable."""

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}-?[1-9]\d{6,7}(?:-\d{1,6})?$")


# First digits of 18-character numbers whose region part has only a handful of codes: 7 (Taiwan, 71xxxx),
# 8 (Hong Kong, Macao and Taiwan residence permits, 810000/820000/830000) and 9 (the 2023 foreign permanent
# residence card). With the birth date and gender stored beside the mask, showing the first character of such
# a number and its check character would leave about 3 x 500 / 11 = 136 candidates; they are masked entirely.
_FEW_REGIONS = "789"

_SHORTEST_SHOWN = 8


def mask_document(id_type: str = "resident", number: str | None = None) -> str:
    """The masked display form of an identity document number: only the first and the last character kept.

    ``11010519491231002X`` becomes ``1****************X`` (the same length). This is the only masking volreg
    applies to document numbers, for every document type, in storage, reprs, the journal, exports and
    messages. Why so little is shown: the birth date and gender are stored in clear, and a resident ID number
    is region (6 digits) + birth date (8) + sequence (3, its parity the gender) + check character. With only
    the first digit shown the region is one of several hundred county codes of a group of provinces, the
    sequence one of 500 of the right parity, and the shown check character keeps 1 in 11 of those: at least
    ``32 x 500 / 11 = 1,454`` candidates even for an attacker who knows just the 32 districts of Beijing and
    Tianjin (the README has the arithmetic). Where the first character would narrow the region to a handful
    of codes (18-character numbers starting with 7, 8 or 9), or the number is shorter than 8 characters,
    every character is masked.

    The function works on the text it is given, valid or not, and on an already masked form as well (which
    is how older masks are rewritten without the number).

    Args:
        id_type: the kind of document (``"resident"`` for the 居民身份证; other types follow the same rule).
        number: the document number.

    Returns:
        The masked form, as long as ``number``.

    Raises:
        TypeError: no number given (``mask_document("11010519491231002X")`` would mask the type, not the number).
    """
    if number is None:
        raise TypeError("mask_document() needs the document number: mask_document(id_type, number)")
    text = str(number)
    if len(text) < _SHORTEST_SHOWN:
        return "*" * len(text)
    if len(text) == 18 and text[0] in _FEW_REGIONS:
        return "*" * len(text)
    return text[0] + "*" * (len(text) - 2) + text[-1]


def mask_id_text(text: str) -> str:
    """Mask anything that may be a resident ID number for a message (see :func:`mask_document`)."""
    return mask_document("resident", str(text))


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
        """The display form, e.g. ``1****************X`` (see :func:`mask_document`)."""
        return mask_document("resident", self.number)

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


def _key_bytes(value: bytes, source: str) -> bytes:
    if len(value) < MIN_KEY_BYTES:
        raise InvalidValue(
            "key", f"must be at least {MIN_KEY_BYTES} bytes long (a short key makes ID digests guessable)",
            shown=f"{len(value)} bytes from {source}",
        )
    return value


def read_key_file(path: str | os.PathLike[str], *, allow_shared: bool = False) -> bytes:
    """Read a registry key file, refusing one that others may read or write (as ssh does).

    Args:
        path: the key file.
        allow_shared: accept a file readable or writable by the group or others (also ``VOLREG_ALLOW_SHARED_KEY=1``).

    Returns:
        The key bytes (surrounding white space removed).

    Raises:
        KeyFileError: the file is missing, unreadable, shared without permission, or holds a too-short key.
    """
    from .errors import KeyFileError

    path = Path(path)
    allow_shared = allow_shared or os.environ.get("VOLREG_ALLOW_SHARED_KEY", "") not in ("", "0")
    try:
        mode = path.stat().st_mode
        if os.name == "posix" and mode & 0o077 and not allow_shared:
            raise KeyFileError(
                path, f"may be read or written by others (mode {mode & 0o777:03o}); run: chmod 600 {path} "
                "(or set VOLREG_ALLOW_SHARED_KEY=1 to use it anyway)"
            )
        data = path.read_bytes().strip()
    except FileNotFoundError:
        raise KeyFileError(path, "does not exist") from None
    except OSError as error:
        raise KeyFileError(path, f"cannot be read ({error.strerror or error})") from None
    try:
        return _key_bytes(data, f"the key file {path}")
    except InvalidValue as error:
        raise KeyFileError(path, f"holds a key of {len(data)} bytes; a key must be at least {MIN_KEY_BYTES}") \
            from error


def load_key(
    key: str | bytes | None, database_path: str | None, *, new: bool = True, allow_shared: bool = False
) -> tuple[bytes, str]:
    """Find the registry key: the argument, else ``VOLREG_KEY``, else a key file beside the database.

    The key file (``<database>.key``) is created, with owner-only permissions, only for a new registry; for an
    existing registry a missing key file is an error and nothing is created. An in-memory registry without a
    key gets a random one that lives as long as it does.

    Args:
        key: the key given by the caller, or None.
        database_path: the database file, or None for an in-memory registry.
        new: whether the registry is being created (only then may a key file be created).
        allow_shared: accept a key file readable or writable by others (see :func:`read_key_file`).

    Returns:
        The key bytes and a description of where it came from (for error messages).

    Raises:
        InvalidValue: a key shorter than :data:`MIN_KEY_BYTES` bytes.
        KeyFileError: a missing key file for an existing registry, an unreadable or shared key file.
    """
    from .errors import KeyFileError

    if key is not None:
        value = key.encode() if isinstance(key, str) else bytes(key)
        return _key_bytes(value, "the 'key' argument"), "the 'key' argument"
    env = os.environ.get("VOLREG_KEY")
    if env is not None and env != "":
        return _key_bytes(env.encode(), "VOLREG_KEY"), "VOLREG_KEY"
    if not database_path:
        return secrets.token_bytes(32), "a random in-memory key"
    path = Path(str(database_path) + ".key")
    if not path.exists():
        if not new:
            raise KeyFileError(
                path, f"does not exist, but the registry {database_path} does: give its key (key=, VOLREG_KEY or "
                "--key-file) or put its key file back; nothing was created"
            )
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            # Another process creating the same new registry made it first: wait for its key to be written.
            for _ in range(100):
                if path.stat().st_size >= MIN_KEY_BYTES:
                    break
                time.sleep(0.01)
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
                handle.flush()
                os.fsync(handle.fileno())
    return read_key_file(path, allow_shared=allow_shared), f"the key file {path}"
