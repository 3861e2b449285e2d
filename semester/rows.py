"""One row of a placement file, checked cell by cell (`RowParser.parse` -> `Parsed`).

Every problem is a Dutch message that names the column as the file wrote it. A cell is refused
when it holds a NUL, a line break or another control character, when it is longer than its
column allows, or when a text starts like a formula (=, +, -, @). Matching against the
database is the planner's work (`services`).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from cases.models import Role, TrainingSchool
from cases.validators import EARLIEST_DATE, LATEST_DATE

from .columns import BY_KEY

# The staff roles of a row: (role, name column, e-mail column, required).
STAFF = (
    (Role.MENTOR, "mentor_name", "mentor_email", True),
    (Role.SCHOOL_TRAINER, "school_trainer_name", "school_trainer_email", True),
    (Role.STUDY_COACH, "study_coach_name", "study_coach_email", True),
    (Role.COORDINATING_TRAINER, "coordinating_trainer_name", "coordinating_trainer_email", False),
)
REGIONS = {
    "noord": TrainingSchool.Region.NORTH,
    "north": TrainingSchool.Region.NORTH,
    "n": TrainingSchool.Region.NORTH,
    "midden": TrainingSchool.Region.MIDDLE,
    "middle": TrainingSchool.Region.MIDDLE,
    "m": TrainingSchool.Region.MIDDLE,
    "zuid": TrainingSchool.Region.SOUTH,
    "south": TrainingSchool.Region.SOUTH,
    "z": TrainingSchool.Region.SOUTH,
    "s": TrainingSchool.Region.SOUTH,
}
CONTROL = re.compile("[\x01-\x08\x09\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
FORMULA_START = ("=", "+", "-", "@")
BRIN = re.compile(r"^[0-9]{2}[A-Z]{2}([0-9]{2})?$")
SCHOOL_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,19}$")
STUDENT_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,19}$")
DATE_FORMATS = ("%d-%m-%Y", "%d/%m/%Y", "%d.%m.%Y", "%Y-%m-%d", "%d-%m-%y", "%d/%m/%y")
EXCEL_EPOCH = dt.date(1899, 12, 30)


# --------------------------------------------------------------------------------------------
# Cells
# --------------------------------------------------------------------------------------------


def norm(text: str) -> str:
    """A name as compared: Unicode-normalised, case-folded, single spaces."""
    return " ".join(unicodedata.normalize("NFKC", text or "").casefold().split())


def shown(value: str, limit: int = 40) -> str:
    """A cell as a message may quote it: control characters made visible, shortened."""
    value = CONTROL.sub("\ufffd", value.replace("\x00", "\ufffd"))
    value = value.replace("\r", "\ufffd").replace("\n", "\ufffd")
    return value if len(value) <= limit else value[: limit - 1] + "…"


def cell_problem(value: str, max_length: int, *, text: bool = True) -> str | None:
    if "\x00" in value:
        return _("contains a null character (it often comes from copying out of another program)")
    if "\r" in value or "\n" in value:
        return _("contains a line break")
    if CONTROL.search(value):
        return _("contains an invisible control character (such as a tab)")
    if len(value) > max_length:
        return _("is too long: %(length)s characters, at most %(max)s") % {
            "length": f"{len(value):,}".replace(",", "."),
            "max": max_length,
        }
    if text and value.startswith(FORMULA_START):
        return _("begins with “%(char)s”: formulas are never imported; enter the value itself") % {
            "char": value[0]
        }
    return None


@functools.lru_cache(maxsize=4096)
def is_email(value: str) -> bool:
    """Django's e-mail check, once per address (the same mentor is on many rows)."""
    try:
        validate_email(value)
    except ValidationError:
        return False
    return True


def parse_date(value: str) -> dt.date | None:
    value = value.strip()
    if re.fullmatch(r"\d{5}(\.0+)?", value):  # an Excel date serial the file kept as a number
        day = EXCEL_EPOCH + dt.timedelta(days=int(float(value)))
        return day if EARLIEST_DATE <= day <= LATEST_DATE else None
    iso = re.fullmatch(r"(\d{4}-\d{2}-\d{2})[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?", value)
    if iso:
        value = iso.group(1)
    for fmt in DATE_FORMATS:
        try:
            day = dt.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
        return day if EARLIEST_DATE <= day <= LATEST_DATE else None
    return None


def parse_days(value: str) -> Decimal | None:
    try:
        days = Decimal(value.replace(",", "."))
    except (InvalidOperation, ValueError):
        return None
    if not days.is_finite() or not Decimal("0.5") <= days <= 5 or (days * 2) % 1:
        return None
    return days.quantize(Decimal("0.1"))


def split_name(full: str) -> tuple[str, str]:
    """ "Jan de Vries" -> ("Jan", "de Vries"); "de Vries, Jan" -> ("Jan", "de Vries")."""
    if "," in full:
        last, _comma, first = full.partition(",")
        return first.strip(), last.strip()
    first, _space, last = full.strip().partition(" ")
    return first, last.strip()


def full_name(first: str, last: str) -> str:
    return " ".join(f"{first} {last}".split())


def day(value: dt.date | None) -> str:
    """A date as the file writes it (01-09-2026), so the office finds it back."""
    return value.strftime("%d-%m-%Y") if value else "—"


def digits(value: Decimal | None) -> str:
    return f"{value.normalize():f}".replace(".", ",") if value is not None else "—"


@dataclass
class Parsed:
    number: int
    errors: list[str]
    student_number: str = ""
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    staff: dict = field(default_factory=dict)  # role -> (name, e-mail)
    school_name: str = ""
    brin: str = ""
    school_code: str = ""
    board: str = ""
    region: str = ""
    city: str = ""
    values: dict = field(default_factory=dict)  # the placement's scalar fields given


