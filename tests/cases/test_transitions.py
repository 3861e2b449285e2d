"""The case state machine, transition by transition: who may take it, its guards, its states.

Arrange with factories (a Trait per state plus the records the guards read); act through the
services of cases, conversations and transfers, as the views do.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.utils import timezone, translation

from cases import models as m
from cases.models import (
    CLOSED_STATES,
    OPEN_STATES,
    AdviceDecision,
    Case,
    CaseEvent,
    GuardFailed,
    NotPermitted,
    Outcome,
    Role,
    State,
)
from cases.services import ROLE_LABELS, check_transition, resolve, withdraw
from conversations import services as conversations
from conversations.models import Conversation
from tests.cases.factories import CaseFactory, PlacementFactory, TrainingSchoolFactory, UserFactory
from tests.conversations.factories import ConversationFactory, ImprovementActionFactory
from tests.transfers.factories import (
    ChangeRequestFactory,
    HandoverFactory,
    IsopAdviceFactory,
    StopFactory,
    TransferFactory,
    WrapUpFactory,
)
from transfers import services as transfers


@pytest.fixture(autouse=True)
def _english_messages():
    """These tests read refusal messages as English msgids (the Dutch catalogue is tested in
    tests/test_translations.py); lazy messages are rendered after the override ends, too."""
    with translation.override("en"):
        yield


pytestmark = pytest.mark.django_db

S = State

# --------------------------------------------------------------------------------------------
# The whole graph, written out: a change to the machine must be a deliberate diff here.
# --------------------------------------------------------------------------------------------

EXPECTED_GRAPH: set[tuple[str, str, frozenset[str]]] = {
    (S.SIGNALLED, "plan_conversation", frozenset({S.CONVERSATION_PLANNED})),
    (S.CONVERSATION_PLANNED, "record_conversation", frozenset({S.IMPROVING})),
    (S.IMPROVING, "resolve", frozenset({S.CLOSED_RESOLVED})),
    (S.IMPROVING, "request_change", frozenset({S.CHANGE_REQUESTED})),
    (S.CHANGE_REQUESTED, "inform_office", frozenset({S.OFFICE_INFORMED})),
    (S.OFFICE_INFORMED, "plan_change_conversation", frozenset({S.CHANGE_CONVERSATION_PLANNED})),
    (S.CHANGE_CONVERSATION_PLANNED, "record_change_conversation", frozenset({S.OUTCOME_PENDING})),
    (
        S.OUTCOME_PENDING,
        "report_outcome",
        frozenset({S.TRANSFER_REQUESTED, S.IMPROVING, S.ISOP_ADVICE}),
    ),
    (S.ISOP_ADVICE, "give_advice", frozenset({S.TRANSFER_REQUESTED, S.IMPROVING})),
    (S.TRANSFER_REQUESTED, "place_student", frozenset({S.HANDOVER, S.CLOSED_TRANSFERRED})),
    (S.TRANSFER_REQUESTED, "stop_internship", frozenset({S.STOPPED, S.CLOSED_STOPPED})),
    (S.HANDOVER, "confirm_handover", frozenset({S.CLOSED_TRANSFERRED})),
    (S.STOPPED, "resume", frozenset({S.CLOSED_STOPPED})),
} | {(state, "withdraw", frozenset({S.CLOSED_WITHDRAWN})) for state in OPEN_STATES}

# Who may take each transition, among the roles a person can have on a case.
ALLOWED: dict[str, set[str]] = {
    "plan_conversation": {"school_trainer", "study_coach", "mentor", "office"},
    "record_conversation": {"school_trainer", "study_coach", "mentor", "office"},
    "resolve": {"school_trainer", "study_coach", "office"},
    "request_change": {"student", "school_trainer", "study_coach"},
    "inform_office": {"school_trainer", "office"},
    "plan_change_conversation": {"school_trainer", "study_coach", "office"},
    "record_change_conversation": {"school_trainer", "study_coach", "office"},
    "report_outcome": {"school_trainer", "office"},
    "give_advice": {"isop_owner"},
    "place_student": {"office"},
    "stop_internship": {"office"},
    "confirm_handover": {"old_study_coach"},
    "resume": {"office"},
    "withdraw": {"school_trainer", "study_coach", "office", "signaller"},
}

ROLES = (
    "student",
    "mentor",
    "school_trainer",
    "coordinating_trainer",
    "study_coach",
    "office",
    "isop_owner",
    "unrelated",
)


def machine_graph() -> set[tuple[str, str, frozenset[str]]]:
    graph = set()
    for t in Case._meta.get_field("state").get_all_transitions(Case):
        target = t.target
        targets = frozenset(getattr(target, "allowed_states", None) or [target])
        graph.add((t.source, t.name, frozenset(str(s) for s in targets)))
    return graph


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


@pytest.fixture
def crew() -> Crew:
    return make_crew()


def _case(crew: Crew, state: str) -> Case:
    # The school trainer signalled, so "signaller" adds nobody beyond the allowed roles.
    return CaseFactory(placement=crew.placement, signalled_by=crew.school_trainer, state=state)


FIVE = {
    "problem": "Het klikt niet met de mentor.",
    "what_was_done": "Twee gesprekken.",
    "when_it_goes_well": "Bij de bovenbouw.",
    "student_needs": "Een andere mentor.",
    "school_offers": "Geen andere sectie.",
}


def _in(days: int = 2) -> dt.datetime:
    return timezone.now() + dt.timedelta(days=days)


def arrange(name: str, crew: Crew) -> Case:
    """A case in the source state of `name`, with what the service needs to take it."""
    if name == "plan_conversation":
        return _case(crew, S.SIGNALLED)
    if name == "record_conversation":
        case = _case(crew, S.CONVERSATION_PLANNED)
        ConversationFactory(case=case, invite=True)
        return case
    if name == "resolve":
        case = _case(crew, S.IMPROVING)
        ImprovementActionFactory(case=case, evaluated=True)
        return case
    if name == "request_change":
        return _case(crew, S.IMPROVING)
    if name == "inform_office":
        case = _case(crew, S.CHANGE_REQUESTED)
        ChangeRequestFactory(case=case)
        return case
    if name == "plan_change_conversation":
        case = _case(crew, S.OFFICE_INFORMED)
        ChangeRequestFactory(case=case, office_informed=True)
        return case
    if name == "record_change_conversation":
        case = _case(crew, S.CHANGE_CONVERSATION_PLANNED)
        ConversationFactory(case=case, change=True, invite=True)
        return case
    if name == "report_outcome":
        case = _case(crew, S.OUTCOME_PENDING)
        ConversationFactory(case=case, change=True, held=True, answered=True, invite=True)
        return case
    if name == "give_advice":
        case = _case(crew, S.ISOP_ADVICE)
        IsopAdviceFactory(case=case)
        return case
    if name in ("place_student", "stop_internship"):
        case = _case(crew, S.TRANSFER_REQUESTED)
        WrapUpFactory(case=case)
        return case
    if name == "confirm_handover":
        case = _case(crew, S.HANDOVER)
        HandoverFactory(case=case, old_coach=crew.old_study_coach)
        return case
    if name == "resume":
        case = _case(crew, S.STOPPED)
        StopFactory(case=case, is_temporary=True)
        return case
    if name == "withdraw":
        return _case(crew, S.IMPROVING)
    raise AssertionError(name)


def act(name: str, case: Case, user: m.User, **kw) -> None:
    """Take transition `name` through its service, with valid input."""
    today = dt.date.today()
    if name in ("plan_conversation", "plan_change_conversation"):
        conversations.plan_conversation(
            case_id=case.pk, by=user, starts_at=_in(), location="Lokaal 1.01", **kw
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
            start_date=today,
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
    "give_advice": S.TRANSFER_REQUESTED,
    "place_student": S.HANDOVER,
    "stop_internship": S.CLOSED_STOPPED,
    "confirm_handover": S.CLOSED_TRANSFERRED,
    "resume": S.CLOSED_STOPPED,
    "withdraw": S.CLOSED_WITHDRAWN,
}
TRANSITIONS = sorted(ALLOWED)


def sources(name: str) -> set[str]:
    return {src for src, n, _t in EXPECTED_GRAPH if n == name}


def transition_events(case: Case):
    return CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.TRANSITION).exclude(
        name="signal"
    )


# --------------------------------------------------------------------------------------------
# The graph
# --------------------------------------------------------------------------------------------


class TestGraph:
    def test_it_matches_the_expected_table(self):
        assert machine_graph() == EXPECTED_GRAPH

    def test_every_transition_has_a_permission_table_entry(self):
        assert set(m.transition_names()) == set(ALLOWED) == set(DEFAULT_TARGET)

    def test_every_state_is_reachable_from_signalled(self):
        edges: dict[str, set[str]] = {}
        for source, _name, targets in machine_graph():
            edges.setdefault(source, set()).update(targets)
        seen, todo = {S.SIGNALLED}, [S.SIGNALLED]
        while todo:
            for nxt in edges.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        assert seen == set(State.values)

    @pytest.mark.parametrize("state", OPEN_STATES)
    def test_every_open_state_can_be_withdrawn(self, state):
        assert (state, "withdraw", frozenset({S.CLOSED_WITHDRAWN})) in machine_graph()

    @pytest.mark.parametrize("state", CLOSED_STATES)
    def test_closed_states_have_no_way_out(self, state):
        assert not [t for t in machine_graph() if t[0] == state]

    def test_every_closed_state_is_a_target(self):
        targets = set().union(*(t for _s, _n, t in machine_graph()))
        assert set(CLOSED_STATES) <= targets

    def test_the_state_field_is_protected(self):
        case = CaseFactory()
        with pytest.raises(AttributeError):
            case.state = S.CLOSED_RESOLVED

    @pytest.mark.parametrize("name", TRANSITIONS)
    def test_every_transition_has_a_label_and_a_view(self, name):
        for t in m.transition_meta(name).transitions.values():
            assert str(t.custom["label"])
            assert t.custom["url"]
            assert name in m.EVENT_LABELS


# --------------------------------------------------------------------------------------------
# Permission: allowed for the right roles, refused with the roles named for all others
# --------------------------------------------------------------------------------------------


def role_matrix():
    return list(_role_matrix())


def _role_matrix():
    for name in TRANSITIONS:
        roles = ROLES + (("old_study_coach",) if name == "confirm_handover" else ())
        for role in roles:
            yield pytest.param(name, role, role in ALLOWED[name], id=f"{name}-{role}")


@pytest.mark.parametrize(("name", "role", "allowed"), role_matrix())
def test_permission(crew, name, role, allowed):
    case = arrange(name, crew)
    user = crew.get(role)
    version = Case.objects.get(pk=case.pk).version
    if allowed:
        act(name, case, user)
        case.refresh_from_db()
        assert case.state == DEFAULT_TARGET[name]
        assert case.version == version + 1
        return
    with translation.override("en"), pytest.raises(NotPermitted) as refused:
        act(name, case, user)
    message = str(refused.value.message)
    assert message.startswith("Only the ")
    for allowed_role in ALLOWED[name]:
        assert str(ROLE_LABELS[allowed_role]) in message
    case.refresh_from_db()
    assert case.state in sources(name)
    assert case.version == version
    assert not transition_events(case).exists()


def test_the_signaller_may_withdraw(crew):
    case = CaseFactory(placement=crew.placement, signalled_by=crew.mentor, improving=True)
    act("withdraw", case, crew.mentor)
    case.refresh_from_db()
    assert case.state == S.CLOSED_WITHDRAWN


def test_a_student_who_signalled_may_withdraw(crew):
    case = CaseFactory(placement=crew.placement, signalled_by=crew.student)
    act("withdraw", case, crew.student)
    assert Case.objects.get(pk=case.pk).state == S.CLOSED_WITHDRAWN


def test_the_new_study_coach_may_not_confirm_the_handover(crew):
    case = arrange("confirm_handover", crew)
    with pytest.raises(NotPermitted):
        act("confirm_handover", case, crew.study_coach)


def test_an_inactive_office_account_still_needs_the_group(crew):
    case = arrange("place_student", crew)
    crew.office.groups.clear()
    office = m.User.objects.get(pk=crew.office.pk)  # global_roles is cached per instance
    with pytest.raises(NotPermitted):
        act("place_student", case, office)


# --------------------------------------------------------------------------------------------
# Wrong states: every transition is refused (GuardFailed, state named) outside its sources
# --------------------------------------------------------------------------------------------

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
    "place_student": "office",
    "stop_internship": "office",
    "confirm_handover": "old_study_coach",
    "resume": "office",
    "withdraw": "office",
}


# Transitions that share one service, which picks the transition by the case's state.
SHARED_SERVICE = {
    "plan_conversation": "plan_change_conversation",
    "plan_change_conversation": "plan_conversation",
    "record_conversation": "record_change_conversation",
    "record_change_conversation": "record_conversation",
}


def wrong_states():
    return list(_wrong_states())


def _wrong_states():
    for name in TRANSITIONS:
        for state in State:
            if state not in sources(name):
                yield pytest.param(name, state, id=f"{name}-{state}")


@pytest.mark.parametrize(("name", "state"), wrong_states())
def test_refused_in_every_other_state(crew, name, state):
    case = _case(crew, state)
    user = crew.get(ANY_ALLOWED[name])
    with translation.override("en"), pytest.raises(GuardFailed) as refused:
        if state in sources(SHARED_SERVICE.get(name, "")):
            # The service takes the sibling transition here; ask the machine about this one.
            check_transition(case, name, user)
        else:
            act(name, case, user)
    message = str(refused.value.message)
    assert message
    assert str(State(state).label) in message
    case.refresh_from_db()
    assert case.state == state
    assert case.version == 1
    assert not CaseEvent.objects.filter(case=case).exists()


# --------------------------------------------------------------------------------------------
# Guards: each one refuses with its own message
# --------------------------------------------------------------------------------------------


def _planned_problem(case, **kw):
    return ConversationFactory(case=case, invite=True, **kw)


def _guard_plan_no_conversation(crew):
    return _case(crew, S.SIGNALLED)


def _guard_plan_cancelled(crew):
    case = _case(crew, S.SIGNALLED)
    _planned_problem(case, cancelled=True)
    return case


def _guard_record_attendance(crew):
    case = _case(crew, S.CONVERSATION_PLANNED)
    _planned_problem(case)  # invited, attendance still empty
    ImprovementActionFactory(case=case)
    return case


def _guard_record_action(crew):
    case = _case(crew, S.CONVERSATION_PLANNED)
    conversation = _planned_problem(case)
    conversation.invitations.update(attended=True)
    return case


def _guard_resolve_unevaluated(crew):
    case = _case(crew, S.IMPROVING)
    ImprovementActionFactory(case=case, evaluated=True)
    ImprovementActionFactory(case=case)
    return case


def _guard_resolve_no_actions(crew):
    return _case(crew, S.IMPROVING)


def _guard_request_change(crew):
    return _case(crew, S.IMPROVING)


def _guard_inform_office(crew):
    case = _case(crew, S.CHANGE_REQUESTED)
    ChangeRequestFactory(case=case)
    return case


def _guard_plan_change_none(crew):
    case = _case(crew, S.OFFICE_INFORMED)
    ChangeRequestFactory(case=case, office_informed=True)
    return case


def _guard_plan_change_people(crew):
    case = _guard_plan_change_none(crew)
    ConversationFactory(case=case, change=True, invite=[Role.STUDENT, Role.SCHOOL_TRAINER])
    return case


def _change_planned(crew, invite=True, attended=True, **answers):
    case = _case(crew, S.CHANGE_CONVERSATION_PLANNED)
    conversation = ConversationFactory(case=case, change=True, invite=invite, **{**FIVE, **answers})
    if attended:
        conversation.invitations.update(attended=True)
    return case


def _guard_record_change_people(crew):
    return _change_planned(crew, invite=[Role.SCHOOL_TRAINER, Role.STUDY_COACH])


def _guard_record_change_attendance(crew):
    return _change_planned(crew, attended=False)


def _guard_record_change_answers(crew):
    return _change_planned(crew, school_offers="   ")


def _guard_place_wrap_up(crew):
    case = _case(crew, S.TRANSFER_REQUESTED)
    TransferFactory(case=case)
    return case


def _guard_place_transfer(crew):
    case = _case(crew, S.TRANSFER_REQUESTED)
    WrapUpFactory(case=case)
    TransferFactory(case=case, applied=True)  # an earlier, applied transfer does not count
    return case


def _guard_stop_wrap_up(crew):
    case = _case(crew, S.TRANSFER_REQUESTED)
    StopFactory(case=case)
    return case


def _guard_stop_recorded(crew):
    case = _case(crew, S.TRANSFER_REQUESTED)
    WrapUpFactory(case=case)
    return case


def _guard_handover_contact(crew):
    case = _case(crew, S.HANDOVER)
    HandoverFactory(case=case, old_coach=crew.old_study_coach)
    return case


GUARDS: list[tuple[str, str, Callable[[Crew], Case]]] = [
    ("plan_conversation", "has_planned_problem_conversation", _guard_plan_no_conversation),
    ("plan_conversation", "has_planned_problem_conversation", _guard_plan_cancelled),
    ("record_conversation", "problem_attendance_complete", _guard_record_attendance),
    ("record_conversation", "has_improvement_action", _guard_record_action),
    ("resolve", "all_actions_evaluated", _guard_resolve_unevaluated),
    ("resolve", "all_actions_evaluated", _guard_resolve_no_actions),
    ("request_change", "has_open_change_request", _guard_request_change),
    ("inform_office", "office_contact_recorded", _guard_inform_office),
    ("plan_change_conversation", "has_planned_change_conversation", _guard_plan_change_none),
    (
        "plan_change_conversation",
        "change_conversation_has_required_people",
        _guard_plan_change_people,
    ),
    (
        "record_change_conversation",
        "change_conversation_has_required_people",
        _guard_record_change_people,
    ),
    ("record_change_conversation", "change_attendance_complete", _guard_record_change_attendance),
    ("record_change_conversation", "five_answers_recorded", _guard_record_change_answers),
    ("place_student", "wrap_up_recorded", _guard_place_wrap_up),
    ("place_student", "new_placement_recorded", _guard_place_transfer),
    ("stop_internship", "wrap_up_recorded", _guard_stop_wrap_up),
    ("stop_internship", "stop_recorded", _guard_stop_recorded),
    ("confirm_handover", "handover_contact_recorded", _guard_handover_contact),
]


def test_every_guard_of_the_machine_is_tested():
    in_machine = {
        (t.name, c.__name__)
        for t in Case._meta.get_field("state").get_all_transitions(Case)
        for c in t.conditions
    }
    assert in_machine == {(name, guard) for name, guard, _arrange in GUARDS}


@pytest.mark.parametrize(
    ("name", "guard", "arrange_failing"),
    [pytest.param(*g, id=f"{g[0]}-{g[2].__name__[7:]}") for g in GUARDS],
)
def test_guard_refuses_with_its_message(crew, name, guard, arrange_failing):
    case = arrange_failing(crew)
    message = getattr(m, guard).message
    with translation.override("en"):
        with pytest.raises(GuardFailed) as refused:
            check_transition(case, name, crew.get(ANY_ALLOWED[name]))
        assert str(refused.value.message) == str(message)
        assert str(message)
    assert not transition_events(case).exists()


# Guards as the services meet them: the service refuses, nothing is written.


def test_record_conversation_without_attendance_of_everyone(crew):
    case = arrange("record_conversation", crew)
    conversation = case.conversations.get()
    first = conversation.invitations.first()
    with translation.override("en"), pytest.raises(GuardFailed) as refused:
        conversations.record_conversation(
            case_id=case.pk,
            by=crew.school_trainer,
            attendance={first.person_id: True},
            summary="s",
            actions=[conversations.ActionInput("x", crew.mentor.pk, dt.date.today())],
        )
    assert refused.value.message == m.problem_attendance_complete.message
    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.PLANNED
    assert not case.actions.exists()
    assert Case.objects.get(pk=case.pk).state == S.CONVERSATION_PLANNED


def test_record_conversation_without_actions(crew):
    case = arrange("record_conversation", crew)
    conversation = case.conversations.get()
    with pytest.raises(GuardFailed) as refused:
        conversations.record_conversation(
            case_id=case.pk,
            by=crew.school_trainer,
            attendance={i.person_id: True for i in conversation.invitations.all()},
            summary="s",
        )
    assert refused.value.message == m.has_improvement_action.message
    assert Case.objects.get(pk=case.pk).state == S.CONVERSATION_PLANNED
    assert conversation.invitations.filter(attended__isnull=True).count() == 4


@pytest.mark.parametrize("missing", sorted(FIVE))
def test_record_change_conversation_needs_all_five_answers(crew, missing):
    case = arrange("record_change_conversation", crew)
    conversation = case.conversations.get()
    with pytest.raises(GuardFailed) as refused:
        conversations.record_conversation(
            case_id=case.pk,
            by=crew.school_trainer,
            attendance={i.person_id: True for i in conversation.invitations.all()},
            summary="s",
            answers={**FIVE, missing: " "},
        )
    assert refused.value.message == m.five_answers_recorded.message
    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.PLANNED
    assert getattr(conversation, missing) == ""


def test_resolve_with_an_unevaluated_action(crew):
    case = arrange("resolve", crew)
    ImprovementActionFactory(case=case)
    with pytest.raises(GuardFailed) as refused:
        act("resolve", case, crew.school_trainer)
    assert refused.value.message == m.all_actions_evaluated.message


def test_place_student_without_wrap_up(crew):
    case = _case(crew, S.TRANSFER_REQUESTED)
    placements = m.Placement.objects.count()
    with pytest.raises(GuardFailed) as refused:
        act("place_student", case, crew.office)
    assert refused.value.message == m.wrap_up_recorded.message
    assert m.Placement.objects.count() == placements
    assert not case.transfers.exists()


def test_stop_without_wrap_up(crew):
    case = _case(crew, S.TRANSFER_REQUESTED)
    with pytest.raises(GuardFailed) as refused:
        act("stop_internship", case, crew.office)
    assert refused.value.message == m.wrap_up_recorded.message
    assert not case.stops.exists()  # the stop written before the guard was rolled back


def test_confirm_handover_without_contact_date(crew):
    case = arrange("confirm_handover", crew)
    with pytest.raises(GuardFailed) as refused:
        act("confirm_handover", case, crew.old_study_coach, contact_made_on=None)
    assert refused.value.message == m.handover_contact_recorded.message
    assert case.handovers.get().contact_made_on is None


def test_withdraw_needs_a_reason(crew):
    case = arrange("withdraw", crew)
    with translation.override("en"), pytest.raises(GuardFailed) as refused:
        act("withdraw", case, crew.office, reason="  ")
    assert str(refused.value.message) == "Give a reason for withdrawing the case."
    assert Case.objects.get(pk=case.pk).state == S.IMPROVING
    assert not transition_events(case).exists()


# --------------------------------------------------------------------------------------------
# The timeline: exactly one event per transition
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", TRANSITIONS)
def test_every_transition_writes_exactly_one_event(crew, name):
    case = arrange(name, crew)
    source = case.state
    actor = crew.get(ANY_ALLOWED[name])
    act(name, case, actor)
    (event,) = transition_events(case)
    assert event.name == name
    assert event.actor == actor
    assert event.from_state == source
    assert event.to_state == DEFAULT_TARGET[name]
    assert event.at is not None
    assert event.on_behalf_of is None


@pytest.mark.parametrize("name", ["inform_office", "report_outcome"])
def test_the_office_records_on_behalf_of_the_school_trainer(crew, name):
    case = arrange(name, crew)
    act(name, case, crew.office)
    (event,) = transition_events(case)
    assert event.actor == crew.office
    assert event.on_behalf_of == crew.school_trainer


def test_the_note_is_on_the_event(crew):
    case = arrange("withdraw", crew)
    act("withdraw", case, crew.office, reason="  Dubbel gemeld.  ")
    (event,) = transition_events(case)
    assert event.note == "Dubbel gemeld."


def test_a_full_path_leaves_a_complete_timeline(crew):
    case = arrange("plan_conversation", crew)
    path = [
        ("plan_conversation", "school_trainer"),
        ("record_conversation", "mentor"),
        ("request_change", "student"),
        ("inform_office", "school_trainer"),
        ("plan_change_conversation", "study_coach"),
        ("record_change_conversation", "school_trainer"),
        ("report_outcome", "school_trainer"),
    ]
    for name, role in path:
        act(name, Case.objects.get(pk=case.pk), crew.get(role))
    case.refresh_from_db()
    assert case.state == S.TRANSFER_REQUESTED
    events = list(transition_events(case).values_list("name", "from_state", "to_state"))
    assert [e[0] for e in events] == [name for name, _role in path]
    for earlier, later in zip(events, events[1:], strict=False):
        assert earlier[2] == later[1]
    assert case.version == 1 + len(path)


# --------------------------------------------------------------------------------------------
# Translated refusals
# --------------------------------------------------------------------------------------------


def test_refusals_are_english_under_en(crew):
    case = arrange("give_advice", crew)
    with translation.override("en"):
        with pytest.raises(NotPermitted) as refused:
            act("give_advice", case, crew.school_trainer)
        assert str(refused.value.message) == (
            "Only the ISOP process owner may do this: “Give advice”."
        )
        with pytest.raises(GuardFailed) as wrong_state:
            act("resolve", case, crew.school_trainer)
        assert str(wrong_state.value.message) == (
            "“Close as resolved” is not possible while the case is “awaiting ISOP advice”."
        )


def test_a_refusal_names_all_allowed_roles_in_one_sentence(crew):
    case = arrange("resolve", crew)
    with translation.override("en"), pytest.raises(NotPermitted) as refused:
        act("resolve", case, crew.student)
    assert str(refused.value.message) == (
        "Only the school trainer, study coach or internship office may do this: "
        "“Close as resolved”."
    )
