"""China's official working days, for the rule that service is recorded within 10 working days.

Working days follow the State Council's yearly holiday arrangement, including the weekends that are
swapped into working days (调休), through the maintained ``chinesecalendar`` library rather than a
hand-written list.

That library only knows the years whose arrangement has been published (2004 to 2026 in version 1.11)
and raises ``NotImplementedError`` for any other year.  For such a year volreg falls back to Monday to
Friday: a record is then never refused for this reason (lateness is only a mark), the deadline is at
most a few days off around public holidays, and :func:`calendar_known` lets a caller say so in a report.
Upgrading ``chinesecalendar`` once the next year's arrangement is announced makes the marks exact.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import chinese_calendar

__all__ = ["is_working_day", "add_working_days", "calendar_known"]


def calendar_known(day: date) -> bool:
    """Whether the official holiday arrangement of ``day``'s year is known to the installed library."""
    try:
        chinese_calendar.is_workday(day)
    except NotImplementedError:
        return False
    return True


@lru_cache(maxsize=8192)
def is_working_day(day: date) -> bool:
    """Whether ``day`` is a working day in mainland China.

    Args:
        day: a calendar date.

    Returns:
        True on ordinary weekdays and swapped working weekends (调休); False on weekends and public
        holidays. For a year the holiday library does not know, Monday to Friday (see the module notes).
    """
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return day.weekday() < 5


@lru_cache(maxsize=4096)
def add_working_days(day: date, count: int) -> date:
    """The ``count``-th working day after ``day`` (``day`` itself is not counted).

    Args:
        day: the starting date, e.g. the day an activity ended.
        count: how many working days to move forward (0 gives ``day`` itself).

    Returns:
        The date of the ``count``-th working day after ``day``.

    Raises:
        ValueError: ``count`` is negative.
    """
    if count < 0:
        raise ValueError(f"'count' must be >= 0 (got {count})")
    current = day
    while count:
        current += timedelta(days=1)
        if is_working_day(current):
            count -= 1
    return current
