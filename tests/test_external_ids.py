"""External ids that are ID numbers: another system keys its rows by 身份证号, and its export carries that
number as each row's external id. The registry must recognise the rows when they come again without ever
keeping the number in clear: not in the file, not in a problem, not after an upgrade or a restore."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from factories import make_id_number

import volreg

KEY = "test-key-16-bytes"
_FULL_WIDTH = {c: chr(ord(c) + 0xFEE0) for c in "0123456789X"}


def _on_disk(path: Path) -> bytes:
    return b"".join(Path(str(path) + s).read_bytes() for s in ("", "-wal") if Path(str(path) + s).exists())


def _roster(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    path.write_text("外部编号,姓名,身份证号\n" + "".join(f"{e},{n},{i}\n" for e, n, i in rows), encoding="utf-8")
    return path


@pytest.fixture
def numbers() -> list[str]:
    """Four resident ID numbers, one of them ending in X."""
    found = [make_id_number(birth=f"1980010{d}", sequence=100 + d) for d in range(1, 4)]
    return found + [next(n for n in (make_id_number(birth="19800105", sequence=s) for s in range(200, 300))
                         if n.endswith("X"))]


def test_id_numbers_as_external_ids_are_never_in_the_file_and_rows_are_recognised_again(
        tmp_path: Path, numbers: list[str]) -> None:
    """Keys as issued, with a lower-case x, in full-width digits and inside a longer key: none is in the file
    or its WAL; importing the same file again creates nothing."""
    keys = [numbers[0], numbers[1].lower(), "".join(_FULL_WIDTH.get(c, c) for c in numbers[2]), f"NAT-{numbers[3]}"]
    roster = _roster(tmp_path / "roster.csv", [(k, f"志愿者{i}", n) for i, (k, n) in enumerate(zip(keys, numbers,
                                                                                                  strict=True))])
    path = tmp_path / "city.db"
    registry = volreg.open(path, key=KEY)
    first = volreg.import_file(registry, roster, kind="volunteers", source="national")
    assert (first.problems, first.created) == ((), 4)
    again = volreg.import_file(registry, roster, kind="volunteers", source="national")
    assert (again.problems, again.created) == ((), 0)
    assert 4 == registry.db.execute("SELECT count(*) FROM volunteers").fetchone()[0]
    registry.close()
    data = _on_disk(path)
    assert [] == [k for k in keys + numbers if k.encode() in data]


@pytest.mark.parametrize("form", ["same", "full-width", "lower case"])
def test_a_repeated_external_id_holding_an_id_number_is_reported_masked(tmp_path: Path, numbers: list[str],
                                                                        form: str) -> None:
    """The same ID number as the external id of two rows, typed alike or not (full-width digits, x for X):
    one id, so the second row is a problem naming the first line, with the number masked."""
    first = next(n for n in numbers if n.endswith("X")) if form == "lower case" else numbers[0]
    second = {"same": first, "full-width": "".join(_FULL_WIDTH.get(c, c) for c in first),
              "lower case": first.lower()}[form]
    roster = _roster(tmp_path / "roster.csv", [(first, "甲", numbers[1]), (second, "乙", numbers[2])])
    registry = volreg.open(":memory:", key=KEY)
    report = volreg.import_file(registry, roster, kind="volunteers", source="national")
    assert len(report.problems) == 1
    problem = report.problems[0]
    assert first not in f"{problem.value} {problem.message}" and second not in f"{problem.value} {problem.message}"
    assert "external id" in problem.message and "also on line 2" in problem.message


def test_an_older_registry_with_id_numbers_in_clear_is_protected_when_opened_with_its_key(
        tmp_path: Path, numbers: list[str]) -> None:
    """A registry written before external ids were digested holds them in clear: the upgrade marks it, and
    the open that has the key digests them; the rows are still recognised."""
    path = tmp_path / "old.db"
    registry = volreg.open(path, key=KEY)
    who = registry.register_volunteer("欧阳明月", id_number=numbers[0], registered_on="2024-01-01")
    twin = registry.add_person("欧阳明月")
    registry.db.execute("INSERT INTO import_identity (kind, source, key, entity_id, imported_at) VALUES "
                        "('volunteers', 'national', ?, ?, '2024-01-01T00:00:00Z'), "
                        "('people', 'national', ?, ?, '2024-01-01T00:00:00Z')",
                        [numbers[0], who.id, numbers[1], twin.id])
    registry.merge_people(who.person, twin, by="文明办", reason="同一人")  # its journal lists the ids that moved
    honour = registry.award("中国好人", who.person, category="诚实守信", awarded_on="2024-08-01")
    registry.db.execute("UPDATE honours SET external_id = ? WHERE id = ?", [numbers[2], honour.id])  # given then
    registry.close()
    conn = sqlite3.connect(path)  # as an older volreg left it
    with conn:
        conn.execute("DELETE FROM _sqlite_migrations WHERE name = 'm023_external_ids'")
    conn.close()
    assert numbers[1].encode() in _on_disk(path)
    registry = volreg.open(path, key=KEY)
    assert registry.db.execute("SELECT value FROM registry_meta WHERE key = 'external_ids_in_clear'").fetchone() is None
    report = volreg.import_file(registry, _roster(tmp_path / "r.csv", [(numbers[0], "欧阳明月", numbers[0])]),
                                kind="volunteers", source="national")
    assert (report.problems, report.created) == ((), 0)
    assert registry.db.execute("SELECT external_id FROM honours").fetchone()[0].startswith("digest:")
    registry.close()
    assert [] == [n for n in numbers[:3] if n.encode() in _on_disk(path)]


def test_an_archive_with_id_numbers_in_clear_is_restored_with_them_digested(tmp_path: Path, numbers: list[str]) -> None:
    path = tmp_path / "old.db"
    registry = volreg.open(path, key=KEY)
    who = registry.register_volunteer("欧阳明月", id_number=numbers[0], registered_on="2024-01-01")
    registry.db.execute("INSERT INTO import_identity (kind, source, key, entity_id, imported_at) "
                        "VALUES ('volunteers', 'national', ?, ?, '2024-01-01T00:00:00Z')", [numbers[0], who.id])
    registry.db.execute("DELETE FROM _sqlite_migrations WHERE name = 'm023_external_ids'")
    volreg.export_registry(registry, tmp_path / "old.jsonl")
    registry.close()
    restored = volreg.import_registry(tmp_path / "old.jsonl", into=tmp_path / "new.db", key=KEY)
    report = volreg.import_file(restored, _roster(tmp_path / "r.csv", [(numbers[0], "欧阳明月", numbers[0])]),
                                kind="volunteers", source="national")
    assert (report.problems, report.created) == ((), 0)
    restored.close()
    assert numbers[0].encode() not in _on_disk(tmp_path / "new.db")


def test_the_api_keeps_an_external_id_holding_an_id_number_as_its_digest(tmp_path: Path, numbers: list[str]) -> None:
    """``award`` and ``nominate`` take an external id as given, unless it holds an ID number: that one is kept as
    its keyed digest (still unique: the same id again is refused as a duplicate, never stored twice)."""
    path = tmp_path / "city.db"
    registry = volreg.open(path, key=KEY)
    person = registry.add_person("王小明", birth_date="1975-04-01")
    other = registry.add_person("李四", birth_date="1975-04-01")
    registry.award("中国好人", person, category="诚实守信", awarded_on="2024-08-01", external_id=numbers[0])
    registry.nominate("中国好人", other, category="诚实守信", nominator="self", external_id=f"X{numbers[1]}")
    registry.award("中国好人", other, category="助人为乐", awarded_on="2024-08-01", external_id="GR-2024-7")
    with pytest.raises(volreg.VolregError) as refused:
        registry.award("中国好人", other, category="见义勇为", awarded_on="2024-08-01", external_id=numbers[0])
    assert numbers[0] not in str(refused.value)
    assert {"GR-2024-7"} == {r[0] for r in registry.db.execute("SELECT external_id FROM honours") if
                             not r[0].startswith("digest:")}
    registry.close()
    data = _on_disk(path)
    assert [] == [n for n in numbers[:2] if n.encode() in data]


def test_two_forms_of_one_id_number_kept_in_clear_become_one_digest_the_first_winning(
        tmp_path: Path, numbers: list[str]) -> None:
    path = tmp_path / "old.db"
    registry = volreg.open(path, key=KEY)
    first = registry.add_person("甲")
    second = registry.add_person("乙")
    number = numbers[3]  # ends in X
    registry.db.execute("INSERT INTO import_identity (kind, source, key, entity_id, imported_at) VALUES "
                        "('people', 'national', ?, ?, '2024-01-01T00:00:00Z'), "
                        "('people', 'national', ?, ?, '2024-01-02T00:00:00Z')",
                        [number, first.id, number.lower(), second.id])
    registry.db.execute("DELETE FROM _sqlite_migrations WHERE name = 'm023_external_ids'")
    registry.close()
    registry = volreg.open(path, key=KEY)
    assert [(first.id,)] == registry.db.execute("SELECT entity_id FROM import_identity").fetchall()
    registry.close()
    assert [] == [form for form in (number, number.lower()) if form.encode() in _on_disk(path)]


def test_an_id_given_to_a_new_entity_may_not_hold_an_id_number(tmp_path: Path, numbers: list[str]) -> None:
    """A caller that keys its people (or anything else) by 身份证号 would put the number in clear into every
    key, repr, journal entry and export, where no erasure reaches: such an id is refused, masked, and nothing
    is written; other ids are kept as given."""
    path = tmp_path / "city.db"
    registry = volreg.open(path, key=KEY)
    org = registry.add_organisation("新华社区", kind="community", id="org-xinhua")
    number = numbers[0]
    attempts = {
        "add_person": lambda: registry.add_person("王小明", id=number),
        "register_volunteer": lambda: registry.register_volunteer("李四", id_number=numbers[1], id=f"vol-{number}",
                                                                  registered_on="2024-01-01"),
        "add_organisation": lambda: registry.add_organisation("队", kind="team", id=number),
        "add_studio": lambda: registry.add_studio("工作室", organisation=org, id="stu-" + number),
        "add_activity": lambda: registry.add_activity("义诊", category="敬老助老", organiser=org, id=number,
                                                      start="2024-03-05 08:00", end="2024-03-05 18:00"),
    }
    before = "\n".join(registry.db.iterdump())
    for name, attempt in attempts.items():
        with pytest.raises(volreg.InvalidValue, match="'id' must not hold an ID number") as refused:
            attempt()
        assert number not in str(refused.value), name
    assert before == "\n".join(registry.db.iterdump())
    assert "per-wang" == registry.add_person("王小明", id="per-wang").id
    registry.close()
    assert number.encode() not in _on_disk(path)


def test_a_file_named_with_an_id_number_leaves_it_nowhere(tmp_path: Path, numbers: list[str]) -> None:
    """A person's own export is often named after their ID number: the name goes into the journal, the actor
    of every write and the report, masked."""
    path = tmp_path / "city.db"
    roster = _roster(tmp_path / f"张三_{numbers[0]}_名单.csv", [("E1", "张三", numbers[1]), ("E1", "李四", numbers[2])])
    registry = volreg.open(path, key=KEY)
    report = volreg.import_file(registry, roster, kind="volunteers", source="national", mode="valid_rows")
    assert report.created == 1 and len(report.problems) == 1
    assert numbers[0] not in repr(report)
    with pytest.raises(volreg.InvalidValue, match="'by' must not hold an ID number") as refused:
        registry.add_person("王五", by=f"操作员{numbers[3]}")
    assert numbers[3] not in str(refused.value)
    registry.close()
    assert [] == [n for n in (numbers[0], numbers[3]) if n.encode() in _on_disk(path)]


def test_a_generated_id_with_fifteen_digits_in_a_row_still_acts(monkeypatch: pytest.MonkeyPatch) -> None:
    """volreg's own ids are hex, and 15 of their digits fall in a row now and then: such an id is not taken
    for an ID number, by object or as text (a hex id's digits are glued to its letters)."""
    import volreg.text

    registry = volreg.open(":memory:", key=KEY)
    monkeypatch.setattr(volreg.text, "new_id", lambda prefix: f"{prefix}-c665679707614370")
    actor = registry.add_person("蔡飞华")
    monkeypatch.undo()
    assert actor.id == "per-c665679707614370"
    assert registry.add_person("王五", by=actor).name == "王五"
    assert registry.history(registry.add_person("赵六", by=actor))[0].actor == actor.id
    assert registry.add_person("孙七", by=actor.id).name == "孙七"
    for _ in range(20_000):  # and no generated id is
        assert not volreg.personal.holds_id_number(volreg.text.new_id("per"))


def test_an_order_number_is_not_taken_for_an_id_number(tmp_path: Path) -> None:
    """An 18-digit order number (no region, no birth date where a number carries one) stays as given."""
    registry = volreg.open(":memory:", key=KEY)
    roster = _roster(tmp_path / "roster.csv", [("202403050000123456", "张三", make_id_number())])
    assert volreg.import_file(registry, roster, kind="volunteers", source="shop").created == 1
    assert [("202403050000123456",)] == registry.db.execute("SELECT key FROM import_identity").fetchall()
