"""Planning and recording conversations; adding and evaluating improvement actions."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from cases.models import Role, State
from cases.services import CaseChangedMeanwhile
from cases.views import check_step, forbidden, get_case_for_user, step_page

from . import services
from .forms import ActionFormSet, AddActionForm, EvaluateActionForm, PlanForm, RecordForm
from .models import Conversation, ImprovementAction

PLAN_TRANSITION = {
    State.SIGNALLED: "plan_conversation",
    State.OFFICE_INFORMED: "plan_change_conversation",
}
ACTION_ADDER_ROLES = {Role.SCHOOL_TRAINER, Role.STUDY_COACH, Role.MENTOR, Role.OFFICE}
RECORD_TRANSITION = {
    State.CONVERSATION_PLANNED: "record_conversation",
    State.CHANGE_CONVERSATION_PLANNED: "record_change_conversation",
}


@login_required
@require_http_methods(["GET", "POST"])
def plan(request: HttpRequest, pk: int) -> HttpResponse:
    case = get_case_for_user(request, pk)
    if refusal := check_step(request, case, PLAN_TRANSITION.get(case.state, "plan_conversation")):
        return refusal
    kind = services.kind_for_state(case.state) or Conversation.Kind.PROBLEM

    def build(data=None):
        return PlanForm(data, case=case, kind=kind)

    form = build(request.POST if request.method == "POST" else None)
    with_coordinating = bool(
        request.method == "POST" and request.POST.get("with_coordinating_trainer")
    )
    invitees = services.default_invitees(case, kind, with_coordinating_trainer=with_coordinating)
    is_change = kind == Conversation.Kind.CHANGE
    return step_page(
        request,
        case,
        form=form,
        rebuild_form=build,
        template="conversations/plan.html",
        title=_("Plan the all-party conversation") if is_change else _("Plan the conversation"),
        success=_("The conversation has been planned; the invited people are told."),
        perform=lambda d: services.conversation_plan(
            case_id=case.pk,
            by=request.user,
            starts_at=d["starts_at"],
            location=d["location"],
            with_coordinating_trainer=d.get("with_coordinating_trainer", False),
            seen_version=d["seen_version"],
        ),
        context={
            "invitees": [(person, role_label(role)) for person, role in invitees],
            "kind": kind,
            "is_change": is_change,
            "submit_label": _("Plan the conversation"),
        },
    )


def role_label(role: str) -> str:
    from cases.services import ROLE_LABELS

    return str(ROLE_LABELS.get(role, role))


@login_required
@require_http_methods(["GET", "POST"])
def record(request: HttpRequest, pk: int) -> HttpResponse:
    case = get_case_for_user(request, pk)
    transition = RECORD_TRANSITION.get(case.state, "record_conversation")
    if refusal := check_step(request, case, transition):
        return refusal
    conversation = (
        case.conversations.filter(status=Conversation.Status.PLANNED).order_by("-pk").first()
    )
    if conversation is None:
        # Possible after a cancellation: the state says "planned" but nothing is.
        messages.warning(request, _("There is no planned conversation: plan one first."))
        return redirect(case)
    is_problem = conversation.kind == Conversation.Kind.PROBLEM

    def build(data=None):
        return RecordForm(data, case=case, conversation=conversation)

    form = build(request.POST if request.method == "POST" else None)
    formsets = ()
    if is_problem:
        formsets = (
            ActionFormSet(
                request.POST if request.method == "POST" else None, case=case, prefix="actions"
            ),
        )

    def perform(data):
        actions = []
        if is_problem:
            actions = [
                services.ActionInput(
                    description=f.cleaned_data["description"],
                    owner_id=f.cleaned_data["owner"].pk,
                    due_date=f.cleaned_data["due_date"],
                )
                for f in formsets[0].forms
                if f.has_changed() and f.cleaned_data
            ]
        return services.conversation_record(
            case_id=case.pk,
            by=request.user,
            attendance=form.attendance(),
            summary=data["summary"],
            answers=form.answers(),
            actions=actions,
            seen_version=data["seen_version"],
        )

    return step_page(
        request,
        case,
        form=form,
        rebuild_form=build,
        formsets=formsets,
        template="conversations/record.html",
        title=_("Record the conversation as held")
        if is_problem
        else _("Record the all-party conversation"),
        success=_("The conversation has been recorded."),
        perform=perform,
        context={
            "conversation": conversation,
            "is_problem": is_problem,
            "submit_label": _("Record as held"),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def add_action(request: HttpRequest, pk: int) -> HttpResponse:
    case = get_case_for_user(request, pk)
    if not case.roles_of(request.user) & ACTION_ADDER_ROLES:
        return forbidden(
            request,
            _("Only the mentor, school trainer, study coach or office add actions."),
            case=case,
        )

    def build(data=None):
        return AddActionForm(data, case=case)

    def perform(data):
        # action_add does not take the seen version: compare it here (best effort).
        if data["seen_version"] != case.version:
            raise CaseChangedMeanwhile()
        return services.action_add(
            case_id=case.pk,
            by=request.user,
            description=data["description"],
            owner_id=data["owner"].pk,
            due_date=data["due_date"],
        )

    return step_page(
        request,
        case,
        form=build(request.POST if request.method == "POST" else None),
        rebuild_form=build,
        template="cases/step_form.html",
        title=_("Add an improvement action"),
        success=_("The improvement action has been added."),
        perform=perform,
        context={"submit_label": _("Add the action")},
    )


@login_required
@require_http_methods(["GET", "POST"])
def evaluate_action(request: HttpRequest, action_pk: int) -> HttpResponse:
    action = get_object_or_404(ImprovementAction.objects.only("pk", "case_id"), pk=action_pk)
    case = get_case_for_user(request, action.case_id)
    action = ImprovementAction.objects.select_related("owner").get(pk=action_pk)

    def build(data=None):
        return EvaluateActionForm(
            data,
            case=case,
            initial={"evaluation": action.evaluation, "comment": action.evaluation_comment},
        )

    def perform(data):
        if data["seen_version"] != case.version:
            raise CaseChangedMeanwhile()
        return services.action_evaluate(
            action_id=action.pk,
            by=request.user,
            evaluation=data["evaluation"],
            comment=data["comment"],
        )

    if request.method == "GET" and not _may_evaluate(case, action, request.user):
        return forbidden(
            request,
            _("Only the owner, school trainer, study coach or office evaluate."),
            case=case,
        )
    return step_page(
        request,
        case,
        form=build(request.POST if request.method == "POST" else None),
        rebuild_form=build,
        template="conversations/evaluate_action.html",
        title=_("Evaluate an improvement action"),
        success=_("The evaluation has been recorded."),
        perform=perform,
        context={"action": action, "submit_label": _("Save the evaluation")},
    )


def _may_evaluate(case, action, user) -> bool:
    roles = case.roles_of(user)
    return bool(roles & {Role.SCHOOL_TRAINER, Role.STUDY_COACH, Role.OFFICE}) or (
        action.owner_id == user.pk
    )
