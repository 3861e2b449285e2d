"""Planning, rescheduling, cancelling and recording conversations; calendar invitations;
briefing absent people; the student's note; adding and evaluating improvement actions."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import slugify
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cases.models import GuardFailed, NotPermitted, Role, State
from cases.rules import can
from cases.services import CaseChangedMeanwhile
from cases.views import check_step, forbidden, get_case_for_user, step_page

from . import selectors, services
from .forms import (
    ActionFormSet,
    AddActionForm,
    BriefingForm,
    CancelForm,
    EvaluateActionForm,
    NoteForm,
    PlanAgainForm,
    PlanForm,
    RecordForm,
    RescheduleForm,
)
from .ics import conversation_ics
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
        form_factory=build,
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
        form_factory=build,
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


# --------------------------------------------------------------------------------------------
# Rescheduling, cancelling, planning again, the calendar invitation
# --------------------------------------------------------------------------------------------


def _conversation_anchor(case, conversation: Conversation) -> str:
    return f"{case.get_absolute_url()}#conversation-{conversation.pk}"


def _refuse_change(request: HttpRequest, case, conversation: Conversation) -> HttpResponse | None:
    """403 for people who may not change it; on GET, back to the case if it is no longer
    planned (a POST lets the service refuse on the form, keeping what was typed)."""
    if not selectors.may_plan_conversation(case, conversation, request.user):
        return forbidden(
            request,
            _(
                "Only the person who planned it, the school trainer, the study coach or the "
                "office may change this conversation."
            ),
            case=case,
        )
    if request.method == "GET" and not selectors.may_change_conversation(
        case, conversation, request.user
    ):
        messages.warning(request, _("Only a planned conversation can be rescheduled or cancelled."))
        return redirect(case)
    return None


@login_required
@require_http_methods(["GET", "POST"])
def reschedule(request: HttpRequest, conversation_pk: int) -> HttpResponse:
    case, conversation = selectors.conversation_for_user(request.user, conversation_pk)
    if refusal := _refuse_change(request, case, conversation):
        return refusal
    initial = {
        "starts_at": timezone.localtime(conversation.starts_at).strftime("%Y-%m-%dT%H:%M"),
        "location": conversation.location,
    }
    form = RescheduleForm(request.POST if request.method == "POST" else None, initial=initial)
    return step_page(
        request,
        case,
        form=form,
        template="conversations/reschedule.html",
        title=_("Reschedule the conversation"),
        success=_(
            "The conversation has been moved; the invited people are told and can download "
            "the updated calendar invitation."
        ),
        perform=lambda d: services.conversation_reschedule(
            conversation_id=conversation.pk,
            by=request.user,
            starts_at=d["starts_at"],
            location=d["location"],
        ),
        context={"conversation": conversation, "submit_label": _("Reschedule")},
    )


@login_required
@require_http_methods(["GET", "POST"])
def cancel(request: HttpRequest, conversation_pk: int) -> HttpResponse:
    case, conversation = selectors.conversation_for_user(request.user, conversation_pk)
    if refusal := _refuse_change(request, case, conversation):
        return refusal
    return step_page(
        request,
        case,
        form=CancelForm(request.POST if request.method == "POST" else None),
        template="conversations/cancel.html",
        title=_("Cancel the conversation"),
        success=_(
            "The conversation has been cancelled; it stays in the case's history. Plan a new "
            "one when the date is known."
        ),
        perform=lambda d: services.conversation_cancel(
            conversation_id=conversation.pk, by=request.user, reason=d["reason"]
        ),
        context={
            "conversation": conversation,
            "intro": _(
                "The invited people are told, with your reason, and their calendars receive "
                "a cancellation. The case stays at “conversation planned” until a new "
                "conversation is planned."
            ),
            "submit_label": _("Cancel the conversation"),
            "submit_class": "btn-danger",
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def plan_again(request: HttpRequest, pk: int) -> HttpResponse:
    case = get_case_for_user(request, pk)
    conversations = list(case.conversations.all())
    kind = services.kind_for_state(case.state)
    # "Not yours" before "not now" (as check_step): no hint about the state to others.
    if not case.roles_of(request.user) & services.PLANNER_ROLES[
        kind or Conversation.Kind.PROBLEM
    ]:
        return forbidden(
            request,
            _("Only the school trainer, the study coach or the office plan this."),
            case=case,
        )
    if case.state not in selectors.PLANNED_STATES or any(
        c.kind == kind and c.status == Conversation.Status.PLANNED for c in conversations
    ):
        if request.method == "GET":
            messages.warning(request, _("There is no cancelled conversation to plan again."))
            return redirect(case)
    elif not selectors.may_plan_again(case, request.user, conversations):
        return forbidden(
            request,
            _("Only the school trainer, the study coach or the office plan this."),
            case=case,
        )
    kind = kind or Conversation.Kind.PROBLEM

    def build(data=None):
        return PlanAgainForm(data, case=case, kind=kind)

    def perform(data):
        if data["seen_version"] != case.version:
            raise CaseChangedMeanwhile()
        return services.conversation_plan_again(
            case_id=case.pk,
            by=request.user,
            starts_at=data["starts_at"],
            location=data["location"],
            with_coordinating_trainer=data.get("with_coordinating_trainer", False),
        )

    with_coordinating = bool(
        request.method == "POST" and request.POST.get("with_coordinating_trainer")
    )
    invitees = services.default_invitees(case, kind, with_coordinating_trainer=with_coordinating)
    return step_page(
        request,
        case,
        form_factory=build,
        template="conversations/plan.html",
        title=_("Plan the conversation again"),
        success=_("The new conversation has been planned; the invited people are told."),
        perform=perform,
        context={
            "intro": _("The previous conversation was cancelled; it stays in the history."),
            "invitees": [(person, role_label(role)) for person, role in invitees],
            "kind": kind,
            "is_change": kind == Conversation.Kind.CHANGE,
            "submit_label": _("Plan the conversation"),
        },
    )


@login_required
@require_GET
def calendar(request: HttpRequest, conversation_pk: int) -> HttpResponse:
    """The calendar invitation (an update after a reschedule, a cancellation after a cancel)."""
    case, conversation = selectors.conversation_for_user(request.user, conversation_pk)
    body = conversation_ics(conversation, language=get_language())
    method = "CANCEL" if conversation.status == Conversation.Status.CANCELLED else "REQUEST"
    response = HttpResponse(body, content_type=f"text/calendar; charset=utf-8; method={method}")
    name = slugify(f"{case.number} {conversation.get_kind_display()} {conversation.pk}")
    response["Content-Disposition"] = f'attachment; filename="{name}.ics"'
    return response


# --------------------------------------------------------------------------------------------
# Briefing absent people
# --------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def brief(request: HttpRequest, invitation_pk: int) -> HttpResponse:
    case, invitation = selectors.invitation_for_user(request.user, invitation_pk)
    conversation = invitation.conversation
    if not selectors.may_brief(case, conversation, request.user):
        return forbidden(
            request,
            _("Only the mentor, school trainer, study coach or office record a briefing."),
            case=case,
        )
    if request.method == "GET" and not invitation.needs_briefing:
        messages.info(request, _("This person does not need to be briefed (any more)."))
        return redirect(case)
    return step_page(
        request,
        case,
        form=BriefingForm(request.POST if request.method == "POST" else None),
        template="conversations/brief.html",
        title=_("Record a briefing"),
        success=_("The briefing of %(person)s has been recorded; they are asked to confirm it.")
        % {"person": invitation.person},
        perform=lambda d: services.briefing_record(
            invitation_id=invitation.pk, by=request.user, note=d["note"]
        ),
        context={
            "invitation": invitation,
            "conversation": conversation,
            "submit_label": _("Record the briefing"),
        },
    )


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or ""
    # A path only: redirect() would take a bare word for a view name (NoReverseMatch, a 500).
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


@login_required
@require_POST
def confirm_read(request: HttpRequest, invitation_pk: int) -> HttpResponse:
    case, invitation = selectors.invitation_for_user(request.user, invitation_pk)
    try:
        services.briefing_confirm_read(invitation_id=invitation.pk, by=request.user)
    except NotPermitted as exc:
        return forbidden(request, exc.message, case=case)
    messages.success(request, _("Thank you: you have confirmed that you read the summary."))
    return redirect(_safe_next(request, case.get_absolute_url()))


# --------------------------------------------------------------------------------------------
# The student's note
# --------------------------------------------------------------------------------------------

@login_required
@require_http_methods(["GET", "POST"])
def note(request: HttpRequest, conversation_pk: int) -> HttpResponse:
    """Only the student writes; a refusal or a validation error re-renders what was posted."""
    case, conversation = selectors.conversation_for_user(request.user, conversation_pk)
    if case.placement.student_id != request.user.pk:
        return forbidden(
            request, _("Only the student writes the note of a conversation."), case=case
        )
    if request.method == "GET" and conversation.status != Conversation.Status.HELD:
        messages.warning(
            request, _("The note is written after the conversation has been held.")
        )
        return redirect(case)
    existing = selectors.note_of(conversation)
    submitted = existing is not None and existing.submitted_at is not None
    initial = {}
    if existing is not None:
        initial = {"text": existing.text, "logged_in_onstage_on": existing.logged_in_onstage_on}
    form = NoteForm(
        request.POST if request.method == "POST" else None,
        conversation=conversation,
        submitted=submitted,
        initial=initial,
    )
    if request.method == "POST":
        submit = request.POST.get("action") == "submit" and not submitted
        if form.is_valid():
            text = existing.text if submitted else form.cleaned_data["text"]
            try:
                services.note_save(
                    conversation_id=conversation.pk,
                    by=request.user,
                    text=text,
                    submit=submit,
                    logged_in_onstage_on=form.cleaned_data["logged_in_onstage_on"],
                )
            except NotPermitted as exc:
                return forbidden(request, exc.message, case=case)
            except GuardFailed as exc:
                form.add_error(None, exc.message)
            else:
                if submit:
                    messages.success(
                        request, _("Your note has been submitted; the others can now read it.")
                    )
                    return redirect(_conversation_anchor(case, conversation))
                messages.success(
                    request,
                    _("Saved.") if submitted else _("Your draft has been saved."),
                )
                return redirect("conversations:note", conversation_pk=conversation.pk)
        else:
            form.add_error(None, _("Please correct the errors below. Your text has been kept."))
    return render(
        request,
        "conversations/note.html",
        {
            "case": case,
            "conversation": conversation,
            "note": existing,
            "note_state": selectors.note_state(existing),
            "submitted": submitted,
            "form": form,
            "title": _("Your note of the conversation"),
        },
        status=200,
    )


@login_required
@require_GET
def note_download(request: HttpRequest, conversation_pk: int) -> HttpResponse:
    """The note as Markdown for the student's portfolio; others only once it is submitted."""
    case, conversation = selectors.conversation_for_user(request.user, conversation_pk)
    existing = selectors.note_of(conversation)
    if existing is None or selectors.note_state(existing) == selectors.NOTE_MISSING:
        messages.info(request, _("There is no note to download yet."))
        return redirect(_conversation_anchor(case, conversation))
    existing.conversation = conversation
    if not can(request.user, "cases.view_student_note", existing):  # a draft: the student's
        return forbidden(
            request, _("The student has not submitted this note yet."), case=case
        )
    response = HttpResponse(
        services.note_markdown(existing), content_type="text/markdown; charset=utf-8"
    )
    name = slugify(
        f"{case.number} {_('note')} {timezone.localtime(conversation.starts_at):%Y-%m-%d}"
    )
    response["Content-Disposition"] = f'attachment; filename="{name}.md"'
    return response
