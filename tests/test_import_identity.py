"""Identity in imports: rows are matched by (source, external id), never merged across external ids."""

from __future__ import annotations

from pathlib import Path

import volreg


def dump(registry: volreg.Registry) -> list[str]:
    """Every row of the database (the journal included), for comparing before and after."""
    return list(registry.db.conn.iterdump())


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_two_activities_with_one_title_and_time_stay_two(registry, community, tmp_path):
    """Different external ids with the same title, start and organiser are two activities; a re-import is a
    no-op that journals nothing and flips nothing."""
    path = write(tmp_path / "a.csv",
                 "external_id,title,category,start,end,organiser\n"
                 "OPP-1,清扫街道,敬老助老,2024-03-05 09:00,2024-03-05 11:00,新华社区\n"
                 "OPP-2,清扫街道,文明出行,2024-03-05 09:00,2024-03-05 11:00,新华社区\n")
    report = volreg.import_file(registry, path, kind="activities")
    assert (2, 0, 0, ()) == (report.created, report.updated, report.skipped, report.problems)
    assert ["civilised_travel", "elderly_care"] == sorted(a.category for a in registry.activities())
    before = dump(registry)
    again = volreg.import_file(registry, path, kind="activities")
    assert (0, 0, 2, ()) == (again.created, again.updated, again.skipped, again.problems)
    assert before == dump(registry)


def test_a_content_match_with_another_external_id_is_a_problem(registry, community, tmp_path):
    """A volunteer row whose ID number belongs to a volunteer imported under another external id is refused,
    saying why; nothing is merged."""
    write(tmp_path / "v1.csv", "外部编号,姓名,身份证号\nP-1,王小明,11010519491231002X\n")
    volreg.import_file(registry, tmp_path / "v1.csv", kind="volunteers")
    path = write(tmp_path / "v2.csv", "外部编号,姓名,身份证号\nP-2,王晓明,11010519491231002X\n")
    report = volreg.import_file(registry, path, kind="volunteers", mode="valid_rows")
    [problem] = report.problems
    assert "'P-1'" in problem.message and "never merged" in problem.message
    assert "11010519491231002X" not in str(report)
    assert ["王小明"] == [v.name for v in registry.volunteers()]


def test_a_row_with_a_new_external_id_adopts_an_entity_that_has_none(registry, make_volunteer, tmp_path):
    """A volunteer typed in by hand is recognised by ID number and linked to the file's external id."""
    made = make_volunteer("王小明", id_number="11010519491231002X")
    path = write(tmp_path / "v.csv", "外部编号,姓名,身份证号\nP-1,王小明,11010519491231002X\n")
    report = volreg.import_file(registry, path, kind="volunteers")
    assert (0, 1) == (report.created, report.skipped)
    rename = write(tmp_path / "v2.csv", "外部编号,姓名,身份证号\nP-1,王晓明,11010519491231002X\n")
    assert 1 == volreg.import_file(registry, rename, kind="volunteers").updated
    assert "王晓明" == registry.volunteer(made.id).name


def test_a_repeated_external_id_names_both_lines(registry, tmp_path):
    """The same external id twice in one file is a problem on the second line naming the first."""
    path = write(tmp_path / "o.csv", "外部编号,名称\nO-1,新华社区\nO-2,五一社区\nO-1,新华社区\n")
    report = volreg.import_file(registry, path, kind="organisations", mode="valid_rows")
    [problem] = report.problems
    assert (4, "外部编号", "O-1") == (problem.line, problem.column, problem.value)
    assert "line 2" in problem.message
    assert 2 == report.created


def test_a_repeated_row_without_external_id_names_both_lines(registry, city, tmp_path):
    """Two rows that are the same organisation (name and parent) are reported, not silently skipped."""
    path = write(tmp_path / "o.csv", "名称,上级\n新华社区,嘉峪关市文明办\n五一社区,嘉峪关市文明办\n"
                                      "新华社区,嘉峪关市文明办\n")
    report = volreg.import_file(registry, path, kind="organisations")
    [problem] = report.problems
    assert 4 == problem.line and "repeats line 2" in problem.message
    assert not report.written


def test_service_records_with_different_external_ids_are_not_merged(registry, make_volunteer, make_activity,
                                                                     tmp_path):
    """Two sign-ins with the same volunteer, activity and start but different ids: the second overlaps the
    first and is a problem naming the first record, never merged into it."""
    vol = make_volunteer()
    act = make_activity()
    path = write(tmp_path / "s.csv",
                 "external_id,volunteer_number,activity,start,end\n"
                 f"S-1,{vol.number},{act.id},2024-03-05 09:00,2024-03-05 10:00\n"
                 f"S-2,{vol.number},{act.id},2024-03-05 09:00,2024-03-05 10:00\n")
    report = volreg.import_file(registry, path, kind="service_records", mode="valid_rows")
    assert 1 == report.created
    [problem] = report.problems
    assert 3 == problem.line and "never merged" in problem.message and "overlaps" in problem.message


def test_once_false_titles_may_be_held_in_two_categories_in_one_period(registry, tmp_path):
    """With once=False, one person may hold a title twice in one period in different categories, and the
    import keeps the two rows apart by their external ids."""
    registry.define_honour("city_star", "雄关之星", level="city", cadence="annual", once=False)
    person = registry.add_person("王秀兰", id_number="11010519491231002X")
    first = registry.award("雄关之星", person, category="助人为乐", period="2024", awarded_on="2024-05-01")
    second = registry.award("雄关之星", person, category="见义勇为", period="2024", awarded_on="2024-05-01")
    assert first.id != second.id
    path = write(tmp_path / "h.csv",
                 "外部编号,荣誉称号,身份证号,类别,期数,授予日期\n"
                 "H-1,雄关之星,11010519491231002X,诚实守信,2024,2024-06-01\n"
                 "H-2,雄关之星,11010519491231002X,敬业奉献,2024,2024-06-01\n")
    report = volreg.import_file(registry, path, kind="honours")
    assert (2, ()) == (report.created, report.problems)
    assert 4 == len(registry.honours_of(person))


def test_a_duplicate_category_label_is_reported_as_a_label(registry):
    """A new category whose label is taken names the label and the category holding it, not the code."""
    import pytest

    with pytest.raises(volreg.InvalidValue) as caught:
        registry.add_category("elderly_visits", "敬老助老")
    assert "label" == caught.value.field and "elderly_care" in str(caught.value)
    with pytest.raises(volreg.InvalidValue) as caught:
        registry.add_category("elderly_care", "探访老人")
    assert "code" == caught.value.field


def test_an_honour_under_a_new_external_id_is_never_folded_into_another(registry, tmp_path):
    """Two award rows with their own external ids for the same award: the second is a problem saying so,
    not counted as unchanged."""
    registry.add_person("王秀兰", id_number="11010519491231002X")
    path = write(tmp_path / "h.csv", "外部编号,荣誉称号,身份证号,类别,期数,授予日期\n"
                                      "A-1,中国好人,11010519491231002X,助人为乐,2024-Q1,2024-03-28\n"
                                      "A-2,中国好人,11010519491231002X,助人为乐,2024-Q1,2024-03-28\n")
    report = volreg.import_file(registry, path, kind="honours", mode="valid_rows")
    assert (1, 0) == (report.created, report.skipped)
    [problem] = report.problems
    assert 3 == problem.line and "never merged" in problem.message and "line 2" in problem.message
