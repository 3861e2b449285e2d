"""Planning, rescheduling, cancelling and recording conversations; calendar invitations;
briefing absent people; the student's note; adding and evaluating improvement actions."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import slugify
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cases.models import Case, GuardFailed, NotPermitted, State
from cases.rules import can
from cases.services import ROLE_LABELS
from cases.views import StepView, forbidden, get_case_for_user

from . import selectors, services
from .forms import (
    ActionFormSet,
    AddActionForm,
    BriefingForm,
    CancelForm,
    EvaluateActionForm,
    FollowUpActionFormSet,
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
    State.CHANGE_CONVERSATION_INCOMPLETE: "plan_change_conversation",
}
RECORD_TRANSITION = {
    State.CONVERSATION_PLANNED: "record_conversation",
    State.CHANGE_CONVERSATION_PLANNED: "record_change_conversation",
}


def role_label(role: str) -> str:
    return str(ROLE_LABELS.get(role, role))


class InviteesMixin:
    """The plan forms show whom the conversation invites (the coordinating trainer when asked)."""

    case: Case
    request: HttpRequest
    kind: str

    def invitees(self) -> list[tuple[Any, str]]:
        with_coordinating = bool(
            self.request.method == "POST" and self.request.POST.get("with_coordinating_trainer")
        )
        pairs = services.default_invitees(
            self.case, self.kind, with_coordinating_trainer=with_coordinating
        )
        return [(person, role_label(role)) for person, role in pairs]

    def get_context(self) -> dict[str, Any]:
        return {
            "invitees": self.invitees(),
            "kind": self.kind,
            "is_change": self.kind == Conversation.Kind.CHANGE,
        }


class PlanConversationStep(InviteesMixin, StepView):
    """The first conversation (from "signalled") or the all-party one (from "office informed")."""

    template_name = "conversations/plan.html"
    success = gettext_lazy("The conversation has been planned; the invited people are told.")
    submit_label = gettext_lazy("Plan the conversation")

    def transition_name(self) -> str:
        return PLAN_TRANSITION.get(self.case.state, "plan_conversation")

    def prepare(self) -> None:
        self.kind = services.kind_for_state(self.case.state) or Conversation.Kind.PROBLEM

    def get_form(self, data):
        return PlanForm(data, case=self.case, kind=self.kind)

    def perform(self, data: dict[str, Any]) -> object:
        return services.plan_conversation(
            case_id=self.case.pk,
            by=self.request.user,
            starts_at=data["starts_at"],
            location=data["location"],
            with_coordinating_trainer=data.get("with_coordinating_trainer", False),
            seen_version=data["seen_version"],
        )


class RecordConversationStep(StepView):
    template_name = "conversations/record.html"
    success = gettext_lazy("The conversation has been recorded.")
    submit_label = gettext_lazy("Record as held")

    def transition_name(self) -> str:
        return RECORD_TRANSITION.get(self.case.state, "record_conversation")

    def prepare(self) -> HttpResponse | None:
        self.conversation = (
            self.case.conversations.filter(
                status=Conversation.Status.PLANNED, kind=services.kind_for_state(self.case.state)
            )
            .order_by("-pk")
            .first()
        )
        if self.conversation is None:
            # Possible after a cancellation: the state says "planned" but nothing is.
            messages.warning(self.request, _("There is no planned conversation: plan one first."))
            return redirect(self.case)
        self.is_problem = self.conversation.kind == Conversation.Kind.PROBLEM
        return None

    def get_form(self, data):
        return RecordForm(data, case=self.case, conversation=self.conversation)

    def get_formsets(self, data) -> tuple:
        if not self.is_problem:
            return ()
        return (ActionFormSet(data, case=self.case, prefix="actions"),)

    def get_context(self) -> dict[str, Any]:
        return {"conversation": self.conversation, "is_problem": self.is_problem}

    def perform(self, data: dict[str, Any]) -> object:
        actions = [
            services.ActionInput(
                description=f.cleaned_data["description"],
                owner_id=f.cleaned_data["owner"].pk,
                due_date=f.cleaned_data["due_date"],
            )
            for formset in self.formsets
            for f in formset.forms
            if f.has_changed() and f.cleaned_data
        ]
        return services.record_conversation(
            case_id=self.case.pk,
            by=self.request.user,
            attendance=self.form.attendance(),
            summary=data["summary"],
            answers=self.form.answers(),
            actions=actions,
            seen_version=data["seen_version"],
        )


class FollowUpMixin:
    """A follow-up conversation is a record, not a transition: who may plan and record it is
    the rule `cases.plan_follow_up` (the view and the service ask the same rule)."""

    case: Case
    request: HttpRequest

    def refuse(self) -> HttpResponse | None:
        if not can(self.request.user, "cases.plan_follow_up", self.case):
            return forbidden(
                self.request,
                _("Only the mentor, school trainer, study coach or office plan a follow-up."),
                case=self.case,
            )
        if self.request.method == "GET" and self.case.state != State.IMPROVING:
            messages.warning(
                self.request,
                _("A follow-up conversation is held while the improvement actions run."),
            )
            return redirect(self.case)
        return None


class PlanFollowUpStep(FollowUpMixin, InviteesMixin, StepView):
    """A follow-up (evaluation) conversation while the improvement actions run."""

    template_name = "conversations/plan.html"
    title = gettext_lazy("Plan a follow-up conversation")
    intro = gettext_lazy(
        "Evaluate the improvement actions together. The same people as for the first "
        "conversation are invited; the case stays at “improvement actions running”."
    )
    success = gettext_lazy(
        "The follow-up conversation has been planned; the invited people are told."
    )
    submit_label = gettext_lazy("Plan the follow-up")
    kind = Conversation.Kind.FOLLOW_UP

    def get_form(self, data):
        return PlanForm(data, case=self.case, kind=self.kind)

    def perform(self, data: dict[str, Any]) -> object:
        return services.follow_up_plan(
            case_id=self.case.pk,
            by=self.request.user,
            starts_at=data["starts_at"],
            location=data["location"],
            seen_version=data["seen_version"],
        )


class RecordFollowUpStep(FollowUpMixin, StepView):
    template_name = "conversations/record.html"
    title = gettext_lazy("Record the follow-up conversation")
    success = gettext_lazy("The follow-up conversation has been recorded.")
    submit_label = gettext_lazy("Record as held")

    def get_case(self) -> Case:
        case, self.conversation = selectors.conversation_for_user(
            self.request.user, self.kwargs["conversation_pk"]
        )
        return case

    def prepare(self) -> HttpResponse | None:
        if (
            self.conversation.kind != Conversation.Kind.FOLLOW_UP
            or self.conversation.status != Conversation.Status.PLANNED
        ) and self.request.method == "GET":
            messages.warning(
                self.request, _("There is no planned follow-up conversation to record.")
            )
            return redirect(self.case)
        return None

    def get_form(self, data):
        return RecordForm(data, case=self.case, conversation=self.conversation)

    def get_formsets(self, data) -> tuple:
        return (FollowUpActionFormSet(data, case=self.case, prefix="actions"),)

    def get_context(self) -> dict[str, Any]:
        return {"conversation": self.conversation, "is_problem": True, "actions_optional": True}

    def perform(self, data: dict[str, Any]) -> object:
        actions = [
            services.ActionInput(
                description=f.cleaned_data["description"],
                owner_id=f.cleaned_data["owner"].pk,
                due_date=f.cleaned_data["due_date"],
            )
            for formset in self.formsets
            for f in formset.forms
            if f.has_changed() and f.cleaned_data
        ]
        return services.follow_up_record(
            conversation_id=self.conversation.pk,
            by=self.request.user,
            attendance=self.form.attendance(),
            summary=data["summary"],
            actions=actions,
            seen_version=data["seen_version"],
        )


class AddActionStep(StepView):
    """A record, not a transition: who may add one is the rule `cases.add_action`."""

    form_class = AddActionForm
    title = gettext_lazy("Add an improvement action")
    success = gettext_lazy("The improvement action has been added.")
    submit_label = gettext_lazy("Add the action")

    def refuse(self) -> HttpResponse | None:
        if not can(self.request.user, "cases.add_action", self.case):
            return forbidden(
                self.request,
                _("Only the mentor, school trainer, study coach or office add actions."),
                case=self.case,
            )
        return None

    def perform(self, data: dict[str, Any]) -> object:
        return services.action_add(
            case_id=self.case.pk,
            by=self.request.user,
            description=data["description"],
            owner_id=data["owner"].pk,
            due_date=data["due_date"],
            seen_version=data["seen_version"],
        )


class EvaluateActionStep(StepView):
    """A record: the rule `cases.evaluate_action` (the owner, or the school trainer, study
    coach or office). A POST lets the service refuse on the form."""

    template_name = "conversations/evaluate_action.html"
    title = gettext_lazy("Evaluate an improvement action")
    success = gettext_lazy("The evaluation has been recorded.")
    submit_label = gettext_lazy("Save the evaluation")

    def get_case(self) -> Case:
        found = get_object_or_404(
            ImprovementAction.objects.only("pk", "case_id"), pk=self.kwargs["action_pk"]
        )
        case = get_case_for_user(self.request, found.case_id)
        self.action = ImprovementAction.objects.select_related("owner").get(pk=found.pk)
        self.action.case = case
        return case

    def refuse(self) -> HttpResponse | None:
        if self.request.method == "GET" and not can(
            self.request.user, "cases.evaluate_action", self.action
        ):
            return forbidden(
                self.request,
                _("Only the owner, school trainer, study coach or office evaluate."),
                case=self.case,
            )
        return None

    def get_form(self, data):
        return EvaluateActionForm(
            data,
            case=self.case,
            initial={
                "evaluation": self.action.evaluation,
                "comment": self.action.evaluation_comment,
            },
        )

    def get_context(self) -> dict[str, Any]:
        return {"action": self.action}

    def perform(self, data: dict[str, Any]) -> object:
        return services.action_evaluate(
            action_id=self.action.pk,
            by=self.request.user,
            evaluation=data["evaluation"],
            comment=data["comment"],
            seen_version=data["seen_version"],
        )


# --------------------------------------------------------------------------------------------
# Rescheduling, cancelling, planning again, the calendar invitation
# --------------------------------------------------------------------------------------------


def _conversation_anchor(case, conversation: Conversation) -> str:
    return f"{case.get_absolute_url()}#conversation-{conversation.pk}"


class PlannedConversationStep(StepView):
    """Reschedule or cancel a planned conversation: 403 for people who may not change it; on
    GET, back to the case if it is no longer planned (a POST lets the service refuse on the
    form, keeping what was typed)."""

    def get_case(self) -> Case:
        case, self.conversation = selectors.conversation_for_user(
            self.request.user, self.kwargs["conversation_pk"]
        )
        return case

    def refuse(self) -> HttpResponse | None:
        if not selectors.may_plan_conversation(self.case, self.conversation, self.request.user):
            return forbidden(
                self.request,
                _(
                    "Only the person who planned it, the school trainer, the study coach or the "
                    "office may change this conversation."
                ),
                case=self.case,
            )
        if self.request.method == "GET" and not selectors.may_change_conversation(
            self.case, self.conversation, self.request.user
        ):
            messages.warning(
                self.request, _("Only a planned conversation can be rescheduled or cancelled.")
            )
            return redirect(self.case)
        return None

    def get_context(self) -> dict[str, Any]:
        return {"conversation": self.conversation}


class RescheduleStep(PlannedConversationStep):
    template_name = "conversations/reschedule.html"
    title = gettext_lazy("Reschedule the conversation")
    success = gettext_lazy(
        "The conversation has been moved; the invited people are told and can download the "
        "updated calendar invitation."
    )
    submit_label = gettext_lazy("Reschedule")

    def get_form(self, data):
        initial = {
            "starts_at": timezone.localtime(self.conversation.starts_at).strftime("%Y-%m-%dT%H:%M"),
            "location": self.conversation.location,
        }
        return RescheduleForm(data, initial=initial)

    def perform(self, data: dict[str, Any]) -> object:
        return services.conversation_reschedule(
            conversation_id=self.conversation.pk,
            by=self.request.user,
            starts_at=data["starts_at"],
            location=data["location"],
        )


class CancelStep(PlannedConversationStep):
    template_name = "conversations/cancel.html"
    title = gettext_lazy("Cancel the conversation")
    intro = gettext_lazy(
        "The invited people are told, with your reason, and their calendars receive a "
        "cancellation. The case stays at “conversation planned” until a new conversation is "
        "planned."
    )
    success = gettext_lazy(
        "The conversation has been cancelled; it stays in the case's history. Plan a new one "
        "when the date is known."
    )
    submit_label = gettext_lazy("Cancel the conversation")
    submit_class = "btn-danger"

    def get_form(self, data):
        return CancelForm(data)

    def perform(self, data: dict[str, Any]) -> object:
        return services.conversation_cancel(
            conversation_id=self.conversation.pk, by=self.request.user, reason=data["reason"]
        )


class PlanAgainStep(InviteesMixin, StepView):
    """After a cancellation: plan a new conversation without changing the case's state."""

    template_name = "conversations/plan.html"
    title = gettext_lazy("Plan the conversation again")
    intro = gettext_lazy("The previous conversation was cancelled; it stays in the history.")
    success = gettext_lazy("The new conversation has been planned; the invited people are told.")
    submit_label = gettext_lazy("Plan the conversation")

    def refuse(self) -> HttpResponse | None:
        case, user = self.case, self.request.user
        conversations = list(case.conversations.all())
        kind = services.kind_for_state(case.state)
        refusal = _("Only the school trainer, the study coach or the office plan this.")
        # "Not yours" before "not now" (as check_step): no hint about the state to others.
        if not case.roles_of(user) & services.PLANNER_ROLES[kind or Conversation.Kind.PROBLEM]:
            return forbidden(self.request, refusal, case=case)
        if case.state not in selectors.PLANNED_STATES or any(
            c.kind == kind and c.status == Conversation.Status.PLANNED for c in conversations
        ):
            if self.request.method == "GET":
                messages.warning(
                    self.request, _("There is no cancelled conversation to plan again.")
                )
                return redirect(case)
        elif not selectors.may_plan_again(case, user, conversations):
            return forbidden(self.request, refusal, case=case)
        self.kind = kind or Conversation.Kind.PROBLEM
        return None

    def get_form(self, data):
        return PlanAgainForm(data, case=self.case, kind=self.kind)

    def perform(self, data: dict[str, Any]) -> object:
        return services.conversation_plan_again(
            case_id=self.case.pk,
            by=self.request.user,
            starts_at=data["starts_at"],
            location=data["location"],
            with_coordinating_trainer=data.get("with_coordinating_trainer", False),
            seen_version=data["seen_version"],
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


class BriefStep(StepView):
    """Record that an absent person has been briefed; they are asked to confirm it."""

    template_name = "conversations/brief.html"
    title = gettext_lazy("Record a briefing")
    submit_label = gettext_lazy("Record the briefing")

    def get_case(self) -> Case:
        case, self.invitation = selectors.invitation_for_user(
            self.request.user, self.kwargs["invitation_pk"]
        )
        return case

    def refuse(self) -> HttpResponse | None:
        conversation = self.invitation.conversation
        if not selectors.may_brief(self.case, conversation, self.request.user):
            return forbidden(
                self.request,
                _("Only the mentor, school trainer, study coach or office record a briefing."),
                case=self.case,
            )
        if self.request.method == "GET" and not self.invitation.needs_briefing:
            messages.info(self.request, _("This person does not need to be briefed (any more)."))
            return redirect(self.case)
        return None

    def get_form(self, data):
        return BriefingForm(data)

    def get_success(self) -> str:
        return _("The briefing of %(person)s has been recorded; they are asked to confirm it.") % {
            "person": self.invitation.person
        }

    def get_context(self) -> dict[str, Any]:
        return {"invitation": self.invitation, "conversation": self.invitation.conversation}

    def perform(self, data: dict[str, Any]) -> object:
        return services.briefing_record(
            invitation_id=self.invitation.pk, by=self.request.user, note=data["note"]
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
        messages.warning(request, _("The note is written after the conversation has been held."))
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
        return forbidden(request, _("The student has not submitted this note yet."), case=case)
    response = HttpResponse(
        services.note_markdown(existing), content_type="text/markdown; charset=utf-8"
    )
    name = slugify(
        f"{case.number} {_('note')} {timezone.localtime(conversation.starts_at):%Y-%m-%d}"
    )
    response["Content-Disposition"] = f'attachment; filename="{name}.md"'
    return response
