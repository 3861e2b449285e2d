"""The internship office's reads: the dashboard's counts and monitor, the filtered case list and
its rows and export, the report's counts, the change worklist and the ISOP owner's advice queue.

Every read runs a fixed number of queries whatever the number of cases: counts are aggregates,
lists are sliced in the database, and the deadline list is one UNION query built from the same
deadline table the reminder scan uses (deadlines.monitoring).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.postgres.aggregates import StringAgg
from django.core.cache import cache
from django.db import connection
from django.db.models import Case as SQLCase
from django.db.models import (
    CharField,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Func,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import Coalesce, NullIf, TruncMonth
from django.urls import reverse
from django.utils import dateformat, formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases.exports import PYTHON_WHITESPACE, SafeCellText, SafeCSVWriter, copy_csv, safe_cell
from cases.models import (
    CLOSED_STATES,
    FIVE_ANSWERS,
    OPEN_STATES,
    STATE_VARIANTS,
    Case,
    CaseCategory,
    CaseClosureCount,
    CaseStateCount,
    Category,
    State,
    TrainingSchool,
    User,
)
from conversations.models import Conversation
from deadlines.api import calendars, effective_rules, first_deadline, overdue_filter
from notifications.selectors import failed_deliveries
from transfers.models import ChangeRequest, IsopAdvice, OutcomeReport, Position, Stop

MONITOR_LIMIT = 25
FAILED_LIMIT = 20
# Counts below this are shown as "<5" in the steering group's report: a small number at one
# school in one month could point at one student.
SMALL_COUNT = 5
# A resumed internship is its own outcome, counted apart from a stop.
OUTCOME_STATES = (
    State.CLOSED_RESOLVED,
    State.CLOSED_TRANSFERRED,
    State.CLOSED_STOPPED,
    State.CLOSED_RESUMED,
    State.CLOSED_WITHDRAWN,
)
# The dashboard's closed cases: those closed in the last so many days, per outcome.
RECENTLY_CLOSED_DAYS = 30


# --------------------------------------------------------------------------------------------
# Dashboard
# --------------------------------------------------------------------------------------------


def state_counts(closed_since: dt.datetime | None = None) -> dict[str, int]:
    """Open cases per state (the counters the database keeps, `CaseStateCount`: a handful of
    rows at any number of cases) and, with `closed_since`, the cases closed since then per
    outcome: the whole UTC days after it from `CaseClosureCount` (a row per day and outcome),
    the rest of the day it falls in from the cases themselves (the (closed_at, state) index:
    one day's closures), so the window is exact to the second. One query."""
    counters = (
        CaseStateCount.objects.filter(state__in=OPEN_STATES)
        .order_by()
        .values_list("state", "count")
    )
    if closed_since is not None:
        first_day = closed_since.astimezone(dt.UTC).date() + dt.timedelta(days=1)
        first_midnight = dt.datetime.combine(first_day, dt.time.min, tzinfo=dt.UTC)
        whole_days = (
            CaseClosureCount.objects.filter(day__gte=first_day, state__in=CLOSED_STATES)
            .order_by()
            .values("state")
            .annotate(n=Sum("count"))
            .values_list("state", "n")
        )
        first_part = (
            Case.objects.filter(
                closed_at__gte=closed_since, closed_at__lt=first_midnight, state__in=CLOSED_STATES
            )
            .order_by()
            .values("state")
            .annotate(n=Count("*"))  # COUNT(*): the (closed_at, state) index alone answers
            .values_list("state", "n")
        )
        counters = counters.union(whole_days, first_part, all=True)
    counts: dict[str, int] = {}
    for state, n in counters:
        counts[state] = counts.get(state, 0) + int(n)
    states = OPEN_STATES + (OUTCOME_STATES if closed_since is not None else ())
    return {state: counts.get(state, 0) for state in states}


def _monitored(state: str, limit: int) -> QuerySet[Case]:
    """Cases in `state`, waiting longest first (the (state, state_changed_at) index), with when
    the office was informed and when the all-party conversation is planned."""
    informed = (
        ChangeRequest.objects.filter(case=OuterRef("pk"), office_informed_at__isnull=False)
        .order_by("-office_informed_at")
        .values("office_informed_at")[:1]
    )
    planned = (
        Conversation.objects.filter(case=OuterRef("pk"), kind="change", status="planned")
        .order_by("-starts_at")
        .values("starts_at")[:1]
    )
    return (
        Case.objects.filter(state=state)
        .select_related("placement__student", "placement__school")
        .annotate(office_informed_at=Subquery(informed), conversation_at=Subquery(planned))
        .order_by("state_changed_at", "pk")[:limit]
    )


MONITORED = (
    (State.OFFICE_INFORMED, "change_conversation_planned"),
    (State.CHANGE_CONVERSATION_PLANNED, "change_conversation_held"),
    # Held without the student, the school trainer or the coach: the office accepts it (with a
    # reason) or a new one is planned. Counted from when it was recorded.
    (State.CHANGE_CONVERSATION_INCOMPLETE, "change_conversation_incomplete"),
)


def monitoring_rows(
    cals, rules, today: dt.date, counts: dict[str, int] | None = None
) -> dict[str, list[dict]]:
    """The all-party conversation not yet planned / not yet held / held without everyone,
    with working days waiting since the office was informed (since it was recorded, for the
    last), flagged with the thresholds of the deadline table. A state known to hold no case
    (`counts`) asks nothing of the database."""
    limits = {eff.rule.key: first_deadline(eff) for eff in rules}
    result = {}
    for state, rule_key in MONITORED:
        rows = []
        if (
            counts is not None
            and not counts.get(state)
            and (state == State.CHANGE_CONVERSATION_INCOMPLETE)
        ):
            result[state] = rows
            continue
        for case in _monitored(state, MONITOR_LIMIT):
            since = case.office_informed_at or case.state_changed_at
            if state == State.CHANGE_CONVERSATION_INCOMPLETE:
                since = case.state_changed_at
            cal = cals[case.placement.school.region]
            waiting = cal.between(timezone.localdate(since), today)
            # "Held" counts from the office being informed too (process.md: 5 and 15 days).
            limit = limits.get(rule_key)
            rows.append(
                {
                    "case": case,
                    "since": since,
                    "waiting": waiting,
                    "late": limit is not None and waiting >= limit,
                    "conversation_at": case.conversation_at,
                }
            )
        result[state] = rows
    return result


def failed_notifications(limit: int = FAILED_LIMIT) -> tuple[list, int]:
    """The latest failed deliveries and how many there are (one query)."""
    rows = list(
        failed_deliveries()
        .select_related("recipient", "case")
        .annotate(total=Window(Count("pk")))
        .order_by("-created_at", "-pk")[:limit]
    )
    return rows, (rows[0].total if rows else 0)


# --------------------------------------------------------------------------------------------
# The office's case list
# --------------------------------------------------------------------------------------------

SORTS = {
    "-signalled": ("-signalled_at", "-pk"),
    "signalled": ("signalled_at", "pk"),
    "waiting": ("state_changed_at", "pk"),
    "student": ("placement__student__last_name", "placement__student__first_name", "pk"),
    "school": ("placement__school__name", "-signalled_at", "pk"),
    "state": ("state", "state_changed_at", "pk"),
}
# The state filter's two groups besides the states themselves.
OPEN, CLOSED = "open", "closed"


def _person_q(prefix: str, text: str) -> Q:
    """Every word in the first name, the last name or as the username (`prefix` "" for users)."""
    path = f"{prefix}__" if prefix else ""
    q = Q()
    for word in text.split():
        q &= (
            Q(**{f"{path}first_name__icontains": word})
            | Q(**{f"{path}last_name__icontains": word})
            | Q(**{f"{path}username__iexact": word})
        )
    return q


# A case number as the office writes it: "SB-00123", "sb123" or the digits alone.
CASE_NUMBER = re.compile(r"^(?:SB-?)?(\d{1,9})$", re.IGNORECASE)
# A search that matches more students than this is left to the database as a join.
SEARCH_STUDENTS = 500


def _search_q(text: str) -> Q:
    """The search box: an exact case number (SB-…) goes straight to its row; digits are a case
    number or a student number (both indexed); anything else is a name (every word in the
    first or last name; trigram-indexed on PostgreSQL), a username or a student number.

    The matching students are looked up first, in one query on the users' indexes, so the
    cases are then read through their placement's student: the query grows with what is
    found, not with the table (a join with '%…%' on names scanned every case backwards)."""
    text = text.strip()
    number = CASE_NUMBER.match(text)
    if number and not text.isdigit():
        return Q(pk=int(number.group(1)))
    if text.isdigit():
        students = Q(placement__student_id__in=_ids(User.objects.filter(student_number=text)))
        return Q(pk=int(text)) | students if number else students
    people = User.objects.filter(
        _person_q("", text) | Q(student_number=text) | Q(username__iexact=text)
    )
    ids = _ids(people)
    if len(ids) > SEARCH_STUDENTS:
        return Q(placement__student__in=people.values("pk"))
    return Q(placement__student_id__in=ids)


def _ids(people: QuerySet) -> list[int]:
    return list(people.order_by().values_list("pk", flat=True)[: SEARCH_STUDENTS + 1])


def filter_cases(data: dict, *, today: dt.date | None = None) -> QuerySet[Case]:
    """The office's list filtered by the cleaned form data."""
    qs = Case.objects.all()
    state = data.get("state")
    if state == OPEN:
        qs = qs.filter(state__in=OPEN_STATES)
    elif state == CLOSED:
        qs = qs.filter(state__in=CLOSED_STATES)
    elif state:
        qs = qs.filter(state=state)
    if data.get("school"):
        qs = qs.filter(placement__school_id=data["school"])
    if data.get("board"):
        qs = qs.filter(placement__school__board_id=data["board"])
    if data.get("study_coach"):
        qs = qs.filter(_person_q("placement__study_coach", data["study_coach"]))
    if data.get("school_trainer"):
        qs = qs.filter(_person_q("placement__school_trainer", data["school_trainer"]))
    if data.get("category"):
        qs = qs.filter(categories__category=data["category"])
    if data.get("signalled_from"):
        qs = qs.filter(signalled_at__gte=day_start(data["signalled_from"]))
    if data.get("signalled_to"):
        qs = qs.filter(signalled_at__lt=day_start(data["signalled_to"] + dt.timedelta(days=1)))
    if data.get("q"):
        qs = qs.filter(_search_q(data["q"]))
    if data.get("overdue"):
        qs = qs.filter(overdue_filter(today=today))
    return qs.order_by(*SORTS.get(data.get("sort") or "-signalled", SORTS["-signalled"]))


def day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def list_rows(qs: QuerySet[Case]) -> QuerySet[Case]:
    return qs.select_related(
        "placement__student",
        "placement__school__board",
        "placement__study_coach",
        "placement__school_trainer",
    ).prefetch_related("categories")


def filter_schools() -> list[TrainingSchool]:
    return list(TrainingSchool.objects.select_related("board").order_by("name"))


def office_rows(cases: Iterable[Case]) -> list[dict[str, Any]]:
    """The list's cells as plain strings, made in one pass: labels looked up once per request
    rather than per row through the template engine (a page of 50 rows renders in a third of
    the time)."""
    states = {value: str(label) for value, label in State.choices}
    variants = {
        (state, kind): str(label)
        for state, by_kind in STATE_VARIANTS.items()
        for kind, label in by_kind.items()
    }
    categories = {value: str(label) for value, label in Category.choices}
    short_date = formats.get_format("SHORT_DATE_FORMAT")
    # One reverse() for the page: the case number is the only part that differs.
    detail_url = reverse("portal:case", args=[0]).removesuffix("0/") + "{}/"

    def day(value: dt.datetime) -> dict[str, str]:
        local = timezone.localtime(value)
        return {"iso": local.isoformat(), "text": dateformat.format(local, short_date)}

    rows = []
    for case in cases:
        p = case.placement
        rows.append(
            {
                "case": case,
                "url": detail_url.format(case.pk),
                "number": case.number,
                "student": str(p.student),
                "student_number": p.student.student_number,
                "school": p.school.name,
                "board": p.school.board.name,
                "study_coach": str(p.study_coach),
                "school_trainer": str(p.school_trainer),
                "state": case.state,
                # A stop request reads as a stop request.
                "state_label": variants.get((case.state, case.change_kind))
                or states.get(case.state, case.state),
                "categories": [
                    categories.get(c.category, c.category) for c in case.categories.all()
                ],
                "signalled": day(case.signalled_at),
                "since": day(case.state_changed_at),
            }
        )
    return rows


EXPORT_COLUMNS = (
    gettext_lazy("number"),
    gettext_lazy("student"),
    gettext_lazy("student number"),
    gettext_lazy("training school"),
    gettext_lazy("board"),
    gettext_lazy("study coach"),
    gettext_lazy("school trainer"),
    gettext_lazy("state"),
    gettext_lazy("categories"),
    gettext_lazy("signalled at"),
    gettext_lazy("state changed at"),
    gettext_lazy("closed at"),
)


# The export's columns, read as plain values: no model instance per row.
_EXPORT_VALUES = (
    "pk",
    *(
        f"placement__{person}__{field}"
        for person in ("student", "study_coach", "school_trainer")
        for field in ("first_name", "last_name", "username")
    ),
    "placement__student__student_number",
    "placement__school__name",
    "placement__school__board__name",
    "state",
)
_EXPORT_TIMES = ("signalled_at", "state_changed_at", "closed_at")
_EXPORT_VALUES += _EXPORT_TIMES
EXPORT_CHUNK = 2000


def _local_minute_text(name: str, zone: str) -> Func:
    """PostgreSQL: the time as local "YYYY-MM-DD HH:MM" text (NULL stays NULL)."""
    local = Func(Value(zone), F(name), function="timezone")
    return Func(local, Value("YYYY-MM-DD HH24:MI"), function="to_char", output_field=CharField())


def export_rows(
    qs: QuerySet[Case], chunk_size: int | None = None, *, text_dates: bool = False
) -> Iterator[list]:
    """The export's rows, streamed: the needed columns as tuples through a server-side cursor
    (PostgreSQL), the categories of each chunk of cases in one query, labels looked up from
    dicts made once per export. Memory stays flat whatever the number of cases (a 50,000-row
    export is tested); the cells are made safe by the writer (cases.exports).

    Times are local and naive (a spreadsheet's date cells); `text_dates` gives them as the text
    "YYYY-MM-DD HH:MM" the CSV writes (the Python writer's path: SQLite; on PostgreSQL the
    database writes the CSV, `export_csv_lines`)."""
    chunk_size = chunk_size or EXPORT_CHUNK
    states = {value: str(label) for value, label in State.choices}
    labels = {value: str(label) for value, label in Category.choices}
    tz = timezone.get_current_timezone()
    if text_dates:

        def when(value):
            # "2026-11-03 14:22+01:00" cut after the minutes.
            return value.astimezone(tz).isoformat(" ", "minutes")[:16] if value else None

    else:

        def when(value):
            return value.astimezone(tz).replace(tzinfo=None) if value else None

    def rows(chunk: list[tuple]) -> Iterator[list]:
        categories: dict[int, str] = {}
        for case_id, category in (
            CaseCategory.objects.filter(case_id__in=[row[0] for row in chunk])
            .order_by("case_id", "pk")
            .values_list("case_id", "category")
        ):
            label = labels.get(category, category)
            categories[case_id] = (
                f"{categories[case_id]}, {label}" if case_id in categories else label
            )
        for row in chunk:
            # The people as str(User): the full name, else the username.
            yield [
                f"SB-{row[0]:05d}",
                f"{row[1]} {row[2]}".strip() or row[3],
                row[10],
                row[11],
                row[12],
                f"{row[4]} {row[5]}".strip() or row[6],
                f"{row[7]} {row[8]}".strip() or row[9],
                states.get(row[13], row[13]),
                categories.get(row[0], ""),
                when(row[14]),
                when(row[15]),
                when(row[16]),
            ]

    chunk: list[tuple] = []
    for row in qs.values_list(*_EXPORT_VALUES).iterator(chunk_size=chunk_size):
        chunk.append(row)
        if len(chunk) >= chunk_size:
            yield from rows(chunk)
            chunk = []
    if chunk:
        yield from rows(chunk)


def _labelled(name: str, choices) -> SQLCase:
    """The label of a choice column in the current language (an unknown value: itself)."""
    return SQLCase(
        *(When(**{name: value}, then=Value(str(label))) for value, label in choices),
        default=F(name),
        output_field=CharField(),
    )


def _person_text(prefix: str) -> Coalesce:
    """str(User) in SQL: the full name as Python strips it, else the username."""
    full = Func(
        Func(F(f"{prefix}__first_name"), Value(" "), F(f"{prefix}__last_name"), function="concat"),
        Value(PYTHON_WHITESPACE),
        function="btrim",
        output_field=CharField(),
    )
    return Coalesce(NullIf(full, Value("")), F(f"{prefix}__username"), output_field=CharField())


def _case_number_text() -> Func:
    """Case.number in SQL: "SB-" and the id, at least five digits."""
    return Func(
        F("pk"),
        template="'SB-' || CASE WHEN %(expressions)s < 100000 "
        "THEN lpad((%(expressions)s)::text, 5, '0') ELSE (%(expressions)s)::text END",
        output_field=CharField(),
    )


def export_csv_lines(qs: QuerySet[Case], chunk_rows: int = 500) -> Iterator[bytes]:
    """The CSV export as UTF-8, a chunk of lines at a time: a byte-order mark (Excel then reads
    UTF-8), the header, one line per case.

    On PostgreSQL the database writes the lines (`copy_csv`: COPY with the same safe cells and
    quoting as `SafeCSVWriter`, the same texts as `export_rows`): no Python per cell, memory
    flat (issue #17). SQLite writes `export_rows` with the Python writer; a test checks that
    both give the same file."""
    writer = SafeCSVWriter(_Echo())
    yield ("\ufeff" + writer.writerow([str(c) for c in EXPORT_COLUMNS])).encode()
    if connection.vendor == "postgresql":
        zone = timezone.get_current_timezone_name()
        category = _labelled("category", Category.choices)
        categories = (
            CaseCategory.objects.filter(case=OuterRef("pk"))
            .order_by()
            .values("case")
            .annotate(labels=StringAgg(category, ", ", order_by=("pk",)))
            .values("labels")
        )
        cells = (
            _case_number_text(),
            _person_text("placement__student"),
            F("placement__student__student_number"),
            F("placement__school__name"),
            F("placement__school__board__name"),
            _person_text("placement__study_coach"),
            _person_text("placement__school_trainer"),
            _labelled("state", State.choices),
            Subquery(categories, output_field=CharField()),
            *(_local_minute_text(name, zone) for name in _EXPORT_TIMES),
        )
        names = [f"_cell{i}" for i in range(len(cells))]
        rows = qs.annotate(**{n: SafeCellText(c) for n, c in zip(names, cells, strict=True)})
        yield from copy_csv(rows.values_list(*names), chunk_rows)
        return
    chunk: list[str] = []
    for row in export_rows(qs, text_dates=True):
        chunk.append(writer.writerow(row))
        if len(chunk) >= chunk_rows:
            yield "".join(chunk).encode()
            chunk = []
    if chunk:
        yield "".join(chunk).encode()


class _Echo:
    """A file for csv.writer that hands back what is written (the line as text)."""

    def write(self, value: str) -> str:
        return value


# --------------------------------------------------------------------------------------------
# Pictures and the steering group's report
# --------------------------------------------------------------------------------------------


def _months(start: dt.date, end: dt.date) -> list[dt.date]:
    months, current = [], start.replace(day=1)
    while current <= end:
        months.append(current)
        current = (current + dt.timedelta(days=32)).replace(day=1)
    return months


def _month_key(value) -> dt.date:
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value) if timezone.is_aware(value) else value
        return value.date().replace(day=1)
    return value.replace(day=1)


