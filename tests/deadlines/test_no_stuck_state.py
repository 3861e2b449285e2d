"""The deadlines of issue #12: every open state is watched. Improving with every action
evaluated but no decision, a conversation cancelled and not planned again, the all-party
conversation held without everyone, the office's decision after the advice, a follow-up
conversation not yet recorded: each is reminded (and escalated where the step is not the
office's own), and shows on the office's overdue list."""

from __future__ import annotations

import datetime as dt

import pytest

from cases.models import OPEN_STATES, Case, State
from deadlines import rules
from deadlines.monitoring import due_steps, overdue_filter
from deadlines.scan import scan
from notifications.models import Notification
from tests.cases.factories import CaseFactory, UserFactory
from tests.conversations.factories import ConversationFactory, ImprovementActionFactory

pytestmark = pytest.mark.django_db

AMS = dt.timezone(dt.timedelta(hours=1))
MONDAY = dt.date(2026, 11, 16)


def at(day: dt.date, h=10) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, h, tzinfo=AMS)


def after(days: int) -> dt.date:
    """`days` working days after Monday 16 November 2026 (no holidays in between)."""
    day, left = MONDAY, days
    while left:
        day += dt.timedelta(days=1)
        if day.weekday() < 5:
            left -= 1
    return day


def events(case, kind=None):
    qs = Notification.objects.filter(case=case, event__startswith="deadline:")
    if kind:
        qs = qs.filter(event__endswith=f":{kind}")
    return sorted((n.event, n.recipient_id) for n in qs)


@pytest.fixture
def office():
    return UserFactory(username="office1", office=True)


def test_every_open_state_is_watched_by_a_rule():
    watched = {state for rule in rules.RULES.values() for state in rule.watched_states}
    assert set(OPEN_STATES) <= watched


def test_every_action_evaluated_but_no_decision_reminds_the_school_trainer(office):
    case = CaseFactory(improving=True, state_changed_at=at(MONDAY))
    ImprovementActionFactory(case=case, evaluated=True, evaluated_at=at(MONDAY - dt.timedelta(7)))
    last = ImprovementActionFactory(case=case, evaluated=True, evaluated_at=at(MONDAY))
    trainer = case.placement.school_trainer.pk
    scan(after(4))
    assert events(case, "remind") == []
    scan(after(5))
    assert events(case, "remind") == [("deadline:improving_decision:remind", trainer)]
    scan(after(10))
    assert events(case, "escalate") == [("deadline:improving_decision:escalate", office.pk)]
    # On the office's list as overdue, once.
    assert Case.objects.filter(overdue_filter(today=after(10)), pk=case.pk).count() == 1
    keys = [s.rule.key for s in due_steps(today=after(10), limit=None) if s.case_id == case.pk]
    assert keys == ["improving_decision"]
    assert last.evaluated_at is not None


def test_an_open_action_means_no_decision_is_due_yet(office):
    case = CaseFactory(improving=True, state_changed_at=at(MONDAY))
    ImprovementActionFactory(case=case, evaluated=True, evaluated_at=at(MONDAY))
    ImprovementActionFactory(case=case, due_date=after(40))
    scan(after(12))
    assert not [e for e in events(case) if "improving_decision" in e[0]]


def test_a_cancelled_conversation_not_planned_again_is_reminded(office):
    case = CaseFactory(conversation_planned=True, state_changed_at=at(MONDAY))
    ConversationFactory(case=case, cancelled=True, starts_at=at(MONDAY))
    scan(after(2))
    assert events(case, "remind") == [
        ("deadline:plan_again:remind", case.placement.school_trainer.pk)
    ]
    scan(after(5))
    assert ("deadline:plan_again:escalate", office.pk) in events(case, "escalate")


def test_the_conversation_without_everyone_is_escalated_to_the_office(office):
    case = CaseFactory(
        state=State.CHANGE_CONVERSATION_INCOMPLETE, state_changed_at=at(MONDAY), version=7
    )
    scan(after(3))
    assert events(case, "escalate") == [
        ("deadline:change_conversation_incomplete:escalate", office.pk)
    ]


def test_the_office_is_reminded_to_decide_after_the_advice(office):
    case = CaseFactory(state=State.DECISION_PENDING, state_changed_at=at(MONDAY), version=9)
    scan(after(2))
    assert events(case, "remind") == []
    scan(after(3))
    assert events(case, "remind") == [("deadline:office_decision:remind", office.pk)]


def test_a_follow_up_not_recorded_reminds_whoever_planned_it(office):
    case = CaseFactory(improving=True, state_changed_at=at(MONDAY))
    follow_up = ConversationFactory(case=case, kind="follow_up", starts_at=at(MONDAY))
    scan(after(1))
    assert ("deadline:conversation_held:remind", follow_up.planned_by_id) in events(case)
