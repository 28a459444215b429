"""Identity documents: each type with its check, people without any, dedupe by (type, number), masks."""

from __future__ import annotations

from datetime import date

import pytest

import volreg
from volreg.personal import _check_char, mask_document, mask_id_text, parse_document


def gb(body: str) -> str:
    """A 17-character body with its MOD 11-2 check character."""
    return body + _check_char(body)


HK_PERMIT = gb("81000019900101001")          # 港澳台居民居住证, Hong Kong, born 1990-01-01, female
FOREIGN_2023 = gb("93115619850617003")       # 外国人永久居留身份证 (2023), born 1985-06-17, male


@pytest.mark.parametrize(
    ("id_type", "number", "country", "born", "gender"),
    [
        ("resident", "11010519491231002X", None, date(1949, 12, 31), "female"),
        ("residence_permit", HK_PERMIT, None, date(1990, 1, 1), "male"),
        ("foreign_permanent", FOREIGN_2023, None, date(1985, 6, 17), "male"),
        ("foreign_permanent", "USA310012345678", None, None, None),
        ("hk_macao_permit", "H12345678", None, None, None),
        ("hk_macao_permit", "M1234567890", None, None, None),
        ("taiwan_permit", "12345678", None, None, None),
        ("passport", "E12345678", "AU", None, None),
    ],
)
def test_each_document_type_is_checked_and_carries_only_what_it_encodes(id_type, number, country, born, gender):
    """A valid number of each type is accepted; birth date and gender come only from numbers that hold them."""
    doc = parse_document(id_type, number, country=country, today=date(2026, 1, 1))
    assert (id_type, born, gender) == (doc.id_type, doc.birth_date, doc.gender)
    assert number not in repr(doc)


@pytest.mark.parametrize(
    ("id_type", "number", "country", "rule"),
    [
        ("resident", "11010519491231002Y", None, "check digit"),
        ("resident", "110105194912310021", None, "check character"),
        ("resident", gb("99010519491231002"), None, "province"),
        ("resident", HK_PERMIT, None, "residence_permit"),
        ("residence_permit", "11010519491231002X", None, "810000"),
        ("residence_permit", HK_PERMIT[:-1] + ("0" if HK_PERMIT[-1] != "0" else "1"), None, "check character"),
        ("foreign_permanent", "11010519491231002X", None, "starting with 9"),
        ("foreign_permanent", FOREIGN_2023[:-1] + ("0" if FOREIGN_2023[-1] != "0" else "1"), None, "check"),
        ("foreign_permanent", "US3100123456789", None, "starting with 9"),
        ("hk_macao_permit", "X12345678", None, "H or M"),
        ("taiwan_permit", "1234", None, "8 digits"),
        ("passport", "E1", "AU", "5 to 20"),
        ("passport", "E12345678", None, "issuing country"),
        ("passport", "E12345678", "Australia", "issuing country"),
        ("driving_licence", "E12345678", None, "must be one of"),
    ],
)
def test_each_document_type_refuses_a_bad_number(id_type, number, country, rule):
    """A number failing its type's check is refused, naming the rule, with the number masked."""
    with pytest.raises(volreg.InvalidValue) as caught:
        parse_document(id_type, number, country=country, today=date(2026, 1, 1))
    assert rule in str(caught.value)
    assert number not in str(caught.value) or len(number) < 5


def test_masks_keep_only_the_first_and_last_character():
    """Every type's masked form keeps at most the first and the last character, the rest starred, same length."""
    assert "E*******8" == mask_document("passport", "E12345678")
    assert "1****************X" == mask_document("resident", "11010519491231002X")
    assert "**" == mask_document("taiwan_permit", "12")
    assert "*******" == mask_document("taiwan_permit", "1234567")          # too short to show any character
    assert "*" * 18 == mask_document("residence_permit", HK_PERMIT)         # 81...: the region would be shown


def test_a_passport_volunteer_is_registered_without_inventing_a_birth_date(registry, community):
    """A passport gives no birth date or gender; the volunteer is registered with them unknown."""
    vol = registry.register_volunteer("Alice Smith", id_type="passport", id_number="E12345678", id_country="au",
                                      organisation=community, registered_on="2024-03-01")
    person = registry.person(vol.person)
    assert ("passport", "AU", None, None, "E*******8") == (
        person.id_type, person.id_country, person.birth_date, person.gender, person.id_masked)
    assert person == registry.person_by_id_number("E12345678", id_type="passport", id_country="AU")
    assert registry.person_by_id_number("E12345678", id_type="passport", id_country="NZ") is None
    assert "E12345678" not in "\n".join(registry.db.conn.iterdump())


def test_documents_are_deduplicated_by_type_and_number(registry):
    """The same number twice under one type is a duplicate; under another type it is another document."""
    registry.add_person("甲", id_type="taiwan_permit", id_number="12345678")
    with pytest.raises(volreg.Duplicate):
        registry.add_person("乙", id_type="台胞证", id_number="12345678")
    other = registry.add_person("丙", id_type="passport", id_number="12345678", id_country="SG")
    assert "passport" == other.id_type


