"""What a kind of row is to the importer: its :class:`Field` list and :class:`KindHandler` (convert, find,
create, update; or check and write in batches), registered by :func:`register_kind`; and the
:class:`ImportContext` every handler is given (the registry, the file's source and the look-ups it caches)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from .. import external_ids
from ..timeutil import now, to_utc_text

if TYPE_CHECKING:
    from ..registry import Registry

__all__ = ["Field", "ImportContext", "KindHandler", "register_kind", "HANDLERS"]


@attrs.frozen
class Field:
    """A field a kind of row can carry.

    Attributes:
        name: the field's name, a key of :data:`volreg.io.headers.ALIASES` for its headers.
        required: a row without it is a problem.
        personal: ``"id_number"`` or ``"phone"``: the value is masked like one in problems.
    """

    name: str
    required: bool = False
    personal: str | None = None


@attrs.frozen
class ImportContext:
    """What a handler needs besides the row: the registry, the file's source and who acts.

    Attributes:
        registry: the registry written to.
        source: the namespace of the file's external ids (``source=`` of :func:`import_file`, or ``''``).
        actor: the ``by`` to journal writes with, e.g. ``'import roster.csv'``.
    """

    registry: Registry
    source: str
    actor: str
    cache: dict[Any, Any] = attrs.field(factory=dict, eq=False, repr=False)
    """Per-file state of the handler: look-ups it may reuse for the whole file, and the rows it has staged."""
    create_people: bool = False
    """Whether a row naming a person the registry does not know may add them (without a document)."""
    date_formats: tuple[str, ...] = ()
    """``strptime`` patterns tried first for every date and time cell (``date_format=``)."""
    dayfirst: bool = False
    """Whether ``22/08/2026``-style dates are day first (they are refused as ambiguous otherwise)."""
    file: str = ""
    """The file's name, for the journal."""

    def external(self, kind: str, key: str) -> str | None:
        """The entity an external id of ``kind`` from this source was imported as, or None."""
        session = self.registry.session
        return session.scalar(
            "SELECT entity_id FROM import_identity WHERE kind = ? AND source = ? AND key = ?",
            [kind, self.source, external_ids.stored(session, key)],
        )

    def externals(self, kind: str, keys: Sequence[str]) -> dict[str, str]:
        """The entities many external ids of ``kind`` from this source were imported as, in one query."""
        if not keys:
            return {}
        session = self.registry.session
        given: dict[str, list[str]] = {}  # as stored → as given (two forms of one ID number share a digest)
        for key in keys:
            given.setdefault(external_ids.stored(session, key), []).append(key)
        found = session.cursor(
            "SELECT key, entity_id FROM import_identity WHERE kind = ? AND source = ? "
            "AND key IN (SELECT value FROM json_each(?))",
            [kind, self.source, json.dumps(list(given), ensure_ascii=False)]).fetchall()
        return {key: entity for stored, entity in found for key in given[stored]}

    def person_added(self, who: Any) -> None:
        """Count a person a row adds (``who`` is a mapping of ``add_person`` arguments), for the report."""
        if isinstance(who, Mapping):
            self.cache["people_added"] = self.cache.get("people_added", 0) + 1

    def external_key(self, kind: str, entity_id: str) -> str | None:
        """The external id in this source that an entity of ``kind`` was imported with, as stored (see
        :func:`volreg.external_ids.shown` to show it), or None."""
        return self.registry.session.scalar(
            "SELECT key FROM import_identity WHERE kind = ? AND source = ? AND entity_id = ? LIMIT 1",
            [kind, self.source, entity_id],
        )

    def remember_many(self, kind: str, pairs: list[tuple[str, str]]) -> None:
        """Record many external ids of ``kind`` at once (first import wins)."""
        at = to_utc_text(now(self.registry.zone))
        self.registry.session.store.execute_many(
            "INSERT INTO import_identity (kind, source, key, entity_id, imported_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            [(kind, self.source, external_ids.stored(self.registry.session, key), entity_id, at)
             for key, entity_id in pairs],
        )

    def remember(self, kind: str, key: str, entity_id: str) -> None:
        """Record that an external id of ``kind`` is ``entity_id`` (first import wins)."""
        self.registry.session.store.execute(
            "INSERT INTO import_identity (kind, source, key, entity_id, imported_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            [kind, self.source, external_ids.stored(self.registry.session, key), entity_id,
             to_utc_text(now(self.registry.zone))],
        )


