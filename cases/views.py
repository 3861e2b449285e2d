"""Case pages of the core (my cases, signalling, resolve, withdraw, opening a confidential
signal) and the step-page machinery that every app's step pages are built from.

`StepView` is the one way to show and submit a step's form (as EvaP's operation classes): a
subclass declares the transition it runs (its label is the page's title, its permission the
403, its source states the "not now"), the form, the page text and the service it calls. Every
refusal of a service becomes a translated message on the same form, never a 500 and never
lost input.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.decorators.http import require_http_methods, require_POST
from django_fsm import ConcurrentTransition, TransitionNotAllowed

from . import selectors, services
from .forms import (
    REASSIGN_ROLE_CHOICES,
    AssignMentorForm,
    ReassignForm,
    ReopenForm,
    ResolveForm,
    SignalForm,
    WithdrawForm,
)
from .models import Case, GuardFailed, NotPermitted, Placement, Role, step_declaration
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


class StepView(LoginRequiredMixin, View):
    """One step's page: GET shows the form; a valid POST runs `perform(cleaned_data)` and
    redirects to the case.

    A refusal re-renders the same form with the posted data and the reason as a non-field
    error: status 200 for a guard, 409 when the case changed meanwhile (the form then carries
    the current version, so a deliberate second submit goes through). NotPermitted gives 403.

    Subclasses declare; the hooks below are for what differs between steps.
    """

    http_method_names = ["get", "post"]
    # The Case transition this page runs ("" for a record that is not a transition).
    transition: str = ""
    form_class: Any = None
    template_name = "cases/step_form.html"
    # Default: the transition's label.
    title: str = ""
    intro: str = ""
    success: str = ""
    submit_label: str = ""
    submit_class: str = ""

    request: HttpRequest
    case: Case
    form: Any
    formsets: tuple = ()

    # --- hooks ------------------------------------------------------------------------------

    def get_case(self) -> Case:
        return get_case_for_user(self.request, self.kwargs["pk"])

    def transition_name(self) -> str:
        return self.transition

    def refuse(self) -> HttpResponse | None:
        """403 (not yours) or a redirect with the reason (not now); None to show the form."""
        name = self.transition_name()
        return check_step(self.request, self.case, name) if name else None

    def prepare(self) -> HttpResponse | None:
        """Load what the page needs after the checks; may still answer instead of the form."""
        return None

    def get_form(self, data: QueryDict | None) -> Any:
        return self.form_class(data, case=self.case)

    def get_formsets(self, data: QueryDict | None) -> tuple:
        return ()

    def get_title(self) -> str:
        return self.title or str(step_declaration(self.transition_name())["label"])

    def get_intro(self) -> str:
        return self.intro

    def get_success(self) -> str:
        return self.success

    def get_context(self) -> dict[str, Any]:
        return {}

    def perform(self, data: dict[str, Any]) -> object:
        raise NotImplementedError

    # --- the one flow -----------------------------------------------------------------------

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self.respond()

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self.respond()

    def respond(self) -> HttpResponse:
        self.case = self.get_case()
        for check in (self.refuse, self.prepare):
            if (answer := check()) is not None:
                return answer
        data = self.request.POST if self.request.method == "POST" else None
        self.form = self.get_form(data)
        self.formsets = self.get_formsets(data)
        status = 200
        if data is not None and self.form.is_valid() and all(f.is_valid() for f in self.formsets):
            try:
                self.perform(self.form.cleaned_data)
            except NotPermitted as exc:
                return forbidden(self.request, exc.message, case=self.case)
            except (CaseChangedMeanwhile, ConcurrentTransition):
                # Lost the race: say what happened, keep the input, carry the current version
                # (a deliberate second submit goes through).
                status = 409
                self.case.refresh_from_db()
                self.form = self.get_form(_with_current_version(data, self.case.version))
                self.form.is_valid()
                self.form.add_error(None, services.what_changed_meanwhile(self.case))
            except GuardFailed as exc:
                self.form.add_error(None, exc.message)
            except TransitionNotAllowed:
                self.case.refresh_from_db()
                self.form.add_error(
                    None,
                    _("This step is not possible while the case is “%(state)s”.")
                    % {"state": self.case.get_state_display()},
                )
            else:
                messages.success(self.request, self.get_success())
                return redirect(self.success_url())
        elif data is not None and not self.form.non_field_errors():
            self.form.add_error(None, _("Please correct the errors below."))
        context = {
            "case": self.case,
            "form": self.form,
            "title": self.get_title(),
            "formsets": self.formsets,
            "intro": self.get_intro(),
            "submit_label": self.submit_label,
            "submit_class": self.submit_class,
            **self.get_context(),
        }
        return render(self.request, self.template_name, context, status=status)

    def success_url(self) -> str:
        return case_url_for_user(self.request, self.case.pk)


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
    follows = _follows(request, form)
    if request.method == "POST" and form.is_valid():
        try:
            case = services.case_signal(
                placement=form.cleaned_data["placement"],
                by=request.user,
                categories=form.cleaned_data["categories"],
                description=form.cleaned_data["description"],
                confidential=form.cleaned_data.get("confidential", False),
                follows=follows,
            )
        except NotPermitted as exc:
            return forbidden(request, exc.message)
        except GuardFailed as exc:
            form.add_error(None, exc.message)
        else:
            if case.joined:
                text = _(
                    "There already is an open case on this placement, %(number)s: your signal "
                    "has been added to it and the people involved are told."
                )
            elif case.confidential:
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
    return render(
        request,
        "cases/signal.html",
        {"form": form, "has_placements": bool(placements), "follows": follows},
    )


def _follows(request: HttpRequest, form: SignalForm) -> Case | None:
    """The earlier case a new signal follows up on (`?follows=` or the form's hidden field):
    only a closed case the user sees; anything else is ignored."""
    raw = request.POST.get("follows") if request.method == "POST" else request.GET.get("follows")
    if not raw or not str(raw).isdigit():
        return None
    found = Case.objects.related_to(request.user).filter(pk=int(raw)).first()
    if found is None or found.is_open:
        return None
    if request.method == "GET":
        form.initial["follows"] = found.pk
    return found


def _placement_qs(placements: list):
    return (
        Placement.objects.filter(pk__in=[p.pk for p in placements])
        .select_related("student", "school")
        .order_by("student__last_name", "student__first_name", "-start_date")
    )


def _initial_signal(request: HttpRequest) -> dict:
    placement = request.GET.get("placement")
    return {"placement": placement} if placement and placement.isdigit() else {}


@login_required
@require_http_methods(["GET", "POST"])
def assign_mentor(request: HttpRequest, placement_pk: int) -> HttpResponse:
    """The placement's school trainer (or the office) fills in a mentor left "to be assigned";
    404 for anyone else (nothing tells them the placement exists)."""
    placement = (
        Placement.objects.select_related("student", "school__board").filter(pk=placement_pk).first()
    )
    user = request.user
    if placement is None or not (user.is_office or placement.school_trainer_id == user.pk):
        raise Http404("No such placement.")
    if placement.mentor_id is not None:
        messages.info(request, _("This placement has a mentor already."))
        return redirect("portal:home")
    search = " ".join(request.GET.get("q", "").replace("\x00", "").split())[:100]
    if request.method == "POST":
        people = selectors.active_users().exclude(pk=placement.student_id)
        form = AssignMentorForm(request.POST, people=people)
        if form.is_valid():
            try:
                services.placement_assign_mentor(
                    placement_id=placement.pk, person=form.cleaned_data["person"], by=user
                )
            except GuardFailed as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(
                    request,
                    _("%(person)s is now the mentor of %(student)s.")
                    % {"person": form.cleaned_data["person"], "student": placement.student},
                )
                return redirect("portal:home")
    else:
        people = selectors.people_for_role(placement=placement, role=Role.MENTOR, search=search)
        form = AssignMentorForm(people=people)
    return render(
        request,
        "cases/assign_mentor.html",
        {"placement": placement, "form": form, "search": search},
    )


@login_required
@require_POST
def release_confidential(request: HttpRequest, pk: int) -> HttpResponse:
    """The office opens a confidential signal to the people on the placement."""
    case = get_case_for_user(request, pk)
    if not request.user.is_office:
        return forbidden(
            request, _("Only the internship office shares a confidential signal."), case=case
        )
    version = request.POST.get("seen_version", "")
    try:
        services.release_confidential(
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
            _("The signal has been shared; the people on the placement are told."),
        )
    return redirect(case)


class ResolveStep(StepView):
    transition = "resolve"
    form_class = ResolveForm
    title = gettext_lazy("Close the case as resolved")
    intro = gettext_lazy(
        "Close the case when the improvement actions have been evaluated and the problem is solved."
    )
    success = gettext_lazy("The case has been closed as resolved.")
    submit_label = gettext_lazy("Close as resolved")

    def perform(self, data: dict[str, Any]) -> object:
        return services.resolve(
            case_id=self.case.pk,
            by=self.request.user,
            note=data["note"],
            seen_version=data["seen_version"],
        )


class ReopenStep(StepView):
    transition = "reopen"
    form_class = ReopenForm
    intro = gettext_lazy(
        "Reopen the case when the problem returns on the same placement: it keeps its number, "
        "the timeline continues and it goes back to the improvement actions. When the student "
        "has left the placement, signal a new case linked to this one instead."
    )
    success = gettext_lazy("The case has been reopened.")
    submit_label = gettext_lazy("Reopen the case")

    def perform(self, data: dict[str, Any]) -> object:
        return services.reopen(
            case_id=self.case.pk,
            by=self.request.user,
            reason=data["reason"],
            seen_version=data["seen_version"],
        )


class WithdrawStep(StepView):
    transition = "withdraw"
    form_class = WithdrawForm
    intro = gettext_lazy(
        "Withdraw the case when it was signalled by mistake or is no longer needed. Everyone "
        "involved and the internship office are told, with your reason. A paused placement "
        "becomes active again; an open warm handover is called off."
    )
    success = gettext_lazy("The case has been withdrawn.")
    submit_label = gettext_lazy("Withdraw the case")
    submit_class = "btn-danger"

    def perform(self, data: dict[str, Any]) -> object:
        return services.withdraw(
            case_id=self.case.pk,
            by=self.request.user,
            reason=data["reason"],
            seen_version=data["seen_version"],
        )


class ReassignStep(StepView):
    """The office puts someone else in a role on the case's placement (mentor ill, coach
    leaves). Not a transition: a record on the timeline of every open case of the placement."""

    form_class = ReassignForm
    template_name = "cases/reassign.html"
    title = gettext_lazy("Change a person on the placement")
    intro = gettext_lazy(
        "The new person is told and sees the case from now on; the person who leaves no "
        "longer sees it (what they wrote stays theirs on the timeline). A new study coach "
        "during an open case asks for a warm handover from the previous coach."
    )
    success = gettext_lazy("The person has been changed; the timeline records it.")
    submit_label = gettext_lazy("Change the person")

    def refuse(self) -> HttpResponse | None:
        if not self.request.user.is_office:
            return forbidden(
                self.request,
                _("Only the internship office reassigns the people on a placement."),
                case=self.case,
            )
        if not self.case.is_open and self.request.method == "GET":
            messages.warning(
                self.request, _("The people of a closed case are not changed any more.")
            )
            return redirect(self.case)
        return None

    def chosen_role(self) -> str:
        role = self.request.GET.get("role", "")
        return role if role in dict(REASSIGN_ROLE_CHOICES) else Role.MENTOR.value

    def search(self) -> str:
        return self.request.GET.get("q", "").replace("\x00", "")[:100]

    def get_form(self, data: QueryDict | None) -> Any:
        placement = self.case.placement
        if data is None:
            people = selectors.people_for_role(
                placement=placement, role=self.chosen_role(), search=self.search()
            )
        else:  # any active person (the list is a convenience, the office may search)
            people = selectors.active_users().exclude(pk=placement.student_id)
        return self.form_class(
            data, case=self.case, people=people, initial={"role": self.chosen_role()}
        )

    def get_context(self) -> dict[str, Any]:
        return {
            "roles": REASSIGN_ROLE_CHOICES,
            "chosen_role": self.chosen_role(),
            "search": self.search(),
            "people_now": selectors.placement_people(self.case.placement),
        }

    def perform(self, data: dict[str, Any]) -> object:
        return services.case_reassign(
            case_id=self.case.pk,
            role=data["role"],
            person=data["person"],
            by=self.request.user,
            reason=data["reason"],
            seen_version=data["seen_version"],
        )
