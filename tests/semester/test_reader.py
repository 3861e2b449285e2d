"""Reading placement files (semester/reader.py): encodings, delimiters, sheets, headers, limits.

Every way a file can be wrong ends in a FileProblem with a Dutch message, never an exception
from a parser."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import pytest
from django.utils import translation

from semester.columns import column_for
from semester.reader import FileProblem, read_table, sniff_delimiter
from semester.rows import parse_date, parse_days

from .helpers import SAMPLE_CSV, SAMPLE_ROWS, SAMPLE_XLSX, csv_bytes, row, table, xlsx_bytes


@pytest.fixture(autouse=True)
def _nl():
    with translation.override("nl"):
        yield


def problem(data: bytes, **limits) -> str:
    with pytest.raises(FileProblem) as caught:
        table(data, **limits)
    return caught.value.message


def test_the_sample_csv_and_xlsx_read_to_the_same_rows():
    from_csv, from_xlsx = table(SAMPLE_CSV.read_bytes()), table(SAMPLE_XLSX.read_bytes())
    assert len(from_csv.rows) == len(from_xlsx.rows) == SAMPLE_ROWS
    assert [normal(v) for _n, v in from_csv.rows] == [normal(v) for _n, v in from_xlsx.rows]
    assert from_csv.source == "CSV, UTF-8 (BOM), „;”"
    assert from_xlsx.source == "XLSX, „Plaatsingen”"  # the second sheet: the first is a note
    assert from_csv.columns["email"] == "E-mailadres"
    assert from_csv.ignored == ["Opmerking"]
    number, first = from_csv.rows[0]
    assert number == from_xlsx.rows[0][0] == 2
    assert first["start_date"] == "01-02-2027"
    assert from_xlsx.rows[0][1]["start_date"] == "2027-02-01"  # a date cell, as an ISO date


def normal(values: dict) -> dict:
    """The same value, whichever way the file wrote it (dates, "2,5" or 2.5 days)."""
    found = dict(values)
    for key in ("start_date", "end_date"):
        found[key] = parse_date(found[key])
    found["days_per_week"] = parse_days(found["days_per_week"])
    return found


@pytest.mark.parametrize(
    ("header", "key"),
    [
        ("Studentnummer", "student_number"),
        ("STUDENTNR", "student_number"),
        ("Student number", "student_number"),
        ("E-mailadres", "email"),
        ("e-mail adres", "email"),
        ("Email address", "email"),
        (" Achternaam ", "last_name"),
        ("Surname", "last_name"),
        ("Stageschool", "school_name"),
        ("BRIN-nummer", "brin"),
        ("E-mail mentor", "mentor_email"),
        ("Coördinerend schoolopleider", "coordinating_trainer_name"),
        ("SLB'er", "study_coach_name"),
        ("Dagen per week", "days_per_week"),
        ("Start date", "start_date"),
        ("Opmerking", None),
    ],
)
def test_dutch_and_english_headers_in_any_case(header, key):
    assert column_for(header) == key


ROWS = [row(1, Achternaam="Çelik", Voornaam="Zoë"), row(2)]


@pytest.mark.parametrize(
    ("encoding", "delimiter", "source"),
    [
        ("utf-8-sig", ";", "CSV, UTF-8 (BOM), „;”"),
        ("utf-8", ",", "CSV, UTF-8, „,”"),
        ("cp1252", ";", "CSV, Windows-1252, „;”"),
        ("utf-16", "\t", "CSV, UTF-16, „tab”"),
    ],
)
def test_encodings_and_delimiters_read_to_the_same_rows(encoding, delimiter, source):
    headers = [*ROWS[0], "Coördinerend schoolopleider"]
    result = table(csv_bytes(ROWS, headers=headers, delimiter=delimiter, encoding=encoding))
    assert result.source == source
    assert [values["last_name"] for _n, values in result.rows] == ["Çelik", "Nummer2"]
    assert result.rows[0][1]["first_name"] == "Zoë"
    assert "coordinating_trainer_name" in result.columns


def test_the_delimiter_is_sniffed_from_the_header_line():
    assert sniff_delimiter("a;b;c\n1,5;2;3\n") == ";"
    assert sniff_delimiter("a,b,c\n") == ","
    assert sniff_delimiter("a\tb\n") == "\t"


def test_a_title_row_above_the_header_and_empty_rows_are_fine_and_rows_keep_their_numbers():
    header = list(row())
    data = xlsx_bytes(
        [
            ["Plaatsingen semester 1"],
            [],
            header,
            list(row(1).values()),
            [],
            [],
            list(row(2).values()),
        ]
    )
    result = table(data)
    assert [n for n, _values in result.rows] == [4, 7]


def test_a_workbook_takes_the_first_sheet_with_the_columns():
    data = xlsx_bytes(
        [["Toelichting"], ["Dit blad is uitleg."]],
        sheets={"Export": [list(row()), list(row(1).values())], "Later": [list(row())]},
    )
    result = table(data)
    assert result.source == "XLSX, „Export”"
    assert len(result.rows) == 1


def test_xlsx_values_are_data_formulas_are_never_evaluated():
    header = list(row())
    values = list(row(1).values())
    formula = list(values)
    formula[header.index("Achternaam")] = "=1+1"  # openpyxl writes this as a formula
    data = xlsx_bytes([header, formula])
    ((_number, read),) = table(data).rows
    assert read["last_name"] == ""  # no value stored by Excel: nothing, never "2" or "=1+1"


def test_excel_dates_and_numbers_become_text():
    header = list(row())
    values = list(row(1).values())
    values[header.index("Startdatum")] = dt.datetime(2026, 9, 1)
    values[header.index("Studentnummer")] = 2000001.0
    values[header.index("Dagen per week")] = 2.5
    ((_number, read),) = table(xlsx_bytes([header, values])).rows
    assert read["start_date"] == "2026-09-01"
    assert read["student_number"] == "2000001"
    assert read["days_per_week"] == "2.5"


def test_long_and_short_rows_are_cut_and_padded_extra_columns_ignored():
    text = (
        "Opmerking;" + ";".join(row()) + "\r\n" + "x;" + ";".join(row(1).values()) + ";extra;;\r\n"
    )
    text += "y;2000002;Kort\r\n"
    result = table(text.encode())
    assert len(result.rows) == 2
    assert result.rows[1][1]["first_name"] == "Kort"
    assert result.rows[1][1]["email"] == ""
    assert "Opmerking" in result.ignored


def test_file_level_problems_have_a_dutch_message():
    assert problem(b"") == "Het bestand is leeg."
    assert "oud Excel-bestand" in problem(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100)
    assert "als Excel-werkmap" in problem(b"PK\x03\x04 not really a zip")
    broken = io.BytesIO()
    with zipfile.ZipFile(broken, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
    assert "als Excel-werkmap" in problem(broken.getvalue())
    # No header with the required columns: which ones are missing, and what was found.
    missing = problem(csv_bytes([row()], headers=["Studentnummer", "Naam", "E-mailadres"]))
    assert "Verplichte kolommen ontbreken" in missing
    assert "„Voornaam”" in missing and "„E-mail mentor”" in missing and "„Naam”" in missing
    assert "geen stageplekken" in problem(csv_bytes([], headers=list(row())))
    assert "tekencodering" in problem(b"\x00a\x00b" * 200)
    assert "tekencodering" in problem(b"Studentnummer;Naam\r\n\x81\x8d\x8f\x90\x9d;x\r\n")
    twice = csv_bytes([row()], headers=[*row(), "E-mail"])
    assert "betekenen allebei" in problem(twice)


def test_limits_rows_size_and_a_cell_beyond_the_csv_limit():
    rows = [row(n) for n in range(1, 12)]
    assert "meer dan 10 rijen" in problem(csv_bytes(rows), max_rows=10)
    assert len(table(csv_bytes(rows[:10]), max_rows=10).rows) == 10
    assert "groter dan 0,001 MB" in problem(csv_bytes(rows), max_bytes=1_000)
    huge = csv_bytes([row(1, Achternaam="x" * 200_000)])
    assert "rond rij" in problem(huge)


def test_a_zip_bomb_is_refused_before_it_is_unpacked():
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"0" * 30_000_000)
    assert "pakt uit" in problem(bomb.getvalue())


def test_hostile_cells_are_read_as_they_are_for_the_import_to_refuse():
    hostile = row(
        1,
        Achternaam='=HYPERLINK("http://evil.example","klik")',
        Voornaam="Regel\r\nbreuk",
        Opleiding="nul\x00teken",
    )
    ((_n, read),) = read_table(csv_bytes([hostile]), max_rows=10, max_bytes=10**6).rows
    assert read["last_name"].startswith("=HYPERLINK")
    assert read["first_name"] == "Regel\r\nbreuk"
    assert read["programme"] == "nul\x00teken"
