"""China's working-day calendar: holidays, swapped working weekends and the fallback for unknown years."""

from __future__ import annotations

from datetime import date

import pytest

from volreg.workdays import add_working_days, calendar_known, is_working_day


@pytest.mark.parametrize(
    ("expected", "day"),
    [
        (True, date(2024, 9, 27)),  # an ordinary Friday
        (True, date(2024, 9, 29)),  # Sunday swapped into a working day for National Day
        (False, date(2024, 10, 1)),  # National Day
        (False, date(2024, 10, 7)),  # last day of the Golden Week holiday, a Monday
        (True, date(2024, 10, 12)),  # Saturday swapped into a working day
        (False, date(2024, 10, 13)),  # an ordinary Sunday
        (False, date(2024, 2, 12)),  # Spring Festival, a Monday
    ],
)
def test_is_working_day_follows_the_official_calendar(expected: bool, day: date) -> None:
    """Holidays are not working days; swapped weekends are."""
    assert expected == is_working_day(day)


def test_ten_working_days_after_national_day_eve() -> None:
    """Ten working days after Friday 2024-09-27 is 2024-10-16 (counting 9-29 and 10-12, skipping 10-1..7)."""
    assert date(2024, 10, 16) == add_working_days(date(2024, 9, 27), 10)


def test_zero_working_days_is_the_same_day() -> None:
    """Moving by zero working days stays on the day, even a holiday."""
    assert date(2024, 10, 1) == add_working_days(date(2024, 10, 1), 0)


def test_negative_count_is_refused() -> None:
    """A negative count is a programming error."""
    with pytest.raises(ValueError, match="'count' must be >= 0"):
        add_working_days(date(2024, 1, 1), -1)


def test_unknown_year_falls_back_to_monday_to_friday() -> None:
    """For a year the holiday library does not know, weekdays are working days and weekends are not."""
    assert calendar_known(date(2024, 5, 1)) is True
    assert calendar_known(date(2099, 1, 1)) is False
    assert is_working_day(date(2099, 1, 1)) is True  # a Thursday, though New Year's Day
    assert is_working_day(date(2099, 1, 3)) is False  # a Saturday
    assert date(2099, 1, 6) == add_working_days(date(2099, 1, 2), 2)
