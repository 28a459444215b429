"""``volreg.possible_duplicates``: pairs of people who are probably one person, with a score and the reasons.

Candidates are found set-based in SQL, by self-joins of ``people`` on blocking keys (the name with the phone,
the name with the birth date, the document digest, the organisation with the surname), never by comparing
every person with every other in Python. Only the few pairs a block yields are scored in Python. Names are
shown masked (``王*明``); phones, birth dates and documents are compared inside SQLite and never shown.
Phones are stored normalised (``13812345678``) for the registry's own use, so equal numbers are equal text and
the join needs no digest of them; documents are compared by their keyed digests, the only form stored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import InvalidValue
from ..merging import document_of
from ..personal import mask_name
from .result import Result
from .sql import check_registry

if TYPE_CHECKING:
    from ..registry import Registry

__all__ = ["possible_duplicates", "DUPLICATE_REASONS"]

DUPLICATE_REASONS: dict[str, float] = {
    "same_document_other_type": 0.95,
    "same_name_phone": 0.9,
    "same_name_birth_date": 0.8,
    "same_name_same_organisation": 0.6,
    "similar_name_same_organisation": 0.5,
}
"""Each reason and the score it gives alone. Reasons combine as independent evidence: a pair's score is
``1 - (1 - s1)(1 - s2)...``, so two reasons of 0.8 and 0.6 give 0.92.

- ``same_document_other_type``: the same document number (keyed digest) recorded under two document types;
- ``same_name_phone``: the same name and the same phone number;
- ``same_name_birth_date``: the same name and the same birth date;
- ``same_name_same_organisation``: the same name, and both registered with or members of one organisation;
- ``similar_name_same_organisation``: names one edit apart (one character added, dropped or changed, the
  surname, the first character, the same, and two characters of the shorter name kept) in one organisation:
  ``王晓明`` and ``王小明``, ``李娜`` and ``李娜娜``, but not ``王明`` and ``王红``.