# --------------------------------------------------------------------------------------------
# Reading a row
# --------------------------------------------------------------------------------------------


class RowParser:
    def __init__(self, columns: dict[str, str]) -> None:
        self.columns = columns

    def header(self, key: str) -> str:
        return self.columns.get(key) or str(BY_KEY[key].label)

    def text(
        self, row: dict, key: str, errors: list[str], *, required: bool = False, formula=True
    ) -> str:
        value = (row.get(key) or "").strip()
        if value in ("", "-"):
            if required:
                errors.append(_("“%(column)s” is empty.") % {"column": self.header(key)})
            return ""
        problem = cell_problem(value, BY_KEY[key].max_length, text=formula)
        if problem:
            errors.append(
                _("“%(column)s” %(problem)s.") % {"column": self.header(key), "problem": problem}
            )
            return ""
        return value

    def email(self, row: dict, key: str, errors: list[str], *, required: bool = True) -> str:
        value = self.text(row, key, errors, required=required)
        if not value:
            return ""
        value = value.lower()
        if not is_email(value):
            errors.append(
                _("“%(column)s”: “%(value)s” is not an e-mail address.")
                % {"column": self.header(key), "value": shown(value)}
            )
            return ""
        return value

    def parse(self, number: int, row: dict) -> Parsed:
        errors: list[str] = []
        p = Parsed(number=number, errors=errors)
        p.student_number = self.text(row, "student_number", errors, required=True)
        if p.student_number and not STUDENT_NUMBER.match(p.student_number):
            errors.append(
                _("“%(column)s”: “%(value)s” is not a student number.")
                % {"column": self.header("student_number"), "value": shown(p.student_number)}
            )
            p.student_number = ""
        p.first_name = self.text(row, "first_name", errors, required=True)
        prefix = self.text(row, "prefix", errors)
        last = self.text(row, "last_name", errors, required=True)
        p.last_name = f"{prefix} {last}".strip() if last else ""
        p.email = self.email(row, "email", errors)
        for role, name_key, email_key, required in STAFF:
            name = self.text(row, name_key, errors, required=required)
            email = self.email(row, email_key, errors, required=required)
            if not required and bool(name) != bool(email):
                missing = email_key if name else name_key
                if (row.get(missing) or "").strip() in ("", "-"):
                    errors.append(_("“%(column)s” is empty.") % {"column": self.header(missing)})
            if name and email:
                p.staff[role] = (name, email)
        p.school_name = self.text(row, "school_name", errors)
        brin = self.text(row, "brin", errors)
        if brin:
            brin = brin.upper().replace(" ", "")
            if BRIN.match(brin):
                p.brin = brin
            else:
                errors.append(
                    _(
                        "“%(column)s”: “%(value)s” is not a BRIN number (such as 12AB, or 12AB01 "
                        "with the branch)."
                    )
                    % {"column": self.header("brin"), "value": shown(brin)}
                )
        code = self.text(row, "school_code", errors)
        if code:
            if SCHOOL_CODE.match(code):
                p.school_code = code
            else:
                errors.append(
                    _("“%(column)s”: “%(value)s” is not a school code (letters and digits).")
                    % {"column": self.header("school_code"), "value": shown(code)}
                )
        if not (p.school_name or p.brin or p.school_code) and not any(
            (row.get(k) or "").strip() for k in ("school_name", "brin", "school_code")
        ):
            errors.append(_("The training school is missing (its name, BRIN number or code)."))
        p.board = self.text(row, "board", errors)
        region = self.text(row, "region", errors)
        if region:
            folded = norm(region).removeprefix("regio ").removeprefix("region ").strip()
            if folded in REGIONS:
                p.region = REGIONS[folded]
            else:
                errors.append(
                    _("“%(column)s”: “%(value)s” is not a region (noord, midden or zuid).")
                    % {"column": self.header("region"), "value": shown(region)}
                )
        p.city = self.text(row, "city", errors)
        for key in ("start_date", "end_date"):
            value = self.text(row, key, errors, required=key == "start_date", formula=False)
            if value:
                parsed = parse_date(value)
                if parsed is None:
                    errors.append(
                        _(
                            "“%(column)s”: “%(value)s” is not a date from 2000 to 2099; write it "
                            "as 01-09-2026."
                        )
                        % {"column": self.header(key), "value": shown(value)}
                    )
                else:
                    p.values[key] = parsed
        start, end = p.values.get("start_date"), p.values.get("end_date")
        if start and end and end < start:
            errors.append(
                _("The end date %(end)s lies before the start date %(start)s.")
                % {"end": day(end), "start": day(start)}
            )
        block = self.text(row, "block", errors)
        if block:
            p.values["block"] = block
        programme = self.text(row, "programme", errors)
        if programme:
            p.values["programme"] = programme
        days = self.text(row, "days_per_week", errors, formula=False)
        if days:
            parsed_days = parse_days(days)
            if parsed_days is None:
                errors.append(
                    _("“%(column)s”: “%(value)s” is not a number of days from 0,5 to 5.")
                    % {"column": self.header("days_per_week"), "value": shown(days)}
                )
            else:
                p.values["days_per_week"] = parsed_days
        year = self.text(row, "study_year", errors, formula=False)
        if year:
            if year.isdigit() and 1 <= int(year) <= 6:
                p.values["study_year"] = int(year)
            else:
                errors.append(
                    _("“%(column)s”: “%(value)s” is not a study year from 1 to 6.")
                    % {"column": self.header("study_year"), "value": shown(year)}
                )
        return p
