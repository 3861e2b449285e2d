"""Consequences for the study: recorded as steps with a date by the study coach or the office."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from cases.models import CaseEvent
from privacy.selectors import student_data
from tests.cases.factories import CaseFactory, UserFactory
from transfers.models import StudyStep

pytestmark = pytest.mark.django_db


def post(client, case, **data):
    payload = {
        "seen_version": case.version,
        "kind": "examination_board",
        "on": timezone.localdate().isoformat(),
        "note": "Afspraak gemaakt.",
        **data,
    }
    return client.post(reverse("transfers:study_step", args=[case.pk]), payload)


def test_the_study_coach_records_a_referral_on_the_timeline(client):
    case = CaseFactory(improving=True)
    client.force_login(case.placement.study_coach)
    assert client.get(case.get_absolute_url()).content.decode().count("/study/") == 1
    assert post(client, case).status_code == 302
    step = StudyStep.objects.get()
    assert (step.kind, step.recorded_by) == ("examination_board", case.placement.study_coach)
    event = CaseEvent.objects.get(case=case, name="study_step_recorded")
    assert "examencommissie" in event.note or "examination board" in event.note
    export = student_data(case.placement.student)
    assert export["cases"][0]["study_steps"][0]["note"] == "Afspraak gemaakt."


def test_the_mentor_may_not(client):
    case = CaseFactory(improving=True)
    client.force_login(case.placement.mentor)
    assert post(client, case).status_code == 403
    assert "/study/" not in client.get(case.get_absolute_url()).content.decode()


def test_the_office_may(client):
    case = CaseFactory(improving=True)
    client.force_login(UserFactory(office=True))
    assert post(client, case, kind="study_delay").status_code == 302
