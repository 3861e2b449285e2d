"""The import of a semester's placements: preview (`import_preview`) and commit (`import_commit`).

Both run the same planner over the rows of a file (`reader.read_table`): every row is checked
and matched against the database, and the outcome per row is "new", "changed", "unchanged" or
"error" with the exact problem. The preview writes nothing. The commit plans again inside one
transaction (the database may have changed since the preview), refuses when any row has an
error or when the plan is not the one the office saw (`digest`), and otherwise writes it all:
all or nothing.

Matching (never a duplicate):
- people on their e-mail address (case and surrounding spaces ignored), students also on their
  student number; an address that belongs to someone with another name is an error, so is a
  student number that belongs to another address. New accounts get no usable password (they
  sign in with SURFconext or an e-mail link) and a unique username made from the address;
- schools on their BRIN number or school code, else on their name (and board); a school the
  application does not know is created only when the row gives its board and region (a board
  the application does not know is then created in the only partnership), otherwise the row is
  an error;
- a placement is the student's placement at the same school whose period overlaps the row's;
  otherwise the row is a new placement.

An empty optional cell leaves what is stored as it is. A changed mentor, school trainer, study
coach or coordinating school trainer on a placement with an open case is a reassignment
(`cases.services.placement_reassign`): the case's timeline records it and the newcomer is told.

The database is read in bulk: the schools once, the people and their placements in one query
each per chunk of rows, so the time grows linearly with the file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import secrets
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases.models import (
    PLACEMENT_ROLE_FIELDS,
    Board,
    Case,
    Partnership,
    Placement,
    Role,
    TrainingSchool,
    User,
)
from cases.services import placement_reassign

from .columns import BY_KEY
from .rows import Parsed, RowParser, day, digits, full_name, norm, shown, split_name

CHUNK = 500
# What the planner reads of a person: to match them, and to name them in the preview.
NAME_FIELDS = ("username", "first_name", "last_name")
PERSON_FIELDS = (*NAME_FIELDS, "email", "student_number", "is_active")

NEW, CHANGED, UNCHANGED, ERROR = "new", "changed", "unchanged", "error"
STATUS_LABELS = {
    NEW: gettext_lazy("new"),
    CHANGED: gettext_lazy("changed"),
    UNCHANGED: gettext_lazy("unchanged"),
    ERROR: gettext_lazy("error"),
}
STATUSES = (NEW, CHANGED, UNCHANGED, ERROR)

SCALARS = ("start_date", "end_date", "block", "days_per_week", "programme", "study_year")


class ImportRefused(Exception):
    """The commit wrote nothing: a row has an error, or the plan differs from the preview."""

    def __init__(self, report: Report, message: str) -> None:
        super().__init__(message)
        self.report = report
        self.message = message


# --------------------------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------------------------


@dataclass
class RowReport:
    number: int
    student: str = ""
    school: str = ""
    status: str = UNCHANGED
    changes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # What the row does, independent of the language (for the digest).
    codes: list = field(default_factory=list)

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS[self.status])


@dataclass
class Report:
    rows: list[RowReport]
    digest: str = ""
    new_people: int = 0
    new_schools: int = 0
    new_boards: int = 0

    @property
    def counts(self) -> dict[str, int]:
        found = Counter(row.status for row in self.rows)
        return {status: found[status] for status in STATUSES}

    @property
    def has_errors(self) -> bool:
        return any(row.status == ERROR for row in self.rows)

    @property
    def has_changes(self) -> bool:
        return any(row.status in (NEW, CHANGED) for row in self.rows)

    def summary(self) -> str:
        counts = self.counts
        return _(
            "%(rows)s rows: %(new)s new, %(changed)s changed, %(unchanged)s unchanged, "
            "%(error)s with an error. New accounts: %(people)s; new schools: %(schools)s; "
            "new boards: %(boards)s."
        ) % {
            "rows": len(self.rows),
            **counts,
            "people": self.new_people,
            "schools": self.new_schools,
            "boards": self.new_boards,
        }


@dataclass
class Outcome:
    report: Report
    created: int = 0
    updated: int = 0
    reassigned: int = 0  # timeline events written on open cases

    def summary(self) -> str:
        return _(
            "Imported: %(created)s new and %(updated)s changed placements, %(people)s new "
            "accounts, %(schools)s new schools; %(reassigned)s reassignments recorded on open "
            "cases."
        ) % {
            "created": self.created,
            "updated": self.updated,
            "people": self.report.new_people,
            "schools": self.report.new_schools,
            "reassigned": self.reassigned,
        }


# --------------------------------------------------------------------------------------------
# The planner's records
# --------------------------------------------------------------------------------------------


@dataclass(eq=False)
class PersonRef:
    key: str  # the e-mail address, lower case
    user: User | None
    first_name: str
    last_name: str
    student_number: str = ""
    first_row: int = 0
    set_number: bool = False  # an existing account gets its student number

    @property
    def name(self) -> str:
        if self.user is not None:
            return str(self.user)
        return full_name(self.first_name, self.last_name)

    @property
    def code(self) -> str:
        return f"u{self.user.pk}" if self.user is not None else f"new:{self.key}"


@dataclass(eq=False)
class BoardRef:
    name: str
    board: Board | None
    partnership: Partnership | None = None
    announced: bool = False  # a row has said "new board"


@dataclass(eq=False)
class SchoolRef:
    school: TrainingSchool | None
    name: str
    board: BoardRef
    region: str
    brin: str = ""
    code: str = ""
    city: str = ""
    fill: dict = field(default_factory=dict)  # fields to set on an existing school
    announced: bool = False  # a row has said "new school" or what it fills in

    @property
    def label(self) -> str:
        return self.name

    @property
    def code_key(self) -> str:
        return f"s{self.school.pk}" if self.school is not None else f"new:{norm(self.name)}"


@dataclass
class Op:
    """What a row writes: a new placement (`placement` None) or an update of one."""

    row: int
    placement: Placement | None
    student: PersonRef
    school: SchoolRef
    values: dict
    roles: dict  # role -> PersonRef (all roles for a new placement, the changed ones else)


@dataclass
class Plan:
    report: Report
    ops: list[Op]
    people: list[PersonRef]
    schools: list[SchoolRef]
    boards: list[BoardRef]


# --------------------------------------------------------------------------------------------
# The planner
# --------------------------------------------------------------------------------------------


def overlaps(start: dt.date, end: dt.date | None, other_start: dt.date, other_end) -> bool:
    return (other_end is None or start <= other_end) and (end is None or other_start <= end)


class Planner:
    def __init__(self, rows: Sequence[tuple[int, dict]], columns: dict[str, str]) -> None:
        self.rows = rows
        self.parser = RowParser(columns)
        self.people: dict[str, PersonRef] = {}  # e-mail -> the person of this file
        self.numbers: dict[str, PersonRef] = {}  # student number -> new student of this file
        self.users_by_email: dict[str, list[User]] = defaultdict(list)
        self.users_by_number: dict[str, list[User]] = defaultdict(list)
        self.placements: dict[int, list[Placement]] = defaultdict(list)
        self.periods: dict[str, list[tuple[int, dt.date, dt.date | None]]] = defaultdict(list)
        self.boards: dict[str, BoardRef] = {}
        self.new_boards: list[BoardRef] = []
        self.schools: list[SchoolRef] = []
        self.by_brin: dict[str, SchoolRef] = {}
        self.by_code: dict[str, SchoolRef] = {}
        self.by_name: dict[str, list[SchoolRef]] = defaultdict(list)
        self.ops: list[Op] = []

    # --- loading ----------------------------------------------------------------------------

    def load_schools(self) -> None:
        partnerships = list(Partnership.objects.all()[:2])
        self.partnership = partnerships[0] if len(partnerships) == 1 else None
        self.partnership_count = len(partnerships)
        by_pk = {}
        for board in Board.objects.all():
            by_pk[board.pk] = self.boards[norm(board.name)] = BoardRef(board.name, board)
        for school in TrainingSchool.objects.all():
            ref = SchoolRef(
                school,
                school.name,
                by_pk[school.board_id],
                school.region,
                brin=school.brin,
                code=school.code,
                city=school.city,
            )
            self._register_school(ref)

    def _register_school(self, ref: SchoolRef) -> None:
        if ref.brin:
            self.by_brin[ref.brin] = ref
        if ref.code:
            self.by_code[ref.code.casefold()] = ref
        self.by_name[norm(ref.name)].append(ref)

    def load_people(self, parsed: Iterable[Parsed]) -> None:
        emails, numbers = set(), set()
        for p in parsed:
            emails.add(p.email)
            emails.update(email for _name, email in p.staff.values())
            numbers.add(p.student_number)
        emails.discard("")
        numbers.discard("")
        emails -= set(self.users_by_email)
        if not emails and not numbers:
            return
        users = (
            User.objects.annotate(email_key=Lower("email"))
            .filter(Q(email_key__in=emails) | Q(student_number__in=numbers))
            .only(*PERSON_FIELDS)
        )
        students = set()
        for user in users:
            key = user.email_key.strip()
            if user not in self.users_by_email[key]:
                self.users_by_email[key].append(user)
            if user.student_number:
                if user not in self.users_by_number[user.student_number]:
                    self.users_by_number[user.student_number].append(user)
                students.add(user.pk)
        students -= set(self.placements)
        if students:
            roles = [f for f in PLACEMENT_ROLE_FIELDS.values() if f != "student"]
            placements = (
                Placement.objects.filter(student_id__in=students)
                .select_related(*roles)
                .only(
                    *(f.name for f in Placement._meta.concrete_fields),
                    *(f"{role}__{name}" for role in roles for name in NAME_FIELDS),
                )
                .order_by("pk")
            )
            for placement in placements:
                self.placements[placement.student_id].append(placement)

    # --- the whole file ---------------------------------------------------------------------

    def plan(self) -> Plan:
        self.load_schools()
        reports = []
        for start in range(0, len(self.rows), CHUNK):
            chunk = [self.parser.parse(n, row) for n, row in self.rows[start : start + CHUNK]]
            self.load_people(chunk)
            reports.extend(self.resolve(p) for p in chunk)
        people = [p for p in self.people.values() if p.user is None or p.set_number]
        report = Report(
            rows=reports,
            new_people=sum(1 for p in people if p.user is None),
            new_schools=sum(1 for s in self.schools if s.school is None),
            new_boards=len(self.new_boards),
        )
        report.digest = hashlib.sha256(
            json.dumps(
                [[r.number, r.status, r.codes, len(r.errors)] for r in reports], default=str
            ).encode()
        ).hexdigest()
        return Plan(report, self.ops, people, self.schools, self.new_boards)

    # --- one row ----------------------------------------------------------------------------

    def resolve(self, p: Parsed) -> RowReport:
        report = RowReport(
            number=p.number,
            student=" ".join(
                x for x in (p.student_number, full_name(p.first_name, p.last_name)) if x
            ),
            school=p.school_name or p.brin or p.school_code,
        )
        errors = report.errors
        errors.extend(p.errors)
        student = None
        if p.email and p.student_number and p.first_name and p.last_name:
            student = self.student(p, errors)
        staff: dict[str, PersonRef] = {}
        for role, (name, email) in p.staff.items():
            if email == p.email:
                errors.append(
                    _("The student cannot also be the %(role)s on their own placement.")
                    % {"role": Role(role).label}
                )
                continue
            first, last = split_name(name)
            person = self.person(email, first, last, errors, p.number)
            if person is not None:
                staff[role] = person
        school = None
        if p.school_name or p.brin or p.school_code:
            school = self.school(p, errors)
        start, end = p.values.get("start_date"), p.values.get("end_date")
        if p.student_number and start:
            for row, other_start, other_end in self.periods[p.student_number]:
                if overlaps(start, end, other_start, other_end):
                    errors.append(
                        _(
                            "Student number %(number)s is already in row %(row)s, for an "
                            "overlapping period."
                        )
                        % {"number": p.student_number, "row": row}
                    )
                    break
            self.periods[p.student_number].append((p.number, start, end))
        if school is not None:
            report.school = school.label
        if errors or student is None or school is None or start is None:
            report.status = ERROR
            if not errors:  # cannot happen: every missing part has its message
                errors.append(_("This row cannot be read."))
            return report
        self.placement(p, report, student, school, staff)
        return report

    def student(self, p: Parsed, errors: list[str]) -> PersonRef | None:
        number, email = p.student_number, p.email
        by_number = self.users_by_number.get(number, [])
        if len(by_number) > 1:
            errors.append(
                _(
                    "Several accounts have the student number %(number)s; merge them in the admin "
                    "first."
                )
                % {"number": number}
            )
            return None
        by_email = self.users_by_email.get(email, [])
        if len(by_email) > 1:
            return self.person(email, p.first_name, p.last_name, errors, p.number)  # says why
        owner = by_number[0] if by_number else None
        user = by_email[0] if by_email else None
        if owner is not None and (user is None or user.pk != owner.pk):
            errors.append(
                _(
                    "Student number %(number)s belongs to %(name)s with the e-mail address "
                    "%(known)s, not %(email)s."
                )
                % {"number": number, "name": owner, "known": owner.email, "email": email}
            )
            return None
        if user is not None and user.student_number and user.student_number != number:
            errors.append(
                _(
                    "The e-mail address %(email)s belongs to student number %(known)s, not "
                    "%(number)s."
                )
                % {"email": email, "known": user.student_number, "number": number}
            )
            return None
        known = self.numbers.get(number)
        if known is not None and known.key != email:
            errors.append(
                _("Row %(row)s gives student number %(number)s to %(email)s.")
                % {"row": known.first_row, "number": number, "email": known.key}
            )
            return None
        person = self.person(email, p.first_name, p.last_name, errors, p.number)
        if person is None:
            return None
        if person.user is None:
            if person.student_number and person.student_number != number:
                errors.append(
                    _(
                        "Row %(row)s gives the e-mail address %(email)s to student number "
                        "%(number)s."
                    )
                    % {"row": person.first_row, "email": email, "number": person.student_number}
                )
                return None
            person.student_number = number
        elif not person.user.student_number:
            person.set_number = True
            person.student_number = number
        self.numbers[number] = person  # a later row may not give this number to someone else
        return person

    def person(
        self, email: str, first: str, last: str, errors: list[str], row: int
    ) -> PersonRef | None:
        name = full_name(first, last)
        users = self.users_by_email.get(email, [])
        if len(users) > 1:
            errors.append(
                _(
                    "Several accounts have the e-mail address %(email)s; merge them in the admin "
                    "first."
                )
                % {"email": email}
            )
            return None
        person = self.people.get(email)
        if users:
            user = users[0]
            if norm(user.get_full_name()) != norm(name):
                errors.append(
                    _("The e-mail address %(email)s belongs to “%(known)s”, not to “%(name)s”.")
                    % {"email": email, "known": user.get_full_name() or user, "name": shown(name)}
                )
                return None
            if person is None:
                person = self.people[email] = PersonRef(
                    email, user, user.first_name, user.last_name, first_row=row
                )
            return person
        if person is not None:
            if norm(person.name) != norm(name):
                errors.append(
                    _(
                        "Row %(row)s gives the e-mail address %(email)s to “%(known)s”, this row "
                        "to “%(name)s”."
                    )
                    % {
                        "row": person.first_row,
                        "email": email,
                        "known": person.name,
                        "name": shown(name),
                    }
                )
                return None
            return person
        person = self.people[email] = PersonRef(email, None, first, last, first_row=row)
        return person

    def board(self, name: str, errors: list[str]) -> BoardRef | None:
        ref = self.boards.get(norm(name))
        if ref is not None:
            return ref
        if self.partnership is None:
            if self.partnership_count == 0:
                errors.append(
                    _(
                        "The board “%(board)s” is unknown and there is no partnership yet; add "
                        "one in the admin first."
                    )
                    % {"board": name}
                )
            else:
                errors.append(
                    _(
                        "The board “%(board)s” is unknown and there are several partnerships; "
                        "add the board in the admin first."
                    )
                    % {"board": name}
                )
            return None
        ref = self.boards[norm(name)] = BoardRef(name, None, self.partnership)
        self.new_boards.append(ref)
        return ref

    def school(self, p: Parsed, errors: list[str]) -> SchoolRef | None:
        by_brin = self.by_brin.get(p.brin) if p.brin else None
        by_code = self.by_code.get(p.school_code.casefold()) if p.school_code else None
        if by_brin and by_code and by_brin is not by_code:
            errors.append(
                _("BRIN %(brin)s and school code %(code)s are two different schools.")
                % {"brin": p.brin, "code": p.school_code}
            )
            return None
        ref = by_brin or by_code
        if ref is None and p.school_name:
            named = self.by_name.get(norm(p.school_name), [])
            if p.board:
                named = [s for s in named if norm(s.board.name) == norm(p.board)] or named
            if len(named) > 1:
                errors.append(
                    _(
                        "There are several schools called “%(school)s”; add the BRIN number, the "
                        "school code or the board."
                    )
                    % {"school": p.school_name}
                )
                return None
            if named:
                ref = named[0]
                for attr, value, label in (
                    ("brin", p.brin, _("BRIN")),
                    ("code", p.school_code, _("school code")),
                ):
                    known = getattr(ref, attr)
                    if value and known and known.casefold() != value.casefold():
                        errors.append(
                            _("“%(school)s” has %(what)s %(known)s, the file says %(value)s.")
                            % {"school": ref.name, "what": label, "known": known, "value": value}
                        )
                        return None
        if ref is not None:
            return self._check_school(ref, p, errors)
        if not p.school_name:
            errors.append(
                _("Unknown school %(id)s: the file gives no name to create it with.")
                % {"id": p.brin or p.school_code}
            )
            return None
        if not (p.board and p.region):
            errors.append(
                _(
                    "Unknown school “%(school)s”. Add it in the admin, or give its board and "
                    "region in the file to create it."
                )
                % {"school": p.school_name}
            )
            return None
        board = self.board(p.board, errors)
        if board is None:
            return None
        ref = SchoolRef(
            None,
            p.school_name,
            board,
            p.region,
            brin=p.brin,
            code=p.school_code,
            city=p.city,
        )
        self.schools.append(ref)
        self._register_school(ref)
        return ref

    def _check_school(self, ref: SchoolRef, p: Parsed, errors: list[str]) -> SchoolRef | None:
        ok = True
        if p.school_name and norm(p.school_name) != norm(ref.name):
            errors.append(
                _("%(id)s is “%(known)s” in the application, the file says “%(school)s”.")
                % {"id": p.brin or p.school_code, "known": ref.name, "school": p.school_name}
            )
            ok = False
        if p.board and norm(p.board) != norm(ref.board.name):
            errors.append(
                _("“%(school)s” belongs to the board “%(known)s”, the file says “%(board)s”.")
                % {"school": ref.name, "known": ref.board.name, "board": p.board}
            )
            ok = False
        if p.region and p.region != ref.region:
            errors.append(
                _("“%(school)s” is in region %(known)s, the file says %(region)s.")
                % {
                    "school": ref.name,
                    "known": TrainingSchool.Region(ref.region).label,
                    "region": TrainingSchool.Region(p.region).label,
                }
            )
            ok = False
        if not ok:
            return None
        if ref.school is not None:
            if p.brin and not ref.brin:
                ref.brin = ref.fill["brin"] = p.brin
                self.by_brin[p.brin] = ref
            if p.school_code and not ref.code:
                ref.code = ref.fill["code"] = p.school_code
                self.by_code[p.school_code.casefold()] = ref
            if ref.fill and not any(s is ref for s in self.schools):
                self.schools.append(ref)
        return ref

    def placement(
        self,
        p: Parsed,
        report: RowReport,
        student: PersonRef,
        school: SchoolRef,
        staff: dict[str, PersonRef],
    ) -> None:
        start, end = p.values["start_date"], p.values.get("end_date")
        match = None
        if student.user is not None and school.school is not None:
            candidates = [
                pl
                for pl in self.placements.get(student.user.pk, [])
                if pl.school_id == school.school.pk
                and overlaps(start, end, pl.start_date, pl.end_date)
            ]
            exact = [pl for pl in candidates if pl.start_date == start]
            if len(exact) == 1:
                match = exact[0]
            elif len(candidates) == 1:
                match = candidates[0]
            elif candidates:
                report.status = ERROR
                report.errors.append(
                    _(
                        "The student has several placements at this school in this period; "
                        "correct them in the admin first."
                    )
                )
                return
        if student.set_number:
            report.changes.append(
                _("Student number %(number)s recorded on the account")
                % {"number": student.student_number}
            )
            report.codes.append(["number", student.code, student.student_number])
        if school.school is not None and not school.announced:
            school.announced = True  # said once, on the first row that names the school
            for attr, value in school.fill.items():
                report.changes.append(
                    _("%(what)s %(value)s recorded for the school")
                    % {"what": _("BRIN") if attr == "brin" else _("school code"), "value": value}
                )
                report.codes.append(["school", attr, value])
        if match is None:
            self._new(p, report, student, school, staff)
        else:
            self._update(p, report, match, student, school, staff)

    def _new(self, p, report, student, school, staff) -> None:
        report.status = NEW
        start, end = p.values["start_date"], p.values.get("end_date")
        if student.user is not None:
            others = [
                pl
                for pl in self.placements.get(student.user.pk, [])
                if pl.status == Placement.Status.ACTIVE
                and overlaps(start, end, pl.start_date, pl.end_date)
            ]
            if others:
                report.notes.append(
                    _("The student also has an active placement in this period (since %(start)s).")
                    % {"start": day(others[0].start_date)}
                )
        for person in (student, *staff.values()):
            if person.user is None and person.first_row == p.number:
                report.changes.append(_("New account: %(name)s") % {"name": person.name})
        if school.school is None and not school.announced:
            school.announced = True
            report.changes.append(_("New school: %(school)s") % {"school": school.name})
            if school.board.board is None and not school.board.announced:
                school.board.announced = True
                report.changes.append(_("New board: %(board)s") % {"board": school.board.name})
        report.codes.append(
            [
                "new",
                student.code,
                school.code_key,
                sorted((k, str(v)) for k, v in p.values.items()),
                sorted((role, person.code) for role, person in staff.items()),
            ]
        )
        self.ops.append(Op(p.number, None, student, school, dict(p.values), dict(staff)))

    def _update(self, p, report, placement: Placement, student, school, staff) -> None:
        values, changes = {}, []
        for key in SCALARS:
            if key not in p.values:
                continue
            new, old = p.values[key], getattr(placement, key)
            if new != old:
                values[key] = new
                changes.append(
                    _("%(field)s: %(old)s → %(new)s")
                    % {
                        "field": BY_KEY[key].label,
                        "old": self._shown(key, old),
                        "new": self._shown(key, new),
                    }
                )
        roles = {}
        for role, person in staff.items():
            field_name = PLACEMENT_ROLE_FIELDS[role]
            old_id = getattr(placement, f"{field_name}_id")
            if person.user is None or person.user.pk != old_id:
                roles[role] = person
                old = getattr(placement, field_name)
                changes.append(
                    _("%(role)s: %(old)s → %(new)s")
                    % {
                        "role": str(Role(role).label).capitalize(),
                        "old": old if old is not None else "—",
                        "new": person.name
                        if person.user is not None
                        else _("%(name)s (new account)") % {"name": person.name},
                    }
                )
        end = values.get("end_date", placement.end_date)
        start = values.get("start_date", placement.start_date)
        if end is not None and end < start:
            report.status = ERROR
            report.errors.append(
                _("The start date %(start)s lies after the placement's end date %(end)s.")
                % {"start": day(start), "end": day(end)}
            )
            return
        if placement.status in (Placement.Status.ENDED, Placement.Status.TRANSFERRED):
            if values or roles:
                report.notes.append(
                    _(
                        "This placement is “%(status)s” in the application; the import leaves it "
                        "as it is."
                    )
                    % {"status": placement.get_status_display()}
                )
            report.status = CHANGED if report.changes else UNCHANGED
            return
        report.changes.extend(changes)
        if not report.changes:
            report.status = UNCHANGED
            return
        report.status = CHANGED
        report.codes.append(
            [
                "update",
                placement.pk,
                sorted((k, str(getattr(placement, k)), str(v)) for k, v in values.items()),
                sorted(
                    (role, getattr(placement, f"{PLACEMENT_ROLE_FIELDS[role]}_id"), person.code)
                    for role, person in roles.items()
                ),
            ]
        )
        if values or roles:
            self.ops.append(Op(p.number, placement, student, school, values, roles))

    @staticmethod
    def _shown(key: str, value) -> str:
        if isinstance(value, dt.date):
            return day(value)
        if isinstance(value, Decimal):
            return digits(value)
        return str(value) if value not in (None, "") else "—"


# --------------------------------------------------------------------------------------------
# Preview and commit
# --------------------------------------------------------------------------------------------


def import_preview(rows: Sequence[tuple[int, dict]], columns: dict[str, str]) -> Report:
    """What the import of these rows would do, row by row. Writes nothing."""
    return Planner(rows, columns).plan().report


@transaction.atomic
def import_commit(
    rows: Sequence[tuple[int, dict]],
    columns: dict[str, str],
    *,
    by: User | None,
    source: str = "",
    expected_digest: str | None = None,
) -> Outcome:
    """Plan again and write it all in one transaction, or raise ImportRefused and write nothing.

    `expected_digest` is the preview's: when the database changed since (someone edited a
    placement, another import ran), the office sees the new preview before anything is written.
    """
    plan = Planner(rows, columns).plan()
    report = plan.report
    if report.has_errors:
        raise ImportRefused(
            report, _("Nothing was imported: correct the rows with an error and upload again.")
        )
    if expected_digest is not None and expected_digest != report.digest:
        raise ImportRefused(
            report,
            _("The data changed since the preview. Check the preview below and confirm again."),
        )
    return apply(plan, by=by, source=source)


def apply(plan: Plan, *, by: User | None, source: str) -> Outcome:
    outcome = Outcome(plan.report)
    for ref in plan.boards:
        ref.board = Board(name=ref.name, partnership=ref.partnership)
    _bulk_create(Board, [ref.board for ref in plan.boards], ("name",))
    filled, created = [], []
    for ref in plan.schools:
        if ref.school is None:
            ref.school = TrainingSchool(
                name=ref.name,
                board=ref.board.board,
                region=ref.region,
                city=ref.city,
                brin=ref.brin,
                code=ref.code,
            )
            created.append(ref.school)
        else:
            ref.school.brin, ref.school.code = ref.brin, ref.code
            filled.append(ref.school)
    _bulk_create(TrainingSchool, created, ("board_id", "name"))
    if filled:
        TrainingSchool.objects.bulk_update(filled, ["brin", "code"])
    _create_people([p for p in plan.people if p.user is None])
    numbered = []
    for person in plan.people:
        if person.set_number:
            person.user.student_number = person.student_number
            numbered.append(person.user)
    if numbered:
        User.objects.bulk_update(numbered, ["student_number"], batch_size=CHUNK)

    now = timezone.now()
    new = []
    for op in (op for op in plan.ops if op.placement is None):
        placement = Placement(
            student=op.student.user,
            school=op.school.school,
            coordinating_trainer_id=op.school.school.coordinating_trainer_id,
            **op.values,
        )
        for role, person in op.roles.items():
            setattr(placement, PLACEMENT_ROLE_FIELDS[role], person.user)
        new.append(placement)
    Placement.objects.bulk_create(new, batch_size=CHUNK)
    outcome.created = len(new)

    updates = [op for op in plan.ops if op.placement is not None]
    with_open_cases = set()
    moved = [op.placement.pk for op in updates if op.roles]
    for start in range(0, len(moved), CHUNK):
        with_open_cases.update(
            Case.objects.open()
            .filter(placement_id__in=moved[start : start + CHUNK])
            .values_list("placement_id", flat=True)
        )
    reassign = []
    fields = {"updated_at"}
    for op in updates:
        placement = op.placement
        for key, value in op.values.items():
            setattr(placement, key, value)
            fields.add(key)
        for role, person in op.roles.items():
            if placement.pk in with_open_cases:
                reassign.append((placement, role, person.user))
            else:
                setattr(placement, PLACEMENT_ROLE_FIELDS[role], person.user)
                fields.add(PLACEMENT_ROLE_FIELDS[role])
        placement.updated_at = now
    if updates:
        Placement.objects.bulk_update(
            [op.placement for op in updates], sorted(fields), batch_size=CHUNK
        )
    outcome.updated = len(updates)
    reason = _("Import of %(file)s") % {"file": source} if source else _("Import")
    for placement, role, person in reassign:
        events = placement_reassign(
            placement=placement, role=role, person=person, by=by, reason=reason
        )
        outcome.reassigned += len(events)
    return outcome


def _bulk_create(model, objects: list, key: tuple[str, ...]) -> None:
    """Insert in bulk; on a database that returns no ids from a bulk insert, read them back by
    a unique key."""
    if not objects:
        return
    model.objects.bulk_create(objects, batch_size=CHUNK)
    if all(obj.pk is not None for obj in objects):
        return
    wanted = {tuple(getattr(obj, k) for k in key): obj for obj in objects}
    query = Q()
    for values in wanted:
        query |= Q(**dict(zip(key, values, strict=True)))
    for found in model.objects.filter(query).values("pk", *key):
        obj = wanted.get(tuple(found[k] for k in key))
        if obj is not None:
            obj.pk = found["pk"]


def _create_people(people: list[PersonRef]) -> None:
    if not people:
        return
    wanted = {p.key: re.sub(r"[^\w.@+-]", "", p.key)[:150] or "user" for p in people}
    taken = set()
    names = sorted(set(wanted.values()))
    for start in range(0, len(names), CHUNK):
        taken.update(
            User.objects.annotate(name_key=Lower("username"))
            .filter(name_key__in=names[start : start + CHUNK])
            .values_list("name_key", flat=True)
        )
    users = []
    for person in people:
        username = wanted[person.key]
        if username in taken:
            username = _free_username(username, taken)
        taken.add(username)
        user = User(
            username=username,
            email=person.key,
            first_name=person.first_name[:150],
            last_name=person.last_name[:150],
            student_number=person.student_number,
        )
        # What set_unusable_password() stores ("!" and 40 random characters), from one call to
        # the OS's random source instead of one per character: a third of a large commit.
        user.password = UNUSABLE_PASSWORD_PREFIX + secrets.token_urlsafe(30)
        users.append(user)
        person.user = user
    _bulk_create(User, users, ("username",))


def _free_username(base: str, taken: set[str]) -> str:
    n = 2
    while True:
        candidate = f"{base[:140]}-{n}"
        if candidate not in taken and not User.objects.filter(username__iexact=candidate).exists():
            return candidate
        n += 1
