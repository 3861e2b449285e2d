"""The access log: who opened, downloaded, exported or changed which case file, and when.

`AccessLogMiddleware` writes one `AccessLog` row after the response of every request whose
resolved URL is case-scoped, never the content. Which URL names a case, and how to find the case
from its arguments, is declared here in one place (`scope_for`); a test walks every URL pattern
and fails when a pattern with arguments is neither mapped nor listed in `NOT_CASE_SCOPED` with a
reason. The row costs ONE query: the case id and its student are subqueries of the INSERT
(`INSERT ... VALUES (..., (SELECT student_id ...))`); an export of many cases (the office's list
export) hands the cases it exported to the log as `response.exported_cases`, and the log writes
one row per exported case with one `INSERT ... SELECT` of that queryset.

Kinds: `export` for downloads (an attachment, or a URL in `EXPORT_NAMES`) with status 2xx;
`view` for any other GET with status 2xx; `change` for a POST answered below 400; `refused` for
403 and 404 on a case (a security event, also written to the "stagebureau.security" logger).
A 403 on any other page (e.g. the dashboard for a non-office user) is a security event too, with
no case. Redirects of a GET (e.g. "this step is not possible now") show nothing and are not
logged. Anonymous requests are sent to the login page and are not logged.

The scopes name their models by label (data, like the URL names), so the map reads as one table.
A view that exports many cases at once says which by setting `response.exported_cases` (a
queryset of cases): the log then holds one row per exported case, by the view's own filter, and
this module needs to import no page of the office.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db import connection
from django.db.models import IntegerField, QuerySet, Subquery, Value
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from cases.models import Case

from .models import AccessLog

logger = logging.getLogger(__name__)
security_logger = logging.getLogger("stagebureau.security")


@dataclass(frozen=True)
class Scope:
    """How to find the case (and its student) from one URL argument naming an object."""

    kwarg: str
    model: str  # "app_label.ModelName"
    case_path: str | None  # the lookup from the object to the case's id ("pk" for the case)
    student_path: str  # the lookup from the object to the student's user id ("pk": the user)

    def queryset(self, value: Any) -> QuerySet:
        return apps.get_model(self.model)._default_manager.filter(pk=value).order_by()

    def case_id(self, value: Any):
        if self.case_path is None:
            return None
        if self.model == "cases.Case":
            return value  # kept even when no such case exists: a probe is worth logging
        return Subquery(self.queryset(value).values(self.case_path)[:1])

    def student_id(self, value: Any):
        return Subquery(
            self.queryset(value).values(self.student_path)[:1], output_field=IntegerField()
        )


def _to_case(path: str = "case") -> tuple[str, str]:
    """(case path, student path) for a model that reaches the case through `path`."""
    return (f"{path}_id", f"{path}__placement__student_id")


# The models that belong to a case (or a student), with the way to reach it. Used by the step
# URLs below and by the admin's object pages (admin:<app>_<model>_change/history/delete).
MODEL_SCOPES: dict[str, tuple[str | None, str]] = {
    "cases.Case": ("pk", "placement__student_id"),
    "cases.CaseCategory": _to_case(),
    "cases.CaseEvent": _to_case(),
    "privacy.AccessLog": ("case_id", "student_id"),
    "cases.Placement": (None, "student_id"),
    "conversations.Conversation": _to_case(),
    "conversations.Invitation": (
        "conversation__case_id",
        "conversation__case__placement__student_id",
    ),
    "conversations.StudentNote": (
        "conversation__case_id",
        "conversation__case__placement__student_id",
    ),
    "conversations.ImprovementAction": _to_case(),
    "transfers.ChangeRequest": _to_case(),
    "transfers.OutcomeReport": _to_case(),
    "transfers.Position": ("report__case_id", "report__case__placement__student_id"),
    "transfers.IsopAdvice": _to_case(),
    "transfers.OfficeDecision": _to_case(),
    "transfers.WrapUp": _to_case(),
    "transfers.Transfer": _to_case(),
    "transfers.Stop": _to_case(),
    "transfers.StudyStep": _to_case(),
    "transfers.Handover": _to_case(),
    "attachments.Attachment": _to_case(),
    "notifications.Notification": _to_case(),
}

# URL arguments that name an object of a case, wherever they appear.
KWARG_MODELS = {
    "conversation_pk": "conversations.Conversation",
    "invitation_pk": "conversations.Invitation",
    "action_pk": "conversations.ImprovementAction",
    "handover_pk": "transfers.Handover",
    "attachment_pk": "attachments.Attachment",
    "placement_pk": "cases.Placement",
    "case_pk": "cases.Case",
}
# In these URL namespaces an argument called `pk` is the case's id (the project's convention).
CASE_PK_NAMESPACES = {"cases", "conversations", "transfers", "portal", "attachments"}
# Exceptions to the conventions above, by URL name.
URL_MODELS = {
    "notifications:mark_read": ("pk", "notifications.Notification"),
}
# URLs about one student (the privacy pages): the argument is the student's user id.
STUDENT_KWARG = "student_pk"
# URLs about the signed-in user's own data.
OWN_DATA_NAMES = {"privacy:my_data", "privacy:my_data_json"}

# Patterns with arguments that name no case, with the reason. The URL-walking test fails on a
# pattern with arguments that is in neither list.
NOT_CASE_SCOPED: dict[str, str] = {
    "office:office_export": "list export: one row per exported case (response.exported_cases)",
    "office:steering_report": "anonymised counts only (small numbers hidden), no case file",
    "admin:app_list": "the admin's list of models of an app",
    "admin:view_on_site": "a redirect to the object's own page, which is logged itself",
    "admin:auth_user_password_change": "sets a password, shows no case",
    "admin:<path:object_id>/": "the admin's redirect to an object's change page (logged there)",
    "admin:(?P<url>.*)$": "the admin's catch-all for unknown addresses (a 404 without a case)",
}
# Admin object pages of models that hold no case or student data.
ADMIN_MODELS_WITHOUT_CASE = {
    "axes.AccessAttempt",  # sign-in attempts: username and IP address, no case
    "axes.AccessFailureLog",
    "axes.AccessLog",
    "auth.Group",
    "cases.User",
    "cases.Partnership",
    "cases.Board",
    "cases.TrainingSchool",
    "cases.Deputy",  # who is deputy office staff or ISOP owner for a period, no case
    "cases.CaseStateCount",  # the number of cases per state, no case
    "cases.CaseClosureCount",  # the number of cases closed per day and state, no case
    "deadlines.DeadlineRule",
    "deadlines.SchoolHoliday",
}
ADMIN_OBJECT_VIEWS = ("change", "delete", "history")

# Downloads that are not sent as attachments (an .ics or .md may open in the browser).
EXPORT_NAMES = {
    "conversations:calendar",
    "conversations:note_download",
    "office:office_export",
    "privacy:my_data",
    "privacy:my_data_json",
    "privacy:student_data",
    "privacy:student_data_json",
}


def _admin_model(view_name: str) -> str | None:
    """'admin:conversations_conversation_change' -> 'conversations.Conversation'."""
    if not view_name.startswith("admin:"):
        return None
    name = view_name.removeprefix("admin:")
    for action in ADMIN_OBJECT_VIEWS:
        if name.endswith(f"_{action}"):
            label = name.removesuffix(f"_{action}")
            break
    else:
        return None
    for model in apps.get_models():
        if f"{model._meta.app_label}_{model._meta.model_name}" == label:
            return model._meta.label
    return None


def scope_for(view_name: str, kwargs: dict[str, Any]) -> Scope | None:
    """The case scope of a resolved URL, or None when it names no case or student."""
    if view_name in URL_MODELS:
        kwarg, model = URL_MODELS[view_name]
        return Scope(kwarg, model, *MODEL_SCOPES[model])
    for kwarg, model in KWARG_MODELS.items():
        if kwarg in kwargs:
            return Scope(kwarg, model, *MODEL_SCOPES[model])
    if STUDENT_KWARG in kwargs:
        return Scope(STUDENT_KWARG, "cases.User", None, "pk")
    namespace = view_name.partition(":")[0] if ":" in view_name else ""
    if "pk" in kwargs and namespace in CASE_PK_NAMESPACES:
        return Scope("pk", "cases.Case", *MODEL_SCOPES["cases.Case"])
    if "object_id" in kwargs:
        model = _admin_model(view_name)
        if model in MODEL_SCOPES:
            return Scope("object_id", model, *MODEL_SCOPES[model])
    return None


def kind_of(request: HttpRequest, response: HttpResponse, view_name: str) -> str | None:
    status = response.status_code
    if status in (403, 404):
        return AccessLog.Kind.REFUSED
    if request.method == "POST":
        return AccessLog.Kind.CHANGE if status < 400 else None
    if request.method not in ("GET", "HEAD") or not 200 <= status < 300:
        return None
    disposition = response.headers.get("Content-Disposition", "")
    if view_name in EXPORT_NAMES or disposition.startswith("attachment"):
        return AccessLog.Kind.EXPORT
    return AccessLog.Kind.VIEW


def log_request(request: HttpRequest, response: HttpResponse) -> None:
    match = getattr(request, "resolver_match", None)
    user = getattr(request, "user", None)
    if match is None or user is None or not user.is_authenticated:
        return
    view_name = match.view_name
    kind = kind_of(request, response, view_name)
    if kind is None:
        return
    scope = scope_for(view_name, match.kwargs)
    own = view_name in OWN_DATA_NAMES
    row = {
        "at": timezone.now(),
        "user_id": user.pk,
        "username": user.get_username()[:150],
        "kind": kind,
        "page": view_name[:100],
        "path": request.path[:300],
        "method": request.method[:10],
        "status": response.status_code,
    }
    # An export of many cases names the cases it exported (the view's own filter).
    exported = getattr(response, "exported_cases", None)
    if kind == AccessLog.Kind.EXPORT and exported is not None:
        row["path"] = request.get_full_path()[:300]  # the filter says what was exported
        _log_bulk(row, exported)
        return
    scoped = scope is not None
    if scope is not None:
        try:
            value = int(match.kwargs[scope.kwarg])
        except (TypeError, ValueError):  # e.g. an admin address with a non-numeric id
            value = None
        if value is None or not 0 < value < 2**63:  # not an id the database can hold
            scope = None
    if scope is not None:
        AccessLog(case_id=scope.case_id(value), student_id=scope.student_id(value), **row).save()
    elif own:
        AccessLog(student_id=user.pk, **row).save()
    elif kind == AccessLog.Kind.REFUSED and (scoped or response.status_code == 403):
        AccessLog(**row).save()  # refused without a (valid) case: still a security event
    else:
        return
    if kind == AccessLog.Kind.REFUSED:
        security_logger.warning(
            "Access refused: user=%s status=%s page=%s path=%s",
            row["username"],
            row["status"],
            view_name,
            row["path"],
        )


def _log_bulk(row: dict[str, Any], cases: QuerySet[Case]) -> None:
    """One row per exported case, in one INSERT ... SELECT whatever the number of cases."""
    constants = {name: Value(value) for name, value in row.items()}
    select = (
        cases.order_by()
        .annotate(**{f"_log_{name}": expr for name, expr in constants.items()})
        .values_list(*[f"_log_{name}" for name in constants], "pk", "placement__student_id")
    )
    sql, params = select.query.sql_with_params()
    columns = [AccessLog._meta.get_field(n.removesuffix("_id")).column for n in constants]
    columns += [
        AccessLog._meta.get_field("case").column,
        AccessLog._meta.get_field("student").column,
    ]
    table = connection.ops.quote_name(AccessLog._meta.db_table)
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} ({names}) {sql}", params)


class AccessLogMiddleware:
    """Writes the access log after the response; a failure to log never breaks the page."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        try:
            log_request(request, response)
        except Exception:  # the page was served; the failure must be seen, not shown
            logger.exception("Could not write the access log for %s", request.path)
        return response
