"""Importing service records, honours and nominations from real-world-shaped files."""

from __future__ import annotations

from pathlib import Path

import pytest

import volreg

FORMS = ["csv", "bom", "gb18030", "xlsx", "jsonl"]


def dump(registry: volreg.Registry) -> list[str]:
    """Every row of the database, for comparing before and after."""
    return list(registry.db.conn.iterdump())


@pytest.fixture
def fixture_file(data_file, tmp_path):
    """``data_file`` plus the ``bom`` form: the UTF-8 text with a BOM, as Excel's "CSV UTF-8" writes it."""

    def make(name: str, form: str) -> Path:
        if form != "bom":
            return data_file(name, form)
        target = tmp_path / f"bom-{name}"
        target.write_text("\ufeff" + (Path(data_file(name)).read_text(encoding="utf-8-sig")), encoding="utf-8")
        return target

    return make


@pytest.fixture
def loaded(registry, data_file):
    """The registry with the fixture organisations, volunteers and activities imported."""
    for kind in ("organisations", "volunteers", "activities"):
        volreg.import_file(registry, data_file(f"{kind}.csv"), kind=kind, mode="valid_rows")
    registry.add_edition("全国道德模范", 6, year=2024)
    return registry


def line_of(form: str, csv_line: int) -> int:
    """JSON Lines has no header line, so its lines are one less than the CSV's."""
    return csv_line - 1 if form == "jsonl" else csv_line


# -- service records ---------------------------------------------------------------------------------


@pytest.mark.parametrize("form", FORMS)
def test_service_records_in_every_format(loaded, fixture_file, form):
    """Good rows become exact minutes; the repeated row names both lines; three rows are problems."""
    report = volreg.import_file(loaded, fixture_file("service_records.csv", form), kind="service_records",
                                mode="valid_rows")
    assert (8, 4, 0) == (report.rows, report.created, report.skipped)
    problems = {p.line: p for p in report.problems}
    assert [line_of(form, n) for n in (6, 7, 8, 10)] == sorted(problems)
    assert f"repeats line {line_of(form, 5)}" in problems[line_of(form, 6)].message
    wrong_id = problems[line_of(form, 7)]
    assert ("身份证号", "6****************5") == (wrong_id.column, wrong_id.value)
    assert "check character" in wrong_id.message
    assert "620200196512250025" not in str(report)
    assert ("志愿者编号", "V2099999999") == (problems[line_of(form, 8)].column, problems[line_of(form, 8)].value)
    assert "0.33 h is 19.8 min" in problems[line_of(form, 10)].message
    pending = volreg.hours(loaded, by="volunteer", status="pending")
    verified = volreg.hours(loaded, by="volunteer")
    assert {"V2024000002": 75} == {r["volunteer_number"]: r["minutes"] for r in pending}
    assert {"V2023000001": 315, "V2024000001": 150} == {r["volunteer_number"]: r["minutes"] for r in verified}
    record = next(loaded.service_records(volunteer="V2024000002"))
    assert ("import", "迟到15分钟", "2024-03-05T09:15:00+08:00") == (record.source, record.note,
                                                                    record.start.isoformat())


@pytest.mark.parametrize("form", FORMS)
def test_importing_service_records_twice_changes_nothing(loaded, fixture_file, form):
    """The second import of the same sheet writes nothing at all, journal included."""
    path = fixture_file("service_records.csv", form)
    volreg.import_file(loaded, path, kind="service_records", mode="valid_rows")
    before = dump(loaded)
    report = volreg.import_file(loaded, path, kind="service_records", mode="valid_rows")
    assert (0, 0, 4, 4) == (report.created, report.updated, report.skipped, len(report.problems))
    assert before == dump(loaded)


