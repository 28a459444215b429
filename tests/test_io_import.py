"""Importing organisations, volunteers and activities from real-world-shaped files."""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import plan_of, traced

import volreg
from volreg.io.values import minutes_from_hours

FORMS = ["csv", "gb18030", "xlsx", "jsonl"]


def dump(registry: volreg.Registry) -> list[str]:
    """Every row of the database, for comparing before and after."""
    return list(registry.db.conn.iterdump())


def load_all(registry: volreg.Registry, data_file, form: str = "csv") -> None:
    for kind in ("organisations", "volunteers", "activities"):
        volreg.import_file(registry, data_file(f"{kind}.csv", form), kind=kind, mode="valid_rows")


@pytest.mark.parametrize("form", FORMS)
def test_organisations_build_the_tree(registry, data_file, form):
    """Organisations come in with their kinds, parents named by external id or by name."""
    report = volreg.import_file(registry, data_file("organisations.csv", form), kind="organisations")
    assert (5, 5, 0, ()) == (report.rows, report.created, report.skipped, report.problems)
    by_name = {o.name: o for o in registry.organisations()}
    assert "city_office" == by_name["嘉峪关市文明办"].kind
    assert by_name["镜铁区"].id == by_name["新华街道"].parent
    assert by_name["嘉峪关市文明办"].id == by_name["卢芳爱心公益志愿服务队"].parent
    assert 5 == len(list(registry.organisations(under=by_name["嘉峪关市文明办"])))


@pytest.mark.parametrize("form", FORMS)
def test_volunteers_report_the_wrong_id_number_and_the_duplicate(registry, data_file, form):
    """Good rows go in; the repeated row names both lines; the wrong ID number is a problem, masked."""
    volreg.import_file(registry, data_file("organisations.csv", form), kind="organisations")
    report = volreg.import_file(registry, data_file("volunteers.csv", form), kind="volunteers", mode="valid_rows")
    assert (5, 3, 0) == (report.rows, report.created, report.skipped)
    repeated, problem = report.problems
    shift = 1 if form == "jsonl" else 0  # JSON Lines has no header line
    assert 6 - shift == repeated.line and f"repeats line {3 - shift}" in repeated.message
    line = 7 - shift
    assert (line, "身份证号", "6****************5") == (problem.line, problem.column, problem.value)
    assert "check character" in problem.message
    assert "620200196512250025" not in str(report)
    assert ("序号",) == report.ignored_columns
    wang = next(v for v in registry.volunteers() if v.name == "王小明")
    assert date_text(wang.registered_on) == "2024-03-05"
    assert ("医疗", "急救") == wang.skills
    assert ("health_clinic", "elderly_care") == wang.categories
    li = next(v for v in registry.volunteers() if v.name == "李建国")
    assert "13937120002" == registry.person(li.person).phone
    assert "新华社区" == registry.organisation(li.organisation).name


def date_text(day) -> str:
    return day.isoformat()


@pytest.mark.parametrize("form", FORMS)
def test_activities_read_mixed_date_forms_and_bare_times(registry, data_file, form):
    """2024年3月5日 with 9:00, 2024/2/1 8:00, and 19时 to 20时30分 all become exact local times."""
    volreg.import_file(registry, data_file("organisations.csv", form), kind="organisations")
    report = volreg.import_file(registry, data_file("activities.csv", form), kind="activities")
    assert (3, 0) == (report.created, len(report.problems))
    acts = {a.title: a for a in registry.activities()}
    first = acts["学雷锋志愿服务进社区"]
    assert "2024-03-05T09:00:00+08:00" == first.start.isoformat()
    assert 150 == first.minutes
    assert "新华社区" == registry.organisation(first.organiser).name
    assert 255 == acts["温馨春运·文明相伴"].minutes
    lecture = acts["道德讲堂：孝老爱亲"]
    assert ("moral_lecture", "moral_education", 90) == (lecture.kind, lecture.category, lecture.minutes)


@pytest.mark.parametrize("form", FORMS)
def test_importing_the_same_files_twice_changes_nothing(registry, data_file, form):
    """The second import creates nothing, updates nothing and leaves every row (the journal too) as it was."""
    load_all(registry, data_file, form)
    before = dump(registry)
    for kind in ("organisations", "volunteers", "activities"):
        report = volreg.import_file(registry, data_file(f"{kind}.csv", form), kind=kind, mode="valid_rows")
        assert (0, 0) == (report.created, report.updated)
    assert before == dump(registry)


def test_all_or_nothing_leaves_the_database_untouched(registry, data_file):
    """One wrong ID number means no volunteer at all is written, and the report says so."""
    volreg.import_file(registry, data_file("organisations.csv"), kind="organisations")
    before = dump(registry)
    report = volreg.import_file(registry, data_file("volunteers.csv"), kind="volunteers")
    assert not report.written
    assert (0, 2) == (report.created, len(report.problems))
    assert "nothing written" in str(report)
    assert before == dump(registry)


