"""Planning and recording conversations, briefing absent people, student notes, actions."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from cases.events import StepEvent
from cases.exports import markdown_text
from cases.models import (
    FIVE_ANSWERS,
    Case,
    GuardFailed,
    NotPermitted,
    Role,
    State,
    has_planned_change_conversation,
    has_planned_problem_conversation,
)
from cases.rules import can
from cases.services import case_log, case_touch, check_permitted, lock_case, run_transition, tell

from .ics import conversation_ics
from .models import Conversation, ImprovementAction, Invitation, StudentNote

PROBLEM_ROLES = (Role.STUDENT, Role.MENTOR, Role.SCHOOL_TRAINER, Role.STUDY_COACH)
CHANGE_ROLES = (Role.STUDENT, Role.SCHOOL_TRAINER, Role.STUDY_COACH)


def kind_for_state(state: str) -> str | None:
    if state in (State.SIGNALLED, State.CONVERSATION_PLANNED):
        return Conversation.Kind.PROBLEM
    if state in (
        State.OFFICE_INFORMED,
        State.CHANGE_CONVERSATION_PLANNED,
        State.CHANGE_CONVERSATION_INCOMPLETE,
    ):
        return Conversation.Kind.CHANGE
    return None


def default_invitees(case: Case, kind: str, *, with_coordinating_trainer: bool = False):
    """(person, role) pairs pre-filled from the placement for this kind of conversation."""
    roles = list(CHANGE_ROLES if kind == Conversation.Kind.CHANGE else PROBLEM_ROLES)
    if kind == Conversation.Kind.CHANGE and with_coordinating_trainer:
        roles.append(Role.COORDINATING_TRAINER)
    pairs = []
    for role in roles:
        person = case.person(role)
        if person is not None and all(p.pk != person.pk for p, _r in pairs):
            pairs.append((person, role))
    return pairs


@transaction.atomic
def plan_conversation(
    *,
    case_id: int,
    by,
    starts_at: datetime,
    location: str,
    with_coordinating_trainer: bool = False,
    seen_version: int | None = None,
) -> Conversation:
    case = lock_case(case_id, seen_version=seen_version)
    kind = kind_for_state(case.state)
    transition = {
        Conversation.Kind.PROBLEM: "plan_conversation",
        Conversation.Kind.CHANGE: "plan_change_conversation",
    }.get(kind)
    if transition is None or case.state not in (
        State.SIGNALLED,
        State.OFFICE_INFORMED,
        State.CHANGE_CONVERSATION_INCOMPLETE,
    ):
        raise GuardFailed(
            _("A conversation cannot be planned while the case is “%(state)s”.")
            % {"state": case.get_state_display()}
        )
    check_permitted(case, transition, by)
    if not location.strip():
        raise GuardFailed(_("Give a place or an online link."))
    conversation = Conversation.objects.create(
        case=case, kind=kind, starts_at=starts_at, location=location.strip(), planned_by=by
    )
    Invitation.objects.bulk_create(
        Invitation(conversation=conversation, person=person, role=role)
        for person, role in default_invitees(
            case, kind, with_coordinating_trainer=with_coordinating_trainer
        )
    )
    # The transition's e-mails to the invitees carry the calendar invitation.
    run_transition(
        case,
        transition,
        by=by,
        context=_invitation_context(conversation),
        attachment=invitation_attachment(conversation),
    )
    return conversation


@dataclass(frozen=True)
class ActionInput:
    description: str
    owner_id: int
    due_date: date


@transaction.atomic
def record_conversation(
    *,
    case_id: int,
    by,
    attendance: dict[int, bool],
    summary: str,
    answers: dict[str, str] | None = None,
    actions: Sequence[ActionInput] = (),
    seen_version: int | None = None,
) -> Conversation:
    """Record a planned conversation as held: attendance, summary, (answers), actions."""
    case = lock_case(case_id, seen_version=seen_version)
    transition = {
        State.CONVERSATION_PLANNED: "record_conversation",
        State.CHANGE_CONVERSATION_PLANNED: "record_change_conversation",
    }.get(case.state)
    if transition is None:
        raise GuardFailed(
            _("There is no planned conversation to record while the case is “%(state)s”.")
            % {"state": case.get_state_display()}
        )
    check_permitted(case, transition, by)
    kind = kind_for_state(case.state)
    conversation = (
        case.conversations.filter(kind=kind, status=Conversation.Status.PLANNED)
        .order_by("-pk")
        .first()
    )
    if conversation is None:
        # The planned conversation was cancelled: plan it again before recording it.
        raise GuardFailed(
            has_planned_problem_conversation.message
            if kind == Conversation.Kind.PROBLEM
            else has_planned_change_conversation.message
        )
    _hold(
        case,
        conversation,
        by=by,
        attendance=attendance,
        summary=summary,
        answers=answers,
        actions=actions,
    )
    run_transition(case, transition, by=by, note=summary[:500])
    return conversation


def _hold(
    case: Case,
    conversation: Conversation,
    *,
    by,
    attendance: dict[int, bool],
    summary: str,
    answers: dict[str, str] | None = None,
    actions: Sequence[ActionInput] = (),
) -> None:
    """Write a planned conversation's record as held: attendance, summary, (answers), actions
    and the student's (empty) note. Refused before the conversation's start."""
    if conversation.starts_at > timezone.now():
        raise GuardFailed(
            _(
                "The conversation is planned for %(when)s: record it once it has taken place "
                "(or reschedule it to when it actually took place)."
            )
            % {"when": date_format(timezone.localtime(conversation.starts_at), "j F Y H:i")}
        )
    for invitation in conversation.invitations.all():
        if invitation.person_id in attendance:
            invitation.attended = bool(attendance[invitation.person_id])
            invitation.save(update_fields=["attended"])
    conversation.summary = summary.strip()
    # Only the five answers: the keys come from a form and must not reach other fields.
    for field, value in (answers or {}).items():
        if field in FIVE_ANSWERS:
            setattr(conversation, field, (value or "").strip())
    conversation.status = Conversation.Status.HELD
    conversation.held_at = timezone.now()
    conversation.recorded_by = by
    conversation.save()
    person_ids = _case_people_ids(case)
    for action in actions:
        if action.owner_id not in person_ids:
            raise GuardFailed(_("The owner of an action must be one of the people on the case."))
        ImprovementAction.objects.create(
            case=case,
            conversation=conversation,
            description=action.description.strip(),
            owner_id=action.owner_id,
            due_date=action.due_date,
        )
    StudentNote.objects.get_or_create(conversation=conversation)


def _case_people_ids(case: Case) -> set[int]:
    return {p.pk for p in case.people(list(Role)) if p is not None}


@transaction.atomic
def action_add(
    *,
    case_id: int,
    by,
    description: str,
    owner_id: int,
    due_date: date,
    seen_version: int | None = None,
):
    case = lock_case(case_id, seen_version=seen_version)
    if not can(by, "cases.add_action", case):
        raise NotPermitted(_("Only the mentor, school trainer, study coach or office add actions."))
    if case.state not in (State.CONVERSATION_PLANNED, State.IMPROVING):
        raise GuardFailed(_("Actions can be added while the case is being improved."))
    if owner_id not in _case_people_ids(case):
        raise GuardFailed(_("The owner of an action must be one of the people on the case."))
    action = ImprovementAction.objects.create(
        case=case, description=description.strip(), owner_id=owner_id, due_date=due_date
    )
    case_log(case, by=by, name="action_added", note=description.strip())
    case_touch(case)
    return action


@transaction.atomic
def action_evaluate(
    *,
    action_id: int,
    by,
    evaluation: str,
    comment: str = "",
    seen_version: int | None = None,
):
    action = ImprovementAction.objects.select_related("case__placement").get(pk=action_id)
    case = lock_case(action.case_id, seen_version=seen_version)
    action.case = case
    if not can(by, "cases.evaluate_action", action):
        raise NotPermitted(_("Only the owner, school trainer, study coach or office evaluate."))
    if evaluation not in ImprovementAction.Evaluation.values:
        raise GuardFailed(_("Choose whether the action helped."))
    action.evaluation = evaluation
    action.evaluation_comment = comment.strip()
    action.status = ImprovementAction.Status.DONE
    action.evaluated_at = timezone.now()
    action.save()
    # The evaluation as data: the timeline renders it in the reader's language.
    case_log(
        case,
        by=by,
        name="action_evaluated",
        note=action.description,
        data={"evaluation": evaluation},
    )
    case_touch(case)
    return action


def invitations_needing_briefing(case: Case) -> Iterable[Invitation]:
    return Invitation.objects.filter(
        conversation__case=case, attended=False, briefed_at__isnull=True
    ).select_related("person", "conversation")


# --- rescheduling and cancelling ------------------------------------------------------------

PLANNER_ROLES = {
    Conversation.Kind.PROBLEM: {Role.SCHOOL_TRAINER, Role.STUDY_COACH, Role.MENTOR, Role.OFFICE},
    Conversation.Kind.FOLLOW_UP: {Role.SCHOOL_TRAINER, Role.STUDY_COACH, Role.MENTOR, Role.OFFICE},
    Conversation.Kind.CHANGE: {Role.SCHOOL_TRAINER, Role.STUDY_COACH, Role.OFFICE},
}


def _check_may_plan(case: Case, conversation: Conversation, by) -> None:
    if conversation.planned_by_id == by.pk:
        return
    if not case.roles_of(by) & PLANNER_ROLES[conversation.kind]:
        raise NotPermitted(
            _(
                "Only the person who planned it, the school trainer, the study coach or the office "
                "may change this conversation."
            )
        )


def _planned_conversation_for_update(conversation_id: int, by) -> tuple[Case, Conversation]:
    conversation = Conversation.objects.get(pk=conversation_id)
    case = lock_case(conversation.case_id)
    conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
    _check_may_plan(case, conversation, by)
    if conversation.status != Conversation.Status.PLANNED:
        raise GuardFailed(_("Only a planned conversation can be rescheduled or cancelled."))
    return case, conversation


def _invitation_context(conversation: Conversation) -> dict:
    return {"conversation": conversation.pk, "starts_at": conversation.starts_at.isoformat()}


def invitation_attachment(conversation: Conversation) -> Callable[[Any], dict | None]:
    """The calendar file for each invitee, in their language (REQUEST, or CANCEL once
    cancelled); None for whoever is notified but not invited."""
    invited = set(conversation.invitations.values_list("person_id", flat=True))
    method = "CANCEL" if conversation.status == Conversation.Status.CANCELLED else "REQUEST"
    by_language: dict[str, str] = {}

    def for_person(person) -> dict | None:
        if person.pk not in invited:
            return None
        language = person.language or settings.LANGUAGE_CODE
        if language not in by_language:
            by_language[language] = conversation_ics(conversation, language=language).decode()
        return {
            "filename": "invitation.ics",
            "mimetype": f"text/calendar; method={method}",
            "content": by_language[language],
        }

    return for_person


def _notify_invitees(case: Case, conversation: Conversation, *, event: str, by) -> None:
    people = [i.person for i in conversation.invitations.select_related("person")]
    tell(
        case,
        event=event,
        actor=by,
        recipients=people,
        step=f"c{conversation.pk}s{conversation.ical_sequence}",
        context=_invitation_context(conversation),
        attachment=invitation_attachment(conversation),
    )


@transaction.atomic
def conversation_reschedule(
    *, conversation_id: int, by, starts_at: datetime, location: str
) -> Conversation:
    """Move a planned conversation; the calendar invitation is updated (same UID, next SEQUENCE)."""
    case, conversation = _planned_conversation_for_update(conversation_id, by)
    if not location.strip():
        raise GuardFailed(_("Give a place or an online link."))
    was = {"was": conversation.starts_at.isoformat(), "was_location": conversation.location}
    conversation.starts_at = starts_at
    conversation.location = location.strip()
    conversation.ical_sequence += 1
    conversation.save()
    case_log(case, by=by, name="conversation_rescheduled", data=was)
    case_touch(case)
    _notify_invitees(case, conversation, event="conversation_rescheduled", by=by)
    return conversation


@transaction.atomic
def conversation_cancel(*, conversation_id: int, by, reason: str) -> Conversation:
    """Cancel a planned conversation (kept in the history); plan a new one afterwards."""
    case, conversation = _planned_conversation_for_update(conversation_id, by)
    if not reason.strip():
        raise GuardFailed(_("Give a reason for cancelling."))
    conversation.status = Conversation.Status.CANCELLED
    conversation.ical_sequence += 1
    conversation.save()
    case_log(case, by=by, name="conversation_cancelled", note=reason.strip())
    case_touch(case)
    _notify_invitees(case, conversation, event="conversation_cancelled", by=by)
    return conversation


def cancel_planned(case: Case, *, by, reason: str, kinds: Iterable[str] | None = None) -> int:
    """Cancel the case's planned conversations (of `kinds`) because the case moved on (a stop,
    a dropped change): the invited people are told and their calendars get a cancellation.
    For services that checked their own step's permission and hold the case's lock."""
    planned = case.conversations.filter(status=Conversation.Status.PLANNED)
    if kinds is not None:
        planned = planned.filter(kind__in=list(kinds))
    count = 0
    for conversation in planned.select_for_update().order_by("pk"):
        conversation.status = Conversation.Status.CANCELLED
        conversation.ical_sequence += 1
        conversation.save()
        case_log(case, by=by, name="conversation_cancelled", note=reason.strip())
        _notify_invitees(case, conversation, event="conversation_cancelled", by=by)
        count += 1
    return count


# --- follow-up conversations while the actions run -------------------------------------------


def _may_follow_up(case: Case, by) -> None:
    if not can(by, "cases.plan_follow_up", case):
        raise NotPermitted(
            _("Only the mentor, school trainer, study coach or office plan a follow-up.")
        )
    if case.state != State.IMPROVING:
        raise GuardFailed(_("A follow-up conversation is held while the improvement actions run."))


@transaction.atomic
def follow_up_plan(
    *, case_id: int, by, starts_at: datetime, location: str, seen_version: int | None = None
) -> Conversation:
    """Plan a follow-up (evaluation) conversation while "improving": a record, no transition.
    The same people as the first conversation are invited, with a calendar invitation."""
    case = lock_case(case_id, seen_version=seen_version)
    _may_follow_up(case, by)
    if case.conversations.filter(
        kind=Conversation.Kind.FOLLOW_UP, status=Conversation.Status.PLANNED
    ).exists():
        raise GuardFailed(_("A follow-up conversation is already planned: reschedule that one."))
    if not location.strip():
        raise GuardFailed(_("Give a place or an online link."))
    kind = Conversation.Kind.FOLLOW_UP
    conversation = Conversation.objects.create(
        case=case, kind=kind, starts_at=starts_at, location=location.strip(), planned_by=by
    )
    Invitation.objects.bulk_create(
        Invitation(conversation=conversation, person=person, role=role)
        for person, role in default_invitees(case, kind)
    )
    case_log(
        case,
        by=by,
        name="conversation_follow_up_planned",
        data={"starts_at": conversation.starts_at.isoformat()},
    )
    case_touch(case)
    _notify_invitees(case, conversation, event="conversation_follow_up_planned", by=by)
    return conversation


@transaction.atomic
def follow_up_record(
    *,
    conversation_id: int,
    by,
    attendance: dict[int, bool],
    summary: str,
    actions: Sequence[ActionInput] = (),
    seen_version: int | None = None,
) -> Conversation:
    """Record a follow-up as held: attendance (absent people are briefed as after the first
    conversation), a summary, new actions if agreed; the student writes a note of it."""
    case_id = Conversation.objects.filter(pk=conversation_id).values_list("case_id", flat=True)
    case = lock_case(case_id.get(), seen_version=seen_version)
    _may_follow_up(case, by)
    conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
    if (
        conversation.kind != Conversation.Kind.FOLLOW_UP
        or conversation.status != Conversation.Status.PLANNED
    ):
        raise GuardFailed(_("There is no planned follow-up conversation to record."))
    _hold(case, conversation, by=by, attendance=attendance, summary=summary, actions=actions)
    case_log(case, by=by, name="follow_up_recorded", note=summary.strip()[:500])
    case_touch(case)
    tell(
        case,
        event="follow_up_recorded",
        actor=by,
        recipients=case.people(PROBLEM_ROLES),
        step=f"f{conversation.pk}",
    )
    return conversation


@transaction.atomic
def conversation_plan_again(
    *,
    case_id: int,
    by,
    starts_at: datetime,
    location: str,
    with_coordinating_trainer: bool = False,
    seen_version: int | None = None,
) -> Conversation:
    """After a cancellation: plan a new conversation without changing the case's state."""
    case = lock_case(case_id, seen_version=seen_version)
    kind = kind_for_state(case.state)
    if case.state not in (State.CONVERSATION_PLANNED, State.CHANGE_CONVERSATION_PLANNED):
        raise GuardFailed(_("Plan the conversation with the case's next step instead."))
    if case.conversations.filter(kind=kind, status=Conversation.Status.PLANNED).exists():
        raise GuardFailed(_("A conversation is already planned: reschedule that one."))
    if not case.roles_of(by) & PLANNER_ROLES[kind]:
        raise NotPermitted(_("Only the school trainer, the study coach or the office plan this."))
    if not location.strip():
        raise GuardFailed(_("Give a place or an online link."))
    conversation = Conversation.objects.create(
        case=case, kind=kind, starts_at=starts_at, location=location.strip(), planned_by=by
    )
    Invitation.objects.bulk_create(
        Invitation(conversation=conversation, person=person, role=role)
        for person, role in default_invitees(
            case, kind, with_coordinating_trainer=with_coordinating_trainer
        )
    )
    case_log(case, by=by, name="conversation_planned_again")
    case_touch(case)
    _notify_invitees(case, conversation, event="plan_conversation", by=by)
    return conversation


