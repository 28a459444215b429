"""Honour titles, editions, families, awards, promotion and the honour roll."""

from __future__ import annotations

import pytest
from conftest import make_id_number
from sqlite_utils import Database

import volreg
from volreg.store.schema import MIGRATIONS
from volreg.titles import parse_period


@pytest.fixture
def xiongguan(registry: volreg.Registry) -> volreg.HonourTitle:
    """The city's 雄关好人, on which 甘肃好人 and (through it) 中国好人 count."""
    registry.define_honour("xiongguan_good_person", "雄关好人", level="city")
    registry.define_honour("gansu_good_person", "甘肃好人", level="provincial", counts_as=["雄关好人"])
    registry.update_honour("中国好人", counts_as=["甘肃好人"])
    return registry.honour_title("雄关好人")


def _row_count(registry: volreg.Registry, table: str) -> int:
    return int(registry.db.execute(f"SELECT count(*) FROM [{table}]").fetchone()[0])


# -- schema and titles ---------------------------------------------------------------------------------


def test_new_registry_has_national_titles_and_five_categories(registry: volreg.Registry) -> None:
    """The national titles and the five standard categories ship with every registry."""
    assert ["china_good_person", "national_civilised_family", "national_moral_model", "new_era_good_youth"] == [
        t.code for t in registry.honour_titles()
    ]
    assert {"助人为乐", "见义勇为", "诚实守信", "敬业奉献", "孝老爱亲"} == {
        c.label for c in registry.categories(vocabulary="honour")
    }
    good = registry.honour_title("中国好人")
    assert ("national", "quarterly", 5) == (good.level, good.cadence, len(good.categories))
    assert (6, 18) == (registry.honour_title("新时代好少年").age_min, registry.honour_title("新时代好少年").age_max)


def test_upgrading_a_database_from_m002_adds_the_honour_tables() -> None:
    """A database made by the earlier schema upgrades and gets the seeded titles."""
    db = Database(memory=True)
    MIGRATIONS.apply(db, stop_before="m003_honours")
    assert "honours" not in db.table_names()
    reg = volreg.Registry(db, key="test-key-k-16byte")
    assert {"honour_titles", "honours", "nominations", "endorsements", "families"} <= set(db.table_names())
    assert "中国好人" == reg.honour_title("china_good_person").name
    assert {"id", "honour", "person", "family", "organisation", "promoted_from", "nomination"} <= set(
        db["honours"].columns_dict
    )


def test_define_honour_by_code_or_name(registry: volreg.Registry) -> None:
    """A defined title is found by its code and its name."""
    title = registry.define_honour("xiongguan_youth", "新时代嘉峪关好少年", level="city", age="6-18", categories=())
    assert title == registry.honour_title("新时代嘉峪关好少年") == registry.honour_title("xiongguan_youth")
    assert (6, 18, ()) == (title.age_min, title.age_max, title.categories)


@pytest.mark.parametrize(
    ("kwargs", "error", "field"),
    [
        ({"code": "Bad Code"}, volreg.InvalidValue, "code"),
        ({"name": ""}, volreg.InvalidValue, "name"),
        ({"level": "county"}, volreg.InvalidValue, "level"),
        ({"recipient": "team"}, volreg.InvalidValue, "recipient"),
        ({"cadence": "weekly"}, volreg.InvalidValue, "cadence"),
        ({"categories": ["不存在"]}, volreg.InvalidValue, "categories"),
        ({"age": "18-6"}, volreg.InvalidValue, "age"),
        ({"rubric": {"deeds": 0}}, volreg.InvalidValue, "rubric"),
        ({"code": "china_good_person"}, volreg.Duplicate, "code"),
        ({"name": "中国好人"}, volreg.Duplicate, "name"),
    ],
)
def test_define_honour_refuses_bad_input(registry: volreg.Registry, kwargs: dict, error: type, field: str) -> None:
    """Bad title definitions are refused naming the field, and nothing is written."""
    args = {"code": "xiongguan_good_person", "name": "雄关好人", "level": "city", **kwargs}
    before = _row_count(registry, "honour_titles")
    with pytest.raises(error) as caught:
        registry.define_honour(args.pop("code"), args.pop("name"), **args)
    assert field == caught.value.field
    assert before == _row_count(registry, "honour_titles")


