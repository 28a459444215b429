"""Exporting a Result as CSV, JSON and XLSX: formulas neutralised, personal numbers masked, Chinese intact."""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from datetime import datetime, timezone

import pytest

import volreg
from volreg import Result
from volreg.queries.result import neutralise


@pytest.fixture
def result() -> Result:
    """Rows with a formula-like name, a negative number, a phone column and Chinese text."""
    return Result(
        ["volunteer_name", "minutes", "hours", "phone"],
        [
            {"volunteer_name": "=HYPERLINK(\"http://x\")", "minutes": 75, "hours": 1.25, "phone": "13893712345"},
            {"volunteer_name": "王小明", "minutes": -30, "hours": -0.5, "phone": None},
        ],
    )


@pytest.mark.parametrize(
    ("expected", "value"),
    [("'=1+1", "=1+1"), ("'+86", "+86"), ("'-x", "-x"), ("'@SUM(A1)", "@SUM(A1)"), ("'\tx", "\tx"),
     ("王小明", "王小明"), (-30, -30), (None, None)],
)
def test_neutralise(expected, value):
    """Only text that a spreadsheet would run as a formula gets a leading quote; numbers stay numbers."""
    assert expected == neutralise(value)


def test_csv_neutralises_and_masks(result):
    """The CSV has the header, neutralised formulas, masked phones and exact numbers."""
    out = io.StringIO()
    result.to_csv(out)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert ["volunteer_name", "minutes", "hours", "phone"] == rows[0]
    assert ["'=HYPERLINK(\"http://x\")", "75", "1.25", "138****2345"] == rows[1]
    assert ["王小明", "-30", "-0.5", ""] == rows[2]


def test_csv_for_excel_starts_with_a_bom(result, tmp_path):
    """excel=True writes the BOM Excel needs to read UTF-8 Chinese text, to a path or an open file."""
    path = tmp_path / "out.csv"
    result.to_csv(path, excel=True)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    handle = io.StringIO()
    result.to_csv(handle, excel=True)
    assert handle.getvalue().startswith("\ufeff")


def test_json_keeps_values_and_masks_phones(result):
    """JSON keeps numbers as numbers and Chinese as Chinese; the phone is masked."""
    rows = json.loads(result.to_json())
    assert {"volunteer_name": "王小明", "minutes": -30, "hours": -0.5, "phone": None} == rows[1]
    assert "138****2345" == rows[0]["phone"]


def test_xlsx_reads_back_neutralised_and_masked(result, tmp_path):
    """The workbook holds the same cells, formulas neutralised, even with a sheet name Excel would refuse."""
    from openpyxl import load_workbook

    path = tmp_path / "out.xlsx"
    Result(["at"], [{"at": datetime(2024, 3, 5, 1, 0, tzinfo=timezone.utc)}]).to_xlsx(tmp_path / "tz.xlsx")
    result.to_xlsx(path, sheet="2024/03 [hours]")
    sheet = load_workbook(path).worksheets[0]
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert ["volunteer_name", "minutes", "hours", "phone"] == values[0]
    assert ["'=HYPERLINK(\"http://x\")", 75, 1.25, "138****2345"] == values[1]
    assert "2024_03 _hours_" == sheet.title


def test_the_text_table_aligns_chinese_and_numbers(result):
    """Wide characters count double, numbers are right-aligned, so columns line up in a terminal."""
    lines = str(result).splitlines()
    assert lines[0].startswith("volunteer_name")
    assert 4 == len(lines)
    assert lines[3].startswith("王小明 ")

    def columns_to_end_of(line: str, text: str) -> int:
        head = line[: line.index(text) + len(text)]
        return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in head)

    assert columns_to_end_of(lines[2], "75") == columns_to_end_of(lines[3], "-30")


def test_unmask_keeps_phones_only_for_the_registry_holder(registry, tmp_path):
    """Masked by default; unmask=registry keeps the phone in clear in every export, never an ID number."""
    rows = [{"name": "王小明", "phone": "13893712345", "id_number": "620200198503120024"}]
    masked = volreg.Result(["name", "phone", "id_number"], rows)
    assert ("138****2345", "6****************4") == (masked[0]["phone"], masked[0]["id_number"])
    clear = volreg.Result(["name", "phone", "id_number"], rows, unmask=registry)
    clear.to_csv(tmp_path / "contacts.csv")
    text = (tmp_path / "contacts.csv").read_text(encoding="utf-8")
    assert "13893712345" in text and "620200198503120024" not in text
    assert "13893712345" == clear[:1][0]["phone"]


def test_unmask_requires_the_registry(registry):
    """Anything but the registry (a key string, True) is refused: masking stays the default."""
    with pytest.raises(volreg.InvalidValue, match="'unmask' must be the volreg.Registry"):
        volreg.Result(["phone"], [{"phone": "13893712345"}], unmask=True)
