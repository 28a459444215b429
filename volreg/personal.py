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
    "ID_TYPES",
    "ID_TYPE_LABELS",
    "Document",
    "IdNumber",
    "parse_document",
    "parse_id_number",
    "mask_document",
    "document_purpose",
    "id_type_of",
    "normalise_phone",
    "mask_phone",
    "mask_name",
    "mask_id_text",
    "holds_id_number",
    "mask_id_runs",
    "fold_width",
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


ID_TYPES = (
    "resident", "residence_permit", "foreign_permanent", "hk_macao_permit", "taiwan_permit", "passport", "none",
)
"""Identity documents a person may be registered with (``none``: no document; the registry's id identifies)."""

ID_TYPE_LABELS = {
    "居民身份证": "resident", "身份证": "resident", "二代身份证": "resident", "大陆居民身份证": "resident",
    "港澳台居民居住证": "residence_permit", "居住证": "residence_permit", "港澳居民居住证": "residence_permit",
    "台湾居民居住证": "residence_permit",
    "外国人永久居留身份证": "foreign_permanent", "外国人永久居留证": "foreign_permanent",
    "永久居留身份证": "foreign_permanent", "永居证": "foreign_permanent",
    "港澳居民来往内地通行证": "hk_macao_permit", "回乡证": "hk_macao_permit", "港澳通行证": "hk_macao_permit",
    "台湾居民来往大陆通行证": "taiwan_permit", "台胞证": "taiwan_permit",
    "护照": "passport", "外国护照": "passport",
    "无": "none", "无证件": "none",
    "resident id card": "resident", "resident id": "resident", "id card": "resident",
    "residence permit": "residence_permit", "foreign permanent residence card": "foreign_permanent",
    "permanent residence card": "foreign_permanent", "home return permit": "hk_macao_permit",
    "mainland travel permit": "taiwan_permit", "no document": "none",
}
"""How a document type is written in files (Chinese names and English ones) → its code in :data:`ID_TYPES`."""

# GB/T 2260 province-level codes (the first two digits of a resident or residence-permit number).
_PROVINCES = frozenset({
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42", "43",
    "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71",
})
_PERMIT_REGIONS = {"810000": "Hong Kong", "820000": "Macao", "830000": "Taiwan"}


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


# A run of 15 or more digits (and a check character X), ASCII or full-width: where a resident ID number
# (or a residence-permit or permanent-residence number of the same form) may be inside another text.
_ID_RUN = re.compile("[0-9\uff10-\uff19]{15,}[Xx\uff38\uff58]?")
_NARROW = str.maketrans({chr(c + 0xFEE0): chr(c) for c in range(0x30, 0x7B) if chr(c).isalnum()})


def fold_width(text: str) -> str:
    """``text`` with full-width letters and digits (``６２０`` ``ＡＢ``) as their ASCII forms, one character for
    one (so positions stay), everything else as it is."""
    return text.translate(_NARROW)


def _may_be_id(window: str) -> bool:
    """Whether 18 characters (17 digits and a digit or X) or 15 digits have the form of an ID number: a
    province-level region (or 81-83 for a residence permit, 9 for a permanent-residence card) and a real
    birth date where the number carries it. A check character is not required (a mistyped number is
    still the person's); random digits, such as those of a hex id, pass about once in 10,000."""
    if not (window[:2] in _PROVINCES or window[:2] in ("81", "82", "83") or window[0] == "9"):
        return False
    year, month, day = (window[6:10], window[10:12], window[12:14]) if len(window) == 18 else \
        ("19" + window[6:8], window[8:10], window[10:12])
    try:
        born = date(int(year), int(month), int(day))
    except ValueError:
        return False
    return born.year >= 1900


def _id_like(match: re.Match[str]) -> bool:
    """Whether a run of digits (:data:`_ID_RUN`) holds an ID number's form: 18 characters anywhere in it, or
    (a number of before 1999) the whole run of 15 digits, not glued to a letter as in a hex id."""
    folded = fold_width(match.group()).upper()
    for start in range(len(folded) - 17):
        window = folded[start:start + 18]
        if "X" not in window[:-1] and _may_be_id(window):
            return True
    if len(folded) != 15:
        return False
    text, begin, end = match.string, match.start(), match.end()
    glued = (begin > 0 and text[begin - 1].isascii() and text[begin - 1].isalpha()) or \
        (end < len(text) and text[end].isascii() and text[end].isalpha())
    return not glued and _may_be_id(folded)