class KindHandler:
    """How one kind of row is imported; subclass it and call :func:`register_kind` to add a kind.

    The importer calls, for each row inside a savepoint: ``convert`` (cells → a record of checked values),
    then finds an existing entity (by the row's ``external_id`` in this source, else ``find`` by content),
    then ``update`` it or ``create`` a new one. Any :class:`volreg.VolregError` raised on the way becomes a
    :class:`Problem`; an ``InvalidValue`` whose ``field`` is one of ``fields`` points at that column.

    A *batched* handler (``batched = True``) creates differently: the importer calls ``check`` for each new
    record (no savepoint, nothing written) and ``write`` for each batch of checked records. Its ``find`` must
    also see the records staged in the current batch (keep them in ``ctx.cache``).

    A *set-based* batched handler (``set_based = True``) is not asked row by row: the importer converts a
    batch of rows, hands the converted records to ``prefetch`` (which reads, set-based, what the rules need
    for all of them), then identifies, checks and stages each record in the file's order with those facts.

    Attributes:
        kind: the ``kind=`` value, e.g. ``"service_records"``.
        fields: the fields rows may carry; ``external_id`` is added for every kind.
        batched: whether new records are checked one by one and written a batch at a time.
        set_based: (batched kinds) whether the rules' reads are made for a batch at once (``prefetch``).
        noun: what one row is, for messages (``"volunteer"``).
    """

    kind: ClassVar[str]
    fields: ClassVar[tuple[Field, ...]]
    batched: ClassVar[bool] = False
    set_based: ClassVar[bool] = False
    noun: ClassVar[str] = "entity"

    def convert(self, ctx: ImportContext, values: Mapping[str, Any]) -> dict[str, Any]:
        """Turn non-blank cells (field → text, number or date) into checked values.

        Raises:
            VolregError: a value is wrong (``InvalidValue`` with the field's name, ideally).
        """
        raise NotImplementedError

    def find(self, ctx: ImportContext, record: Mapping[str, Any]) -> str | None:
        """The id of an entity this record is already in the registry as (content identity), or None."""
        raise NotImplementedError

    def create(self, ctx: ImportContext, record: Mapping[str, Any]) -> str:
        """Write the record through the registry's own methods; return the new entity's id."""
        raise NotImplementedError

    def update(self, ctx: ImportContext, entity_id: str, record: Mapping[str, Any]) -> bool:
        """Bring an existing entity in line with the record; return whether anything changed."""
        return False

    def check(self, ctx: ImportContext, record: Mapping[str, Any]) -> tuple[str, Any]:
        """(Batched kinds) Check a new record against the registry and the staged records; write nothing.

        Returns:
            ``(entity_id, staged)``: the id the record will have, and what :meth:`write` needs to write it.

        Raises:
            VolregError: the record breaks a rule; nothing is staged.
        """
        raise NotImplementedError

    def write(self, ctx: ImportContext, staged: list[Any]) -> None:
        """(Batched kinds) Write checked records (inside the importer's transaction) and forget the batch."""
        raise NotImplementedError

    def warm(self, ctx: ImportContext, rows: list[Mapping[str, Any]]) -> None:
        """(Set-based kinds) Before a batch of rows is converted, read at once what converting them will look
        up (``rows``: each row's non-blank cells, field → value), so that :meth:`convert` finds it cached.
        Converting must give the same result with or without it."""

    def prefetch(self, ctx: ImportContext, records: list[Mapping[str, Any]]) -> Any:
        """(Set-based kinds) Read what :meth:`find` and :meth:`check` need for a whole batch of converted
        records at once; the importer then sets ``ctx.cache["batch"] = (facts, n)`` for the ``n``-th record
        while it identifies and checks it, in the file's order."""
        raise NotImplementedError


HANDLERS: dict[str, KindHandler] = {}
"""The registered kinds: ``kind`` → handler."""


def register_kind(handler: KindHandler) -> KindHandler:
    """Make ``handler`` the importer of ``handler.kind`` (replacing any earlier one) and return it."""
    HANDLERS[handler.kind] = handler
    return handler