def report_data(start: dt.date, end: dt.date) -> dict[str, Any]:
    """Counts only, per month of the period: four aggregate queries whatever the data size."""
    lower, upper = day_start(start), day_start(end + dt.timedelta(days=1))
    months = _months(start, end)
    tz = timezone.get_current_timezone()
    # 1. Signalled per month, and the cases still open from before the period.
    signalled = dict.fromkeys(months, 0)
    for row in (
        Case.objects.filter(signalled_at__gte=lower, signalled_at__lt=upper)
        .annotate(month=TruncMonth("signalled_at", tzinfo=tz))
        .order_by()
        .values("month")
        .annotate(n=Count("pk"))
    ):
        signalled[_month_key(row["month"])] = row["n"]
    # 2. Closed per month and outcome.
    closed = {m: dict.fromkeys(OUTCOME_STATES, 0) for m in months}
    for row in (
        Case.objects.filter(state__in=CLOSED_STATES, closed_at__gte=lower, closed_at__lt=upper)
        .annotate(month=TruncMonth("closed_at", tzinfo=tz))
        .order_by()
        .values("month", "state")
        .annotate(n=Count("pk"))
    ):
        closed[_month_key(row["month"])][row["state"]] = row["n"]
    before = Case.objects.filter(signalled_at__lt=lower).filter(
        Q(closed_at__isnull=True) | Q(closed_at__gte=lower)
    )
    # 3. Per school: signalled in the period, and open now.
    schools = list(
        TrainingSchool.objects.annotate(
            signalled=Count(
                "placements__cases",
                filter=Q(
                    placements__cases__signalled_at__gte=lower,
                    placements__cases__signalled_at__lt=upper,
                ),
            ),
            open_now=Count("placements__cases", filter=Q(placements__cases__state__in=OPEN_STATES)),
        )
        .order_by("name")
        .values("name", "signalled", "open_now")
    )
    # 4. Days from the signal to the first (problem) conversation, for cases signalled in the
    # period that had one: in buckets.
    first_at = Min(
        "conversations__starts_at",
        filter=Q(conversations__kind="problem") & ~Q(conversations__status="cancelled"),
    )
    waits = (
        Case.objects.filter(signalled_at__gte=lower, signalled_at__lt=upper)
        .annotate(first_at=first_at)
        .filter(first_at__isnull=False)
        .annotate(
            wait=ExpressionWrapper(F("first_at") - F("signalled_at"), output_field=DurationField())
        )
    )
    buckets = [
        (_("within 3 days"), dt.timedelta(days=3)),
        (_("4 to 7 days"), dt.timedelta(days=7)),
        (_("8 to 14 days"), dt.timedelta(days=14)),
        (_("15 to 28 days"), dt.timedelta(days=28)),
        (_("more than 28 days"), None),
    ]
    aggregates, lower_bound = {}, None
    for index, (_label, bound) in enumerate(buckets):
        cond = Q()
        if lower_bound is not None:
            cond &= Q(wait__gt=lower_bound)
        if bound is not None:
            cond &= Q(wait__lte=bound)
        aggregates[f"b{index}"] = Count("pk", filter=cond)
        lower_bound = bound
    wait_counts = waits.aggregate(**aggregates)
    # 5. ISOP advice given in the period, and how often the office's decision followed it.
    advice = IsopAdvice.objects.filter(given_at__gte=lower, given_at__lt=upper).aggregate(
        given=Count("pk"),
        decided=Count("office_decision"),
        followed=Count("office_decision", filter=Q(office_decision__decision=F("decision"))),
    )
    # Open at each month's end = open before the period + signalled - closed, cumulated.
    open_end, running = {}, before.count()
    for month in months:
        running += signalled[month] - sum(closed[month].values())
        open_end[month] = running
    return {
        "months": months,
        "signalled": signalled,
        "closed": closed,
        "open_end": open_end,
        "schools": schools,
        "waits": [(label, wait_counts[f"b{i}"]) for i, (label, _b) in enumerate(buckets)],
        "breakdowns": breakdowns(start, end),
        "advice": {
            "given": advice["given"],
            "decided": advice["decided"],
            "followed": advice["followed"],
            "departed": advice["decided"] - advice["followed"],
        },
    }


