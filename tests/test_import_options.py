"""Import options and reports: every problem of a row, dry runs, defaults, date formats, JSON, sheets."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

import volreg
from volreg.cli import cli


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_text(text, encoding=encoding)
    return path


def test_every_wrong_cell_of_a_row_is_reported(registry, community, tmp_path):
    """A row with a bad ID number, phone, date and gender gives four problems, each in its column."""
    path = write(tmp_path / "v.csv", "姓名,身份证号,手机,注册日期,性别\n"
                                      "王小明,110105194912310021,12345,2024-02-30,未知\n")
    report = volreg.import_file(registry, path, kind="volunteers")
    assert {"身份证号", "手机", "注册日期", "性别"} == {p.column for p in report.problems}
    assert {2} == {p.line for p in report.problems}
    assert "110105194912310021" not in str(report)
    by_column = {p.column: p for p in report.problems}
    assert "check character" in by_column["身份证号"].message
    assert "1****************1" == by_column["身份证号"].value


def test_a_follow_on_refusal_is_not_reported(registry, community, tmp_path):
    """A wrong ID number does not also make 'the name is unknown' a problem of its own."""
    path = write(tmp_path / "h.csv", "姓名,身份证号,荣誉称号,类别,期数,授予日期\n"
                                      "无名氏,110105194912310021,中国好人,助人为乐,2024-Q1,2024-03-28\n")
    report = volreg.import_file(registry, path, kind="honours")
    [problem] = report.problems
    assert "身份证号" == problem.column


def test_a_dry_run_checks_everything_and_writes_nothing(tmp_path):
    """dry_run=True reports what would happen and leaves the database file byte for byte as it was."""
    db = tmp_path / "r.db"
    registry = volreg.open(db, key="k-key-of-16-bytes")
    registry.add_organisation("嘉峪关市文明办", kind="city_office")
    registry.close()
    before = db.read_bytes()
    path = write(tmp_path / "o.csv", "名称,上级\n新华社区,嘉峪关市文明办\n五一社区,不存在\n")
    registry = volreg.open(db, key="k-key-of-16-bytes")
    report = volreg.import_file(registry, path, kind="organisations", mode="valid_rows", dry_run=True)
    assert (2, 1, 1, False, True) == (report.rows, report.created, len(report.problems), report.written,
                                      report.dry_run)
    assert "dry run: nothing written" in str(report)
    assert 1 == len(list(registry.organisations()))
    registry.close()
    assert before == db.read_bytes()


def test_a_refused_header_reads_no_row_and_says_so(registry, tmp_path):
    """A 90-row file whose header lacks a required column: one problem, and not '1 rows'."""
    path = write(tmp_path / "a.csv", "名称\n" + "".join(f"活动{n}\n" for n in range(90)))
    report = volreg.import_file(registry, path, kind="activities")
    assert (0, True) == (report.rows, report.header_refused)
    assert "header refused" in str(report) and "1 rows" not in str(report)


def test_rows_are_counted_exactly(registry, tmp_path):
    """90 rows are 90 rows, whether they go in or not, and one row is '1 row'."""
    path = write(tmp_path / "o.csv", "名称\n" + "".join(f"第{n}队\n" for n in range(90)))
    assert 90 == volreg.import_file(registry, path, kind="organisations").rows
    one = write(tmp_path / "one.csv", "名称\n第一队\n")
    assert "1 row of organisations" in str(volreg.import_file(registry, one, kind="organisations"))


def test_problems_are_capped_and_counted(registry, tmp_path):
    """A file of many bad rows keeps the first problems and counts the rest."""
    path = write(tmp_path / "o.csv", "名称,上级\n" + "".join(f"队{n},不存在\n" for n in range(30)))
    report = volreg.import_file(registry, path, kind="organisations", mode="valid_rows", max_problems=5)
    assert (5, 25, 30) == (len(report.problems), report.problems_left_out, report.problem_count)
    assert "25 more problems" in str(report)


def test_defaults_give_a_column_a_constant(registry, make_volunteer, make_activity, tmp_path):
    """defaults fill a missing column (status) and empty cells, by field or by header name."""
    vol = make_volunteer()
    act = make_activity()
    path = write(tmp_path / "s.csv", "志愿者编号,开始时间,结束时间,审核状态\n"
                                      f"{vol.number},2024-03-05 09:00,2024-03-05 10:00,\n"
                                      f"{vol.number},2024-03-05 10:00,2024-03-05 11:00,待审核\n")
    report = volreg.import_file(registry, path, kind="service_records",
                                defaults={"活动编号": act.id, "status": "verified"})
    assert (2, ()) == (report.created, report.problems)
    assert ["verified", "pending"] == [r.status for r in registry.service_records(volunteer=vol)]
    with pytest.raises(volreg.InvalidValue, match="defaults"):
        volreg.import_file(registry, path, kind="service_records", defaults={"colour": "red"})


def test_create_people_adds_a_named_nominee_without_a_document(registry, city, tmp_path):
    """A nominee named only by name is a problem, unless create_people=True adds them (counted)."""
    path = write(tmp_path / "n.csv", "被推荐人,荣誉称号,类别,推荐单位,推荐时间\n"
                                      "周杰,中国好人,诚实守信,嘉峪关市文明办,2024-04-07\n")
    refused = volreg.import_file(registry, path, kind="nominations")
    assert "create_people" in refused.problems[0].message
    report = volreg.import_file(registry, path, kind="nominations", create_people=True)
    assert (1, 1) == (report.created, report.people_created)
    [person] = registry.people(name="周杰")
    assert ("none", None, None) == (person.id_type, person.birth_date, person.id_masked)


@pytest.mark.parametrize(
    ("cell", "options", "expected"),
    [
        ("Aug 17, 2026", {}, date(2026, 8, 17)),
        ("17 August 2026", {}, date(2026, 8, 17)),
        ("Sept 1, 2025", {}, date(2025, 9, 1)),
        ("22/08/2026", {"dayfirst": True}, date(2026, 8, 22)),
        ("22.08.2026", {"dayfirst": True}, date(2026, 8, 22)),
        ("08/22/2026", {"date_format": "%m/%d/%Y"}, date(2026, 8, 22)),
        ("20260822", {"date_format": ["%d.%m.%Y", "%Y%m%d"]}, date(2026, 8, 22)),
        ("2026/08/22", {}, date(2026, 8, 22)),
    ],
)
def test_date_forms(registry, tmp_path, cell, options, expected):
    """Each date form is read as the option says; the registry date is exact."""
    path = write(tmp_path / "v.csv", f'姓名,证件类型,注册日期\nAlice,none,"{cell}"\n')
    report = volreg.import_file(registry, path, kind="volunteers", **options)
    assert () == report.problems
    [vol] = registry.volunteers()
    assert expected == vol.registered_on


def test_an_ambiguous_date_asks_for_dayfirst(registry, tmp_path):
    """22/08/2026 without dayfirst or a pattern is refused, saying how to read it."""
    path = write(tmp_path / "v.csv", "姓名,证件类型,注册日期\nAlice,none,22/08/2026\n")
    [problem] = volreg.import_file(registry, path, kind="volunteers").problems
    assert "dayfirst" in problem.message and "注册日期" == problem.column


def test_english_times_and_one_day_activities(registry, community, tmp_path):
    """'Aug 17, 2026 9:30 AM' is a time; an end date with no time is the end of that day."""
    path = write(tmp_path / "a.csv",
                 "title,category,start,end,organiser\n"
                 '开放日,敬老助老,"Feb 1, 2011 9:30 AM","Feb 1, 2011 4:00 PM",新华社区\n'
                 "义诊,敬老助老,2011-02-01,2011-02-01,新华社区\n"
                 "三天营,敬老助老,2011-02-01,2011-02-03,新华社区\n")
    report = volreg.import_file(registry, path, kind="activities")
    assert () == report.problems
    acts = {a.title: a for a in registry.activities()}
    assert ("2011-02-01T09:30:00+08:00", 390) == (acts["开放日"].start.isoformat(), acts["开放日"].minutes)
    assert ("2011-02-02T00:00:00+08:00", 1440) == (acts["义诊"].end.isoformat(), acts["义诊"].minutes)
    assert 3 * 1440 == acts["三天营"].minutes


def test_a_year_only_award_date_is_the_period(registry, tmp_path):
    """1991 as an award date: the period is 1991, nothing more precise is invented."""
    registry.define_honour("old_star", "老雄关之星", level="city", cadence="annual")
    path = write(tmp_path / "h.csv", "姓名,身份证号,荣誉称号,类别,授予日期\n王秀兰,11010519491231002X,老雄关之星,助人为乐,1991\n")
    report = volreg.import_file(registry, path, kind="honours")
    assert () == report.problems
    [honour] = registry.honours_of(registry.person_by_id_number("11010519491231002X"))
    assert ("1991", 1991) == (honour.period, honour.year)


def test_a_json_array_file(registry, tmp_path):
    """A .json file holding an array of objects; a bad object is a problem on the line it starts."""
    path = write(tmp_path / "o.json", '[\n {"name": "新华社区"},\n {"name": 5, "kind": "nonsense"},\n'
                                      ' {"名称": "五一社区", "类型": "社区"}\n]\n')
    report = volreg.import_file(registry, path, kind="organisations", mode="valid_rows")
    assert (3, 2) == (report.rows, report.created)
    assert [3] == [p.line for p in report.problems]
    broken = write(tmp_path / "b.json", '{"name": "x"}')
    assert "JSON array" in volreg.import_file(registry, broken, kind="organisations").problems[0].message


def test_the_command_line_options(tmp_path):
    """--dry-run, --set, --dayfirst, --encoding and --sheet reach the import."""
    openpyxl = pytest.importorskip("openpyxl")
    db = str(tmp_path / "r.db")
    runner = CliRunner()
    assert 0 == runner.invoke(cli, ["init", db]).exit_code
    csv_path = write(tmp_path / "o.csv", "名称,成立\n新华社区,22/08/2020\n", encoding="gb18030")
    result = runner.invoke(cli, ["import", db, str(csv_path), "--kind", "organisations", "--encoding", "gb18030",
                                 "--set", "类型=社区", "--dry-run", "--json"])
    assert 0 == result.exit_code, result.output
    data = json.loads(result.output)
    assert (1, True, False) == (data["created"], data["dry_run"], data["written"])
    book = openpyxl.Workbook()
    book.active.title = "说明"
    book.active.append(["这一页不是数据"])
    sheet = book.create_sheet("名单")
    sheet.append(["姓名", "证件类型", "注册日期"])
    sheet.append(["Alice", "none", "22/08/2020"])
    xlsx = tmp_path / "v.xlsx"
    book.save(xlsx)
    result = runner.invoke(cli, ["import", db, str(xlsx), "--kind", "volunteers", "--sheet", "名单",
                                 "--dayfirst"])
    assert 0 == result.exit_code, result.output
    registry = volreg.open(db)
    assert [date(2020, 8, 22)] == [v.registered_on for v in registry.volunteers()]
    assert [] == list(registry.organisations())
    registry.close()
    result = runner.invoke(cli, ["import", db, str(xlsx), "--kind", "volunteers", "--sheet", "无此页"])
    assert 1 == result.exit_code and "名单" in result.output


def test_a_header_only_file_still_has_its_header_checked(registry, tmp_path):
    """A file with a header and no rows, missing a required column, is a problem, not a silent 0 rows."""
    path = write(tmp_path / "a.csv", "名称,地点\n")
    report = volreg.import_file(registry, path, kind="activities")
    assert report.problems and 1 == report.problems[0].line
    assert "category" in str(report)


def test_every_rule_a_service_row_breaks_is_reported(registry, make_volunteer, make_activity, tmp_path):
    """A service row outside its activity's span, by a volunteer not yet registered, on a 道德讲堂: three
    problems of one row, each naming its rule."""
    vol = make_volunteer(registered_on="2024-03-06")
    lecture = make_activity("道德讲堂", kind="moral_lecture")
    path = write(tmp_path / "s.csv", "志愿者编号,活动编号,开始时间,结束时间\n"
                                      f"{vol.number},{lecture.id},2024-03-05 07:00,2024-03-05 08:00\n")
    report = volreg.import_file(registry, path, kind="service_records")
    messages = [p.message for p in report.problems]
    assert 3 == len(messages) and {2} == {p.line for p in report.problems}
    assert any("not volunteer service" in m for m in messages)
    assert any("time span" in m for m in messages)
    assert any("registered on 2024-03-06" in m for m in messages)


@pytest.mark.parametrize("batch_size", [500, 1])
def test_an_overlap_between_two_rows_names_both_lines(registry, make_volunteer, make_activity, tmp_path, batch_size):
    """An overlap with an earlier row of the file names that row's line, written yet or not."""
    vol = make_volunteer()
    act = make_activity()
    path = write(tmp_path / "s.csv", "volunteer_number,activity,start,end\n"
                                      f"{vol.number},{act.id},2024-03-05 09:00,2024-03-05 10:00\n"
                                      f"{vol.number},{act.id},2024-03-05 09:30,2024-03-05 10:30\n")
    report = volreg.import_file(registry, path, kind="service_records", mode="valid_rows", batch_size=batch_size)
    [problem] = report.problems
    assert 3 == problem.line and "overlaps" in problem.message and "line 2 of this file" in problem.message
