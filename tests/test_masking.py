"""Masked document numbers: what volreg stores, shows and shares never narrows an ID number to fewer than
1,000 candidates, even combined with the stored birth date and gender (the rebuild attack, run for real)."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlite_utils
from click.testing import CliRunner
from factories import make_id_number

import volreg
from volreg.cli import cli
from volreg.personal import _check_char, mask_document, mask_id_text
from volreg.store.schema import MIGRATIONS

NUMBER = "11010519491231002X"
"""GB 11643-1999's example: Beijing 朝阳区 (110105), born 1949-12-31, female (sequence 002), check X."""

# A deliberately small attacker's list of region codes: only the 32 current districts of Beijing and Tianjin.
# The real codes starting with 1 (Hebei, Shanxi and Inner Mongolia too, and retired codes still found on old
# cards) are many hundreds, so a count over these is a lower bound of what an attacker faces.
REGIONS = [f"1101{n:02d}" for n in (1, 2, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15, 16, 17, 18, 19)] + \
    [f"1201{n:02d}" for n in (1, 2, 3, 4, 5, 6, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19)]
# Every code an 18-character number starting with 7, 8 or 9 can have among resident cards and residence permits.
FEW_REGIONS = ["710000", "810000", "820000", "830000"]

_PARTIAL = re.compile(r"(?<![0-9Xx*])[0-9Xx*]{18}(?![0-9Xx*])")


def candidates(form: str, *, births: list[str], female: bool | None, regions: list[str],
               enough: int | None = None) -> int:
    """How many valid ID numbers agree with a masked form, the possible birth dates and the gender.

    An attacker without the key can do no better than this: list every number that fits what is visible.
    The count stops at ``enough`` when given (the tests only need to know that there are that many).
    """
    count = 0
    for region in regions:
        if any(c != "*" and c != r for c, r in zip(form[:6], region, strict=True)):
            continue
        for birth in births:
            if any(c != "*" and c != b for c, b in zip(form[6:14], birth, strict=True)):
                continue
            for sequence in range(1000):
                seq = f"{sequence:03d}"
                if female is not None and (sequence % 2 == 0) != female:
                    continue
                if any(c != "*" and c != s for c, s in zip(form[14:17], seq, strict=True)):
                    continue
                body = region + birth + seq
                if form[17] in ("*", _check_char(body)):
                    count += 1
                    if enough is not None and count >= enough:
                        return count
    return count


def _attack(text: str, born: date = date(1949, 12, 31)) -> list[int]:
    """Candidates for each masked form visible in ``text``, with the birth date and gender if visible."""
    shows_birth = born.isoformat() in text or born.strftime("%Y%m%d") in text
    # Without the birth date, the attacker must try dates: 30 days stand for the thousands of a lifetime.
    births = [born.strftime("%Y%m%d")] if shows_birth else \
        [(born + timedelta(days=n)).strftime("%Y%m%d") for n in range(30)]
    female = True if "female" in text else None
    forms = [f for f in _PARTIAL.findall(text) if "*" in f]
    return [candidates(f.upper(), births=births, female=female, regions=REGIONS, enough=1000) for f in set(forms)]


@pytest.fixture
def registry_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[volreg.Registry, Path, str]:
    """A file registry holding one volunteer with the standard's example number, changed once (journal)."""
    monkeypatch.delenv("VOLREG_KEY", raising=False)
    path = tmp_path / "city.db"
    registry = volreg.open(path)
    volunteer = registry.register_volunteer("王秀兰", id_number=NUMBER, phone="13812345678",
                                            registered_on="2024-01-02")
    registry.update_person(volunteer.person, phone="13812340000")
    return registry, path, volunteer.person


def test_the_mask_keeps_only_the_first_and_last_character() -> None:
    """The display form of the example number is 1, sixteen stars and X: the same length, nothing else."""
    assert "1****************X" == mask_document("resident", NUMBER)
    assert "1****************X" == volreg.personal.parse_id_number(NUMBER).masked
    assert mask_document("resident", NUMBER) == mask_id_text(NUMBER)


@pytest.mark.parametrize(
    ("expected", "id_type", "number"),
    [
        ("6****************5", "resident", "620200199001010025"),
        ("******************", "resident", "810000199001010012"),   # Hong Kong residence permit: 3 regions
        ("******************", "resident", "910000199001010012"),
        ("E*******8", "passport", "E12345678"),
        ("A*************9", "foreign_permanent", "ABC123456789019"),
        ("*******", "resident", "1234567"),                          # too short to show anything
        ("", "resident", ""),
    ],
)
def test_mask_document_rules(expected: str, id_type: str, number: str) -> None:
    """Every document type: first and last character; all stars where that would narrow too much."""
    assert expected == mask_document(id_type, number)


