"""Activities and recurring series."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest

import volreg
from volreg.timeutil import get_zone


def dump(registry: volreg.Registry) -> list[str]:
    """The whole database as SQL text."""
    return list(registry.db.iterdump())


def test_activity_round_trip(make_activity: Callable[..., volreg.Activity], registry: volreg.Registry) -> None:
    """An activity loads back equal, category given by label stored as its code."""
    activity = make_activity(theme="学雷锋纪念日", location="新华社区服务站", content="为老人理发", leader="李队长")
    assert activity == registry.activity(activity.id)
    assert ("elderly_care", 480) == (activity.category, activity.minutes)


def test_a_weekly_rule_expands_into_linked_occurrences(registry: volreg.Registry, community: volreg.Organisation) -> None:
    """RRULE:FREQ=WEEKLY;BYDAY=SA;COUNT=8 makes eight Saturday sessions in one series."""
    first = registry.add_activity(
        "道德讲堂",
        kind="moral_lecture",
        category="道德教育",
        start="2024-03-02 19:00",
        end="2024-03-02 20:30",
        organiser=community,
        repeat="RRULE:FREQ=WEEKLY;BYDAY=SA;COUNT=8",
    )
    sessions = list(registry.activities(series=first.series))
    assert 8 == len(sessions)
    assert [s.occurrence for s in sessions] == list(range(1, 9))
    assert all(s.start.weekday() == 5 and s.start.hour == 19 and s.minutes == 90 for s in sessions)
    assert first == sessions[0]


def test_a_series_keeps_wall_clock_time_across_dst() -> None:
    """A weekly 19:00 session in Berlin stays at 19:00 after the clocks change."""
    reg = volreg.open(":memory:", timezone="Europe/Berlin", key="test-key-k-16byte")
    org = reg.add_organisation("Verein", kind="association")
    first = reg.add_activity(
        "Kurs", category="other", start="2024-03-23 19:00", end="2024-03-23 20:00", organiser=org,
        repeat="FREQ=WEEKLY;COUNT=2",
    )
    second = list(reg.activities(series=first.series))[1]
    assert datetime(2024, 3, 30, 19, 0, tzinfo=get_zone("Europe/Berlin")) == second.start
    assert 19 == second.start.hour and 60 == second.minutes


@pytest.mark.parametrize(
    ("overrides", "error", "text"),
    [
        ({"title": " "}, volreg.InvalidValue, "'title'"),
        ({"category": "放风筝"}, volreg.InvalidValue, "'category'"),
        ({"kind": "party"}, volreg.InvalidValue, "'kind'"),
        ({"end": "2024-03-05 08:00"}, volreg.InvalidValue, "'end' must be after 'start'"),
        ({"start": "2024年13月5日"}, volreg.InvalidValue, "'start'"),
        ({"organiser": "org-none"}, volreg.NotFound, "organisation"),
        ({"studio": "stu-none"}, volreg.NotFound, "studio"),
        ({"repeat": "FREQ=WEEKLY"}, volreg.InvalidValue, "bounded"),
        ({"repeat": "FREQ=DAILY;COUNT=100000"}, volreg.InvalidValue, "at most 520"),
        ({"repeat": "FREQ=SOMETIMES;COUNT=2"}, volreg.InvalidValue, "'repeat'"),
    ],
)
def test_bad_activities_are_refused_and_nothing_is_written(
    make_activity: Callable[..., volreg.Activity], registry: volreg.Registry,
    overrides: dict[str, str], error: type, text: str,
) -> None:
    """Each bad input names its field and rule; the database is exactly as before."""
    before = dump(registry)
    with pytest.raises(error, match=text):
        make_activity(**overrides)
    assert before == dump(registry)


def test_the_recurrence_cap_is_a_setting(make_activity: Callable[..., volreg.Activity], registry: volreg.Registry) -> None:
    """A registry can lower the cap on occurrences."""
    registry.configure(max_occurrences=4)
    with pytest.raises(volreg.InvalidValue, match="at most 4"):
        make_activity(repeat="FREQ=DAILY;COUNT=5")


def test_activity_filters(make_activity: Callable[..., volreg.Activity], registry: volreg.Registry,
                          city: volreg.Organisation) -> None:
    """Activities filter by organiser subtree, kind, category and start range."""
    march = make_activity()
    april = make_activity(start="2024-04-01 09:00", end="2024-04-01 10:00", category="环保公益")
    assert [march, april] == list(registry.activities(organiser=city))
    assert [april] == list(registry.activities(category="environment"))
    assert [march] == list(registry.activities(start="2024-03-01", end="2024-04-01"))
