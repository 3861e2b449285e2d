"""The conversation pages: plan, record (problem and all-party), add and evaluate actions."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape

from cases.models import (
    FIVE_ANSWERS,
    Role,
    State,
    change_conversation_has_required_people,
)
from cases.services import CaseChangedMeanwhile
from conversations.models import Conversation, ImprovementAction
from tests.cases.factories import CaseFactory, PlacementFactory, UserFactory
from tests.conversations.factories import ConversationFactory, ImprovementActionFactory
from tests.journeys import just_now

pytestmark = pytest.mark.django_db

WHEN = (timezone.localdate() + dt.timedelta(days=3)).strftime("%Y-%m-%dT10:30")
DUE = (timezone.localdate() + dt.timedelta(days=14)).isoformat()


def dutch(message) -> str:
    with translation.override("nl"):
        return escape(str(message))


def changed_meanwhile() -> str:
    return dutch(CaseChangedMeanwhile().message)


@pytest.mark.parametrize(
    "url",
    [
        "/cases/1/conversation/plan/",
        "/cases/1/conversation/record/",
        "/cases/1/actions/new/",
        "/cases/actions/1/evaluate/",
    ],
)
def test_it_sends_anonymous_visitors_to_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


class TestPlan:
    def url(self, case):
        return reverse("conversations:plan", args=[case.pk])

    def data(self, case, **extra):
        return {"seen_version": case.version, "starts_at": WHEN, "location": "Lokaal 1.12", **extra}

    def test_unrelated_users_get_404(self, client):
        case = CaseFactory()
        client.force_login(UserFactory())
        assert client.get(self.url(case)).status_code == 404
        assert client.post(self.url(case), self.data(case)).status_code == 404

    def test_the_student_may_not_plan(self, client):
        case = CaseFactory()
        client.force_login(case.placement.student)
        assert client.get(self.url(case)).status_code == 403
        assert client.post(self.url(case), self.data(case)).status_code == 403
        case.refresh_from_db()
        assert case.state == State.SIGNALLED
        assert not Conversation.objects.exists()

    def test_it_shows_the_invitees_from_the_placement(self, client):
        case = CaseFactory()
        client.force_login(case.placement.school_trainer)
        response = client.get(self.url(case))
        assert response.status_code == 200
        content = response.content.decode()
        for person in (case.placement.student, case.placement.mentor, case.placement.study_coach):
            assert escape(str(person)) in content
        assert 'type="datetime-local"' in content
        assert "with_coordinating_trainer" not in content

    def test_it_plans_the_problem_conversation(self, client):
        case = CaseFactory()
        client.force_login(case.placement.school_trainer)
        response = client.post(self.url(case), self.data(case))
        assert response.status_code == 302
        assert response.url == reverse("portal:case", args=[case.pk])
        case.refresh_from_db()
        assert case.state == State.CONVERSATION_PLANNED
        conversation = case.conversations.get()
        assert conversation.kind == Conversation.Kind.PROBLEM
        assert conversation.location == "Lokaal 1.12"
        assert conversation.invitations.count() == 4
        assert timezone.localtime(conversation.starts_at).strftime("%Y-%m-%dT%H:%M") == WHEN

    def test_it_plans_the_change_conversation_with_the_coordinating_trainer(self, client):
        coordinator = UserFactory()
        case = CaseFactory(
            office_informed=True, placement=PlacementFactory(coordinating_trainer=coordinator)
        )
        client.force_login(case.placement.school_trainer)
        assert b"with_coordinating_trainer" in client.get(self.url(case)).content
        response = client.post(self.url(case), self.data(case, with_coordinating_trainer="on"))
        assert response.status_code == 302
        case.refresh_from_db()
        assert case.state == State.CHANGE_CONVERSATION_PLANNED
        roles = set(case.conversations.get().invitations.values_list("role", flat=True))
        assert roles == {
            Role.STUDENT,
            Role.SCHOOL_TRAINER,
            Role.STUDY_COACH,
            Role.COORDINATING_TRAINER,
        }

    def test_a_refusal_keeps_what_was_typed(self, client):
        case = CaseFactory(improving=True)
        client.force_login(case.placement.school_trainer)
        response = client.post(self.url(case), self.data(case, location="Aula, achterin"))
        assert response.status_code == 200
        assert "Aula, achterin" in response.content.decode()
        assert response.context["form"].non_field_errors()
        assert not Conversation.objects.exists()

    def test_a_stale_version_says_changed_meanwhile(self, client):
        case = CaseFactory()
        client.force_login(case.placement.school_trainer)
        response = client.post(
            self.url(case), self.data(case, seen_version=99, location="Lokaal 7")
        )
        assert response.status_code == 409
        assert changed_meanwhile() in response.content.decode()
        assert "Lokaal 7" in response.content.decode()
        assert not Conversation.objects.exists()


def attendance(conversation, absent=()) -> dict:
    return {
        f"attended_{i.person_id}": "no" if i.person_id in absent else "yes"
        for i in conversation.invitations.all()
    }


def actions_data(*rows) -> dict:
    data = {
        "actions-TOTAL_FORMS": str(max(len(rows), 3)),
        "actions-INITIAL_FORMS": "0",
        "actions-MIN_NUM_FORMS": "1",
        "actions-MAX_NUM_FORMS": "20",
    }
    for index, (description, owner, due) in enumerate(rows):
        data[f"actions-{index}-description"] = description
        data[f"actions-{index}-owner"] = str(owner.pk)
        data[f"actions-{index}-due_date"] = due
    return data


class TestRecordProblemConversation:
    @pytest.fixture
    def case(self):
        case = CaseFactory(conversation_planned=True)
        ConversationFactory(case=case, invite=True, starts_at=just_now())
        return case

    def url(self, case):
        return reverse("conversations:record", args=[case.pk])

    def test_unrelated_users_get_404(self, client, case):
        client.force_login(UserFactory())
        assert client.get(self.url(case)).status_code == 404

    def test_the_student_may_not_record(self, client, case):
        conversation = case.conversations.get()
        client.force_login(case.placement.student)
        assert client.get(self.url(case)).status_code == 403
        data = {
            "seen_version": case.version,
            "summary": "x",
            **attendance(conversation),
            **actions_data(("Feedback", case.placement.mentor, DUE)),
        }
        assert client.post(self.url(case), data).status_code == 403
        case.refresh_from_db()
        assert case.state == State.CONVERSATION_PLANNED

    def test_it_records_attendance_summary_and_actions(self, client, case):
        conversation = case.conversations.get()
        client.force_login(case.placement.school_trainer)
        page = client.get(self.url(case))
        assert page.status_code == 200
        assert b'type="radio"' in page.content
        data = {
            "seen_version": case.version,
            "summary": "Afspraken gemaakt over feedback.",
            **attendance(conversation, absent={case.placement.mentor.pk}),
            **actions_data(
                ("Wekelijks feedbackgesprek", case.placement.mentor, DUE),
                ("Lesvoorbereiding delen", case.placement.student, DUE),
            ),
        }
        response = client.post(self.url(case), data)
        assert response.status_code == 302
        case.refresh_from_db()
        conversation.refresh_from_db()
        assert case.state == State.IMPROVING
        assert conversation.status == Conversation.Status.HELD
        assert conversation.summary == "Afspraken gemaakt over feedback."
        assert conversation.invitations.get(person=case.placement.mentor).attended is False
        assert set(case.actions.values_list("description", flat=True)) == {
            "Wekelijks feedbackgesprek",
            "Lesvoorbereiding delen",
        }

    def test_at_least_one_action_is_required_and_the_text_is_kept(self, client, case):
        conversation = case.conversations.get()
        client.force_login(case.placement.school_trainer)
        data = {
            "seen_version": case.version,
            "summary": "Een lange samenvatting die niet verloren mag gaan.",
            **attendance(conversation),
            **actions_data(),
        }
        response = client.post(self.url(case), data)
        assert response.status_code == 200
        assert "Een lange samenvatting die niet verloren mag gaan." in response.content.decode()
        case.refresh_from_db()
        assert case.state == State.CONVERSATION_PLANNED

    def test_a_stale_version_says_changed_meanwhile(self, client, case):
        conversation = case.conversations.get()
        client.force_login(case.placement.school_trainer)
        data = {
            "seen_version": 99,
            "summary": "Samenvatting X",
            **attendance(conversation),
            **actions_data(("Feedback", case.placement.mentor, DUE)),
        }
        response = client.post(self.url(case), data)
        assert response.status_code == 409
        assert changed_meanwhile() in response.content.decode()
        assert "Samenvatting X" in response.content.decode()
        case.refresh_from_db()
        assert case.state == State.CONVERSATION_PLANNED

    def test_a_cancelled_conversation_sends_back_to_the_case(self, client):
        case = CaseFactory(conversation_planned=True)
        ConversationFactory(case=case, invite=True, cancelled=True)
        client.force_login(case.placement.school_trainer)
        response = client.get(self.url(case), follow=True)
        assert response.redirect_chain == [(case.get_absolute_url(), 302)]
        no_plan = translation.gettext_lazy("There is no planned conversation: plan one first.")
        assert dutch(no_plan) in response.content.decode()
        case.refresh_from_db()
        assert case.state == State.CONVERSATION_PLANNED


class TestRecordChangeConversation:
    def url(self, case):
        return reverse("conversations:record", args=[case.pk])

    def data(self, case, conversation):
        return {
            "seen_version": case.version,
            "summary": "Iedereen is gehoord.",
            **attendance(conversation),
            **{name: f"Antwoord op {name}" for name in FIVE_ANSWERS},
        }

    def test_it_records_the_five_answers(self, client):
        case = CaseFactory(change_conversation_planned=True)
        conversation = ConversationFactory(
            case=case, change=True, invite=True, starts_at=just_now()
        )
        client.force_login(case.placement.study_coach)
        page = client.get(self.url(case))
        assert page.status_code == 200
        assert b"actions-TOTAL_FORMS" not in page.content
        response = client.post(self.url(case), self.data(case, conversation))
        assert response.status_code == 302
        case.refresh_from_db()
        conversation.refresh_from_db()
        assert case.state == State.OUTCOME_PENDING
        assert conversation.school_offers == "Antwoord op school_offers"

    def test_a_guard_failure_is_shown_with_the_answers_kept(self, client):
        case = CaseFactory(change_conversation_planned=True)
        conversation = ConversationFactory(
            case=case,
            change=True,
            invite=[Role.STUDENT, Role.SCHOOL_TRAINER],
            starts_at=just_now(),
        )
        client.force_login(case.placement.school_trainer)
        response = client.post(self.url(case), self.data(case, conversation))
        assert response.status_code == 200
        content = response.content.decode()
        assert dutch(change_conversation_has_required_people.message) in content
        assert "Antwoord op when_it_goes_well" in content
        case.refresh_from_db()
        assert case.state == State.CHANGE_CONVERSATION_PLANNED
        conversation.refresh_from_db()
        assert conversation.status == Conversation.Status.PLANNED

    def test_all_five_answers_are_required(self, client):
        case = CaseFactory(change_conversation_planned=True)
        conversation = ConversationFactory(case=case, change=True, invite=True)
        client.force_login(case.placement.school_trainer)
        data = self.data(case, conversation)
        data["student_needs"] = ""
        response = client.post(self.url(case), data)
        assert response.status_code == 200
        assert response.context["form"].errors["student_needs"]
        case.refresh_from_db()
        assert case.state == State.CHANGE_CONVERSATION_PLANNED


class TestActions:
    def test_the_school_trainer_adds_an_action(self, client):
        case = CaseFactory(improving=True)
        client.force_login(case.placement.school_trainer)
        url = reverse("conversations:add_action", args=[case.pk])
        assert client.get(url).status_code == 200
        response = client.post(
            url,
            {
                "seen_version": case.version,
                "description": "Observatie door de coach",
                "owner": case.placement.study_coach.pk,
                "due_date": DUE,
            },
        )
        assert response.status_code == 302
        action = ImprovementAction.objects.get()
        assert action.owner == case.placement.study_coach
        assert case.events.filter(name="action_added").exists()

    def test_the_student_may_not_add_an_action(self, client):
        case = CaseFactory(improving=True)
        client.force_login(case.placement.student)
        url = reverse("conversations:add_action", args=[case.pk])
        assert client.get(url).status_code == 403
        response = client.post(
            url,
            {
                "seen_version": case.version,
                "description": "x",
                "owner": case.placement.student.pk,
                "due_date": DUE,
            },
        )
        assert response.status_code == 403
        assert not ImprovementAction.objects.exists()

    def test_adding_in_a_closed_case_is_refused_with_the_text_kept(self, client):
        case = CaseFactory(closed_resolved=True)
        client.force_login(case.placement.school_trainer)
        url = reverse("conversations:add_action", args=[case.pk])
        response = client.post(
            url,
            {
                "seen_version": case.version,
                "description": "Nog een actie",
                "owner": case.placement.mentor.pk,
                "due_date": DUE,
            },
        )
        assert response.status_code == 200
        assert "Nog een actie" in response.content.decode()
        assert response.context["form"].non_field_errors()

    def test_unrelated_users_get_404(self, client):
        case = CaseFactory(improving=True)
        action = ImprovementActionFactory(case=case)
        client.force_login(UserFactory())
        assert client.get(reverse("conversations:add_action", args=[case.pk])).status_code == 404
        url = reverse("conversations:evaluate_action", args=[action.pk])
        assert client.get(url).status_code == 404

    def test_the_owner_evaluates_their_action(self, client):
        case = CaseFactory(improving=True)
        action = ImprovementActionFactory(case=case)
        client.force_login(case.placement.mentor)
        url = reverse("conversations:evaluate_action", args=[action.pk])
        assert client.get(url).status_code == 200
        response = client.post(
            url,
            {
                "seen_version": case.version,
                "evaluation": "partly",
                "comment": "Iets beter.",
            },
        )
        assert response.status_code == 302
        action.refresh_from_db()
        assert action.evaluation == ImprovementAction.Evaluation.PARTLY
        assert action.evaluation_comment == "Iets beter."

    def test_the_student_may_not_evaluate_an_action_they_do_not_own(self, client):
        case = CaseFactory(improving=True)
        action = ImprovementActionFactory(case=case)
        client.force_login(case.placement.student)
        url = reverse("conversations:evaluate_action", args=[action.pk])
        assert client.get(url).status_code == 403
        response = client.post(url, {"seen_version": case.version, "evaluation": "helped"})
        assert response.status_code == 403
        action.refresh_from_db()
        assert action.evaluation == ""

    def test_a_stale_version_says_changed_meanwhile(self, client):
        case = CaseFactory(improving=True)
        action = ImprovementActionFactory(case=case)
        client.force_login(case.placement.school_trainer)
        url = reverse("conversations:evaluate_action", args=[action.pk])
        response = client.post(
            url,
            {
                "seen_version": 99,
                "evaluation": "helped",
                "comment": "Mijn commentaar",
            },
        )
        assert response.status_code == 409
        assert "Mijn commentaar" in response.content.decode()
        action.refresh_from_db()
        assert action.evaluation == ""

    def test_the_case_page_offers_evaluation_to_allowed_users_only(self, client):
        case = CaseFactory(improving=True)
        action = ImprovementActionFactory(case=case)
        url = reverse("conversations:evaluate_action", args=[action.pk])
        client.force_login(case.placement.study_coach)
        assert url in client.get(case.get_absolute_url()).content.decode()
        client.force_login(case.placement.student)
        assert url not in client.get(case.get_absolute_url()).content.decode()
