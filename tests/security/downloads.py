"""Reading the application's downloads back, as a spreadsheet or a calendar would, for the
security tests: every cell of a CSV, an XLSX and an HTML table, the calendar file's lines, and
`assert_safe_download` for any file whatever data it was made from (no formula cell, no
markup that runs, nothing a value held became a line or a property of its own)."""

from __future__ import annotations

import csv
import io
import json
import re
from html.parser import HTMLParser

import icalendar
from openpyxl import load_workbook

from cases.exports import is_formula_like

# Every `<fmt>` a URL pattern is tried with when looking for downloads.
FORMATS = ["csv", "xlsx", "xls", "ods", "tsv", "html", "json", "md", "ics", "pdf", "txt", "xml"]
DANGER = re.compile(
    r"<script>alert|<img[^>]*onerror|<svg[^>]*onload|<iframe[^>]*evil|"
    r"""(href|src|action|formaction)\s*=\s*["']?\s*javascript:""",
    re.I,
)
# An unfolded line of a calendar file: a property name, then parameters or the value.
ICS_LINE = re.compile(r"^[A-Z][A-Z0-9-]*[;:]")


def is_download(response) -> bool:
    if response.status_code != 200:
        return False
    disposition = response.get("Content-Disposition", "")
    content_type = response.get("Content-Type", "")
    return "attachment" in disposition or not content_type.startswith("text/html")


def content(response) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


def assert_no_formula(cells: list, where: str) -> None:
    assert cells, f"{where}: no cells"
    for cell in cells:
        text = cell.removeprefix("\ufeff") if isinstance(cell, str) else cell
        if isinstance(text, str):
            assert not is_formula_like(text), f"{where}: formula-like cell {text!r}"


def csv_cells(data: bytes) -> list[str]:
    text = data.decode("utf-8")
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def xlsx_cells(data: bytes, where: str) -> list:
    book = load_workbook(io.BytesIO(data))
    cells = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{where}: formula cell {cell.coordinate}"
                cells.append(cell.value)
    return cells


class _TableCells(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.cells: list[str] = []
        self._open = False

    def handle_starttag(self, tag, attrs):
        if tag in ("td", "th"):
            self._open = True
            self.cells.append("")

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self._open = False

    def handle_data(self, data):
        if self._open:
            self.cells[-1] += data


def html_cells(data: bytes) -> list[str]:
    parser = _TableCells()
    parser.feed(data.decode("utf-8"))
    return parser.cells


def ics_lines(data: bytes) -> list[str]:
    return [line for line in data.decode("utf-8").replace("\r\n ", "").split("\r\n") if line]


def assert_safe_ics(data: bytes, where: str, *, attendees: int | None = None) -> None:
    events = list(icalendar.Calendar.from_ical(data).walk("VEVENT"))
    assert len(events) == 1, where
    for line in ics_lines(data):
        assert ICS_LINE.match(line), f"{where}: a value became a line of its own: {line!r}"
    found = events[0].get("attendee", [])
    found = found if isinstance(found, list) else [found]
    for attendee in found:
        assert not re.search(r"[\r\n]", str(attendee) + attendee.params.get("cn", "")), where
    if attendees is not None:
        assert len(found) <= attendees, where


def assert_safe_markdown(data: bytes, where: str) -> None:
    """The file's own lines (the heading and the "- label: value" list) hold no link, image or
    markup from a value; the student's own text below them is theirs."""
    lines = data.decode("utf-8").split("\n")
    header = lines[: lines.index("")] if "" in lines else lines
    assert header[0].startswith("# "), where
    for line in header[1:]:
        assert line.startswith("- "), f"{where}: a value became a line of its own: {line!r}"
        assert not re.search(r"(?<!\\)[<\[`]", line), f"{where}: unescaped markup in {line!r}"


# An uploaded file is offered as it was uploaded (its content was checked at the upload): only
# as a download, with the type found by sniffing and no browser sniffing of its own.
ATTACHMENT_TYPES = {
    "application/pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.oasis.opendocument.text",
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
}


def assert_safe_attachment(response, where: str) -> None:
    disposition = response.get("Content-Disposition", "")
    assert disposition.startswith("attachment;"), f"{where}: not an attachment: {disposition!r}"
    assert not re.search(r"[\r\n]|/|\\|<|>", disposition), f"{where}: {disposition!r}"
    assert response.get("X-Content-Type-Options") == "nosniff", where


def assert_safe_download(response, where: str) -> None:
    """Whatever the data: a spreadsheet has no formula cell, HTML no markup that runs, a
    calendar file and a Markdown note no value on a line of its own, JSON parses."""
    data = content(response)
    content_type = response.get("Content-Type", "")
    if content_type.startswith("text/csv"):
        assert_no_formula(csv_cells(data), where)
    elif "spreadsheetml" in content_type:
        assert_no_formula(xlsx_cells(data, where), where)
    elif content_type.startswith("text/html"):
        assert not DANGER.search(data.decode("utf-8")), where
        cells = html_cells(data)
        if cells:
            assert_no_formula(cells, where)
    elif content_type.startswith("text/calendar"):
        assert_safe_ics(data, where)
    elif content_type.startswith("text/markdown"):
        assert_safe_markdown(data, where)
    elif content_type.startswith("application/json"):
        json.loads(data)
    elif content_type in ATTACHMENT_TYPES:
        assert_safe_attachment(response, where)
    else:
        raise AssertionError(f"{where}: a download of an unknown kind {content_type!r}")
