"""Rewards: star levels, the AwardRule engine, and the shipped STARS and PVSA rule sets."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from conftest import make_id_number

import volreg
from volreg import AgeBand, AwardRule, InvalidValue
from volreg.rules import PVSA, STARS


@pytest.fixture
def long_activity(make_activity: Callable[..., volreg.Activity]) -> volreg.Activity:
    """A volunteer-service activity running from 2022 to the end of 2024, to hold many long records."""
    return make_activity("长期志愿服务", start="2022-01-01 00:00", end="2024-12-31 23:00")


@pytest.fixture
def serve(registry: volreg.Registry, long_activity: volreg.Activity) -> Callable[..., None]:
    """Log and verify ``minutes`` of service for a volunteer from a day on, in back-to-back 24 h records."""

    def run(volunteer: volreg.Volunteer, minutes: int, since: str = "2024-01-01") -> None:
        moment = datetime.fromisoformat(since)
        while minutes > 0:
            chunk = min(minutes, 1440)
            record = registry.log_service(volunteer, long_activity, start=moment, minutes=chunk)
            registry.verify_service(record, by="审核员")
            moment += timedelta(minutes=chunk)
            minutes -= chunk

    return run


@pytest.fixture
def born(make_volunteer: Callable[..., volreg.Volunteer], registry: volreg.Registry) -> Callable[..., volreg.Volunteer]:
    """Register a volunteer born on a given date (minors with a guardian's consent), registered 2022-01-01."""
    registry.configure(guardian_min_age=2)

    def make(name: str, birth: str) -> volreg.Volunteer:
        return make_volunteer(name, id_number=make_id_number(birth=birth.replace("-", "")),
                              registered_on="2022-01-01", guardian_consent=True)

    return make


def by_name(result: volreg.Result) -> dict[str, dict[str, Any]]:
    """Rows keyed by volunteer name."""
    return {row["volunteer_name"]: dict(row) for row in result}


def test_star_levels_with_default_thresholds(registry: volreg.Registry, make_volunteer: Callable[..., Any],
                                             serve: Callable[..., None]) -> None:
    """Exactly 100 h is one star; one minute short is none (0.02 h to go); 1500 h is five stars."""
    exact, short, idle, top = (make_volunteer(n, registered_on="2022-01-01") for n in ("满百", "差一分", "未服务", "五星"))
    serve(exact, 6000)
    serve(short, 5999)
    serve(top, 90_000, since="2022-01-01")
    result = volreg.star_levels(registry)
    assert ("volunteer", "volunteer_name", "hours", "star", "to_next") == result.columns
    assert ["五星", "满百", "差一分", "未服务"] == result.column("volunteer_name")
    rows = by_name(result)
    assert (1, 100.0, 200.0) == (rows["满百"]["star"], rows["满百"]["hours"], rows["满百"]["to_next"])
    assert (0, 99.98, 0.02) == (rows["差一分"]["star"], rows["差一分"]["hours"], rows["差一分"]["to_next"])
    assert (0, 0.0, 100.0) == (rows["未服务"]["star"], rows["未服务"]["hours"], rows["未服务"]["to_next"])
    assert (5, 1500.0, None) == (rows["五星"]["star"], rows["五星"]["hours"], rows["五星"]["to_next"])
    assert exact.id == rows["满百"]["volunteer"]


def test_star_levels_with_beijing_thresholds(registry: volreg.Registry, make_volunteer: Callable[..., Any],
                                             serve: Callable[..., None]) -> None:
    """200 h is one star nationally but two in Beijing, by argument or by the registry's settings."""
    vol = make_volunteer(registered_on="2022-01-01")
    serve(vol, 200 * 60)
    assert (1, 100.0) == (volreg.star_levels(registry)[0]["star"], volreg.star_levels(registry)[0]["to_next"])
    beijing = volreg.star_levels(registry, thresholds=(100, 200, 500, 800, 1000))[0]
    assert (2, 300.0) == (beijing["star"], beijing["to_next"])
    registry.configure(star_thresholds=(100, 200, 500, 800, 1000))
    assert 2 == volreg.star_levels(registry)[0]["star"]
    with pytest.raises(InvalidValue, match="'thresholds' must be increasing positive hours"):
        volreg.star_levels(registry, thresholds=(300, 100))


def test_star_levels_as_of(registry: volreg.Registry, make_volunteer: Callable[..., Any],
                           serve: Callable[..., None]) -> None:
    """Before anything was verified, everyone had zero hours; volunteers registered later are not listed."""
    vol = make_volunteer(registered_on="2022-01-01")
    serve(vol, 6000)
    assert [(vol.id, 0, 0.0)] == [
        (r["volunteer"], r["star"], r["hours"]) for r in volreg.star_levels(registry, as_of="2023-06-01")
    ]
    assert [] == list(volreg.star_levels(registry, as_of="2021-06-01"))


def test_pvsa_age_bands_window_and_lifetime(registry: volreg.Registry, born: Callable[..., Any],
                                            serve: Callable[..., None]) -> None:
    """PVSA: thresholds by age band on the window's last day, 12 months counted, lifetime at 4,000 h."""
    kid = born("小明", "2016-06-01")  # 8 on 2024-12-31: 26/50/75
    adult = born("老李", "1984-03-01")  # 40: 100/250/500
    old_hours = born("老王", "1980-01-01")  # hours only from 2023, outside the window
    toddler = born("宝宝", "2020-01-01")  # 4: below PVSA's minimum age 5
    veteran = born("老张", "1960-01-01")  # 4,000 h over all time
    serve(kid, 30 * 60)
    serve(adult, 30 * 60)
    serve(old_hours, 600 * 60, since="2023-01-01")
    serve(toddler, 60)
    serve(veteran, 4000 * 60, since="2022-01-01")
    result = volreg.eligible(registry, PVSA, on="2024-12-31")
    assert ("volunteer", "volunteer_name", "level", "hours", "shortfall", "lifetime_hours") == result.columns
    rows = by_name(result)
    assert "宝宝" not in rows
    assert ("bronze", 30.0, 20.0) == (rows["小明"]["level"], rows["小明"]["hours"], rows["小明"]["shortfall"])
    assert (None, 30.0, 70.0) == (rows["老李"]["level"], rows["老李"]["hours"], rows["老李"]["shortfall"])
    assert (None, 0.0, 100.0, 600.0) == (
        rows["老王"]["level"], rows["老王"]["hours"], rows["老王"]["shortfall"], rows["老王"]["lifetime_hours"]
    )
    assert ("lifetime", None, 4000.0) == (
        rows["老张"]["level"], rows["老张"]["shortfall"], rows["老张"]["lifetime_hours"]
    )
    assert ["老张", "小明"] == result.column("volunteer_name")[:2]
    # A year earlier the 2023 hours were in the window: 600 h is gold for an adult, then 3,400 h to lifetime.
    earlier = by_name(volreg.eligible(registry, PVSA, on="2023-12-31"))
    assert ("gold", 600.0, 3400.0) == (
        earlier["老王"]["level"], earlier["老王"]["hours"], earlier["老王"]["shortfall"]
    )


def test_age_band_boundary_uses_the_stated_day(registry: volreg.Registry, born: Callable[..., Any],
                                               serve: Callable[..., None]) -> None:
    """Someone turning 11 on 2024-12-31 is in the teen band (50 h for bronze) on that day, a kid the day before."""
    vol = born("小红", "2013-12-31")
    serve(vol, 30 * 60)
    assert 20.0 == volreg.eligible(registry, PVSA, on="2024-12-31")[0]["shortfall"]
    assert "bronze" == volreg.eligible(registry, PVSA, on="2024-12-30")[0]["level"]


def test_stars_rule_agrees_with_star_levels(registry: volreg.Registry, make_volunteer: Callable[..., Any],
                                            serve: Callable[..., None]) -> None:
    """The STARS rule set gives the same levels as star_levels with the default thresholds."""
    for n, hours in enumerate((0, 150, 320, 1000)):
        serve(make_volunteer(f"志愿者{n}", registered_on="2022-01-01"), hours * 60, since="2022-01-01")
    stars = {r["volunteer"]: r["star"] for r in volreg.star_levels(registry)}
    rule = {r["volunteer"]: r["level"] for r in volreg.eligible(registry, STARS, on="2024-12-31")}
    assert {v: (None if s == 0 else f"star_{s}") for v, s in stars.items()} == rule


def test_calendar_year_rule(registry: volreg.Registry, make_volunteer: Callable[..., Any],
                            serve: Callable[..., None]) -> None:
    """A city's own rule: calendar-year hours, two levels, from age 14; no lifetime column."""
    rule = AwardRule("雄关志愿之星", levels=("silver", "gold"), bands=(AgeBand((50, 100), min_age=14),),
                     window="calendar_year")
    vol = make_volunteer(registered_on="2022-01-01")
    serve(vol, 120 * 60, since="2023-12-28")  # 96 h in 2023, 24 h on 2024-01-01
    result = volreg.eligible(registry, rule, on="2024-06-30")
    assert ("volunteer", "volunteer_name", "level", "hours", "shortfall") == result.columns
    assert (None, 24.0, 26.0) == (result[0]["level"], result[0]["hours"], result[0]["shortfall"])
    in_2023 = volreg.eligible(registry, rule, on="2023-12-31")[0]
    assert ("silver", 96.0, 4.0) == (in_2023["level"], in_2023["hours"], in_2023["shortfall"])


@pytest.mark.parametrize(
    ("match", "kwargs"),
    [
        ("'levels' must name one or more distinct levels", {"levels": ()}),
        ("'levels' must name one or more distinct levels", {"levels": ("a", "a")}),
        ("'bands' must give one threshold per level", {"bands": (AgeBand((1,)),)}),
        ("'bands' must hold at least one age band", {"bands": ()}),
        ("'window' must be one of", {"window": "fortnight"}),
        ("'months' must be a positive whole number", {"months": 0}),
        ("'age_on' must be", {"age_on": "13-01"}),
        ("'lifetime' must be positive hours", {"lifetime": -1}),
    ],
)
def test_award_rule_validation(match: str, kwargs: dict[str, Any]) -> None:
    """A malformed rule is refused when it is built, naming the field."""
    spec: dict[str, Any] = {"levels": ("a", "b"), "bands": (AgeBand((10, 20)),)}
    spec.update(kwargs)
    with pytest.raises(InvalidValue, match=match):
        AwardRule("x", **spec)


def test_age_band_thresholds_must_increase() -> None:
    """Thresholds out of order are refused."""
    with pytest.raises(InvalidValue, match="'thresholds' must be increasing positive hours"):
        AgeBand((50, 26))


def test_eligible_needs_a_rule(registry: volreg.Registry) -> None:
    """Passing something else than an AwardRule is named."""
    with pytest.raises(InvalidValue, match="'rule' must be a volreg.AwardRule"):
        volreg.eligible(registry, {"levels": ()}, on="2024-12-31")  # type: ignore[arg-type]
