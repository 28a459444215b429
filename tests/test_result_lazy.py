"""A Result reads lazily when its plan streams: its first rows, slices, head, iteration and len agree with the
whole answer for every query function, and a result read on after the answer changed refuses to mix."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import ACTIVITY_DAYS, VOLUNTEERS, build_world, id_number

import volreg
from volreg.queries import result as result_module

PAGE = 2
"""A first page smaller than the answers below, so that every read past it is exercised."""


@pytest.fixture
def ledger(registry: volreg.Registry, monkeypatch: pytest.MonkeyPatch) -> volreg.Registry:
    """The strategies' world with verified and pending records for every volunteer, and a small first page."""
    monkeypatch.setattr(result_module, "PAGE", PAGE)
    volunteers, activities = build_world(registry)
    for n, volunteer in enumerate(volunteers):
        for a, day in enumerate(ACTIVITY_DAYS):
            record = registry.log_service(volunteer, activities[a], start=f"{day} {8 + n:02d}:00", minutes=20 + 7 * n + a)
            if (n + a) % 3:
                registry.verify_service(record, by="审核员")
    for n in range(4):  # volunteers without service: star levels list them last
        registry.register_volunteer(f"新人{n}", id_number=id_number(50 + n), registered_on="2023-01-01")
    for n in range(3):  # namesakes of registered volunteers: possible duplicates
        registry.register_volunteer(f"志愿者{n}", id_type="none", organisation=volunteers[n].organisation,
                                    registered_on="2023-01-01")
    for volunteer in volunteers[:3]:  # proofs in the register
        registry.issue_proof(volunteer, organisation=activities[0].organiser, start="2023-01-01", end="2025-01-01",
                             by="审核员", purpose="升学")
    return registry


def questions(registry: volreg.Registry) -> list[tuple[str, Callable[[], volreg.Result]]]:
    """Every query function, with the questions that take the streaming plans among them."""
    city = next(registry.organisations(kind="city_office"))
    year = {"start": "2024-01-01", "end": "2025-01-01"}
    out: list[tuple[str, Callable[[], volreg.Result]]] = [
        ("hours by volunteer", lambda: volreg.hours(registry, by="volunteer")),
        ("hours by volunteer in a year", lambda: volreg.hours(registry, by="volunteer", **year)),
        ("hours by volunteer and month", lambda: volreg.hours(registry, by=("volunteer", "month"))),
        ("hours by organisation and month", lambda: volreg.hours(registry, by=("organisation", "month"))),
        ("hours by studio and month", lambda: volreg.hours(registry, by=("studio", "month"))),
        ("hours of a subtree by month", lambda: volreg.hours(registry, by="month", organisation=city)),
        ("hours by day", lambda: volreg.hours(registry, by="day")),
        ("hours as of", lambda: volreg.hours(registry, by="volunteer", as_of="2030-01-01")),
        ("top volunteers", lambda: volreg.hours(registry, by="volunteer", top=2)),
        ("star levels", lambda: volreg.star_levels(registry)),
        ("star levels as of", lambda: volreg.star_levels(registry, as_of="2030-01-01")),
        ("eligible", lambda: volreg.eligible(registry, volreg.rules.STARS, on="2024-12-31")),
        ("activity counts", lambda: volreg.activity_counts(registry, by=("studio", "category"))),
        ("activity counts by month", lambda: volreg.activity_counts(registry, by="month")),
        ("nominations", lambda: volreg.nominations(registry, by="status")),
        ("honour roll", lambda: volreg.honour_roll(registry)),
        ("nomination funnel", lambda: volreg.nomination_funnel(registry)),
        ("possible duplicates", lambda: volreg.possible_duplicates(registry, min_score=0.0)),
        ("proof register", lambda: volreg.proof_register(registry)),
    ]
    return out