def test_counts_as_must_name_a_lower_title(registry: volreg.Registry) -> None:
    """A city title cannot count as a national one."""
    with pytest.raises(volreg.RuleViolation) as caught:
        registry.define_honour("xiongguan_good_person", "雄关好人", level="city", counts_as=["中国好人"])
    assert "counts_as_lower" == caught.value.rule
    assert registry.db.execute("SELECT count(*) FROM honour_titles WHERE code = 'xiongguan_good_person'").fetchone()[0] == 0


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2024-03", ("2024-03", 2024, 0)), ("2024-3", ("2024-03", 2024, 0)), ("2024-Q1", ("2024-Q1", 2024, 1)),
     ("2024q4", ("2024-Q4", 2024, 1)), ("2024", ("2024", 2024, 2)), (2024, ("2024", 2024, 2)),
     ("2024年3月", ("2024-03", 2024, 0))],
)
def test_parse_period(value: object, expected: tuple) -> None:
    """Periods are read in their written forms."""
    assert expected == parse_period(value)


@pytest.mark.parametrize("value", ["2024-13", "2024-Q5", "24", "", None, "2024-03-05"])
def test_parse_period_refuses(value: object) -> None:
    """Anything else is refused."""
    with pytest.raises(volreg.InvalidValue):
        parse_period(value)


# -- awards ------------------------------------------------------------------------------------------


def test_award_creates_a_person_on_the_spot(registry: volreg.Registry) -> None:
    """A recipient given as add_person arguments is created and honoured in one step."""
    record = registry.award("中国好人", {"name": "王小明", "birth_date": "1970-05-01"}, category="见义勇为",
                            period="2024-Q2", awarded_on="2024-06-20", deed="跳入冰河救起落水儿童")
    assert ("china_good_person", "person", "bravery", "2024-Q2", 2024) == (
        record.honour, record.recipient_kind, record.category, record.period, record.year)
    assert "王小明" == registry.person(record.recipient).name
    assert [record] == registry.honours_of(record.recipient)


def test_award_period_defaults_to_the_cadence_period_of_the_date(registry: volreg.Registry) -> None:
    """Without a period, a quarterly title uses the award date's quarter."""
    person = registry.add_person("李四")
    assert "2024-Q3" == registry.award("中国好人", person, category="诚实守信", awarded_on="2024-08-01").period


def test_award_refuses_a_period_coarser_than_the_cadence(registry: volreg.Registry) -> None:
    """A quarterly title needs a quarter (or month), not a year; older monthly lists stay valid."""
    person = registry.add_person("李四")
    with pytest.raises(volreg.InvalidValue) as caught:
        registry.award("中国好人", person, category="诚实守信", period="2024", awarded_on="2024-08-01")
    assert "period" == caught.value.field
    assert "2019-05" == registry.award("中国好人", person, category="诚实守信", period="2019-05",
                                       awarded_on="2019-06-01").period


def test_award_refuses_a_category_the_title_does_not_have(registry: volreg.Registry) -> None:
    """Categories come from the title; a missing one is named."""
    person = registry.add_person("李四")
    with pytest.raises(volreg.InvalidValue, match="category"):
        registry.award("中国好人", person, awarded_on="2024-08-01")
    with pytest.raises(volreg.InvalidValue, match="category"):
        registry.award("新时代好少年", person, category="助人为乐", awarded_on="2024-08-01")
    assert 0 == _row_count(registry, "honours")


def test_once_rule_refuses_a_second_award_of_the_title(registry: volreg.Registry) -> None:
    """A person holds 中国好人 at most once; the refusal names the rule and changes nothing."""
    person = registry.add_person("李四")
    first = registry.award("中国好人", person, category="诚实守信", period="2023-Q1", awarded_on="2023-03-01")
    with pytest.raises(volreg.RuleViolation) as caught:
        registry.award("中国好人", person, category="助人为乐", period="2024-Q1", awarded_on="2024-03-01")
    assert ("once", first.id) == (caught.value.rule, caught.value.details["existing"])
    assert 1 == _row_count(registry, "honours")


def test_title_without_once_still_refuses_the_same_period_twice(registry: volreg.Registry) -> None:
    """With once=False a person may be honoured again, but not twice for one period."""
    registry.define_honour("star_helper", "助人之星", level="district", cadence="monthly", once=False)
    person = registry.add_person("李四")
    registry.award("助人之星", person, category="助人为乐", period="2024-03", awarded_on="2024-03-30")
    registry.award("助人之星", person, category="助人为乐", period="2024-04", awarded_on="2024-04-30")
    with pytest.raises(volreg.Duplicate):
        registry.award("助人之星", person, category="助人为乐", period="2024-04", awarded_on="2024-04-30")


@pytest.mark.parametrize(
    ("birth", "allowed"),
    [("2018-06-02", False), ("2018-06-01", True), ("2005-06-02", True), ("2005-06-01", False)],
)
def test_good_youth_age_is_checked_on_the_award_date(registry: volreg.Registry, birth: str, allowed: bool) -> None:
    """新时代好少年 is for ages 6 to 18 inclusive on the award date (2024-06-01)."""
    child = registry.add_person("小明", birth_date=birth)
    if allowed:
        assert registry.award("新时代好少年", child, awarded_on="2024-06-01").year == 2024
    else:
        with pytest.raises(volreg.RuleViolation) as caught:
            registry.award("新时代好少年", child, awarded_on="2024-06-01")
        assert "age" == caught.value.rule
        assert 0 == _row_count(registry, "honours")


