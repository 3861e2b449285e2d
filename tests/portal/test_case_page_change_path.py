"""The change path on the case page: who was told of a request, the positions, the history
after a transfer, and the receipt of the warm handover."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from cases.models import Role
from tests.cases.factories import CaseFactory, TrainingSchoolFactory, UserFactory
from tests.conversations.factories import ConversationFactory
from tests.transfers.factories import (
    HandoverFactory,
    OutcomeReportFactory,
    PositionFactory,
    WrapUpFactory,
)

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


class TestCasePage:
    def test_it_shows_who_was_told_of_the_request_and_when(self, client):
        from transfers import services

        case = CaseFactory(improving=True)
        placement = case.placement
        services.request_change(
            case_id=case.pk, by=placement.student, kind="transfer", reason="Geen klik."
        )
        from notifications.models import Notification

        told = Notification.objects.get(
            case=case, event="request_change", recipient=placement.mentor
        )
        told.read_at = told.created_at + dt.timedelta(hours=2)
        told.save(update_fields=["read_at"])
        client.force_login(placement.school_trainer)
        content = client.get(case.get_absolute_url()).content.decode()
        section = content[content.index("told-list") :]
        section = section[: section.index("</ul>")]
        for person in (placement.mentor, placement.school_trainer, placement.study_coach):
            assert escape(str(person)) in section
        assert escape(str(placement.student)) not in section
        from django.utils import timezone

        assert timezone.localtime(told.created_at).strftime("%Y-%m-%dT%H:%M:%S") in section
        assert timezone.localtime(told.read_at).strftime("%Y-%m-%dT%H:%M:%S") in section

    def test_the_positions_are_on_the_case_page(self, client):
        case = CaseFactory(isop_advice=True)
        report = OutcomeReportFactory(case=case, opinions_differ=True)
        PositionFactory(report=report, disagrees=True)
        PositionFactory(
            report=report, person=case.placement.school_trainer, role=Role.SCHOOL_TRAINER
        )
        client.force_login(case.placement.study_coach)
        content = client.get(case.get_absolute_url()).content.decode()
        assert "stance-disagree" in content and "stance-agree" in content
        assert escape(str(case.placement.school_trainer)) in content

    def test_after_a_transfer_the_new_school_sees_the_arrival_not_the_history(self, client):
        from transfers import services

        case = CaseFactory(transfer_requested=True)
        ConversationFactory(case=case, change=True, held=True, invite=True, answered=True)
        WrapUpFactory(case=case, agreed=True)
        old = case.placement
        new_trainer, new_mentor, new_coach = UserFactory(), UserFactory(), UserFactory()
        services.place_student(
            case_id=case.pk,
            by=UserFactory(office=True),
            school=TrainingSchoolFactory(),
            mentor=new_mentor,
            school_trainer=new_trainer,
            study_coach=new_coach,
            start_date=TODAY + dt.timedelta(days=7),
            shared_with_new_school="Heeft baat bij vaste lesvoorbereiding.",
        )
        for person in (new_trainer, new_mentor):
            client.force_login(person)
            # The case is about the old placement: 404, as for anyone unrelated.
            assert client.get(case.get_absolute_url()).status_code == 404
            home = client.get(reverse("portal:home")).content.decode()
            assert "Heeft baat bij vaste lesvoorbereiding." in home
            assert escape(case.conversations.get().school_offers) not in home
            assert case.number not in home
        # The new study coach reads the case and the warm handover.
        client.force_login(new_coach)
        content = client.get(case.get_absolute_url()).content.decode()
        assert escape(case.conversations.get().school_offers) in content
        assert "Afscheid van de klas" in content
        # The old school no longer reads the case.
        client.force_login(old.school_trainer)
        assert client.get(case.get_absolute_url()).status_code == 404

    def test_receipt_is_offered_only_once_the_old_coach_recorded_the_handover(self, client):
        handover = HandoverFactory()
        received = reverse("transfers:handover_received", args=[handover.pk])
        client.force_login(handover.new_coach)
        assert received not in client.get(handover.case.get_absolute_url()).content.decode()
        page = client.get(received)
        assert page.status_code == 200
        assert b'method="post"' not in page.content.split(b"<main")[1]
        response = client.post(received)
        assert response.status_code == 302
        handover.refresh_from_db()
        assert handover.received_at is None
