"""The monitor: the overdue and due-soon steps in one query, most urgent first, the overdue
filter of the office's list, and the calendars that count working days by lookup."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from cases.models import Case, State
from deadlines import monitoring
from deadlines.monitoring import FastDays
from deadlines.workdays import WorkingDays
from tests.cases.factories import CaseFactory
from tests.conversations.factories import ConversationFactory

pytestmark = pytest.mark.django_db

AMS = dt.timezone(dt.timedelta(hours=1))
TODAY = dt.datetime(2026, 11, 25, 10, tzinfo=AMS)  # a Wednesday


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(TODAY, tick=False):
        yield


def ago(days: int) -> dt.datetime:
    return TODAY - dt.timedelta(days=days)


class TestMonitoring:
    def test_the_anchor_and_the_filter_use_the_same_conversation(self):
        """A held (old) conversation must not make a planned (future) one overdue."""
        case = CaseFactory(state=State.CHANGE_CONVERSATION_PLANNED, state_changed_at=ago(1))
        ConversationFactory(case=case, held=True, starts_at=ago(60))
        ConversationFactory(case=case, change=True, starts_at=TODAY + dt.timedelta(days=3))
        keys = {s.rule.key for s in monitoring.due_steps()}
        assert "conversation_held" not in keys

    def test_a_past_planned_conversation_is_overdue(self):
        case = CaseFactory(state=State.CONVERSATION_PLANNED, state_changed_at=ago(8))
        ConversationFactory(case=case, starts_at=ago(7))
        steps = monitoring.due_steps()
        assert [(s.rule.key, s.status) for s in steps] == [
            ("conversation_held", monitoring.ESCALATED)
        ]
        assert steps[0].responsible == [str(case.placement.school_trainer)]

    def test_overdue_filter_matches_the_overdue_steps(self):
        overdue = CaseFactory(state=State.SIGNALLED, state_changed_at=ago(10))
        CaseFactory(state=State.SIGNALLED, state_changed_at=ago(1))
        assert list(Case.objects.filter(monitoring.overdue_filter())) == [overdue]

    def test_it_respects_the_limit(self):
        for i in range(5):
            CaseFactory(state=State.SIGNALLED, state_changed_at=ago(10 + i))
        steps = monitoring.due_steps(limit=3)
        assert len(steps) == 3
        assert [s.days for s in steps] == sorted((s.days for s in steps), reverse=True)


class TestFastDays:
    def test_it_counts_like_working_days(self):
        cal = WorkingDays([(dt.date(2026, 10, 17), dt.date(2026, 10, 25))])
        fast = FastDays(cal, dt.date(2026, 11, 25))
        days = [dt.date(2026, 9, 1) + dt.timedelta(days=i) for i in range(120)]
        for day in days[::7]:
            for other in days[::5]:
                assert fast.between(day, other) == cal.between(day, other)
            for n in (-11, -1, 0, 1, 3, 15):
                assert fast.add(day, n) == cal.add(day, n), (day, n)
