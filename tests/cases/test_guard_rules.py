"""The case's guards (the transitions' conditions) and permissions (who may take a step), each
from its rule in process.md and asked directly: just before and just after the condition holds.
test_machine.py walks every transition; these are quick enough to run against every mutant."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from cases import models as m
from cases.models import Case, Placement, Role, State
from conversations.models import Conversation
from tests.cases.factories import CaseFactory, PlacementFactory, UserFactory
from tests.conversations.factories import (
    ConversationFactory,
    ImprovementActionFactory,
    InvitationFactory,
)
from tests.transfers.factories import (
    ChangeRequestFactory,
    HandoverFactory,
    StopFactory,
    TransferFactory,
    WrapUpFactory,
)

pytestmark = pytest.mark.django_db
CHANGE = Conversation.Kind.CHANGE


@pytest.fixture
def case():
    return CaseFactory(placement__coordinating_trainer=UserFactory())


class TestEveryGuardSaysWhy:
    def test_every_condition_of_every_transition_has_a_refusal_message(self):
        for name in m.transition_names():
            for transition in m.transition_meta(name).transitions.values():
                for condition in transition.conditions:
                    assert str(condition.message), (name, condition.__name__)

    def test_the_guards_a_step_cannot_fill_in_itself(self):
        """Most guards check what the step's own form records; these check the case before."""
        guards = {
            condition
            for name in m.transition_names()
            for transition in m.transition_meta(name).transitions.values()
            for condition in transition.conditions
        }
        not_filled = {g.__name__ for g in guards if not g.filled_by_step}
        assert not_filled == {
            "all_actions_evaluated",
            "wrap_up_agreed",
            "placement_still_current",
            "no_other_open_case",
        }


class TestTheProblemConversation:
    def test_planned_when_the_latest_uncancelled_one_is_planned(self, case):
        assert not m.has_planned_problem_conversation(case)
        ConversationFactory(case=case, kind=CHANGE)
        assert not m.has_planned_problem_conversation(case)
        planned = ConversationFactory(case=case)
        assert m.has_planned_problem_conversation(case)
        ConversationFactory(case=case, cancelled=True)  # a later cancelled one is ignored
        assert m.has_planned_problem_conversation(case)
        Conversation.objects.filter(pk=planned.pk).update(status="held")
        assert not m.has_planned_problem_conversation(case)

    def test_attendance_is_complete_when_everyone_invited_is_marked(self, case):
        assert not m.problem_attendance_complete(case)
        conv = ConversationFactory(case=case)
        assert m.problem_attendance_complete(case)  # nobody invited: nothing to mark
        InvitationFactory(conversation=conv, absent=True)
        assert m.problem_attendance_complete(case)
        open_one = InvitationFactory(conversation=conv)
        assert not m.problem_attendance_complete(case)
        open_one.attended = True
        open_one.save()
        assert m.problem_attendance_complete(case)

    def test_it_has_taken_place_from_its_starting_time_on(self, case):
        assert not m.problem_conversation_has_taken_place(case)
        moment = timezone.now() + dt.timedelta(days=3)
        ConversationFactory(case=case, starts_at=moment)
        with time_machine.travel(moment - dt.timedelta(seconds=1), tick=False):
            assert not m.problem_conversation_has_taken_place(case)
        with time_machine.travel(moment, tick=False):
            assert m.problem_conversation_has_taken_place(case)


class TestTheImprovementActions:
    def test_at_least_one_action(self, case):
        assert not m.has_improvement_action(case)
        ImprovementActionFactory(case=case)
        assert m.has_improvement_action(case)

    def test_resolved_only_when_every_action_is_evaluated(self, case):
        assert not m.all_actions_evaluated(case)  # no actions: nothing was evaluated
        ImprovementActionFactory(case=case, evaluated=True)
        assert m.all_actions_evaluated(case)
        ImprovementActionFactory(case=case)
        case = Case.objects.get(pk=case.pk)
        assert not m.all_actions_evaluated(case)