def test_all_or_nothing_leaves_the_ledger_untouched(loaded, data_file):
    """Four bad rows (one repeating another) mean none of the good ones is written."""
    before = dump(loaded)
    report = volreg.import_file(loaded, data_file("service_records.csv"), kind="service_records")
    assert (False, 0, 4) == (report.written, report.created, len(report.problems))
    assert before == dump(loaded)


def test_imported_records_obey_the_ledger_rules(loaded, tmp_path):
    """Overlaps (with the ledger and within the file), service outside the activity and non-service
    activities are refused as log_service refuses them."""
    loaded.log_service("V2024000001", loaded.activity(next(a.id for a in loaded.activities()
                                                           if a.title == "学雷锋志愿服务进社区")),
                       start="2024-03-05 09:00", end="2024-03-05 10:00")
    path = tmp_path / "s.csv"
    path.write_text(
        "志愿者编号,活动编号,开始时间,结束时间\n"
        "V2024000001,ACT-1,2024-03-05 09:30,2024-03-05 10:30\n"     # overlaps the ledger
        "V2024000002,ACT-1,2024-03-05 09:00,2024-03-05 10:00\n"     # fine
        "V2024000002,ACT-1,2024-03-05 09:59,2024-03-05 11:00\n"     # overlaps the row above
        "V2024000002,ACT-1,2024-03-05 10:00,2024-03-05 11:00\n"     # back to back: fine
        "V2023000001,ACT-1,2024-03-05 08:00,2024-03-05 10:00\n"     # before the activity starts
        "V2023000001,ACT-3,2024-03-20 19:00,2024-03-20 20:00\n",    # a moral lecture carries no hours
        encoding="utf-8",
    )
    report = volreg.import_file(loaded, path, kind="service_records", mode="valid_rows")
    assert 2 == report.created
    messages = {p.line: p.message for p in report.problems}
    assert [2, 4, 6, 7] == sorted(messages)
    assert "overlaps record" in messages[2] and "overlaps record" in messages[4]
    assert "time span" in messages[6]
    assert "not volunteer service" in messages[7]


def test_small_batches_still_see_earlier_rows(loaded, tmp_path):
    """An overlap with a row written in an earlier batch is still refused, and the repeated row reported."""
    path = tmp_path / "s.csv"
    path.write_text(
        "志愿者编号,活动编号,开始时间,服务时长\n"
        "V2024000002,ACT-1,2024-03-05 09:00,1\n"
        "V2024000002,ACT-1,2024-03-05 09:00,1\n"
        "V2024000002,ACT-1,2024-03-05 09:30,1\n",
        encoding="utf-8",
    )
    report = volreg.import_file(loaded, path, kind="service_records", mode="valid_rows", batch_size=1)
    assert (1, 0, 2) == (report.created, report.skipped, len(report.problems))
    assert [3, 4] == [p.line for p in report.problems]
    assert "repeats line 2" in report.problems[0].message


def test_external_ids_identify_records_and_a_changed_row_is_refused(loaded, tmp_path):
    """A record is recognised by its 外部编号; different hours under the same id point to correct_service."""
    path = tmp_path / "s.jsonl"
    path.write_text('{"外部编号": "S1", "志愿者编号": "V2024000002", "活动": "ACT-1", "开始时间": "2024-03-05 09:00", '
                    '"服务时长": 2}\n', encoding="utf-8")
    assert 1 == volreg.import_file(loaded, path, kind="service_records").created
    path.write_text(path.read_text(encoding="utf-8").replace('"服务时长": 2', '"服务时长": 1.5'), encoding="utf-8")
    report = volreg.import_file(loaded, path, kind="service_records")
    [problem] = report.problems
    assert "correct_service" in problem.message


