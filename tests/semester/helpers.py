"""Placement files for the import's tests: the sample, and small files made row by row."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from openpyxl import Workbook

from cases.models import Board, CaseEvent, Partnership, Placement, TrainingSchool, User
from notifications.models import Notification
from semester.reader import read_table

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_CSV = ROOT / "docs" / "samples" / "placements-sample.csv"
SAMPLE_XLSX = ROOT / "docs" / "samples" / "placements-sample.xlsx"
SAMPLE_ROWS = 30

HEADERS = [
    "Studentnummer",
    "Voornaam",
    "Achternaam",
    "E-mailadres",
    "Opleiding",
    "Studiejaar",
    "Stageschool",
    "BRIN",
    "Bestuur",
    "Regio",
    "Mentor",
    "E-mail mentor",
    "Schoolopleider",
    "E-mail schoolopleider",
    "Studiecoach",
    "E-mail studiecoach",
    "Startdatum",
    "Einddatum",
    "Blok",
    "Dagen per week",
]


def row(n: int = 1, **changes: str) -> dict[str, str]:
    """A valid row (student n at a new school "Testschool" of a new board), with changes."""
    values = {
        "Studentnummer": f"{2_000_000 + n}",
        "Voornaam": "Student",
        "Achternaam": f"Nummer{n}",
        "E-mailadres": f"student{n}@student.example.org",
        "Opleiding": "Leraar Engels",
        "Studiejaar": "2",
        "Stageschool": "Testschool",
        "BRIN": "99TS",
        "Bestuur": "Stichting Test",
        "Regio": "midden",
        "Mentor": "Mia Mentor",
        "E-mail mentor": "mentor@testschool.example.org",
        "Schoolopleider": "Sam Opleider",
        "E-mail schoolopleider": "opleider@testschool.example.org",
        "Studiecoach": "Cor Coach",
        "E-mail studiecoach": "coach@hogeschool.example.org",
        "Startdatum": "01-09-2026",
        "Einddatum": "29-01-2027",
        "Blok": "1",
        "Dagen per week": "2,5",
    }
    values.update(changes)
    return values


def csv_bytes(
    rows: list[dict[str, str]],
    *,
    headers: list[str] | None = None,
    delimiter: str = ";",
    encoding: str = "utf-8-sig",
) -> bytes:
    headers = headers or (list(rows[0]) if rows else HEADERS)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(headers)
    for values in rows:
        writer.writerow([values.get(h, "") for h in headers])
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list], *, sheets: dict[str, list[list]] | None = None) -> bytes:
    """A workbook whose first sheet holds `rows` (header first), plus other sheets."""
    book = Workbook()
    sheet = book.active
    sheet.title = "Plaatsingen"
    for values in rows:
        sheet.append(values)
    for title, other in (sheets or {}).items():
        extra = book.create_sheet(title)
        for values in other:
            extra.append(values)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def table(data: bytes, *, max_rows: int = 10_000, max_bytes: int = 5_000_000):
    return read_table(data, max_rows=max_rows, max_bytes=max_bytes)


def sample_table():
    return table(SAMPLE_CSV.read_bytes())


def partnership() -> Partnership:
    return Partnership.objects.get_or_create(name="Opleidingsschool Test")[0]


def counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (User, Board, TrainingSchool, Placement, CaseEvent, Notification)
    }


def stamps() -> dict[int, tuple]:
    """Every placement's updated_at and fields, and every user's fields."""
    placements = {
        p.pk: (p.updated_at, p.mentor_id, p.end_date, p.days_per_week, p.block)
        for p in Placement.objects.all()
    }
    users = {
        u.pk: (u.username, u.email, u.first_name, u.last_name, u.student_number, u.password)
        for u in User.objects.all()
    }
    return {"placements": placements, "users": users}
