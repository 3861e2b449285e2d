"""The case page's query budget (at most 13, counting session, user and roles) for a case that
went the whole change path, and the request's user loaded with its roles and unread count in
one query without going stale across requests."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cases import services as case_services
from cases.models import Category, Role, State
from tests.cases.factories import PlacementFactory, UserFactory
from tests.journeys import change_path

pytestmark = pytest.mark.django_db

# 13 for the page, plus 1: the access-log row (one INSERT with the student as a subquery).
# It was 12: the people on the case are now read in a query of their own instead of seven
# joins of the user table in the case's query, whose planning cost 5 to 30 ms where the two
# simpler queries take about 2.5 (#17).
BUDGET = 13 + 1


def count_queries(client, url: str):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx), response


@pytest.mark.parametrize("who", ["office", "isop", "student", "old_coach", "new_coach"])
def test_a_case_on_the_whole_change_path_takes_at_most_13_queries(client, who):
    case, placement, office, isop = change_path()
    assert case.state == State.HANDOVER
    user = {
        "office": office,
        "isop": isop,
        "student": placement.student,
        "old_coach": placement.study_coach,
        "new_coach": case.placement.study_coach,
    }[who]
    client.force_login(user)
    url = reverse("portal:case", args=[case.pk])
    n, response = count_queries(client, url)
    assert n <= BUDGET
    page = response.context["page"]
    assert len(page.conversations) == 2
    assert len(page.change_requests) == 1
    assert len(page.outcome_reports) == 1
    assert page.outcome_reports[0].positions
    assert len(page.isop_requests) == 1
    assert len(page.wrap_ups) == 1
    assert len(page.transfers) == 1
    assert len(page.handovers) == 1
    assert sorted(page.categories) == sorted([Category.WELLBEING.label, Category.CLASSROOM.label])
    told = response.content.decode()
    assert "told-list" in told


def test_a_closed_transferred_case_stays_within_budget_too(client):
    case, placement, office, _isop = change_path(handover_confirmed=True)
    assert case.state == State.CLOSED_TRANSFERRED
    client.force_login(office)
    n, response = count_queries(client, reverse("portal:case", args=[case.pk]))
    assert n <= BUDGET
    assert response.context["page"].handovers[0].handover.confirmed_at is not None


def test_a_fresh_case_takes_fewer_queries_than_one_on_the_change_path(client):
    placement = PlacementFactory()
    case = case_services.case_signal(
        placement=placement, by=placement.student, categories=[Category.OTHER], description="x"
    )
    client.force_login(placement.school_trainer)
    n, response = count_queries(client, reverse("portal:case", args=[case.pk]))
    assert n <= 8 + 1  # + 1: the access-log row
    assert response.context["page"].conversations == []
    assert response.context["page"].categories == [Category.OTHER.label]


def test_the_old_coach_still_sees_the_open_handover_to_confirm(client):
    case, placement, _office, _isop = change_path()
    client.force_login(placement.study_coach)
    response = client.get(reverse("portal:case", args=[case.pk]))
    assert "old_study_coach" in case.roles_of(placement.study_coach)
    steps = {s.name: s for s in response.context["page"].steps}
    assert "confirm_handover" in steps, sorted(steps)
    assert steps["confirm_handover"].blocked_reason is None
    assert reverse("transfers:handover", args=[case.pk]) in response.content.decode()


class TestRequestUser:
    def test_a_change_of_groups_counts_from_the_next_request(self, client):
        user = UserFactory()
        client.force_login(user)
        assert client.get(reverse("office:dashboard")).status_code == 403
        user.groups.add(Group.objects.get_or_create(name=Role.OFFICE)[0])
        assert client.get(reverse("office:dashboard")).status_code == 200
        user.groups.clear()
        assert client.get(reverse("office:dashboard")).status_code == 403

    def test_the_unread_badge_counts_the_users_unread_notifications(self, client):
        case, placement, _office, _isop = change_path()
        from notifications.models import Notification

        student = placement.student
        unread = Notification.objects.filter(recipient=student, read_at__isnull=True).count()
        client.force_login(student)
        response = client.get(reverse("portal:case", args=[case.pk]))
        assert response.context["unread_notifications"] == unread
        Notification.objects.filter(recipient=student).update(read_at=timezone.now())
        response = client.get(reverse("portal:case", args=[case.pk]))
        assert response.context["unread_notifications"] == 0
