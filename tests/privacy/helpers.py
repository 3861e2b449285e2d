"""A case with a record of every kind (the whole change path, a student's note, a briefing),
closed or still open, for the privacy tests."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from conversations import services as conversation_services
from privacy.services import privacy_officer_group
from tests.attachments.factories import AttachmentFactory
from tests.cases.factories import UserFactory
from tests.journeys import change_path
from tests.transfers.factories import StopFactory
from transfers.models import StudyStep


def full_case(*, closed: bool = True):
    """(case, placement, office, isop): closed as transferred (or in the open handover)."""
    case, placement, office, isop = change_path(handover_confirmed=closed)
    # An earlier temporary stop, resumed (a stop's reason is part of the case file too).
    StopFactory(
        case=case,
        temporary=True,
        expected_resume_date=timezone.localdate(),
        reason="Ziek geweest.",
        resumed_at=timezone.now(),
        resumed_on=timezone.localdate(),
    )
    first = case.conversations.order_by("pk").first()
    conversation_services.note_save(
        conversation_id=first.pk,
        by=placement.student,
        text="My own view of the conversation.",
        submit=True,
        logged_in_onstage_on=timezone.localdate(),
    )
    AttachmentFactory(case=case, conversation=first, uploaded_by=placement.student)
    StudyStep.objects.create(
        case=case,
        kind=StudyStep.Kind.STUDY_DELAY,
        on=timezone.localdate(),
        note="Half a year of delay expected.",
        recorded_by=office,
    )
    case.refresh_from_db()
    return case, placement, office, isop


def privacy_officer():
    user = UserFactory(first_name="Priva", last_name="Officer")
    user.groups.add(privacy_officer_group())
    return user


def days_later(days: int) -> dt.datetime:
    return timezone.now() + dt.timedelta(days=days)
