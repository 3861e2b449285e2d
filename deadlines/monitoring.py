"""The deadline table as rows for the office's dashboard, instead of notifications.

One definition of the deadlines: the rules, their configured thresholds (`effective_rules`) and
the working-day calendars per region (`calendars`) come from `selectors`, exactly as the
reminder scan (scan.py) uses them. What differs is the output: the scan writes one outbox row per
step and recipient, this module returns the steps themselves, most urgent first, in ONE query
whatever the number of cases:

- one UNION ALL branch per (rule, region): the open cases whose step reaches its (first)
  deadline within the "due soon" window, ordered by the anchor and cut at `limit` rows where the
  database allows it (PostgreSQL). Within one rule and region the working days overdue only grow
  as the anchor gets older, so the `limit` oldest of every branch hold the `limit` most urgent of
  all; Python then computes the exact working days and sorts.
- every column is an annotation, in the same order in every branch (a UNION matches columns by
  position), and the anchor is filtered through its annotation so that the filter and the value
  use the same join (a second `.filter()` on a to-many path would join the table again).

`overdue_filter()` gives the same condition (deadline passed) as a `Q` on Case for the office's
case list.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import reduce

from django.db import connection, connections
from django.db.models import (
    BigIntegerField,
    CharField,
    DateField,
    DateTimeField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Value,
)
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext_lazy as _

from cases.models import GLOBAL_ROLES, OPEN_STATES, Case, Role, TrainingSchool, User

from .models import SchoolHoliday
from .rules import ROLE_PATHS, Rule, anchor_before
from .selectors import EffectiveRule, calendars, effective_rules
from .workdays import WorkingDays

OVERDUE, ESCALATED, DUE_SOON = "overdue", "escalated", "due_soon"
STATUS_LABELS = {
    ESCALATED: _("escalated"),
    OVERDUE: _("overdue"),
    DUE_SOON: _("due soon"),
}
MAX_RESPONSIBLE = 2  # no rule names more than two people (first conversation: trainer + coach)
# The UNION's columns: only what finds and ranks a step. The names to show are read after
# the ranking, for the shown cases alone (`_details`): a branch with no joins beyond its own
# rule's is planned in a fraction of the time (the 39-branch UNION spent more time being
# planned than run).
COLUMNS = (
    "m_case",
    "m_rule",
    "m_region",
    "m_step",
    "m_anchor_at",
    "m_anchor_on",
    *(f"m_resp{i}" for i in range(MAX_RESPONSIBLE)),
)


@dataclass
class DueStep:
    case_id: int
    rule: Rule
    status: str
    anchor: dt.date
    deadline: dt.date
    days: int  # working days overdue (overdue/escalated) or left (due soon)
    student: str
    student_number: str
    school: str
    responsible: list[str] = field(default_factory=list)
    responsible_ids: list[int] = field(default_factory=list)

    @property
    def number(self) -> str:
        return f"SB-{self.case_id:05d}"

    @property
    def label(self) -> str:
        return str(self.rule.label)

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS[self.status])

    @property
    def is_overdue(self) -> bool:
        return self.status != DUE_SOON

    @property
    def urgency(self) -> tuple:
        # Overdue before due soon; the longest overdue first, then the soonest due.
        return (0, -self.days, self.case_id) if self.is_overdue else (1, self.days, self.case_id)


class FastDays:
    """WorkingDays with counting by lookup: `between` and `add` in constant time for dates near
    today (the dashboard asks them for up to two thousand rows per request). Outside the
    precomputed span it defers to the WorkingDays it wraps, so the answers are the same."""

    SPAN_BACK, SPAN_AHEAD = dt.timedelta(days=3 * 366), dt.timedelta(days=366)

    def __init__(self, cal: WorkingDays, today: dt.date) -> None:
        self.cal = cal
        self.start, self.end = today - self.SPAN_BACK, today + self.SPAN_AHEAD
        self.days: list[dt.date] = []  # the working days in (start, end]
        self.count: dict[dt.date, int] = {}  # working days in (start, day]
        day, n = self.start, 0
        while day < self.end:
            day += dt.timedelta(days=1)
            if cal.is_working_day(day):
                self.days.append(day)
                n += 1
            self.count[day] = n

    def _inside(self, *days: dt.date) -> bool:
        return all(self.start < d <= self.end for d in days)

    def is_working_day(self, day: dt.date) -> bool:
        return self.cal.is_working_day(day)

    def between(self, start: dt.date, end: dt.date) -> int:
        if end <= start:
            return 0
        if self._inside(start, end):
            return self.count[end] - self.count[start]
        return self.cal.between(start, end)

    def add(self, day: dt.date, n: int) -> dt.date:
        if n == 0 or not self._inside(day):
            return self.cal.add(day, n)
        before = self.count[day] - (1 if self.cal.is_working_day(day) else 0)
        index = self.count[day] + n - 1 if n > 0 else before + n
        if 0 <= index < len(self.days):
            return self.days[index]
        return self.cal.add(day, n)

    def latest_anchor(self, today: dt.date, n: int) -> dt.date:
        return self.cal.latest_anchor(today, n)


class Calendars(dict):
    """region -> FastDays, with the key (date, school holidays) it was made for."""

    key: tuple | None = None


_CALENDARS: dict[tuple, Calendars] = {}
_SQL: dict[tuple, tuple[str, tuple]] = {}


def load_calendars(today: dt.date | None = None) -> Calendars:
    """The working-day calendars of selectors.calendars(), per region, kept per
    process for as long as the school holidays and the date stay the same (one query)."""
    today = today or timezone.localdate()
    periods = tuple(SchoolHoliday.objects.values_list("region", "start_date", "end_date"))
    key = (today, periods)
    if key not in _CALENDARS:
        if len(_CALENDARS) > 8:
            _CALENDARS.clear()
        by_region: dict[str, list] = {r: [] for r in TrainingSchool.Region}
        for region, start, end in periods:
            by_region.setdefault(region, []).append((start, end))
        _CALENDARS[key] = Calendars(
            {region: FastDays(WorkingDays(spans), today) for region, spans in by_region.items()}
        )
        _CALENDARS[key].key = key
    return _CALENDARS[key]


def _rules_key(rules: list[EffectiveRule]) -> tuple:
    return tuple((e.rule.key, e.remind_after, e.escalate_after, e.due_soon_before) for e in rules)


def first_deadline(eff: EffectiveRule) -> int | None:
    """The working days after the anchor at which the step is late (the reminder, or, for
    steps without a reminder, the escalation)."""
    return eff.remind_after if eff.remind_after is not None else eff.escalate_after


def responsible_roles(rule: Rule) -> tuple[str, ...]:
    # A step nobody is reminded of is the office's own (as in the scan's due-soon warning).
    return rule.remind_roles or (Role.OFFICE,)


def _person_paths(rule: Rule) -> list[str]:
    paths = []
    for role in responsible_roles(rule):
        if role in GLOBAL_ROLES:
            continue
        path = rule.role_paths.get(role) or ROLE_PATHS.get(role)
        if path:
            paths.append(path)
    return paths[:MAX_RESPONSIBLE]


def _open_cases_for(rule) -> QuerySet:
    """The open cases a rule looks at. A rule on the state alone (open states only) says the
    case is open itself: the list of every open state beside it made PostgreSQL plan each such
    branch four times as long (1.6 ms against 0.4 at any size), for the same rows."""
    only = getattr(rule.filter, "states", ())
    if only and set(only) <= set(OPEN_STATES):
        return Case.objects.all()
    return Case.objects.filter(state__in=OPEN_STATES)


def _branch(eff: EffectiveRule, cutoffs: dict[dt.date, list[str]], limit: int | None):
    """One rule's open steps up to its cutoff, which may differ per school-holiday region
    (`cutoffs`: cutoff -> regions; most of the year one cutoff for all), oldest anchor first.

    One branch per rule, not per rule and region: the region is read from the row, so a rule on
    the state alone walks the (state, state_changed_at) index and stops after `limit` rows; a
    region filter made PostgreSQL hash every placement of the region first (growing with the
    data), and three times the branches to plan. Within a rule the oldest anchors are the most
    overdue, but for a school holiday one region had between two anchors and another not."""
    rule = eff.rule
    is_date = rule.anchor_is_date
    qs = rule.filter(_open_cases_for(rule))
    step = rule.step[0]
    annotations = {
        "m_case": F("pk"),
        "m_rule": Value(rule.key, output_field=CharField()),
        "m_region": F("placement__school__region"),
        "m_step": Cast(F(step), BigIntegerField()),
        "m_anchor_at": Cast(Value(None), DateTimeField()) if is_date else F(rule.anchor),
        "m_anchor_on": F(rule.anchor) if is_date else Cast(Value(None), DateField()),
    }
    # The responsible people by id (their column is on a table the rule joins already).
    people = _person_paths(rule)
    for i in range(MAX_RESPONSIBLE):
        annotations[f"m_resp{i}"] = (
            Cast(F(people[i]), BigIntegerField())
            if i < len(people)
            else Cast(Value(None), BigIntegerField())
        )
    anchor_alias = "m_anchor_on" if is_date else "m_anchor_at"
    if len(cutoffs) == 1:
        in_time = anchor_before(anchor_alias, next(iter(cutoffs)), is_date)
    else:
        in_time = reduce(
            operator.or_,
            (
                Q(m_region__in=regions) & anchor_before(anchor_alias, cutoff, is_date)
                for cutoff, regions in cutoffs.items()
            ),
        )
    qs = qs.annotate(**annotations).filter(in_time)
    qs = qs.values(*COLUMNS)
    if limit is not None and connection.features.supports_slicing_ordering_in_compound:
        return qs.order_by(anchor_alias, "m_case")[:limit]
    return qs.order_by()


def _windows(
    eff: EffectiveRule, cal: WorkingDays, today: dt.date
) -> tuple[dt.date, dt.date] | None:
    """(latest anchor that is due soon or later, latest anchor that is overdue)."""
    first = first_deadline(eff)
    if first is None:
        return None
    soon = first - eff.due_soon_before if eff.due_soon_before else first
    return cal.latest_anchor(today, soon), cal.latest_anchor(today, first)


def due_steps(
    *,
    today: dt.date | None = None,
    limit: int | None = 50,
    rules: list[EffectiveRule] | None = None,
    cals: dict[str, WorkingDays | FastDays] | None = None,
    include_due_soon: bool = True,
    using: str = "default",
) -> list[DueStep]:
    """The overdue and due-soon steps of all open cases, most urgent first: one query (pass
    `rules` and `cals` when the caller has them, else two more small ones).

    The statement depends only on the date, the rules' thresholds and the school holidays, so
    its SQL is built once per process and day and then run as it is: building and compiling
    the UNION (one branch per rule) with the ORM costs more than running it. The names shown
    are read afterwards for the shown steps alone (one more query).
    """
    today = today or timezone.localdate()
    rules = effective_rules() if rules is None else rules
    cals = load_calendars(today) if cals is None else cals
    by_key = {eff.rule.key: eff for eff in rules}
    cal_key = getattr(cals, "key", None)
    key = (using, today, _rules_key(rules), cal_key, limit, include_due_soon)
    if cal_key is None or key not in _SQL:
        branches = []
        for eff in rules:
            cutoffs: dict[dt.date, list[str]] = {}
            for region, cal in cals.items():
                window = _windows(eff, cal, today)
                if window is None:
                    continue
                upper = window[0] if include_due_soon else window[1]
                cutoffs.setdefault(upper, []).append(region)
            if cutoffs:
                branches.append(_branch(eff, cutoffs, limit))
        if not branches:
            return []
        query = branches[0].union(*branches[1:], all=True) if len(branches) > 1 else branches[0]
        if len(_SQL) > 32:
            _SQL.clear()
        _SQL[key] = query.query.sql_with_params()
    sql, params = _SQL.pop(key) if cal_key is None else _SQL[key]
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        names = [col[0] for col in cursor.description]
        rows = [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]
    steps = [_step(row, by_key, cals, today) for row in rows]
    steps.sort(key=lambda s: s.urgency)
    steps = steps[:limit] if limit is not None else steps
    _details(steps, using)
    return steps


def _details(steps: list[DueStep], using: str) -> None:
    """The student, school and responsible people of the shown steps: one query (the cases'
    rows and the people's names in one UNION)."""
    if not steps:
        return
    text = CharField()
    cases = (
        Case.objects.using(using)
        .filter(pk__in={step.case_id for step in steps})
        .annotate(d_kind=Value("case", output_field=text))
        .values_list(
            "d_kind",
            "pk",
            "placement__student__first_name",
            "placement__student__last_name",
            "placement__student__student_number",
            "placement__school__name",
        )
        .order_by()
    )
    ids = {pk for step in steps for pk in step.responsible_ids}
    if ids:
        people = (
            User.objects.using(using)
            .filter(pk__in=ids)
            .annotate(
                d_kind=Value("person", output_field=text),
                d_number=Value("", output_field=text),
                d_school=Value("", output_field=text),
            )
            .values_list("d_kind", "pk", "first_name", "last_name", "d_number", "d_school")
            .order_by()
        )
        cases = cases.union(people, all=True)
    by_case, names = {}, {}
    for kind, pk, first, last, number, school in cases:
        name = f"{first or ''} {last or ''}".strip()
        if kind == "case":
            by_case[pk] = (name, number or "", school)
        else:
            names[pk] = name
    for step in steps:
        if step.case_id in by_case:  # else deleted meanwhile
            step.student, step.student_number, step.school = by_case[step.case_id]
        shown = [names[pk] for pk in step.responsible_ids if pk in names]
        step.responsible = shown + step.responsible


def _as_date(row: dict) -> dt.date:
    """The anchor's local date; a raw cursor gives strings on SQLite, datetimes on PostgreSQL."""
    if row["m_anchor_on"] is not None:
        value = row["m_anchor_on"]
        return parse_date(value) if isinstance(value, str) else value
    value = row["m_anchor_at"]
    if isinstance(value, str):
        value = parse_datetime(value)
    if timezone.is_naive(value):
        value = timezone.make_aware(value, dt.UTC)
    return timezone.localdate(value)


def _step(
    row: dict, by_key: dict[str, EffectiveRule], cals: dict[str, WorkingDays], today: dt.date
) -> DueStep:
    eff = by_key[row["m_rule"]]
    cal = cals[row["m_region"]]
    anchor = _as_date(row)
    deadline = cal.add(anchor, first_deadline(eff))
    if deadline <= today:
        escalated = eff.escalate_after is not None and cal.add(anchor, eff.escalate_after) <= today
        status = ESCALATED if escalated else OVERDUE
        days = cal.between(deadline, today)
    else:
        status, days = DUE_SOON, cal.between(today, deadline)
    # The people by name follow in `_details`; the office and the ISOP owner by their role.
    responsible_ids = [
        row[f"m_resp{i}"] for i in range(MAX_RESPONSIBLE) if row[f"m_resp{i}"] is not None
    ]
    responsible = [
        str(Role(role).label) for role in responsible_roles(eff.rule) if role in GLOBAL_ROLES
    ]
    return DueStep(
        case_id=row["m_case"],
        rule=eff.rule,
        status=status,
        anchor=anchor,
        deadline=deadline,
        days=days,
        student="",
        student_number="",
        school="",
        responsible=responsible,
        responsible_ids=responsible_ids,
    )


def overdue_filter(
    *,
    today: dt.date | None = None,
    rules: Iterable[EffectiveRule] | None = None,
    cals: dict[str, WorkingDays] | None = None,
) -> Q:
    """A Q on Case: an open step of the case is past its first deadline.

    Checked a row at a time, so a list sorted by an indexed column stops after a page of
    matches instead of first collecting every overdue case (which grows with the data): a rule
    on the state alone is a condition on the row itself; any other rule is an EXISTS correlated
    with the row. An `IN` subquery, or an EXISTS correlated by equality alone, lets PostgreSQL
    hash the rule's matches over all open cases before the first row; the extra, always true
    `signalled_at <= outer signalled_at` (same row) keeps it from doing so."""
    today = today or timezone.localdate()
    rules = effective_rules() if rules is None else rules
    cals = calendars() if cals is None else cals
    branches = []
    for eff in rules:
        rule = eff.rule
        is_date = rule.anchor_is_date
        states = getattr(rule.filter, "states", None)
        inline = states is not None and "__" not in rule.anchor
        region_path, anchor_path = (
            ("placement__school__region", rule.anchor) if inline else ("m_region", "m_anchor")
        )
        # Regions whose holidays give the same cutoff share one condition; when all do (most
        # of the year), the row needs no join to its school at all.
        by_cutoff: dict[dt.date, list[str]] = {}
        for region, cal in cals.items():
            window = _windows(eff, cal, today)
            if window is not None:
                by_cutoff.setdefault(window[1], []).append(region)
        if not by_cutoff:
            continue
        if len(by_cutoff) == 1 and len(next(iter(by_cutoff.values()))) == len(cals):
            in_time = anchor_before(anchor_path, next(iter(by_cutoff)), is_date)
        else:
            in_time = Q()
            for cutoff, regions in by_cutoff.items():
                in_time |= Q(**{f"{region_path}__in": regions}) & anchor_before(
                    anchor_path, cutoff, is_date
                )
        if inline:
            branches.append(Q(state__in=states) & in_time)
            continue
        same_row = Case.objects.filter(
            pk=OuterRef("pk"), signalled_at__lte=OuterRef("signalled_at")
        )
        annotations = {"m_anchor": F(rule.anchor)}
        if "m_region" in str(in_time):
            annotations["m_region"] = F("placement__school__region")
        branches.append(
            Exists(
                rule.filter(same_row)
                .annotate(**annotations)
                .filter(in_time)
                .order_by()
                .values("pk")
            )
        )
    if not branches:
        return Q(pk__in=[])
    return Q(state__in=OPEN_STATES) & reduce(operator.or_, branches)
