"""The deadline table: working days, reminders once per step and recipient, escalations."""

import datetime as dt
import importlib

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases.models import State, TrainingSchool
from notifications import deadlines
from notifications.models import DeadlineRule, Notification, SchoolHoliday
from notifications.workdays import WorkingDays
from tests.cases.factories import CaseFactory, UserFactory

pytestmark = pytest.mark.django_db

AMS = dt.timezone(dt.timedelta(hours=1))


def at(y, m, d, h=10):
    return dt.datetime(y, m, d, h, tzinfo=AMS)


def events(case, kind=None):
    qs = Notification.objects.filter(case=case, event__startswith="deadline:")
    if kind:
        qs = qs.filter(event__endswith=f":{kind}")
    return sorted((n.event, n.recipient.username) for n in qs)


class TestWorkingDays:
    def test_it_skips_weekends(self):
        cal = WorkingDays()
        assert cal.add(dt.date(2026, 11, 27), 1) == dt.date(2026, 11, 30)  # Fri -> Mon

    def test_it_skips_public_holidays(self):
        cal = WorkingDays()
        # Wed 23 Dec 2026 + 3: Thu 24, (Christmas Fri 25, weekend), Mon 28, Tue 29.
        assert cal.add(dt.date(2026, 12, 23), 3) == dt.date(2026, 12, 29)
        assert cal.add(dt.date(2027, 4, 26), 1) == dt.date(2027, 4, 28)  # King's Day

    def test_it_skips_school_holidays(self):
        cal = WorkingDays([(dt.date(2026, 12, 19), dt.date(2027, 1, 3))])
        assert cal.add(dt.date(2026, 12, 17), 3) == dt.date(2027, 1, 5)

    def test_it_counts_backwards(self):
        cal = WorkingDays()
        assert cal.add(dt.date(2026, 11, 30), -1) == dt.date(2026, 11, 27)

    def test_latest_anchor_inverts_add(self):
        cal = WorkingDays([(dt.date(2027, 2, 13), dt.date(2027, 2, 21))])
        today = dt.date(2027, 2, 24)
        for n in (-10, 0, 1, 3, 15):
            anchor = cal.latest_anchor(today, n)
            assert cal.add(anchor, n) <= today
            assert cal.add(anchor + dt.timedelta(days=1), n) > today

    def test_between(self):
        assert WorkingDays().between(dt.date(2026, 11, 27), dt.date(2026, 12, 4)) == 5


def test_it_ships_a_default_row_for_every_rule():
    from django.apps import apps

    migration = importlib.import_module("notifications.migrations.0003_default_deadline_rules")
    # Transactional tests elsewhere flush the table; running the migration again is idempotent.
    migration.create(apps, None)
    migration.create(apps, None)
    assert {key for key, *_ in migration.DEFAULTS} == set(deadlines.RULES)
    for key, remind, escalate in migration.DEFAULTS:
        rule = deadlines.RULES[key]
        assert (rule.remind_after, rule.escalate_after) == (remind, escalate)
    assert DeadlineRule.objects.count() == len(deadlines.RULES)


@pytest.fixture
def office():
    return UserFactory(username="office1", office=True)


@pytest.fixture
def signalled_case():
    # Signalled on Monday 16 Nov 2026.
    return CaseFactory(state_changed_at=at(2026, 11, 16), signalled_at=at(2026, 11, 16))


def names(case):
    p = case.placement
    return p.school_trainer.username, p.study_coach.username


def test_it_warns_due_soon_then_reminds_then_escalates(signalled_case, office):
    trainer, coach = names(signalled_case)
    deadlines.scan(dt.date(2026, 11, 17))  # 1 working day: nothing yet
    assert events(signalled_case) == []
    deadlines.scan(dt.date(2026, 11, 18))  # 2 wd: due soon (remind at 3)
    assert events(signalled_case) == sorted(
        [
            ("deadline:first_conversation:due_soon", trainer),
            ("deadline:first_conversation:due_soon", coach),
        ]
    )
    deadlines.scan(dt.date(2026, 11, 19))  # 3 wd: reminder to trainer and coach
    assert events(signalled_case, "remind") == sorted(
        [
            ("deadline:first_conversation:remind", trainer),
            ("deadline:first_conversation:remind", coach),
        ]
    )
    assert events(signalled_case, "escalate") == []
    deadlines.scan(dt.date(2026, 11, 23))  # 5 wd: escalation to the office
    assert events(signalled_case, "escalate") == [
        ("deadline:first_conversation:escalate", "office1")
    ]


def test_running_the_scan_twice_sends_each_reminder_once(signalled_case, office):
    first = deadlines.scan(dt.date(2026, 11, 30))
    count = Notification.objects.count()
    second = deadlines.scan(dt.date(2026, 11, 30))
    later = deadlines.scan(dt.date(2026, 12, 3))
    assert first.created == count == 3  # remind x2 + escalate; due soon is past
    assert second.created == later.created == 0
    assert Notification.objects.count() == count


def test_a_late_first_scan_does_not_warn_due_soon_after_the_deadline(signalled_case, office):
    deadlines.scan(dt.date(2026, 11, 20))
    assert events(signalled_case, "due_soon") == []


def test_a_new_step_gets_a_new_reminder(office):
    case = CaseFactory(change_requested=True, state_changed_at=at(2026, 11, 16), version=4)
    deadlines.scan(dt.date(2026, 11, 18))
    assert len(events(case, "remind")) == 1
    # The step changes (new state, new version); when its deadline passes it is reminded again.
    Case = type(case)
    Case.objects.filter(pk=case.pk).update(
        state=State.OUTCOME_PENDING, version=6, state_changed_at=at(2026, 11, 19)
    )
    deadlines.scan(dt.date(2026, 11, 23))
    assert ("deadline:outcome:remind", case.placement.school_trainer.username) in events(case)