# --- briefing absent people -----------------------------------------------------------------

BRIEFER_ROLES = {Role.SCHOOL_TRAINER, Role.STUDY_COACH, Role.MENTOR, Role.OFFICE}


@transaction.atomic
def briefing_record(*, invitation_id: int, by, note: str = "") -> Invitation:
    """Whoever brought an absent participant up to date records it."""
    invitation = Invitation.objects.select_related("conversation", "person").get(pk=invitation_id)
    case = lock_case(invitation.conversation.case_id)
    if not case.roles_of(by) & BRIEFER_ROLES and invitation.conversation.planned_by_id != by.pk:
        raise NotPermitted(
            _("Only the mentor, school trainer, study coach or office record a briefing.")
        )
    if invitation.attended is not False:
        raise GuardFailed(_("Only people who were absent need to be briefed."))
    if invitation.briefed_at is not None:
        raise GuardFailed(_("This person has already been briefed."))
    invitation.briefed_at = timezone.now()
    invitation.briefed_by = by
    invitation.save(update_fields=["briefed_at", "briefed_by"])
    case_log(
        case,
        by=by,
        name="briefing_recorded",
        note=note.strip(),
        data={"person": str(invitation.person)},
    )
    tell(
        case,
        event="briefing_recorded",
        actor=by,
        recipients=[invitation.person],
        step=f"i{invitation.pk}",
    )
    return invitation


