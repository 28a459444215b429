"""Hostile input: every public write and query, and the importer, fed random and malicious values.

The only outcomes allowed are success or a :class:`volreg.VolregError` with a clear one-line message; a refused
call changes nothing (the database dump is the same before and after), and a hostile import file gives
problems in its report, never an exception.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import SQL_FRAGMENTS, hostile_calls, hostile_text, hostile_values, hostile_world

import volreg


def _names() -> list[str]:
    registry = volreg.open(":memory:", key="test-key-k-16byte")
    try:
        return sorted(hostile_calls(registry, hostile_world(registry)))
    finally:
        registry.close()


def _tables(registry: volreg.Registry) -> set[str]:
    return {r[0] for r in registry.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _call(fn: Any, args: list[Any], kwargs: dict[str, Any]) -> None:
    result = fn(*args, **kwargs)
    if hasattr(result, "__iter__") and not isinstance(result, (str, bytes, dict)):
        list(result)  # lazy readers run their query only when read


def _clear(error: volreg.VolregError) -> None:
    message = str(error)
    assert message.strip(), f"{type(error).__name__} without a message"
    assert len(message) < 1000 and "\n" not in message, message[:300]


@pytest.mark.parametrize("name", _names())
def test_hostile_arguments(name: str) -> None:
    """Any argument replaced by a hostile value: success or a clear VolregError, and a refusal writes nothing."""
    registry = volreg.open(":memory:", key="test-key-k-16byte")
    world = hostile_world(registry)
    tables = _tables(registry)
    fn, args, kwargs = hostile_calls(registry, world)[name]
    slots = [("arg", i) for i in range(len(args))] + [("kw", k) for k in kwargs]

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow],
              database=None)
    @given(slot=st.sampled_from(slots), value=hostile_values)
    def check(slot: tuple[str, Any], value: Any) -> None:
        call_args, call_kwargs = list(args), dict(kwargs)
        if slot[0] == "arg":
            call_args[slot[1]] = value
        else:
            call_kwargs[slot[1]] = value
        before = list(registry.db.iterdump())
        try:
            _call(fn, call_args, call_kwargs)
        except volreg.VolregError as error:
            _clear(error)
            assert before == list(registry.db.iterdump()), f"a refused {name} changed the database"
        assert tables == _tables(registry)  # no SQL fragment ever ran

    check()
    assert "ok" == registry.db.execute("PRAGMA integrity_check").fetchone()[0]
    registry.close()


@pytest.mark.parametrize("fragment", SQL_FRAGMENTS)
def test_sql_fragments_are_stored_as_text(registry: volreg.Registry, fragment: str) -> None:
    """A name that looks like SQL is kept verbatim and found again by an exact filter, never run."""
    org = registry.add_organisation(fragment, kind="team")
    person = registry.add_person(fragment, area=fragment)
    assert fragment == registry.organisation(org).name
    assert [person.id] == [p.id for p in registry.people(name=fragment, area=fragment)]


# -- hostile import files ----------------------------------------------------------------------------------

KINDS = {
    "volunteers": ["姓名", "身份证号", "手机", "注册日期", "所属组织"],
    "organisations": ["名称", "类型", "上级"],
    "activities": ["活动名称", "类别", "开始时间", "结束时间", "组织单位"],
}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
          database=None)
@given(kind=st.sampled_from(sorted(KINDS)), mode=st.sampled_from(("all_or_nothing", "valid_rows")),
       cells=st.lists(st.lists(hostile_text, min_size=1, max_size=6), min_size=1, max_size=6))
def test_hostile_csv_gives_problems_not_crashes(tmp_path: Path, kind: str, mode: str, cells: list[list[str]]) -> None:
    """A CSV of hostile cells (ragged rows, SQL, control characters, huge text) imports to a report."""
    file = tmp_path / "hostile.csv"
    with open(file, "w", encoding="utf-8", errors="surrogatepass", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(KINDS[kind])
        out.writerows(cells)
    registry = volreg.open(":memory:", key="test-key-k-16byte")
    before = list(registry.db.iterdump())
    report = volreg.import_file(registry, file, kind=kind, mode=mode)
    assert isinstance(report, volreg.ImportReport)
    for problem in report.problems:
        assert problem.message.strip()
    if not report.written:
        assert before == list(registry.db.iterdump())
    registry.close()


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**80), max_value=2**80),
              st.floats(allow_nan=True, allow_infinity=True), hostile_text),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
          database=None)
@given(kind=st.sampled_from(sorted(KINDS)), rows=st.lists(
    st.dictionaries(st.sampled_from(["姓名", "身份证号", "手机", "名称", "类型", "上级", "活动名称", "类别", "开始时间",
                                     "结束时间", "组织单位", "注册日期", "外部编号"]), json_values, max_size=6),
    min_size=1, max_size=5))
def test_hostile_jsonl_gives_problems_not_crashes(tmp_path: Path, kind: str, rows: list[dict[str, Any]]) -> None:
    """JSON Lines with values of every JSON type (NaN, huge numbers, nested lists) import to a report."""
    file = tmp_path / "hostile.jsonl"
    lines = [json.dumps(row, ensure_ascii=False) for row in rows] + ["{not json", "[1, 2]", "NaN"]
    file.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogatepass")
    registry = volreg.open(":memory:", key="test-key-k-16byte")
    report = volreg.import_file(registry, file, kind=kind, mode="valid_rows")
    assert isinstance(report, volreg.ImportReport)
    assert len(report.problems) >= 3  # the three broken lines at least
    registry.close()


def test_binary_garbage_file_is_a_problem(tmp_path: Path) -> None:
    """A file of random bytes named .csv is reported, not a crash."""
    file = tmp_path / "garbage.csv"
    file.write_bytes(bytes(range(256)) * 20)
    registry = volreg.open(":memory:", key="test-key-k-16byte")
    report = volreg.import_file(registry, file, kind="volunteers")
    assert not report.ok
    registry.close()


@pytest.mark.parametrize("bad", ["x\ud800", 2**70, {"a": 1}, object()])
@pytest.mark.parametrize("inside", [False, True])
def test_a_batch_insert_with_an_unbindable_value_writes_none_of_its_rows(bad: Any, inside: bool) -> None:
    """The store checks a batch's values only when the driver refuses one: the refusal is still a volreg
    error naming the value, and the rows before it in the batch are taken back."""
    registry = volreg.open(":memory:", key="test-key-k-16byte")
    store = registry.session.store
    store.execute("CREATE TABLE t (a, b)")
    rows = [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}, {"a": 3, "b": bad}, {"a": 4, "b": "z"}]
    with pytest.raises(volreg.InvalidValue, match="value"):
        if inside:
            with store.write():
                store.insert_many("t", rows)
        else:
            store.insert_many("t", rows)
    assert store.scalar("SELECT count(*) FROM t") == 0
    store.insert_many("t", rows[:2])
    assert store.scalar("SELECT count(*) FROM t") == 2
    registry.close()