def _small(n: int) -> str | int:
    return f"<{SMALL_COUNT}" if 0 < n < SMALL_COUNT else n


def steering_rows(data: dict[str, Any]) -> dict[str, Any]:
    """The report's tables with small counts suppressed: counts only, no names of people. A
    school's name is a safe spreadsheet cell (cases.exports): the report is a download (CSV or
    HTML) that a spreadsheet may open."""
    months = data["months"]
    per_month = [
        {
            "month": m.strftime("%Y-%m"),
            "signalled": _small(data["signalled"][m]),
            "outcomes": [_small(data["closed"][m][s]) for s in OUTCOME_STATES],
            "open_end": _small(data["open_end"][m]),
        }
        for m in months
    ]
    schools = [
        {
            "name": safe_cell(r["name"]),
            "signalled": _small(r["signalled"]),
            "open_now": _small(r["open_now"]),
        }
        for r in data["schools"]
    ]
    waits = [(label, _small(n)) for label, n in data["waits"]]
    tables = [
        {
            "title": table["title"],
            "rows": [
                {
                    "name": safe_cell(r["name"]),
                    "signalled": _small(r["signalled"]),
                    "open_now": _small(r["open_now"]),
                }
                for r in table["rows"]
            ],
        }
        for table in data.get("breakdowns", [])
    ]
    advice = data["advice"]
    advice_rows = [
        (_("ISOP advice given"), _small(advice["given"])),
        (_("decided by the internship office"), _small(advice["decided"])),
        (_("the decision followed the advice"), _small(advice["followed"])),
        (_("the decision departed from the advice"), _small(advice["departed"])),
    ]
    return {
        "per_month": per_month,
        "schools": schools,
        "waits": waits,
        "advice": advice_rows,
        "breakdowns": tables,
    }


