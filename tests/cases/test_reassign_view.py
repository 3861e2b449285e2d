"""The office changes a person on a case's placement from the case page (cases:reassign)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from cases.models import Case, CaseEvent
from notifications.models import Notification
from tests.cases.factories import CaseFactory, PlacementFactory, UserFactory

pytestmark = pytest.mark.django_db


def post(client, case, **data):
    payload = {"seen_version": case.version, "reason": "Ziek tot de voorjaarsvakantie.", **data}
    return client.post(reverse("cases:reassign", args=[case.pk]), payload)


def test_it_gives_the_case_to_the_new_mentor_and_takes_it_from_the_old_one(client):
    case = CaseFactory(improving=True)
    old = case.placement.mentor
    newcomer = UserFactory(first_name="Nieuwe", last_name="Mentor")
    client.force_login(UserFactory(office=True))
    response = post(client, case, role="mentor", person=newcomer.pk)
    assert response.status_code == 302
    case.placement.refresh_from_db()
    assert case.placement.mentor == newcomer
    event = CaseEvent.objects.get(case=case, name="mentor_reassigned")
    assert "Ziek tot de voorjaarsvakantie." in event.note
    assert Notification.objects.filter(recipient=newcomer, event="mentor_reassigned").exists()
    client.force_login(newcomer)
    assert client.get(case.get_absolute_url()).status_code == 200
    client.force_login(old)
    assert client.get(case.get_absolute_url()).status_code == 404
    assert (
        CaseEvent.objects.filter(actor=old).count() == CaseEvent.objects.filter(actor=old).count()
    )  # their own records stay attributed (no event is rewritten)


def test_a_new_study_coach_mid_case_asks_for_the_warm_handover(client):
    case = CaseFactory(improving=True)
    old_coach = case.placement.study_coach
    newcomer = UserFactory()
    client.force_login(UserFactory(office=True))
    assert post(client, case, role="study_coach", person=newcomer.pk).status_code == 302
    event = CaseEvent.objects.get(case=case, name="handover_needed")
    assert str(old_coach) in event.note
    assert Notification.objects.filter(recipient=newcomer, event="handover_needed").exists()
    assert not Case.objects.related_to(old_coach).filter(pk=case.pk).exists()


def test_only_the_office_reassigns(client):
    case = CaseFactory(improving=True)
    client.force_login(case.placement.school_trainer)
    assert client.get(reverse("cases:reassign", args=[case.pk])).status_code == 403
    response = post(client, case, role="mentor", person=UserFactory().pk)
    assert response.status_code == 403


def test_the_same_person_or_the_student_is_refused_on_the_form(client):
    case = CaseFactory(improving=True)
    client.force_login(UserFactory(office=True))
    response = post(client, case, role="mentor", person=case.placement.mentor.pk)
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    response = post(client, case, role="mentor", person=case.placement.student.pk)
    assert response.status_code == 200 and "person" in response.context["form"].errors


def test_the_picker_lists_people_of_the_board_by_name_and_searches(client):
    case = CaseFactory(improving=True)
    colleague = PlacementFactory(school=case.placement.school).mentor
    stranger = UserFactory(first_name="Zeldzame", last_name="Naam")
    client.force_login(UserFactory(office=True))
    url = reverse("cases:reassign", args=[case.pk])
    people = list(client.get(url + "?role=mentor").context["form"].fields["person"].queryset)
    assert colleague in people and stranger not in people
    assert case.placement.student not in people
    found = client.get(url + "?role=mentor&q=zeldzame").context["form"].fields["person"]
    assert list(found.queryset) == [stranger]
    page = client.get(url + "?role=mentor").content.decode()
    assert f"({colleague.username})" not in page  # names and e-mail, never usernames
    assert colleague.get_full_name() in page


def test_a_closed_case_sends_back_with_the_reason(client):
    case = CaseFactory(closed_resolved=True)
    client.force_login(UserFactory(office=True))
    response = client.get(reverse("cases:reassign", args=[case.pk]))
    assert response.status_code == 302
