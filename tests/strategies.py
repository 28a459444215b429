"""Hypothesis strategies shared by the tests, and the small world they are drawn against."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from hypothesis import strategies as st

import volreg
from volreg.personal import _check_char

VOLUNTEERS = 3
"""Volunteers in :func:`build_world`."""

ACTIVITY_DAYS = ("2023-12-31", "2024-01-15", "2024-03-31", "2024-04-01", "2024-10-27")
"""One activity per day, 08:00–17:00, chosen to cross year, quarter and month boundaries."""

SLOTS = 8
"""Hourly slots per activity (08:00 … 15:00), so records in different slots never overlap."""


def id_number(n: int) -> str:
    """A valid fictional resident ID number, distinct for each ``n``."""
    body = f"62020019900101{n:03d}"
    return body + _check_char(body)


def build_world(registry: volreg.Registry) -> tuple[list[volreg.Volunteer], list[volreg.Activity]]:
    """Volunteers, activities over two organisations (one under the other), two studios and three categories."""
    city = registry.add_organisation("嘉峪关市文明办", kind="city_office")
    community = registry.add_organisation("新华社区", kind="community", parent=city)
    studio = registry.add_studio("卢芳爱心公益工作室", organisation=community)
    other_studio = registry.add_studio("梅建国移风易俗工作室", organisation=city)
    volunteers = [
        registry.register_volunteer(f"志愿者{n}", id_number=id_number(n), organisation=community,
                                    registered_on="2023-01-01")
        for n in range(VOLUNTEERS)
    ]
    categories = ("敬老助老", "环保公益", "education_aid")
    activities = [
        registry.add_activity(
            f"活动{n}", category=categories[n % 3], start=f"{day} 08:00", end=f"{day} 17:00",
            organiser=(city, community)[n % 2], studio=(studio, other_studio, None)[n % 3],
        )
        for n, day in enumerate(ACTIVITY_DAYS)
    ]
    return volunteers, activities


record_specs = st.lists(
    st.tuples(
        st.integers(0, VOLUNTEERS - 1),
        st.integers(0, len(ACTIVITY_DAYS) - 1),
        st.integers(0, SLOTS - 1),
        st.integers(1, 60),
        st.sampled_from(("verified", "pending", "rejected")),
    ),
    max_size=25,
    unique_by=lambda spec: (spec[0], spec[1], spec[2]),
)
"""Records as (volunteer, activity, slot, minutes, final status), at most one per volunteer, activity and slot."""

groupings = st.lists(
    st.sampled_from(("volunteer", "organisation", "studio", "activity", "category", "year", "quarter", "month", "day")),
    min_size=1,
    max_size=3,
    unique=True,
)
"""Any combination of one to three ``hours(by=...)`` dimensions."""


def log_specs(registry: volreg.Registry, volunteers: list[volreg.Volunteer], activities: list[volreg.Activity],
              specs: list[tuple[int, int, int, int, str]]) -> list[Any]:
    """Log each spec through the public API and bring it to its final status."""
    records = []
    for v, a, slot, minutes, status in specs:
        day = ACTIVITY_DAYS[a]
        record = registry.log_service(volunteers[v], activities[a], start=f"{day} {8 + slot:02d}:00", minutes=minutes)
        if status == "verified":
            record = registry.verify_service(record, by="审核员")
        elif status == "rejected":
            record = registry.reject_service(record, by="审核员", reason="test")
        records.append(record)
    return records


# -- hostile input ---------------------------------------------------------------------------------------

SQL_FRAGMENTS = (
    "'; DROP TABLE people; --",
    "\" OR 1=1 --",
    "1; DELETE FROM service_records",
    "') UNION SELECT id_digest FROM people --",
    "[journal]",
    "%",
    "_",
    "?",
    ":name",
)
"""Text that would change a query if it were ever formatted into SQL instead of bound."""

FAR_DATES = ("0001-01-01", "9999-12-31 23:59", "1-01-01", "2024-02-30", "2024-13-01", "1799-12-31",
             "9999-12-31T23:59:59+14:00", "0001-01-01T00:00-14:00", "2024-03-05 25:00", "-2024-01-01")
"""Dates and times at or beyond the ends of the calendar, or not dates at all."""


class _Hostile:
    """An object whose every conversion fails, like a badly written caller's own class."""

    def __str__(self) -> str:
        raise RuntimeError("no str")

    def __repr__(self) -> str:
        raise RuntimeError("no repr")


hostile_text = st.one_of(
    st.sampled_from(SQL_FRAGMENTS),
    st.sampled_from(FAR_DATES),
    st.text(alphabet=st.characters(max_codepoint=0x1F), max_size=5),   # control characters
    st.text(alphabet=st.characters(categories=("Cs",)), min_size=1, max_size=3),  # lone surrogates
    st.sampled_from(("", "   ", "\u202e反转", "\ufeff", "x" * 100_001, "王" * 5_000, "unknown-id", "per-0", "vol-0")),
    st.text(max_size=30),
)
"""Text a hostile or careless caller might pass: SQL, control characters, surrogates, empty and huge strings."""

