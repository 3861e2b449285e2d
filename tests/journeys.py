"""Journeys through a case, shared by the tests of several apps: the people around one
placement (`Crew`), a case arranged in the source state of each transition (`arrange`), each
transition taken through its service with valid input (`act`), and longer paths taken through
the real services (`change_path`, `improving_case`).

A helper module, not a test module: pytest collects nothing here, and test modules import from
here rather than from each other.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from cases import models as m
from cases import services as case_services
from cases.models import AdviceDecision, Case, CaseEvent, Category, Outcome, State
from cases.services import resolve, withdraw
from conversations import services as conversations
from conversations.models import Conversation
from tests.cases.factories import CaseFactory, PlacementFactory, TrainingSchoolFactory, UserFactory
from tests.conversations.factories import ConversationFactory, ImprovementActionFactory
from tests.transfers.factories import (
    ChangeRequestFactory,
    HandoverFactory,
    IsopAdviceFactory,
    StopFactory,
    WrapUpFactory,
)
from transfers import services as transfers

S = State

# --------------------------------------------------------------------------------------------
# The people around one placement, and how to arrange and act each transition.
# --------------------------------------------------------------------------------------------


@dataclass
class Crew:
    """Everyone who may (or may not) act on a case, each in one role."""

    placement: m.Placement
    office: m.User
    isop_owner: m.User
    unrelated: m.User
    old_study_coach: m.User

    def __getattr__(self, role: str):
        if role in m.PLACEMENT_ROLE_FIELDS:
            return getattr(self.placement, role)
        raise AttributeError(role)

    def get(self, role: str) -> m.User:
        return getattr(self, role)


def make_crew() -> Crew:
    placement = PlacementFactory(coordinating_trainer=UserFactory())
    return Crew(
        placement=placement,
        office=UserFactory(office=True),
        isop_owner=UserFactory(isop_owner=True),
        unrelated=UserFactory(),
        old_study_coach=UserFactory(),
    )


def case_in(crew: Crew, state: str) -> Case:
    """A case on the crew's placement in `state`, signalled by the school trainer (so
    "signaller" adds nobody beyond the roles allowed in tests/cases/test_machine.py)."""
    return CaseFactory(placement=crew.placement, signalled_by=crew.school_trainer, state=state)


# The five questions of the all-party conversation, answered.
FIVE = {
    "problem": "Het klikt niet met de mentor.",
    "what_was_done": "Twee gesprekken.",
    "when_it_goes_well": "Bij de bovenbouw.",
    "student_needs": "Een andere mentor.",
    "school_offers": "Geen andere sectie.",
}


def soon(days: int = 2) -> dt.datetime:
    """A moment `days` days from now (a conversation's start)."""
    return timezone.now() + dt.timedelta(days=days)


def just_now(minutes: int = 30) -> dt.datetime:
    """A moment `minutes` ago: a conversation that has taken place and can be recorded."""
    return timezone.now() - dt.timedelta(minutes=minutes)


def arrange(name: str, crew: Crew) -> Case:
    """A case in the source state of `name`, with what the service needs to take it."""
    if name == "plan_conversation":
        return case_in(crew, S.SIGNALLED)
    if name == "record_conversation":
        case = case_in(crew, S.CONVERSATION_PLANNED)
        ConversationFactory(case=case, invite=True, starts_at=just_now())
        return case
    if name == "resolve":
        case = case_in(crew, S.IMPROVING)
        ImprovementActionFactory(case=case, evaluated=True)
        return case
    if name == "request_change":
        return case_in(crew, S.IMPROVING)
    if name == "inform_office":
        case = case_in(crew, S.CHANGE_REQUESTED)
        ChangeRequestFactory(case=case)
        return case
    if name == "plan_change_conversation":
        case = case_in(crew, S.OFFICE_INFORMED)
        ChangeRequestFactory(case=case, office_informed=True)
        return case
    if name == "record_change_conversation":
        case = case_in(crew, S.CHANGE_CONVERSATION_PLANNED)
        ConversationFactory(case=case, change=True, invite=True, starts_at=just_now())
        return case
    if name == "accept_change_conversation":
        case = case_in(crew, S.CHANGE_CONVERSATION_INCOMPLETE)
        ConversationFactory(case=case, change=True, held=True, answered=True, invite=True)
        return case
    if name == "abandon_change":
        case = case_in(crew, S.OFFICE_INFORMED)
        ChangeRequestFactory(case=case, office_informed=True)
        return case
    if name == "decide":
        case = case_in(crew, S.DECISION_PENDING)
        IsopAdviceFactory(case=case, given=True)
        return case
    if name == "stop_now":
        return case_in(crew, S.IMPROVING)
    if name == "make_definitive":
        case = case_in(crew, S.STOPPED)
        StopFactory(case=case, is_temporary=True)
        return case
    if name == "reopen":
        return case_in(crew, S.CLOSED_RESOLVED)
    if name == "report_outcome":
        case = case_in(crew, S.OUTCOME_PENDING)
        ConversationFactory(case=case, change=True, held=True, answered=True, invite=True)
        return case
    if name == "give_advice":
        case = case_in(crew, S.ISOP_ADVICE)
        IsopAdviceFactory(case=case)
        return case
    if name in ("place_student", "stop_internship"):
        case = case_in(crew, S.TRANSFER_REQUESTED)
        WrapUpFactory(case=case, agreed=True)
        return case
    if name == "confirm_handover":
        case = case_in(crew, S.HANDOVER)
        HandoverFactory(case=case, old_coach=crew.old_study_coach)
        return case
    if name == "resume":
        case = case_in(crew, S.STOPPED)
        StopFactory(case=case, is_temporary=True)
        return case
    if name == "withdraw":
        return case_in(crew, S.IMPROVING)
    raise AssertionError(name)


def act(name: str, case: Case, user: m.User, **kw) -> None:
    """Take transition `name` through its service, with valid input."""
    today = timezone.localdate()
    if name in ("plan_conversation", "plan_change_conversation"):
        # Just before now by default, so that the conversation can be recorded next.
        conversations.plan_conversation(
            case_id=case.pk,
            by=user,
            starts_at=kw.pop("starts_at", None) or just_now(),
            location="Lokaal 1.01",
            **kw,
        )
    elif name in ("record_conversation", "record_change_conversation"):
        conversation = case.conversations.filter(status="planned").last()
        attendance = (
            {i.person_id: True for i in conversation.invitations.all()} if conversation else {}
        )
        change = name == "record_change_conversation"
        conversations.record_conversation(
            case_id=case.pk,
            by=user,
            attendance=attendance,
            summary="Besproken en afspraken gemaakt.",
            answers=FIVE if change else None,
            actions=()
            if change
            else [
                conversations.ActionInput(
                    "Wekelijks feedback", case.placement.mentor_id, today + dt.timedelta(days=7)
                )
            ],
            **kw,
        )
    elif name == "resolve":
        resolve(case_id=case.pk, by=user, note="Het gaat weer goed.", **kw)
    elif name == "request_change":
        transfers.request_change(
            case_id=case.pk, by=user, kind="transfer", reason="Het gaat niet meer.", **kw
        )
    elif name == "inform_office":
        transfers.inform_office(case_id=case.pk, by=user, note="Gebeld.", **kw)
    elif name == "report_outcome":
        conversation = case.conversations.filter(kind="change", status="held").last()
        positions = (
            {i.person_id: "agree" for i in conversation.invitations.all()} if conversation else {}
        )
        transfers.report_outcome(
            case_id=case.pk,
            by=user,
            outcome=kw.pop("outcome", Outcome.AGREE_TRANSFER),
            positions=kw.pop("positions", positions),
            **kw,
        )
    elif name == "give_advice":
        transfers.give_advice(
            case_id=case.pk,
            by=user,
            decision=kw.pop("decision", AdviceDecision.TRANSFER),
            rationale="Een nieuwe start.",
            **kw,
        )
    elif name == "place_student":
        transfers.place_student(
            case_id=case.pk,
            by=user,
            school=TrainingSchoolFactory(),
            mentor=UserFactory(),
            school_trainer=UserFactory(),
            study_coach=kw.pop("study_coach", None) or UserFactory(),
            start_date=kw.pop("start_date", today + dt.timedelta(days=7)),
            **kw,
        )
    elif name == "stop_internship":
        temporary = kw.pop("temporary", False)
        transfers.stop_internship(
            case_id=case.pk,
            by=user,
            temporary=temporary,
            expected_resume_date=today + dt.timedelta(days=30) if temporary else None,
            **kw,
        )
    elif name == "confirm_handover":
        transfers.confirm_handover(
            case_id=case.pk,
            by=user,
            contact_made_on=kw.pop("contact_made_on", today),
            what_helped="Korte lijnen.",
            student_needs="Structuur.",
            **kw,
        )
    elif name == "resume":
        transfers.resume(case_id=case.pk, by=user, **kw)
    elif name == "withdraw":
        reason = kw.pop("reason", "Opgelost buiten het dossier.")
        withdraw(case_id=case.pk, by=user, reason=reason, **kw)
    elif name == "abandon_change":
        reason = kw.pop("reason", "Geen nieuwe stageplaats gevonden.")
        transfers.abandon_change(case_id=case.pk, by=user, reason=reason, **kw)
    elif name == "accept_change_conversation":
        reason = kw.pop("reason", "De studiecoach is telefonisch bijgepraat.")
        transfers.accept_change_conversation(case_id=case.pk, by=user, reason=reason, **kw)
    elif name == "decide":
        transfers.decide(
            case_id=case.pk,
            by=user,
            decision=kw.pop("decision", AdviceDecision.TRANSFER),
            reason=kw.pop("reason", ""),
            **kw,
        )
    elif name == "stop_now":
        temporary = kw.pop("temporary", True)
        transfers.stop_now(
            case_id=case.pk,
            by=user,
            temporary=temporary,
            reason=kw.pop("reason", "Ziek, voor onbepaalde tijd."),
            expected_resume_date=today + dt.timedelta(days=30) if temporary else None,
            **kw,
        )
    elif name == "make_definitive":
        transfers.make_definitive(case_id=case.pk, by=user, ends_on=kw.pop("ends_on", today), **kw)
    elif name == "reopen":
        reason = kw.pop("reason", "Het probleem is terug.")
        case_services.reopen(case_id=case.pk, by=user, reason=reason, **kw)
    else:
        raise AssertionError(name)


# The state each transition reaches with `act`'s default input.
DEFAULT_TARGET = {
    "plan_conversation": S.CONVERSATION_PLANNED,
    "record_conversation": S.IMPROVING,
    "resolve": S.CLOSED_RESOLVED,
    "request_change": S.CHANGE_REQUESTED,
    "inform_office": S.OFFICE_INFORMED,
    "plan_change_conversation": S.CHANGE_CONVERSATION_PLANNED,
    "record_change_conversation": S.OUTCOME_PENDING,
    "report_outcome": S.TRANSFER_REQUESTED,
    "give_advice": S.DECISION_PENDING,
    "decide": S.TRANSFER_REQUESTED,
    "place_student": S.HANDOVER,
    "stop_internship": S.CLOSED_STOPPED,
    "stop_now": S.STOPPED,
    "make_definitive": S.CLOSED_STOPPED,
    "confirm_handover": S.CLOSED_TRANSFERRED,
    "resume": S.CLOSED_RESUMED,
    "withdraw": S.CLOSED_WITHDRAWN,
    "abandon_change": S.IMPROVING,
    "accept_change_conversation": S.OUTCOME_PENDING,
    "reopen": S.IMPROVING,
}


# A role that may take each transition (the full table is in tests/cases/test_machine.py).
ANY_ALLOWED = {
    "plan_conversation": "school_trainer",
    "record_conversation": "school_trainer",
    "resolve": "school_trainer",
    "request_change": "student",
    "inform_office": "school_trainer",
    "plan_change_conversation": "study_coach",
    "record_change_conversation": "school_trainer",
    "report_outcome": "school_trainer",
    "give_advice": "isop_owner",
    "decide": "office",
    "place_student": "office",
    "stop_internship": "office",
    "stop_now": "student",
    "make_definitive": "office",
    "confirm_handover": "old_study_coach",
    "resume": "office",
    "withdraw": "office",
    "abandon_change": "school_trainer",
    "accept_change_conversation": "office",
    "reopen": "office",
}

TRANSITIONS = sorted(DEFAULT_TARGET)


def transition_events(case: Case):
    """The case's timeline events of transitions, the signal left out."""
    return CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.TRANSITION).exclude(
        name="signal"
    )


