"""Need-to-know (cases/rules.py), rule by rule: nobody who is not signed in and no missing
object passes any rule; a confidential signal is released only while the case is open; the
previous study coach sees the case only while it waits for the warm handover; and each "who
records what" rule names exactly its roles. test_rules.py compares the rules with the lists."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from cases import rules as need_to_know
from cases.models import Case, GuardFailed, State, User
from cases.rules import can
from cases.services import release_confidential
from conversations.models import Conversation
from tests.cases.factories import CaseFactory, PlacementFactory, UserFactory
from tests.conversations.factories import (
    ConversationFactory,
    ImprovementActionFactory,
    StudentNoteFactory,
)
from tests.transfers.factories import HandoverFactory, IsopAdviceFactory, WrapUpFactory

pytestmark = pytest.mark.django_db

CASE_PERMISSIONS = [
    "cases.view_case",
    "cases.view_change_conversation",
    "cases.view_change_request",
    "cases.view_positions",
    "cases.view_isop_advice",
    "cases.view_handover",
    "cases.release_confidential",
    "cases.add_action",
    "cases.record_wrap_up",
    "cases.plan_follow_up",
]
PREDICATES_ON_A_CASE = [
    "is_case_student",
    "is_related",
    "sees_change_path",
    "may_release",
    "adds_actions",
    "records_wrap_up",
    "plans_follow_ups",
]


@pytest.fixture
def hidden_case():
    """An open confidential signal with everything around it: the most a rule could show."""
    case = CaseFactory(confidential=True, placement__coordinating_trainer=UserFactory())
    IsopAdviceFactory(case=case)
    return case


class TestNobodyAndNothing:
    @pytest.mark.parametrize("perm", CASE_PERMISSIONS)
    def test_a_visitor_who_is_not_signed_in_gets_nothing(self, perm, hidden_case):
        open_case = CaseFactory()
        for case in (hidden_case, open_case):
            assert not can(AnonymousUser(), perm, case)
            assert not can(None, perm, case)

    @pytest.mark.parametrize("perm", CASE_PERMISSIONS)
    def test_no_case_means_no_permission_even_for_the_office(self, perm):
        assert not can(UserFactory(office=True), perm, None)
        assert not can(UserFactory(office=True), perm)

    @pytest.mark.parametrize("name", PREDICATES_ON_A_CASE)
    def test_every_predicate_refuses_a_visitor_and_a_missing_case(self, name, hidden_case):
        predicate = getattr(need_to_know, name)
        office = UserFactory(office=True)
        assert predicate(AnonymousUser(), hidden_case) is False
        assert predicate(AnonymousUser(), CaseFactory(improving=True)) is False
        assert predicate(office, None) is False

    def test_the_rules_on_other_objects_refuse_a_visitor_and_a_missing_object(self):
        case = CaseFactory(improving=True)
        note = StudentNoteFactory(conversation__case=case, submitted=True)
        action = ImprovementActionFactory(case=case, owner=case.placement.mentor)
        wrap_up = WrapUpFactory(case=CaseFactory(transfer_requested=True))
        office = UserFactory(office=True)
        for perm, obj in [
            ("cases.view_conversation", note.conversation),
            ("cases.view_student_note", note),
            ("cases.evaluate_action", action),
            ("cases.confirm_wrap_up", wrap_up),
        ]:
            assert not can(AnonymousUser(), perm, obj), perm
            assert not can(office, perm, None), perm
            assert can(office, perm, obj), perm  # the rule itself lets the office through

    def test_the_office_rule_is_the_office_group_only(self):
        assert need_to_know.is_office(UserFactory(office=True)) is True
        assert need_to_know.is_office(UserFactory()) is False
        assert need_to_know.is_office(UserFactory(isop_owner=True)) is False
        assert need_to_know.is_office(AnonymousUser()) is False

    def test_someone_without_an_id_matches_no_empty_role_of_the_placement(self):
        """The case has no coordinating trainer: an unsaved user (no id) must not match it."""
        case = CaseFactory(placement__coordinating_trainer=None)
        nobody = User(username="unsaved")
        assert nobody.is_authenticated and nobody.pk is None
        assert not need_to_know.is_related(nobody, case)
        assert not need_to_know.is_case_student(nobody, case)


class TestTheStudent:
    def test_the_student_sees_their_confidential_signal_and_nobody_else_on_it_does(
        self, hidden_case
    ):
        placement = hidden_case.placement
        assert need_to_know.is_case_student(placement.student, hidden_case)
        assert can(placement.student, "cases.view_case", hidden_case)
        for person in (
            placement.mentor,
            placement.school_trainer,
            placement.study_coach,
            placement.coordinating_trainer,
            UserFactory(isop_owner=True),  # advice asked, but the signal is not released
            UserFactory(),
        ):
            assert not need_to_know.is_case_student(person, hidden_case)
            assert not can(person, "cases.view_case", hidden_case), person

    def test_the_student_sees_their_own_draft_note_even_on_a_confidential_case(self):
        case = CaseFactory(confidential=True)
        draft = StudentNoteFactory(conversation__case=case)
        assert can(case.placement.student, "cases.view_student_note", draft)
        assert not can(case.placement.school_trainer, "cases.view_student_note", draft)
        assert can(UserFactory(office=True), "cases.view_student_note", draft) is False

    def test_a_submitted_note_of_a_confidential_case_stays_hidden_from_the_school(self):
        case = CaseFactory(confidential=True)
        note = StudentNoteFactory(conversation__case=case, submitted=True)
        assert can(case.placement.student, "cases.view_student_note", note)
        assert not can(case.placement.school_trainer, "cases.view_student_note", note)
        assert can(UserFactory(office=True), "cases.view_student_note", note)

    def test_a_student_sees_no_other_students_case(self):
        case = CaseFactory()
        other = PlacementFactory().student
        assert not need_to_know.is_case_student(other, case)
        assert not can(other, "cases.view_case", case)


class TestRelease:
    def test_the_office_releases_an_open_confidential_signal_once(self, hidden_case):
        office = UserFactory(office=True)
        assert can(office, "cases.release_confidential", hidden_case)
        assert not can(hidden_case.placement.student, "cases.release_confidential", hidden_case)
        hidden_case.confidential_released_at = timezone.now()
        assert not can(office, "cases.release_confidential", hidden_case)

    def test_a_signal_that_was_never_confidential_is_not_released(self):
        assert not can(UserFactory(office=True), "cases.release_confidential", CaseFactory())

    @pytest.mark.parametrize(
        "state", [State.CLOSED_RESOLVED, State.CLOSED_WITHDRAWN, State.CLOSED_TRANSFERRED]
    )
    def test_a_confidential_signal_whose_case_was_closed_is_not_released(self, state):
        case = CaseFactory(confidential=True, state=state)
        office = UserFactory(office=True)
        assert not case.is_open
        assert not can(office, "cases.release_confidential", case)
        with pytest.raises(GuardFailed):
            release_confidential(case_id=case.pk, by=office)
        case.refresh_from_db()
        assert case.confidential_released_at is None
        # And so the school never sees it.
        assert not can(case.placement.mentor, "cases.view_case", case)


class TestThePreviousStudyCoach:
    def test_sees_the_case_while_it_waits_for_the_handover(self):
        handover = HandoverFactory()
        case, old = handover.case, handover.old_coach
        assert case.state == State.HANDOVER
        assert can(old, "cases.view_case", case)
        assert can(old, "cases.view_handover", case)
        assert case in Case.objects.related_to(old)

    def test_does_not_see_it_once_the_handover_is_confirmed(self):
        handover = HandoverFactory(confirmed=True)
        case = Case.objects.get(pk=handover.case.pk)
        assert not can(handover.old_coach, "cases.view_case", case)
        assert case not in Case.objects.related_to(handover.old_coach)

    @pytest.mark.parametrize(
        "state", [State.CLOSED_TRANSFERRED, State.STOPPED, State.CLOSED_WITHDRAWN]
    )
    def test_does_not_see_it_once_the_case_left_the_handover_unconfirmed(self, state):
        handover = HandoverFactory()
        Case.objects.filter(pk=handover.case.pk).update(state=state)
        case = Case.objects.get(pk=handover.case.pk)
        assert not can(handover.old_coach, "cases.view_case", case)
        assert not can(handover.old_coach, "cases.view_handover", case)
        assert case not in Case.objects.related_to(handover.old_coach)

    def test_another_coach_does_not_see_someone_elses_handover(self):
        handover = HandoverFactory()
        assert not can(UserFactory(), "cases.view_case", handover.case)

    def test_does_not_see_a_confidential_case(self):
        handover = HandoverFactory(case__confidential=True)
        assert not can(handover.old_coach, "cases.view_case", handover.case)


class TestIsopOwner:
    def test_sees_a_case_once_advice_was_asked(self):
        owner = UserFactory(isop_owner=True)
        advised = IsopAdviceFactory().case
        assert can(owner, "cases.view_case", advised)
        assert can(owner, "cases.view_isop_advice", advised)
        assert not can(owner, "cases.view_case", CaseFactory(isop_advice=True))
        assert not can(UserFactory(), "cases.view_case", advised)


def roles_that(perm: str, case: Case, obj=None) -> set[str]:
    placement = case.placement
    people = {
        "student": placement.student,
        "mentor": placement.mentor,
        "school_trainer": placement.school_trainer,
        "study_coach": placement.study_coach,
        "coordinating_trainer": placement.coordinating_trainer,
        "office": UserFactory(office=True),
        "isop_owner": UserFactory(isop_owner=True),
        "outsider": UserFactory(),
    }
    return {role for role, person in people.items() if can(person, perm, obj or case)}


class TestWhoRecordsWhat:
    @pytest.fixture
    def case(self):
        case = CaseFactory(improving=True, placement__coordinating_trainer=UserFactory())
        IsopAdviceFactory(case=case)
        return case

    def test_who_adds_improvement_actions(self, case):
        assert roles_that("cases.add_action", case) == {
            "mentor",
            "school_trainer",
            "study_coach",
            "office",
        }

    def test_who_plans_follow_up_conversations(self, case):
        assert roles_that("cases.plan_follow_up", case) == {
            "mentor",
            "school_trainer",
            "study_coach",
            "office",
        }

    def test_who_records_the_wrap_up(self, case):
        assert roles_that("cases.record_wrap_up", case) == {"school_trainer", "student", "office"}

    def test_who_sees_the_change_path(self, case):
        assert roles_that("cases.view_change_request", case) == {
            "student",
            "school_trainer",
            "study_coach",
            "coordinating_trainer",
            "office",
            "isop_owner",
        }

    def test_who_evaluates_an_action(self, case):
        action = ImprovementActionFactory(case=case, owner=case.placement.student)
        assert roles_that("cases.evaluate_action", case, action) == {
            "student",  # the owner
            "school_trainer",
            "study_coach",
            "office",
        }

    def test_who_sees_the_problem_conversation_and_the_all_party_one(self, case):
        problem = ConversationFactory(case=case, held=True)
        change = ConversationFactory(case=case, kind=Conversation.Kind.CHANGE, held=True)
        everyone = {
            "student",
            "mentor",
            "school_trainer",
            "study_coach",
            "coordinating_trainer",
            "office",
            "isop_owner",
        }
        assert roles_that("cases.view_conversation", case, problem) == everyone
        assert roles_that("cases.view_conversation", case, change) == everyone - {"mentor"}


class TestTheWrapUpIsAgreedByTheOther:
    def test_recorded_by_the_school_trainer_the_student_confirms(self):
        wrap_up = WrapUpFactory()
        case = wrap_up.case
        assert roles_that("cases.confirm_wrap_up", case, wrap_up) == {"student", "office"}

    def test_recorded_by_the_student_the_school_trainer_confirms(self):
        case = CaseFactory(transfer_requested=True)
        wrap_up = WrapUpFactory(case=case, recorded_by=case.placement.student)
        assert roles_that("cases.confirm_wrap_up", case, wrap_up) == {"school_trainer", "office"}

    def test_recorded_by_the_office_only_the_office_confirms(self):
        case = CaseFactory(transfer_requested=True)
        wrap_up = WrapUpFactory(case=case, recorded_by=UserFactory(office=True))
        assert roles_that("cases.confirm_wrap_up", case, wrap_up) == {"office"}

    def test_a_confirmed_wrap_up_is_not_confirmed_again(self):
        wrap_up = WrapUpFactory(agreed=True)
        assert roles_that("cases.confirm_wrap_up", wrap_up.case, wrap_up) == set()