def test_mask_document_needs_the_number() -> None:
    """One argument is the type, not the number: refused rather than masking the wrong thing."""
    with pytest.raises(TypeError, match="needs the document number"):
        mask_document(NUMBER)
    assert "1****************X" == mask_document(number=NUMBER)


@pytest.mark.parametrize("number", [NUMBER, make_id_number(), make_id_number(region="810000"),
                                    make_id_number(region="710000"), "A12345678901234"])
def test_an_old_mask_gives_the_new_one(number: str) -> None:
    """The migration derives the new mask from the old (6 + stars + 4) form: the same as from the number."""
    old = number[:6] + "*" * (len(number) - 10) + number[-4:]
    assert mask_document("resident", number) == mask_document("resident", old)


def test_the_arithmetic_of_the_readme() -> None:
    """1 + 16 stars + X, born 1949-12-31, female: >= 1,000 candidates among just 32 districts; the old mask
    left exactly one."""
    assert 1458 == candidates("1****************X", births=["19491231"], female=True, regions=REGIONS)
    assert 1 == candidates("110105********002X", births=["19491231"], female=True, regions=REGIONS)
    # A residence-permit number is masked entirely: its first digit would leave 3 regions, about 3 x 500 / 11.
    assert 137 == candidates("8****************2", births=["19900101"], female=False, regions=FEW_REGIONS[1:])
    assert 2000 == candidates("*" * 18, births=["19900101"], female=False, regions=FEW_REGIONS)


def test_the_database_file_does_not_rebuild_the_number(registry_file: tuple[volreg.Registry, Path, str]) -> None:
    """From the bytes of the file and its WAL (birth date and gender are there): >= 1,000 candidates."""
    registry, path, _ = registry_file
    raw = b"".join(Path(str(path) + s).read_bytes() for s in ("", "-wal") if Path(str(path) + s).exists())
    text = raw.decode("utf-8", "ignore")
    assert "1949-12-31" in text and "female" in text  # the attacker does have the birth date and gender
    found = _attack(text)
    assert found and min(found) >= 1000, found


def test_a_shareable_export_does_not_rebuild_the_number(
    registry_file: tuple[volreg.Registry, Path, str], tmp_path: Path
) -> None:
    """An export with personal=False carries no birth date, in the tables or the journal."""
    registry, _, _ = registry_file
    target = tmp_path / "shared.jsonl"
    volreg.export_registry(registry, target, personal=False)
    text = target.read_text(encoding="utf-8")
    assert "1949-12-31" not in text and "19491231" not in text
    people = [json.loads(line)["row"] for line in text.splitlines() if '"table": "people"' in line]
    assert [None] == [p["birth_date"] for p in people]
    found = _attack(text)
    assert found and min(found) >= 1000, found


def test_reprs_and_history_do_not_rebuild_the_number(registry_file: tuple[volreg.Registry, Path, str]) -> None:
    """repr(person), repr(volunteer) and `volreg history` in every format: >= 1,000 candidates."""
    registry, path, person = registry_file
    shown = [repr(registry.person(person)), repr(next(registry.volunteers())), repr(registry.history(person))]
    registry.close()
    runner = CliRunner()
    for output in ("--table", "--json", "--csv"):
        result = runner.invoke(cli, ["history", str(path), person, output], catch_exceptions=False)
        assert 0 == result.exit_code, result.output
        shown.append(result.output)
    for text in shown:
        found = _attack(text)
        assert min(found, default=10**6) >= 1000, (text[:200], found)
    assert any("1****************X" in text for text in shown)


def test_existing_masks_are_rewritten_by_the_migration(tmp_path: Path) -> None:
    """A registry written before m013 keeps its digests; its masks and its journal lose all but 2 characters."""
    path = tmp_path / "old.db"
    db = sqlite_utils.Database(path)
    MIGRATIONS.apply(db, stop_before="m013_masks")
    db["people"].insert({"id": "per-1", "name": "王秀兰", "gender": "female", "birth_date": "1949-12-31",
                         "id_digest": "d" * 64, "id_masked": "110105********002X"})
    db["journal"].insert({"at": "2024-01-01T00:00:00Z", "actor": None, "action": "create", "entity": "person",
                          "entity_id": "per-1", "before": None,
                          "after": json.dumps({"id": "per-1", "name": "王秀兰", "id_masked": "110105********002X"},
                                              ensure_ascii=False)})
    db.close()
    with volreg.open(path, key="test-key-16-bytes") as registry:
        person = registry.person("per-1")
        assert ("1****************X", "d" * 64) == (person.id_masked, person.id_digest)
        assert "1****************X" == registry.history("per-1")[0].after["id_masked"]
        assert "王秀兰" == registry.history("per-1")[0].after["name"]
        dump = "\n".join(registry.db.iterdump())
    assert "110105" not in dump
    raw = b"".join(Path(str(path) + s).read_bytes() for s in ("", "-wal") if Path(str(path) + s).exists())
    assert b"110105" not in raw  # not left in free space of the file either (secure_delete)
