"""Issue #12, item 10: the "steps you can take now" panel lists every step the person can take
(also writing the student's note and opening a confidential signal), and the timeline is
stored as data and rendered in the reader's language (no English code in a Dutch timeline)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils.html import escape

from cases import services as case_services
from cases.models import Category, State
from conversations import services as conversations
from tests.conversations.factories import ConversationFactory, ImprovementActionFactory
from tests.journeys import act, case_in
from tests.transfers.factories import IsopAdviceFactory, WrapUpFactory

pytestmark = pytest.mark.django_db


def panel(client, user, case):
    client.force_login(user)
    response = client.get(case.get_absolute_url())
    assert response.status_code == 200
    return response.context["page"], response.content.decode()


def urls(page) -> set[str]:
    return {step.url for step in page.extra_steps}


def test_the_student_is_asked_to_write_the_note(crew, client):
    case = case_in(crew, State.IMPROVING)
    conversation = ConversationFactory(case=case, held=True, invite=True)
    page, content = panel(client, crew.student, case)
    note = reverse("conversations:note", args=[conversation.pk])
    assert note in urls(page)
    assert 'class="list-unstyled mb-0 step-list"' in content
    conversations.note_save(
        conversation_id=conversation.pk, by=crew.student, text="Mijn notitie.", submit=True
    )
    page, _content = panel(client, crew.student, case)
    assert note not in urls(page)


def test_the_office_finds_opening_a_confidential_signal_among_the_steps(crew, client):
    case = case_services.case_signal(
        placement=crew.placement,
        by=crew.student,
        categories=[Category.MENTOR_RELATIONSHIP],
        description="Vertrouwelijk.",
        confidential=True,
    )
    page, _content = panel(client, crew.office, case)
    release = reverse("cases:release_confidential", args=[case.pk])
    assert [step.post for step in page.extra_steps if step.url == release] == [True]


def test_follow_up_evaluation_wrap_up_and_secondary_steps(crew, client):
    case = case_in(crew, State.IMPROVING)
    action = ImprovementActionFactory(case=case, owner=crew.student)
    page, _content = panel(client, crew.mentor, case)
    assert reverse("conversations:plan_follow_up", args=[case.pk]) in urls(page)
    page, _content = panel(client, crew.student, case)
    assert reverse("conversations:evaluate_action", args=[action.pk]) in urls(page)
    # Beside the process: the acute stop is there for the student, apart from the next steps.
    assert [s.name for s in page.secondary_steps] == ["stop_now"]
    assert "stop_now" not in [s.name for s in page.steps]

    transfer = case_in(crew, State.TRANSFER_REQUESTED)
    WrapUpFactory(case=transfer)  # recorded by the trainer: the student agrees
    page, _content = panel(client, crew.student, transfer)
    assert reverse("transfers:wrap_up_confirm", args=[transfer.pk]) in urls(page)
    page, _content = panel(client, crew.mentor, transfer)
    assert reverse("transfers:wrap_up_confirm", args=[transfer.pk]) not in urls(page)


def test_a_closed_case_offers_the_office_to_reopen_it(crew, client):
    case = case_in(crew, State.CLOSED_RESOLVED)
    page, content = panel(client, crew.office, case)
    assert [s.name for s in page.steps] == ["reopen"]
    assert reverse("cases:reopen", args=[case.pk]) in content


def test_no_english_code_in_a_dutch_timeline(crew, client):
    case = case_in(crew, State.IMPROVING)
    action = ImprovementActionFactory(case=case, description="Wekelijks feedback")
    conversations.action_evaluate(action_id=action.pk, by=crew.school_trainer, evaluation="helped")
    event = case.events.get(name="action_evaluated")
    assert event.note == "Wekelijks feedback" and event.data == {"evaluation": "helped"}
    crew.school_trainer.language = "nl"
    crew.school_trainer.save()
    _page, content = panel(client, crew.school_trainer, case)
    timeline = content[content.index('id="timeline-heading"') :]
    assert "Evaluatie: geholpen" in timeline
    assert "helped" not in timeline


def test_a_rescheduled_conversation_says_when_it_was_in_the_readers_language(crew, client):
    case = case_in(crew, State.CONVERSATION_PLANNED)
    conversation = ConversationFactory(case=case, invite=True)
    was = conversation.starts_at
    conversations.conversation_reschedule(
        conversation_id=conversation.pk,
        by=crew.school_trainer,
        starts_at=was + dt.timedelta(days=1),
        location="Lokaal 9",
    )
    event = case.events.get(name="conversation_rescheduled")
    assert event.note == "" and event.data["was"] == was.isoformat()
    _page, content = panel(client, crew.school_trainer, case)
    assert escape("Was: ") in content


def test_the_mentor_does_not_read_the_details_of_the_change_path(crew, client):
    case = case_in(crew, State.DECISION_PENDING)
    IsopAdviceFactory(case=case, given=True, decision="transfer")
    act("decide", case, crew.office, decision="continue", reason="Nog een kans.")
    page, _content = panel(client, crew.mentor, case)
    row = next(r for r in page.timeline if r.event.name == "decide")
    assert (row.note, row.detail) == ("", "")
    page, _content = panel(client, crew.school_trainer, case)
    row = next(r for r in page.timeline if r.event.name == "decide")
    assert row.note == "Nog een kans." and row.detail
