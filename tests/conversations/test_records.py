"""Rescheduling/cancelling with ICS, briefing absent people, the student's draft note."""

import datetime as dt

import icalendar
import pytest
from django.utils import timezone

from cases.models import GuardFailed, NotPermitted, State
from conversations import services
from conversations.ics import conversation_ics
from conversations.models import Conversation, StudentNote
from notifications.models import Notification
from tests.cases.factories import CaseFactory, UserFactory
from tests.journeys import took_place

pytestmark = pytest.mark.django_db


@pytest.fixture
def case():
    return CaseFactory()


def plan(case, when=None):
    return services.plan_conversation(
        case_id=case.pk,
        by=case.placement.school_trainer,
        starts_at=when or (timezone.now() + dt.timedelta(days=2)).replace(microsecond=0),
        location="Lokaal 2.14",
    )


def record(case, conversation, absent=()):
    took_place(conversation)
    attendance = {i.person_id: i.person_id not in absent for i in conversation.invitations.all()}
    services.record_conversation(
        case_id=case.pk,
        by=case.placement.school_trainer,
        attendance=attendance,
        summary="We spraken af dat de student wekelijks feedback krijgt.",
        actions=[
            services.ActionInput(
                "Wekelijks feedbackgesprek",
                case.placement.mentor.pk,
                timezone.localdate() + dt.timedelta(days=14),
            )
        ],
    )
    conversation.refresh_from_db()
    return conversation


def parse(ics: bytes):
    calendar = icalendar.Calendar.from_ical(ics)
    (event,) = [c for c in calendar.walk() if c.name == "VEVENT"]
    return calendar, event


class TestCalendarInvitations:
    def test_it_is_parseable_with_all_invitees(self, case):
        conversation = plan(case)
        calendar, event = parse(conversation_ics(conversation))
        assert calendar["method"] == "REQUEST"
        assert str(event["uid"]) == f"{conversation.ical_uid}@stagebureau"
        assert event["sequence"] == 0
        assert event.decoded("dtstart") == conversation.starts_at
        assert str(event["location"]) == "Lokaal 2.14"
        attendees = {str(a) for a in event.get("attendee")}
        p = case.placement
        assert attendees == {
            f"mailto:{u.email}" for u in (p.student, p.mentor, p.school_trainer, p.study_coach)
        }

    def test_it_carries_no_case_details(self, case):
        case.description = "GEHEIM-DETAIL-123"
        case.save()
        assert b"GEHEIM-DETAIL-123" not in conversation_ics(plan(case))

    def test_rescheduling_sends_an_update_with_the_same_uid(self, case):
        conversation = plan(case)
        new_time = (timezone.now() + dt.timedelta(days=5)).replace(microsecond=0)
        services.conversation_reschedule(
            conversation_id=conversation.pk,
            by=case.placement.study_coach,
            starts_at=new_time,
            location="Online: https://meet.example.org/abc",
        )
        conversation.refresh_from_db()
        _cal, event = parse(conversation_ics(conversation))
        assert str(event["uid"]) == f"{conversation.ical_uid}@stagebureau"
        assert event["sequence"] == 1
        assert event.decoded("dtstart") == new_time
        assert case.events.filter(name="conversation_rescheduled").count() == 1
        assert Notification.objects.filter(event="conversation_rescheduled").count() == 3

    def test_cancelling_sends_a_cancel_and_keeps_the_history(self, case):
        conversation = plan(case)
        services.conversation_cancel(
            conversation_id=conversation.pk, by=case.placement.school_trainer, reason="Ziek"
        )
        conversation.refresh_from_db()
        calendar, event = parse(conversation_ics(conversation))
        assert calendar["method"] == "CANCEL"
        assert str(event["status"]) == "CANCELLED"
        assert event["sequence"] == 1
        assert Conversation.objects.filter(pk=conversation.pk).exists()
        case.refresh_from_db()
        assert case.state == State.CONVERSATION_PLANNED
        again = services.conversation_plan_again(
            case_id=case.pk,
            by=case.placement.school_trainer,
            starts_at=timezone.now() + dt.timedelta(days=7),
            location="Lokaal 1",
        )
        assert again.invitations.count() == 4
        with pytest.raises(GuardFailed):
            services.conversation_plan_again(
                case_id=case.pk,
                by=case.placement.school_trainer,
                starts_at=timezone.now(),
                location="Lokaal 1",
            )

    def test_a_student_cannot_reschedule(self, case):
        conversation = plan(case)
        with pytest.raises(NotPermitted):
            services.conversation_reschedule(
                conversation_id=conversation.pk,
                by=case.placement.student,
                starts_at=timezone.now(),
                location="x",
            )

    def test_a_held_conversation_cannot_be_cancelled(self, case):
        conversation = record(case, plan(case))
        with pytest.raises(GuardFailed):
            services.conversation_cancel(
                conversation_id=conversation.pk, by=case.placement.school_trainer, reason="x"
            )


