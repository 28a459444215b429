"""The registry's proof-signing key: Ed25519 through ``cryptography`` (the ``proofs`` extra).

The private key is kept like the digest key: in a file beside the database, ``<database>.signing.key``, created
with owner-only permissions (0600) on first use, never in the database or any export. An in-memory registry
gets a new key for each registry object, which lives as long as the object (its public key is recorded in the
registry, so its proofs can still be checked against the register, but not signed again after it is gone).
The public key is recorded in the registry (table ``proof_keys``) and given out as PEM text. A key's id is the
first 16 hex digits of the SHA-256 of its 32 raw public bytes.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from ..errors import InvalidValue, MissingDependency

__all__ = ["SigningKey", "load_signing_key", "key_path", "public_key", "key_id", "verify_signature"]


def _ed25519() -> Any:
    try:
        from cryptography.hazmat.primitives.asymmetric import ed25519
    except ImportError:  # pragma: no cover - the extra is installed in the tests
        raise MissingDependency("cryptography", "proofs") from None
    return ed25519


def _serialization() -> Any:
    from cryptography.hazmat.primitives import serialization

    return serialization


def key_path(database_path: str) -> Path:
    """Where the signing key of the registry in ``database_path`` lives: ``<database>.signing.key``."""
    return Path(str(database_path) + ".signing.key")


def _raw(public: Any) -> bytes:
    s = _serialization()
    return bytes(public.public_bytes(s.Encoding.Raw, s.PublicFormat.Raw))


def key_id(public: Any) -> str:
    """The id of a public key: 16 hex digits of the SHA-256 of its raw bytes."""
    return hashlib.sha256(_raw(public)).hexdigest()[:16]


class SigningKey:
    """An Ed25519 private key, with its id and its public key as PEM text. Never printed or stored in the DB."""

    def __init__(self, private: Any) -> None:
        self._private = private
        self.public = private.public_key()
        self.id = key_id(self.public)
        s = _serialization()
        self.public_pem = self.public.public_bytes(
            s.Encoding.PEM, s.PublicFormat.SubjectPublicKeyInfo).decode("ascii")

    def __repr__(self) -> str:
        return f"<volreg SigningKey {self.id}>"

    def sign(self, text: str) -> str:
        """The signature of ``text`` (UTF-8) as base64url without padding."""
        return base64.urlsafe_b64encode(self._private.sign(text.encode("utf-8"))).decode("ascii").rstrip("=")

    @classmethod
    def generate(cls) -> SigningKey:
        """A new random key."""
        return cls(_ed25519().Ed25519PrivateKey.generate())

    def private_pem(self) -> bytes:
        """The private key as unencrypted PKCS#8 PEM (only for writing the owner-only key file)."""
        s = _serialization()
        return bytes(self._private.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption()))


def load_signing_key(path: Path, *, create: bool) -> SigningKey | None:
    """Read the key file at ``path``; when it is missing, create it (owner-only) if ``create``, else None.

    Raises:
        InvalidValue: the file is not an Ed25519 private key.
    """
    ed25519 = _ed25519()
    if not path.exists():
        if not create:
            return None
        # Written whole to a private temporary file, then linked into place, which fails if another process
        # got there first: then both use the key that process wrote, never a half-written file.
        key = SigningKey.generate()
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            os.chmod(temp, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(key.private_pem())
                handle.flush()
                os.fsync(handle.fileno())
            try:
                os.link(temp, path)
            except FileExistsError:
                return load_signing_key(path, create=False)
        finally:
            os.unlink(temp)
        return key
    try:
        private = _serialization().load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError):
        private = None
    if not isinstance(private, ed25519.Ed25519PrivateKey):
        raise InvalidValue("signing key", f"must be an Ed25519 private key in PEM form in {path}",
                           shown="another kind of file")
    return SigningKey(private)


def _readable(text: str) -> bool:
    try:
        return len(text) < 4096 and "\n" not in text and Path(text).is_file()
    except (OSError, ValueError):   # a NUL byte, a lone surrogate, a name too long
        return False


def public_key(value: Any) -> Any:
    """A public key from PEM text or bytes, a file holding PEM, or base64 of the 32 raw bytes.

    Raises:
        InvalidValue: nothing there reads as an Ed25519 public key.
    """
    ed25519 = _ed25519()
    data: bytes | None = None
    if isinstance(value, bytes):
        data = value
    elif isinstance(value, (str, os.PathLike)):
        text = str(os.fspath(value))
        if "BEGIN PUBLIC KEY" in text:
            data = text.encode("ascii", "replace")
        elif _readable(text):
            data = Path(text).read_bytes()
        else:
            data = text.strip().encode("ascii", "replace")
    if data is not None:
        if b"BEGIN PUBLIC KEY" in data:
            try:
                loaded = _serialization().load_pem_public_key(data)
            except Exception:  # ValueError, UnsupportedAlgorithm ...: not a key we can use
                loaded = None
            if isinstance(loaded, ed25519.Ed25519PublicKey):
                return loaded
        else:
            try:
                raw = base64.b64decode(data.strip() + b"=" * (-len(data.strip()) % 4), altchars=b"-_", validate=False)
            except ValueError:
                raw = b""
            if len(raw) == 32:
                return ed25519.Ed25519PublicKey.from_public_bytes(raw)
    raise InvalidValue("public_key", "must be an Ed25519 public key: PEM text, a PEM file or base64 of 32 bytes",
                       shown=type(value).__name__ if not isinstance(value, str) else repr(value[:40]))


def verify_signature(public: Any, signature: str, text: str) -> bool:
    """Whether ``signature`` (base64url) is ``public``'s signature of ``text``."""
    from cryptography.exceptions import InvalidSignature

    # Exactly the 86 characters of 64 bytes: base64 decoding would otherwise skip stray characters.
    if not re.fullmatch(r"[A-Za-z0-9_-]{86}", signature):
        return False
    try:
        raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
        public.verify(raw, text.encode("utf-8"))
    except (InvalidSignature, ValueError):
        return False
    return True
