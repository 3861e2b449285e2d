"""A mentor "to be assigned": placing or resuming without a mentor, the school trainer fills
it in later from their home page; a case on such a placement works meanwhile."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from cases import services as case_services
from cases.models import Case, CaseEvent, Category, NotPermitted, Placement
from conversations import services as conversation_services
from tests.cases.factories import (
    CaseFactory,
    PlacementFactory,
    TrainingSchoolFactory,
    UserFactory,
)
from tests.transfers.factories import TransferFactory
from transfers import services as transfer_services
from transfers.forms import PlaceForm, ResumeForm

pytestmark = pytest.mark.django_db


def assign(client, placement, person):
    return client.post(reverse("cases:assign_mentor", args=[placement.pk]), {"person": person.pk})


def test_the_office_places_without_a_mentor_and_the_school_trainer_assigns_one(client):
    case = CaseFactory(transfer_requested=True)
    office = UserFactory(office=True)
    trainer, coach = UserFactory(), case.placement.study_coach
    form = PlaceForm(case=case)
    assert "Nog toe te wijzen" in str(form["mentor"])
    transfer_services.wrap_up_record(
        case_id=case.pk,
        by=case.placement.school_trainer,
        last_day=timezone.localdate(),
        agreement="Afscheid.",
    )
    transfer_services.wrap_up_confirm(case_id=case.pk, by=case.placement.student)
    transfer = transfer_services.place_student(
        case_id=case.pk,
        by=office,
        school=TrainingSchoolFactory(),
        mentor=None,
        school_trainer=trainer,
        study_coach=coach,
        start_date=timezone.localdate(),
    )
    new = transfer.to_placement
    assert new.mentor is None
    client.force_login(trainer)
    home = client.get(reverse("portal:home")).content.decode()
    url = reverse("cases:assign_mentor", args=[new.pk])
    assert "Mentor nog toe te wijzen" in home and url in home
    assert client.get(url).status_code == 200
    mentor = UserFactory(first_name="Mila", last_name="Mentor")
    response = assign(client, new, mentor)
    assert response.status_code == 302
    new.refresh_from_db()
    assert new.mentor == mentor
    assert url not in client.get(reverse("portal:home")).content.decode()
    # Filled in: a second time is the office's reassignment, not this page.
    assert client.get(url).status_code == 302


def test_only_the_placements_school_trainer_and_the_office_assign(client):
    placement = PlacementFactory(mentor=None)
    url = reverse("cases:assign_mentor", args=[placement.pk])
    for person in (UserFactory(), placement.student, placement.study_coach):
        client.force_login(person)
        assert client.get(url).status_code == 404
        assert assign(client, placement, UserFactory()).status_code == 404
    with pytest.raises(NotPermitted):
        case_services.placement_assign_mentor(
            placement_id=placement.pk, person=UserFactory(), by=placement.study_coach
        )
    client.force_login(UserFactory(office=True))
    assert client.get(url).status_code == 200
    placement.refresh_from_db()
    assert placement.mentor is None


def test_a_case_without_a_mentor_runs_and_the_mentor_sees_it_once_assigned(client):
    placement = PlacementFactory(mentor=None)
    case = case_services.case_signal(
        placement=placement, by=placement.student, categories=[Category.OTHER], description="x"
    )
    conversation = conversation_services.plan_conversation(
        case_id=case.pk,
        by=placement.school_trainer,
        starts_at=timezone.now() + dt.timedelta(days=2),
        location="Lokaal 1",
    )
    assert None not in set(conversation.invitations.values_list("person_id", flat=True))
    mentor = UserFactory()
    assert not Case.objects.related_to(mentor).exists()
    case_services.placement_assign_mentor(
        placement_id=placement.pk, person=mentor, by=placement.school_trainer
    )
    assert Case.objects.related_to(mentor).get() == case
    assert CaseEvent.objects.filter(case=case, name="mentor_reassigned").exists()
    client.force_login(mentor)
    assert client.get(case.get_absolute_url()).status_code == 200


def test_resuming_on_a_new_placement_may_leave_the_mentor_to_be_assigned():
    case = CaseFactory(stopped=True)
    school = TrainingSchoolFactory()
    form = ResumeForm(
        {
            "seen_version": case.version,
            "resumed_on": timezone.localdate().isoformat(),
            "where": "new",
            "school": school.pk,
            "mentor": "",
            "school_trainer": UserFactory().pk,
            "study_coach": case.placement.study_coach.pk,
        },
        case=case,
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["mentor"] is None
    assert Placement.objects.filter(mentor__isnull=True).count() == 0


def test_the_case_page_shows_a_new_placements_missing_mentor_as_to_be_assigned(client):
    transfer = TransferFactory(applied=True, to_placement__mentor=None)
    client.force_login(UserFactory(office=True))
    html = client.get(transfer.case.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="nl").content.decode()
    assert "Mentor: nog toe te wijzen" in html
    assert "Mentor: None" not in html