class TestTheChangeRequest:
    def test_an_open_change_request_is_one_the_office_was_not_yet_told_of(self, case):
        assert not m.has_open_change_request(case)
        ChangeRequestFactory(case=case, office_informed=True)
        assert not m.has_open_change_request(case)
        ChangeRequestFactory(case=case)
        assert m.has_open_change_request(case)

    def test_the_office_contact_is_that_of_the_latest_request(self, case):
        assert not m.office_contact_recorded(case)
        ChangeRequestFactory(case=case, office_informed=True)
        assert m.office_contact_recorded(case)
        ChangeRequestFactory(case=case)
        assert not m.office_contact_recorded(case)


class TestTheAllPartyConversation:
    def test_planned_when_the_latest_uncancelled_one_is_planned(self, case):
        assert not m.has_planned_change_conversation(case)
        ConversationFactory(case=case)  # a problem conversation is not the all-party one
        assert not m.has_planned_change_conversation(case)
        ConversationFactory(case=case, kind=CHANGE)
        assert m.has_planned_change_conversation(case)
        ConversationFactory(case=case, kind=CHANGE, held=True)
        assert not m.has_planned_change_conversation(case)

    def test_the_student_the_school_trainer_and_the_study_coach_must_be_invited(self, case):
        assert not m.change_conversation_has_required_people(case)
        conv = ConversationFactory(case=case, kind=CHANGE, invite=[Role.STUDENT, Role.MENTOR])
        assert not m.change_conversation_has_required_people(case)
        InvitationFactory(
            conversation=conv, person=case.placement.school_trainer, role=Role.SCHOOL_TRAINER
        )
        assert not m.change_conversation_has_required_people(case)
        InvitationFactory(
            conversation=conv, person=case.placement.study_coach, role=Role.STUDY_COACH
        )
        assert m.change_conversation_has_required_people(case)

    def test_the_three_of_them_are_enough_without_anyone_else(self, case):
        ConversationFactory(
            case=case, kind=CHANGE, invite=[Role.STUDENT, Role.SCHOOL_TRAINER, Role.STUDY_COACH]
        )
        assert m.change_conversation_has_required_people(case)

    def test_attendance_is_complete_when_everyone_invited_is_marked(self, case):
        assert not m.change_attendance_complete(case)
        conv = ConversationFactory(case=case, kind=CHANGE)
        assert m.change_attendance_complete(case)
        InvitationFactory(conversation=conv)
        assert not m.change_attendance_complete(case)

    def test_all_five_answers_must_be_recorded(self, case):
        assert not m.five_answers_recorded(case)
        conv = ConversationFactory(case=case, kind=CHANGE, answered=True)
        assert m.five_answers_recorded(case)
        for field in m.FIVE_ANSWERS:
            original = getattr(conv, field)
            Conversation.objects.filter(pk=conv.pk).update(**{field: "   "})
            assert not m.five_answers_recorded(case), field
            Conversation.objects.filter(pk=conv.pk).update(**{field: original})
        assert m.five_answers_recorded(case)

    def test_it_has_taken_place_from_its_starting_time_on(self, case):
        assert not m.change_conversation_has_taken_place(case)
        moment = timezone.now() + dt.timedelta(days=3)
        ConversationFactory(case=case, kind=CHANGE, starts_at=moment)
        with time_machine.travel(moment - dt.timedelta(seconds=1), tick=False):
            assert not m.change_conversation_has_taken_place(case)
        with time_machine.travel(moment, tick=False):
            assert m.change_conversation_has_taken_place(case)

    def test_held_with_everyone_only_when_all_three_parties_attended(self, case):
        assert not m.all_parties_attended(case)
        conv = ConversationFactory(case=case, kind=CHANGE, held=True, invite=True)
        assert m.all_parties_attended(case)
        conv.invitations.filter(role=Role.STUDY_COACH).update(attended=False)
        assert not m.all_parties_attended(case)


