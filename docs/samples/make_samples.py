#!/usr/bin/env python3
"""Write the sample placement files (made-up people and schools) next to this script:

- placements-sample.csv: as Dutch Excel saves "CSV UTF-8": a BOM, semicolons, CRLF, dates as
  01-09-2026 and "2,5" days;
- placements-sample.xlsx: the same rows in a workbook, with real date cells, on the sheet
  "Plaatsingen" after a sheet "Toelichting" (the import takes the sheet with the columns).

Run: .venv/bin/python docs/samples/make_samples.py (tests/semester checks both files read to the
same rows).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

from openpyxl import Workbook

HERE = Path(__file__).resolve().parent
HEADERS = [
    "Studentnummer",
    "Voornaam",
    "Tussenvoegsel",
    "Achternaam",
    "E-mailadres",
    "Opleiding",
    "Studiejaar",
    "Stageschool",
    "BRIN",
    "Bestuur",
    "Regio",
    "Plaats",
    "Mentor",
    "E-mail mentor",
    "Schoolopleider",
    "E-mail schoolopleider",
    "Studiecoach",
    "E-mail studiecoach",
    "Coördinerend schoolopleider",
    "E-mail coördinerend schoolopleider",
    "Startdatum",
    "Einddatum",
    "Blok",
    "Dagen per week",
    "Opmerking",
]
# (name, BRIN, board, region, city, school trainer, coordinating trainer)
SCHOOLS = [
    (
        "OBS De Regenboog",
        "91XA",
        "Stichting Openbaar Onderwijs Vallei",
        "midden",
        "Veenendaal",
        ("Marieke Dijkstra", "m.dijkstra@regenboog.example.org"),
        ("Henk Verhoeven", "h.verhoeven@soov.example.org"),
    ),
    (
        "CBS Het Kompas",
        "92XB",
        "Stichting Christelijk Onderwijs Eemland",
        "midden",
        "Amersfoort",
        ("Joost van Dam", "j.vandam@hetkompas.example.org"),
        ("Ingrid Bos", "i.bos@scoe.example.org"),
    ),
    (
        "Stedelijk Lyceum Zuid",
        "93XC",
        "Stichting Voortgezet Onderwijs Rivierenland",
        "zuid",
        "Tiel",
        ("Sanne de Boer", "s.deboer@slz.example.org"),
        ("Peter Smits", "p.smits@svor.example.org"),
    ),
    (
        "Het Noorderlicht College",
        "94XD",
        "Stichting Onderwijs Noord",
        "noord",
        "Zwolle",
        ("Fatima El Amrani", "f.elamrani@noorderlicht.example.org"),
        ("Klaas Hoekstra", "k.hoekstra@son.example.org"),
    ),
    (
        "IKC De Vlinder",
        "95XE",
        "Stichting Openbaar Onderwijs Vallei",
        "midden",
        "Ede",
        ("Linda Vermeulen", "l.vermeulen@devlinder.example.org"),
        ("Henk Verhoeven", "h.verhoeven@soov.example.org"),
    ),
    (
        "Montessorischool De Linde",
        "96XF",
        "Stichting Christelijk Onderwijs Eemland",
        "midden",
        "Soest",
        ("Bart Kuipers", "b.kuipers@delinde.example.org"),
        ("Ingrid Bos", "i.bos@scoe.example.org"),
    ),
]
COACHES = [
    ("Annelies Vos", "a.vos@hogeschool.example.org"),
    ("Ruben Mulder", "r.mulder@hogeschool.example.org"),
    ("Yvonne Peters", "y.peters@hogeschool.example.org"),
    ("Mehmet Yilmaz", "m.yilmaz@hogeschool.example.org"),
]
PROGRAMMES = [
    "Leraar Basisonderwijs (Pabo)",
    "Leraar Engels",
    "Leraar Geschiedenis",
    "Leraar Wiskunde",
]
FIRST = [
    "Anna",
    "Daan",
    "Sophie",
    "Lucas",
    "Emma",
    "Milan",
    "Julia",
    "Sem",
    "Tess",
    "Noah",
    "Lotte",
    "Finn",
    "Sara",
    "Jesse",
    "Fenna",
    "Thijs",
    "Noor",
    "Bram",
    "Eva",
    "Ruben",
    "Lieke",
    "Stijn",
    "Iris",
    "Gijs",
    "Yara",
    "Mees",
    "Zoë",
    "Ties",
    "Nina",
    "Luuk",
]
LAST = [
    ("", "Jansen"),
    ("de", "Vries"),
    ("van den", "Berg"),
    ("", "Bakker"),
    ("", "Visser"),
    ("", "Smit"),
    ("", "Meijer"),
    ("de", "Graaf"),
    ("", "Mulder"),
    ("van", "Leeuwen"),
    ("", "Brouwer"),
    ("de", "Wit"),
    ("", "Dekker"),
    ("van", "Dijk"),
    ("", "Hendriks"),
    ("", "Koster"),
    ("", "Prins"),
    ("van der", "Linden"),
    ("", "Huisman"),
    ("", "Peeters"),
    ("", "Kok"),
    ("van", "Wijk"),
    ("", "Schouten"),
    ("", "Post"),
    ("", "Vink"),
    ("ter", "Horst"),
    ("", "Willems"),
    ("", "Maas"),
    ("", "Koning"),
    ("", "Çelik"),
]
MENTOR_FIRST = ["Karin", "Wouter", "Esther", "Rob", "Miriam", "Jeroen", "Anouk", "Dennis"]
MENTOR_LAST = ["Hofman", "Timmermans", "Groen", "Scholten", "Kramer", "Veenstra", "Boer", "Lammers"]


def rows() -> list[list]:
    found = []
    for i in range(30):
        school = SCHOOLS[i % len(SCHOOLS)]
        name, brin, board, region, city, trainer, coordinator = school
        prefix, last = LAST[i]
        first = FIRST[i]
        slug = f"{first}.{prefix.replace(' ', '')}{last}".lower()
        slug = slug.replace("ç", "c").replace("ë", "e")
        mentor_first = MENTOR_FIRST[i % len(MENTOR_FIRST)]
        mentor_last = MENTOR_LAST[(i * 3) % len(MENTOR_LAST)]
        mentor = (
            f"{mentor_first} {mentor_last}",
            f"{mentor_first[0]}.{mentor_last}@{brin.lower()}.example.org".lower(),
        )
        coach = COACHES[i % len(COACHES)]
        block, start, end = (
            ("1", dt.date(2026, 9, 1), dt.date(2027, 1, 29))
            if i % 3
            else ("2", dt.date(2027, 2, 1), dt.date(2027, 6, 25))
        )
        days = ["2", "2,5", "3", "4"][i % 4]
        year = 1 + i % 4
        found.append(
            [
                str(1_840_100 + i * 7),
                first,
                prefix,
                last,
                f"{slug}@student.example.org",
                PROGRAMMES[i % len(PROGRAMMES)],
                year,
                name,
                brin,
                board,
                region,
                city,
                *mentor,
                *trainer,
                *coach,
                *(coordinator if i % 5 else ("", "")),
                start,
                end,
                block,
                days,
                "LIO-stage" if year == 4 else "",
            ]
        )
    return found


def write_csv(data: list[list]) -> None:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADERS)
    for row in data:
        writer.writerow([v.strftime("%d-%m-%Y") if isinstance(v, dt.date) else v for v in row])
    (HERE / "placements-sample.csv").write_bytes(out.getvalue().encode("utf-8-sig"))


def write_xlsx(data: list[list]) -> None:
    book = Workbook()
    notes = book.active
    notes.title = "Toelichting"
    notes.append(["Voorbeeldbestand met verzonnen namen, voor de import van stageplaatsen."])
    sheet = book.create_sheet("Plaatsingen")
    sheet.append(HEADERS)
    for row in data:
        sheet.append([float(v.replace(",", ".")) if i == 23 else v for i, v in enumerate(row)])
    for cells in sheet.iter_rows(min_row=2, min_col=21, max_col=22):
        for cell in cells:
            cell.number_format = "DD-MM-YYYY"
    book.save(HERE / "placements-sample.xlsx")


if __name__ == "__main__":
    data = rows()
    write_csv(data)
    write_xlsx(data)
    print(f"{len(data)} rows written to {HERE}")
