"""`cases.services.placement_reassign`: someone else takes a role on a placement."""

from __future__ import annotations

import pytest

from cases.models import Case, CaseEvent, GuardFailed, Role
from cases.services import placement_reassign
from notifications.models import Notification
from tests.cases.factories import CaseFactory, PlacementFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("role", "field"),
    [
        (Role.MENTOR, "mentor"),
        (Role.SCHOOL_TRAINER, "school_trainer"),
        (Role.STUDY_COACH, "study_coach"),
        (Role.COORDINATING_TRAINER, "coordinating_trainer"),
    ],
)
def test_it_records_the_change_on_every_open_case_and_tells_the_newcomer(role, field):
    placement = PlacementFactory(coordinating_trainer=UserFactory())
    old = getattr(placement, field)
    office, newcomer = UserFactory(office=True), UserFactory()
    open_case = CaseFactory(placement=placement, improving=True)
    closed = CaseFactory(placement=placement, closed_resolved=True)
    version = open_case.version
    (event,) = placement_reassign(
        placement=placement, role=role, person=newcomer, by=office, reason="Ziek."
    )
    placement.refresh_from_db()
    assert getattr(placement, field) == newcomer
    assert event.case == open_case and event.name == f"{field}_reassigned"
    assert event.note == f"{old} → {newcomer}. Ziek." and event.actor == office
    assert not CaseEvent.objects.filter(case=closed).exists()
    told = Notification.objects.filter(case=open_case, event=event.name)
    assert list(told.values_list("recipient", flat=True)) == [newcomer.pk]
    open_case.refresh_from_db()
    assert open_case.version == version + 1
    assert Case.objects.related_to(newcomer).filter(pk=open_case.pk).exists()
    assert not Case.objects.related_to(old).filter(pk=open_case.pk).exists()


def test_the_same_person_again_changes_nothing():
    placement = PlacementFactory()
    CaseFactory(placement=placement)
    assert (
        placement_reassign(placement=placement, role=Role.MENTOR, person=placement.mentor, by=None)
        == []
    )
    assert not CaseEvent.objects.exists()


def test_the_student_and_the_student_role_are_refused():
    placement = PlacementFactory()
    with pytest.raises(GuardFailed):
        placement_reassign(placement=placement, role=Role.MENTOR, person=placement.student, by=None)
    with pytest.raises(GuardFailed):
        placement_reassign(placement=placement, role=Role.STUDENT, person=UserFactory(), by=None)


def test_a_confidential_signal_not_yet_opened_tells_nobody_but_is_recorded():
    placement = PlacementFactory()
    case = CaseFactory(placement=placement, confidential=True)
    newcomer = UserFactory()
    (event,) = placement_reassign(placement=placement, role=Role.MENTOR, person=newcomer, by=None)
    assert event.case == case
    assert not Notification.objects.filter(event="mentor_reassigned").exists()


def test_without_an_open_case_only_the_placement_changes():
    placement = PlacementFactory()
    newcomer = UserFactory()
    assert (
        placement_reassign(placement=placement, role=Role.STUDY_COACH, person=newcomer, by=None)
        == []
    )
    placement.refresh_from_db()
    assert placement.study_coach == newcomer
