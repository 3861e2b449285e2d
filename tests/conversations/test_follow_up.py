"""A follow-up (evaluation) conversation while the improvement actions run (issue #12, item 1):
planned and recorded without a change of the case's state, by the people who plan the first
conversation; the mentor sees it; not recorded before it starts."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from cases.models import Case, GuardFailed, NotPermitted, State
from conversations import services
from conversations.models import Conversation
from notifications.models import Notification
from tests.journeys import case_in, just_now, soon

pytestmark = pytest.mark.django_db


def plan(case, by, when=None):
    return services.follow_up_plan(
        case_id=case.pk, by=by, starts_at=when or just_now(), location="Lokaal 5"
    )


def record(conversation, by, **kw):
    return services.follow_up_record(
        conversation_id=conversation.pk,
        by=by,
        attendance={i.person_id: True for i in conversation.invitations.all()},
        summary="Acties geëvalueerd.",
        **kw,
    )


@pytest.mark.parametrize("role", ["mentor", "school_trainer", "study_coach", "office"])
def test_planned_and_recorded_while_improving_without_a_state_change(crew, role):
    case = case_in(crew, State.IMPROVING)
    conversation = plan(case, crew.get(role))
    assert conversation.kind == Conversation.Kind.FOLLOW_UP
    invited = {i.person for i in conversation.invitations.all()}
    assert invited == {crew.student, crew.mentor, crew.school_trainer, crew.study_coach}
    record(
        conversation,
        crew.get(role),
        actions=[services.ActionInput("Nieuwe afspraak", crew.student.pk, timezone.localdate())],
    )
    case.refresh_from_db()
    assert case.state == State.IMPROVING
    assert case.version > 1  # forms opened before say "changed meanwhile"
    assert case.actions.filter(description="Nieuwe afspraak").exists()
    names = list(case.events.values_list("name", flat=True))
    assert "conversation_follow_up_planned" in names and "follow_up_recorded" in names
    assert not case.events.filter(kind="transition").exists()


@pytest.mark.parametrize("role", ["student", "isop_owner", "coordinating_trainer"])
def test_not_planned_by_others(crew, role):
    case = case_in(crew, State.IMPROVING)
    with pytest.raises(NotPermitted):
        plan(case, crew.get(role))


@pytest.mark.parametrize("state", [State.SIGNALLED, State.CHANGE_REQUESTED, State.STOPPED])
def test_only_while_improving(crew, state):
    case = case_in(crew, state)
    with pytest.raises(GuardFailed):
        plan(case, crew.school_trainer)


def test_not_recorded_before_it_starts(crew):
    case = case_in(crew, State.IMPROVING)
    conversation = plan(case, crew.school_trainer, when=soon())
    with pytest.raises(GuardFailed):
        record(conversation, crew.school_trainer)
    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.PLANNED


def test_the_invitees_get_a_calendar_invitation(crew):
    case = case_in(crew, State.IMPROVING)
    plan(case, crew.school_trainer, when=soon())
    rows = Notification.objects.filter(case=case, event="conversation_follow_up_planned")
    assert {n.recipient_id for n in rows} == {
        crew.student.pk,
        crew.mentor.pk,
        crew.study_coach.pk,
    }
    assert all(n.attachment and "text/calendar" in n.attachment["mimetype"] for n in rows)


def test_the_mentor_sees_it_and_the_student_writes_a_note(crew, client):
    case = case_in(crew, State.IMPROVING)
    conversation = plan(case, crew.school_trainer)
    record(conversation, crew.school_trainer)
    client.force_login(crew.mentor)
    assert client.get(reverse("conversations:calendar", args=[conversation.pk])).status_code == 200
    client.force_login(crew.student)
    page = client.get(case.get_absolute_url())
    assert reverse("conversations:note", args=[conversation.pk]) in page.content.decode()


def test_the_pages(crew, client):
    case = case_in(crew, State.IMPROVING)
    client.force_login(crew.mentor)
    page = client.get(reverse("conversations:plan_follow_up", args=[case.pk]))
    assert page.status_code == 200
    when = timezone.localtime(just_now()).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        reverse("conversations:plan_follow_up", args=[case.pk]),
        {"seen_version": case.version, "starts_at": when, "location": "Online"},
    )
    assert response.status_code == 302
    conversation = Conversation.objects.get(case=case, kind="follow_up")
    case = Case.objects.get(pk=case.pk)
    url = reverse("conversations:record_follow_up", args=[conversation.pk])
    assert client.get(url).status_code == 200
    data = {
        "seen_version": case.version,
        "summary": "Besproken.",
        "actions-TOTAL_FORMS": "1",
        "actions-INITIAL_FORMS": "0",
        "actions-MIN_NUM_FORMS": "0",
        "actions-MAX_NUM_FORMS": "20",
        **{f"attended_{i.person_id}": "yes" for i in conversation.invitations.all()},
    }
    assert client.post(url, data).status_code == 302
    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.HELD
    client.force_login(crew.student)
    assert client.get(url).status_code == 403
