"""Step events: the core publishes, the outbox subscribes (README "Architecture")."""

from __future__ import annotations

import pytest

from cases import events
from cases.services import tell
from notifications.models import Notification
from notifications.services import on_step
from tests.cases.factories import CaseFactory


def test_it_has_the_outbox_as_a_subscriber():
    assert on_step in events.subscribers()


def test_it_subscribes_a_handler_once():
    before = events.subscribers()
    events.subscribe(on_step)
    assert events.subscribers() == before


@pytest.mark.django_db
def test_a_published_step_becomes_one_outbox_row_per_person_told_but_not_the_actor():
    case = CaseFactory()
    placement = case.placement
    tell(
        case,
        event="briefing_recorded",
        actor=placement.mentor,
        recipients=[placement.student, placement.mentor, placement.student],
        step="t1",
    )
    rows = Notification.objects.filter(case=case, event="briefing_recorded")
    assert [row.recipient_id for row in rows] == [placement.student_id]


@pytest.mark.django_db
def test_a_confidential_signal_tells_nobody_who_may_not_see_it():
    case = CaseFactory(confidential=True)
    placement = case.placement
    tell(
        case,
        event="briefing_recorded",
        actor=None,
        recipients=[placement.mentor, placement.student],
        step="t2",
    )
    told = set(Notification.objects.filter(case=case).values_list("recipient_id", flat=True))
    assert told == {placement.student_id}