def test_a_status_column_verifies_on_reimport(loaded, tmp_path):
    """A pending record imported again as 已审核 is verified (by the activity's organiser), and counts."""
    path = tmp_path / "s.csv"
    path.write_text("志愿者编号,活动,开始时间,服务时长,审核状态\nV2024000002,ACT-1,2024-03-05 09:00,2,待审核\n",
                    encoding="utf-8")
    volreg.import_file(loaded, path, kind="service_records")
    assert 0 == volreg.hours(loaded)[0]["minutes"]
    path.write_text(path.read_text(encoding="utf-8").replace("待审核", "已审核"), encoding="utf-8")
    report = volreg.import_file(loaded, path, kind="service_records")
    assert 1 == report.updated
    assert 120 == volreg.hours(loaded)[0]["minutes"]


@pytest.mark.parametrize("per_row", [False, True])
def test_rows_of_one_time_slot_keep_their_own_volunteer_note_and_verification(loaded, tmp_path, per_row):
    """Rows sharing an activity, start and hours (whose rules are worked out once per file) still each get
    their own volunteer, note, status, verifier and verification time, as the row-by-row path gives them."""
    path = tmp_path / "s.csv"
    path.write_text(
        "志愿者编号,活动,开始时间,服务时长,审核状态,审核人,备注\n"
        "V2024000001,ACT-1,2024-03-05 09:00,2,已审核,新华社区,扫地\n"
        "V2024000002,ACT-1,2024-03-05 09:00,2,待审核,,\n"
        "V2023000001,ACT-1,2024-03-05 09:00,2,已审核,,擦窗\n",
        encoding="utf-8",
    )
    report = volreg.import_file(loaded, path, kind="service_records", _per_row=per_row)
    assert (3, ()) == (report.created, report.problems)
    rows = loaded.db.execute(
        "SELECT v.number, r.note, r.status, r.verified_by, r.verified_at IS NOT NULL, r.recorded_by, r.minutes, "
        "r.start, r.id = r.lineage FROM service_records r JOIN volunteers v ON v.id = r.volunteer "
        "ORDER BY v.number").fetchall()
    organiser = loaded.db.execute("SELECT a.organiser FROM activities a JOIN import_identity i ON i.entity_id = a.id "
                                  "WHERE i.kind = 'activities' AND i.key = 'ACT-1'").fetchone()[0]
    actor = f"import {path.name}"
    assert rows == [
        ("V2023000001", "擦窗", "verified", organiser, 1, actor, 120, "2024-03-05T09:00:00+08:00", 1),
        ("V2024000001", "扫地", "verified", "新华社区", 1, actor, 120, "2024-03-05T09:00:00+08:00", 1),
        ("V2024000002", "", "pending", None, 0, actor, 120, "2024-03-05T09:00:00+08:00", 1),
    ]
    assert len({r[0] for r in loaded.db.execute("SELECT id FROM service_records")}) == 3


def test_a_number_and_an_id_number_must_agree(loaded, tmp_path):
    """A row naming one volunteer by number and another by ID number is refused, the ID number masked."""
    path = tmp_path / "s.csv"
    path.write_text("志愿者编号,身份证号,活动,开始时间,服务时长\n"
                    "V2024000002,620200198503120024,ACT-1,2024-03-05 09:00,2\n", encoding="utf-8")
    [problem] = volreg.import_file(loaded, path, kind="service_records").problems
    assert ("身份证号", "6****************4") == (problem.column, problem.value)


def test_imported_records_are_journaled(loaded, data_file):
    """Each imported record has its creation in the history, like a typed-in one."""
    volreg.import_file(loaded, data_file("service_records.csv"), kind="service_records", mode="valid_rows")
    record = next(loaded.service_records(volunteer="V2024000001"))
    [change] = loaded.history(record.id)
    assert ("create", "import service_records.csv", 150) == (change.action, change.actor, change.after["minutes"])


# -- honours and nominations -----------------------------------------------------------------------------