# --------------------------------------------------------------------------------------------
# Longer paths, taken through the real services
# --------------------------------------------------------------------------------------------


def hold(case, by, *, answers=None, actions=()):
    """Plan the case's next conversation now and record it as held, everyone present."""
    conversation = conversations.plan_conversation(
        case_id=case.pk, by=by, starts_at=timezone.now(), location="Room 1"
    )
    conversations.record_conversation(
        case_id=case.pk,
        by=by,
        attendance={i.person_id: True for i in conversation.invitations.all()},
        summary="Talked it through.",
        actions=list(actions),
        answers=answers,
    )
    return conversation


def change_path(*, handover_confirmed: bool = False):
    """A case from signal through change request, outcome report, ISOP advice, wrap-up and
    transfer to the (open or confirmed) warm handover: (case, placement, office, isop)."""
    placement = PlacementFactory()
    office, isop = UserFactory(office=True), UserFactory(isop_owner=True)
    trainer = placement.school_trainer
    case = case_services.case_signal(
        placement=placement,
        by=placement.student,
        categories=[Category.WELLBEING, Category.CLASSROOM],
        description="It does not go well.",
    )
    hold(
        case,
        trainer,
        actions=[conversations.ActionInput("Try this", placement.student.pk, timezone.localdate())],
    )
    transfers.request_change(
        case_id=case.pk, by=placement.student, kind="transfer", reason="Another school."
    )
    transfers.inform_office(case_id=case.pk, by=trainer)
    answers = {
        "problem": "a",
        "what_was_done": "b",
        "when_it_goes_well": "c",
        "student_needs": "d",
        "school_offers": "e",
    }
    second = hold(case, trainer, answers=answers)
    positions = {i.person_id: "agree" for i in second.invitations.all()}
    positions[placement.student.pk] = "disagree"
    transfers.report_outcome(
        case_id=case.pk, by=trainer, outcome=Outcome.OPINIONS_DIFFER, positions=positions
    )
    transfers.give_advice(
        case_id=case.pk, by=isop, decision=AdviceDecision.TRANSFER, rationale="Transfer."
    )
    transfers.decide(case_id=case.pk, by=office, decision=AdviceDecision.TRANSFER)
    transfers.wrap_up_record(
        case_id=case.pk,
        by=trainer,
        last_day=timezone.localdate(),
        agreement="Goodbye to the class.",
    )
    transfers.wrap_up_confirm(case_id=case.pk, by=placement.student)
    transfers.place_student(
        case_id=case.pk,
        by=office,
        school=TrainingSchoolFactory(),
        mentor=UserFactory(),
        school_trainer=UserFactory(),
        study_coach=UserFactory(),
        start_date=timezone.localdate(),
    )
    if handover_confirmed:
        transfers.confirm_handover(
            case_id=case.pk,
            by=placement.study_coach,
            contact_made_on=timezone.localdate(),
            what_helped="x",
            student_needs="y",
        )
    case.refresh_from_db()
    return case, placement, office, isop


