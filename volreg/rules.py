"""Hours-based award rules (:class:`AwardRule`) and the two rule sets volreg ships: ``STARS`` and ``PVSA``.

A rule is data: a counting window, age bands each with hour thresholds per level, an optional lifetime
threshold and a minimum age.  :func:`volreg.eligible` applies any rule; cities configure their own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

import attrs
from dateutil.relativedelta import relativedelta

from .errors import InvalidValue

__all__ = ["AgeBand", "AwardRule", "WINDOWS", "STARS", "PVSA"]

WINDOWS = ("rolling", "calendar_year", "lifetime")
"""How a rule counts hours: the last ``months`` months, the calendar year so far, or all time."""


def _month_day(text: Any) -> tuple[int, int] | None:
    match = re.fullmatch(r"(\d{2})-(\d{2})", text) if isinstance(text, str) else None
    if match is None:
        return None
    try:
        date(2000, int(match[1]), int(match[2]))  # a leap year, so 02-29 is allowed
    except ValueError:
        return None
    return int(match[1]), int(match[2])


def _str_tuple(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


def _band_tuple(values: Iterable[AgeBand]) -> tuple[AgeBand, ...]:
    return tuple(values)


def _hours_tuple(values: Any) -> tuple[float, ...]:
    return tuple(values)


def _check_thresholds(instance: Any, attribute: attrs.Attribute[Any], value: tuple[float, ...]) -> None:
    if not value or any(isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0 for v in value) or list(
        value
    ) != sorted(set(value)):
        raise InvalidValue(attribute.name, "must be increasing positive hours", value)


@attrs.frozen
class AgeBand:
    """The thresholds (hours, one per level, increasing) for people aged ``min_age`` to ``max_age``.

    Attributes:
        thresholds: hours needed for each of the rule's levels, lowest level first.
        min_age: youngest age in the band (inclusive), or None for no lower bound.
        max_age: oldest age in the band (inclusive), or None for no upper bound.
    """

    thresholds: tuple[float, ...] = attrs.field(converter=_hours_tuple, validator=_check_thresholds)
    min_age: int | None = None
    max_age: int | None = None

    def covers(self, age: int | None) -> bool:
        """Whether a person of ``age`` (None: unknown) falls in this band."""
        if age is None:
            return self.min_age is None and self.max_age is None
        return (self.min_age is None or age >= self.min_age) and (self.max_age is None or age <= self.max_age)


@attrs.frozen
class AwardRule:
    """An hours-based award: a counting window, age bands with thresholds per level, a lifetime threshold.

    Attributes:
        name: the award's name.
        levels: level names, lowest first (``bronze``, ``silver``, ``gold``).
        bands: age bands; each has one threshold per level. A person in no band is not eligible.
        window: ``rolling`` (the ``months`` months up to and including the day asked about),
            ``calendar_year`` (1 January to that day) or ``lifetime``.
        months: length of a rolling window.
        age_on: the day age is taken on: ``window_end`` (the day asked about), ``window_start``, or
            ``MM-DD`` (that day in the year of the day asked about, e.g. ``12-31``).
        lifetime: hours over all time for the top level ``lifetime_level``, or None.
        lifetime_level: the name of that level.
        min_age: people younger than this are not eligible.

    Raises:
        InvalidValue: no levels, repeated levels, a band without one threshold per level, an unknown
            window or ``age_on``, a non-positive ``months`` or ``lifetime``.
    """

    name: str
    levels: tuple[str, ...] = attrs.field(converter=_str_tuple)
    bands: tuple[AgeBand, ...] = attrs.field(converter=_band_tuple)
    window: str = "rolling"
    months: int = 12
    age_on: str = "window_end"
    lifetime: float | None = None
    lifetime_level: str = "lifetime"
    min_age: int | None = None

    def __attrs_post_init__(self) -> None:
        if not self.levels or len(set(self.levels)) != len(self.levels):
            raise InvalidValue("levels", "must name one or more distinct levels", self.levels)
        if not self.bands:
            raise InvalidValue("bands", "must hold at least one age band", self.bands)
        for band in self.bands:
            if len(band.thresholds) != len(self.levels):
                raise InvalidValue("bands", f"must give one threshold per level ({len(self.levels)})", band)
        if self.window not in WINDOWS:
            raise InvalidValue("window", f"must be one of {', '.join(WINDOWS)}", self.window)
        if isinstance(self.months, bool) or not isinstance(self.months, int) or self.months < 1:
            raise InvalidValue("months", "must be a positive whole number", self.months)
        if self.age_on not in ("window_end", "window_start") and _month_day(self.age_on) is None:
            raise InvalidValue("age_on", "must be 'window_end', 'window_start' or a day such as '12-31'", self.age_on)
        if self.lifetime is not None and (not isinstance(self.lifetime, (int, float)) or self.lifetime <= 0):
            raise InvalidValue("lifetime", "must be positive hours", self.lifetime)

    @property
    def all_levels(self) -> tuple[str, ...]:
        """Level names lowest first, the lifetime level last when there is one."""
        return self.levels + ((self.lifetime_level,) if self.lifetime is not None else ())

    def window_for(self, on: date) -> tuple[date | None, date]:
        """The counting window for the day ``on`` as a half-open range of local dates ``[start, end)``."""
        end = on + timedelta(days=1)
        if self.window == "lifetime":
            return None, end
        if self.window == "calendar_year":
            return date(on.year, 1, 1), end
        return end - relativedelta(months=self.months), end

    def age_day(self, on: date) -> date:
        """The day on which age is taken for the day ``on``."""
        if self.age_on == "window_end":
            return on
        if self.age_on == "window_start":
            return self.window_for(on)[0] or on
        month_day = _month_day(self.age_on)
        assert month_day is not None
        month, day = month_day
        try:
            return date(on.year, month, day)
        except ValueError:  # 02-29 in a common year
            return date(on.year, month, day - 1)

    def band_for(self, age: int | None) -> AgeBand | None:
        """The band that applies at ``age``, or None when the person is not eligible by age."""
        if self.min_age is not None and (age is None or age < self.min_age):
            return None
        return next((band for band in self.bands if band.covers(age)), None)


STARS = AwardRule(
    name="星级志愿者",
    levels=("star_1", "star_2", "star_3", "star_4", "star_5"),
    bands=(AgeBand((100, 300, 600, 1000, 1500)),),
    window="lifetime",
)
"""Star volunteers (星级志愿者): cumulative verified hours 100/300/600/1000/1500 (common national practice).

A registry's own thresholds (Beijing: 100/200/500/800/1000) are ``settings.star_thresholds``, which
:func:`volreg.star_levels` uses.
"""

PVSA = AwardRule(
    name="President's Volunteer Service Award",
    levels=("bronze", "silver", "gold"),
    bands=(
        AgeBand((26, 50, 75), min_age=5, max_age=10),
        AgeBand((50, 75, 100), min_age=11, max_age=15),
        AgeBand((100, 175, 250), min_age=16, max_age=25),
        AgeBand((100, 250, 500), min_age=26),
    ),
    window="rolling",
    months=12,
    age_on="window_end",
    lifetime=4000,
    lifetime_level="lifetime",
    min_age=5,
)
"""The US President's Volunteer Service Award (individuals): a 12-month window, four age bands, a lifetime
award at 4,000 hours. The family and group categories are not modelled (volreg has no family entity)."""
