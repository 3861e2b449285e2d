"""Rescheduling, cancelling and planning again from the pages; the calendar download."""

from __future__ import annotations

import datetime as dt

import icalendar
import pytest
from django.urls import reverse
from django.utils import timezone

from cases.models import State
from conversations.models import Conversation
from notifications.models import Notification
from notifications.services import deliver
from tests.cases.factories import CaseFactory, UserFactory
from tests.conversations.factories import ConversationFactory

pytestmark = pytest.mark.django_db

WHEN = (timezone.localdate() + dt.timedelta(days=5)).strftime("%Y-%m-%dT14:15")


@pytest.fixture
def planned():
    case = CaseFactory(conversation_planned=True)
    return case, ConversationFactory(case=case, invite=True)


@pytest.mark.parametrize(
    "url",
    [
        "/cases/conversations/1/reschedule/",
        "/cases/conversations/1/cancel/",
        "/cases/1/conversation/plan-again/",
        "/cases/conversations/1/invitation.ics",
    ],
)
def test_it_sends_anonymous_visitors_to_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


class TestReschedule:
    def url(self, conversation):
        return reverse("conversations:reschedule", args=[conversation.pk])

    def test_unrelated_users_get_404(self, client, planned):
        _case, conversation = planned
        client.force_login(UserFactory())
        assert client.get(self.url(conversation)).status_code == 404
        data = {"starts_at": WHEN, "location": "x"}
        assert client.post(self.url(conversation), data).status_code == 404

    def test_the_student_may_not_reschedule(self, client, planned):
        case, conversation = planned
        client.force_login(case.placement.student)
        assert client.get(self.url(conversation)).status_code == 403
        response = client.post(self.url(conversation), {"starts_at": WHEN, "location": "Thuis"})
        assert response.status_code == 403
        conversation.refresh_from_db()
        assert conversation.location == "Lokaal 2.14"
        assert conversation.ical_sequence == 0

    def test_get_shows_the_current_time_and_changes_nothing(self, client, planned):
        case, conversation = planned
        client.force_login(case.placement.study_coach)
        response = client.get(self.url(conversation))
        assert response.status_code == 200
        local = timezone.localtime(conversation.starts_at).strftime("%Y-%m-%dT%H:%M")
        assert f'value="{local}"' in response.content.decode()
        conversation.refresh_from_db()
        assert conversation.ical_sequence == 0
        assert not case.events.exists()

    def test_it_moves_the_conversation(self, client, planned):
        case, conversation = planned
        client.force_login(case.placement.study_coach)
        response = client.post(
            self.url(conversation), {"starts_at": WHEN, "location": "https://meet.example.org/x"}
        )
        assert response.status_code == 302
        conversation.refresh_from_db()
        assert timezone.localtime(conversation.starts_at).strftime("%Y-%m-%dT%H:%M") == WHEN
        assert conversation.location == "https://meet.example.org/x"
        assert conversation.ical_sequence == 1
        assert case.events.filter(name="conversation_rescheduled").exists()

    def test_an_invalid_date_keeps_the_location(self, client, planned):
        case, conversation = planned
        client.force_login(case.placement.school_trainer)
        response = client.post(
            self.url(conversation), {"starts_at": "morgen", "location": "Aula, achterin"}
        )
        assert response.status_code == 200
        assert "Aula, achterin" in response.content.decode()
        assert response.context["form"].errors["starts_at"]

    def test_a_held_conversation_is_refused_with_the_text_kept(self, client):
        case = CaseFactory(improving=True)
        conversation = ConversationFactory(case=case, held=True, invite=True)
        client.force_login(case.placement.school_trainer)
        assert client.get(self.url(conversation)).status_code == 302
        response = client.post(self.url(conversation), {"starts_at": WHEN, "location": "Lokaal 9"})
        assert response.status_code == 200
        assert "Lokaal 9" in response.content.decode()
        assert response.context["form"].non_field_errors()
        conversation.refresh_from_db()
        assert conversation.location == "Lokaal 2.14"


