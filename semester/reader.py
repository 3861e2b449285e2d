"""Reading an uploaded placement file: our thin layer over tablib.

tablib (with openpyxl for XLSX) turns a CSV text or an XLSX sheet into rows; this module decides
everything tablib leaves to its caller, and fails with a `FileProblem` (a translated, file-level
message) instead of an exception from deep inside a parser:

- what the bytes are: XLSX (a zip), the old binary .xls (refused with what to do), else text;
- the text's encoding: UTF-8 (with or without BOM), UTF-16 with BOM (Excel's "Unicode text"),
  else Windows-1252 (Dutch Excel's "CSV (gescheiden door lijstscheidingsteken)");
- the delimiter, sniffed from the header line: `;` (Dutch Excel), `,`, tab or `|`;
- in a workbook, the first sheet that has the required columns (other sheets are ignored);
- the header row: the first row (of the first ten with content) that has the required columns;
  a title row above it is fine;
- values, never formulas: XLSX cells are read as the values Excel stored (tablib opens the
  workbook with `data_only=True`); a formula is never evaluated, and text that starts with "="
  stays text (the import refuses it in a name, see `services`);
- limits: the file's size, its unpacked size (a zip bomb), the number of rows.

Every cell comes out as a stripped string (a date as ISO "2026-09-01", a whole number without
".0"); checking what a cell means is the import's work (`services`). Rows are numbered as the
office sees them in Excel (the header row is row 1 when it is the first line); in a CSV, lines
that are entirely empty are not counted by tablib, so the preview also names each row's student.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal

import tablib
from django.utils.translation import gettext as _
from tablib.formats._csv import CSVFormat
from tablib.formats._xlsx import XLSXFormat

from .columns import BY_KEY, column_for, missing_required

HEADER_SEARCH_ROWS = 10
DELIMITERS = (";", ",", "\t", "|")
XLSX_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the binary .xls of Excel 97-2003
# A workbook may unpack to at most this many times its own size (a zip bomb unpacks to GBs).
MAX_UNPACK_FACTOR = 20
MAX_ZIP_ENTRIES = 2_000


class FileProblem(Exception):
    """The file as a whole cannot be read; the message says why and what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Table:
    """The rows of a placement file: each a (row number, {column key: text}) pair."""

    rows: list[tuple[int, dict[str, str]]]
    columns: dict[str, str]  # column key -> the header as the file wrote it
    ignored: list[str] = field(default_factory=list)  # headers we do not read
    source: str = ""  # "CSV, Windows-1252, ';'" / "XLSX, sheet 'Plaatsingen'"


class _TooMany(Exception):
    pass


class _NoHeader(Exception):
    pass