@transaction.atomic
def briefing_confirm_read(*, invitation_id: int, by) -> Invitation:
    """The briefed person confirms they have read the summary."""
    invitation = Invitation.objects.select_for_update().get(pk=invitation_id)
    if invitation.person_id != by.pk:
        raise NotPermitted(_("Only the invited person can confirm this."))
    if invitation.read_summary_at is None:
        invitation.read_summary_at = timezone.now()
        invitation.save(update_fields=["read_summary_at"])
        case_log(invitation.conversation.case, by=by, name="summary_read")
    return invitation


# --- the student's note ---------------------------------------------------------------------


@transaction.atomic
def note_save(
    *,
    conversation_id: int,
    by,
    text: str,
    submit: bool = False,
    logged_in_onstage_on: date | None = None,
) -> StudentNote:
    """The student writes their note of a held conversation: a draft until submitted."""
    conversation = Conversation.objects.select_related("case__placement").get(pk=conversation_id)
    if conversation.case.placement.student_id != by.pk:
        raise NotPermitted(_("Only the student writes the note of a conversation."))
    if conversation.status != Conversation.Status.HELD:
        raise GuardFailed(_("The note is written after the conversation has been held."))
    note, _created = StudentNote.objects.select_for_update().get_or_create(
        conversation=conversation
    )
    if note.submitted_at is not None and submit:
        raise GuardFailed(_("This note has already been submitted."))
    if note.submitted_at is not None and text.strip() != note.text:
        raise GuardFailed(_("A submitted note can no longer be changed."))
    if submit and not text.strip():
        raise GuardFailed(_("Write the note before submitting it."))
    note.text = text.strip()
    note.logged_in_onstage_on = logged_in_onstage_on
    if submit:
        note.submitted_at = timezone.now()
    note.save()
    if submit:
        case_log(conversation.case, by=by, name="student_note_submitted")
    return note