class TestCancel:
    def url(self, conversation):
        return reverse("conversations:cancel", args=[conversation.pk])

    def test_unrelated_users_get_404(self, client, planned):
        _case, conversation = planned
        client.force_login(UserFactory())
        assert client.post(self.url(conversation), {"reason": "x"}).status_code == 404

    def test_the_mentor_who_did_not_plan_may_not_cancel_a_change_conversation(self, client):
        case = CaseFactory(change_conversation_planned=True)
        conversation = ConversationFactory(case=case, change=True, invite=True)
        client.force_login(case.placement.mentor)
        assert client.get(self.url(conversation)).status_code == 403
        assert client.post(self.url(conversation), {"reason": "Ziek"}).status_code == 403
        conversation.refresh_from_db()
        assert conversation.status == Conversation.Status.PLANNED

    def test_a_reason_is_required(self, client, planned):
        case, conversation = planned
        client.force_login(case.placement.school_trainer)
        response = client.post(self.url(conversation), {"reason": ""})
        assert response.status_code == 200
        assert response.context["form"].errors["reason"]
        conversation.refresh_from_db()
        assert conversation.status == Conversation.Status.PLANNED

    def test_get_changes_nothing(self, client, planned):
        case, conversation = planned
        client.force_login(case.placement.school_trainer)
        assert client.get(self.url(conversation)).status_code == 200
        conversation.refresh_from_db()
        assert conversation.status == Conversation.Status.PLANNED

    def test_it_cancels_and_the_case_page_keeps_the_history(self, client, planned):
        case, conversation = planned
        client.force_login(case.placement.school_trainer)
        response = client.post(self.url(conversation), {"reason": "De mentor is ziek."})
        assert response.status_code == 302
        conversation.refresh_from_db()
        assert conversation.status == Conversation.Status.CANCELLED
        case.refresh_from_db()
        assert case.state == State.CONVERSATION_PLANNED
        page = client.get(case.get_absolute_url())
        content = page.content.decode()
        assert "conversation-cancelled" in content
        assert "De mentor is ziek." in content  # the reason, in the timeline
        assert reverse("conversations:plan_again", args=[case.pk]) in content
        assert reverse("conversations:calendar", args=[conversation.pk]) in content
        assert reverse("conversations:cancel", args=[conversation.pk]) not in content
        # Nothing to record until a new conversation is planned.
        assert reverse("conversations:record", args=[case.pk]) not in content

    def test_a_second_cancel_keeps_the_reason(self, client):
        case = CaseFactory(conversation_planned=True)
        conversation = ConversationFactory(case=case, invite=True, cancelled=True)
        client.force_login(case.placement.school_trainer)
        response = client.post(self.url(conversation), {"reason": "Nogmaals afgezegd"})
        assert response.status_code == 200
        assert "Nogmaals afgezegd" in response.content.decode()
        assert response.context["form"].non_field_errors()


class TestPlanAgain:
    @pytest.fixture
    def cancelled(self):
        case = CaseFactory(conversation_planned=True)
        ConversationFactory(case=case, invite=True, cancelled=True)
        return case

    def url(self, case):
        return reverse("conversations:plan_again", args=[case.pk])

    def data(self, case, **extra):
        return {"seen_version": case.version, "starts_at": WHEN, "location": "Lokaal 3", **extra}

    def test_unrelated_users_get_404(self, client, cancelled):
        client.force_login(UserFactory())
        assert client.get(self.url(cancelled)).status_code == 404

    def test_the_student_may_not_plan(self, client, cancelled):
        client.force_login(cancelled.placement.student)
        assert client.get(self.url(cancelled)).status_code == 403
        assert client.post(self.url(cancelled), self.data(cancelled)).status_code == 403
        assert cancelled.conversations.count() == 1

    def test_it_plans_a_new_conversation_and_keeps_the_old_one(self, client, cancelled):
        client.force_login(cancelled.placement.mentor)
        assert client.get(self.url(cancelled)).status_code == 200
        assert cancelled.conversations.count() == 1
        response = client.post(self.url(cancelled), self.data(cancelled))
        assert response.status_code == 302
        statuses = sorted(cancelled.conversations.values_list("status", flat=True))
        assert statuses == ["cancelled", "planned"]
        new = cancelled.conversations.get(status="planned")
        assert new.invitations.count() == 4
        cancelled.refresh_from_db()
        assert cancelled.state == State.CONVERSATION_PLANNED

    def test_with_a_planned_conversation_get_goes_back_and_post_keeps_the_text(
        self, client, planned
    ):
        case, _conversation = planned
        client.force_login(case.placement.school_trainer)
        assert client.get(self.url(case)).status_code == 302
        response = client.post(self.url(case), self.data(case, location="Kantine"))
        assert response.status_code == 200
        assert "Kantine" in response.content.decode()
        assert response.context["form"].non_field_errors()
        assert case.conversations.count() == 1