# --------------------------------------------------------------------------------------------
# The ISOP owner's queue
# --------------------------------------------------------------------------------------------


@dataclass
class AdviceDigest:
    advice: IsopAdvice
    case: Case
    answers: list[tuple[str, str]]
    report: OutcomeReport | None


def open_advice_requests() -> list[AdviceDigest]:
    """Advice requests still to be answered on cases that wait for them, oldest first, each with
    the five answers of the latest held all-party conversation and the latest reported positions.
    """
    held_change = Conversation.objects.filter(
        kind=Conversation.Kind.CHANGE, status=Conversation.Status.HELD
    ).order_by("-held_at", "-pk")
    reports = (
        OutcomeReport.objects.select_related("reported_by")
        .prefetch_related(
            Prefetch(
                "positions",
                queryset=Position.objects.select_related("person").order_by("role", "pk"),
            )
        )
        .order_by("-reported_at", "-pk")
    )
    requests = (
        IsopAdvice.objects.filter(given_at__isnull=True, case__state=State.ISOP_ADVICE)
        .select_related("case__placement__student", "case__placement__school")
        .prefetch_related(
            Prefetch("case__conversations", queryset=held_change, to_attr="held_change"),
            Prefetch("case__outcome_reports", queryset=reports, to_attr="latest_reports"),
        )
        .order_by("requested_at", "pk")
    )
    digests = []
    for advice in requests:
        case = advice.case
        conversation = case.held_change[0] if case.held_change else None
        answers = (
            [
                (str(Conversation._meta.get_field(name).verbose_name), getattr(conversation, name))
                for name in FIVE_ANSWERS
            ]
            if conversation is not None
            else []
        )
        report = case.latest_reports[0] if case.latest_reports else None
        digests.append(AdviceDigest(advice=advice, case=case, answers=answers, report=report))
    return digests


