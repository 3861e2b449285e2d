"""The stop route is advised, not compulsory (issue #12, item 2): the student or the office
stops at once from any open state, with a reason and the wrap-up when there is one; the office
makes a temporary stop definitive. A stop request reads as a stop request everywhere (item 10).
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone, translation

from cases.models import Case, GuardFailed, NotPermitted, Placement, State
from conversations.models import Conversation
from notifications.labels import label_for
from notifications.models import Notification
from notifications.services import render_email
from tests.cases.factories import CaseFactory, UserFactory
from tests.conversations.factories import ConversationFactory
from tests.journeys import case_in, soon
from transfers import services
from transfers.models import Stop

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def told(case, event: str) -> set[int]:
    return set(
        Notification.objects.filter(case=case, event=event).values_list("recipient", flat=True)
    )


def stop_now(case, by, **kw):
    defaults = {
        "temporary": True,
        "reason": "Ziek na een ongeluk.",
        "expected_resume_date": TODAY + dt.timedelta(days=30),
    }
    return services.stop_now(case_id=case.pk, by=by, **(defaults | kw))


class TestTheAcuteStop:
    def test_the_student_stops_right_after_signalling(self, crew):
        case = case_in(crew, State.SIGNALLED)
        stop = stop_now(case, crew.student)
        case.refresh_from_db()
        assert case.state == State.STOPPED
        assert (stop.temporary, stop.acute, stop.reason) == (True, True, "Ziek na een ongeluk.")
        assert Placement.objects.get(pk=crew.placement.pk).status == Placement.Status.PAUSED
        event = case.events.get(name="stop_now")
        assert event.actor == crew.student and event.note == "Ziek na een ongeluk."
        assert event.data["temporary"] is True
        # The same people are told as for a stop at the end of the path, and the office.
        expected = {
            crew.mentor.pk,
            crew.school_trainer.pk,
            crew.study_coach.pk,
            crew.office.pk,
        }
        assert told(case, "stop_now") == expected

    @pytest.mark.parametrize(
        "state",
        [
            State.SIGNALLED,
            State.CONVERSATION_PLANNED,
            State.IMPROVING,
            State.CHANGE_REQUESTED,
            State.OUTCOME_PENDING,
            State.ISOP_ADVICE,
            State.DECISION_PENDING,
            State.TRANSFER_REQUESTED,
        ],
    )
    def test_from_any_open_state(self, crew, state):
        case = case_in(crew, state)
        stop_now(case, crew.office, temporary=False)
        case.refresh_from_db()
        assert case.state == State.CLOSED_STOPPED
        placement = Placement.objects.get(pk=crew.placement.pk)
        # A definitive stop sets the placement's end date.
        assert (placement.status, placement.end_date) == (Placement.Status.ENDED, TODAY)

    @pytest.mark.parametrize("state", [State.STOPPED, State.HANDOVER, State.CLOSED_RESOLVED])
    def test_not_from_a_stop_a_handover_or_a_closed_case(self, crew, state):
        case = case_in(crew, state)
        with pytest.raises(GuardFailed):
            stop_now(case, crew.office)
        assert not Stop.objects.exists()

    @pytest.mark.parametrize("role", ["mentor", "school_trainer", "study_coach", "isop_owner"])
    def test_only_the_student_or_the_office(self, crew, role):
        case = case_in(crew, State.IMPROVING)
        with pytest.raises(NotPermitted):
            stop_now(case, crew.get(role))
        assert Case.objects.get(pk=case.pk).state == State.IMPROVING
        assert not Stop.objects.exists()

    def test_a_reason_is_needed(self, crew):
        case = case_in(crew, State.IMPROVING)
        with translation.override("en"), pytest.raises(GuardFailed) as refused:
            stop_now(case, crew.student, reason="  ")
        assert str(refused.value.message) == "Give the reason for the stop."
        assert not Stop.objects.exists()

    def test_planned_conversations_are_cancelled_and_the_invitees_told(self, crew):
        case = case_in(crew, State.CONVERSATION_PLANNED)
        conversation = ConversationFactory(case=case, invite=True, starts_at=soon())
        stop_now(case, crew.student)
        conversation.refresh_from_db()
        assert conversation.status == Conversation.Status.CANCELLED
        assert crew.mentor.pk in told(case, "conversation_cancelled")

    def test_with_a_wrap_up_the_school_trainer_is_asked_to_agree(self, crew):
        case = case_in(crew, State.IMPROVING)
        stop_now(
            case, crew.student, last_day=TODAY, agreement="Afscheid met een kaart voor de klas."
        )
        wrap_up = case.wrap_ups.get()
        assert wrap_up.recorded_by == crew.student and wrap_up.confirmed_at is None
        assert told(case, "wrap_up_recorded") == {crew.school_trainer.pk}
        services.wrap_up_confirm(case_id=case.pk, by=crew.school_trainer)
        # The mentor, whose class it is, is told that it was agreed.
        assert crew.mentor.pk in told(case, "wrap_up_agreed")

    def test_the_wrap_up_needs_both_its_parts(self, crew):
        case = case_in(crew, State.IMPROVING)
        with pytest.raises(GuardFailed):
            stop_now(case, crew.student, last_day=TODAY)
        assert not case.wrap_ups.exists()


class TestMakeDefinitive:
    def test_the_office_makes_a_temporary_stop_definitive(self, crew):
        case = case_in(crew, State.SIGNALLED)
        stop_now(case, crew.student)
        ends = TODAY + dt.timedelta(days=2)
        services.make_definitive(case_id=case.pk, by=crew.office, ends_on=ends, note="Langdurig.")
        case.refresh_from_db()
        assert case.state == State.CLOSED_STOPPED and case.closed_at is not None
        placement = Placement.objects.get(pk=crew.placement.pk)
        assert (placement.status, placement.end_date) == (Placement.Status.ENDED, ends)
        assert case.stops.get().made_definitive_at is not None
        assert told(case, "make_definitive") >= {crew.student.pk, crew.mentor.pk}

    @pytest.mark.parametrize("role", ["student", "school_trainer", "study_coach"])
    def test_only_the_office(self, crew, role):
        case = case_in(crew, State.SIGNALLED)
        stop_now(case, crew.student)
        with pytest.raises(NotPermitted):
            services.make_definitive(case_id=case.pk, by=crew.get(role), ends_on=TODAY)
        assert Case.objects.get(pk=case.pk).state == State.STOPPED


class TestAStopRequestReadsAsAStop:
    def test_status_timeline_inbox_and_e_mail(self, crew):
        case = case_in(crew, State.IMPROVING)
        services.request_change(
            case_id=case.pk, by=crew.student, kind="stop_temporary", reason="Even rust."
        )
        case.refresh_from_db()
        event = case.events.get(name="request_change")
        notification = Notification.objects.get(case=case, recipient=crew.school_trainer)
        with translation.override("nl"):
            assert case.get_state_display() == "onderbreking gevraagd"
            assert str(event.label) == "Onderbreking gevraagd"
            assert event.get_to_state_display() == "onderbreking gevraagd"
            assert label_for(notification.event) == "Onderbreking gevraagd"
        with translation.override("en"):
            assert case.get_state_display() == "temporary stop requested"
            assert "placement" not in label_for(notification.event)
        email = render_email(notification)
        assert "onderbreking" in email.subject.lower()
        assert "wisseling" not in email.subject.lower()

    def test_a_transfer_request_still_reads_as_a_change_of_placement(self, crew):
        case = case_in(crew, State.IMPROVING)
        services.request_change(case_id=case.pk, by=crew.student, kind="transfer", reason="x")
        case.refresh_from_db()
        with translation.override("en"):
            assert case.get_state_display() == "change of placement requested"

    def test_after_an_agreed_stop_the_state_says_what_is_awaited(self, crew):
        case = CaseFactory(
            placement=crew.placement, state=State.TRANSFER_REQUESTED, change_kind="stop"
        )
        with translation.override("en"):
            assert case.get_state_display() == "awaiting the stop"


def test_resume_is_not_a_stop(crew):
    """Item 7: a resumed internship closes as its own outcome, on the date entered."""
    case = case_in(crew, State.SIGNALLED)
    stop_now(case, crew.student)
    resumed_on = TODAY + dt.timedelta(days=1)
    services.resume(case_id=case.pk, by=crew.office, resumed_on=resumed_on)
    case.refresh_from_db()
    assert case.state == State.CLOSED_RESUMED
    assert case.stops.get().resumed_on == resumed_on
    assert Placement.objects.get(pk=crew.placement.pk).status == Placement.Status.ACTIVE
    assert timezone.localdate(case.closed_at) == TODAY


def test_a_new_user_is_never_told_of_a_stop_on_a_case_they_do_not_see(crew):
    case = case_in(crew, State.IMPROVING)
    outsider = UserFactory()
    stop_now(case, crew.office)
    assert outsider.pk not in told(case, "stop_now")
