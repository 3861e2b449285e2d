"""'Confidential to the internship office first': a student's signal that only the office sees
until it opens it (for when the problem is the mentor or the school trainer)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from cases import services
from cases.models import Case, CaseEvent, Category, GuardFailed, State
from deadlines.scan import scan
from notifications.models import Notification
from tests.cases.factories import CaseFactory, PlacementFactory, UserFactory

pytestmark = pytest.mark.django_db

SECRET = "Mijn mentor schreeuwt tegen mij."


@pytest.fixture
def office():
    return UserFactory(office=True)


@pytest.fixture
def placement():
    return PlacementFactory()


def signal_confidentially(client, placement) -> Case:
    client.force_login(placement.student)
    response = client.post(
        reverse("cases:signal"),
        {
            "placement": placement.pk,
            "categories": [Category.MENTOR_RELATIONSHIP],
            "description": SECRET,
            "confidential": "on",
        },
        follow=True,  # read the flash message, so it does not follow the next login
    )
    assert response.redirect_chain[-1][1] == 302
    return Case.objects.get(placement=placement)


def staff(placement):
    return (placement.mentor, placement.school_trainer, placement.study_coach)


def test_the_student_gets_the_checkbox_and_the_staff_do_not(client, placement):
    client.force_login(placement.student)
    page = client.get(reverse("cases:signal")).content.decode()
    assert 'name="confidential"' in page
    assert "Vertrouwelijk" in page  # Dutch label
    client.force_login(placement.mentor)
    assert 'name="confidential"' not in client.get(reverse("cases:signal")).content.decode()


def test_a_confidential_signal_tells_the_office_alone(client, placement, office):
    case = signal_confidentially(client, placement)
    assert case.confidential and case.confidential_released_at is None
    told = set(Notification.objects.filter(case=case).values_list("recipient", flat=True))
    assert told == {office.pk}


def test_the_staff_do_not_find_it_anywhere(client, placement, office):
    case = signal_confidentially(client, placement)
    for person in staff(placement):
        client.force_login(person)
        for url in (
            reverse("cases:my_cases") + "?show=all",
            reverse("portal:home"),
            reverse("notifications:inbox"),
        ):
            page = client.get(url).content.decode()
            assert case.number not in page and SECRET not in page, (person, url)
        for name in ("portal:case", "cases:withdraw", "conversations:plan", "transfers:request"):
            assert client.get(reverse(name, args=[case.pk])).status_code == 404, name
        assert client.post(reverse("cases:release_confidential", args=[case.pk])).status_code == 404
    # The student and the office do see it, marked.
    client.force_login(placement.student)
    page = client.get(case.get_absolute_url()).content.decode()
    assert SECRET in page and "confidential-notice" in page
    assert reverse("cases:release_confidential", args=[case.pk]) not in page  # office only
    client.force_login(office)
    page = client.get(case.get_absolute_url()).content.decode()
    assert reverse("cases:release_confidential", args=[case.pk]) in page
    listing = client.get(reverse("office:office_list")).content.decode()
    assert "confidential-badge" in listing
    home = client.get(reverse("portal:home")).content.decode()
    assert "Deel de vertrouwelijke signalering met de betrokkenen" in home


def test_only_a_withdrawal_moves_it_before_the_office_opens_it(placement, office):
    case = CaseFactory(placement=placement, confidential=True)
    with pytest.raises(GuardFailed) as refused:
        services.check_permitted(case, "plan_conversation", office)
    with translation.override("nl"):
        assert "vertrouwelijk" in str(refused.value.message)
    names = {s.name for s in services.available_steps(case, office)}
    assert names == {"withdraw"}
    services.withdraw(case_id=case.pk, by=placement.student, reason="Opgelost.")
    assert Case.objects.get(pk=case.pk).state == State.CLOSED_WITHDRAWN


def test_only_the_student_signals_confidentially(placement):
    with pytest.raises(GuardFailed):
        services.case_signal(
            placement=placement,
            by=placement.mentor,
            categories=[Category.OTHER],
            description="x",
            confidential=True,
        )
    assert not Case.objects.exists()


def test_the_office_opens_it_and_the_people_it_concerns_are_told(client, placement, office):
    case = signal_confidentially(client, placement)
    client.force_login(office)
    response = client.post(
        reverse("cases:release_confidential", args=[case.pk]), {"seen_version": case.version}
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.confidential_released_by == office and case.confidential_released_at
    assert case.version == 2
    event = CaseEvent.objects.get(case=case, name="confidential_released")
    assert event.actor == office
    told = set(
        Notification.objects.filter(case=case, event="signal").values_list("recipient", flat=True)
    )
    assert {p.pk for p in staff(placement)} | {placement.student.pk} <= told | {office.pk}
    assert {p.pk for p in staff(placement)} <= told
    for person in staff(placement):
        client.force_login(person)
        assert client.get(case.get_absolute_url()).status_code == 200
    # Now the steps are open again, to their usual people.
    assert "plan_conversation" in {
        s.name for s in services.available_steps(case, placement.school_trainer)
    }


def test_opening_twice_or_by_someone_else_is_refused(client, placement, office):
    case = signal_confidentially(client, placement)
    client.force_login(placement.student)
    assert client.post(reverse("cases:release_confidential", args=[case.pk])).status_code == 403
    services.release_confidential(case_id=case.pk, by=office)
    with pytest.raises(GuardFailed):
        services.release_confidential(case_id=case.pk, by=office)
    assert CaseEvent.objects.filter(case=case, name="confidential_released").count() == 1


def test_a_stale_page_does_not_open_it(client, placement, office):
    case = signal_confidentially(client, placement)
    client.force_login(office)
    response = client.post(
        reverse("cases:release_confidential", args=[case.pk]),
        {"seen_version": case.version - 1},
        follow=True,
    )
    assert "intussen" in response.content.decode()
    case.refresh_from_db()
    assert case.confidential_released_at is None


def test_no_reminder_tells_the_staff_of_an_unopened_signal(office):
    long_ago = timezone.make_aware(dt.datetime(2026, 11, 16, 10))
    case = CaseFactory(confidential=True, state_changed_at=long_ago, signalled_at=long_ago)
    scan(dt.date(2026, 11, 30))
    recipients = set(Notification.objects.filter(case=case).values_list("recipient", flat=True))
    assert recipients == {office.pk}  # the escalation: the office should open it
    assert Notification.objects.filter(case=case, event__endswith="escalate").exists()
