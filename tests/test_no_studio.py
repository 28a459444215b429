"""The activities no studio ran: one group labelled （无工作室）, listed after every studio, in every answer."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from click.testing import CliRunner
from factories import make_id_number

import volreg
from volreg.cli import cli
from volreg.queries.sql import NO_STUDIO


@pytest.fixture
def scene(registry: volreg.Registry, city: volreg.Organisation, make_volunteer: Callable[..., volreg.Volunteer],
          make_activity: Callable[..., volreg.Activity]) -> dict[str, Any]:
    """Two studios and one activity without a studio, each with verified service; the no-studio one largest."""
    # Studio ids sort after and before the empty key alike: the order must not come from the id's text.
    a = registry.add_studio("卢芳爱心公益工作室", organisation=city)
    b = registry.add_studio("梅建国移风易俗工作室", organisation=city)
    volunteer = make_volunteer()
    for title, studio, day, minutes in (("助学", a, "2024-03-05", 60), ("宣讲", b, "2024-04-05", 30),
                                        ("学雷锋", None, "2024-03-06", 240)):
        activity = make_activity(title, studio=studio, start=f"{day} 09:00", end=f"{day} 17:00")
        record = registry.log_service(volunteer, activity, start=f"{day} 09:00", minutes=minutes, by="社区")
        registry.verify_service(record, by="审核员")
    return {"studios": sorted([a.id, b.id])}


@pytest.fixture(params=[True, False], ids=["summaries", "records"])
def either_path(request: pytest.FixtureRequest, registry) -> Iterator[None]:
    """Answer from the summary tables and from the records: both must agree on the label and the order."""
    registry.session.summaries = request.param
    yield
    registry.session.summaries = True


@pytest.mark.parametrize("query", [
    lambda r: volreg.hours(r, by="studio"),
    lambda r: volreg.hours(r, by="studio", start="2024-01-01", end="2025-01-01"),
    lambda r: volreg.hours(r, by="studio", start="2024-03-05 08:00"),
    lambda r: volreg.activity_counts(r, by="studio"),
    lambda r: volreg.activity_counts(r, by="studio", start="2024-01-01"),
], ids=["hours", "hours-whole-months", "hours-any-range", "activities", "activities-filtered"])
def test_the_no_studio_group_is_labelled_and_last(registry, scene, either_path, query) -> None:
    """Studios in id order, then the no-studio group with its label (never a blank row that reads as a total)."""
    result = query(registry)
    assert [*scene["studios"], None] == [r["studio"] for r in result]
    assert NO_STUDIO == result[-1]["studio_name"] == "（无工作室）"
    assert NO_STUDIO not in [r["studio_name"] for r in result[:-1]]


def test_with_a_second_dimension_the_no_studio_groups_come_last(registry, scene, either_path) -> None:
    """Grouped by studio and month (or category), the no-studio rows still follow every studio's."""
    for result in (volreg.hours(registry, by=("studio", "month")),
                   volreg.activity_counts(registry, by=("studio", "category"))):
        studios = [r["studio"] for r in result]
        assert None not in studios[:-1] and studios[-1] is None
        assert NO_STUDIO == result[-1]["studio_name"]


def test_the_command_line_prints_the_label_last(tmp_path, monkeypatch) -> None:
    """`volreg hours --by studio` and `volreg activities --by studio` end with the labelled row."""
    monkeypatch.delenv("VOLREG_KEY", raising=False)
    path = tmp_path / "city.db"
    with volreg.open(path) as registry:
        city = registry.add_organisation("嘉峪关市文明办", kind="city_office")
        studio = registry.add_studio("卢芳爱心公益工作室", organisation=city)
        volunteer = registry.register_volunteer("王小明", id_number=make_id_number(), organisation=city,
                                                registered_on="2024-01-02")
        for title, with_studio, day in (("助学", studio, "2024-03-05"), ("学雷锋", None, "2024-03-06")):
            activity = registry.add_activity(title, category="敬老助老", organiser=city, studio=with_studio,
                                             start=f"{day} 09:00", end=f"{day} 12:00")
            record = registry.log_service(volunteer, activity, start=f"{day} 09:00", minutes=60, by="社区")
            registry.verify_service(record, by="审核员")
    runner = CliRunner()
    for command in ("hours", "activities"):
        result = runner.invoke(cli, [command, str(path), "--by", "studio"])
        assert 0 == result.exit_code, result.output
        lines = result.output.splitlines()
        assert lines[-1].split()[0] == NO_STUDIO
