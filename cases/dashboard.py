"""The internship office's pages: the dashboard, the case list with its exports, the pictures and
the anonymised report for the partnership's steering group.

Every page runs a fixed number of queries whatever the number of cases: counts are aggregates,
lists are sliced in the database, and the deadline list is one UNION query built from the same
deadline table the reminder scan uses (notifications.monitoring). The other apps' records are
read through the Case model's reverse relations or imported inside functions (see style.md).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterable, Iterator
from functools import cached_property, wraps
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import (
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Window,
)
from django.db.models.functions import TruncMonth
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import dateformat, formats, timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from .charts import bar_chart
from .forms import DateInput
from .models import CLOSED_STATES, OPEN_STATES, Case, Category, State, TrainingSchool
from .views import forbidden

PAGE_SIZE = 50
# A filter the database checks row by row (overdue) counts at most this many matches: the
# first pages come back at once at any data size, and the count reads "more than 1,000".
COUNT_CAP = 1000
DASHBOARD_LIMIT = 50
MONITOR_LIMIT = 25
FAILED_LIMIT = 20
# Counts below this are shown as "<5" in the steering group's report: a small number at one
# school in one month could point at one student.
SMALL_COUNT = 5
OUTCOME_STATES = (
    State.CLOSED_RESOLVED,
    State.CLOSED_TRANSFERRED,
    State.CLOSED_STOPPED,
    State.CLOSED_WITHDRAWN,
)


def office_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_office:
            return forbidden(request, _("Only the internship office can see this page."))
        return view(request, *args, **kwargs)

    return wrapper


# --------------------------------------------------------------------------------------------
# Dashboard
# --------------------------------------------------------------------------------------------


def state_counts() -> dict[str, int]:
    rows = Case.objects.open().order_by().values("state").annotate(n=Count("pk"))
    counts = {row["state"]: row["n"] for row in rows}
    return {state: counts.get(state, 0) for state in OPEN_STATES}


def _monitored(state: str, limit: int) -> QuerySet[Case]:
    """Cases in `state`, waiting longest first (the (state, state_changed_at) index), with when
    the office was informed and when the all-party conversation is planned."""
    from conversations.models import Conversation
    from transfers.models import ChangeRequest

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


def monitoring_rows(cals, rules, today: dt.date) -> dict[str, list[dict]]:
    """The all-party conversation not yet planned / not yet held, with working days waiting
    since the office was informed, flagged with the thresholds of the deadline table."""
    from notifications.monitoring import first_deadline

    limits = {eff.rule.key: first_deadline(eff) for eff in rules}
    result = {}
    for state, rule_key in (
        (State.OFFICE_INFORMED, "change_conversation_planned"),
        (State.CHANGE_CONVERSATION_PLANNED, "change_conversation_held"),
    ):
        rows = []
        for case in _monitored(state, MONITOR_LIMIT):
            since = case.office_informed_at or case.state_changed_at
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
    from notifications.models import Notification

    try:
        from notifications.selectors import failed_deliveries
    except ImportError:
        qs = Notification.objects.filter(status=Notification.Status.FAILED)
    else:
        qs = failed_deliveries()
    rows = list(
        qs.select_related("recipient", "case")
        .annotate(total=Window(Count("pk")))
        .order_by("-created_at", "-pk")[:limit]
    )
    return rows, (rows[0].total if rows else 0)


@office_only
@require_http_methods(["GET"])
def dashboard(request: HttpRequest) -> HttpResponse:
    from notifications.deadlines import effective_rules
    from notifications.monitoring import due_steps, load_calendars

    today = timezone.localdate()
    rules, cals = effective_rules(), load_calendars(today)
    counts = state_counts()
    steps = due_steps(today=today, limit=DASHBOARD_LIMIT, rules=rules, cals=cals)
    monitored = monitoring_rows(cals, rules, today)
    failed, failed_total = failed_notifications()
    list_url = reverse("cases:office_list")
    context = {
        "title": _("Dashboard"),
        "today": today,
        "state_rows": [
            {
                "state": state,
                "label": State(state).label,
                "count": counts[state],
                "url": f"{list_url}?{urlencode({'state': state})}",
            }
            for state in OPEN_STATES
        ],
        "open_total": sum(counts.values()),
        "monitoring": [
            {
                "title": title,
                "rows": monitored[state],
                "total": counts[state],
                "planned": state == State.CHANGE_CONVERSATION_PLANNED,
                "url": f"{list_url}?{urlencode({'state': state, 'sort': 'waiting'})}",
            }
            for state, title in (
                (State.OFFICE_INFORMED, _("Not yet planned")),
                (State.CHANGE_CONVERSATION_PLANNED, _("Planned, not yet held")),
            )
        ],
        "steps": steps,
        "steps_limit": DASHBOARD_LIMIT,
        "overdue_url": f"{list_url}?overdue=1",
        "failed": failed,
        "failed_total": failed_total,
    }
    return render(request, "cases/dashboard.html", context)


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
SORT_LABELS = {
    "-signalled": gettext_lazy("newest signal first"),
    "signalled": gettext_lazy("oldest signal first"),
    "waiting": gettext_lazy("longest in this state first"),
    "student": gettext_lazy("student"),
    "school": gettext_lazy("training school"),
    "state": gettext_lazy("state"),
}
OPEN, CLOSED = "open", "closed"


class OfficeFilterForm(forms.Form):
    q = forms.CharField(
        label=gettext_lazy("Student name or number"), required=False, max_length=100
    )
    state = forms.ChoiceField(label=gettext_lazy("State"), required=False)
    school = forms.TypedChoiceField(
        label=gettext_lazy("Training school"), required=False, coerce=int, empty_value=None
    )
    board = forms.TypedChoiceField(
        label=gettext_lazy("Board"), required=False, coerce=int, empty_value=None
    )
    study_coach = forms.CharField(label=gettext_lazy("Study coach"), required=False, max_length=100)
    school_trainer = forms.CharField(
        label=gettext_lazy("School trainer"), required=False, max_length=100
    )
    category = forms.ChoiceField(label=gettext_lazy("Category"), required=False)
    overdue = forms.BooleanField(label=gettext_lazy("Only with an overdue step"), required=False)
    signalled_from = forms.DateField(
        label=gettext_lazy("Signalled from"), required=False, widget=DateInput
    )
    signalled_to = forms.DateField(
        label=gettext_lazy("Signalled up to and including"), required=False, widget=DateInput
    )
    sort = forms.ChoiceField(label=gettext_lazy("Sort by"), required=False)

    def __init__(self, *args, schools: list[TrainingSchool], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["state"].choices = [
            ("", _("all states")),
            (OPEN, _("all open cases")),
            (CLOSED, _("all closed cases")),
            *State.choices,
        ]
        self.fields["school"].choices = [("", _("all schools"))] + [(s.pk, str(s)) for s in schools]
        boards = sorted({(s.board.name, s.board_id) for s in schools})
        self.fields["board"].choices = [("", _("all boards"))] + [(pk, name) for name, pk in boards]
        self.fields["category"].choices = [("", _("all categories")), *Category.choices]
        self.fields["sort"].choices = list(SORT_LABELS.items())

    def clean(self) -> dict:
        data = super().clean()
        start, end = data.get("signalled_from"), data.get("signalled_to")
        if start and end and end < start:
            self.add_error("signalled_to", _("The end of the period lies before its start."))
        return data


def _person_q(prefix: str, text: str) -> Q:
    q = Q()
    for word in text.split():
        q &= (
            Q(**{f"{prefix}__first_name__icontains": word})
            | Q(**{f"{prefix}__last_name__icontains": word})
            | Q(**{f"{prefix}__username__iexact": word})
        )
    return q


def _search_q(text: str) -> Q:
    text = text.strip()
    number = text.upper().removeprefix("SB-")
    q = _person_q("placement__student", text) | Q(placement__student__student_number__iexact=text)
    if number.isdigit():
        q |= Q(pk=int(number))
    return q


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
        qs = qs.filter(signalled_at__gte=_day_start(data["signalled_from"]))
    if data.get("signalled_to"):
        qs = qs.filter(signalled_at__lt=_day_start(data["signalled_to"] + dt.timedelta(days=1)))
    if data.get("q"):
        qs = qs.filter(_search_q(data["q"]))
    if data.get("overdue"):
        from notifications.monitoring import overdue_filter

        qs = qs.filter(overdue_filter(today=today))
    return qs.order_by(*SORTS.get(data.get("sort") or "-signalled", SORTS["-signalled"]))


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _list_rows(qs: QuerySet[Case]) -> QuerySet[Case]:
    return qs.select_related(
        "placement__student",
        "placement__school__board",
        "placement__study_coach",
        "placement__school_trainer",
    ).prefetch_related("categories")


def _schools() -> list[TrainingSchool]:
    return list(TrainingSchool.objects.select_related("board").order_by("name"))


def _bound_form(request: HttpRequest) -> OfficeFilterForm:
    form = OfficeFilterForm(request.GET or None, schools=_schools())
    if request.GET:
        form.is_valid()
    return form


def _filtered(form: OfficeFilterForm) -> QuerySet[Case]:
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    return filter_cases(data)


class CappedPaginator(Paginator):
    """A paginator that counts at most `cap` + 1 rows (`capped` says when there are more)."""

    def __init__(self, object_list, per_page, *, cap: int | None = None, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.cap = cap

    @cached_property
    def count(self) -> int:
        if self.cap is None:
            return super().count
        # Walk the longest-waiting open cases first (an index serves that order): those are
        # the likeliest to be overdue, so the cap is reached after few rows at any data size.
        return self.object_list.order_by("state_changed_at", "pk")[: self.cap + 1].count()

    @property
    def capped(self) -> bool:
        return self.cap is not None and self.count > self.cap


@office_only
@require_http_methods(["GET"])
def office_list(request: HttpRequest) -> HttpResponse:
    form = _bound_form(request)
    cases = _list_rows(_filtered(form))
    overdue = form.is_bound and form.is_valid() and form.cleaned_data.get("overdue")
    paginator = CappedPaginator(cases, PAGE_SIZE, cap=COUNT_CAP if overdue else None)
    page = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "cases/office_list.html",
        {
            "title": _("All cases"),
            "form": form,
            "page": page,
            "cases": page.object_list,
            "rows": office_rows(page.object_list),
            "query": query.urlencode(),
        },
    )


def office_rows(cases: Iterable[Case]) -> list[dict[str, Any]]:
    """The list's cells as plain strings, made in one pass: labels looked up once per request
    rather than per row through the template engine (a page of 50 rows renders in a third of
    the time)."""
    states = {value: str(label) for value, label in State.choices}
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
                "state_label": states.get(case.state, case.state),
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


def _export_rows(qs: QuerySet[Case]) -> Iterator[list]:
    def when(value):
        return timezone.localtime(value).replace(tzinfo=None) if value else None

    for case in _list_rows(qs).iterator(chunk_size=2000):
        p = case.placement
        yield [
            case.number,
            str(p.student),
            p.student.student_number,
            p.school.name,
            p.school.board.name,
            str(p.study_coach),
            str(p.school_trainer),
            str(case.get_state_display()),
            ", ".join(str(c.get_category_display()) for c in case.categories.all()),
            when(case.signalled_at),
            when(case.state_changed_at),
            when(case.closed_at),
        ]


class _Echo:
    def write(self, value: str) -> str:
        return value


@office_only
@require_http_methods(["GET"])
def office_export(request: HttpRequest, fmt: str) -> HttpResponse:
    if fmt not in ("csv", "xlsx"):
        raise Http404("No such format.")
    form = _bound_form(request)
    qs = _filtered(form)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    if fmt == "xlsx":
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet(_("Cases"))
        sheet.append([str(c) for c in EXPORT_COLUMNS])
        for row in _export_rows(qs):
            sheet.append(row)
        buffer = io.BytesIO()
        book.save(buffer)
        response = HttpResponse(
            buffer.getvalue(),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response["Content-Disposition"] = f'attachment; filename="cases-{stamp}.xlsx"'
        return response
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        yield "\ufeff"  # so that Excel reads the file as UTF-8
        yield writer.writerow([str(c) for c in EXPORT_COLUMNS])
        for row in _export_rows(qs):
            yield writer.writerow(
                [v.strftime("%Y-%m-%d %H:%M") if isinstance(v, dt.datetime) else v for v in row]
            )

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="cases-{stamp}.csv"'
    return response


# --------------------------------------------------------------------------------------------
# Pictures and the steering group's report
# --------------------------------------------------------------------------------------------


class PeriodForm(forms.Form):
    start = forms.DateField(label=gettext_lazy("From"), required=False, widget=DateInput)
    end = forms.DateField(
        label=gettext_lazy("Up to and including"), required=False, widget=DateInput
    )

    def period(self, today: dt.date) -> tuple[dt.date, dt.date]:
        data = self.cleaned_data if self.is_valid() else {}
        end = data.get("end") or today
        default_start = (end.replace(day=1) - dt.timedelta(days=335)).replace(day=1)
        start = data.get("start") or default_start
        if start > end:
            start, end = end, start
        return start, end


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
    lower, upper = _day_start(start), _day_start(end + dt.timedelta(days=1))
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
    }


def report_charts(data: dict[str, Any]) -> list:
    months = data["months"]
    month_label = [m.strftime("%m-%Y") for m in months]
    outcome_labels = {s: str(State(s).label) for s in OUTCOME_STATES}
    new_label, open_label = _("new signals"), _("open at the end of the month")
    charts = [
        bar_chart(
            _("Cases over time"),
            _("New signals per month and the number of cases open at the end of each month."),
            [
                (label, {new_label: data["signalled"][m], open_label: data["open_end"][m]})
                for label, m in zip(month_label, months, strict=True)
            ],
            series=[new_label, open_label],
            stacked=False,
        ),
        bar_chart(
            _("Outcomes per month"),
            _("Cases closed per month: resolved, transferred, stopped or withdrawn."),
            [
                (label, {outcome_labels[s]: data["closed"][m][s] for s in OUTCOME_STATES})
                for label, m in zip(month_label, months, strict=True)
            ],
            series=[outcome_labels[s] for s in OUTCOME_STATES],
        ),
        bar_chart(
            _("Time from signal to the first conversation"),
            _("Cases signalled in the period, by the days until their first conversation."),
            [(label, {_("cases"): n}) for label, n in data["waits"]],
            series=[_("cases")],
        ),
        bar_chart(
            _("Cases per training school"),
            _("Cases signalled in the period and cases open now, per training school."),
            [
                (
                    row["name"],
                    {
                        _("signalled in the period"): row["signalled"],
                        _("open now"): row["open_now"],
                    },
                )
                for row in data["schools"]
            ],
            series=[_("signalled in the period"), _("open now")],
            stacked=False,
        ),
    ]
    return charts


@office_only
@require_http_methods(["GET"])
def report(request: HttpRequest) -> HttpResponse:
    form = PeriodForm(request.GET or None)
    start, end = form.period(timezone.localdate())
    data = report_data(start, end)
    return render(
        request,
        "cases/dashboard_report.html",
        {
            "title": _("Pictures"),
            "form": form,
            "start": start,
            "end": end,
            "charts": report_charts(data),
            "download_query": urlencode({"start": start.isoformat(), "end": end.isoformat()}),
        },
    )


def _small(n: int) -> str | int:
    return f"<{SMALL_COUNT}" if 0 < n < SMALL_COUNT else n


def steering_rows(data: dict[str, Any]) -> dict[str, Any]:
    """The report's tables with small counts suppressed: counts only, no names of people."""
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
        {"name": r["name"], "signalled": _small(r["signalled"]), "open_now": _small(r["open_now"])}
        for r in data["schools"]
    ]
    waits = [(label, _small(n)) for label, n in data["waits"]]
    return {"per_month": per_month, "schools": schools, "waits": waits}