class TestCalendar:
    def url(self, conversation):
        return reverse("conversations:calendar", args=[conversation.pk])

    def test_unrelated_users_get_404(self, client, planned):
        _case, conversation = planned
        client.force_login(UserFactory())
        assert client.get(self.url(conversation)).status_code == 404

    @pytest.mark.parametrize("role", ["student", "mentor", "school_trainer", "study_coach"])
    def test_each_participant_downloads_a_parseable_invitation(self, client, planned, role):
        case, conversation = planned
        client.force_login(getattr(case.placement, role))
        response = client.get(self.url(conversation))
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/calendar")
        assert "attachment;" in response["Content-Disposition"]
        assert ".ics" in response["Content-Disposition"]
        calendar = icalendar.Calendar.from_ical(response.content)
        (event,) = [c for c in calendar.walk() if c.name == "VEVENT"]
        assert str(event["uid"]) == f"{conversation.ical_uid}@stagebureau"
        assert calendar["method"] == "REQUEST"

    def test_a_cancelled_conversation_gives_a_cancellation(self, client):
        case = CaseFactory(conversation_planned=True)
        conversation = ConversationFactory(case=case, invite=True, cancelled=True)
        client.force_login(case.placement.student)
        response = client.get(self.url(conversation))
        calendar = icalendar.Calendar.from_ical(response.content)
        assert calendar["method"] == "CANCEL"
        assert "method=CANCEL" in response["Content-Type"]

    def test_post_is_not_allowed(self, client, planned):
        case, conversation = planned
        client.force_login(case.placement.student)
        assert client.post(self.url(conversation)).status_code == 405

    def test_the_case_page_links_it_for_planned_conversations(self, client, planned):
        case, conversation = planned
        client.force_login(case.placement.student)
        content = client.get(case.get_absolute_url()).content.decode()
        assert self.url(conversation) in content
        # The student sees the calendar link but may not move the conversation.
        assert reverse("conversations:reschedule", args=[conversation.pk]) not in content
        client.force_login(case.placement.school_trainer)
        content = client.get(case.get_absolute_url()).content.decode()
        assert reverse("conversations:reschedule", args=[conversation.pk]) in content
        assert reverse("conversations:cancel", args=[conversation.pk]) in content


class TestLineBreaksInNamesAndAddresses:
    """A name or address with a line break, stored by an import, the shell or an identity
    provider: rescheduling and the calendar file still work (issue #16)."""

    @pytest.fixture
    def hostile(self, planned):
        case, conversation = planned
        mentor, student = case.placement.mentor, case.placement.student
        mentor.email = "mentor@example.org\r\nBcc: evil@x.example"
        mentor.first_name = "Jan\r\nATTENDEE:mailto:evil@x.example"
        mentor.save()
        student.last_name = "de\nVries\x07"
        student.save()
        return case, conversation

    def test_rescheduling_works_and_tells_everyone_else(self, client, hostile, mailoutbox):
        case, conversation = hostile
        client.force_login(case.placement.school_trainer)
        response = client.post(
            reverse("conversations:reschedule", args=[conversation.pk]),
            {"starts_at": WHEN, "location": "Lokaal 3"},
        )
        assert response.status_code == 302
        conversation.refresh_from_db()
        assert conversation.ical_sequence == 1
        rows = Notification.objects.filter(case=case, event="conversation_rescheduled")
        for row in rows:
            deliver(row.pk)
        statuses = {r.recipient_id: r.status for r in rows.all()}
        assert statuses.pop(case.placement.mentor_id) == "failed"  # that one row, with a reason
        assert set(statuses.values()) == {"sent"}
        for message in mailoutbox:
            assert "evil" not in str(message.message()["To"])

    def test_the_calendar_file_puts_names_on_one_line_and_leaves_the_bad_address_out(
        self, client, hostile
    ):
        case, conversation = hostile
        client.force_login(case.placement.school_trainer)
        response = client.get(reverse("conversations:calendar", args=[conversation.pk]))
        assert response.status_code == 200
        event = icalendar.Calendar.from_ical(response.content).walk("VEVENT")[0]
        attendees = {str(a).removeprefix("mailto:"): a.params["cn"] for a in event["attendee"]}
        assert case.placement.mentor.email not in attendees
        assert not any("evil" in address for address in attendees)
        assert attendees[case.placement.student.email].endswith("de Vries")
        for line in response.content.decode().split("\r\n"):
            assert not line.startswith(("ATTENDEE:mailto:evil", "Bcc"))
