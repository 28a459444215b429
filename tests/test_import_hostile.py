"""Hostile import files: mixed encodings, huge lines and workbooks, broken XML, an import stopped part-way."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

import volreg
from volreg.io import importer, readers
from volreg.io.kinds import OrganisationsHandler


def dump(registry: volreg.Registry) -> list[str]:
    return list(registry.db.conn.iterdump())


def test_one_gb18030_row_in_a_utf8_file_is_refused_not_garbled(registry, tmp_path):
    """A UTF-8 file with one GB18030 row is refused, naming that line; nothing is stored garbled."""
    path = tmp_path / "o.csv"
    path.write_bytes("名称\n志愿者甲队\n".encode() + "志愿者乙队\n".encode("gb18030") + "志愿者丙队\n".encode())
    before = dump(registry)
    report = volreg.import_file(registry, path, kind="organisations", mode="valid_rows")
    [problem] = report.problems
    assert 3 == problem.line and "mixes encodings" in problem.message and "lines 3 " in problem.message
    assert before == dump(registry)


def test_with_an_explicit_encoding_the_odd_row_is_its_own_problem(registry, tmp_path):
    """Told the file is UTF-8, the GB18030 line is a problem of that line and the others go in intact."""
    path = tmp_path / "o.csv"
    path.write_bytes("名称\n志愿者甲队\n".encode() + "志愿者乙队\n".encode("gb18030") + "志愿者丙队\n".encode())
    report = volreg.import_file(registry, path, kind="organisations", mode="valid_rows", encoding="utf-8")
    assert [3] == [p.line for p in report.problems]
    assert ["志愿者丙队", "志愿者甲队"] == sorted(o.name for o in registry.organisations())


def test_a_huge_line_is_a_problem_read_in_bounded_chunks(registry, tmp_path):
    """A CSV line and a JSON Lines line longer than the limit are skipped as problems of their lines."""
    big = "x" * (readers.LINE_LIMIT + 10)
    path = tmp_path / "o.csv"
    path.write_text(f"名称\n甲队\n{big}\n乙队\n", encoding="utf-8")
    report = volreg.import_file(registry, path, kind="organisations", mode="valid_rows")
    assert ([3], 2) == ([p.line for p in report.problems], report.created)
    lines = tmp_path / "o.jsonl"
    lines.write_text(f'{{"name": "丙队"}}\n{{"name": "{big}"}}\n{{"name": "丁队"}}\n', encoding="utf-8")
    report = volreg.import_file(registry, lines, kind="organisations", mode="valid_rows")
    assert ([2], 2) == ([p.line for p in report.problems], report.created)


def workbook(path: Path, rows: list[list[str]]) -> Path:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    book.save(path)
    return path


def test_a_workbook_with_too_large_shared_strings_is_refused_unopened(registry, tmp_path, monkeypatch):
    """The uncompressed size of the shared strings is checked before openpyxl loads them."""
    path = workbook(tmp_path / "o.xlsx", [["名称"], ["甲队" * 50]])
    with zipfile.ZipFile(path) as archive:
        has_shared = any(n.endswith("sharedStrings.xml") for n in archive.namelist())
    monkeypatch.setattr(readers, "SHARED_STRINGS_LIMIT", 10)
    monkeypatch.setattr(readers, "_NOT_SHEET_LIMIT", 10 if not has_shared else readers._NOT_SHEET_LIMIT)
    report = volreg.import_file(registry, path, kind="organisations")
    [problem] = report.problems
    assert "bytes" in problem.message and not report.written


def rewrite_sheet(path: Path, change) -> None:
    with zipfile.ZipFile(path) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    name = next(n for n in parts if n.startswith("xl/worksheets/sheet"))
    parts[name] = change(parts[name])
    with zipfile.ZipFile(path, "w") as archive:
        for part, data in parts.items():
            archive.writestr(part, data)


def test_broken_or_hostile_worksheet_xml_is_a_problem(registry, tmp_path):
    """A worksheet whose XML breaks off, or declares entities, gives a problem, never an exception."""
    path = workbook(tmp_path / "o.xlsx", [["名称"], ["甲队"], ["乙队"]])
    rewrite_sheet(path, lambda xml: xml[: len(xml) // 2])
    report = volreg.import_file(registry, path, kind="organisations")
    assert report.problems and not report.written
    laughs = workbook(tmp_path / "l.xlsx", [["名称"], ["甲队"]])
    rewrite_sheet(laughs, lambda xml: xml.replace(
        b"?>", b'?><!DOCTYPE w [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>', 1))
    report = volreg.import_file(registry, laughs, kind="organisations")
    assert report.rows <= 1 and all(isinstance(p.message, str) for p in report.problems)


class _Stopping(OrganisationsHandler):
    """Organisations, except that a row named STOP is a Ctrl-C in the middle of a batch."""

    kind = "stopping_organisations"

    def create(self, ctx, record):
        if record["name"] == "STOP":
            raise KeyboardInterrupt
        return super().create(ctx, record)


def test_an_interrupted_valid_rows_import_says_which_rows_were_committed(registry, tmp_path):
    """Ctrl-C in the third batch: the first two batches' good rows are in, named by line; nothing after."""
    importer.register_kind(_Stopping())
    try:
        path = tmp_path / "o.csv"
        path.write_text("名称,上级\n甲队,\n乙队,不存在\n丙队,\n丁队,\n戊队,\nSTOP,\n己队,\n", encoding="utf-8")
        with pytest.raises(volreg.ImportInterrupted) as caught:
            volreg.import_file(registry, path, kind="stopping_organisations", mode="valid_rows", batch_size=2)
    finally:
        importer.HANDLERS.pop("stopping_organisations", None)
    assert (2, 4, 5) == caught.value.committed_lines
    assert "KeyboardInterrupt" in str(caught.value) and "lines 2, 4–5" in str(caught.value)
    assert [3] == [p.line for p in caught.value.problems]
    assert ["丁队", "丙队", "甲队"] == sorted(o.name for o in registry.organisations())


def test_a_cell_over_the_size_limit_spoils_only_its_row(registry, tmp_path):
    """A 200 KB cell (over csv's field limit) is a problem of its line; the rows after it still go in."""
    path = tmp_path / "o.csv"
    path.write_text("名称\n甲队\n" + "x" * 200_000 + "\n乙队\n", encoding="utf-8")
    report = volreg.import_file(registry, path, kind="organisations", mode="valid_rows")
    assert [3] == [p.line for p in report.problems] and "field limit" in report.problems[0].message
    assert 2 == report.created


def test_a_cell_over_the_size_limit_is_refused_even_when_another_library_raised_csvs_limit(registry, tmp_path):
    """csv's field limit is process-wide: with it raised (as sqlite-utils' command line does), a 200 KB cell is
    still a problem of its own line and the rows after it still go in."""
    import csv
    import sys

    old = csv.field_size_limit(sys.maxsize)
    try:
        path = tmp_path / "o.csv"
        path.write_text("名称\n甲队\n" + "x" * 200_000 + "\n乙队\n", encoding="utf-8")
        report = volreg.import_file(registry, path, kind="organisations", mode="valid_rows")
    finally:
        csv.field_size_limit(old)
    assert [3] == [p.line for p in report.problems] and "field limit" in report.problems[0].message
    assert 2 == report.created