@office_only
@require_http_methods(["GET"])
def steering_report(request: HttpRequest, fmt: str) -> HttpResponse:
    if fmt not in ("csv", "html"):
        raise Http404("No such format.")
    form = PeriodForm(request.GET or None)
    start, end = form.period(timezone.localdate())
    data = report_data(start, end)
    rows = steering_rows(data)
    outcome_labels = [str(State(s).label) for s in OUTCOME_STATES]
    name = f"steering-report-{start:%Y%m%d}-{end:%Y%m%d}"
    if fmt == "csv":
        buffer = io.StringIO()
        buffer.write("\ufeff")
        writer = csv.writer(buffer)
        writer.writerow([_("Anonymised report"), start.isoformat(), end.isoformat()])
        writer.writerow([])
        writer.writerow(
            [_("month"), _("new signals"), *outcome_labels, _("open at the end of the month")]
        )
        for row in rows["per_month"]:
            writer.writerow([row["month"], row["signalled"], *row["outcomes"], row["open_end"]])
        writer.writerow([])
        writer.writerow([_("training school"), _("signalled in the period"), _("open now")])
        for row in rows["schools"]:
            writer.writerow([row["name"], row["signalled"], row["open_now"]])
        writer.writerow([])
        writer.writerow([_("time from signal to the first conversation"), _("cases")])
        for label, n in rows["waits"]:
            writer.writerow([label, n])
        response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return response
    html = render_to_string(
        "cases/dashboard_steering.html",
        {
            "start": start,
            "end": end,
            "rows": rows,
            "outcome_labels": outcome_labels,
            "small_count": SMALL_COUNT,
            "generated": timezone.localtime(),
        },
        request=request,
    )
    response = HttpResponse(html, content_type="text/html; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.html"'
    return response
