"""Planning and recording conversations, briefing absent people, student notes, actions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.models import Case, GuardFailed, NotPermitted, Role, State
from cases.services import case_log, check_permitted, lock_case, run_transition

from .models import Conversation, ImprovementAction, Invitation, StudentNote

PROBLEM_ROLES = (Role.STUDENT, Role.MENTOR, Role.SCHOOL_TRAINER, Role.STUDY_COACH)
CHANGE_ROLES = (Role.STUDENT, Role.SCHOOL_TRAINER, Role.STUDY_COACH)


def kind_for_state(state: str) -> str | None:
    if state in (State.SIGNALLED, State.CONVERSATION_PLANNED):
        return Conversation.Kind.PROBLEM
    if state in (State.OFFICE_INFORMED, State.CHANGE_CONVERSATION_PLANNED):
        return Conversation.Kind.CHANGE
    return None


def default_invitees(case: Case, kind: str, *, with_coordinating_trainer: bool = False):
    """(person, role) pairs pre-filled from the placement for this kind of conversation."""
    roles = list(PROBLEM_ROLES if kind == Conversation.Kind.PROBLEM else CHANGE_ROLES)
    if kind == Conversation.Kind.CHANGE and with_coordinating_trainer:
        roles.append(Role.COORDINATING_TRAINER)
    pairs = []
    for role in roles:
        person = case.placement.person(role)
        if person is not None and all(p.pk != person.pk for p, _r in pairs):
            pairs.append((person, role))
    return pairs


@transaction.atomic
def conversation_plan(
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
    if transition is None or case.state not in (State.SIGNALLED, State.OFFICE_INFORMED):
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
    run_transition(case, transition, by=by)
    return conversation


@dataclass(frozen=True)
class ActionInput:
    description: str
    owner_id: int
    due_date: date


@transaction.atomic
def conversation_record(
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
    conversation = (
        case.conversations.filter(status=Conversation.Status.PLANNED).order_by("-pk").first()
    )
    for invitation in conversation.invitations.all():
        if invitation.person_id in attendance:
            invitation.attended = bool(attendance[invitation.person_id])
            invitation.save(update_fields=["attended"])
    conversation.summary = summary.strip()
    for field, value in (answers or {}).items():
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
            case=case, conversation=conversation, description=action.description.strip(),
            owner_id=action.owner_id, due_date=action.due_date,
        )
    StudentNote.objects.get_or_create(conversation=conversation)
    run_transition(case, transition, by=by, note=summary[:500])
    return conversation


def _case_people_ids(case: Case) -> set[int]:
    return {p.pk for p in case.people(list(Role)) if p is not None}


@transaction.atomic
def action_add(*, case_id: int, by, description: str, owner_id: int, due_date: date):
    case = lock_case(case_id)
    if not case.roles_of(by) & {Role.SCHOOL_TRAINER, Role.STUDY_COACH, Role.MENTOR, Role.OFFICE}:
        raise NotPermitted(_("Only the mentor, school trainer, study coach or office add actions."))
    if case.state not in (State.CONVERSATION_PLANNED, State.IMPROVING):
        raise GuardFailed(_("Actions can be added while the case is being improved."))
    if owner_id not in _case_people_ids(case):
        raise GuardFailed(_("The owner of an action must be one of the people on the case."))
    action = ImprovementAction.objects.create(
        case=case, description=description.strip(), owner_id=owner_id, due_date=due_date
    )
    case_log(case, by=by, name="action_added", note=description.strip())
    return action


@transaction.atomic
def action_evaluate(*, action_id: int, by, evaluation: str, comment: str = ""):
    action = ImprovementAction.objects.select_related("case__placement").get(pk=action_id)
    case = lock_case(action.case_id)
    if not case.roles_of(by) & {Role.SCHOOL_TRAINER, Role.STUDY_COACH, Role.OFFICE}:
        if action.owner_id != by.pk:
            raise NotPermitted(_("Only the owner, school trainer, study coach or office evaluate."))
    if evaluation not in ImprovementAction.Evaluation.values:
        raise GuardFailed(_("Choose whether the action helped."))
    action.evaluation = evaluation
    action.evaluation_comment = comment.strip()
    action.status = ImprovementAction.Status.DONE
    action.save()
    case_log(case, by=by, name="action_evaluated", note=f"{action.description}: {evaluation}")
    return action


def invitations_needing_briefing(case: Case) -> Iterable[Invitation]:
    return Invitation.objects.filter(
        conversation__case=case, attended=False, briefed_at__isnull=True
    ).select_related("person", "conversation")
