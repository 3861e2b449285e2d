"""Safe cells for every spreadsheet the application writes (CSV, XLSX, and the HTML report that
a spreadsheet may open): one helper, used by every export.

A cell that starts with a formula trigger (OWASP, "CSV injection") is run as a formula by Excel,
LibreOffice and Google Sheets: a student named ``=HYPERLINK("http://…","klik")`` becomes a link,
``@SUM(A1)`` a sum, and older Excel versions even ran ``=cmd|' /C calc'!A0``. The triggers are
``=``, ``+``, ``-``, ``@``, a tab and a carriage return (OWASP), and also a line feed and the
full-width ``＝ ＋ － ＠`` that some spreadsheets read as their ASCII twins. Such a cell gets a
leading apostrophe, as a person types it to enter text: it stays readable and is never run.
Numbers, dates and empty cells stay what they are (a count is no formula).

On top of that the CSV writer quotes every field, so a field holding the other separator (a
Dutch Excel splits on ``;``) or a line break stays one cell, and the XLSX writer stores every
text as a string, never as a formula.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable
from typing import Any

from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

FORMULA_TRIGGERS = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")
# What a spreadsheet may skip before it looks for a trigger (" =1+1" is a formula to some).
_LEADING_BLANKS = " \u00a0\u3000\ufeff"
NEUTRALISER = "'"
# A text whose first character is none of these is never a formula (nearly every cell): the
# CSV writer passes it as it is, without the full check.
_SUSPECT_FIRST = FORMULA_TRIGGERS | frozenset(_LEADING_BLANKS)


def is_formula_like(value: str) -> bool:
    """Whether a spreadsheet could take this text for a formula."""
    stripped = value.lstrip(_LEADING_BLANKS)
    return bool(stripped) and stripped[0] in FORMULA_TRIGGERS


def safe_cell(value: Any) -> Any:
    """The value as a spreadsheet cell that is never a formula: text that could be read as one
    gets a leading apostrophe; other values (numbers, dates, None) are returned unchanged."""
    if isinstance(value, str) and is_formula_like(value):
        return NEUTRALISER + value
    return value


def safe_row(values: Iterable[Any]) -> list[Any]:
    return [safe_cell(value) for value in values]


class SafeCSVWriter:
    """csv.writer with every cell made safe and every field quoted.

    `datetime` values are written as "YYYY-MM-DD HH:MM" (as the office list always did)."""

    def __init__(self, file: Any) -> None:
        self._writer = csv.writer(file, quoting=csv.QUOTE_ALL)

    @staticmethod
    def _text(value: Any) -> Any:
        if isinstance(value, dt.datetime):
            if value.tzinfo is None:  # the same text, several times faster than strftime
                return value.isoformat(sep=" ", timespec="minutes")
            return value.strftime("%Y-%m-%d %H:%M")
        return safe_cell(value)

    def writerow(self, values: Iterable[Any]) -> Any:
        text = self._text
        suspect = _SUSPECT_FIRST
        return self._writer.writerow(
            [
                value
                if type(value) is str and (not value or value[0] not in suspect)
                else text(value)
                for value in values
            ]
        )


def append_xlsx_row(sheet: Any, values: Iterable[Any]) -> None:
    """Append a row to an openpyxl (write-only) sheet: texts made safe and stored as strings
    (openpyxl would otherwise store any text starting with "=" as a formula), without the
    control characters a worksheet cannot hold (openpyxl would refuse the whole file)."""
    cells = []
    for value in values:
        if isinstance(value, str):
            value = ILLEGAL_CHARACTERS_RE.sub("", value)
        value = safe_cell(value)
        cell = WriteOnlyCell(sheet, value=value)
        if isinstance(value, str):
            cell.data_type = "s"
        cells.append(cell)
    sheet.append(cells)


# --------------------------------------------------------------------------------------------
# Markdown downloads (the student's note): values of other people shown as plain text
# --------------------------------------------------------------------------------------------

_MARKDOWN_SPECIAL = str.maketrans({c: f"\\{c}" for c in "\\`[]<>"})


def markdown_text(value: Any) -> str:
    """A value (a place, a school's name) as one line of Markdown that renders as the same text:
    line breaks and control characters become spaces, and the characters that would make a
    link, an image, HTML markup or code are escaped with a backslash (an online meeting's link
    stays as it is otherwise, underscores included)."""
    text = "".join(" " if (ord(c) < 32 or ord(c) == 127) else c for c in str(value))
    return " ".join(text.split()).translate(_MARKDOWN_SPECIAL)
