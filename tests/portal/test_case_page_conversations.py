"""The conversation parts of the case page: history, notes, briefings, the change prompt, and
a number of queries that does not grow with the conversations, notes, briefings or actions."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape

from tests.cases.factories import CaseFactory
from tests.conversations.factories import (
    ConversationFactory,
    ImprovementActionFactory,
    StudentNoteFactory,
)

pytestmark = pytest.mark.django_db


def past(days=1):
    return timezone.now() - dt.timedelta(days=days)


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx)


def add_history(case, n: int) -> None:
    """n rounds of: a cancelled conversation, a held one with an absent mentor (one briefed,
    one not), a student's note (draft or submitted) and two actions."""
    mentor = case.placement.mentor
    for i in range(n):
        ConversationFactory(case=case, invite=True, cancelled=True, starts_at=past(40 + i))
        held = ConversationFactory(case=case, held=True, invite=True, starts_at=past(30 + i))
        invitation = held.invitations.get(person=mentor)
        invitation.attended = False
        if i % 2:
            invitation.briefed_at = timezone.now()
            invitation.briefed_by = case.placement.school_trainer
        invitation.save()
        StudentNoteFactory(conversation=held, submitted=bool(i % 2))
        ImprovementActionFactory(case=case, conversation=held)
        ImprovementActionFactory(case=case, conversation=held, evaluated=True)


@pytest.mark.parametrize("role", ["school_trainer", "student", "mentor"])
def test_the_case_page_does_not_grow_with_conversations_notes_and_briefings(
    client, django_assert_num_queries, role
):
    case = CaseFactory(improving=True)
    add_history(case, 1)
    client.force_login(getattr(case.placement, role))
    url = reverse("portal:case", args=[case.pk])
    one = count_queries(client, url)
    add_history(case, 4)
    ConversationFactory(case=case, change=True, invite=True, held=True, answered=True)
    with django_assert_num_queries(one):
        response = client.get(url)
    # The mentor does not see the all-party conversation (need-to-know, cases/rules.py).
    page = response.context["page"]
    assert len(page.conversations) == (10 if role == "mentor" else 11)
    assert len(page.actions) == 10


def test_a_change_is_offered_prominently_when_an_action_did_not_help(client):
    case = CaseFactory(improving=True)
    ImprovementActionFactory(case=case, evaluation="partly", status="done")
    client.force_login(case.placement.student)
    response = client.get(case.get_absolute_url())
    content = response.content.decode()
    assert "change-prompt" in content
    assert reverse("transfers:request", args=[case.pk]) in content
    assert len(response.context["page"].insufficient_actions) == 1


def test_the_mentor_is_told_who_may_ask_for_a_change(client):
    case = CaseFactory(improving=True)
    ImprovementActionFactory(case=case, evaluation="not_helped", status="done")
    client.force_login(case.placement.mentor)
    content = client.get(case.get_absolute_url()).content.decode()
    assert "change-prompt" in content
    assert reverse("transfers:request", args=[case.pk]) not in content


def test_no_prompt_while_the_actions_help(client):
    case = CaseFactory(improving=True)
    ImprovementActionFactory(case=case, evaluated=True)
    ImprovementActionFactory(case=case)
    client.force_login(case.placement.school_trainer)
    content = client.get(case.get_absolute_url()).content.decode()
    assert "change-prompt" not in content
    # Still allowed earlier, with a reason: the ordinary step.
    assert reverse("transfers:request", args=[case.pk]) in content


def test_the_student_is_invited_to_write_the_note(client):
    case = CaseFactory(improving=True)
    held = ConversationFactory(case=case, held=True, invite=True, starts_at=past())
    client.force_login(case.placement.student)
    content = client.get(case.get_absolute_url()).content.decode()
    assert reverse("conversations:note", args=[held.pk]) in content
    with translation.override("nl"):
        assert escape(translation.gettext("Write your note")) in content
    client.force_login(case.placement.mentor)
    content = client.get(case.get_absolute_url()).content.decode()
    assert reverse("conversations:note", args=[held.pk]) not in content