class TestTheWrapUpAndTheChange:
    def test_the_latest_wrap_up_must_be_agreed(self):
        case = CaseFactory(transfer_requested=True)
        assert not m.wrap_up_agreed(case)
        WrapUpFactory(case=case)
        assert not m.wrap_up_agreed(Case.objects.get(pk=case.pk))
        WrapUpFactory(case=case, agreed=True)
        assert m.wrap_up_agreed(Case.objects.get(pk=case.pk))
        WrapUpFactory(case=case)  # recorded again: the new one is not agreed yet
        assert not m.wrap_up_agreed(Case.objects.get(pk=case.pk))

    def test_a_new_placement_is_recorded_until_it_is_applied(self):
        case = CaseFactory(transfer_requested=True)
        assert not m.new_placement_recorded(case)
        TransferFactory(case=case, applied=True)
        assert not m.new_placement_recorded(case)
        TransferFactory(case=case)
        assert m.new_placement_recorded(case)

    def test_a_stop_is_recorded_until_it_is_resumed(self):
        case = CaseFactory(transfer_requested=True)
        assert not m.stop_recorded(case)
        StopFactory(case=case, resumed_at=timezone.now())
        assert not m.stop_recorded(case)
        StopFactory(case=case)
        assert m.stop_recorded(case)


class TestReopening:
    @pytest.mark.parametrize(
        ("status", "current"),
        [
            (Placement.Status.ACTIVE, True),
            (Placement.Status.PAUSED, True),
            (Placement.Status.ENDED, False),
            (Placement.Status.TRANSFERRED, False),
        ],
    )
    def test_only_on_the_placement_the_student_is_still_on(self, status, current):
        case = CaseFactory(placement__status=status, state=State.CLOSED_RESOLVED)
        assert m.placement_still_current(case) is current

    def test_not_after_the_student_moved_to_a_new_placement(self):
        case = CaseFactory(state=State.CLOSED_TRANSFERRED)
        case.new_placement = PlacementFactory(student=case.placement.student)
        assert not m.placement_still_current(case)

    def test_not_while_another_case_on_the_placement_is_open(self):
        case = CaseFactory(state=State.CLOSED_RESOLVED)
        assert m.no_other_open_case(case)
        CaseFactory(placement=case.placement, state=State.CLOSED_WITHDRAWN)
        assert m.no_other_open_case(case)
        CaseFactory(placement=PlacementFactory())  # another placement's case is no matter
        assert m.no_other_open_case(case)
        CaseFactory(placement=case.placement, state=State.IMPROVING)
        assert not m.no_other_open_case(case)


class TestTheHandover:
    def test_the_contact_with_a_known_new_coach_must_be_recorded(self):
        assert not m.handover_contact_recorded(CaseFactory(handover=True))
        handover = HandoverFactory()
        assert not m.handover_contact_recorded(Case.objects.get(pk=handover.case.pk))
        handover.contact_made_on = timezone.localdate()
        handover.save()
        assert m.handover_contact_recorded(Case.objects.get(pk=handover.case.pk))
        # The new coach not (yet) known (the database keeps one; the rule does not rely on it).
        case = Case.objects.prefetch_related("handovers").get(pk=handover.case.pk)
        case.handovers.all()[0].new_coach_id = None
        assert not m.handover_contact_recorded(case)

    def test_the_previous_coach_confirms_or_the_office_on_their_behalf(self):
        handover = HandoverFactory()
        case = Case.objects.get(pk=handover.case.pk)
        assert m.is_old_coach(case, handover.old_coach)
        assert m.may_confirm_handover(case, handover.old_coach)
        assert m.may_confirm_handover(case, UserFactory(office=True))
        for person in (handover.new_coach, case.placement.student, UserFactory()):
            assert not m.is_old_coach(case, person)
            assert not m.may_confirm_handover(case, person)
        assert not m.is_old_coach(case, AnonymousUser())
        assert "old_study_coach" in case.roles_of(handover.old_coach)

    def test_nobody_is_the_previous_coach_once_the_handover_is_confirmed(self):
        handover = HandoverFactory(confirmed=True)
        case = Case.objects.get(pk=handover.case.pk)
        assert not m.is_old_coach(case, handover.old_coach)
        assert "old_study_coach" not in case.roles_of(handover.old_coach)

    def test_the_previous_coach_role_holds_in_the_handover_state_only(self):
        handover = HandoverFactory()
        Case.objects.filter(pk=handover.case.pk).update(state=State.CLOSED_TRANSFERRED)
        case = Case.objects.get(pk=handover.case.pk)
        assert "old_study_coach" not in case.roles_of(handover.old_coach)