def test_first_rows_slices_and_iteration_equal_the_whole_answer(ledger: volreg.Registry) -> None:
    """For every query function, ``result[:k]``, ``head(k)``, ``result[i]``, iteration and ``len`` agree
    with the whole answer read at once, with and without the summaries."""
    for summaries in (True, False):
        ledger.session.summaries = summaries
        for name, ask in questions(ledger):
            whole = ask().to_dicts()
            for k in range(len(whole) + 2):
                assert whole[:k] == ask()[:k].to_dicts(), (name, k)
                assert whole[:k] == ask().head(k).to_dicts(), (name, k)
            for i in range(len(whole)):
                assert whole[i] == ask()[i], (name, i)
            assert len(whole) == len(ask()), name
            assert whole == [dict(row) for row in ask()], name
            assert whole == ask().to_dicts(), name
            result = ask()
            assert whole[:1] == result[:1].to_dicts() and whole == list(result), name  # read on after a slice
            assert ask() == ask(), name


def test_the_streaming_questions_read_lazily(ledger: volreg.Registry) -> None:
    """The questions whose plans read in output order hold only the first page until more is asked for."""
    for ask in (lambda: volreg.hours(ledger, by="volunteer"),
                lambda: volreg.hours(ledger, by="volunteer", start="2024-01-01", end="2025-01-01"),
                lambda: volreg.hours(ledger, by=("organisation", "month")),
                lambda: volreg.star_levels(ledger)):
        result = ask()
        assert PAGE == len(result._rows)
        total = len(result)
        assert PAGE == len(result._rows)  # counted in SQL, not read
        assert total == len(ask().tuples()) > PAGE


def test_the_streaming_plans_sort_nothing(ledger: volreg.Registry) -> None:
    """The lazy questions' plans read in output order: no temporary sort of the whole answer."""
    from volreg.store import summaries

    plans = [
        summaries.hours_sql(names=("volunteer",), statuses=("verified",), since="2024-01", until="2025-01",
                            volunteer=None, organisation=None, studio=None, others=False, top=None),
        summaries.hours_sql(names=("volunteer",), statuses=("verified",), since=None, until=None,
                            volunteer=None, organisation=None, studio=None, others=False, top=None),
        summaries.hours_sql(names=("organisation", "month"), statuses=("verified",), since=None, until=None,
                            volunteer=None, organisation=None, studio=None, others=False, top=None),
    ]
    for plan in plans:
        assert plan is not None and plan[2]
        steps = [row[-1] for row in ledger.db.execute("EXPLAIN QUERY PLAN " + plan[0], plan[1])]
        assert not [s for s in steps if "TEMP B-TREE" in s], steps
    sql, params = summaries.stars_sql([6000, 18000])
    steps = [row[-1] for row in ledger.db.execute("EXPLAIN QUERY PLAN " + sql, params)]
    # The minutes index holds ties in number order: nothing is sorted, not even a few rows at a time.
    assert not [s for s in steps if "TEMP B-TREE" in s], steps


def test_a_changed_answer_is_not_mixed_with_rows_already_read(ledger: volreg.Registry) -> None:
    """Reading on after a write that changes the first rows raises StaleResult; a write that leaves the
    answer as it was does not disturb the reading."""
    stars = volreg.star_levels(ledger)
    shown = stars[:PAGE].to_dicts()
    ledger.add_organisation("新组织", kind="team")  # not part of the answer
    assert shown == stars.to_dicts()[:PAGE]

    stars = volreg.star_levels(ledger)
    assert PAGE == len(stars._rows)
    newcomer = ledger.db.execute("SELECT v.id FROM volunteers v JOIN people p ON p.id = v.person "
                                 "WHERE p.name = '新人0'").fetchone()[0]
    activity = ledger.add_activity("加班", category="敬老助老", start="2024-06-01 08:00", end="2024-06-01 20:00",
                                   organiser=next(ledger.organisations(kind="city_office")))
    ledger.verify_service(ledger.log_service(newcomer, activity, start="2024-06-01 08:00", minutes=600), by="审核员")
    with pytest.raises(volreg.StaleResult, match=f"first {PAGE} rows"):
        list(stars)
    with pytest.raises(volreg.StaleResult):
        stars.to_csv(io.StringIO())
    assert newcomer == volreg.star_levels(ledger)[0]["volunteer"]


