"""Privacy pages: the privacy officer's access log per student and the security events; a
student's own data (HTML to read or print to PDF, and JSON); the same export made by the
office or the privacy officer for a student. Thin: the rules live in privacy/selectors.py and
privacy/services.py."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from attachments.models import Attachment
from cases.models import AdviceDecision, Outcome, Placement, Role, State, User
from cases.validators import single_line
from cases.views import forbidden
from conversations.models import Conversation, ImprovementAction
from notifications.labels import all_labels
from transfers.models import Position

from . import selectors
from .models import AccessLog

LOG_PAGE_SIZE = 50
SECURITY_EVENTS = 25


def privacy_officer_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not selectors.is_privacy_officer(request.user):
            return forbidden(request, _("Only the privacy officer can see the access log."))
        return view(request, *args, **kwargs)

    return wrapper


def _student(pk: int) -> User:
    return get_object_or_404(
        User.objects.filter(placements_as_student__isnull=False).distinct(), pk=pk
    )


@privacy_officer_only
@require_GET
def access_log(request: HttpRequest) -> HttpResponse:
    # NUL and other control characters are no part of a name or number: searched without them
    # (PostgreSQL refuses a NUL in a query string).
    query = single_line(request.GET.get("q", ""))[:100]
    students = selectors.search_students(query) if query else []
    events = AccessLog.objects.filter(kind=AccessLog.Kind.REFUSED).select_related("user")
    return render(
        request,
        "privacy/access_log.html",
        {
            "title": _("Access log"),
            "query": query,
            "students": students,
            "events": events[:SECURITY_EVENTS],
        },
    )


@privacy_officer_only
@require_GET
def student_log(request: HttpRequest, student_pk: int) -> HttpResponse:
    student = _student(student_pk)
    rows = AccessLog.objects.filter(student=student).select_related("user")
    page = Paginator(rows, LOG_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "privacy/student_log.html",
        {
            "title": _("Access log of %(student)s") % {"student": student},
            "student": student,
            "page": page,
        },
    )


def _data_page(request: HttpRequest, student: User, *, json_url: str, own: bool) -> HttpResponse:
    data = selectors.student_data(student)
    return render(
        request,
        "privacy/my_data.html",
        {
            "title": _("My data") if own else _("Data of %(student)s") % {"student": student},
            "student": student,
            "data": data,
            "json_url": json_url,
            "own": own,
            **_labels(data),
        },
    )


def _labels(data: dict[str, Any]) -> dict[str, dict]:
    """The export's codes as words for the readable page."""

    def choices(model, field: str) -> dict:
        return dict(model._meta.get_field(field).flatchoices)

    events = {e["what"] for case in data["cases"] for e in case["timeline"]}
    events |= {n["event"] for n in data["notifications"]}
    return {
        "roles": {**dict(Role.choices), "staff": _("staff")},
        "states": dict(State.choices),
        "kinds": dict(AccessLog.Kind.choices),
        # The core's events and those registered by the apps above (the deadline reminders).
        "events": all_labels(),
        "placement_statuses": dict(Placement.Status.choices),
        "conversation_statuses": choices(Conversation, "status"),
        "evaluations": choices(ImprovementAction, "evaluation"),
        "stances": choices(Position, "stance"),
        "outcomes": dict(Outcome.choices),
        "decisions": dict(AdviceDecision.choices),
        "attachment_kinds": dict(Attachment.Kind.choices),
        "questions": {f.name: f.verbose_name for f in Conversation._meta.concrete_fields},
    }


def _json(student: User) -> JsonResponse:
    response = JsonResponse(
        selectors.student_data(student, file_contents=True),
        json_dumps_params={"ensure_ascii": False, "indent": 2},
    )
    stamp = timezone.localtime().strftime("%Y%m%d")
    response["Content-Disposition"] = (
        f'attachment; filename="stagebureau-{slugify(student.username) or student.pk}-{stamp}.json"'
    )
    return response


@login_required
@require_GET
def my_data(request: HttpRequest) -> HttpResponse:
    return _data_page(request, request.user, json_url=reverse("privacy:my_data_json"), own=True)


@login_required
@require_GET
def my_data_json(request: HttpRequest) -> HttpResponse:
    return _json(request.user)


def _may_export(request: HttpRequest) -> HttpResponse | None:
    if not selectors.may_export_for_students(request.user):
        return forbidden(
            request, _("Only the internship office and the privacy officer can export this.")
        )
    return None


@login_required
@require_GET
def student_data(request: HttpRequest, student_pk: int) -> HttpResponse:
    refused = _may_export(request)
    if refused:
        return refused
    student = _student(student_pk)
    url = reverse("privacy:student_data_json", args=[student.pk])
    return _data_page(request, student, json_url=url, own=False)


@login_required
@require_GET
def student_data_json(request: HttpRequest, student_pk: int) -> HttpResponse:
    refused = _may_export(request)
    if refused:
        return refused
    return _json(_student(student_pk))
