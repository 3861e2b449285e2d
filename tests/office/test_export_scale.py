"""The case list's CSV export at 50,000 cases: streamed with flat memory (rows as tuples through
a server-side cursor, no model instance per row), every cell through the safe-cell helper, and
a number of queries that grows with the chunks, not the rows. No timing is asserted."""

from __future__ import annotations

import csv
import io
import tracemalloc

import pytest
from django.db import connection
from django.db.models import CharField, Value
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from cases.models import Case, CaseCategory, Category, State
from office import selectors
from tests.cases.factories import PlacementFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = reverse("office:office_export", args=["csv"])


def add_cases(n: int, placement) -> None:
    now = timezone.now()
    Case.objects.bulk_create(
        (
            Case(
                placement=placement,
                state=State.IMPROVING,
                description="x",
                signalled_by=placement.student,
                signalled_at=now,
                state_changed_at=now,
            )
            for _ in range(n)
        ),
        batch_size=2000,
    )


def stream_peak(client, url: str) -> tuple[int, int]:
    """(rows read, peak bytes allocated while the export streamed)."""
    response = client.get(url)
    assert response.streaming
    rows = 0
    tracemalloc.start()
    try:
        for chunk in response.streaming_content:
            rows += chunk.count(b"\n")
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return rows, peak


def test_fifty_thousand_rows_stream_in_flat_memory(client):
    client.force_login(UserFactory(office=True))
    placement = PlacementFactory(
        student__first_name="=HYPERLINK(1)", student__last_name="", student__student_number="1"
    )
    add_cases(5_000, placement)
    small_rows, small_peak = stream_peak(client, URL)
    add_cases(45_000, placement)
    rows, peak = stream_peak(client, URL)
    assert (small_rows, rows) == (5_001, 50_001)  # the header and one line per case
    # Ten times the rows, about the same memory: a chunk of rows at a time, never the export.
    assert peak < 1.5 * small_peak + 1024 * 1024, (small_peak, peak)
    assert peak < 16 * 1024 * 1024


def test_the_export_reads_chunks_of_rows_in_few_queries(client, monkeypatch):
    client.force_login(UserFactory(office=True))
    placement = PlacementFactory(student__first_name="=cmd", student__last_name="Smit")
    add_cases(25, placement)
    for case in Case.objects.all()[:3]:
        CaseCategory.objects.create(case=case, category=Category.CLASSROOM)
    monkeypatch.setattr(selectors, "EXPORT_CHUNK", 10)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(URL)
        body = b"".join(response.streaming_content).decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(body)))
    assert len(lines) == 26
    category_queries = [q for q in ctx.captured_queries if "cases_casecategory" in q["sql"]]
    if connection.vendor == "postgresql":
        # The database writes every line, the categories included: one COPY for all rows.
        assert len(category_queries) == 1
        assert category_queries[0]["sql"].startswith("COPY (")
        assert "string_agg" in category_queries[0]["sql"].lower()
    else:
        # The cases' rows, then one query for the categories of each chunk of 10 cases.
        assert len(category_queries) == 3
    first = lines[1]
    assert first[1] == "'=cmd Smit"  # the safe-cell helper of every export
    assert first[7] == str(State.IMPROVING.label)
    with_category = [line for line in lines[1:] if line[8]]
    assert len(with_category) == 3
    assert {line[8] for line in with_category} == {str(Category.CLASSROOM.label)}


def test_the_csv_writer_writes_every_moment_as_date_and_minutes():
    import datetime as dt

    from cases.exports import SafeCSVWriter

    buffer = io.StringIO()
    naive = dt.datetime(2026, 3, 4, 5, 6, 7, 890)
    aware = dt.datetime(2026, 3, 4, 5, 6, 7, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    SafeCSVWriter(buffer).writerow([naive, aware])
    assert buffer.getvalue() == '"2026-03-04 05:06","2026-03-04 05:06"\r\n'


def test_the_csv_times_are_local_minutes_whichever_database_writes_them(client):
    """PostgreSQL writes the times' text itself (to_char); SQLite leaves it to Python. Either
    way: local time (summer and winter time, past midnight), cut after the minutes, empty when
    there is none."""
    import datetime as dt

    client.force_login(UserFactory(office=True))
    placement = PlacementFactory()
    utc = dt.UTC
    Case.objects.create(
        placement=placement,
        state=State.IMPROVING,
        description="x",
        signalled_by=placement.student,
        signalled_at=dt.datetime(2026, 7, 1, 22, 30, 59, tzinfo=utc),  # CEST: 00:30 next day
        state_changed_at=dt.datetime(2026, 1, 15, 23, 59, 59, tzinfo=utc),  # CET: 00:59
    )
    body = b"".join(client.get(URL).streaming_content).decode("utf-8-sig")
    header, row = list(csv.reader(io.StringIO(body)))
    assert row[-3:] == ["2026-07-02 00:30", "2026-01-16 00:59", ""]
    # The spreadsheet (XLSX) keeps date cells: naive local datetimes.
    [plain] = selectors.export_rows(Case.objects.all())
    assert plain[-3:] == [
        dt.datetime(2026, 7, 2, 0, 30, 59),
        dt.datetime(2026, 1, 16, 0, 59, 59),
        None,
    ]
    # Python's own text (the SQLite path) is the same text.
    if connection.vendor == "postgresql":
        import types
        from unittest import mock

        with mock.patch.object(selectors, "connection", types.SimpleNamespace(vendor="sqlite")):
            [python] = selectors.export_rows(Case.objects.all(), text_dates=True)
        assert python[-3:] == row[-3:][:2] + [None]


def test_python_whitespace_is_what_str_strip_strips():
    import sys

    from cases.exports import PYTHON_WHITESPACE

    assert "".join(
        c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace()
    ) == PYTHON_WHITESPACE


ONLY_POSTGRESQL = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the database writes the CSV lines on PostgreSQL only; CI runs this on PostgreSQL",
)