class TestBriefing:
    def test_briefing_items_exist_exactly_for_the_absent(self, case):
        mentor = case.placement.mentor
        coach = case.placement.study_coach
        record(case, plan(case), absent=(mentor.pk, coach.pk))
        open_items = services.invitations_needing_briefing(case)
        assert {i.person_id for i in open_items} == {mentor.pk, coach.pk}

    def test_briefing_is_recorded_then_confirmed_by_the_briefed_person(self, case):
        mentor = case.placement.mentor
        conversation = record(case, plan(case), absent=(mentor.pk,))
        invitation = conversation.invitations.get(person=mentor)
        with pytest.raises(NotPermitted):
            services.briefing_record(invitation_id=invitation.pk, by=case.placement.student)
        services.briefing_record(
            invitation_id=invitation.pk, by=case.placement.school_trainer, note="Gebeld"
        )
        assert list(services.invitations_needing_briefing(case)) == []
        with pytest.raises(GuardFailed):
            services.briefing_record(invitation_id=invitation.pk, by=case.placement.school_trainer)
        with pytest.raises(NotPermitted):
            services.briefing_confirm_read(invitation_id=invitation.pk, by=case.placement.student)
        services.briefing_confirm_read(invitation_id=invitation.pk, by=mentor)
        invitation.refresh_from_db()
        assert invitation.briefed_by == case.placement.school_trainer
        assert invitation.read_summary_at is not None
        assert case.events.filter(name__in=["briefing_recorded", "summary_read"]).count() == 2

    def test_present_people_need_no_briefing(self, case):
        conversation = record(case, plan(case))
        invitation = conversation.invitations.first()
        with pytest.raises(GuardFailed):
            services.briefing_record(invitation_id=invitation.pk, by=case.placement.school_trainer)


class TestStudentNote:
    def test_the_student_keeps_a_draft_then_submits(self, case):
        conversation = record(case, plan(case))
        student = case.placement.student
        note = services.note_save(conversation_id=conversation.pk, by=student, text="Concept")
        assert note.submitted_at is None
        note = services.note_save(
            conversation_id=conversation.pk,
            by=student,
            text="Mijn verslag",
            submit=True,
            logged_in_onstage_on=dt.date(2026, 11, 20),
        )
        assert note.submitted_at is not None
        assert StudentNote.objects.get(conversation=conversation).text == "Mijn verslag"
        markdown = services.note_markdown(note)
        assert "Mijn verslag" in markdown and "20-11-2026" in markdown
        with pytest.raises(GuardFailed):
            services.note_save(conversation_id=conversation.pk, by=student, text="Anders")

    @pytest.mark.parametrize("role", ["mentor", "school_trainer", "study_coach"])
    def test_only_the_student_writes_it(self, case, role):
        conversation = record(case, plan(case))
        with pytest.raises(NotPermitted):
            services.note_save(
                conversation_id=conversation.pk, by=getattr(case.placement, role), text="x"
            )
        with pytest.raises(NotPermitted):
            services.note_save(conversation_id=conversation.pk, by=UserFactory(), text="x")

    def test_an_empty_note_cannot_be_submitted_and_the_draft_is_kept(self, case):
        conversation = record(case, plan(case))
        student = case.placement.student
        services.note_save(conversation_id=conversation.pk, by=student, text="Half af")
        with pytest.raises(GuardFailed):
            services.note_save(conversation_id=conversation.pk, by=student, text="  ", submit=True)
        assert StudentNote.objects.get(conversation=conversation).text == "Half af"

    def test_no_note_before_the_conversation_is_held(self, case):
        conversation = plan(case)
        with pytest.raises(GuardFailed):
            services.note_save(conversation_id=conversation.pk, by=case.placement.student, text="x")


class TestActionsAreVersioned:
    def test_two_evaluations_of_one_action_one_wins(self, case):
        from cases.services import CaseChangedMeanwhile

        record(case, plan(case))
        case.refresh_from_db()
        action = case.actions.get()
        seen = case.version
        services.action_evaluate(
            action_id=action.pk,
            by=case.placement.school_trainer,
            evaluation="helped",
            seen_version=seen,
        )
        with pytest.raises(CaseChangedMeanwhile):
            services.action_evaluate(
                action_id=action.pk,
                by=case.placement.study_coach,
                evaluation="not_helped",
                seen_version=seen,
            )
        action.refresh_from_db()
        assert action.evaluation == "helped"

    def test_adding_an_action_bumps_the_version(self, case):
        record(case, plan(case))
        case.refresh_from_db()
        before = case.version
        services.action_add(
            case_id=case.pk,
            by=case.placement.mentor,
            description="Observatie",
            owner_id=case.placement.mentor.pk,
            due_date=timezone.localdate(),
            seen_version=before,
        )
        case.refresh_from_db()
        assert case.version == before + 1