class TestWhoMay:
    def test_a_role_permission_asks_the_roles_on_the_case(self, case):
        may = m.roles_may(Role.MENTOR, Role.STUDY_COACH, refusal="no")
        assert may.roles == (Role.MENTOR, Role.STUDY_COACH)
        assert may.refusal == "no"
        assert m.roles_may(Role.MENTOR).refusal is None
        assert may(case, case.placement.mentor) is True
        assert may(case, case.placement.study_coach) is True
        assert may(case, case.placement.student) is False
        assert may(case, AnonymousUser()) is False

    @pytest.mark.parametrize("state", m.EARLY_STATES)
    def test_withdraw_early(self, state):
        outsider_signaller = UserFactory()
        case = CaseFactory(state=state, signalled_by=outsider_signaller)
        assert m.may_withdraw(case, case.placement.school_trainer)
        assert m.may_withdraw(case, UserFactory(office=True))
        assert m.may_withdraw(case, outsider_signaller)
        assert not m.may_withdraw(case, case.placement.mentor)
        assert not m.may_withdraw(case, case.placement.student)

    def test_on_the_change_path_the_signaller_no_longer_withdraws(self):
        case = CaseFactory(change_requested=True)
        case.signalled_by = case.placement.mentor
        assert not m.may_withdraw(case, case.placement.mentor)
        assert m.may_withdraw(case, case.placement.school_trainer)
        assert m.may_withdraw(case, UserFactory(office=True))

    def test_drop_the_change_while_it_is_new(self):
        case = CaseFactory(change_requested=True)
        for person in (
            case.placement.school_trainer,
            UserFactory(office=True),
            case.placement.student,
            case.placement.study_coach,
        ):
            assert m.may_abandon_change(case, person)
        assert not m.may_abandon_change(case, case.placement.mentor)
        assert not m.may_abandon_change(case, UserFactory())

    def test_drop_the_change_once_the_office_knows(self):
        case = CaseFactory(office_informed=True)
        assert m.may_abandon_change(case, case.placement.school_trainer)
        assert m.may_abandon_change(case, UserFactory(office=True))
        assert not m.may_abandon_change(case, case.placement.student)
        assert not m.may_abandon_change(case, case.placement.study_coach)


class TestRolesOnTheCase:
    def test_the_roles_of_each_person(self, case):
        p = case.placement
        assert case.roles_of(p.student) == {Role.STUDENT, "signaller"}
        assert case.roles_of(p.mentor) == {Role.MENTOR}
        assert case.roles_of(p.coordinating_trainer) == {Role.COORDINATING_TRAINER}
        assert case.roles_of(UserFactory(office=True)) == {Role.OFFICE}
        assert case.roles_of(UserFactory()) == set()
        assert case.roles_of(AnonymousUser()) == set()
        assert case.roles_of(None) == set()  # nobody at all (no request user)

    def test_no_empty_role_is_matched_by_someone_without_an_id(self):
        case = CaseFactory(placement__coordinating_trainer=None)
        nobody = m.User(username="unsaved")
        assert case.roles_of(nobody) == set()

    def test_after_a_move_the_student_and_the_new_coach_are_on_the_case(self, case):
        old = case.placement
        new = PlacementFactory(student=old.student)
        case.new_placement = new
        assert case.person_id(Role.STUDENT) == old.student_id
        assert case.person_id(Role.STUDY_COACH) == new.study_coach_id
        assert case.person_id(Role.MENTOR) is None
        assert case.person_id(Role.SCHOOL_TRAINER) is None
        assert case.person_id("signaller") is None
        assert case.roles_of(old.mentor) == set()
        assert case.roles_of(new.study_coach) == {Role.STUDY_COACH}
        assert case.roles_of(old.study_coach) == set()

    def test_before_a_move_the_placements_people_are_on_the_case(self, case):
        p = case.placement
        assert case.person_id(Role.MENTOR) == p.mentor_id
        assert case.person_id(Role.STUDY_COACH) == p.study_coach_id
        assert case.person_id("isop_owner") is None
