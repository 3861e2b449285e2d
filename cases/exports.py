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
from collections.abc import Iterable, Iterator
from contextlib import nullcontext
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import NotSupportedError, connection, transaction
from django.db.models import Func, TextField
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


# What Python's str.strip() strips (every character for which str.isspace() is true; a test
# checks), for the database to strip the same characters.
PYTHON_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)

# A text whose first character after the blanks is a trigger, for the database (PostgreSQL's
# regular expressions; "-" last in its bracket so it is no range).
_FORMULA_START = f"^([{_LEADING_BLANKS}]*[{''.join(sorted(FORMULA_TRIGGERS - {'-'}))}-])"


class SafeCellText(Func):
    """PostgreSQL: the value as the text `SafeCSVWriter` writes for it: NULL as an empty text,
    a text that a spreadsheet could run as a formula with the leading apostrophe of
    `safe_cell` (the same triggers and blanks). A test compares it with the Python writer on
    hostile texts."""

    output_field = TextField()

    def as_sql(self, compiler, connection, **extra_context):
        if connection.vendor != "postgresql":
            raise NotSupportedError("SafeCellText is written for PostgreSQL.")
        [expression] = self.get_source_expressions()
        sql, params = compiler.compile(expression)
        text = f"regexp_replace(COALESCE(({sql})::text, ''), %s, %s)"
        return text, (*params, _FORMULA_START, NEUTRALISER + "\\1")


def copy_csv(rows: Any, chunk_rows: int = 500) -> Iterator[bytes]:
    """PostgreSQL: the rows of a `values_list` query whose every column is a `SafeCellText`, as
    CSV lines in exactly the `SafeCSVWriter`'s format (UTF-8, every field quoted, quotes doubled,
    CRLF), written by the database's COPY: no Python per cell, so a large export streams at the
    database's speed (issue #17). Yields `chunk_rows` lines at a time.

    COPY hands over one line at a time, ended by LF: the LF becomes CRLF (a field's own line
    breaks stay as they are, inside its quotes, as the Python writer leaves them)."""
    try:
        sql, params = rows.query.sql_with_params()
    except EmptyResultSet:  # a filter nothing can match (e.g. a search for no real text)
        return
    statement = f"COPY ({sql}) TO STDOUT (FORMAT csv, FORCE_QUOTE *)"
    # In a transaction (a savepoint inside one): a download stopped half-way cancels the COPY,
    # which fails the transaction, and the rollback leaves the connection as it was.
    with transaction.atomic(), connection.cursor() as cursor:
        # Logged and counted like every query when Django records queries (DEBUG, tests).
        recorded = cursor.debug_sql(statement, params) if hasattr(cursor, "debug_sql") else None
        with recorded or nullcontext(), cursor.cursor.copy(statement, params) as copy:
            yield from _crlf_chunks(copy, chunk_rows)


def _crlf_chunks(copy: Any, chunk_rows: int) -> Iterator[bytes]:
    parts: list[Any] = []
    for line in copy:
        parts += (line[:-1], b"\r\n")
        if len(parts) >= 2 * chunk_rows:
            yield b"".join(parts)
            parts = []
    if parts:
        yield b"".join(parts)


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
