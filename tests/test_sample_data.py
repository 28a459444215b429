"""The sample files of examples/data import from the command line in their order, as the README shows."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

import volreg
from volreg.cli import cli

DATA = Path(__file__).resolve().parent.parent / "examples" / "data"
MAPS = {
    "organisations": ["ID=external_id", "Organisation=name", "Parent ID=parent"],
    "volunteers": ["ID=external_id", "Full name=name", "Joined=registered_on", "Team=organisation"],
    "activities": ["ID=external_id", "Event=title", "From=start", "To=end"],
    "service_records": ["Volunteer ID=volunteer_number", "Event ID=activity", "Approved by=verifier"],
}


def test_the_sample_files_import_in_order(tmp_path, monkeypatch):
    """Organisations, volunteers, activities, then the sign-in sheet: its duplicate is the only problem,
    named with both lines, and the hours are exact."""
    monkeypatch.setenv("VOLREG_KEY", "sample")
    db = str(tmp_path / "city.db")
    runner = CliRunner()
    assert 0 == runner.invoke(cli, ["init", db]).exit_code
    files = sorted(DATA.glob("*.csv"))
    assert ["organisations", "volunteers", "activities", "service_records"] == [f.stem[2:] for f in files]
    reports = {}
    for path in files:
        kind = path.stem[2:]
        args = ["import", db, str(path), "--kind", kind, "--source", "county-platform", "--json",
                "--mode", "valid_rows", *(a for m in MAPS[kind] for a in ("--map", m))]
        if kind == "service_records":
            dry = runner.invoke(cli, [*args, "--set", "status=verified", "--dayfirst", "--dry-run"])
            assert json.loads(dry.output)["dry_run"]
            args += ["--set", "status=verified", "--dayfirst"]
        reports[kind] = json.loads(runner.invoke(cli, args).output)
    assert [3, 4, 2, 7] == [reports[k]["created"] for k in MAPS]
    [problem] = reports["service_records"]["problems"]
    assert 9 == problem["line"] and "repeats line 2" in problem["message"]
    registry = volreg.open(db)
    assert 990 == volreg.hours(registry)[0]["minutes"]
    registry.close()