def test_a_clean_file_is_written_all_at_once(registry, data_file, tmp_path):
    """all_or_nothing writes everything when there is no problem."""
    volreg.import_file(registry, data_file("organisations.csv"), kind="organisations")
    lines = (Path(data_file("volunteers.csv")).read_text(encoding="utf-8-sig")).splitlines()
    clean = tmp_path / "clean.csv"
    clean.write_text("\n".join(dict.fromkeys(line for line in lines if "孙强" not in line)), encoding="utf-8")
    report = volreg.import_file(registry, clean, kind="volunteers")
    assert (True, 3, 0) == (report.written, report.created, report.skipped)
    assert 3 == len(list(registry.volunteers()))


def test_changed_values_update_the_known_volunteer_and_leave_a_trace(registry, data_file, tmp_path):
    """A new phone number for a known ID number updates that person; the journal keeps the old one masked."""
    load_all(registry, data_file)
    text = data_file("volunteers.csv").read_text(encoding="utf-8-sig").replace("13893712345", "13800000001")
    changed = tmp_path / "volunteers.csv"
    changed.write_text(text, encoding="utf-8")
    report = volreg.import_file(registry, changed, kind="volunteers", mode="valid_rows")
    assert (0, 1, 2) == (report.created, report.updated, report.skipped)
    wang = next(v for v in registry.volunteers() if v.name == "王小明")
    assert "13800000001" == registry.person(wang.person).phone
    [update] = [c for c in registry.history(wang.person) if c.action == "update"]
    assert ("138****2345", "138****0001") == (update.before["phone"], update.after["phone"])


def test_an_unknown_organisation_points_at_its_column(registry, tmp_path):
    """A reference to nothing is a problem in the column that holds it, not an exception."""
    path = tmp_path / "v.csv"
    path.write_text("姓名,身份证号,所属组织\n王小明,620200198503120024,不存在的社区\n", encoding="utf-8")
    report = volreg.import_file(registry, path, kind="volunteers")
    [problem] = report.problems
    assert (2, "所属组织", "不存在的社区") == (problem.line, problem.column, problem.value)
    assert [] == list(registry.volunteers())


def test_an_organisation_named_on_many_rows_is_found_for_each(registry, tmp_path):
    """A roster names its organisations over and over (by id, name or external id): each row finds its own,
    and a name that names nothing is a problem on every row that gives it, not only the first."""
    orgs = tmp_path / "o.csv"
    orgs.write_text("外部编号,名称,类型\nORG-1,新华社区,community\nORG-2,峪泉社区,community\n", encoding="utf-8")
    volreg.import_file(registry, orgs, kind="organisations", source="city")
    by_name = {o.name: o.id for o in registry.organisations()}
    path = tmp_path / "v.csv"
    path.write_text("姓名,身份证号,所属组织\n"
                    "王小明,620200198503120024,新华社区\n"
                    "李建国,620200199007150034,ORG-2\n"
                    "张三,11010519491231002X,不存在的社区\n"
                    f"李四,620200198503120016,{by_name['峪泉社区']}\n"
                    "赵五,110105198001010032,新华社区\n"
                    "钱六,620200199007150018,不存在的社区\n", encoding="utf-8")
    report = volreg.import_file(registry, path, kind="volunteers", mode="valid_rows", source="city")
    assert [(4, "所属组织"), (7, "所属组织")] == [(p.line, p.column) for p in report.problems]
    got = {v.name: registry.organisation(v.organisation).name for v in registry.volunteers()}
    assert {"王小明": "新华社区", "李建国": "峪泉社区", "李四": "峪泉社区", "赵五": "新华社区"} == got


def test_an_activity_is_recognised_through_its_organiser_and_start(registry, tmp_path):
    """Each row of an activities file is looked up by organiser, start and title: the look-up reads one
    index range (organiser and start, m021), not every activity of the organiser, which made a file of
    one organiser's activities import in quadratic time (30,000 rows: 53 s, against 7 s with the index)."""
    registry.add_organisation("新华社区")
    path = tmp_path / "a.csv"
    path.write_text("活动名称,类别,开始时间,结束时间,组织单位\n"
                    + "".join(f"活动{n},敬老助老,2024年3月{n + 1}日 9:00,2024年3月{n + 1}日 11:30,新华社区\n"
                              for n in range(3)), encoding="utf-8")
    with traced(registry) as statements:
        report = volreg.import_file(registry, path, kind="activities")
    assert (3, ()) == (report.created, report.problems)
    lookup = next(s for s in statements if s.startswith("SELECT id FROM activities WHERE title"))
    plan = plan_of(registry, lookup)
    assert any("(organiser=? AND start_utc=?)" in step for step in plan), plan
    assert 0 == volreg.import_file(registry, path, kind="activities").created  # and found again


