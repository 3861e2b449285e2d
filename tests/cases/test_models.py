"""Models of the core: people and their roles on a case, the case, its append-only timeline."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import translation

from cases.models import (
    CLOSED_STATES,
    EVENT_LABELS,
    OPEN_STATES,
    Case,
    CaseEvent,
    Placement,
    Role,
    State,
    transition_names,
)
from cases.services import case_log
from tests.cases.factories import CaseFactory, PlacementFactory, UserFactory
from tests.transfers.factories import HandoverFactory, IsopAdviceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def event():
    case = CaseFactory()
    return case_log(case, by=case.placement.mentor, name="action_added", note="Feedback")


class TestTimelineIsAppendOnly:
    def test_a_new_event_is_written(self, event):
        assert CaseEvent.objects.filter(pk=event.pk).exists()

    def test_saving_an_existing_event_raises(self, event):
        event.note = "changed"
        with pytest.raises(PermissionDenied):
            event.save()
        assert CaseEvent.objects.get(pk=event.pk).note == "Feedback"

    def test_saving_a_fresh_copy_raises_too(self, event):
        copy = CaseEvent.objects.get(pk=event.pk)
        with pytest.raises(PermissionDenied):
            copy.save(update_fields=["note"])

    def test_deleting_an_event_raises(self, event):
        with pytest.raises(PermissionDenied):
            event.delete()
        assert CaseEvent.objects.filter(pk=event.pk).exists()

    def test_bulk_update_and_delete_raise(self, event):
        with pytest.raises(PermissionDenied):
            CaseEvent.objects.filter(pk=event.pk).update(note="changed")
        with pytest.raises(PermissionDenied):
            CaseEvent.objects.filter(pk=event.pk).delete()
        event.note = "changed"
        with pytest.raises(PermissionDenied), transaction.atomic():
            CaseEvent.objects.bulk_update([event], ["note"])
        assert CaseEvent.objects.get(pk=event.pk).note == "Feedback"

    def test_a_case_with_a_timeline_cannot_be_deleted(self, event):
        with pytest.raises(IntegrityError), transaction.atomic():
            Case.objects.filter(pk=event.case_id).delete()

    def test_every_step_has_a_label(self):
        assert set(transition_names()) | {"signal"} <= set(EVENT_LABELS)

    def test_the_label_of_an_unknown_name_is_the_name(self, event):
        assert event.label == EVENT_LABELS["action_added"]
        unknown = case_log(event.case, by=None, name="something_new")
        assert unknown.label == "something_new"


class TestRoles:
    def test_roles_come_from_the_placement(self):
        placement = PlacementFactory(coordinating_trainer=UserFactory())
        case = CaseFactory(placement=placement, signalled_by=placement.mentor)
        for role in ("student", "mentor", "school_trainer", "study_coach", "coordinating_trainer"):
            expected = {role} | ({"signaller"} if role == "mentor" else set())
            assert case.roles_of(placement.person(role)) == expected

    def test_a_person_can_hold_different_roles_on_different_placements(self):
        teacher = UserFactory()
        as_mentor = CaseFactory(placement=PlacementFactory(mentor=teacher))
        as_trainer = CaseFactory(placement=PlacementFactory(school_trainer=teacher))
        assert as_mentor.roles_of(teacher) == {Role.MENTOR}
        assert as_trainer.roles_of(teacher) == {Role.SCHOOL_TRAINER}

    def test_office_and_isop_owner_are_global(self):
        case = CaseFactory()
        assert case.roles_of(UserFactory(office=True)) == {Role.OFFICE}
        assert case.roles_of(UserFactory(isop_owner=True)) == {Role.ISOP_OWNER}

    def test_nobody_else_has_a_role(self):
        case = CaseFactory()
        assert case.roles_of(UserFactory()) == set()
        assert case.roles_of(AnonymousUser()) == set()

    def test_the_old_coach_has_a_role_only_during_the_handover(self):
        handover = HandoverFactory()
        case = handover.case
        assert "old_study_coach" in case.roles_of(handover.old_coach)
        assert case.roles_of(handover.new_coach) == {Role.STUDY_COACH}


class TestRelatedTo:
    def test_people_on_the_placement_see_the_case(self):
        case = CaseFactory()
        for role in ("student", "mentor", "school_trainer", "study_coach"):
            assert list(Case.objects.related_to(case.placement.person(role))) == [case]

    def test_an_unrelated_user_sees_nothing(self):
        CaseFactory()
        assert not Case.objects.related_to(UserFactory()).exists()
        assert not Case.objects.related_to(AnonymousUser()).exists()

    def test_the_office_sees_everything(self):
        cases = {CaseFactory(), CaseFactory(closed_resolved=True)}
        assert set(Case.objects.related_to(UserFactory(office=True))) == cases

    def test_the_isop_owner_sees_cases_with_a_question(self):
        asked = IsopAdviceFactory().case
        CaseFactory()
        assert list(Case.objects.related_to(UserFactory(isop_owner=True))) == [asked]

    def test_the_old_coach_sees_the_case_during_the_handover(self):
        handover = HandoverFactory()
        assert list(Case.objects.related_to(handover.old_coach)) == [handover.case]

    def test_a_case_appears_once_for_someone_with_two_roles(self):
        person = UserFactory()
        case = CaseFactory(placement=PlacementFactory(mentor=person, school_trainer=person))
        assert list(Case.objects.related_to(person)) == [case]


class TestCase:
    def test_open_and_closed_states_split_the_states(self):
        assert set(OPEN_STATES) | set(CLOSED_STATES) == set(State.values)
        assert not set(OPEN_STATES) & set(CLOSED_STATES)

    @pytest.mark.parametrize("state", list(State))
    def test_is_open(self, state):
        case = CaseFactory(state=state)
        assert case.is_open == (state in OPEN_STATES)
        assert (case in Case.objects.open()) == (state in OPEN_STATES)

    def test_number_and_str(self):
        case = CaseFactory()
        assert case.number == f"SB-{case.pk:05d}"
        with translation.override("en"):
            assert str(case) == f"Case {case.number}"
        assert Case().number == "SB-new"

    def test_a_new_case_is_signalled_with_version_one(self):
        case = CaseFactory()
        assert (case.state, case.version, case.closed_at) == (State.SIGNALLED, 1, None)

    @pytest.mark.parametrize("state", list(State))
    def test_every_state_has_an_english_label(self, state):
        with translation.override("en"):
            assert str(State(state).label)


class TestPlacement:
    def test_the_end_is_not_before_the_start(self):
        with pytest.raises(IntegrityError), transaction.atomic():
            PlacementFactory(start_date=dt.date(2025, 2, 1), end_date=dt.date(2025, 1, 31))

    def test_roles_of_and_person(self):
        placement = PlacementFactory()
        assert placement.roles_of(placement.student) == {Role.STUDENT}
        assert placement.person(Role.MENTOR) == placement.mentor
        assert placement.person(Role.OFFICE) is None
        assert placement.status == Placement.Status.ACTIVE
