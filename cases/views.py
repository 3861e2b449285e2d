"""Case pages: my cases, signalling, resolve and withdraw (the case page is portal's).

The helpers at the top are shared by the step views of conversations and transfers: one access
helper (`get_case_for_user`) and one way to run a step form (`step_page`), so that every refusal
of a service becomes a translated message on the same form, never a 500 and never lost input.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django_fsm import ConcurrentTransition, TransitionNotAllowed

from . import selectors, services
from .forms import ResolveForm, SignalForm, WithdrawForm
from .models import Case, GuardFailed, NotPermitted
from .services import CaseChangedMeanwhile

# --------------------------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------------------------


def get_case_for_user(request: HttpRequest, pk: int) -> Case:
    """The case if the user is related to it, else 404: unrelated people learn nothing."""
    return selectors.case_for_user(request.user, pk)


def forbidden(request: HttpRequest, message: str, *, case: Case | None = None) -> HttpResponse:
    return render(request, "403.html", {"message": message, "case": case}, status=403)


def check_step(request: HttpRequest, case: Case, transition: str) -> HttpResponse | None:
    """Before a step form: 403 if the step is not this user's; on GET, back to the case page
    with the reason if the case is not in a state for it (a POST lets the service refuse on
    the form, keeping what was typed). None when the form may be shown."""
    try:
        services.check_permitted(case, transition, request.user)
    except NotPermitted as exc:
        return forbidden(request, exc.message, case=case)
    except GuardFailed as exc:
        if request.method == "GET":
            messages.warning(request, exc.message)
            return redirect(case)
    return None


def case_url_for_user(request: HttpRequest, case_pk: int) -> str:
    """The case page if the user still sees the case after a step (an old coach after the
    handover or the old school's staff after a transfer may not), else "my cases"."""
    if Case.objects.related_to(request.user).filter(pk=case_pk).exists():
        return reverse("portal:case", args=[case_pk])
    return reverse("cases:my_cases")


def _with_current_version(data: QueryDict, version: int) -> QueryDict:
    data = data.copy()
    data["seen_version"] = str(version)
    return data


def step_page(
    request: HttpRequest,
    case: Case,
    *,
    form: Any = None,
    form_factory: Callable[[QueryDict | None], Any] | None = None,
    template: str,
    perform: Callable[[dict[str, Any]], object],
    success: str,
    title: str,
    context: dict[str, Any] | None = None,
    formsets: tuple = (),
    rebuild_form: Callable[[QueryDict], Any] | None = None,
) -> HttpResponse:
    """GET shows the form; a valid POST runs `perform(cleaned_data)` and redirects to the case.

    A refusal re-renders the same form with the posted data and the reason as a non-field error:
    status 200 for a guard, 409 when the case changed meanwhile (the form then carries the
    current version, so a deliberate second submit goes through). NotPermitted gives 403.
    """
    if form_factory is not None:
        # The usual case: one factory builds the form from the POST (or empty on GET) and
        # rebuilds it with the current version when the case changed meanwhile.
        form = form_factory(request.POST if request.method == "POST" else None)
        rebuild_form = rebuild_form or form_factory
    status = 200
    if request.method == "POST" and form.is_valid() and all(f.is_valid() for f in formsets):
        try:
            perform(form.cleaned_data)
        except NotPermitted as exc:
            return forbidden(request, exc.message, case=case)
        except (CaseChangedMeanwhile, ConcurrentTransition) as exc:
            status = 409
            message = getattr(exc, "message", None) or CaseChangedMeanwhile().message
            case.refresh_from_db()
            if rebuild_form is not None:
                form = rebuild_form(_with_current_version(request.POST, case.version))
                form.is_valid()
            form.add_error(None, message)
        except GuardFailed as exc:
            form.add_error(None, exc.message)
        except TransitionNotAllowed:
            case.refresh_from_db()
            form.add_error(
                None,
                _("This step is not possible while the case is “%(state)s”.")
                % {"state": case.get_state_display()},
            )
        else:
            messages.success(request, success)
            return redirect(case_url_for_user(request, case.pk))
    elif request.method == "POST" and not form.non_field_errors():
        form.add_error(None, _("Please correct the errors below."))
    ctx = {"case": case, "form": form, "title": title, "formsets": formsets}
    ctx.update(context or {})
    return render(request, template, ctx, status=status)


# --------------------------------------------------------------------------------------------
# Pages
# --------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET"])
def my_cases(request: HttpRequest) -> HttpResponse:
    include_closed = request.GET.get("show") == "all"
    cases = selectors.cases_for_user(request.user, include_closed=include_closed)
    page = Paginator(cases, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "cases/my_cases.html",
        {"page": page, "cases": page.object_list, "include_closed": include_closed},
    )


@login_required
@require_http_methods(["GET", "POST"])
def signal(request: HttpRequest) -> HttpResponse:
    placements = list(selectors.placements_for_signal(request.user))
    form = SignalForm(
        request.POST if request.method == "POST" else None,
        placements=_placement_qs(placements),
        initial=_initial_signal(request),
        allow_confidential=any(p.student_id == request.user.pk for p in placements),
    )
    if request.method == "POST" and form.is_valid():
        try:
            case = services.case_signal(
                placement=form.cleaned_data["placement"],
                by=request.user,
                categories=form.cleaned_data["categories"],
                description=form.cleaned_data["description"],
                confidential=form.cleaned_data.get("confidential", False),
            )
        except NotPermitted as exc:
            return forbidden(request, exc.message)
        except GuardFailed as exc:
            form.add_error(None, exc.message)
        else:
            if case.confidential:
                text = _(
                    "The problem has been signalled as %(number)s, confidentially: only the "
                    "internship office is told, and it contacts you first."
                )
            else:
                text = _(
                    "The problem has been signalled as %(number)s. The people involved are told."
                )
            messages.success(request, text % {"number": case.number})
            return redirect(case)
    return render(request, "cases/signal.html", {"form": form, "has_placements": bool(placements)})


def _placement_qs(placements: list):
    from .models import Placement

    return (
        Placement.objects.filter(pk__in=[p.pk for p in placements])
        .select_related("student", "school")
        .order_by("student__last_name", "student__first_name", "-start_date")
    )


def _initial_signal(request: HttpRequest) -> dict:
    placement = request.GET.get("placement")
    return {"placement": placement} if placement and placement.isdigit() else {}


@login_required
@require_POST
def release_confidential(request: HttpRequest, pk: int) -> HttpResponse:
    """The office opens a confidential signal to the people on the placement."""
    case = get_case_for_user(request, pk)
    if not request.user.is_office:
        return forbidden(
            request, _("Only the internship office opens a confidential signal."), case=case
        )
    version = request.POST.get("seen_version", "")
    try:
        services.case_release_confidential(
            case_id=case.pk,
            by=request.user,
            seen_version=int(version) if version.isdigit() else None,
        )
    except CaseChangedMeanwhile as exc:
        messages.warning(request, exc.message)
    except GuardFailed as exc:
        messages.warning(request, exc.message)
    else:
        messages.success(
            request,
            _("The signal has been opened; the people on the placement are told."),
        )
    return redirect(case)


@login_required
@require_http_methods(["GET", "POST"])
def resolve(request: HttpRequest, pk: int) -> HttpResponse:
    case = get_case_for_user(request, pk)
    if refusal := check_step(request, case, "resolve"):
        return refusal

    def build(data=None):
        return ResolveForm(data, case=case)

    return step_page(
        request,
        case,
        form_factory=build,
        template="cases/step_form.html",
        title=_("Close the case as resolved"),
        success=_("The case has been closed as resolved."),
        perform=lambda d: services.case_resolve(
            case_id=case.pk, by=request.user, note=d["note"], seen_version=d["seen_version"]
        ),
        context={
            "intro": _(
                "Close the case when the improvement actions have been evaluated and the "
                "problem is solved."
            ),
            "submit_label": _("Close as resolved"),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    case = get_case_for_user(request, pk)
    if refusal := check_step(request, case, "withdraw"):
        return refusal

    def build(data=None):
        return WithdrawForm(data, case=case)

    return step_page(
        request,
        case,
        form_factory=build,
        template="cases/step_form.html",
        title=_("Withdraw the case"),
        success=_("The case has been withdrawn."),
        perform=lambda d: services.case_withdraw(
            case_id=case.pk, by=request.user, reason=d["reason"], seen_version=d["seen_version"]
        ),
        context={
            "intro": _(
                "Withdraw the case when it was signalled by mistake or is no longer needed. "
                "Everyone involved is told, with your reason."
            ),
            "submit_label": _("Withdraw the case"),
            "submit_class": "btn-danger",
        },
    )