def holds_id_number(text: str) -> bool:
    """Whether ``text`` holds what may be a resident ID number (or a residence-permit or 2023 permanent-
    residence number, of the same form): a run of digits, ASCII or full-width, with 18 or 15 of them in a row
    that start with a region and carry a real birth date, as when another system keys its rows by 身份证号.
    Such a text must not be stored or shown in clear. An 18-digit order number (``202403050000123456``) or
    a hex id is not one."""
    return any(_id_like(m) for m in _ID_RUN.finditer(text))


def mask_id_runs(text: str) -> str:
    """``text`` with every run of digits that may hold a resident ID number (see :func:`holds_id_number`)
    masked (see :func:`mask_document`), the rest as it is: ``R-62020019800101001X`` becomes
    ``R-6****************X``."""
    return _ID_RUN.sub(lambda m: mask_document("resident", m.group()) if _id_like(m) else m.group(), text)


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
    if text[:6] in _PERMIT_REGIONS:
        raise InvalidValue(field, f"must be a mainland resident number; region {text[:6]} "
                                  f"({_PERMIT_REGIONS[text[:6]]}) is a residence permit: use "
                                  "id_type='residence_permit'", shown=shown)
    born, gender = _gb11643(text, field, shown, today, "GB 11643-1999")
    if text[:2] not in _PROVINCES:
        raise InvalidValue(field, "must start with a province-level region code (GB/T 2260)", shown=shown)
    return IdNumber(text, born, gender)


@attrs.frozen(repr=False)
class Document:
    """A validated identity document, held only long enough to digest and mask it.

    Attributes:
        id_type: one of :data:`ID_TYPES` (not ``none``).
        number: the canonical number (upper case, no spaces).
        country: the issuing country of a passport (ISO 3166 letters), else None.
        birth_date: the birth date the number encodes, or None when it encodes none.
        gender: ``"male"``/``"female"`` when the number encodes it, else None.
    """

    id_type: str
    number: str
    country: str | None = None
    birth_date: date | None = None
    gender: str | None = None

    @property
    def masked(self) -> str:
        """The display form, e.g. ``1****************X`` (see :func:`mask_document`)."""
        return mask_document(self.id_type, self.number)

    def __repr__(self) -> str:
        return f"Document({self.id_type!r}, {self.masked!r})"


def document_purpose(id_type: str, country: str | None = None) -> str:
    """The purpose a document's keyed digest is made for: one per type (and issuing country for passports).

    Resident numbers keep the purpose ``id_number`` they always had, so digests made before document types
    existed still find their people; each other type gets its own, so that two documents of different types
    (or passports of two countries) with one number never collide, and the single ``id_digest`` column is
    unique per (type, number).
    """
    if id_type == "resident":
        return "id_number"
    if id_type == "passport":
        return f"id_number:passport:{country or ''}"
    return f"id_number:{id_type}"


def _gb11643(text: str, field: str, shown: str, today: date | None, what: str) -> tuple[date, str]:
    """Check an 18-character GB 11643 number's form, birth date and check character; (birth date, gender)."""
    if not re.fullmatch(r"\d{17}[\dX]", text):
        raise InvalidValue(field, f"must be 17 digits and a check digit or X ({what})", shown=shown)
    try:
        born = date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        raise InvalidValue(field, "must encode a real birth date", shown=shown) from None
    if born > (today or date.today()) or born.year < 1880:
        raise InvalidValue(field, "must encode a birth date in the past", shown=shown)
    if _check_char(text[:17]) != text[17]:
        raise InvalidValue(field, "must end in the right check character (ISO 7064 MOD 11-2)", shown=shown)
    return born, "male" if int(text[16]) % 2 else "female"


