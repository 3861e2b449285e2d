"""Planning and recording conversations and the improvement actions, through the services."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone, translation

from cases.models import Case, GuardFailed, NotPermitted, Role, State
from cases.services import resolve
from conversations import services
from conversations.models import Conversation, ImprovementAction, StudentNote
from tests.cases.factories import CaseFactory, UserFactory
from tests.conversations.factories import ConversationFactory, ImprovementActionFactory
from tests.journeys import FIVE, arrange


@pytest.fixture(autouse=True)
def _english_messages():
    """These tests read refusal messages as English msgids (the Dutch catalogue is tested in
    tests/test_translations.py); lazy messages are rendered after the override ends, too."""
    with translation.override("en"):
        yield


pytestmark = pytest.mark.django_db

SOON = timezone.now() + dt.timedelta(days=3)
TODAY = timezone.localdate()


def _plan(case, by, **kw):
    return services.plan_conversation(
        case_id=case.pk, by=by, starts_at=SOON, location=kw.pop("location", "Lokaal 3"), **kw
    )


class TestPlan:
    def test_the_problem_conversation_invites_the_four(self, crew):
        case = arrange("plan_conversation", crew)
        conversation = _plan(case, crew.mentor)
        assert conversation.kind == Conversation.Kind.PROBLEM
        assert conversation.planned_by == crew.mentor
        invited = dict(conversation.invitations.values_list("person", "role"))
        assert invited == {
            crew.student.pk: Role.STUDENT,
            crew.mentor.pk: Role.MENTOR,
            crew.school_trainer.pk: Role.SCHOOL_TRAINER,
            crew.study_coach.pk: Role.STUDY_COACH,
        }
        assert Case.objects.get(pk=case.pk).state == State.CONVERSATION_PLANNED

    @pytest.mark.parametrize("with_coordinating_trainer", [False, True])
    def test_the_change_conversation_invites_the_required_people(
        self, crew, with_coordinating_trainer
    ):
        case = arrange("plan_change_conversation", crew)
        conversation = _plan(case, crew.office, with_coordinating_trainer=with_coordinating_trainer)
        assert conversation.kind == Conversation.Kind.CHANGE
        roles = set(conversation.invitations.values_list("role", flat=True))
        expected = {Role.STUDENT, Role.SCHOOL_TRAINER, Role.STUDY_COACH}
        if with_coordinating_trainer:
            expected.add(Role.COORDINATING_TRAINER)
        assert roles == expected
        assert Case.objects.get(pk=case.pk).state == State.CHANGE_CONVERSATION_PLANNED

    def test_one_person_in_two_roles_is_invited_once(self, crew):
        crew.placement.study_coach = crew.school_trainer
        crew.placement.save()
        case = arrange("plan_conversation", crew)
        conversation = _plan(case, crew.school_trainer)
        assert conversation.invitations.count() == 3

    def test_a_place_is_needed(self, crew):
        case = arrange("plan_conversation", crew)
        with translation.override("en"), pytest.raises(GuardFailed) as refused:
            _plan(case, crew.school_trainer, location="  ")
        assert str(refused.value.message) == "Give a place or an online link."
        assert not Conversation.objects.exists()

    def test_refused_roles_write_nothing(self, crew):
        case = arrange("plan_conversation", crew)
        with pytest.raises(NotPermitted):
            _plan(case, crew.student)
        assert not Conversation.objects.exists()


class TestRecord:
    def test_attendance_summary_and_actions_are_recorded(self, crew):
        case = arrange("record_conversation", crew)
        conversation = case.conversations.get()
        attendance = {i.person_id: True for i in conversation.invitations.all()}
        attendance[crew.mentor.pk] = False
        services.record_conversation(
            case_id=case.pk,
            by=crew.study_coach,
            attendance=attendance,
            summary="  Afspraken gemaakt.  ",
            actions=[services.ActionInput(" Feedback ", crew.student.pk, TODAY)],
        )
        conversation.refresh_from_db()
        assert conversation.status == Conversation.Status.HELD
        assert conversation.summary == "Afspraken gemaakt."
        assert conversation.recorded_by == crew.study_coach
        assert conversation.held_at is not None
        assert dict(conversation.invitations.values_list("person", "attended")) == attendance
        (action,) = case.actions.all()
        assert (action.description, action.owner, action.conversation) == (
            "Feedback",
            crew.student,
            conversation,
        )
        assert StudentNote.objects.filter(conversation=conversation).exists()
        assert list(services.invitations_needing_briefing(case)) == [
            conversation.invitations.get(person=crew.mentor)
        ]

    def test_an_action_owner_must_be_on_the_case(self, crew):
        case = arrange("record_conversation", crew)
        conversation = case.conversations.get()
        with pytest.raises(GuardFailed):
            services.record_conversation(
                case_id=case.pk,
                by=crew.school_trainer,
                attendance={i.person_id: True for i in conversation.invitations.all()},
                summary="s",
                actions=[services.ActionInput("x", crew.unrelated.pk, TODAY)],
            )
        conversation.refresh_from_db()
        assert conversation.status == Conversation.Status.PLANNED
        assert not ImprovementAction.objects.exists()

    def test_a_cancelled_conversation_cannot_be_recorded(self, crew):
        case = CaseFactory(placement=crew.placement, conversation_planned=True)
        ConversationFactory(case=case, cancelled=True, invite=True)
        with translation.override("en"), pytest.raises(GuardFailed) as refused:
            services.record_conversation(
                case_id=case.pk, by=crew.school_trainer, attendance={}, summary="s"
            )
        assert "Plan the conversation first" in str(refused.value.message)

    def test_the_change_conversation_is_the_one_recorded(self, crew):
        case = arrange("record_change_conversation", crew)
        # A stray planned problem conversation must not be taken for the change conversation.
        stray = ConversationFactory(case=case, invite=True)
        change = case.conversations.get(kind="change")
        services.record_conversation(
            case_id=case.pk,
            by=crew.school_trainer,
            attendance={i.person_id: True for i in change.invitations.all()},
            summary="s",
            answers=FIVE,
        )
        change.refresh_from_db()
        stray.refresh_from_db()
        assert change.status == Conversation.Status.HELD
        assert stray.status == Conversation.Status.PLANNED
        assert {f: getattr(change, f) for f in FIVE} == FIVE

    def test_only_the_five_answers_are_written(self, crew):
        case = arrange("record_change_conversation", crew)
        change = case.conversations.get()
        services.record_conversation(
            case_id=case.pk,
            by=crew.school_trainer,
            attendance={i.person_id: True for i in change.invitations.all()},
            summary="s",
            answers={**FIVE, "status": "planned", "planned_by_id": crew.unrelated.pk},
        )
        change.refresh_from_db()
        assert change.status == Conversation.Status.HELD
        assert change.planned_by == crew.school_trainer


class TestActions:
    @pytest.mark.parametrize("role", ["mentor", "school_trainer", "study_coach", "office"])
    def test_they_are_added_by_the_people_who_run_the_case(self, crew, role):
        case = CaseFactory(placement=crew.placement, improving=True)
        action = services.action_add(
            case_id=case.pk,
            by=crew.get(role),
            description=" Extra les ",
            owner_id=crew.student.pk,
            due_date=TODAY,
        )
        assert action.description == "Extra les"
        assert case.events.get().name == "action_added"
        assert Case.objects.get(pk=case.pk).state == State.IMPROVING

    @pytest.mark.parametrize("role", ["student", "coordinating_trainer", "isop_owner", "unrelated"])
    def test_others_may_not_add_them(self, crew, role):
        case = CaseFactory(placement=crew.placement, improving=True)
        with pytest.raises(NotPermitted):
            services.action_add(
                case_id=case.pk,
                by=crew.get(role),
                description="x",
                owner_id=crew.student.pk,
                due_date=TODAY,
            )

    @pytest.mark.parametrize(
        "state", [s for s in State if s not in ("conversation_planned", "improving")]
    )
    def test_only_while_improving(self, crew, state):
        case = CaseFactory(placement=crew.placement, state=state)
        with pytest.raises(GuardFailed):
            services.action_add(
                case_id=case.pk,
                by=crew.office,
                description="x",
                owner_id=crew.student.pk,
                due_date=TODAY,
            )

    def test_the_owner_evaluates_their_own_action(self, crew):
        action = ImprovementActionFactory(
            case=CaseFactory(placement=crew.placement, improving=True), owner=crew.student
        )
        services.action_evaluate(action_id=action.pk, by=crew.student, evaluation="partly")
        action.refresh_from_db()
        assert (action.evaluation, action.status) == ("partly", ImprovementAction.Status.DONE)

    def test_someone_else_may_not_evaluate(self, crew):
        action = ImprovementActionFactory(
            case=CaseFactory(placement=crew.placement, improving=True), owner=crew.mentor
        )
        with pytest.raises(NotPermitted):
            services.action_evaluate(action_id=action.pk, by=crew.student, evaluation="helped")
        with pytest.raises(NotPermitted):
            services.action_evaluate(action_id=action.pk, by=UserFactory(), evaluation="helped")

    def test_an_evaluation_must_be_one_of_the_choices(self, crew):
        action = ImprovementActionFactory(
            case=CaseFactory(placement=crew.placement, improving=True)
        )
        with pytest.raises(GuardFailed):
            services.action_evaluate(action_id=action.pk, by=crew.office, evaluation="great")

    def test_evaluating_every_action_unblocks_resolve(self, crew):
        case = CaseFactory(placement=crew.placement, improving=True)
        actions = ImprovementActionFactory.create_batch(2, case=case)
        for action in actions:
            services.action_evaluate(
                action_id=action.pk, by=crew.school_trainer, evaluation="helped"
            )
        resolve(case_id=case.pk, by=crew.school_trainer)
        assert Case.objects.get(pk=case.pk).state == State.CLOSED_RESOLVED
