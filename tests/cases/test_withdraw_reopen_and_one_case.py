"""Issue #12: withdraw is the signaller's only before the change path, later the school
trainer's or the office's, always with a reason and the office told, and it cleans up (item 6);
a closed case is reopened or a new one follows up on it (item 1); one open case per placement
(item 8)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from cases import services
from cases.models import (
    EARLY_STATES,
    Case,
    Category,
    GuardFailed,
    NotPermitted,
    Placement,
    State,
)
from notifications.models import Notification
from tests.cases.factories import CaseFactory, PlacementFactory
from tests.journeys import act, arrange, case_in
from tests.transfers.factories import StopFactory

pytestmark = pytest.mark.django_db


def told(case, event: str) -> set[int]:
    return set(
        Notification.objects.filter(case=case, event=event).values_list("recipient", flat=True)
    )


class TestWithdraw:
    @pytest.mark.parametrize("state", EARLY_STATES)
    def test_the_signaller_before_the_change_path(self, crew, state):
        case = CaseFactory(placement=crew.placement, signalled_by=crew.mentor, state=state)
        act("withdraw", case, crew.mentor)
        assert Case.objects.get(pk=case.pk).state == State.CLOSED_WITHDRAWN

    @pytest.mark.parametrize(
        "state", [State.CHANGE_REQUESTED, State.OUTCOME_PENDING, State.TRANSFER_REQUESTED]
    )
    def test_later_not_the_signaller_but_the_trainer_and_the_office(self, crew, state):
        case = CaseFactory(placement=crew.placement, signalled_by=crew.student, state=state)
        with pytest.raises(NotPermitted):
            act("withdraw", case, crew.student)
        act("withdraw", case, crew.school_trainer)
        assert Case.objects.get(pk=case.pk).state == State.CLOSED_WITHDRAWN

    def test_the_office_is_always_told(self, crew):
        case = CaseFactory(placement=crew.placement, signalled_by=crew.student)
        act("withdraw", case, crew.student)
        assert crew.office.pk in told(case, "withdraw")

    def test_from_a_temporary_stop_the_placement_is_active_again(self, crew):
        case = case_in(crew, State.STOPPED)
        StopFactory(case=case, is_temporary=True)
        crew.placement.status = Placement.Status.PAUSED
        crew.placement.save()
        act("withdraw", case, crew.office)
        assert Placement.objects.get(pk=crew.placement.pk).status == Placement.Status.ACTIVE

    def test_from_a_handover_the_open_handover_is_called_off(self, crew):
        case = arrange("confirm_handover", crew)
        act("withdraw", case, crew.office)
        handover = case.handovers.get()
        assert handover.cancelled_at is not None and handover.confirmed_at is None
        # The previous coach loses access and is no longer expected to act.
        assert not Case.objects.related_to(crew.old_study_coach).filter(pk=case.pk).exists()


class TestReopen:
    def test_the_office_reopens_with_a_reason_same_number_timeline_continues(self, crew):
        case = case_in(crew, State.CLOSED_RESOLVED)
        number = case.number
        act("reopen", case, crew.office, reason="Het probleem is terug.")
        case.refresh_from_db()
        assert (case.state, case.number, case.closed_at) == (State.IMPROVING, number, None)
        event = case.events.get(name="reopen")
        assert event.note == "Het probleem is terug."
        assert told(case, "reopen") >= {crew.student.pk, crew.school_trainer.pk}

    @pytest.mark.parametrize("role", ["school_trainer", "student", "study_coach"])
    def test_only_the_office(self, crew, role):
        case = case_in(crew, State.CLOSED_RESOLVED)
        with pytest.raises(NotPermitted):
            act("reopen", case, crew.get(role))

    def test_a_reason_is_needed(self, crew):
        case = case_in(crew, State.CLOSED_RESOLVED)
        with pytest.raises(GuardFailed):
            act("reopen", case, crew.office, reason=" ")

    def test_not_when_the_student_has_left_the_placement(self, crew):
        case = case_in(crew, State.CLOSED_TRANSFERRED)
        Case.objects.filter(pk=case.pk).update(new_placement=PlacementFactory())
        with pytest.raises(GuardFailed):
            act("reopen", Case.objects.get(pk=case.pk), crew.office)

    def test_or_a_new_case_follows_up_on_it(self, crew, client):
        old = case_in(crew, State.CLOSED_TRANSFERRED)
        new_placement = PlacementFactory(student=crew.student)
        client.force_login(crew.office)
        page = client.get(old.get_absolute_url()).content.decode()
        assert "follows=" in page
        response = client.post(
            reverse("cases:signal") + f"?follows={old.pk}",
            {
                "placement": new_placement.pk,
                "categories": [Category.OTHER],
                "description": "Weer problemen.",
                "follows": old.pk,
            },
        )
        assert response.status_code == 302
        new = Case.objects.exclude(pk=old.pk).get()
        assert new.follows == old
        assert new.placement == new_placement


class TestOneOpenCasePerPlacement:
    def test_a_second_signal_joins_the_open_case(self, crew):
        first = services.case_signal(
            placement=crew.placement,
            by=crew.student,
            categories=[Category.WELLBEING],
            description="Eerste signaal.",
        )
        second = services.case_signal(
            placement=crew.placement,
            by=crew.mentor,
            categories=[Category.CLASSROOM, Category.WELLBEING],
            description="Ook in de klas gaat het mis.",
        )
        assert second.pk == first.pk and second.joined
        assert Case.objects.count() == 1
        assert set(first.categories.values_list("category", flat=True)) == {
            Category.WELLBEING,
            Category.CLASSROOM,
        }
        event = first.events.get(name="signal_added")
        assert (event.actor, event.note) == (crew.mentor, "Ook in de klas gaat het mis.")
        assert crew.student.pk in told(first, "signal_added")

    def test_the_signal_page_says_so_and_goes_to_the_case(self, crew, client):
        first = case_in(crew, State.IMPROVING)
        client.force_login(crew.study_coach)
        response = client.post(
            reverse("cases:signal"),
            {"placement": crew.placement.pk, "categories": ["other"], "description": "Ook."},
        )
        assert response.status_code == 302 and response.url == first.get_absolute_url()
        assert Case.objects.count() == 1

    def test_a_closed_case_does_not_count(self, crew):
        case_in(crew, State.CLOSED_RESOLVED)
        services.case_signal(
            placement=crew.placement, by=crew.student, categories=["other"], description="Nieuw."
        )
        assert Case.objects.count() == 2

    def test_confidentiality_wins(self, crew):
        hidden = services.case_signal(
            placement=crew.placement,
            by=crew.student,
            categories=["mentor_relationship"],
            description="Over mijn mentor.",
            confidential=True,
        )
        # The mentor does not see the confidential case: their signal is a case of its own,
        # and nothing tells them the other exists.
        other = services.case_signal(
            placement=crew.placement, by=crew.mentor, categories=["other"], description="Iets."
        )
        assert other.pk != hidden.pk and not other.joined
        assert crew.mentor.pk not in told(hidden, "signal_added")