def parse_document(
    id_type: object, value: object, *, country: object = None, today: date | None = None, field: str = "id_number",
) -> Document:
    """Validate an identity document number of a given type.

    The check each type gets:

    - ``resident`` (居民身份证): GB 11643-1999 form, a province-level region code, a real past birth date and
      the MOD 11-2 check character (15-digit numbers are converted, see :func:`parse_id_number`);
    - ``residence_permit`` (港澳台居民居住证): the same, with region 810000, 820000 or 830000;
    - ``foreign_permanent`` (外国人永久居留身份证): the 2023 card, 18 characters starting with 9 with the
      birth date in characters 7–14 and the MOD 11-2 check character; or the older card, 3 letters and 12
      digits (no birth date is read from it);
    - ``hk_macao_permit`` (港澳居民来往内地通行证): H or M and 8 (or 10) digits;
    - ``taiwan_permit`` (台湾居民来往大陆通行证): 8 digits (or the older 10 characters);
    - ``passport`` (护照): 5 to 20 letters and digits, with the issuing ``country`` (2 or 3 letters).

    Birth date and gender come only from a number that encodes them (resident, residence permit, the 2023
    permanent-residence card); the other types carry neither.

    Raises:
        InvalidValue: an unknown type, a missing country, or a number that fails its check (masked).
    """
    kind = str(id_type).strip() if isinstance(id_type, str) else id_type
    if kind not in ID_TYPES or kind == "none":
        raise InvalidValue("id_type", f"must be one of {', '.join(t for t in ID_TYPES if t != 'none')} "
                                      "when a number is given", id_type)
    assert isinstance(kind, str)
    if kind == "resident":
        parsed = parse_id_number(value, today=today, field=field)
        return Document("resident", parsed.number, None, parsed.birth_date, parsed.gender)
    if not isinstance(value, str):
        raise InvalidValue(field, f"must be a {kind} number as text", shown=type(value).__name__)
    text = re.sub(r"[\s\-]", "", value).upper()
    shown = mask_document(kind, text) if text else "''"
    if kind == "residence_permit":
        if text[:6] not in _PERMIT_REGIONS:
            raise InvalidValue(field, "must start with region 810000, 820000 or 830000 (港澳台居民居住证)",
                               shown=shown)
        born, gender = _gb11643(text, field, shown, today, "GB 11643-1999")
        return Document(kind, text, None, born, gender)
    if kind == "foreign_permanent":
        if re.fullmatch(r"[A-Z]{3}\d{12}", text):
            return Document(kind, text)
        if not text.startswith("9"):
            raise InvalidValue(field, "must be the 18-character card number starting with 9 (2023) or 3 letters "
                                      "and 12 digits (older card)", shown=shown)
        born, gender = _gb11643(text, field, shown, today, "外国人永久居留身份证 2023")
        return Document(kind, text, None, born, gender)
    if kind == "hk_macao_permit":
        if not re.fullmatch(r"[HM]\d{8}(?:\d{2})?", text):
            raise InvalidValue(field, "must be H or M and 8 or 10 digits (港澳居民来往内地通行证)", shown=shown)
        return Document(kind, text)
    if kind == "taiwan_permit":
        if not re.fullmatch(r"\d{8}|\d{10}|\d{8}[A-Z]\d?", text):
            raise InvalidValue(field, "must be 8 digits, or the older 10 characters (台湾居民来往大陆通行证)",
                               shown=shown)
        return Document(kind, text)
    # passport
    if not re.fullmatch(r"[A-Z0-9]{5,20}", text):
        raise InvalidValue(field, "must be 5 to 20 letters and digits (passport)", shown=shown)
    where = str(country).strip().upper() if isinstance(country, str) else ""
    if not re.fullmatch(r"[A-Z]{2,3}", where):
        raise InvalidValue("id_country", "must be the passport's issuing country as 2 or 3 letters (ISO 3166)",
                           country)
    return Document(kind, text, where)


def id_type_of(value: object, field: str = "id_type") -> str:
    """A document type code from its code or a label of :data:`ID_TYPE_LABELS` (``护照`` → ``passport``).

    Raises:
        InvalidValue: not a known document type.
    """
    text = str(value).strip() if value is not None else ""
    if text in ID_TYPES:
        return text
    found = ID_TYPE_LABELS.get(text) or ID_TYPE_LABELS.get(text.casefold()) or ID_TYPE_LABELS.get(
        text.casefold().replace("_", " "))
    if found:
        return found
    raise InvalidValue(field, f"must be one of {', '.join(ID_TYPES)} or their Chinese names (护照, 台胞证 ...)", value)


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