def test_age_rule_refuses_an_unknown_birth_date(registry: volreg.Registry) -> None:
    """Without a birth date the age cannot be checked, so the award is refused."""
    child = registry.add_person("小明")
    with pytest.raises(volreg.RuleViolation, match="no birth date"):
        registry.award("新时代好少年", child, awarded_on="2024-06-01")


def test_edition_titles_need_an_edition(registry: volreg.Registry) -> None:
    """道德模范 is awarded in numbered editions; the edition's year is the honour's year."""
    registry.define_honour("jyg_moral_model", "嘉峪关市道德模范", level="city", cadence="edition")
    sixth = registry.add_edition("嘉峪关市道德模范", 6, year=2023, ceremony_on="2023-12-20", title="第六届嘉峪关市道德模范")
    person = registry.add_person("赵六")
    with pytest.raises(volreg.InvalidValue, match="edition"):
        registry.award("jyg_moral_model", person, category="敬业奉献", awarded_on="2023-12-20")
    record = registry.award("jyg_moral_model", person, category="敬业奉献", edition=6, awarded_on="2023-12-20")
    runner_up = registry.award("jyg_moral_model", registry.add_person("钱七"), category="敬业奉献", edition=sixth,
                               awarded_on="2023-12-20", grade="nomination_award")
    assert (sixth.id, "2023", 2023) == (record.edition, record.period, record.year)
    assert "nomination_award" == runner_up.grade
    with pytest.raises(volreg.Duplicate):
        registry.add_edition("jyg_moral_model", 6, year=2023)
    assert [6] == [e.number for e in registry.editions("嘉峪关市道德模范")]


# -- families ----------------------------------------------------------------------------------------


def test_family_recipient(registry: volreg.Registry) -> None:
    """A 文明家庭 is awarded to a family with member persons; a person cannot receive it."""
    sixth = registry.add_edition("全国文明家庭", 3, year=2022)
    family = registry.add_family("王小明家庭", members=[{"name": "王小明"}, {"name": "李芳"}])
    assert 2 == len(registry.family(family).members)
    record = registry.award("全国文明家庭", family, edition=sixth, awarded_on="2022-12-01", deed="孝老爱亲三十年")
    assert ("family", family.id) == (record.recipient_kind, record.recipient)
    with pytest.raises(volreg.RuleViolation) as caught:
        registry.award("全国文明家庭", family.members[0], edition=sixth, awarded_on="2022-12-01")
    assert "recipient" == caught.value.rule
    with pytest.raises(volreg.RuleViolation) as caught:
        registry.award("中国好人", family, category="孝老爱亲", awarded_on="2022-12-01")
    assert "recipient" == caught.value.rule
    rows = volreg.honour_roll(registry, honour="全国文明家庭", public=True)
    assert [("family", "王*明家庭", "孝老爱亲三十年")] == [
        (r["recipient_kind"], r["recipient_name"], r["deed"]) for r in rows
    ]


def test_group_recipient(registry: volreg.Registry, community: volreg.Organisation) -> None:
    """A title for groups goes to an organisation, whose name is never masked."""
    registry.define_honour("model_team", "优秀志愿服务组织", level="city", recipient="group", categories=())
    registry.award("优秀志愿服务组织", community, period="2024", awarded_on="2024-12-05")
    assert ["新华社区"] == volreg.honour_roll(registry, honour="model_team", public=True).column("recipient_name")


# -- promotion ---------------------------------------------------------------------------------------


def test_promotion_chain(registry: volreg.Registry, xiongguan: volreg.HonourTitle) -> None:
    """A city honour leads to the provincial one, and that to the national one; the roll shows the chain."""
    person = registry.add_person("王小明", consent=True)
    city = registry.award("雄关好人", person, category="助人为乐", period="2024", awarded_on="2024-02-01")
    province = registry.promote(city, "甘肃好人", awarded_on="2024-05-01")
    nation = registry.promote(province, "中国好人", awarded_on="2024-09-01", period="2024-Q3")
    assert (city.id, province.id) == (province.promoted_from, nation.promoted_from)
    assert "helping_others" == nation.category
    roll = volreg.honour_roll(registry, include_counted=False)
    chains = {r["honour_name"]: r["promoted_to"] for r in roll}
    assert {"雄关好人": "甘肃好人 → 中国好人", "甘肃好人": "中国好人", "中国好人": None} == chains