def cell_text(value: object) -> str:
    """A cell as text: dates as ISO dates, whole numbers without ".0", None as ""."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return format(Decimal(repr(value)).normalize(), "f")
    return str(value).strip()


class RowCollector(tablib.Dataset):
    """A tablib Dataset that tablib's CSV and XLSX readers fill row by row (`append`).

    It finds the header row as the rows come in, keeps every later row with its number
    (empty rows are skipped but counted), pads short and cuts long rows to the header's width,
    and stops reading as soon as the file has more rows than allowed.
    """

    def __init__(self, *, max_rows: int) -> None:
        super().__init__()
        self.max_rows = max_rows
        self.read = 0  # rows seen, empty ones included
        self.header: list[str] | None = None
        self.header_row = 0
        self.best: tuple[int, list[str]] = (-1, [])  # the most promising non-header row
        self.numbers: list[int] = []

    def append(self, row, tags=()):  # noqa: D102 - tablib's own signature
        self.read += 1
        texts = [cell_text(v) for v in row]
        while texts and texts[-1] == "":
            texts.pop()
        if not texts:
            if self.read > 2 * self.max_rows + 1_000:
                raise _TooMany
            return
        if self.header is None:
            keys = {column_for(t) for t in texts} - {None}
            if not missing_required(keys):
                self.header, self.header_row = texts, self.read
                self.headers = texts
                return
            if len(keys) > self.best[0]:
                self.best = (len(keys), texts)
            if self.read >= HEADER_SEARCH_ROWS:
                raise _NoHeader
            return
        if len(self._data) >= self.max_rows:
            raise _TooMany
        width = len(self.header)
        texts = (texts + [""] * width)[:width]
        super().append(texts)
        self.numbers.append(self.read)


def read_table(data: bytes, *, max_rows: int, max_bytes: int) -> Table:
    """The rows of an uploaded CSV or XLSX file, or a FileProblem."""
    if not data:
        raise FileProblem(_("The file is empty."))
    if len(data) > max_bytes:
        raise FileProblem(too_large_message(max_bytes))
    if data.startswith(OLE_MAGIC):
        raise FileProblem(
            _(
                "This is an old Excel file (.xls). Save it as an Excel workbook (.xlsx) or as "
                "CSV and upload that."
            )
        )
    if data.startswith(XLSX_MAGIC):
        return _read_xlsx(data, max_rows=max_rows)
    return _read_csv(data, max_rows=max_rows)


def too_large_message(max_bytes: int) -> str:
    return _("The file is larger than %(limit)s MB. Split it into smaller files.") % {
        "limit": f"{max_bytes / 1_000_000:g}".replace(".", ",")
    }


def _too_many_rows(max_rows: int) -> FileProblem:
    return FileProblem(
        _("The file has more than %(limit)s rows. Split it into smaller files.")
        % {"limit": f"{max_rows:,}".replace(",", ".")}
    )


def _table(collector: RowCollector, source: str) -> Table:
    columns: dict[str, str] = {}
    ignored: list[str] = []
    for header in collector.header or []:
        key = column_for(header)
        if key is None:
            if header:
                ignored.append(header[:60])
            continue
        if key in columns:
            raise FileProblem(
                _("The columns “%(first)s” and “%(second)s” both mean “%(meaning)s”. Keep one.")
                % {"first": columns[key][:60], "second": header[:60], "meaning": BY_KEY[key].label}
            )
        columns[key] = header
    positions = {key: collector.header.index(header) for key, header in columns.items()}
    rows = [
        (number, {key: row[i] for key, i in positions.items()})
        for number, row in zip(collector.numbers, collector._data, strict=True)
    ]
    if not rows:
        raise FileProblem(_("The file has a header row but no placements under it."))
    return Table(rows=rows, columns=columns, ignored=ignored, source=source)


def quoted(text: str) -> str:
    """Text in the quotation marks of the active language (Dutch „…”, English “…”)."""
    return _("“%(text)s”") % {"text": text}


def _no_header(best: list[str]) -> FileProblem:
    keys = {column_for(t) for t in best} - {None}
    missing = ", ".join(quoted(BY_KEY[k].label) for k in missing_required(keys))
    if not best:
        return FileProblem(_("The file has no header row with the required columns."))
    return FileProblem(
        _(
            "Required columns are missing: %(missing)s. Found: %(found)s. The first row (or one "
            "of the first ten) must hold the column names."
        )
        % {"missing": missing, "found": ", ".join(quoted(t[:40]) for t in best[:30] if t)}
    )


# --- CSV ------------------------------------------------------------------------------------


def decode(data: bytes) -> tuple[str, str]:
    """The text and the name of its encoding."""
    if data.startswith(b"\xef\xbb\xbf"):
        return _decode(data, "utf-8-sig"), "UTF-8 (BOM)"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _decode(data, "utf-16"), "UTF-16"
    if data[:4096].count(b"\x00") > len(data[:4096]) // 4:
        raise FileProblem(
            _("The file's encoding is not recognised. Save it as “CSV UTF-8” and try again.")
        )
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    return _decode(data, "cp1252"), "Windows-1252"


def _decode(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise FileProblem(
            _("The file's encoding is not recognised. Save it as “CSV UTF-8” and try again.")
        ) from exc


def sniff_delimiter(text: str) -> str:
    """The delimiter of the header line: the one it holds most of (Dutch Excel writes ';')."""
    sample = text[:65_536]
    first = next((line for line in sample.splitlines() if line.strip()), "")
    counts = {d: first.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    if counts[best]:
        return best
    try:
        return csv.Sniffer().sniff(sample, delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        return ","


def _read_csv(data: bytes, *, max_rows: int) -> Table:
    text, encoding = decode(data)
    delimiter = sniff_delimiter(text)
    collector = RowCollector(max_rows=max_rows)
    try:
        CSVFormat.import_set(
            collector, io.StringIO(text, newline=""), headers=False, delimiter=delimiter
        )
    except _TooMany as exc:
        raise _too_many_rows(max_rows) from exc
    except _NoHeader:
        pass
    except csv.Error as exc:
        raise FileProblem(
            _(
                "The file cannot be read as CSV near row %(row)s (a cell that is too long or "
                "an unclosed quotation mark)."
            )
            % {"row": collector.read + 1}
        ) from exc
    if collector.header is None:
        raise _no_header(collector.best[1])
    shown = {"\t": "tab"}.get(delimiter, delimiter)
    return _table(collector, f"CSV, {encoding}, {quoted(shown)}")


# --- XLSX -----------------------------------------------------------------------------------


def _read_xlsx(data: bytes, *, max_rows: int) -> Table:
    unreadable = FileProblem(
        _("The file cannot be read as an Excel workbook (.xlsx). Save it again as .xlsx or CSV.")
    )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise unreadable from exc
    unpacked = sum(entry.file_size for entry in entries)
    if len(entries) > MAX_ZIP_ENTRIES or unpacked > MAX_UNPACK_FACTOR * max(len(data), 100_000):
        raise FileProblem(_("The workbook unpacks to far more data than it holds; it is refused."))
    from openpyxl import load_workbook  # noqa: PLC0415 - only for workbooks

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a damaged or foreign zip
        raise unreadable from exc
    best: list[str] = []
    try:
        for sheet in book.worksheets:
            collector = RowCollector(max_rows=max_rows)
            try:
                sheet.reset_dimensions()  # some writers store a wrong sheet size
                XLSXFormat.import_sheet(collector, sheet, headers=False)
            except _TooMany as exc:
                raise _too_many_rows(max_rows) from exc
            except _NoHeader:
                pass
            except Exception as exc:  # a damaged sheet
                raise unreadable from exc
            if collector.header is not None:
                return _table(collector, f"XLSX, {quoted(sheet.title[:40])}")
            if len(collector.best[1]) > len(best):
                best = collector.best[1]
    finally:
        book.close()
    raise _no_header(best)