# --------------------------------------------------------------------------------------------
# The office's worklist
# --------------------------------------------------------------------------------------------

# (group key, label, states)
WORKLIST_GROUPS: list[tuple[str, str, tuple[str, ...]]] = [
    ("office_contact", gettext_lazy("Awaiting contact with the office"), (State.CHANGE_REQUESTED,)),
    (
        "conversation",
        gettext_lazy("Awaiting the all-party conversation"),
        (
            State.OFFICE_INFORMED,
            State.CHANGE_CONVERSATION_PLANNED,
            State.CHANGE_CONVERSATION_INCOMPLETE,
        ),
    ),
    ("outcome", gettext_lazy("Awaiting the outcome"), (State.OUTCOME_PENDING,)),
    ("isop_advice", gettext_lazy("Awaiting ISOP advice"), (State.ISOP_ADVICE,)),
    ("decision", gettext_lazy("Awaiting the office's decision"), (State.DECISION_PENDING,)),
    ("placement", gettext_lazy("Awaiting a new placement or stop"), (State.TRANSFER_REQUESTED,)),
    ("handover", gettext_lazy("In warm handover"), (State.HANDOVER,)),
    ("stopped", gettext_lazy("Stopped temporarily"), (State.STOPPED,)),
]
WORKLIST_STATES = tuple(s for _key, _label, states in WORKLIST_GROUPS for s in states)
# The deadline rule (deadlines.api.RULES) whose threshold flags a case as overdue.
# Waiting for the all-party conversation: planned within 5 working days of the office being
# informed, held within 15 (process.md); both counted from that contact.
STATE_RULES: dict[str, str] = {
    State.CHANGE_REQUESTED: "office_contact",
    State.OFFICE_INFORMED: "change_conversation_planned",
    State.CHANGE_CONVERSATION_PLANNED: "change_conversation_held",
    State.CHANGE_CONVERSATION_INCOMPLETE: "change_conversation_incomplete",
    State.OUTCOME_PENDING: "outcome",
    State.ISOP_ADVICE: "isop_advice",
    State.DECISION_PENDING: "office_decision",
    State.TRANSFER_REQUESTED: "placement",
    State.HANDOVER: "handover",
}
FROM_OFFICE_CONTACT = (State.OFFICE_INFORMED, State.CHANGE_CONVERSATION_PLANNED)


