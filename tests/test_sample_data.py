"""The sample files of examples/data import from the command line in their order, as the README shows."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

import volreg
from volreg.cli import cli

DATA = Path(__file__).resolve().parent.parent / "examples" / "data"
ORDER = ("organisations", "volunteers", "activities", "service_records")


def test_the_sample_files_import_in_order(tmp_path, monkeypatch):
    """Organisations, volunteers, activities, then the sign-in sheet: its duplicate is the only problem,
    named with both lines, and the hours are exact."""
    monkeypatch.setenv("VOLREG_KEY", "sample-key-of-16-bytes")
    db = str(tmp_path / "city.db")
    runner = CliRunner()
    assert 0 == runner.invoke(cli, ["init", db]).exit_code
    reports = {}
    for kind in ORDER:
        args = ["import", db, str(DATA / f"{kind}.csv"), "--kind", kind, "--json", "--mode", "valid_rows"]
        if kind == "service_records":
            args += ["--map", "Approved by=verifier", "--set", "status=verified"]
            dry = json.loads(runner.invoke(cli, [*args, "--dry-run"]).output)
            assert (True, 7) == (dry["dry_run"], dry["created"])
        result = runner.invoke(cli, args)
        reports[kind] = json.loads(result.output)
        assert [] == reports[kind]["ignored_columns"]
    assert [3, 4, 2, 7] == [reports[k]["created"] for k in ORDER]
    [problem] = reports["service_records"]["problems"]
    assert 9 == problem["line"] and "repeats line 2" in problem["message"]
    registry = volreg.open(db)
    assert 990 == volreg.hours(registry)[0]["minutes"]
    assert {"verified"} == {r.status for r in registry.service_records()}
    registry.close()