def test_school_holidays_count_per_region(office):
    north = CaseFactory(
        placement__school__region=TrainingSchool.Region.NORTH, state_changed_at=at(2026, 11, 16)
    )
    south = CaseFactory(
        placement__school__region=TrainingSchool.Region.SOUTH, state_changed_at=at(2026, 11, 16)
    )
    SchoolHoliday.objects.create(
        region=TrainingSchool.Region.NORTH,
        name="Studiedagen",
        start_date=dt.date(2026, 11, 17),
        end_date=dt.date(2026, 11, 18),
    )
    deadlines.scan(dt.date(2026, 11, 19))
    assert events(south, "remind") and not events(north, "remind")
    deadlines.scan(dt.date(2026, 11, 23))
    assert events(north, "remind")


def test_the_office_can_change_a_period_without_a_deploy(signalled_case, office):
    DeadlineRule.objects.filter(key="first_conversation").update(remind_after=1)
    deadlines.scan(dt.date(2026, 11, 17))
    assert len(events(signalled_case, "remind")) == 2
    DeadlineRule.objects.filter(key="first_conversation").update(active=False)
    other = CaseFactory(state_changed_at=at(2026, 11, 16))
    deadlines.scan(dt.date(2026, 11, 30))
    assert events(other) == []


def test_action_owner_is_reminded_on_the_due_date_and_again_when_it_moves(office):
    from tests.conversations.factories import ImprovementActionFactory

    case = CaseFactory(improving=True, state_changed_at=at(2026, 11, 2))
    action = ImprovementActionFactory(
        case=case, owner=case.placement.student, due_date=dt.date(2026, 11, 20)
    )
    deadlines.scan(dt.date(2026, 11, 19))
    assert events(case, "remind") == []
    deadlines.scan(dt.date(2026, 11, 20))
    assert events(case, "remind") == [
        ("deadline:action_done:remind", case.placement.student.username)
    ]
    action.due_date = dt.date(2026, 11, 27)
    action.save()
    deadlines.scan(dt.date(2026, 11, 27))
    assert len(events(case, "remind")) == 2


def test_the_scan_runs_a_constant_number_of_queries(office):
    def count_queries():
        with CaptureQueriesContext(connection) as ctx:
            deadlines.scan(dt.date(2026, 11, 30))
        return len(ctx.captured_queries)

    CaseFactory(state_changed_at=at(2026, 11, 16))
    Notification.objects.all().delete()
    one = count_queries()
    Notification.objects.all().delete()
    for _ in range(15):
        CaseFactory(state_changed_at=at(2026, 11, 16))
    fifteen = count_queries()
    assert fifteen == one


def test_scan_uses_the_local_date_by_default(signalled_case, office):
    with time_machine.travel(at(2026, 11, 19, 9), tick=False):
        assert timezone.localdate() == dt.date(2026, 11, 19)
        deadlines.scan()
    assert len(events(signalled_case, "remind")) == 2


def test_deadline_events_have_translated_labels():
    from django.utils import translation

    from cases.models import EVENT_LABELS

    with translation.override("en"):
        label = str(EVENT_LABELS["deadline:first_conversation:remind"])
    assert label == "reminder: First conversation planned"


@pytest.mark.parametrize(
    ("today", "reminded"),
    [
        (dt.date(2026, 12, 24), False),  # 1 working day
        (dt.date(2026, 12, 28), False),  # Christmas (25th), the weekend, Boxing Day: 2
        (dt.date(2026, 12, 29), True),  # 3 working days
    ],
)
def test_time_travel_across_a_public_holiday(office, today, reminded):
    case = CaseFactory(state_changed_at=at(2026, 12, 23))
    with time_machine.travel(at(today.year, today.month, today.day, 8), tick=False):
        deadlines.scan()
    assert bool(events(case, "remind")) is reminded


def test_time_travel_across_a_school_holiday(office):
    """The spring holiday of region zuid pauses the clock for zuid's schools only."""
    south = CaseFactory(
        placement__school__region=TrainingSchool.Region.SOUTH, state_changed_at=at(2027, 2, 11)
    )
    north = CaseFactory(
        placement__school__region=TrainingSchool.Region.NORTH, state_changed_at=at(2027, 2, 11)
    )
    SchoolHoliday.objects.create(
        region=TrainingSchool.Region.SOUTH,
        name="Voorjaarsvakantie",
        start_date=dt.date(2027, 2, 13),
        end_date=dt.date(2027, 2, 21),
    )
    with time_machine.travel(at(2027, 2, 16, 8), tick=False):  # Tue: 3 working days in the north
        deadlines.scan()
    assert events(north, "remind") and not events(south, "remind")
    with time_machine.travel(at(2027, 2, 24, 8), tick=False):  # Wed: Fri 12, Mon 22, Tue 23, Wed
        deadlines.scan()
    assert events(south, "remind")
    assert not events(south, "escalate")


def test_a_planned_conversation_is_judged_by_its_own_date_not_an_older_one(office):
    """An old held conversation must not make a future planned one look overdue."""
    from tests.conversations.factories import ConversationFactory

    case = CaseFactory(change_conversation_planned=True, state_changed_at=at(2026, 11, 2))
    ConversationFactory(
        case=case, kind="problem", status="held", starts_at=at(2026, 10, 1), held_at=at(2026, 10, 1)
    )
    ConversationFactory(case=case, kind="change", status="planned", starts_at=at(2026, 12, 10))
    deadlines.scan(dt.date(2026, 11, 30))
    assert [e for e in events(case) if "conversation_held" in e[0]] == []