def improving_case(
    people: dict,
    *,
    school: str,
    signalled_by: str,
    category: str,
    description: str,
    planner: str,
    days_ago: int,
    location: str,
    summary: str,
    action: str,
):
    """A case with improvement actions running, arranged through the real services: signalled
    on a placement of `people` (student, mentor, trainer, coach), its first conversation held
    `days_ago` days ago by `planner` with everyone present and one action due today. The
    browser journeys start from here."""
    placement = PlacementFactory(
        student=people["student"],
        mentor=people["mentor"],
        school_trainer=people["trainer"],
        study_coach=people["coach"],
        school=TrainingSchoolFactory(name=school),
    )
    case = case_services.case_signal(
        placement=placement,
        by=people[signalled_by],
        categories=[category],
        description=description,
    )
    by = people[planner]
    conversation = conversations.plan_conversation(
        case_id=case.pk,
        by=by,
        starts_at=timezone.now() - dt.timedelta(days=days_ago),
        location=location,
    )
    conversations.record_conversation(
        case_id=case.pk,
        by=by,
        attendance={i.person_id: True for i in conversation.invitations.all()},
        summary=summary,
        actions=[conversations.ActionInput(action, by.pk, timezone.localdate())],
    )
    case.refresh_from_db()
    assert case.state == State.IMPROVING
    return case


def took_place(conversation) -> None:
    """A conversation planned in the future has taken place (an hour ago): conversations are
    not recorded as held before they start."""
    moment = timezone.now() - dt.timedelta(hours=1)
    if conversation.starts_at > moment:
        Conversation.objects.filter(pk=conversation.pk).update(starts_at=moment)
        conversation.starts_at = moment
