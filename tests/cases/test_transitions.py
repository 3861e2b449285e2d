"""Taking the case's transitions: each guard refuses with its own message (in the machine and
as the services meet it), each transition writes exactly one timeline event, and refusals are
worded for people.

Arrange with factories (a Trait per state plus the records the guards read); act through the
services of cases, conversations and transfers, as the views do (tests/journeys.py). The
machine as a table (graph, declarations, permissions, wrong states) is in
tests/cases/test_machine.py.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.utils import timezone, translation

from cases import models as m
from cases.models import Case, GuardFailed, NotPermitted, Role, State
from cases.services import check_transition
from conversations import services as conversations
from conversations.models import Conversation
from tests.cases.factories import PlacementFactory
from tests.conversations.factories import ConversationFactory, ImprovementActionFactory
from tests.journeys import (
    ANY_ALLOWED,
    DEFAULT_TARGET,
    FIVE,
    TRANSITIONS,
    Crew,
    act,
    arrange,
    case_in,
    just_now,
    soon,
    transition_events,
)
from tests.transfers.factories import (
    ChangeRequestFactory,
    HandoverFactory,
    StopFactory,
    TransferFactory,
    WrapUpFactory,
)


@pytest.fixture(autouse=True)
def _english_messages():
    """These tests read refusal messages as English msgids (the Dutch catalogue is tested in
    tests/test_translations.py); lazy messages are rendered after the override ends, too."""
    with translation.override("en"):
        yield


pytestmark = pytest.mark.django_db

S = State


# --------------------------------------------------------------------------------------------
# Guards: each one refuses with its own message
# --------------------------------------------------------------------------------------------


def _planned_problem(case, **kw):
    return ConversationFactory(case=case, invite=True, **{"starts_at": just_now(), **kw})


def _guard_plan_no_conversation(crew):
    return case_in(crew, S.SIGNALLED)


def _guard_plan_cancelled(crew):
    case = case_in(crew, S.SIGNALLED)
    _planned_problem(case, cancelled=True)
    return case


def _guard_record_not_yet_held(crew):
    case = case_in(crew, S.CONVERSATION_PLANNED)
    _planned_problem(case, starts_at=soon())
    return case


def _guard_record_attendance(crew):
    case = case_in(crew, S.CONVERSATION_PLANNED)
    _planned_problem(case)  # invited, attendance still empty
    ImprovementActionFactory(case=case)
    return case


def _guard_record_action(crew):
    case = case_in(crew, S.CONVERSATION_PLANNED)
    conversation = _planned_problem(case)
    conversation.invitations.update(attended=True)
    return case


def _guard_resolve_unevaluated(crew):
    case = case_in(crew, S.IMPROVING)
    ImprovementActionFactory(case=case, evaluated=True)
    ImprovementActionFactory(case=case)
    return case


def _guard_resolve_no_actions(crew):
    return case_in(crew, S.IMPROVING)


def _guard_request_change(crew):
    return case_in(crew, S.IMPROVING)


def _guard_inform_office(crew):
    case = case_in(crew, S.CHANGE_REQUESTED)
    ChangeRequestFactory(case=case)
    return case


def _guard_plan_change_none(crew):
    case = case_in(crew, S.OFFICE_INFORMED)
    ChangeRequestFactory(case=case, office_informed=True)
    return case


def _guard_plan_change_people(crew):
    case = _guard_plan_change_none(crew)
    ConversationFactory(case=case, change=True, invite=[Role.STUDENT, Role.SCHOOL_TRAINER])
    return case


def _change_planned(crew, invite=True, attended=True, **answers):
    case = case_in(crew, S.CHANGE_CONVERSATION_PLANNED)
    conversation = ConversationFactory(
        case=case, change=True, invite=invite, **{"starts_at": just_now(), **FIVE, **answers}
    )
    if attended:
        conversation.invitations.update(attended=True)
    return case


def _guard_record_change_not_yet_held(crew):
    return _change_planned(crew, starts_at=soon())


def _guard_record_change_people(crew):
    return _change_planned(crew, invite=[Role.SCHOOL_TRAINER, Role.STUDY_COACH])


def _guard_record_change_attendance(crew):
    return _change_planned(crew, attended=False)


def _guard_record_change_answers(crew):
    return _change_planned(crew, school_offers="   ")


def _guard_place_wrap_up(crew):
    case = case_in(crew, S.TRANSFER_REQUESTED)
    TransferFactory(case=case)
    return case


def _guard_place_wrap_up_not_agreed(crew):
    case = case_in(crew, S.TRANSFER_REQUESTED)
    WrapUpFactory(case=case)  # recorded by the school trainer, the student has not agreed
    TransferFactory(case=case)
    return case


def _guard_place_transfer(crew):
    case = case_in(crew, S.TRANSFER_REQUESTED)
    WrapUpFactory(case=case, agreed=True)
    TransferFactory(case=case, applied=True)  # an earlier, applied transfer does not count
    return case


def _guard_stop_wrap_up(crew):
    case = case_in(crew, S.TRANSFER_REQUESTED)
    StopFactory(case=case)
    return case


def _guard_stop_recorded(crew):
    case = case_in(crew, S.TRANSFER_REQUESTED)
    WrapUpFactory(case=case, agreed=True)
    return case


def _guard_stop_now_recorded(crew):
    return case_in(crew, S.IMPROVING)


def _guard_reopen_moved_on(crew):
    case = case_in(crew, S.CLOSED_TRANSFERRED)
    Case.objects.filter(pk=case.pk).update(new_placement=PlacementFactory())
    return Case.objects.get(pk=case.pk)


def _guard_reopen_placement_ended(crew):
    case = case_in(crew, S.CLOSED_STOPPED)
    crew.placement.status = m.Placement.Status.ENDED
    crew.placement.save()
    return case


def _guard_reopen_other_case(crew):
    case = case_in(crew, S.CLOSED_RESOLVED)
    case_in(crew, S.SIGNALLED)
    return case


def _guard_handover_contact(crew):
    case = case_in(crew, S.HANDOVER)
    HandoverFactory(case=case, old_coach=crew.old_study_coach)
    return case


GUARDS: list[tuple[str, str, Callable[[Crew], Case]]] = [
    ("plan_conversation", "has_planned_problem_conversation", _guard_plan_no_conversation),
    ("plan_conversation", "has_planned_problem_conversation", _guard_plan_cancelled),
    (
        "record_conversation",
        "problem_conversation_has_taken_place",
        _guard_record_not_yet_held,
    ),
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
        "change_conversation_has_taken_place",
        _guard_record_change_not_yet_held,
    ),
    (
        "record_change_conversation",
        "change_conversation_has_required_people",
        _guard_record_change_people,
    ),
    ("record_change_conversation", "change_attendance_complete", _guard_record_change_attendance),
    ("record_change_conversation", "five_answers_recorded", _guard_record_change_answers),
    ("place_student", "wrap_up_agreed", _guard_place_wrap_up),
    ("place_student", "wrap_up_agreed", _guard_place_wrap_up_not_agreed),
    ("place_student", "new_placement_recorded", _guard_place_transfer),
    ("stop_internship", "wrap_up_agreed", _guard_stop_wrap_up),
    ("stop_internship", "stop_recorded", _guard_stop_recorded),
    ("stop_now", "stop_recorded", _guard_stop_now_recorded),
    ("reopen", "placement_still_current", _guard_reopen_moved_on),
    ("reopen", "placement_still_current", _guard_reopen_placement_ended),
    ("reopen", "no_other_open_case", _guard_reopen_other_case),
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
            actions=[conversations.ActionInput("x", crew.mentor.pk, timezone.localdate())],
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
    case = case_in(crew, S.TRANSFER_REQUESTED)
    placements = m.Placement.objects.count()
    with pytest.raises(GuardFailed) as refused:
        act("place_student", case, crew.office)
    assert refused.value.message == m.wrap_up_agreed.message
    assert m.Placement.objects.count() == placements
    assert not case.transfers.exists()


def test_stop_without_wrap_up(crew):
    case = case_in(crew, S.TRANSFER_REQUESTED)
    with pytest.raises(GuardFailed) as refused:
        act("stop_internship", case, crew.office)
    assert refused.value.message == m.wrap_up_agreed.message
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
            "Only the ISOP process owner or internship office may do this: “Give advice”."
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


# --------------------------------------------------------------------------------------------
# Acting on someone's behalf (issue #12): marked on the timeline
# --------------------------------------------------------------------------------------------


def test_the_office_gives_advice_on_behalf_of_the_isop_owner(crew):
    case = arrange("give_advice", crew)
    act("give_advice", case, crew.office)
    (event,) = transition_events(case)
    assert event.actor == crew.office
    assert event.on_behalf_of == crew.isop_owner
    advice = case.isop_requests.get()
    assert advice.given_on_behalf and advice.given_by == crew.office


def test_the_office_records_the_handover_on_behalf_of_the_old_coach(crew):
    case = arrange("confirm_handover", crew)
    act("confirm_handover", case, crew.office)
    (event,) = transition_events(case)
    assert event.on_behalf_of == crew.old_study_coach
    assert Case.objects.get(pk=case.pk).state == S.CLOSED_TRANSFERRED


def test_a_conversation_is_not_recorded_before_it_starts(crew):
    case = case_in(crew, S.CONVERSATION_PLANNED)
    conversation = _planned_problem(case, starts_at=soon())
    with pytest.raises(GuardFailed) as refused:
        conversations.record_conversation(
            case_id=case.pk,
            by=crew.school_trainer,
            attendance={i.person_id: True for i in conversation.invitations.all()},
            summary="s",
            actions=[conversations.ActionInput("x", crew.mentor.pk, timezone.localdate())],
        )
    assert "record it once it has taken place" in str(refused.value.message)
    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.PLANNED
    assert Case.objects.get(pk=case.pk).state == S.CONVERSATION_PLANNED