def test_a_person_without_any_document(registry, community):
    """id_type='none' takes no number; two people without documents are never merged, even by name."""
    first = registry.register_volunteer("张伟", id_type="none", organisation=community,
                                        registered_on="2024-03-01", birth_date="2009-05-01",
                                        guardian_consent=True)
    second = registry.register_volunteer("张伟", id_type="none", organisation=community,
                                         registered_on="2024-03-01")
    assert first.person != second.person
    assert ("none", None, date(2009, 5, 1)) == (registry.person(first.person).id_type,
                                                registry.person(first.person).id_masked,
                                                registry.person(first.person).birth_date)
    with pytest.raises(volreg.InvalidValue, match="must not be given"):
        registry.add_person("李四", id_type="none", id_number="11010519491231002X")
    with pytest.raises(volreg.InvalidValue, match="is required"):
        registry.register_volunteer("王五", organisation=community)
    with pytest.raises(volreg.InvalidValue, match="id_country"):
        registry.add_person("赵六", id_type="hk_macao_permit", id_number="H12345678", id_country="HK")


def test_an_age_limit_still_applies_when_the_document_holds_the_birth_date(registry, community):
    """A residence permit's birth date makes a 10-year-old too young to register."""
    young = gb("82000020150101002")
    with pytest.raises(volreg.RuleViolation, match="registration age"):
        registry.register_volunteer("小明", id_type="residence_permit", id_number=young,
                                    organisation=community, registered_on="2025-01-02")


def test_an_import_reads_document_types_and_people_without_documents(registry, community, tmp_path):
    """证件类型/证件号码 columns; an empty type with 身份证号 is a resident number; no number, no document."""
    path = tmp_path / "v.csv"
    path.write_text(
        "外部编号,姓名,证件类型,证件号码,签发国\n"
        "1,Alice Smith,护照,E12345678,AU\n"
        "2,陈大文,回乡证,H12345678,\n"
        "3,林小美,台胞证,87654321,\n"
        "4,王小明,,11010519491231002X,\n"
        "5,张伟,,,\n"
        "6,坏号码,港澳台居民居住证,11010519491231002X,\n",
        encoding="utf-8",
    )
    report = volreg.import_file(registry, path, kind="volunteers", mode="valid_rows")
    assert 5 == report.created
    [problem] = report.problems
    assert (7, "证件号码", mask_id_text("11010519491231002X")) == (problem.line, problem.column, problem.value)
    types = {v.name: registry.person(v.person).id_type for v in registry.volunteers()}
    assert {"Alice Smith": "passport", "陈大文": "hk_macao_permit", "林小美": "taiwan_permit",
            "王小明": "resident", "张伟": "none"} == types
    before = list(registry.db.conn.iterdump())
    again = volreg.import_file(registry, path, kind="volunteers", mode="valid_rows")
    assert (0, 0, 5) == (again.created, again.updated, again.skipped)
    assert before == list(registry.db.conn.iterdump())


def test_an_undocumented_namesake_without_external_id_is_a_problem(registry, community, tmp_path):
    """Without a document, number or external id, a row naming an undocumented volunteer is not merged and
    not added twice."""
    registry.register_volunteer("张伟", id_type="none", organisation=community, registered_on="2024-03-01")
    path = tmp_path / "v.csv"
    path.write_text("姓名\n张伟\n", encoding="utf-8")
    report = volreg.import_file(registry, path, kind="volunteers")
    [problem] = report.problems
    assert "never merged" in problem.message and "external id" in problem.message
    assert 1 == len(list(registry.volunteers()))


def test_the_people_kind(registry, tmp_path):
    """People who are not volunteers come in with their documents; a re-import changes nothing."""
    path = tmp_path / "people.csv"
    path.write_text("name,id_type,id_number,id_country,gender,birth_date\n"
                    "Bob Lee,passport,K1234567,SG,male,1970-02-03\n"
                    "李评审,,,,,\n", encoding="utf-8")
    report = volreg.import_file(registry, path, kind="people")
    assert (2, ()) == (report.created, report.problems)
    bob = registry.person_by_id_number("K1234567", id_type="passport", id_country="SG")
    assert bob is not None and (date(1970, 2, 3), "male") == (bob.birth_date, bob.gender)
    again = volreg.import_file(registry, path, kind="people", mode="valid_rows")
    assert 0 == again.created and 1 == len(again.problems)  # the undocumented 李评审 cannot be told apart


def test_a_bad_non_resident_number_is_masked_to_its_ends_in_a_problem(registry, tmp_path):
    """A wrong permanent-residence number shows only its first and last character in the report."""
    path = tmp_path / "v.csv"
    path.write_text("姓名,证件类型,证件号码\nBob,外国人永久居留身份证,USA31001234567X\n", encoding="utf-8")
    [problem] = volreg.import_file(registry, path, kind="volunteers").problems
    assert "U*************X" == problem.value
    assert "USA31001234567X" not in str(problem) and "3100123" not in str(problem)


def test_a_sign_in_sheet_names_volunteers_by_any_document(registry, community, make_activity, tmp_path):
    """Service rows find a volunteer by passport (type, number and country) as by resident number."""
    act = make_activity()
    alice = registry.register_volunteer("Alice", id_type="passport", id_number="E12345678", id_country="AU",
                                        organisation=community, registered_on="2023-01-01")
    path = tmp_path / "s.csv"
    path.write_text("证件类型,证件号码,签发国,活动编号,开始时间,结束时间\n"
                    f"护照,E12345678,AU,{act.id},2024-03-05 09:00,2024-03-05 10:00\n"
                    f"护照,E12345678,NZ,{act.id},2024-03-05 11:00,2024-03-05 12:00\n", encoding="utf-8")
    report = volreg.import_file(registry, path, kind="service_records", mode="valid_rows")
    assert 1 == report.created
    assert [3] == [p.line for p in report.problems]
    assert [alice.id] == [r.volunteer for r in registry.service_records()]
