"""Reading dates and times in the forms people write them."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from volreg import InvalidValue
from volreg.timeutil import (
    from_text,
    get_zone,
    minutes_between,
    parse_date,
    parse_datetime,
    to_text,
    to_utc_text,
)

SHANGHAI = get_zone("Asia/Shanghai")


@pytest.mark.parametrize(
    "text", ["2024-03-05", "2024/3/5", "2024.3.5", "2024年3月5日", " 2024年03月05日 "]
)
def test_date_forms(text: str) -> None:
    """Every accepted way of writing 5 March 2024 reads as that date."""
    assert date(2024, 3, 5) == parse_date(text)


@pytest.mark.parametrize(
    ("expected", "text"),
    [
        (datetime(2024, 3, 5, 9, 0), "2024-03-05 09:00"),
        (datetime(2024, 3, 5, 9, 30), "2024年3月5日 9:30"),
        (datetime(2024, 3, 5, 9, 30), "2024年3月5日9时30分"),
        (datetime(2024, 3, 5, 9, 0, 15), "2024-03-05T09:00:15"),
        (datetime(2024, 3, 5, 0, 0), "2024/3/5"),
    ],
)
def test_naive_times_are_in_the_home_zone(expected: datetime, text: str) -> None:
    """A naive time is read in the registry's zone."""
    assert expected.replace(tzinfo=SHANGHAI) == parse_datetime(text, SHANGHAI)


def test_an_offset_is_honoured() -> None:
    """ISO 8601 with an offset names an instant, shown in the home zone."""
    moment = parse_datetime("2024-03-05T01:00:00Z", SHANGHAI)
    assert (9, datetime(2024, 3, 5, 1, tzinfo=timezone.utc)) == (moment.hour, moment)


@pytest.mark.parametrize("text", ["2024-02-30", "yesterday", "2024-13-01", "", "5/3/2024"])
def test_unreadable_dates_are_refused(text: str) -> None:
    """A date that cannot be read names the field and the value."""
    with pytest.raises(InvalidValue, match="'start'"):
        parse_datetime(text, SHANGHAI, "start")


def test_a_nonexistent_local_time_is_refused() -> None:
    """02:30 on the spring-forward night does not exist in Berlin."""
    with pytest.raises(InvalidValue, match="exists"):
        parse_datetime("2024-03-31 02:30", get_zone("Europe/Berlin"), "start")


def test_minutes_across_dst_are_real_minutes() -> None:
    """01:49 → 03:15 on a spring-forward night is 26 minutes, not 86."""
    berlin = get_zone("Europe/Berlin")
    assert 26 == minutes_between(parse_datetime("2024-03-31 01:49", berlin), parse_datetime("2024-03-31 03:15", berlin))


@given(st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2060, 1, 1), timezones=st.just(timezone.utc)))
def test_stored_text_round_trips_to_the_same_instant(moment: datetime) -> None:
    """to_text → from_text gives back the same instant."""
    assert moment == from_text(to_text(moment, SHANGHAI), SHANGHAI)


def test_unknown_zone_is_refused() -> None:
    """A time zone that is not an IANA name is refused."""
    with pytest.raises(InvalidValue, match="'timezone'"):
        get_zone("Mars/Olympus")


def test_offset_shift() -> None:
    """A value with a +00:00 offset is eight hours later on the Shanghai clock."""
    moment = parse_datetime("2024-03-05T09:00:00+00:00", SHANGHAI)
    assert timedelta(hours=8) == moment.utcoffset()


def test_remembered_texts_tell_the_two_sides_of_a_fall_back_apart() -> None:
    """Formatted instants are remembered; two wall times that differ only in ``fold`` compare equal in Python
    but are an hour apart, and each keeps its own text (UTC and local)."""
    zone = get_zone("America/New_York")
    first = datetime(2026, 11, 1, 1, 30, tzinfo=zone)
    second = first.replace(fold=1)
    assert first == second  # Python's equality within one zone ignores fold
    for _ in range(2):  # the second round reads the remembered texts
        assert (to_utc_text(first), to_utc_text(second)) == ("2026-11-01T05:30:00.000000Z", "2026-11-01T06:30:00.000000Z")
        assert (to_text(first, zone), to_text(second, zone)) == ("2026-11-01T01:30:00-04:00", "2026-11-01T01:30:00-05:00")
    same_instant = datetime(2026, 11, 1, 5, 30, tzinfo=timezone.utc)
    assert (to_text(same_instant, zone), to_text(same_instant, timezone.utc)) == (
        "2026-11-01T01:30:00-04:00", "2026-11-01T05:30:00+00:00")
