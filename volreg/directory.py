"""Organisations and studios: how the registry's volunteers are organised."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .base import RegistryBase, clean_name, given_id
from .errors import InvalidValue
from .model import ORGANISATION_KINDS, Organisation, Studio
from .store.filters import Filters

__all__ = ["DirectoryMixin"]

_VOLUNTEER_SELECT = "SELECT v.*, p.name FROM volunteers v JOIN people p ON p.id = v.person"




class DirectoryMixin(RegistryBase):
    """Writes and reads of organisations and studios."""

    # -- organisations --------------------------------------------------------------------------------

    def add_organisation(
        self, name: str, *, kind: str = "team", parent: Any = None, id: str | None = None, by: Any = None
    ) -> Organisation:
        """Add an organisation to the tree.

        Args:
            name: its name, e.g. ``镜铁区新华街道``.
            kind: one of :data:`volreg.model.ORGANISATION_KINDS`.
            parent: the organisation above it (object or id), or None for a root.
            id: an id to use (imports keep their ids); a new one by default.
            by: who acts (a person, id or free text), for the journal.

        Returns:
            The new organisation.

        Raises:
            InvalidValue: a blank name or unknown kind.
            NotFound: the parent does not exist.
        """
        name = clean_name(name)
        if kind not in ORGANISATION_KINDS:
            raise InvalidValue("kind", f"must be one of {', '.join(ORGANISATION_KINDS)}", kind)
        parent_id = None if parent is None else self._ref(parent, "organisation", "organisations")
        org = Organisation(id=given_id(id, "org"), name=name, kind=kind, parent=parent_id)
        with self._store.write() as store:
            store.insert("organisations", {"id": org.id, "name": org.name, "kind": org.kind, "parent": org.parent})
            self._journal("create", "organisation", org.id, by=by, after=org)
        return org

    def organisation(self, id: Any) -> Organisation:
        """The organisation with this id.

        Raises:
            NotFound: no such organisation.
        """
        row = self._row("organisations", "organisation", id)
        return Organisation.from_row(row)

    def organisations(self, *, kind: str | None = None, parent: Any = None, under: Any = None) -> Iterator[Organisation]:
        """Organisations, ordered by name.

        Args:
            kind: only this kind.
            parent: only the direct children of this organisation.
            under: only this organisation and everything below it.
        """
        if kind is not None and kind not in ORGANISATION_KINDS:
            raise InvalidValue("kind", f"must be one of {', '.join(ORGANISATION_KINDS)}", kind)
        filters = Filters()
        if under is not None:
            filters.within("o.id", self._ref(under, "organisation", "organisations"))
        if kind is not None:
            filters.add("o.kind = ?", kind)
        if parent is not None:
            filters.add("o.parent = ?", self._ref(parent, "organisation", "organisations"))
        sql = filters.prefix() + "SELECT o.* FROM organisations o" + filters.where() + " ORDER BY o.name, o.id"
        return (Organisation.from_row(r) for r in self._store.rows(sql, filters.all_params()))

    # -- studios ------------------------------------------------------------------------------------------

    def add_studio(
        self,
        name: str,
        *,
        founder: Any = None,
        focus: Any = None,
        organisation: Any = None,
        established_on: Any = None,
        id: str | None = None,
        by: Any = None,
    ) -> Studio:
        """Add a 好人品牌工作室.

        Args:
            name: e.g. ``梅建国移风易俗工作室``.
            founder: the honoured person it is named after (object or id).
            focus: its focus category (code or label).
            organisation: the organisation it belongs to.
            established_on: when it was established.

        Raises:
            InvalidValue: a blank name, unknown category or bad date.
            NotFound: unknown founder or organisation.
        """
        studio = Studio(
            id=given_id(id, "stu"),
            name=clean_name(name),
            founder=None if founder is None else self._ref(founder, "person", "people", "founder"),
            focus=None if focus is None else self._category(focus, "activity", "focus"),
            organisation=None if organisation is None else self._ref(organisation, "organisation", "organisations"),
            established_on=None if established_on is None else self._day(established_on, "established_on"),
        )
        with self._store.write() as store:
            store.insert(
                "studios",
                {
                    "id": studio.id,
                    "name": studio.name,
                    "founder": studio.founder,
                    "focus": studio.focus,
                    "organisation": studio.organisation,
                    "established_on": studio.established_on.isoformat() if studio.established_on else None,
                },
            )
            self._journal("create", "studio", studio.id, by=by, after=studio)
        return studio

    def studio(self, id: Any) -> Studio:
        """The studio with this id.

        Raises:
            NotFound: no such studio.
        """
        row = self._row("studios", "studio", id)
        return Studio.from_row(row)

    def studios(self, *, organisation: Any = None) -> Iterator[Studio]:
        """Studios ordered by name, optionally only those of one organisation."""
        sql, params = "SELECT * FROM studios", []
        if organisation is not None:
            sql += " WHERE organisation = ?"
            params.append(self._ref(organisation, "organisation", "organisations"))
        return (Studio.from_row(r) for r in self._store.rows(sql + " ORDER BY name, id", params))
