"""The case page: 404 for unrelated people, what it shows, blocked steps and a number of
queries that does not grow with the actions."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape

from cases.models import Case, Category, all_actions_evaluated
from tests.cases.factories import CaseFactory, PlacementFactory, UserFactory
from tests.conversations.factories import ConversationFactory, ImprovementActionFactory

pytestmark = pytest.mark.django_db


def dutch(message) -> str:
    """A message as the (Dutch) page shows it, HTML-escaped."""
    with translation.override("nl"):
        return escape(str(message))


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx)


class TestDetail:
    def test_unrelated_users_get_404(self, client):
        case = CaseFactory()
        client.force_login(UserFactory())
        assert client.get(reverse("portal:case", args=[case.pk])).status_code == 404

    def test_it_shows_state_people_description_timeline_and_steps(self, client):
        placement = PlacementFactory()
        client.force_login(placement.student)
        client.post(
            reverse("cases:signal"),
            {"placement": placement.pk, "categories": [Category.OTHER], "description": "Hulp!"},
        )
        case = Case.objects.get()
        client.force_login(placement.school_trainer)
        response = client.get(reverse("portal:case", args=[case.pk]))
        content = response.content.decode()
        assert response.status_code == 200
        assert "Hulp!" in content
        for person in (placement.student, placement.mentor, placement.study_coach):
            assert escape(str(person)) in content
        page = response.context["page"]
        assert [row.event.name for row in page.timeline] == ["signal"]
        step_names = [s.name for s in page.steps]
        assert step_names == ["plan_conversation"]
        assert reverse("conversations:plan", args=[case.pk]) in content
        assert reverse("cases:withdraw", args=[case.pk]) in content

    def test_a_blocked_step_shows_its_reason(self, client):
        case = CaseFactory(improving=True)
        ImprovementActionFactory(case=case)
        client.force_login(case.placement.school_trainer)
        response = client.get(reverse("portal:case", args=[case.pk]))
        resolve = next(s for s in response.context["page"].steps if s.name == "resolve")
        assert resolve.blocked_reason
        assert dutch(all_actions_evaluated.message) in response.content.decode()

    def test_it_needs_the_same_number_of_queries_for_1_and_5_actions(
        self, client, django_assert_num_queries
    ):
        case = CaseFactory(improving=True)
        conversation = ConversationFactory(case=case, held=True, invite=True)
        ImprovementActionFactory(case=case, conversation=conversation)
        client.force_login(case.placement.school_trainer)
        url = reverse("portal:case", args=[case.pk])
        one = count_queries(client, url)
        for _ in range(4):
            ImprovementActionFactory(case=case, conversation=conversation, evaluated=True)
        ConversationFactory(case=case, held=True, invite=True, change=True, answered=True)
        with django_assert_num_queries(one):
            response = client.get(url)
        assert len(response.context["page"].actions) == 5
