"""The internship office's pages: the dashboard, the case list with its exports, the pictures and
the anonymised report for the partnership's steering group, the change worklist; and the ISOP
owner's queue of advice requests. The reads are in `selectors`, the forms in `forms`.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from functools import cached_property, wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from openpyxl import Workbook

from cases import services as case_services
from cases.exports import SafeCSVWriter, append_xlsx_row
from cases.forms import DeputyForm
from cases.models import OPEN_STATES, Case, Deputy, GuardFailed, State, User
from cases.views import forbidden
from deadlines.api import due_steps, effective_rules, load_calendars

from . import selectors
from .charts import report_charts
from .forms import OfficeFilterForm, PeriodForm

PAGE_SIZE = 50
# The list counts at most this many matches: the first pages come back at once at any data
# size (a filter the database checks row by row, like overdue, or a broad search), and the
# count reads "more than 1,000".
COUNT_CAP = 1000
DASHBOARD_LIMIT = 50


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


@office_only
@require_http_methods(["GET"])
def dashboard(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    rules, cals = effective_rules(), load_calendars(today)
    since = timezone.now() - dt.timedelta(days=selectors.RECENTLY_CLOSED_DAYS)
    counts = selectors.state_counts(closed_since=since)
    steps = due_steps(today=today, limit=DASHBOARD_LIMIT, rules=rules, cals=cals)
    monitored = selectors.monitoring_rows(cals, rules, today, counts)
    failed, failed_total = selectors.failed_notifications()
    list_url = reverse("office:office_list")
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
        "open_total": sum(counts[state] for state in OPEN_STATES),
        # A resumed internship is its own outcome, apart from a stop.
        "closed_rows": [
            {"state": state, "label": State(state).label, "count": counts[state]}
            for state in selectors.OUTCOME_STATES
        ],
        "closed_days": selectors.RECENTLY_CLOSED_DAYS,
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
                (State.CHANGE_CONVERSATION_INCOMPLETE, _("Held without everyone")),
            )
        ],
        "steps": steps,
        "steps_limit": DASHBOARD_LIMIT,
        # Longest waiting first: the likeliest overdue come first along an index, so the list
        # and its capped count cost the same at any number of cases (newest first would walk
        # the recent cases, rarely overdue, to fill a page).
        "overdue_url": f"{list_url}?{urlencode({'overdue': 1, 'sort': 'waiting'})}",
        "failed": failed,
        "failed_total": failed_total,
        "breakdowns": selectors.breakdowns(),
    }
    return render(request, "office/dashboard.html", context)


# --------------------------------------------------------------------------------------------
# The office's case list and its exports
# --------------------------------------------------------------------------------------------


def _bound_form(request: HttpRequest) -> OfficeFilterForm:
    form = OfficeFilterForm(request.GET or None, schools=selectors.filter_schools())
    if request.GET:
        form.is_valid()
    return form


def _filtered(form: OfficeFilterForm) -> QuerySet[Case]:
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    return selectors.filter_cases(data)


class CappedPaginator(Paginator):
    """A paginator that counts at most `cap` + 1 rows (`capped` says when there are more)."""

    def __init__(
        self, object_list, per_page, *, cap: int | None = None, walk_longest_waiting=False, **kw
    ):
        super().__init__(object_list, per_page, **kw)
        self.cap = cap
        self.walk_longest_waiting = walk_longest_waiting

    @cached_property
    def count(self) -> int:
        if self.cap is None:
            return super().count
        if not self.walk_longest_waiting:
            return self.object_list.order_by()[: self.cap + 1].count()
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
    cases = selectors.list_rows(_filtered(form))
    overdue = form.is_bound and form.is_valid() and form.cleaned_data.get("overdue")
    paginator = CappedPaginator(cases, PAGE_SIZE, cap=COUNT_CAP, walk_longest_waiting=overdue)
    page = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "office/office_list.html",
        {
            "title": _("All cases"),
            "form": form,
            "page": page,
            "cases": page.object_list,
            "rows": selectors.office_rows(page.object_list),
            "query": query.urlencode(),
        },
    )


def _xlsx(qs: QuerySet[Case]) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("Cases"))
    append_xlsx_row(sheet, [str(c) for c in selectors.EXPORT_COLUMNS])
    for row in selectors.export_rows(qs):
        append_xlsx_row(sheet, row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@office_only
@require_http_methods(["GET"])
def office_export(request: HttpRequest, fmt: str) -> HttpResponse:
    if fmt not in ("csv", "xlsx"):
        raise Http404("No such format.")
    form = _bound_form(request)
    if form.is_bound and not form.is_valid():
        # Never all cases for a filter that was not understood: the list says what is wrong.
        return redirect(f"{reverse('office:office_list')}?{request.GET.urlencode()}")
    qs = _filtered(form)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    if fmt == "xlsx":
        response = HttpResponse(
            _xlsx(qs),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    else:
        response = StreamingHttpResponse(
            selectors.export_csv_lines(qs), content_type="text/csv; charset=utf-8"
        )
    response["Content-Disposition"] = f'attachment; filename="cases-{stamp}.{fmt}"'
    # The access log writes one row per exported case from exactly this filter.
    response.exported_cases = qs
    return response


# --------------------------------------------------------------------------------------------
# Pictures and the steering group's report
# --------------------------------------------------------------------------------------------


@office_only
@require_http_methods(["GET"])
def report(request: HttpRequest) -> HttpResponse:
    form = PeriodForm(request.GET or None, today=timezone.localdate())
    start, end = form.period()
    data = selectors.report_data(start, end)
    return render(
        request,
        "office/dashboard_report.html",
        {
            "title": _("Pictures"),
            "form": form,
            "start": start,
            "end": end,
            "charts": report_charts(data),
            "download_query": urlencode({"start": start.isoformat(), "end": end.isoformat()}),
        },
    )


def _steering_csv(rows: dict[str, Any], start: dt.date, end: dt.date, outcome_labels) -> str:
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = SafeCSVWriter(buffer)
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
    for table in rows["breakdowns"]:
        writer.writerow([])
        writer.writerow([table["title"], _("signalled in the period"), _("open now")])
        for row in table["rows"]:
            writer.writerow([row["name"], row["signalled"], row["open_now"]])
    writer.writerow([])
    writer.writerow([_("time from signal to the first conversation"), _("cases")])
    for label, n in rows["waits"]:
        writer.writerow([label, n])
    writer.writerow([])
    writer.writerow([_("ISOP advice and the office's decisions"), _("cases")])
    for label, n in rows["advice"]:
        writer.writerow([label, n])
    return buffer.getvalue()


@office_only
@require_http_methods(["GET"])
def steering_report(request: HttpRequest, fmt: str) -> HttpResponse:
    if fmt not in ("csv", "html"):
        raise Http404("No such format.")
    form = PeriodForm(request.GET or None, today=timezone.localdate())
    if form.is_bound and not form.is_valid():
        # A file cannot show the message: the pictures page shows it, with the same period.
        return redirect(f"{reverse('office:report')}?{request.GET.urlencode()}")
    start, end = form.period()
    rows = selectors.steering_rows(selectors.report_data(start, end))
    outcome_labels = [str(State(s).label) for s in selectors.OUTCOME_STATES]
    name = f"steering-report-{start:%Y%m%d}-{end:%Y%m%d}"
    if fmt == "csv":
        response = HttpResponse(
            _steering_csv(rows, start, end, outcome_labels),
            content_type="text/csv; charset=utf-8",
        )
    else:
        html = render_to_string(
            "office/dashboard_steering.html",
            {
                "start": start,
                "end": end,
                "rows": rows,
                "outcome_labels": outcome_labels,
                "small_count": selectors.SMALL_COUNT,
                "generated": timezone.localtime(),
            },
            request=request,
        )
        response = HttpResponse(html, content_type="text/html; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


# --------------------------------------------------------------------------------------------
# The change worklist and the ISOP owner's queue
# --------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET"])
def worklist(request: HttpRequest) -> HttpResponse:
    if not request.user.is_office:
        return forbidden(request, _("Only the internship office sees the worklist."))
    groups = selectors.office_worklist()
    return render(
        request,
        "office/worklist.html",
        {
            "groups": groups,
            "total": sum(len(g.rows) for g in groups),
            "title": _("Change requests by step"),
        },
    )


@login_required
@require_http_methods(["GET"])
def isop_queue(request: HttpRequest) -> HttpResponse:
    if not request.user.is_isop_owner:
        return forbidden(request, _("Only the ISOP process owner sees the advice requests."))
    return render(
        request,
        "office/isop_queue.html",
        {"digests": selectors.open_advice_requests(), "title": _("Advice requests")},
    )


# --------------------------------------------------------------------------------------------
# Deputies
# --------------------------------------------------------------------------------------------


@office_only
@require_http_methods(["GET", "POST"])
def deputies(request: HttpRequest) -> HttpResponse:
    """The office names a deputy ISOP process owner or deputy office staff for a period; the
    list shows who is (or will be) deputy and who named them."""
    people = User.objects.filter(is_active=True).order_by("last_name", "first_name", "pk")
    search = request.GET.get("q", "").replace("\x00", "")[:100]
    if request.method == "GET":  # the list: staff (no student number), or found by name
        shown = people.filter(student_number="")
        for word in search.split()[:4]:
            shown = people.filter(
                Q(first_name__icontains=word)
                | Q(last_name__icontains=word)
                | Q(email__icontains=word)
            )
        people = people.filter(pk__in=list(shown.values_list("pk", flat=True)[:200]))
    form = DeputyForm(request.POST if request.method == "POST" else None, people=people)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                case_services.deputy_name(**form.cleaned_data, by=request.user)
            except GuardFailed as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, _("The deputy has been named."))
                return redirect("office:deputies")
        elif not form.non_field_errors():
            form.add_error(None, _("Please correct the errors below."))
    today = timezone.localdate()
    rows = (
        Deputy.objects.filter(ends_on__gte=today - dt.timedelta(days=90))
        .select_related("person", "named_by")
        .order_by("-ends_on", "pk")
    )
    return render(
        request,
        "office/deputies.html",
        {"form": form, "rows": rows, "today": today, "search": search},
        status=status,
    )