@dataclass
class WorklistRow:
    case: Case
    since: dt.datetime  # when the wait began: the step, or the contact with the office
    waiting: int  # working days since then
    overdue: bool
    request: ChangeRequest | None
    stop: Stop | None


@dataclass
class WorklistGroup:
    key: str
    label: str
    rows: list[WorklistRow] = field(default_factory=list)


def _local_date(moment: dt.datetime) -> dt.date:
    return timezone.localtime(moment).date()


def _thresholds() -> dict[str, int | None]:
    """Working days after which a step counts as overdue: the escalation of its deadline rule,
    or the reminder where nobody escalates (the office's own steps)."""
    found: dict[str, int | None] = {}
    for eff in effective_rules():
        days = eff.escalate_after if eff.escalate_after is not None else eff.remind_after
        found[eff.rule.key] = days if days is not None and days >= 0 else None
    return found


def change_worklist_cases() -> QuerySet[Case]:
    latest_request = ChangeRequest.objects.select_related("requested_by").order_by(
        "-created_at", "-pk"
    )
    open_stops = Stop.objects.filter(resumed_at__isnull=True).order_by("-pk")
    return (
        Case.objects.filter(state__in=WORKLIST_STATES)
        .select_related("placement__student", "placement__school")
        .prefetch_related(
            Prefetch("change_requests", queryset=latest_request, to_attr="latest_requests"),
            Prefetch("stops", queryset=open_stops, to_attr="open_stops"),
        )
        .order_by("state_changed_at", "pk")
    )


