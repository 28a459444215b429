"""Streaming rows from CSV, XLSX and JSON Lines, and recognising Chinese and English headers."""

from __future__ import annotations

import pytest

from volreg.io.headers import normalise_header, resolve_headers
from volreg.io.readers import TableReader, detect_encoding

TEXT = "姓名,手机\n王小明,13893712345\n"


@pytest.mark.parametrize(
    ("expected", "data"),
    [
        ("utf-8", TEXT.encode("utf-8")),
        ("utf-8-sig", b"\xef\xbb\xbf" + TEXT.encode("utf-8")),
        ("gb18030", TEXT.encode("gb18030")),
    ],
)
def test_the_encoding_is_detected(tmp_path, expected, data):
    """UTF-8, UTF-8 with BOM and GB18030 (Chinese Excel's CSV) are told apart, and all read the same."""
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    assert expected == detect_encoding(path)
    assert [{"姓名": "王小明", "手机": "13893712345"}] == [row.cells for row in TableReader(path)]


def test_blank_lines_are_skipped_and_lines_are_counted(tmp_path):
    """A row's line is where it starts in the file, blank lines and quoted line breaks included."""
    path = tmp_path / "f.csv"
    path.write_text('\n名称,说明\n\n甲,"两\n行"\n,\n乙,\n', encoding="utf-8")
    reader = TableReader(path)
    assert [(4, "甲"), (7, "乙")] == [(row.line, row.cells["名称"]) for row in reader]
    assert 2 == reader.header_line


def test_rows_stream_without_reading_the_whole_file(tmp_path):
    """The first row arrives while most of a large file is still unread."""
    path = tmp_path / "big.csv"
    path.write_text("名称\n" + "".join(f"第{n}队\n" for n in range(50_000)), encoding="utf-8")
    reader = TableReader(path)
    rows = iter(reader)
    assert "第0队" == next(rows).cells["名称"]
    assert reader.position < reader.total / 10


def test_xlsx_numbers_and_dates_come_through_as_values(tmp_path):
    """Whole numbers lose Excel's '.0'; decimals and dates are kept."""
    from datetime import datetime

    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["志愿者编号", "服务时长", "开始时间"])
    book.active.append([20240001, 1.25, datetime(2024, 3, 5, 9, 0)])
    path = tmp_path / "f.xlsx"
    book.save(path)
    [row] = TableReader(path)
    assert {"志愿者编号": "20240001", "服务时长": "1.25", "开始时间": datetime(2024, 3, 5, 9, 0)} == row.cells


@pytest.mark.parametrize(
    ("expected", "header"),
    [("服务时长", " *服务时长（小时）"), ("registered_on", "Registered On"), ("手机号码", "手机号码 (必填)")],
)
def test_headers_are_normalised(expected, header):
    """Marks, units in brackets, case and spaces do not matter."""
    assert expected == normalise_header(header)


def test_two_columns_for_one_field_are_a_clash():
    """The first column wins and the clash is reported."""
    columns, clashes = resolve_headers(["手机", "联系电话", "姓名"], ["name", "phone"])
    assert {"手机": "phone", "姓名": "name"} == columns
    assert 1 == len(clashes)