hostile_values = st.one_of(
    hostile_text,
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from((float("nan"), float("inf"), float("-inf"), -0.0, 1e308)),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from((0, -1, -1440, 1441, 2**63, -(2**63) - 1, 10**30, True, False, None)),
    st.dates(), st.datetimes(),
    st.sampled_from((date(1, 1, 1), date(9999, 12, 31), datetime.min, datetime.max)),
    st.binary(max_size=8),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.builds(object), st.builds(_Hostile),
)
"""Any value of any type, chosen to break things: hostile text, NaN, infinities, huge and negative numbers,
dates at the ends of the calendar, bytes, containers and objects that cannot even be printed."""


def hostile_world(registry: volreg.Registry) -> dict[str, Any]:
    """A small registry with one of everything the public write methods act on, by name."""
    city = registry.add_organisation("市文明办", kind="city_office")
    com = registry.add_organisation("社区", kind="community", parent=city)
    studio = registry.add_studio("工作室", organisation=com)
    v = registry.register_volunteer("王", id_number=id_number(1), organisation=com, registered_on="2023-01-01")
    v2 = registry.register_volunteer("李", id_number=id_number(2), organisation=com, registered_on="2023-01-01")
    act = registry.add_activity("活动", category="敬老助老", start="2024-03-05 08:00", end="2024-03-05 17:00",
                                organiser=com, studio=studio)
    rec = registry.log_service(v, act, start="2024-03-05 09:00", minutes=30)
    person = registry.add_person("赵", birth_date="1980-01-01")
    reviewer = registry.add_person("专家")
    family = registry.add_family("赵家", members=[person])
    honour = registry.award("中国好人", person, category="助人为乐", period="2024-Q1", awarded_on="2024-03-01")
    nom = registry.nominate("中国好人", v.person, category="助人为乐", nominator=person, period="2024-Q1",
                            at="2024-03-01 09:00")
    registry.advance(nom, "verified", by="x", at="2024-03-02")
    registry.advance(nom, "public_review", by="x", at="2024-03-03", closes="2099-01-01")
    other = registry.add_person("钱", birth_date="1970-01-01")
    nom2 = registry.nominate("中国好人", other, category="助人为乐", nominator=v2.person, period="2024-Q2",
                             at="2024-04-01 09:00")
    return dict(city=city, com=com, studio=studio, v=v, v2=v2, act=act, rec=rec, person=person, reviewer=reviewer,
                family=family, honour=honour, nom=nom, nom2=nom2)