def office_worklist(today: dt.date | None = None) -> list[WorklistGroup]:
    """The open change requests by step, longest waiting first, in working days of the
    school's region (public holidays and that region's school holidays do not count)."""
    today = today or timezone.localdate()
    cals = calendars()
    thresholds = _thresholds()
    groups = {key: WorklistGroup(key, label) for key, label, _states in WORKLIST_GROUPS}
    group_of = {s: key for key, _label, states in WORKLIST_GROUPS for s in states}
    for case in change_worklist_cases():
        request = case.latest_requests[0] if case.latest_requests else None
        since = case.state_changed_at
        if case.state in FROM_OFFICE_CONTACT and request and request.office_informed_at:
            since = request.office_informed_at
        waiting = cals[case.placement.school.region].between(_local_date(since), today)
        limit = thresholds.get(STATE_RULES.get(case.state, ""))
        groups[group_of[case.state]].rows.append(
            WorklistRow(
                case=case,
                since=since,
                waiting=waiting,
                overdue=limit is not None and waiting >= limit,
                request=request,
                stop=case.open_stops[0] if case.open_stops else None,
            )
        )
    for group in groups.values():
        group.rows.sort(key=lambda row: (row.since, row.case.pk))
    return list(groups.values())


# --------------------------------------------------------------------------------------------
# Breakdowns: by programme, study year, category and board
# --------------------------------------------------------------------------------------------