@pytest.mark.parametrize("form", FORMS)
def test_honours_in_every_format(loaded, fixture_file, form):
    """Known and new people are honoured; the wrong ID number and the unknown name are problems."""
    report = volreg.import_file(loaded, fixture_file("honours.csv", form), kind="honours", mode="valid_rows")
    assert (6, 3, 0) == (report.rows, report.created, report.skipped)
    assert [line_of(form, n) for n in (5, 6, 8)] == [p.line for p in report.problems]
    assert f"repeats line {line_of(form, 2)}" in report.problems[0].message
    assert "6****************5" == report.problems[1].value
    roll = volreg.honour_roll(loaded, include_counted=False)
    assert [("王小明", "2024-Q1"), ("卢芳", "2024-Q2"), ("赵敏", "2024")] == [
        (r["recipient_name"], r["period"]) for r in roll]
    assert 6 == roll[2]["edition"]
    lu = loaded.person_by_id_number("620200197002140022")
    assert lu is not None and "卢芳" == lu.name


@pytest.mark.parametrize("form", FORMS)
def test_importing_honours_twice_changes_nothing(loaded, fixture_file, form):
    """A second import of the honour list adds nothing."""
    path = fixture_file("honours.csv", form)
    volreg.import_file(loaded, path, kind="honours", mode="valid_rows")
    before = dump(loaded)
    assert 0 == volreg.import_file(loaded, path, kind="honours", mode="valid_rows").created
    assert before == dump(loaded)


def test_all_or_nothing_honours(loaded, data_file):
    """A bad row in an honour list writes nothing, not even the new people."""
    before = dump(loaded)
    assert not volreg.import_file(loaded, data_file("honours.csv"), kind="honours").written
    assert before == dump(loaded)


@pytest.mark.parametrize("form", FORMS)
def test_nominations_in_every_format(loaded, fixture_file, form):
    """Two nominators nominating one person give two nominations; self-nomination is read from 本人."""
    report = volreg.import_file(loaded, fixture_file("nominations.csv", form), kind="nominations",
                                mode="valid_rows")
    assert (7, 4, 0) == (report.rows, report.created, report.skipped)
    assert [line_of(form, n) for n in (5, 7, 8)] == [p.line for p in report.problems]
    assert f"repeats line {line_of(form, 2)}" in report.problems[0].message
    counts = volreg.nominations(loaded, by="nominator_kind")
    assert {"organisation": (3, 2), "self": (1, 1)} == {
        r["nominator_kind"]: (r["nominations"], r["nominees"]) for r in counts}
    [pair] = list(loaded.duplicate_nominations())
    assert 2 == len(pair)


@pytest.mark.parametrize("form", FORMS)
def test_importing_nominations_twice_changes_nothing(loaded, fixture_file, form):
    """A second import of the nomination sheet adds nothing."""
    path = fixture_file("nominations.csv", form)
    volreg.import_file(loaded, path, kind="nominations", mode="valid_rows")
    before = dump(loaded)
    assert 0 == volreg.import_file(loaded, path, kind="nominations", mode="valid_rows").created
    assert before == dump(loaded)


def test_all_or_nothing_nominations(loaded, data_file):
    """A bad row in a nomination sheet writes nothing."""
    before = dump(loaded)
    assert not volreg.import_file(loaded, data_file("nominations.csv"), kind="nominations").written
    assert before == dump(loaded)


@pytest.mark.parametrize(("expected", "text"), [(6, "6"), (6, "第六届"), (12, "第十二届"), (10, "十"), (3, "第3届")])
def test_edition_numbers(expected, text):
    """Editions are read as people write them."""
    from volreg.io.honour_kinds import edition_number

    assert expected == edition_number(text)


def test_an_import_gives_back_its_larger_page_cache(loaded, data_file):
    """The import runs with a 64 MB page cache and restores the connection's own setting afterwards."""
    loaded.db.execute("PRAGMA cache_size = -3000")
    volreg.import_file(loaded, data_file("service_records.csv"), kind="service_records", mode="valid_rows")
    assert -3000 == loaded.db.execute("PRAGMA cache_size").fetchone()[0]
