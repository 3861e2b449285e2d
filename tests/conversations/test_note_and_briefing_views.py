"""The student's note page and its download; recording a briefing; "I have read the summary"."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape

from conversations.models import Invitation, StudentNote
from tests.cases.factories import CaseFactory, UserFactory
from tests.conversations.factories import ConversationFactory, StudentNoteFactory

pytestmark = pytest.mark.django_db

TEXT = "Ik heb geleerd dat ik eerder om hulp mag vragen.\nVolgende week observeert mijn mentor."


def dutch(text: str) -> str:
    with translation.override("nl"):
        return escape(str(translation.gettext(text)))


def yesterday():
    return timezone.now() - dt.timedelta(days=1)


@pytest.fixture
def held():
    case = CaseFactory(improving=True)
    return case, ConversationFactory(case=case, held=True, invite=True, starts_at=yesterday())


@pytest.mark.parametrize(
    "url",
    [
        "/cases/conversations/1/note/",
        "/cases/conversations/1/note.md",
        "/cases/invitations/1/briefing/",
    ],
)
def test_it_sends_anonymous_visitors_to_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_anonymous_confirmation_goes_to_login(client):
    response = client.post("/cases/invitations/1/read/")
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


class TestNote:
    def url(self, conversation):
        return reverse("conversations:note", args=[conversation.pk])

    def test_unrelated_users_get_404(self, client, held):
        _case, conversation = held
        client.force_login(UserFactory())
        assert client.get(self.url(conversation)).status_code == 404
        assert client.post(self.url(conversation), {"text": "x"}).status_code == 404

    @pytest.mark.parametrize("role", ["mentor", "school_trainer", "study_coach"])
    def test_only_the_student_writes(self, client, held, role):
        case, conversation = held
        client.force_login(getattr(case.placement, role))
        assert client.get(self.url(conversation)).status_code == 403
        response = client.post(self.url(conversation), {"text": "Niet van mij", "action": "draft"})
        assert response.status_code == 403
        assert not StudentNote.objects.exists()

    def test_get_changes_nothing(self, client, held):
        case, conversation = held
        client.force_login(case.placement.student)
        response = client.get(self.url(conversation))
        assert response.status_code == 200
        assert 'name="text"' in response.content.decode()
        assert not StudentNote.objects.exists()

    def test_before_the_conversation_is_held_get_goes_back_to_the_case(self, client):
        case = CaseFactory(conversation_planned=True)
        conversation = ConversationFactory(case=case, invite=True)
        client.force_login(case.placement.student)
        response = client.get(self.url(conversation), follow=True)
        assert response.redirect_chain == [(case.get_absolute_url(), 302)]
        not_yet = dutch("The note is written after the conversation has been held.")
        assert not_yet in response.content.decode()
        assert 'name="text"' not in response.content.decode()
        assert not StudentNote.objects.exists()

    def test_a_guard_failure_keeps_the_text(self, client):
        case = CaseFactory(conversation_planned=True)
        conversation = ConversationFactory(case=case, invite=True)
        client.force_login(case.placement.student)
        response = client.post(self.url(conversation), {"text": TEXT, "action": "draft"})
        assert response.status_code == 200
        assert escape(TEXT) in response.content.decode()
        assert response.context["form"].non_field_errors()
        assert not StudentNote.objects.exists()

    def test_a_draft_is_saved_and_not_shown_to_the_others(self, client, held):
        case, conversation = held
        client.force_login(case.placement.student)
        response = client.post(self.url(conversation), {"text": TEXT, "action": "draft"})
        assert response.status_code == 302
        assert response.url == self.url(conversation)
        note = StudentNote.objects.get(conversation=conversation)
        assert note.text == TEXT
        assert note.submitted_at is None
        assert escape(TEXT) in client.get(self.url(conversation)).content.decode()
        client.force_login(case.placement.school_trainer)
        content = client.get(case.get_absolute_url()).content.decode()
        assert dutch("draft, not submitted") in content
        assert "eerder om hulp" not in content

    def test_a_missing_note_is_named_on_the_case_page(self, client, held):
        case, _conversation = held
        client.force_login(case.placement.mentor)
        assert dutch("not yet written") in client.get(case.get_absolute_url()).content.decode()

    def test_an_onstage_date_in_the_future_keeps_the_text(self, client, held):
        case, conversation = held
        StudentNoteFactory(conversation=conversation, text="Oude versie")
        client.force_login(case.placement.student)
        future = (timezone.localdate() + dt.timedelta(days=3)).isoformat()
        response = client.post(
            self.url(conversation),
            {"text": TEXT, "logged_in_onstage_on": future, "action": "submit"},
        )
        assert response.status_code == 200
        content = response.content.decode()
        assert escape(TEXT) in content
        assert response.context["form"].errors["logged_in_onstage_on"]
        note = StudentNote.objects.get()
        assert note.text == "Oude versie"
        assert note.submitted_at is None

    def test_an_onstage_date_before_the_conversation_is_refused(self, client, held):
        case, conversation = held
        client.force_login(case.placement.student)
        before = (timezone.localdate() - dt.timedelta(days=30)).isoformat()
        response = client.post(
            self.url(conversation), {"text": TEXT, "logged_in_onstage_on": before}
        )
        assert response.status_code == 200
        assert escape(TEXT) in response.content.decode()
        assert not StudentNote.objects.exists()

    def test_submitting_an_empty_note_is_refused(self, client, held):
        case, conversation = held
        client.force_login(case.placement.student)
        response = client.post(self.url(conversation), {"text": "  ", "action": "submit"})
        assert response.status_code == 200
        assert response.context["form"].non_field_errors()
        assert not StudentNote.objects.filter(submitted_at__isnull=False).exists()

    def test_it_submits_and_the_others_read_it(self, client, held):
        case, conversation = held
        client.force_login(case.placement.student)
        today = timezone.localdate().isoformat()
        response = client.post(
            self.url(conversation),
            {"text": TEXT, "logged_in_onstage_on": today, "action": "submit"},
        )
        assert response.status_code == 302
        assert response.url.endswith(f"#conversation-{conversation.pk}")
        note = StudentNote.objects.get()
        assert note.submitted_at is not None
        assert note.logged_in_onstage_on == timezone.localdate()
        assert case.events.filter(name="student_note_submitted").exists()
        client.force_login(case.placement.school_trainer)
        content = client.get(case.get_absolute_url()).content.decode()
        assert escape(TEXT) in content
        assert reverse("conversations:note_download", args=[conversation.pk]) in content

    def test_a_submitted_note_only_takes_the_onstage_date(self, client, held):
        case, conversation = held
        StudentNoteFactory(conversation=conversation, submitted=True, text="Definitief")
        client.force_login(case.placement.student)
        page = client.get(self.url(conversation)).content.decode()
        assert 'name="text"' not in page
        assert "Definitief" in page
        response = client.post(
            self.url(conversation),
            {"text": "Stiekem anders", "logged_in_onstage_on": timezone.localdate().isoformat()},
        )
        assert response.status_code == 302
        note = StudentNote.objects.get()
        assert note.text == "Definitief"
        assert note.logged_in_onstage_on == timezone.localdate()


class TestNoteDownload:
    def url(self, conversation):
        return reverse("conversations:note_download", args=[conversation.pk])

    def test_unrelated_users_get_404(self, client, held):
        _case, conversation = held
        StudentNoteFactory(conversation=conversation, submitted=True)
        client.force_login(UserFactory())
        assert client.get(self.url(conversation)).status_code == 404

    def test_others_may_not_download_a_draft(self, client, held):
        case, conversation = held
        StudentNoteFactory(conversation=conversation, text="Concept")
        client.force_login(case.placement.mentor)
        assert client.get(self.url(conversation)).status_code == 403

    def test_the_student_downloads_their_draft_as_markdown(self, client, held):
        case, conversation = held
        StudentNoteFactory(conversation=conversation, text="Concept voor mijn portfolio")
        client.force_login(case.placement.student)
        response = client.get(self.url(conversation))
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/markdown")
        assert ".md" in response["Content-Disposition"]
        body = response.content.decode()
        assert body.startswith("# ")
        assert "Concept voor mijn portfolio" in body

    def test_the_school_trainer_downloads_a_submitted_note(self, client, held):
        case, conversation = held
        StudentNoteFactory(conversation=conversation, submitted=True, text="Ingediend")
        client.force_login(case.placement.school_trainer)
        response = client.get(self.url(conversation))
        assert response.status_code == 200
        assert "Ingediend" in response.content.decode()

    def test_without_a_note_it_goes_back_to_the_case(self, client, held):
        case, conversation = held
        client.force_login(case.placement.student)
        response = client.get(self.url(conversation), follow=True)
        anchor = f"{case.get_absolute_url()}#conversation-{conversation.pk}"
        assert response.redirect_chain == [(anchor, 302)]
        assert "Content-Disposition" not in response
        assert dutch("There is no note to download yet.") in response.content.decode()


@pytest.fixture
def absent_mentor():
    case = CaseFactory(improving=True)
    conversation = ConversationFactory(case=case, held=True, invite=True, starts_at=yesterday())
    invitation = conversation.invitations.get(person=case.placement.mentor)
    invitation.attended = False
    invitation.save()
    return case, invitation


class TestBriefing:
    def url(self, invitation):
        return reverse("conversations:brief", args=[invitation.pk])

    def test_unrelated_users_get_404(self, client, absent_mentor):
        _case, invitation = absent_mentor
        client.force_login(UserFactory())
        assert client.get(self.url(invitation)).status_code == 404
        assert client.post(self.url(invitation), {"note": "x"}).status_code == 404

    def test_the_student_may_not_record_a_briefing(self, client, absent_mentor):
        case, invitation = absent_mentor
        client.force_login(case.placement.student)
        assert client.get(self.url(invitation)).status_code == 403
        assert client.post(self.url(invitation), {"note": "x"}).status_code == 403
        invitation.refresh_from_db()
        assert invitation.briefed_at is None

    def test_the_case_page_shows_the_open_briefing_with_a_form(self, client, absent_mentor):
        case, invitation = absent_mentor
        client.force_login(case.placement.school_trainer)
        response = client.get(case.get_absolute_url())
        assert [b.invitation.pk for b in response.context["page"].open_briefings] == [invitation.pk]
        assert f'action="{self.url(invitation)}"' in response.content.decode()
        client.force_login(case.placement.student)
        response = client.get(case.get_absolute_url())
        assert f'action="{self.url(invitation)}"' not in response.content.decode()

    def test_get_changes_nothing(self, client, absent_mentor):
        case, invitation = absent_mentor
        client.force_login(case.placement.school_trainer)
        assert client.get(self.url(invitation)).status_code == 200
        invitation.refresh_from_db()
        assert invitation.briefed_at is None

    def test_it_records_the_briefing_with_the_note(self, client, absent_mentor):
        case, invitation = absent_mentor
        client.force_login(case.placement.study_coach)
        response = client.post(self.url(invitation), {"note": "Telefonisch bijgepraat"})
        assert response.status_code == 302
        invitation.refresh_from_db()
        assert invitation.briefed_by == case.placement.study_coach
        event = case.events.get(name="briefing_recorded")
        assert "Telefonisch bijgepraat" in event.note
        response = client.get(case.get_absolute_url())
        assert response.context["page"].open_briefings == []

    def test_an_already_briefed_person_keeps_the_note_typed(self, client, absent_mentor):
        case, invitation = absent_mentor
        invitation.briefed_at = timezone.now()
        invitation.briefed_by = case.placement.school_trainer
        invitation.save()
        client.force_login(case.placement.study_coach)
        assert client.get(self.url(invitation)).status_code == 302
        response = client.post(self.url(invitation), {"note": "Ook door mij gebeld"})
        assert response.status_code == 200
        assert "Ook door mij gebeld" in response.content.decode()
        assert response.context["form"].non_field_errors()


class TestConfirmRead:
    def url(self, invitation):
        return reverse("conversations:confirm_read", args=[invitation.pk])

    def test_get_is_not_allowed(self, client, absent_mentor):
        case, invitation = absent_mentor
        client.force_login(case.placement.mentor)
        assert client.get(self.url(invitation)).status_code == 405
        invitation.refresh_from_db()
        assert invitation.read_summary_at is None

    def test_unrelated_users_get_404(self, client, absent_mentor):
        _case, invitation = absent_mentor
        client.force_login(UserFactory())
        assert client.post(self.url(invitation)).status_code == 404

    def test_only_the_invited_person_confirms(self, client, absent_mentor):
        case, invitation = absent_mentor
        client.force_login(case.placement.school_trainer)
        assert client.post(self.url(invitation)).status_code == 403
        invitation.refresh_from_db()
        assert invitation.read_summary_at is None

    def test_the_briefed_person_confirms_on_the_case_page(self, client, absent_mentor):
        case, invitation = absent_mentor
        client.force_login(case.placement.mentor)
        content = client.get(case.get_absolute_url()).content.decode()
        assert f'action="{self.url(invitation)}"' in content
        response = client.post(self.url(invitation))
        assert response.status_code == 302
        assert response.url == case.get_absolute_url()
        invitation.refresh_from_db()
        assert invitation.read_summary_at is not None
        content = client.get(case.get_absolute_url()).content.decode()
        assert f'action="{self.url(invitation)}"' not in content

    def test_it_returns_to_a_safe_next_page_only(self, client, absent_mentor):
        case, invitation = absent_mentor
        client.force_login(case.placement.mentor)
        response = client.post(self.url(invitation), {"next": "https://evil.example.org/"})
        assert response.url == case.get_absolute_url()
        Invitation.objects.filter(pk=invitation.pk).update(read_summary_at=None)
        response = client.post(self.url(invitation), {"next": "/"})
        assert response.url == "/"
