"""Shared fixtures: a registry on an in-memory database and factories for the common entities."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from factories import make_id_number

import volreg

EXAMPLE_SCRIPT = Path(__file__).resolve().parent.parent / "examples" / "jiayuguan.py"


@pytest.fixture(scope="session")
def example_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """Run `python examples/jiayuguan.py DB` once per session: the file it built and what it printed."""
    import os
    import subprocess
    import sys

    path = tmp_path_factory.mktemp("example") / "jiayuguan.db"
    env = {k: v for k, v in os.environ.items() if k != "VOLREG_KEY"}
    done = subprocess.run([sys.executable, str(EXAMPLE_SCRIPT), str(path)], capture_output=True, text=True,
                          timeout=600, check=True, env=env)
    return path, done.stdout


@pytest.fixture
def example_db(example_build: tuple[Path, str], monkeypatch: pytest.MonkeyPatch) -> Path:
    """The Jiayuguan example registry file (opened with the key file beside it)."""
    monkeypatch.delenv("VOLREG_KEY", raising=False)
    return example_build[0]


@pytest.fixture
def example_output(example_build: tuple[Path, str]) -> str:
    """What the example script printed."""
    return example_build[1]


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--soak``: run the reliability tests at five times their size (also ``VOLREG_SOAK=1``)."""
    parser.addoption("--soak", action="store_true", default=False,
                     help="run the long variants of the reliability tests (also VOLREG_SOAK=1)")


def soaking(config: pytest.Config) -> bool:
    """Whether the long variants were asked for."""
    return bool(config.getoption("--soak")) or os.environ.get("VOLREG_SOAK", "") not in ("", "0")


@pytest.fixture(scope="session")
def writes(pytestconfig: pytest.Config) -> int:
    """Service records each concurrent writer logs: 2,000, or 10,000 with ``--soak``."""
    return 10_000 if soaking(pytestconfig) else 2_000


@pytest.fixture(scope="session")
def soak(pytestconfig: pytest.Config) -> bool:
    """True when the long variants of the reliability tests were asked for."""
    return soaking(pytestconfig)


@pytest.fixture
def registry() -> volreg.Registry:
    """A fresh registry on an in-memory database, in the default Asia/Shanghai zone."""
    reg = volreg.open(":memory:", key="test-key-16-bytes")
    yield reg
    reg.close()


@pytest.fixture
def city(registry: volreg.Registry) -> volreg.Organisation:
    """The city civilisation office at the root of the organisation tree."""
    return registry.add_organisation("嘉峪关市文明办", kind="city_office")


@pytest.fixture
def community(registry: volreg.Registry, city: volreg.Organisation) -> volreg.Organisation:
    """A community under the city office."""
    return registry.add_organisation("新华社区", kind="community", parent=city)


@pytest.fixture
def make_volunteer(registry: volreg.Registry, community: volreg.Organisation) -> Callable[..., volreg.Volunteer]:
    """Register a volunteer; keyword overrides go to ``register_volunteer``."""

    def make(name: str = "张三", **overrides: Any) -> volreg.Volunteer:
        overrides.setdefault("id_number", make_id_number())
        overrides.setdefault("organisation", community)
        overrides.setdefault("registered_on", "2023-01-01")
        return registry.register_volunteer(name, **overrides)

    return make


@pytest.fixture
def make_activity(registry: volreg.Registry, community: volreg.Organisation) -> Callable[..., volreg.Activity]:
    """Add a volunteer-service activity on 2024-03-05 09:00–17:00; keyword overrides go to ``add_activity``."""

    def make(title: str = "学雷锋志愿服务", **overrides: Any) -> volreg.Activity:
        overrides.setdefault("category", "敬老助老")
        overrides.setdefault("start", "2024-03-05 09:00")
        overrides.setdefault("end", "2024-03-05 17:00")
        overrides.setdefault("organiser", community)
        return registry.add_activity(title, **overrides)

    return make


DATA = Path(__file__).parent / "data"


def _csv_rows(name: str) -> list[list[str]]:
    with open(DATA / name, encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


@pytest.fixture
def data_file(tmp_path: Path) -> Callable[[str, str], Path]:
    """A fixture file from ``tests/data`` in a given form: ``csv`` (as stored), ``gb18030``, ``xlsx`` or ``jsonl``.

    The GB18030 and XLSX forms are made from the UTF-8 fixtures at test time, so the repository holds only
    readable text; blank lines stay blank in every form.
    """

    def make(name: str, form: str = "csv") -> Path:
        stem = Path(name).stem
        if form == "csv":
            return DATA / name
        if form == "gb18030":
            target = tmp_path / f"{stem}-gb.csv"
            target.write_bytes((DATA / name).read_text(encoding="utf-8-sig").encode("gb18030"))
            return target
        rows = _csv_rows(name)
        if form == "xlsx":
            from openpyxl import Workbook

            book = Workbook()
            sheet = book.active
            for row in rows:
                sheet.append([cell or None for cell in row] if row else [])
            target = tmp_path / f"{stem}.xlsx"
            book.save(target)
            return target
        if form == "jsonl":
            header, *body = rows
            lines = [
                json.dumps({h: c for h, c in zip(header, row, strict=True) if c}, ensure_ascii=False)
                if any(row) else ""
                for row in body
            ]
            target = tmp_path / f"{stem}.jsonl"
            target.write_text("\n".join(lines) + "\n", encoding="utf-8")
            return target
        raise ValueError(form)

    return make
