"""The Jiayuguan example: it runs, and it reproduces the figures of the city report.

The expected numbers are written here by hand (the example is seeded and deterministic); they are never
recomputed by the code under test.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import volreg

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
sys.path.insert(0, str(EXAMPLES))

import jiayuguan  # noqa: E402


@pytest.fixture(scope="module")
def figures(example_build: tuple[Path, str]) -> dict:
    """The figures of the example registry that `python examples/jiayuguan.py DB` built."""
    path = example_build[0]
    key = Path(str(path) + ".key").read_text().strip()
    with volreg.open(path, key=key) as registry:
        return jiayuguan.figures(registry)


def test_five_studios_ran_more_than_120_activities(figures: dict) -> None:
    """The five 好人品牌工作室 ran 122 activities in 2024."""
    assert [
        ("梅建国移风易俗工作室", 26),
        ("卢芳爱心公益工作室", 25),
        ("王秀兰健康义诊工作室", 24),
        ("张志强应急救援工作室", 23),
        ("李红梅环保公益工作室", 24),
    ] == figures["studio_activities"]
    assert 122 == sum(n for _, n in figures["studio_activities"])


def test_weekly_moral_lectures(figures: dict) -> None:
    """The weekly Friday 道德讲堂 series held 52 sessions in 2024."""
    assert 52 == figures["moral_lectures_2024"]


def test_lei_feng_day(figures: dict) -> None:
    """On 5 March every community ran one activity under one of four themes (plus the station's 春运 shift)."""
    assert [
        ("党的创新理论宣讲", 5, 25),
        ("关爱残疾人", 4, 20),
        ("平安建设", 4, 20),
        ("敬老助老", 5, 25),
        ("温馨春运·文明相伴", 1, 3),
    ] == [(r["theme"], r["activities"], r["participants"]) for r in figures["lei_feng_day"]]


def test_editions_held(figures: dict) -> None:
    """Six editions of the city's 道德模范 and five 雄关好人 release ceremonies."""
    assert [2012, 2014, 2016, 2018, 2020, 2023] == [year for _, year, _ in figures["editions"]["嘉峪关市道德模范"]]
    assert [1, 2, 3, 4, 5] == [number for number, _, _ in figures["editions"]["雄关好人"]]
    assert "第五期雄关好人发布仪式" == figures["editions"]["雄关好人"][4][2]


def test_good_youth(figures: dict) -> None:
    """25 city 好少年 in 2024; two became provincial 好少年; names without consent are masked."""
    youth = figures["good_youth_2024"]
    assert 25 == len(youth)
    assert ["余*轩", "夏雪兰"] == figures["good_youth_promoted"]
    assert 2 == sum(1 for _, promoted in youth if promoted == "新时代甘肃好少年")
    assert 9 == sum(1 for name, _ in youth if "*" in name)


def test_hours_by_community_and_month(figures: dict) -> None:
    """Verified minutes per community and month, exact."""
    cells = {(name, month): minutes for name, month, minutes in figures["community_month_hours"]}
    assert 18 * 12 == len(cells)
    assert (2520, 3960, 3780, 5940) == (
        cells["五一社区", "2024-01"],
        cells["五一社区", "2024-03"],
        cells["兰新社区", "2024-01"],
        cells["兰新社区", "2024-03"],
    )
    assert 768240 == sum(cells.values())
    assert 44820 == sum(m for (name, _), m in cells.items() if name == "兰新社区")


def test_top_ten_with_stars(figures: dict) -> None:
    """The ten volunteers with the most verified hours, ties in volunteer order, and their stars."""
    assert [
        ("V2021000078", "黄艳国", 312.0, 2),
        ("V2022000129", "曾强", 309.0, 2),
        ("V2022000169", "方桐桐", 309.0, 2),
        ("V2021000164", "熊涵", 303.0, 2),
        ("V2022000033", "吴霞", 303.0, 2),
        ("V2022000095", "刘志", 303.0, 2),
        ("V2022000119", "郭建", 303.0, 2),
        ("V2022000024", "石华娜", 300.0, 2),
        ("V2022000064", "戴晨", 300.0, 2),
        ("V2021000038", "罗萍", 297.0, 1),
    ] == figures["top_ten"]


def test_nomination_funnel(figures: dict) -> None:
    """The 我推荐我评议身边好人 round went through every stage."""
    assert {
        "nominations": 14,
        "submitted": 14,
        "verified": 11,
        "public_review": 11,
        "expert_review": 11,
        "publicity": 8,
        "awarded": 8,
        "not_selected": 3,
        "rejected": 2,
        "withdrawn": 1,
    } == dict(figures["funnel"])


def test_the_script_printed_the_report(example_db: Path, example_output: str) -> None:
    """`python examples/jiayuguan.py DB` printed the report and left the file with its key beside it."""
    assert "  total: 122" in example_output
    assert "submitted 14 → verified 11 → public_review 11 → expert_review 11 → publicity 8 → awarded 8" in example_output
    assert Path(str(example_db) + ".key").exists()


def test_a_second_run_into_the_same_file_is_refused(example_db: Path) -> None:
    """Building the example into a file that already holds a registry is refused, and changes nothing."""
    # The child imports volreg from this checkout, as the suite does, not whatever volreg is installed.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(EXAMPLES.parent),
                                                                     os.environ.get("PYTHONPATH")]))}
    again = subprocess.run([sys.executable, str(EXAMPLES / "jiayuguan.py"), str(example_db)],
                           capture_output=True, text=True, timeout=60, env=env)
    assert 1 == again.returncode and "already holds a registry" in again.stderr


def test_the_example_in_memory_prints_the_same_report(example_output: str) -> None:
    """Built in memory, the example reports exactly what it reported from the file."""
    registry = volreg.open(":memory:", key="example-test-key-16")
    jiayuguan.build(registry)
    assert example_output.strip() == jiayuguan.report(registry).strip()


def test_the_example_registry_passes_check(example_build: tuple[Path, str]) -> None:
    """volreg.check() finds nothing wrong in the example registry."""
    path = example_build[0]
    with volreg.open(path, key=Path(str(path) + ".key").read_text().strip()) as registry:
        assert [] == volreg.check(registry)
