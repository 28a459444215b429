"""volreg's exceptions.

Every refusal is a :class:`VolregError`; each subclass also derives from the built-in exception that fits
(``ValueError``, ``LookupError`` ...), carries structured attributes and builds its message from them, so
that the message always names the field, the rule and the value.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "VolregError",
    "InvalidValue",
    "NotFound",
    "Duplicate",
    "RuleViolation",
    "Conflict",
    "ForbiddenTransition",
    "ReviewerConflict",
    "KeyMismatch",
    "SchemaTooNew",
    "MissingDependency",
    "Busy",
    "KeyFileError",
    "ErasureIncomplete",
    "StaleResult",
    "StorageError",
    "Closed",
    "StorageFull",
    "ReadOnly",
    "Corrupt",
    "NotARegistry",
]


def _show(value: Any) -> str:
    """Render an offending value for a message, keeping it short."""
    try:
        text = repr(value)
    except Exception:  # a hostile object's __repr__ must not turn a refusal into a crash
        text = f"<{type(value).__name__}>"
    return _short(text)


def _short(text: str) -> str:
    # Messages stay one readable line: an enormous value is cut, and characters that cannot be printed
    # (lone surrogates, terminal escapes) are shown escaped.
    if len(text) > 80:
        text = text[:77] + "..."
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x1b", "\\x1b")


class VolregError(Exception):
    """Base class of every error volreg raises; never raised directly."""


class InvalidValue(VolregError, ValueError):
    """A value broke a rule: ``'end' must be after 'start' (got 2024-03-05 09:00 → 08:00)``.

    Attributes:
        field: the argument or column that was wrong.
        rule: what the value must satisfy, phrased to follow the field name.
        value: the offending value, already masked when it is personal data.
    """

    def __init__(self, field: str, rule: str, value: Any = None, *, shown: str | None = None) -> None:
        self.field = field
        self.rule = rule
        self.value = value
        got = _short(shown) if shown is not None else _show(value)
        super().__init__(f"'{field}' {rule} (got {got})")


class NotFound(VolregError, LookupError):
    """No entity of that kind has that id: ``no volunteer with id 'V-012'``."""

    def __init__(self, kind: str, id: Any) -> None:
        self.kind = kind
        self.id = id
        super().__init__(f"no {kind} with id {_show(id)}")

    def __str__(self) -> str:  # LookupError would quote the whole message otherwise
        return str(self.args[0])


class Duplicate(VolregError, ValueError):
    """A write would create a second copy of something that must be unique.

    The message names the existing entity's id, never the personal value that matched.
    """

    def __init__(self, kind: str, field: str, existing: str, *, shown: str | None = None) -> None:
        self.kind = kind
        self.field = field
        self.existing = existing
        got = f" (got {shown})" if shown else ""
        super().__init__(f"'{field}' must be unique: {kind} {existing!r} already has it{got}")


class RuleViolation(VolregError, ValueError):
    """A write broke a named domain rule (an age limit, a title rule, a workflow step)."""

    def __init__(self, rule: str, message: str, **details: Any) -> None:
        self.rule = rule
        self.details = details
        super().__init__(f"{message} [rule: {rule}]")


class ForbiddenTransition(RuleViolation):
    """A nomination was asked to move to a status its flow does not allow from where it is.

    Attributes:
        nomination: the nomination's id.
        current: its status now.
        target: the status asked for.
        allowed: the statuses it may move to from ``current``.
    """

    def __init__(self, nomination: str, current: str, target: Any, allowed: tuple[str, ...]) -> None:
        self.nomination = nomination
        self.current = current
        self.target = target
        self.allowed = allowed
        may = ", ".join(allowed) if allowed else "nothing (it is final)"
        super().__init__(
            "transition",
            f"'to' must be a status nomination {nomination!r} may move to from {current!r}: {may} "
            f"(got {_show(target)})",
            current=current,
            target=target,
        )


class ReviewerConflict(RuleViolation):
    """A reviewer has a conflict of interest with a nomination that no administrator overrode.

    Attributes:
        nomination: the nomination's id.
        reviewer: the reviewer's person id.
        conflicts: the :class:`volreg.ConflictOfInterest` findings, each with its ``kind``.
    """

    def __init__(self, nomination: str, reviewer: str, conflicts: tuple[Any, ...]) -> None:
        self.nomination = nomination
        self.reviewer = reviewer
        self.conflicts = conflicts
        kinds = ", ".join(f"{c.kind} ({c.detail})" for c in conflicts)
        super().__init__(
            "conflict_of_interest",
            f"'reviewer' must have no conflict of interest with nomination {nomination!r} "
            f"(got {reviewer!r}: {kinds})",
            kinds=tuple(c.kind for c in conflicts),
        )

    @property
    def kinds(self) -> tuple[str, ...]:
        """The kinds of the conflicts found, e.g. ``("nominator", "same_organisation")``."""
        return tuple(c.kind for c in self.conflicts)


class Conflict(VolregError, ValueError):
    """A write collides with existing data, such as an overlapping service record or a lost race."""

    def __init__(self, message: str, *, other: str | None = None) -> None:
        self.other = other
        super().__init__(message)


class KeyMismatch(VolregError, PermissionError):
    """The registry was opened with a key other than the one it was created with."""

    def __init__(self, source: str) -> None:
        self.source = source
        super().__init__(
            f"'key' must be the key this registry was created with (got a different key from {source}); "
            "opening with it would create duplicate people"
        )


class SchemaTooNew(VolregError, RuntimeError):
    """The database was written by a newer volreg; it is left untouched."""

    def __init__(self, unknown: list[str]) -> None:
        self.unknown = unknown
        super().__init__(
            "the database was written by a newer volreg (unknown migrations: "
            + ", ".join(unknown)
            + "); upgrade volreg to open it"
        )


class MissingDependency(VolregError, ImportError):
    """An optional extra is needed: ``pip install 'volreg[pandas]'``."""

    def __init__(self, package: str, extra: str) -> None:
        self.package = package
        self.extra = extra
        super().__init__(f"{package} is not installed; install it with: pip install 'volreg[{extra}]'")


class Busy(VolregError, TimeoutError):
    """Another process held the registry's write lock for longer than the busy timeout; nothing was written.

    Attributes:
        timeout_ms: how long this write waited.
    """

    def __init__(self, timeout_ms: int) -> None:
        self.timeout_ms = timeout_ms
        super().__init__(
            f"the registry is busy: another process held its write lock for more than {timeout_ms / 1000:g} s "
            "(nothing was written; try again)"
        )


class KeyFileError(VolregError, PermissionError):
    """The registry's key file cannot be used: missing for an existing registry, unreadable, or shared.

    Attributes:
        path: the key file.
        problem: what is wrong with it, and what to do.
    """

    def __init__(self, path: Any, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"the key file {self.path} {problem}")


class ErasureIncomplete(VolregError, RuntimeError):
    """An erasure is committed, but the erased values are still on disk because a reader keeps old pages alive.

    Nobody reading the registry through SQLite sees the erased values any more; the bytes of the file or its
    WAL still hold them until a checkpoint can complete. :meth:`volreg.Registry.complete_erasure` (also run by
    :func:`volreg.check`) finishes the job once the reader has gone.

    Attributes:
        path: the database file.
        detail: what the checkpoint reported.
    """

    def __init__(self, path: str, detail: str) -> None:
        self.path = path
        self.detail = detail
        super().__init__(
            f"the erasure is committed but not yet physically complete in {path}: {detail}; another connection "
            "holds an old snapshot. Close it, then run registry.complete_erasure() (or volreg check)"
        )


class StaleResult(VolregError, RuntimeError):
    """A :class:`volreg.Result` was read on after the registry changed what it answers; ask the question again.

    A large result reads its first rows when it is made and the rest when they are first needed; if the
    registry changed in between so that the answer is no longer the one whose first rows were shown, the
    rest is refused rather than mixed with them.

    Attributes:
        rows: how many rows had been read when the change was found.
    """

    def __init__(self, rows: int) -> None:
        self.rows = rows
        super().__init__(
            f"the registry changed after the first {rows} rows of this result were read, and the answer is no "
            "longer the same; ask the question again (or read the whole result, e.g. list(result), before writing)"
        )


class StorageError(VolregError, OSError):
    """SQLite could not do what was asked (the disk, the file or its permissions); nothing was written.

    Attributes:
        path: the database file, or None for an in-memory registry.
        reason: SQLite's own words.
    """

    def __init__(self, path: str | None, reason: str, *, what: str = "the registry's storage failed") -> None:
        self.path = path
        self.reason = reason
        where = f" ({path})" if path else ""
        super().__init__(f"{what}{where}: {reason}; nothing was written")

    def __str__(self) -> str:  # OSError would format its arguments otherwise
        return str(self.args[0])


class Closed(VolregError, RuntimeError):
    """The registry was closed (by :meth:`volreg.Registry.close`, or its connection by a fork during a write).

    Attributes:
        path: the database file, or None for an in-memory registry.
        during_write: the connection was closed under an open write transaction, which was rolled back.
    """

    def __init__(self, path: str | None = None, *, during_write: bool = False) -> None:
        self.path = path
        self.during_write = during_write
        where = f" {path}" if path else ""
        if during_write:
            message = (f"the registry{where} was closed during a write transaction (close() or fork()); "
                       "the transaction was rolled back and nothing of it was written")
        else:
            message = f"the registry{where} is closed; open it again with volreg.open()"
        super().__init__(message)


class StorageFull(StorageError):
    """The disk (or the database's size limit) is full; the write was rolled back."""

    def __init__(self, path: str | None, reason: str = "database or disk is full") -> None:
        super().__init__(path, reason, what="the registry's disk is full")


class ReadOnly(StorageError, PermissionError):
    """A write was asked of a registry opened read-only, or of a file or directory that cannot be written."""

    def __init__(self, path: str | None, reason: str = "attempt to write a readonly database") -> None:
        super().__init__(path, reason, what="the registry is read-only")


class NeedsUpgrade(ReadOnly):
    """A registry written by an older volreg was opened read-only; its schema must be upgraded first, by
    opening it once for writing (``volreg.open(path)``, or ``volreg init DB`` on the command line).

    Attributes:
        pending: the names of the migrations it lacks.
    """

    def __init__(self, path: str | None, pending: list[str]) -> None:
        self.pending = tuple(pending)
        super().__init__(path, f"the registry needs an upgrade ({', '.join(pending)}); open it once for writing")


class Corrupt(StorageError):
    """The database file is damaged (or is not a SQLite database at all)."""

    def __init__(self, path: str | None, reason: str = "database disk image is malformed") -> None:
        super().__init__(path, reason, what="the registry's file is damaged")


class NotARegistry(VolregError, ValueError):
    """The file is not a volreg registry (another application's SQLite file, or not SQLite); it is left as it was.

    Attributes:
        path: the file.
        reason: what was found instead.
    """

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(
            f"'path' must be a volreg registry (got {path}: {reason}); it was left unchanged"
        )
