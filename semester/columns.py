"""The columns of a placement file: what each means, and the headers offices write for it.

A header is matched after folding case, accents, spaces and punctuation away ("E-mailadres",
"e-mail adres" and "EMAILADRES" are one header), so the usual Dutch exports (Osiris-like student
administration, OnStage-like placement matching) and English headers are read without a
mapping step. Columns not listed here are ignored.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Column:
    key: str
    label: Promise  # the header we write ourselves (the sample, the README, messages)
    aliases: tuple[str, ...]
    max_length: int = 150


COLUMNS: tuple[Column, ...] = (
    Column(
        "student_number",
        _("Student number"),
        ("studentnummer", "studentnr", "student number", "student no", "student id", "snr"),
        20,
    ),
    Column("first_name", _("First name"), ("voornaam", "roepnaam", "first name", "given name")),
    Column(
        "prefix",
        _("Surname prefix"),
        (
            "tussenvoegsel",
            "tussenvoegsels",
            "voorvoegsel",
            "voorvoegsels",
            "prefix",
            "surname prefix",
            "infix",
        ),
        30,
    ),
    Column(
        "last_name",
        _("Last name"),
        ("achternaam", "familienaam", "last name", "surname", "family name"),
    ),
    Column(
        "email",
        _("E-mail address"),
        (
            "e-mailadres",
            "e-mail",
            "e-mail student",
            "e-mailadres student",
            "student e-mail",
            "email address",
            "e-mail address",
            "student email address",
        ),
        254,
    ),
    Column(
        "programme", _("Programme"), ("opleiding", "programme", "program", "study programme"), 100
    ),
    Column("study_year", _("Study year"), ("studiejaar", "leerjaar", "study year", "year"), 10),
    Column(
        "school_name",
        _("Training school"),
        (
            "stageschool",
            "opleidingsschool",
            "school",
            "schoolnaam",
            "naam school",
            "naam stageschool",
            "training school",
            "school name",
        ),
        200,
    ),
    Column(
        "brin", _("BRIN"), ("brin", "brinnummer", "brin-nummer", "brin number", "brin code"), 10
    ),
    Column(
        "school_code",
        _("School code"),
        ("schoolcode", "code school", "locatiecode", "school code", "school id"),
        20,
    ),
    Column("board", _("Board"), ("bestuur", "schoolbestuur", "board", "school board"), 200),
    Column("region", _("Region"), ("regio", "vakantieregio", "region", "holiday region"), 20),
    Column("city", _("City"), ("plaats", "vestigingsplaats", "city", "town"), 100),
    Column(
        "mentor_name",
        _("Mentor"),
        ("mentor", "naam mentor", "mentor naam", "werkplekbegeleider", "mentor name"),
    ),
    Column(
        "mentor_email",
        _("Mentor e-mail"),
        (
            "e-mail mentor",
            "e-mailadres mentor",
            "mentor e-mail",
            "mentor e-mailadres",
            "e-mail werkplekbegeleider",
        ),
        254,
    ),
    Column(
        "school_trainer_name",
        _("School trainer"),
        ("schoolopleider", "naam schoolopleider", "school trainer", "school trainer name"),
    ),
    Column(
        "school_trainer_email",
        _("School trainer e-mail"),
        (
            "e-mail schoolopleider",
            "e-mailadres schoolopleider",
            "schoolopleider e-mail",
            "school trainer e-mail",
        ),
        254,
    ),
    Column(
        "study_coach_name",
        _("Study coach"),
        (
            "studiecoach",
            "naam studiecoach",
            "slb",
            "slb-er",
            "slber",
            "studieloopbaanbegeleider",
            "study coach",
            "study coach name",
        ),
    ),
    Column(
        "study_coach_email",
        _("Study coach e-mail"),
        (
            "e-mail studiecoach",
            "e-mailadres studiecoach",
            "e-mail slb",
            "e-mail slb-er",
            "e-mail studieloopbaanbegeleider",
            "studiecoach e-mail",
            "study coach e-mail",
        ),
        254,
    ),
    Column(
        "coordinating_trainer_name",
        _("Coordinating school trainer"),
        (
            "coordinerend schoolopleider",
            "naam coordinerend schoolopleider",
            "coordinating school trainer",
            "coordinating trainer",
        ),
    ),
    Column(
        "coordinating_trainer_email",
        _("Coordinating school trainer e-mail"),
        (
            "e-mail coordinerend schoolopleider",
            "e-mailadres coordinerend schoolopleider",
            "coordinerend schoolopleider e-mail",
            "coordinating school trainer e-mail",
            "coordinating trainer e-mail",
        ),
        254,
    ),
    Column(
        "start_date",
        _("Start date"),
        ("startdatum", "begindatum", "start", "start date", "begin date", "van"),
        30,
    ),
    Column("end_date", _("End date"), ("einddatum", "end date", "eind", "end", "tot"), 30),
    Column("block", _("Block"), ("blok", "periode", "onderwijsperiode", "block", "period"), 20),
    Column(
        "days_per_week",
        _("Days per week"),
        ("dagen per week", "stagedagen", "stagedagen per week", "days per week"),
        10,
    ),
)
BY_KEY = {column.key: column for column in COLUMNS}

# Without these a file cannot be imported at all (a file-level error names the missing ones).
# The school is named by at least one of SCHOOL_KEYS.
REQUIRED = (
    "student_number",
    "first_name",
    "last_name",
    "email",
    "mentor_name",
    "mentor_email",
    "school_trainer_name",
    "school_trainer_email",
    "study_coach_name",
    "study_coach_email",
    "start_date",
)
SCHOOL_KEYS = ("brin", "school_code", "school_name")


def fold(header: object) -> str:
    """A header reduced to lower-case letters and digits: "E-mail adres" -> "emailadres"."""
    text = unicodedata.normalize("NFKD", str(header or "")).casefold()
    text = "".join(c for c in text if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]", "", text)


ALIASES: dict[str, str] = {}
for _column in COLUMNS:
    for _alias in (_column.key, *_column.aliases):
        if ALIASES.setdefault(fold(_alias), _column.key) != _column.key:
            raise ValueError(f"header {_alias!r} means two columns")


def column_for(header: object) -> str | None:
    return ALIASES.get(fold(header))


def missing_required(keys: set[str]) -> list[str]:
    """The required columns not among `keys` (the school counts as one column)."""
    missing = [key for key in REQUIRED if key not in keys]
    if not keys & set(SCHOOL_KEYS):
        missing.append("school_name")
    return missing