def note_markdown(note: StudentNote) -> str:
    """The student's note as Markdown, for their portfolio."""
    conversation = note.conversation
    lines = [
        f"# {conversation.get_kind_display()} — {conversation.case.number}",
        "",
        f"- {_('date and time')}: {timezone.localtime(conversation.starts_at):%d-%m-%Y %H:%M}",
        f"- {_('place or online link')}: {markdown_text(conversation.location)}",
        f"- {_('training school')}: {markdown_text(conversation.case.placement.school)}",
    ]
    if note.submitted_at:
        lines.append(f"- {_('submitted at')}: {timezone.localtime(note.submitted_at):%d-%m-%Y}")
    if note.logged_in_onstage_on:
        lines.append(f"- {_('also logged in On Stage on')}: {note.logged_in_onstage_on:%d-%m-%Y}")
    lines += ["", note.text or "", ""]
    return "\n".join(lines)


def close_actions_with_the_case(event: StepEvent) -> None:
    """A step event subscriber: when a transition closes the case (withdrawn, transferred,
    stopped), the improvement actions still open are closed with it, and the timeline says
    which. (Closing as resolved requires every action evaluated, so none is open then.)"""
    case = event.case
    if not event.transition or case.is_open:
        return
    still_open = list(
        ImprovementAction.objects.filter(case=case, status=ImprovementAction.Status.OPEN)
    )
    if not still_open:
        return
    ImprovementAction.objects.filter(pk__in=[a.pk for a in still_open]).update(
        status=ImprovementAction.Status.CLOSED
    )
    case_log(
        case,
        by=event.actor,
        name="actions_closed_with_case",
        note="\n".join(f"– {a.description}" for a in still_open),
    )
