"""People, volunteers, organisations and studios: round trips and every refusal."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from factories import make_id_number
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import volreg


def dump(registry: volreg.Registry) -> list[str]:
    """The whole database as SQL text, to prove a refused write changed nothing."""
    return list(registry.db.iterdump())


def test_person_round_trip(registry: volreg.Registry) -> None:
    """A saved person loads back equal; birth date and gender come from the ID number."""
    person = registry.add_person("王小明", id_number="11010519491231002X", phone="13812345678", area="新华街道")
    assert person == registry.person(person.id)
    assert (date(1949, 12, 31), "female", "1****************X") == (
        person.birth_date,
        person.gender,
        person.id_masked,
    )


def test_person_repr_masks_the_phone(registry: volreg.Registry) -> None:
    """The repr shows the phone masked and no digest."""
    person = registry.add_person("王小明", phone="13812345678")
    assert "138****5678" in repr(person) and "13812345678" not in repr(person)


@given(
    name=st.text(st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5), min_size=2, max_size=4),
    born=st.dates(min_value=date(1930, 1, 1), max_value=date(2005, 12, 31)),
    consent=st.booleans(),
)
@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_person_round_trips(registry: volreg.Registry, name: str, born: date, consent: bool) -> None:
    """Save → load is the identity for any name, birth date and consent."""
    person = registry.add_person(name, id_number=make_id_number(f"{born:%Y%m%d}"), consent=consent)
    assert person == registry.person(person.id)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": "  "}, "name"),
        ({"name": ""}, "name"),
        ({"name": "王五", "id_number": "11010519491231002Y"}, "id_number"),
        ({"name": "王五", "id_number": "11010519491231002X", "birth_date": "1950-01-01"}, "birth_date"),
        ({"name": "王五", "id_number": "11010519491231002X", "gender": "male"}, "gender"),
        ({"name": "王五", "birth_date": "2024-02-30"}, "birth_date"),
        ({"name": "王五", "phone": "12345"}, "phone"),
    ],
)
def test_bad_people_are_refused_and_nothing_is_written(
    registry: volreg.Registry, kwargs: dict[str, str], field: str
) -> None:
    """Each bad value names its field, and the database is exactly as before."""
    before = dump(registry)
    with pytest.raises(volreg.InvalidValue, match=f"'{field}'"):
        registry.add_person(**kwargs)
    assert before == dump(registry)


def test_volunteer_round_trip(registry: volreg.Registry, community: volreg.Organisation) -> None:
    """A registration loads back equal, with a public number that is not the ID number."""
    volunteer = registry.register_volunteer(
        "赵六",
        id_number=make_id_number("19850505"),
        phone="13900001111",
        organisation=community,
        registered_on="2024年3月5日",
        skills=["急救"],
        categories=["敬老助老", "environment"],
    )
    assert volunteer == registry.volunteer(volunteer.id) == registry.volunteer(volunteer.number)
    assert ("V2024000001", ("elderly_care", "environment")) == (volunteer.number, volunteer.categories)


def test_registration_reuses_the_person(registry: volreg.Registry) -> None:
    """A nominee registered later as a volunteer is the same person."""
    number = make_id_number()
    person = registry.add_person("钱七", id_number=number)
    volunteer = registry.register_volunteer("钱七", id_number=number, registered_on="2024-01-01")
    assert person.id == volunteer.person


def test_a_second_registration_names_the_existing_volunteer(make_volunteer: Callable[..., volreg.Volunteer]) -> None:
    """Registering the same ID number twice is refused; the error names the volunteer, not the number."""
    number = make_id_number()
    first = make_volunteer(id_number=number)
    with pytest.raises(volreg.Duplicate) as caught:
        make_volunteer(id_number=number)
    assert first.id in str(caught.value) and number not in str(caught.value)


@pytest.mark.parametrize(
    ("born", "consent", "rule"),
    [("20120101", True, "min_age"), ("20080101", False, "guardian_consent")],
)
def test_age_limits(registry: volreg.Registry, born: str, consent: bool, rule: str) -> None:
    """Under 14 is refused; 14–17 needs a guardian's consent."""
    before = dump(registry)
    with pytest.raises(volreg.RuleViolation, match=rule):
        registry.register_volunteer(
            "孙八", id_number=make_id_number(born), registered_on="2024-06-01", guardian_consent=consent
        )
    assert before == dump(registry)