def test_promotion_refusals(registry: volreg.Registry, xiongguan: volreg.HonourTitle) -> None:
    """Promotion goes up a level, once, and may link an existing higher honour of the same recipient."""
    person = registry.add_person("王小明")
    national = registry.award("中国好人", person, category="助人为乐", period="2024-Q1", awarded_on="2024-03-01")
    with pytest.raises(volreg.RuleViolation) as caught:
        registry.promote(national, "雄关好人", awarded_on="2024-04-01")
    assert "promotion_level" == caught.value.rule
    city = registry.award("雄关好人", person, category="助人为乐", period="2024", awarded_on="2024-01-10")
    linked = registry.promote(city, national)
    assert city.id == linked.promoted_from == registry.honour_record(national.id).promoted_from
    with pytest.raises(volreg.RuleViolation) as caught:
        registry.promote(city, "甘肃好人", awarded_on="2024-04-01")
    assert "promoted_once" == caught.value.rule


# -- the honour roll ---------------------------------------------------------------------------------


def test_counts_as_puts_higher_honours_on_the_lower_roll(registry: volreg.Registry,
                                                        xiongguan: volreg.HonourTitle) -> None:
    """中国好人 counts on 甘肃好人 and, through it, on 雄关好人 in its year; direct rows come first by date."""
    a = registry.add_person("张三", consent=True)
    b = registry.add_person("李四", consent=True)
    c = registry.add_person("王五", consent=True)
    registry.award("雄关好人", a, category="助人为乐", period="2024", awarded_on="2024-02-01")
    registry.award("中国好人", b, category="见义勇为", period="2024-Q2", awarded_on="2024-06-01")
    registry.award("甘肃好人", c, category="诚实守信", period="2023", awarded_on="2023-11-01")
    roll = volreg.honour_roll(registry, honour="雄关好人", year=2024)
    assert [("张三", None), ("李四", "china_good_person")] == [
        (r["recipient_name"], r["counted_from"]) for r in roll
    ]
    assert ["张三"] == volreg.honour_roll(registry, honour="雄关好人", include_counted=False).column("recipient_name")
    assert ["王五", "李四"] == volreg.honour_roll(registry, honour="甘肃好人").column("recipient_name")
    assert 6 == len(volreg.honour_roll(registry))  # 3 direct + 中国好人 on 2 rolls + 甘肃好人 on 1
    assert 3 == len(volreg.honour_roll(registry, include_counted=False))
    assert 3 == len(volreg.honour_roll(registry, level="city"))


def test_public_roll_masks_names_without_consent_and_never_shows_id_or_phone(registry: volreg.Registry) -> None:
    """Published rolls mask people who did not consent; no roll carries an ID number or phone."""
    number = make_id_number("19700501")
    registry.add_person("王小明", id_number=number, phone="13812345678")
    hidden = registry.person_by_id_number(number)
    shown = registry.add_person("李四", consent=True)
    registry.award("中国好人", hidden, category="助人为乐", period="2024-Q1", awarded_on="2024-03-01")
    registry.award("中国好人", shown, category="助人为乐", period="2024-Q1", awarded_on="2024-03-02")
    assert ["王*明", "李四"] == volreg.honour_roll(registry, public=True).column("recipient_name")
    internal = volreg.honour_roll(registry)
    assert ["王小明", "李四"] == internal.column("recipient_name")
    text = internal.to_json() or ""
    assert "13812345678" not in text and number not in text and number[:6] + "********" not in text


def test_roll_filters_by_category_and_edition(registry: volreg.Registry) -> None:
    """Category (code or label) and edition number filter the roll."""
    first = registry.add_edition("全国道德模范", 8, year=2021)
    registry.add_edition("全国道德模范", 9, year=2024)
    registry.award("全国道德模范", registry.add_person("甲"), category="敬业奉献", edition=first, awarded_on="2021-11-05")
    registry.award("全国道德模范", registry.add_person("乙"), category="孝老爱亲", edition=9, awarded_on="2024-09-20")
    assert ["乙"] == volreg.honour_roll(registry, edition=9).column("recipient_name")
    assert ["甲"] == volreg.honour_roll(registry, category="dedication").column("recipient_name")
    assert [8] == volreg.honour_roll(registry, category="敬业奉献").column("edition")
    with pytest.raises(volreg.NotFound):
        volreg.honour_roll(registry, honour="中国好任")


def test_refused_award_changes_nothing(registry: volreg.Registry) -> None:
    """A recipient created on the spot is not left behind when the award is refused."""
    people = _row_count(registry, "people")
    with pytest.raises(volreg.RuleViolation):
        registry.award("新时代好少年", {"name": "小明", "birth_date": "2000-01-01"}, awarded_on="2024-06-01")
    assert people == _row_count(registry, "people")