def hostile_calls(r: volreg.Registry, w: dict[str, Any]) -> dict[str, tuple[Any, tuple[Any, ...], dict[str, Any]]]:
    """Every public write method and query, with valid arguments to replace one at a time by a hostile value."""
    return {
        "add_organisation": (r.add_organisation, ("新",), dict(kind="team", parent=w["com"])),
        "add_person": (r.add_person, ("新",), dict(id_number=id_number(50), gender="male", birth_date="1990-01-01",
                                                   phone="13812345678", area="x", consent=True)),
        "update_person": (r.update_person, (w["person"],), dict(name="n", phone="13812345678", area="a",
                                                                consent=True)),
        "register_volunteer": (r.register_volunteer, ("新",), dict(
            id_number=id_number(51), phone="13812345678", organisation=w["com"], registered_on="2023-01-01",
            skills=["x"], categories=[], number="N1", area="a", guardian_consent=False)),
        "set_volunteer_status": (r.set_volunteer_status, (w["v2"], "suspended"), dict(on="2024-01-01", note="n")),
        "add_studio": (r.add_studio, ("s",), dict(founder=w["person"], focus="敬老助老", organisation=w["com"],
                                                  established_on="2020-01-01")),
        "add_activity": (r.add_activity, ("t",), dict(
            category="敬老助老", start="2024-01-01 08:00", end="2024-01-01 09:00", organiser=w["com"],
            kind="volunteer_service", studio=w["studio"], theme="t", location="l", content="c", leader="l",
            repeat="FREQ=DAILY;COUNT=2")),
        "log_service": (r.log_service, (w["v"], w["act"]), dict(
            start="2024-03-05 10:00", end="2024-03-05 11:00", by="x", source="organiser", note="n",
            recorded_at="2024-03-06")),
        "log_service_minutes": (r.log_service, (w["v"], w["act"]), dict(start="2024-03-05 12:00", minutes=30)),
        "verify_service": (r.verify_service, (w["rec"],), dict(by="审核")),
        "reject_service": (r.reject_service, (w["rec"],), dict(by="审核", reason="r")),
        "void_service": (r.void_service, (w["rec"],), dict(by="审核", reason="r")),
        "correct_service": (r.correct_service, (w["rec"],), dict(by="审核", reason="r", minutes=20)),
        "correct_service_times": (r.correct_service, (w["rec"],), dict(
            by="审核", reason="r", start="2024-03-05 13:00", end="2024-03-05 13:30")),
        "configure": (r.configure, (), dict(min_age=18, star_thresholds=(100, 200), number_prefix="V",
                                            late_after_working_days=10, max_occurrences=100, guardian_min_age=14)),
        "add_category": (r.add_category, ("newcode", "新类"), dict(vocabulary="activity")),
        "anonymise": (r.anonymise, (w["person"],), dict(note="n")),
        "add_family": (r.add_family, ("家",), dict(members=[w["reviewer"]], area="a", consent=True)),
        "add_family_member": (r.add_family_member, (w["family"], w["reviewer"]), dict(role="r")),
        "add_membership": (r.add_membership, (w["reviewer"], w["com"]), dict(role="r")),
        "award": (r.award, ("中国好人", w["reviewer"]), dict(category="助人为乐", period="2024-Q1",
                                                            awarded_on="2024-03-01", deed="d", grade="winner")),
        "promote": (r.promote, (w["honour"], "中国好人"), dict(awarded_on="2024-03-01")),
        "define_honour": (r.define_honour, ("city_x", "城市好人"), dict(
            level="city", recipient="person", cadence="annual", categories=None, age=(6, 18), once=True,
            counts_as=(), rubric={"a": 1}, publicity_days=7)),
        "update_honour": (r.update_honour, ("中国好人",), dict(publicity_days=5)),
        "add_edition": (r.add_edition, ("全国道德模范", 1), dict(year=2024, ceremony_on="2024-05-01", title="t")),
        "nominate": (r.nominate, ("中国好人", w["reviewer"]), dict(
            category="助人为乐", nominator=w["person"], deed="d", period="2024-Q1", at="2024-03-01")),
        "advance": (r.advance, (w["nom2"], "verified"), dict(by="x", note="n", at="2024-04-02")),
        "decide": (r.decide, (w["nom2"],), dict(awarded=True, by="x", on="2024-05-01", at="2024-05-01")),
        "endorse": (r.endorse, (w["nom"], "voter1"), dict(at="2024-03-04", comment="c")),
        "assign_reviewer": (r.assign_reviewer, (w["nom"], w["reviewer"]), dict(by="x", override=None,
                                                                               at="2024-03-04")),
        "score": (r.score, (w["nom"], w["reviewer"], 90), dict(by="x", at="2024-03-04")),
        # queries: every filter
        "hours": (volreg.hours, (r,), dict(
            by="volunteer", start="2024-01-01", end="2025-01-01", status="verified", volunteer=w["v"],
            organisation=w["com"], studio=w["studio"], activity=w["act"], category="敬老助老", top=3,
            as_of="2024-12-01")),
        "activity_counts": (volreg.activity_counts, (r,), dict(
            by="studio", start="2024-01-01", end="2025-01-01", studio=w["studio"], organisation=w["com"],
            category="敬老助老")),
        "nominations": (volreg.nominations, (r,), dict(
            by="category", honour="中国好人", level="national", category="助人为乐", status="submitted",
            year=2024, period="2024-Q1", edition=None)),
        "nomination_funnel": (volreg.nomination_funnel, (r,), dict(
            by="category", honour="中国好人", level="national", category="助人为乐", year=2024, period="2024-Q1")),
        "honour_roll": (volreg.honour_roll, (r,), dict(honour="中国好人", level="national", year=2024,
                                                       category="助人为乐", public=True, edition=None)),
        "star_levels": (volreg.star_levels, (r,), dict(thresholds=(1, 2), as_of="2024-12-01")),
        "eligible": (volreg.eligible, (r, volreg.rules.PVSA), dict(on="2024-12-31", as_of="2024-12-01")),
        "activities": (r.activities, (), dict(kind="volunteer_service", category="敬老助老", organiser=w["com"],
                                              studio=w["studio"], series="x", start="2024-01-01", end="2025-01-01")),
        "volunteers": (r.volunteers, (), dict(organisation=w["com"], status="active", person=w["person"])),
        "organisations": (r.organisations, (), dict(kind="team", parent=w["city"], under=w["city"])),
        "people": (r.people, (), dict(name="x", area="y")),
        "service_records": (r.service_records, (), dict(volunteer=w["v"], activity=w["act"], status="pending")),
        "history": (r.history, ("x",), {}),
        "nominations_of": (r.nominations_of, (w["person"],), dict(honour="中国好人", period="2024-Q1")),
        "duplicate_nominations": (r.duplicate_nominations, (), dict(honour="中国好人", period="2024-Q1")),
        "person_by_id_number": (r.person_by_id_number, (id_number(1),), {}),
    }