def test_a_minor_with_consent_registers(registry: volreg.Registry) -> None:
    """A 16-year-old with recorded guardian consent is registered."""
    volunteer = registry.register_volunteer(
        "周九", id_number=make_id_number("20080101"), registered_on="2024-06-01", guardian_consent=True
    )
    assert volunteer.guardian_consent


def test_age_limits_are_settings(registry: volreg.Registry) -> None:
    """A city that registers 16-year-olds on their own sets min_age=16."""
    registry.configure(min_age=16)
    assert registry.register_volunteer("吴十", id_number=make_id_number("20080101"), registered_on="2024-06-01")


def test_a_volunteer_number_may_not_be_an_id_number(registry: volreg.Registry) -> None:
    """The public number must never be an ID number (2015 information-system standard)."""
    with pytest.raises(volreg.InvalidValue, match="'number'"):
        registry.register_volunteer("郑一", id_number=make_id_number(), registered_on="2024-01-01", number=make_id_number())


def test_organisation_tree(registry: volreg.Registry, city: volreg.Organisation) -> None:
    """Subtree reads include every level below."""
    district = registry.add_organisation("镜铁区", kind="district", parent=city)
    street = registry.add_organisation("新华街道", kind="street", parent=district)
    community = registry.add_organisation("新华南社区", kind="community", parent=street)
    registry.add_organisation("长城区", kind="district", parent=city)
    assert {district.id, street.id, community.id} == {o.id for o in registry.organisations(under=district)}
    assert [street.id] == [o.id for o in registry.organisations(parent=district)]
    assert community == registry.organisation(community.id)


@pytest.mark.parametrize(
    ("kwargs", "error", "text"),
    [
        ({"name": " "}, volreg.InvalidValue, "'name'"),
        ({"name": "甲", "kind": "club"}, volreg.InvalidValue, "'kind'"),
        ({"name": "甲", "parent": "org-missing"}, volreg.NotFound, "no organisation with id 'org-missing'"),
    ],
)
def test_bad_organisations(registry: volreg.Registry, kwargs: dict[str, str], error: type, text: str) -> None:
    """A blank name, an unknown kind or an unknown parent is refused."""
    before = dump(registry)
    with pytest.raises(error, match=text):
        registry.add_organisation(**kwargs)
    assert before == dump(registry)


def test_studio_round_trip(registry: volreg.Registry, city: volreg.Organisation) -> None:
    """A studio keeps its founder, focus category and organisation."""
    founder = registry.add_person("梅建国", consent=True)
    studio = registry.add_studio(
        "梅建国移风易俗工作室", founder=founder, focus="移风易俗", organisation=city, established_on="2019-05-01"
    )
    assert studio == registry.studio(studio.id)
    assert "customs_reform" == studio.focus
    assert [studio] == list(registry.studios(organisation=city))


def test_not_found_reads(registry: volreg.Registry) -> None:
    """Single reads of a missing id raise NotFound, which is a LookupError."""
    with pytest.raises(LookupError, match="no volunteer with id 'V-012'"):
        registry.volunteer("V-012")


def test_volunteer_status(make_volunteer: Callable[..., volreg.Volunteer], registry: volreg.Registry) -> None:
    """Suspending a volunteer is journaled and filterable."""
    volunteer = make_volunteer()
    registry.set_volunteer_status(volunteer, "suspended", on="2024-05-01", note="长期未参加")
    assert [] == list(registry.volunteers(status="active"))
    assert "status" == registry.history(volunteer.id)[-1].action