BREAKDOWN_DIMENSIONS = (
    ("programme", gettext_lazy("Per programme"), "placement__programme"),
    ("study_year", gettext_lazy("Per study year"), "placement__study_year"),
    ("board", gettext_lazy("Per school board"), "placement__school__board__name"),
)


BREAKDOWN_CACHE_KEY = "office:breakdowns:open-now:v1"


def breakdowns(start: dt.date | None = None, end: dt.date | None = None) -> list[dict[str, Any]]:
    """Counts of cases per programme, study year, board and category: open now, and (with a
    period) signalled in the period, labelled in the reader's language.

    Without a period (the dashboard) the counts come from the cache for
    DASHBOARD_BREAKDOWN_SECONDS (they count every open case, the one part of the dashboard
    that grows with the table); the steering report, with a period, always counts afresh."""
    seconds = settings.DASHBOARD_BREAKDOWN_SECONDS
    if start is None and end is None and seconds > 0:
        counts = cache.get(BREAKDOWN_CACHE_KEY)
        if counts is None:  # the periodic refresh has not run (yet): this request counts
            counts = refresh_breakdowns()
    else:
        counts = _breakdown_counts(start, end)
    return _label_breakdowns(*counts)


def refresh_breakdowns() -> tuple[dict, dict]:
    """Count the dashboard's breakdowns and keep them in the cache for
    DASHBOARD_BREAKDOWN_SECONDS. Run by the periodic task `office.tasks.refresh_breakdowns`
    twice in that time, so no office request waits for the counting (3 s at a million cases:
    issue #17); a request still counts when the cache is empty (no Celery beat)."""
    counts = _breakdown_counts(None, None)
    cache.set(BREAKDOWN_CACHE_KEY, counts, settings.DASHBOARD_BREAKDOWN_SECONDS)
    return counts


def _breakdown_counts(start: dt.date | None, end: dt.date | None) -> tuple[dict, dict]:
    """Two aggregate queries whatever the data size (one over the placement's dimensions, one
    over the categories: a case with two categories counts under both); raw values, no labels
    (what the cache keeps)."""
    opened = Q(state__in=OPEN_STATES)
    if start is not None and end is not None:
        period = Q(signalled_at__gte=day_start(start)) & Q(
            signalled_at__lt=day_start(end + dt.timedelta(days=1))
        )
    else:
        period = Q(pk__in=[])
    counted = {"signalled": Count("pk", filter=period), "open_now": Count("pk", filter=opened)}
    keys = [key for _name, _title, key in BREAKDOWN_DIMENSIONS]
    tables: dict[str, dict] = {name: {} for name, _title, _key in BREAKDOWN_DIMENSIONS}
    for row in Case.objects.filter(opened | period).order_by().values(*keys).annotate(**counted):
        for name, _title, key in BREAKDOWN_DIMENSIONS:
            cell = tables[name].setdefault(row[key], {"signalled": 0, "open_now": 0})
            cell["signalled"] += row["signalled"]
            cell["open_now"] += row["open_now"]
    categories = {
        row["categories__category"]: {"signalled": row["signalled"], "open_now": row["open_now"]}
        for row in Case.objects.filter(opened | period)
        .order_by()
        .values("categories__category")
        .annotate(**counted)
    }
    return tables, categories


def _label_breakdowns(tables: dict, categories: dict) -> list[dict[str, Any]]:
    labels = {value: str(label) for value, label in Category.choices}
    unknown = _("unknown")

    def name_of(dimension: str, value) -> str:
        if value in (None, ""):
            return unknown
        if dimension == "study_year":
            return _("year %(year)s") % {"year": value}
        if dimension == "category":
            return labels.get(value, str(value))
        return str(value)

    result = []
    dimensions = [*((n, t) for n, t, _k in BREAKDOWN_DIMENSIONS), ("category", _("Per category"))]
    for name, title in dimensions:
        cells = categories if name == "category" else tables[name]
        rows = [
            {"name": name_of(name, value), "signalled": c["signalled"], "open_now": c["open_now"]}
            for value, c in cells.items()
        ]
        rows.sort(key=lambda r: (r["name"] == unknown, r["name"]))
        result.append({"key": name, "title": str(title), "rows": rows})
    return result
