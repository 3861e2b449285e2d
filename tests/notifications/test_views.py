"""The in-app inbox: the user's notifications, mark one or all as read, the unread badge."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape

from cases.models import EVENT_LABELS
from notifications.models import Notification
from tests.cases.factories import CaseFactory, UserFactory

pytestmark = pytest.mark.django_db


def make(recipient, case, event="signal", **kwargs) -> Notification:
    return Notification.objects.create(
        recipient=recipient,
        case=case,
        event=event,
        actor=case.signalled_by,
        dedupe_key=f"{case.pk}:{event}:{recipient.pk}:{Notification.objects.count()}",
        **kwargs,
    )


@pytest.mark.parametrize("path", ["/inbox/", "/inbox/1/read/", "/inbox/read-all/"])
def test_it_sends_anonymous_visitors_to_login(client, path):
    response = client.get(path) if path == "/inbox/" else client.post(path)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_it_lists_only_my_notifications_with_label_and_case_link(client):
    case = CaseFactory()
    me = case.placement.mentor
    mine = make(me, case, event="plan_conversation")
    make(case.placement.study_coach, case, event="resolve")
    client.force_login(me)
    response = client.get(reverse("notifications:inbox"))
    assert response.status_code == 200
    assert list(response.context["page"].object_list) == [mine]
    content = response.content.decode()
    with translation.override("nl"):
        assert escape(str(EVENT_LABELS["plan_conversation"])) in content
        assert escape(str(EVENT_LABELS["resolve"])) not in content
    assert case.get_absolute_url() in content


def test_the_navbar_shows_the_unread_count(client):
    case = CaseFactory()
    me = case.placement.mentor
    make(me, case, event="signal")
    make(me, case, event="plan_conversation")
    client.force_login(me)
    response = client.get(reverse("cases:my_cases"))
    assert response.context["unread_notifications"] == 2
    assert b'badge rounded-pill text-bg-warning ms-1">2<' in response.content


def test_the_unread_badge_stops_counting_at_a_hundred(client):
    case = CaseFactory()
    me = case.placement.mentor
    Notification.objects.bulk_create(
        Notification(recipient=me, case=case, event="signal", dedupe_key=f"k{i}")
        for i in range(150)
    )
    client.force_login(me)
    response = client.get(reverse("cases:my_cases"))
    assert response.context["unread_notifications"] == 100  # counted over a LIMIT 100
    assert b'badge rounded-pill text-bg-warning ms-1">99+<' in response.content
    Notification.objects.filter(pk__in=Notification.objects.values("pk")[:51]).update(
        read_at=timezone.now()
    )
    response = client.get(reverse("cases:my_cases"))
    assert b'badge rounded-pill text-bg-warning ms-1">99<' in response.content


def test_it_marks_one_as_read(client):
    case = CaseFactory()
    me = case.placement.mentor
    first = make(me, case, event="signal")
    second = make(me, case, event="plan_conversation")
    client.force_login(me)
    response = client.post(reverse("notifications:mark_read", args=[first.pk]))
    assert response.status_code == 302
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.read_at is not None
    assert second.read_at is None


def test_it_cannot_mark_someone_elses_notification(client):
    case = CaseFactory()
    theirs = make(case.placement.study_coach, case)
    client.force_login(case.placement.mentor)
    assert client.post(reverse("notifications:mark_read", args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_read_needs_post(client):
    case = CaseFactory()
    mine = make(case.placement.mentor, case)
    client.force_login(case.placement.mentor)
    assert client.get(reverse("notifications:mark_read", args=[mine.pk])).status_code == 405


def test_it_marks_all_as_read_but_only_mine(client):
    case = CaseFactory()
    me = case.placement.mentor
    make(me, case, event="signal")
    make(me, case, event="plan_conversation")
    other = make(case.placement.study_coach, case)
    client.force_login(me)
    response = client.post(reverse("notifications:mark_all_read"))
    assert response.status_code == 302
    assert not Notification.objects.filter(recipient=me, read_at__isnull=True).exists()
    other.refresh_from_db()
    assert other.read_at is None


def test_the_unread_filter(client):
    case = CaseFactory()
    me = case.placement.mentor
    read = make(me, case, event="signal")
    unread = make(me, case, event="plan_conversation")
    client.force_login(me)
    client.post(reverse("notifications:mark_read", args=[read.pk]))
    response = client.get("/inbox/?show=unread")
    assert list(response.context["page"].object_list) == [unread]


def test_mark_read_does_not_redirect_off_site(client):
    case = CaseFactory()
    mine = make(case.placement.mentor, case)
    client.force_login(case.placement.mentor)
    response = client.post(
        reverse("notifications:mark_read", args=[mine.pk]), {"next": "https://evil.example/"}
    )
    assert response.url == reverse("notifications:inbox")


def test_a_user_with_no_notifications_sees_an_empty_inbox(client):
    case = CaseFactory()
    make(case.placement.mentor, case)  # someone else's
    client.force_login(UserFactory())
    response = client.get(reverse("notifications:inbox"))
    assert response.status_code == 200
    assert list(response.context["page"].object_list) == []
    content = response.content.decode()
    with translation.override("nl"):
        assert escape(translation.gettext("No notifications.")) in content
        assert escape(str(EVENT_LABELS["signal"])) not in content
    assert case.get_absolute_url() not in content