# Texts PostgreSQL can hold (no NUL, no lone surrogates), with the spreadsheet's triggers and
# blanks made likely at the start.
_texts = st.builds(
    lambda head, tail: head + tail,
    st.sampled_from(
        ["", "=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", " ", "\u00a0 =", '"', "'"]
    ),
    st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=12),
)


@ONLY_POSTGRESQL
@settings(max_examples=150, deadline=None)
@given(values=st.lists(st.one_of(st.none(), _texts), min_size=1, max_size=4))
def test_the_database_writes_the_line_the_python_writer_writes(values):
    from cases.exports import SafeCellText, SafeCSVWriter, copy_csv

    class Echo:
        def write(self, value):
            return value

    cells = {
        f"c{i}": SafeCellText(Value(v, output_field=CharField())) for i, v in enumerate(values)
    }
    if not Case.objects.exists():  # a row to select the texts with
        add_cases(1, PlacementFactory())
    rows = Case.objects.annotate(**cells).values_list(*cells)[:1]
    [line] = copy_csv(rows)
    assert line.decode() == SafeCSVWriter(Echo()).writerow(values)


def hostile_export_cases() -> None:
    import datetime as dt

    names = [
        ('=HYPERLINK("x")', "Smit"),
        ("\u00a0\t", " "),  # only blanks: the username
        ("Jan", '"de" Vries\r\n=1+1'),
        ("", "-Ali"),
        ("Ｚoë", "van\u3000"),
    ]
    utc = dt.UTC
    for i, (first, last) in enumerate(names):
        placement = PlacementFactory(
            student__first_name=first,
            student__last_name=last,
            student__username=f"@user{i}",
            student__student_number="" if i % 2 else f"+{i}",
            school__name=f'School, {i};\t"',
        )
        case = Case.objects.create(
            **({"pk": 123_456} if i == 0 else {}),
            placement=placement,
            state=[State.IMPROVING, State.CLOSED_RESOLVED][i % 2],
            description="x",
            signalled_by=placement.student,
            signalled_at=dt.datetime(2026, 7, 1, 22, 30, 59, tzinfo=utc),
            state_changed_at=dt.datetime(2026, 1, 15, 23, 59, 59, tzinfo=utc),
            closed_at=dt.datetime(2026, 3, 29, 1, 0, tzinfo=utc) if i % 2 else None,
        )
        for category in [Category.CLASSROOM, Category.WELLBEING][: i % 3]:
            CaseCategory.objects.create(case=case, category=category)
    CaseCategory.objects.create(case=Case.objects.get(pk=123_456), category="retired-value")


@ONLY_POSTGRESQL
@pytest.mark.parametrize("language", ["nl", "en"])
def test_the_database_writes_the_same_file_as_python(language):
    import types
    from unittest import mock

    from django.utils import translation

    hostile_export_cases()
    qs = Case.objects.order_by("-pk")
    with translation.override(language):
        database = b"".join(selectors.export_csv_lines(qs, chunk_rows=2))
        with mock.patch.object(selectors, "connection", types.SimpleNamespace(vendor="sqlite")):
            python = b"".join(selectors.export_csv_lines(qs, chunk_rows=2))
    assert database == python
    lines = list(csv.reader(io.StringIO(database.decode("utf-8-sig"), newline="")))
    assert len(lines) == 6
    by_number = {line[0]: line for line in lines[1:]}
    first = by_number["SB-123456"]
    assert first[1] == '\'=HYPERLINK("x") Smit'
    assert first[8].endswith("retired-value")
    assert any(line[1] == "'@user1" for line in lines[1:])  # only blanks: the username


def test_an_export_stopped_half_way_leaves_the_connection_usable():
    """A browser that stops the download closes the stream: the open COPY (PostgreSQL) or
    cursor is ended, and the next query on the same connection works."""
    add_cases(1_500, PlacementFactory())
    chunks = selectors.export_csv_lines(Case.objects.order_by("pk"), chunk_rows=100)
    next(chunks)  # the header
    first = next(chunks)
    assert first.count(b"\r\n") == 100
    chunks.close()
    assert Case.objects.count() == 1_500


def test_a_filter_that_matches_nothing_exports_only_the_header():
    add_cases(3, PlacementFactory())
    body = b"".join(selectors.export_csv_lines(Case.objects.none()))
    assert body.decode("utf-8-sig").count("\r\n") == 1
