"""Every export and download is safe with hostile data in the database (issue #16).

The URL patterns are walked and every URL is requested (each `<fmt>` with every file format
there is) by the people who may download something: whatever answers with a file is a download
and must be in EXPORTS with the check that fits its format, so a new export that is not covered
fails `test_every_download_is_covered`. Spreadsheet-like downloads (CSV, XLSX, the HTML report)
must have no cell that a spreadsheet would run as a formula (cases.exports.safe_cell), and must
still show the planted names readably; the calendar file, the Markdown note and the JSON
exports have their own checks.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable

import icalendar
import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from cases.exports import (
    FORMULA_TRIGGERS,
    SafeCSVWriter,
    append_xlsx_row,
    is_formula_like,
    markdown_text,
    safe_cell,
)
from tests.security.downloads import (
    DANGER,
    FORMATS,
    assert_no_formula,
    assert_safe_attachment,
    assert_safe_ics,
    assert_safe_markdown,
    content,
    csv_cells,
    html_cells,
    ics_lines,
    is_download,
    xlsx_cells,
)
from tests.security.hostile import (
    ATTACHMENT_PDF,
    FORMULAS,
    HYPERLINK,
    LOCATION,
    NOTE,
    HostileWorld,
    all_patterns,
    hostile_world,
    url_kwargs,
)

pytestmark = pytest.mark.django_db

# URL patterns that are no download whatever they answer, and why.
NOT_DOWNLOADS = {
    "health": "the service's status for the load balancer, no data",
}


# --------------------------------------------------------------------------------------------
# The helper itself
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (HYPERLINK, "'" + HYPERLINK),
        ("+31 6 12345678", "'+31 6 12345678"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("\n=1+1", "'\n=1+1"),
        ("\uff1d1+1", "'\uff1d1+1"),
        (" =1+1", "' =1+1"),
        ("Jansen", "Jansen"),
        ("de Vries-Jansen", "de Vries-Jansen"),
        ("", ""),
        ("'=already safe", "'=already safe"),
        (5, 5),
        (-5, -5),
        (None, None),
    ],
)
def test_safe_cell_neutralises_every_formula_trigger_and_keeps_the_text(value, expected):
    assert safe_cell(value) == expected
    assert safe_cell(safe_cell(value)) == expected  # idempotent


def test_the_csv_writer_quotes_every_field_so_no_separator_makes_a_new_cell():
    buffer = io.StringIO()
    SafeCSVWriter(buffer).writerow(["a;=1+1", "b,=2+2", "c\r\n=3+3", HYPERLINK, 7])
    line = buffer.getvalue()
    assert line.startswith('"a;=1+1","b,=2+2","c\r\n=3+3","\'=HYPERLINK(')
    # Every field quoted: a separator inside a field (a Dutch Excel splits on ";") stays in it.
    assert (
        line
        == '"a;=1+1","b,=2+2","c\r\n=3+3","\'=HYPERLINK(""http://x.example/"",""klik"")","7"\r\n'
    )
    for cell in next(csv.reader(io.StringIO(line))):
        assert not is_formula_like(cell), cell


def test_the_xlsx_writer_stores_text_never_a_formula():
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("x")
    append_xlsx_row(sheet, [HYPERLINK, "=1+1", 3, None])
    buffer = io.BytesIO()
    book.save(buffer)
    cells = list(load_workbook(io.BytesIO(buffer.getvalue())).active.iter_rows())[0]
    assert [c.data_type for c in cells[:3]] == ["s", "s", "n"]
    assert cells[0].value == "'" + HYPERLINK


def test_markdown_text_is_one_line_and_renders_no_link_image_or_markup():
    text = markdown_text(LOCATION)
    assert "\n" not in text and "\r" not in text
    assert "[klik](javascript" not in text and "<script>" not in text
    assert "\\[klik\\](javascript:alert(1))" in text
    assert markdown_text("https://meet.example/a_b") == "https://meet.example/a_b"


# --------------------------------------------------------------------------------------------
# Finding every download
# --------------------------------------------------------------------------------------------


def viewers(world: HostileWorld) -> list[Client]:
    """The office (also the privacy officer), the student and the school trainer."""
    clients = []
    for person in (world.office, world.people["student"], world.people["school_trainer"]):
        client = Client(raise_request_exception=False)
        client.force_login(person)
        clients.append(client)
    return clients


def find_downloads(world: HostileWorld) -> dict[tuple[str, str | None], tuple[str, Client]]:
    """(URL name, format) -> (URL, a client that gets the file), for every URL that answers
    some viewer with a file."""
    kwargs = url_kwargs(world)
    clients = viewers(world)
    found = {}
    for name, pattern in all_patterns():
        if name in NOT_DOWNLOADS or name.startswith("oidc") or name == "logout":
            continue
        groups = set(pattern.pattern.regex.groupindex)
        missing = groups - set(kwargs) - {"fmt"}
        assert not missing, f"{name}: give the walker an object for {missing}"
        formats = FORMATS if "fmt" in groups else [None]
        for fmt in formats:
            values = {k: kwargs[k] for k in groups if k != "fmt"}
            if fmt is not None:
                values["fmt"] = fmt
            url = reverse(name, kwargs=values)
            for client in clients:
                response = client.get(url)
                assert response.status_code != 500, url
                if is_download(response):
                    found[(name, fmt)] = (url, client)
                    break
    return found


# --------------------------------------------------------------------------------------------
# The checks per format
# --------------------------------------------------------------------------------------------


def assert_planted(cells: list[str], planted: list[str], where: str) -> None:
    """The hostile values are in the file, neutralised and otherwise as they were."""

    def lines(text: str) -> str:  # an XLSX (XML) keeps a carriage return as a line feed
        return text.replace("\r\n", "\n").replace("\r", "\n")

    texts = [lines(c) for c in cells if isinstance(c, str)]
    for value in planted:
        safe = lines(safe_cell(value))
        assert any(safe in text for text in texts), f"{where}: {safe!r} not found"


def check_csv(data: bytes, where: str, planted: list[str]) -> None:
    assert data.startswith("\ufeff".encode()), where  # Excel reads it as UTF-8
    cells = csv_cells(data)
    assert_no_formula(cells, where)
    assert_planted(cells, planted, where)


def check_xlsx(data: bytes, where: str, planted: list[str]) -> None:
    cells = xlsx_cells(data, where)
    assert_no_formula(cells, where)
    assert_planted(cells, planted, where)


def check_html_table(data: bytes, where: str, planted: list[str]) -> None:
    assert not DANGER.search(data.decode("utf-8")), where
    cells = html_cells(data)
    assert_no_formula(cells, where)
    assert_planted(cells, planted, where)


def check_ics(data: bytes, where: str, planted: list[str]) -> None:
    assert_safe_ics(data, where)
    text = "\n".join(ics_lines(data))
    assert "evil" not in text.replace("Jan ATTENDEE:mailto:evil@x.example", ""), where
    assert "Jan ATTENDEE:mailto:evil@x.example" in text  # the name, on one line
    event = icalendar.Calendar.from_ical(data).walk("VEVENT")[0]
    assert str(event["location"]) == LOCATION.replace("\r\n", "\n")


def check_markdown(data: bytes, where: str, planted: list[str]) -> None:
    assert_safe_markdown(data, where)
    text = data.decode("utf-8")
    assert "\\[klik\\](javascript:alert(1))" in text, where  # the place, escaped
    assert NOTE in text, where  # the student's own text as written


def check_json(data: bytes, where: str, planted: list[str]) -> None:
    exported = json.loads(data)
    flat = json.dumps(exported, ensure_ascii=False)
    for value in planted:  # data, kept exactly (JSON escapes what it must)
        assert json.dumps(value, ensure_ascii=False)[1:-1] in flat, (where, value)


def check_attachment(data: bytes, where: str, planted: list[str]) -> None:
    assert data == ATTACHMENT_PDF, where


Check = Callable[[bytes, str, list[str]], None]


def people_names(world: HostileWorld) -> list[str]:
    return [str(case.placement.student) for case in world.cases]


def school_names(world: HostileWorld) -> list[str]:
    return [case.placement.school.name for case in world.cases]


def closed_case(world: HostileWorld) -> list[str]:
    return [str(world.closed.placement.student), world.closed.placement.school.name]


def every_case(world: HostileWorld) -> list[str]:
    return people_names(world) + school_names(world) + [FORMULAS[3]]  # a student number


# (URL name, format) -> (how it is made safe, the check, {query: what must be in the file})
EXPORTS: dict[tuple[str, str | None], tuple[str, Check, dict]] = {
    ("office:office_export", "csv"): (
        "cases.exports.SafeCSVWriter: safe cells, every field quoted",
        check_csv,
        {"": every_case, "state=closed": closed_case},
    ),
    ("office:office_export", "xlsx"): (
        "cases.exports.append_xlsx_row: safe cells stored as strings",
        check_xlsx,
        {"": every_case, "state=closed": closed_case},
    ),
    ("office:steering_report", "csv"): (
        "cases.exports.SafeCSVWriter; school names through safe_cell in steering_rows",
        check_csv,
        {"": school_names},
    ),
    ("office:steering_report", "html"): (
        "Django's autoescaping; school names through safe_cell in steering_rows",
        check_html_table,
        {"": school_names},
    ),
    ("conversations:calendar", None): (
        "icalendar escapes; names on one line, unusable addresses left out (conversations.ics)",
        check_ics,
        {"": lambda w: []},
    ),
    ("conversations:note_download", None): (
        "others' values through cases.exports.markdown_text; the student's text as written",
        check_markdown,
        {"": lambda w: []},
    ),
    ("attachments:download", None): (
        "the file as uploaded (content sniffed at the upload), as an attachment with a cleaned "
        "name, its sniffed type and nosniff (attachments/views.py)",
        check_attachment,
        {"": lambda w: []},
    ),
    ("privacy:my_data_json", None): (
        "JSON: data, not a spreadsheet; escaped by the encoder",
        check_json,
        {"": lambda w: [HYPERLINK]},
    ),
    ("privacy:student_data_json", None): (
        "JSON: data, not a spreadsheet; escaped by the encoder",
        check_json,
        {"": lambda w: [HYPERLINK, str(w.people["student"].last_name)]},
    ),
}


def test_every_download_is_covered_and_safe_with_hostile_data():
    world = hostile_world()
    found = find_downloads(world)
    assert set(found) == set(EXPORTS), (
        "every download needs an entry in EXPORTS (and cases.exports for a spreadsheet): "
        f"new {sorted(set(found) - set(EXPORTS), key=str)}, "
        f"gone {sorted(set(EXPORTS) - set(found), key=str)}"
    )
    for key, (_how, check, queries) in EXPORTS.items():
        url, client = found[key]
        for query, planted in queries.items():
            response = client.get(f"{url}?{query}")
            assert response.status_code == 200, (key, query)
            check(content(response), f"{key} {query}", planted(world))


def test_the_triggers_are_owasps_and_their_variants():
    assert {"=", "+", "-", "@", "\t", "\r"} <= FORMULA_TRIGGERS
    assert not re.search(r"[A-Za-z0-9]", "".join(FORMULA_TRIGGERS))


def test_an_attachment_with_a_hostile_name_downloads_under_a_clean_one():
    world = hostile_world()
    attachment = world.objects["attachment"]
    assert "/" not in attachment.original_name and "<" not in attachment.original_name
    assert not attachment.file.name.startswith(("..", "/")) and "script" not in attachment.file.name
    client = Client()
    client.force_login(world.people["student"])
    response = client.get(reverse("attachments:download", args=[attachment.pk]))
    assert response.status_code == 200
    assert content(response) == ATTACHMENT_PDF
    assert_safe_attachment(response, "attachment")
    assert 'filename="' in response["Content-Disposition"]