"""

# Live people: not merged into another, not anonymised (an erased name matches nothing).
_LIVE = "SELECT p.*, {kind} AS doc_type FROM people p WHERE p.merged_into IS NULL AND p.name <> ''"

# Each block yields (a, b, reason) with a < b.
_BLOCKS = {
    "same_name_phone":
        "SELECT a.id AS a, b.id AS b FROM live a JOIN live b ON b.name = a.name AND b.phone = a.phone "
        "AND b.id > a.id WHERE a.phone IS NOT NULL AND a.phone <> ''",
    "same_name_birth_date":
        "SELECT a.id AS a, b.id AS b FROM live a JOIN live b ON b.name = a.name AND b.birth_date = a.birth_date "
        "AND b.id > a.id WHERE a.birth_date IS NOT NULL",
    "same_document_other_type":
        "SELECT a.id AS a, b.id AS b FROM live a JOIN live b ON b.id_digest = a.id_digest AND b.id <> a.id "
        "AND b.doc_type <> a.doc_type AND b.id > a.id WHERE a.id_digest IS NOT NULL",
    "same_name_same_organisation":
        "SELECT DISTINCT a.person AS a, b.person AS b FROM keyed a JOIN keyed b ON b.organisation = a.organisation "
        "AND b.k = a.k AND b.i = 0 AND b.person > a.person WHERE a.i = 0",
    "similar_name_same_organisation":
        "SELECT DISTINCT a.person AS a, b.person AS b FROM keyed a JOIN keyed b ON b.organisation = a.organisation "
        "AND b.k = a.k AND b.person > a.person AND (b.i = a.i OR a.i = 0 OR b.i = 0) "
        "WHERE a.name <> b.name AND substr(a.name, 1, 1) = substr(b.name, 1, 1) "
        "AND min(a.size, b.size) - (a.size = b.size) >= 2",
}
# Names one edit apart share a deletion key: the name with the character at position ``i`` left out, or the
# whole name (``i = 0``). A changed character at ``i`` leaves both names equal once it is left out (same ``i``);
# an added one leaves the longer name equal to the whole shorter one (one ``i = 0``). Blocks of
# (organisation, deletion key) therefore hold exactly the pairs at most one edit apart, set-based in SQL.
_KEYED = (
    "members(person, organisation, name, size) AS (SELECT o.person, o.organisation, p.name, length(p.name) "
    "FROM (SELECT person, organisation FROM volunteers WHERE organisation IS NOT NULL "
    "UNION SELECT person, organisation FROM memberships) o JOIN live p ON p.id = o.person), "
    # One row per person, organisation and position: as many rows as the names have characters, plus one.
    "positions(person, organisation, name, size, i) AS (SELECT *, 0 FROM members "
    "UNION ALL SELECT person, organisation, name, size, i + 1 FROM positions WHERE i < size), "
    "keyed AS (SELECT *, substr(name, 1, i - 1) || substr(name, i + 1) AS k FROM positions)"
)


def possible_duplicates(registry: Registry, *, min_score: float = 0.5) -> Result:
    """Pairs of people who are probably one person, most likely first, for an office to review and merge.

    Examples::

        volreg.possible_duplicates(reg)                   # every pair scoring 0.5 or more
        volreg.possible_duplicates(reg, min_score=0.9)    # only the near-certain ones
        for pair in volreg.possible_duplicates(reg, min_score=0.9):
            reg.merge_people(pair["person"], pair["other"], by="文明办", reason="同名同手机号")

    People already merged into another and anonymised people are left out, and so is a pair holding
    different documents of the same type (the merge would refuse it). See :data:`DUPLICATE_REASONS` for the
    reasons and their scores.

    Args:
        registry: the registry to ask.
        min_score: the lowest score shown, from 0 to 1.

    Returns:
        A :class:`volreg.Result` with columns ``person`` and ``other`` (ids, in id order),
        ``person_name`` and ``other_name`` (masked), ``person_number`` and ``other_number`` (volunteer
        numbers, if registered), ``score`` (0–1, two decimals) and ``reasons`` (reason codes, comma-separated),
        ordered by score (highest first), then ids.

    Raises:
        InvalidValue: ``min_score`` not a number from 0 to 1, or ``registry`` not a registry.
    """
    check_registry(registry)
    if isinstance(min_score, bool) or not isinstance(min_score, (int, float)) or not 0 <= min_score <= 1:
        raise InvalidValue("min_score", "must be a number from 0 to 1", min_score)
    session = registry.session
    columns = {r["name"] for r in session.rows("SELECT name FROM pragma_table_info('people')")}
    kind = "coalesce(p.id_type, 'resident')" if "id_type" in columns else "'resident'"
    blocks = [f"SELECT a, b, '{reason}' AS reason FROM ({sql})" for reason, sql in _BLOCKS.items()]
    sql = (f"WITH live AS ({_LIVE.format(kind=kind)}), {_KEYED} "
           + " UNION ALL ".join(blocks))
    reasons: dict[tuple[str, str], set[str]] = {}
    for row in session.rows(sql):
        reasons.setdefault((row["a"], row["b"]), set()).add(row["reason"])
    if not reasons:
        return Result(_COLUMNS, [])
    people: dict[str, dict[str, Any]] = {}
    ids = sorted({i for pair in reasons for i in pair})
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        marks = ", ".join("?" for _ in chunk)
        for row in session.rows(
            f"SELECT p.*, {kind} AS doc_type, v.number FROM people p LEFT JOIN volunteers v ON v.person = p.id "
            f"WHERE p.id IN ({marks})", chunk,
        ):
            people[row["id"]] = row
    out = []
    for (a, b), found in reasons.items():
        first, second = people[a], people[b]
        mine, theirs = document_of(_typed(first)), document_of(_typed(second))
        if mine and theirs and mine[0] == theirs[0] and mine[1] != theirs[1]:
            continue  # two different documents of one type: two people
        miss = 1.0
        for reason in found:
            miss *= 1 - DUPLICATE_REASONS[reason]
        score = round(1 - miss, 2)
        if score < min_score:
            continue
        out.append({
            "person": a, "person_name": mask_name(first["name"]), "person_number": first["number"],
            "other": b, "other_name": mask_name(second["name"]), "other_number": second["number"],
            "score": score, "reasons": ", ".join(sorted(found, key=lambda r: -DUPLICATE_REASONS[r])),
        })
    out.sort(key=lambda r: (-r["score"], r["person"], r["other"]))
    return Result(_COLUMNS, out)


_COLUMNS = ("person", "person_name", "person_number", "other", "other_name", "other_number", "score", "reasons")


def _typed(row: dict[str, Any]) -> dict[str, Any]:
    """A person row whose ``id_type`` is the document type the query read (the column may not exist)."""
    return {**row, "id_type": row["doc_type"]}