def test_an_organisation_is_recognised_and_named_through_an_index(registry, tmp_path):
    """An organisations file's rows are recognised by name and parent, and name their parent by name: both
    look-ups read the name index (m021), not every organisation (10,000 rows under one parent: 8.3 s,
    against 1.4 s with it)."""
    registry.add_organisation("镜铁区", kind="district")
    path = tmp_path / "o.csv"
    path.write_text("名称,类型,上级组织\n" + "".join(f"社区{n},community,镜铁区\n" for n in range(3)),
                    encoding="utf-8")
    with traced(registry) as statements:
        report = volreg.import_file(registry, path, kind="organisations")
    assert (3, ()) == (report.created, report.problems)
    for start in ("SELECT id FROM organisations WHERE name = ", "SELECT id FROM [organisations] WHERE name = "):
        lookup = next(s for s in statements if s.startswith(start))
        plan = plan_of(registry, lookup)
        assert any("INDEX organisations_name (name=?)" in step for step in plan), (lookup, plan)


def test_a_missing_required_column_is_one_problem(registry, tmp_path):
    """A roster without a name column fails once, at the header, not once per row."""
    path = tmp_path / "v.csv"
    path.write_text("身份证号,手机\n620200198503120024,13893712345\n620200199007150034,13937120002\n",
                    encoding="utf-8")
    report = volreg.import_file(registry, path, kind="volunteers", mode="valid_rows")
    [problem] = report.problems
    assert 1 == problem.line
    assert "name (姓名)" in problem.message


def test_a_mapping_overrides_the_vocabulary(registry, community, tmp_path):
    """An explicit mapping names columns the vocabulary does not know."""
    path = tmp_path / "v.csv"
    path.write_text("联系人,证件,联系人手机\n王小明,620200198503120024,13893712345\n", encoding="utf-8")
    report = volreg.import_file(
        registry, path, kind="volunteers", mapping={"联系人": "name", "证件": "id_number", "联系人手机": "phone"}
    )
    assert 1 == report.created
    [volunteer] = registry.volunteers()
    assert "13893712345" == registry.person(volunteer.person).phone


def test_external_ids_are_kept_apart_by_source(registry, tmp_path):
    """The same external id from two systems names two organisations."""
    path = tmp_path / "o.csv"
    path.write_text("外部编号,名称\n1,新华社区\n", encoding="utf-8")
    volreg.import_file(registry, path, kind="organisations", source="街道台账")
    path.write_text("外部编号,名称\n1,五一社区\n", encoding="utf-8")
    report = volreg.import_file(registry, path, kind="organisations", source="学校名册")
    assert 1 == report.created
    assert ["五一社区", "新华社区"] == [o.name for o in registry.organisations()]


def test_a_broken_json_line_is_a_problem_with_its_line(registry, tmp_path):
    """JSON Lines: a line that is not JSON is reported; the others are imported."""
    path = tmp_path / "o.jsonl"
    path.write_text('{"名称": "新华社区"}\n{"名称": \n\n{"name": "五一社区", "kind": "community"}\n', encoding="utf-8")
    report = volreg.import_file(registry, path, kind="organisations", mode="valid_rows")
    assert 2 == report.created
    [problem] = report.problems
    assert 2 == problem.line


def test_valid_rows_commits_in_batches(registry, tmp_path):
    """Batches smaller than the file still import every good row."""
    path = tmp_path / "o.csv"
    path.write_text("名称\n" + "".join(f"第{n}志愿服务队\n" for n in range(25)), encoding="utf-8")
    report = volreg.import_file(registry, path, kind="organisations", mode="valid_rows", batch_size=4)
    assert 25 == report.created == len(list(registry.organisations()))


@pytest.mark.parametrize(
    ("minutes", "hours"), [(150, "2.5"), (75, "1.25"), (60, "1"), (45, "0.75"), (180, "3小时"), (90, "1.5 h")]
)
def test_decimal_hours_become_exact_minutes(minutes, hours):
    """Hours as people write them become whole minutes without float rounding."""
    assert minutes == minutes_from_hours(hours)


@pytest.mark.parametrize("hours", ["0.01", "0", "-1", "two", "nan"])
def test_hours_that_are_not_whole_positive_minutes_are_refused(hours):
    """0.01 h is 0.6 minutes: refused, as are zero, negative and non-numbers."""
    with pytest.raises(volreg.InvalidValue) as caught:
        minutes_from_hours(hours)
    assert "'hours'" in str(caught.value)


def test_an_unknown_kind_lists_the_known_ones(registry, data_file):
    """A mistake in the call raises at once, naming the kinds there are."""
    with pytest.raises(volreg.InvalidValue, match="activities, honours, nominations, organisations, people, service_records, volunteers"):
        volreg.import_file(registry, data_file("organisations.csv"), kind="persons")


def test_progress_shows_on_stderr_when_asked(registry, data_file, capsys):
    """progress=True draws a bar on stderr (by default only a terminal gets one); stdout stays clean."""
    volreg.import_file(registry, data_file("organisations.csv"), kind="organisations", progress=True)
    captured = capsys.readouterr()
    assert "importing organisations.csv" in captured.err
    assert "" == captured.out
