"""The export cell helper (cases/exports.py), at its edges: what a spreadsheet skips before it
looks for a formula, what is not text, the date-time format of the CSV, the characters a
worksheet cannot hold, and which characters a Markdown line turns into spaces."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import Workbook, load_workbook

from cases.exports import (
    SafeCSVWriter,
    append_xlsx_row,
    is_formula_like,
    markdown_text,
    safe_cell,
    safe_row,
)


@pytest.mark.parametrize(
    ("value", "formula"),
    [
        ("=1", True),
        ("  =1", True),
        ("\u00a0\u3000\ufeff+1", True),
        ("\uff1d1", True),
        ("a=1", False),
        ("", False),
        ("   ", False),
        ("'=1", False),
    ],
)
def test_a_formula_after_what_a_spreadsheet_skips(value, formula):
    assert is_formula_like(value) is formula
    assert safe_cell(value) == ("'" + value if formula else value)


@pytest.mark.parametrize("value", [None, 0, -3, 2.5, dt.date(2027, 1, 1), True])
def test_what_is_not_text_stays_what_it_is(value):
    assert safe_cell(value) is value


def test_a_row_is_made_safe_cell_by_cell():
    assert safe_row(["=1", "ok", -1, None]) == ["'=1", "ok", -1, None]


def test_the_csv_writes_moments_to_the_minute_and_dates_as_they_are():
    buffer = io.StringIO()
    aware = dt.datetime(2027, 3, 10, 9, 5, 59, tzinfo=dt.UTC)
    SafeCSVWriter(buffer).writerow(
        [dt.datetime(2027, 3, 10, 9, 5, 59), aware, dt.date(2027, 3, 10)]
    )
    assert buffer.getvalue() == '"2027-03-10 09:05","2027-03-10 09:05","2027-03-10"\r\n'


def test_the_worksheet_drops_what_it_cannot_hold_and_keeps_numbers_numbers():
    book = Workbook(write_only=True)
    sheet = book.create_sheet("x")
    append_xlsx_row(sheet, ["a\x00b\x1fc", "-1", -1, 2.5])
    buffer = io.BytesIO()
    book.save(buffer)
    cells = next(load_workbook(io.BytesIO(buffer.getvalue())).active.iter_rows())
    assert [c.value for c in cells] == ["abc", "'-1", -1, 2.5]
    assert [c.data_type for c in cells] == ["s", "s", "n", "n"]


def test_a_markdown_line_turns_control_characters_into_spaces_and_keeps_the_rest():
    assert markdown_text("a\x1fb\x7fc\x00d") == "a b c d"
    assert markdown_text("a ~ b !") == "a ~ b !"
    assert markdown_text("  a \n\n b  ") == "a b"
    assert markdown_text("`x` [y] <z> \\") == "\\`x\\` \\[y\\] \\<z\\> \\\\"
    assert markdown_text(12) == "12"
