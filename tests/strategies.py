"""Hypothesis strategies shared by the tests, and the small world they are drawn against."""

from __future__ import annotations

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