def _python_stars(rows: list[tuple[str, str, int]], thresholds: tuple[float, ...]) -> list[dict[str, Any]]:
    """The star levels as volreg computed them in Python before they moved into SQL."""
    limits = [round(h * 60) for h in thresholds]
    out = []
    for volunteer, name, minutes in rows:
        star = sum(1 for limit in limits if minutes >= limit)
        to_next = None if star == len(limits) else -(-(limits[star] - minutes) * 100 // 60) / 100
        out.append({"volunteer": volunteer, "volunteer_name": name, "hours": round(minutes / 60, 2), "star": star,
                    "to_next": to_next})
    out.sort(key=lambda r: -r["star"])
    return out


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(minutes=st.lists(st.integers(1, 6000), min_size=VOLUNTEERS, max_size=VOLUNTEERS),
       thresholds=st.lists(st.integers(1, 120), min_size=1, max_size=5, unique=True).map(lambda t: tuple(sorted(t))),
       fraction=st.sampled_from((0, 0.25, 0.5, 1 / 3)))
def test_stars_in_sql_equal_the_python_computation(minutes: list[int], thresholds: tuple[float, ...],
                                                    fraction: float) -> None:
    """Star levels, hours and hours to the next star from SQL (summaries and records alike) equal the Python
    computation they replace, for any totals and thresholds (fractions of hours included)."""
    thresholds = tuple(t + fraction for t in thresholds)
    with volreg.open(":memory:", key="test-key-16-bytes") as registry:
        volunteers, activities = build_world(registry)
        for volunteer, total in zip(volunteers, minutes, strict=True):
            left, slot = total, 0
            while left:
                day = ACTIVITY_DAYS[slot % len(ACTIVITY_DAYS)]
                chunk = min(left, 60)
                record = registry.log_service(volunteer, activities[slot % len(ACTIVITY_DAYS)],
                                              start=f"{day} {8 + slot // len(ACTIVITY_DAYS):02d}:00", minutes=chunk)
                registry.verify_service(record, by="审核员")
                left -= chunk
                slot += 1
                if slot >= 40:
                    break
        registry.register_volunteer("新人", id_number=id_number(50), registered_on="2023-01-01")
        rows = [(r[0], r[1], r[2]) for r in registry.db.execute(
            "SELECT v.id, p.name, coalesce(sum(r.minutes), 0) AS m FROM volunteers v JOIN people p ON p.id = v.person "
            "LEFT JOIN service_records r ON r.volunteer = v.id AND r.status = 'verified' GROUP BY v.id "
            "ORDER BY m DESC, v.number")]
        expected = _python_stars(rows, thresholds)
        assert expected == volreg.star_levels(registry, thresholds=thresholds).to_dicts()
        assert expected == volreg.star_levels(registry, thresholds=thresholds, as_of=date(2099, 1, 1)).to_dicts()
        registry.session.summaries = False
        assert expected == volreg.star_levels(registry, thresholds=thresholds).to_dicts()


def test_the_notebook_view_shows_the_first_rows_and_the_total(ledger: volreg.Registry,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The HTML table holds the first rows only, reading no more than those, and says how many there are."""
    monkeypatch.setattr(result_module, "HTML_ROWS", 2)
    stars = volreg.star_levels(ledger)
    page = stars._repr_html_()
    first = stars[:2].to_dicts()
    assert 2 == page.count("<tr><td>")
    assert all(f"<td>{row['volunteer']}</td>" in page for row in first)
    assert f"the first 2 of {len(stars.tuples())} rows" in page
    small = volreg.hours(ledger, by="studio")
    assert "the first" not in small[:2]._repr_html_()
