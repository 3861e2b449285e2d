"""The reminder scan: reminders once per step and recipient, due-soon warnings, escalations,
per region's working days; and the default rules the migrations ship."""

import datetime as dt
import importlib

import pytest
import time_machine
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases.models import State, TrainingSchool
from deadlines import rules
from deadlines.models import DeadlineRule, SchoolHoliday
from deadlines.scan import scan
from notifications.models import Notification
from tests.cases.factories import CaseFactory, UserFactory
from tests.conversations.factories import ConversationFactory, ImprovementActionFactory

pytestmark = pytest.mark.django_db

AMS = dt.timezone(dt.timedelta(hours=1))


def at(y, m, d, h=10):
    return dt.datetime(y, m, d, h, tzinfo=AMS)


def events(case, kind=None):
    qs = Notification.objects.filter(case=case, event__startswith="deadline:")
    if kind:
        qs = qs.filter(event__endswith=f":{kind}")
    return sorted((n.event, n.recipient.username) for n in qs)


def test_it_ships_a_default_row_for_every_rule():
    """The defaults ship as rows (the office edits them in the admin): the first table in
    notifications 0003, the rules of issue #12 in deadlines 0002, each equal to the code's."""
    name = "0003_default_deadline_rules"
    migration = importlib.import_module(f"notifications.migrations.{name}")
    # The data migration is historic: it runs on the models as they were then (in notifications,
    # on the same table as deadlines.DeadlineRule now).
    then = MigrationLoader(connection).project_state(("notifications", name)).apps
    # Transactional tests elsewhere flush the table; running the migration again is idempotent.
    migration.create(then, None)
    migration.create(then, None)
    later = importlib.import_module("deadlines.migrations.0002_issue12_rules")
    now = MigrationLoader(connection).project_state(("deadlines", "0002_issue12_rules")).apps
    later.create(now, None)
    later.create(now, None)
    defaults = [*migration.DEFAULTS, *later.DEFAULTS]
    assert len(defaults) == len({key for key, *_ in defaults})
    assert {key for key, *_ in defaults} == set(rules.RULES)
    for key, remind, escalate in defaults:
        rule = rules.RULES[key]
        assert (rule.remind_after, rule.escalate_after) == (remind, escalate)
    assert set(DeadlineRule.objects.values_list("key", flat=True)) == set(rules.RULES)


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
    scan(dt.date(2026, 11, 17))  # 1 working day: nothing yet
    assert events(signalled_case) == []
    scan(dt.date(2026, 11, 18))  # 2 wd: due soon (remind at 3)
    assert events(signalled_case) == sorted(
        [
            ("deadline:first_conversation:due_soon", trainer),
            ("deadline:first_conversation:due_soon", coach),
        ]
    )
    scan(dt.date(2026, 11, 19))  # 3 wd: reminder to trainer and coach
    assert events(signalled_case, "remind") == sorted(
        [
            ("deadline:first_conversation:remind", trainer),
            ("deadline:first_conversation:remind", coach),
        ]
    )
    assert events(signalled_case, "escalate") == []
    scan(dt.date(2026, 11, 23))  # 5 wd: escalation to the office
    assert events(signalled_case, "escalate") == [
        ("deadline:first_conversation:escalate", "office1")
    ]


def test_escalations_reach_the_office_already_read(signalled_case, office):
    scan(dt.date(2026, 11, 30))
    rows = Notification.objects.filter(case=signalled_case)
    assert {(n.event.rsplit(":", 1)[1], n.read_at is None) for n in rows} == {
        ("remind", True),
        ("escalate", False),
    }
    assert rows.get(recipient=office).status == Notification.Status.PENDING  # still e-mailed


def test_running_the_scan_twice_sends_each_reminder_once(signalled_case, office):
    first = scan(dt.date(2026, 11, 30))
    count = Notification.objects.count()
    second = scan(dt.date(2026, 11, 30))
    later = scan(dt.date(2026, 12, 3))
    assert first.created == count == 3  # remind x2 + escalate; due soon is past
    assert second.created == later.created == 0
    assert Notification.objects.count() == count


def test_a_late_first_scan_does_not_warn_due_soon_after_the_deadline(signalled_case, office):
    scan(dt.date(2026, 11, 20))
    assert events(signalled_case, "due_soon") == []


def test_a_new_step_gets_a_new_reminder(office):
    case = CaseFactory(change_requested=True, state_changed_at=at(2026, 11, 16), version=4)
    scan(dt.date(2026, 11, 18))
    assert len(events(case, "remind")) == 1
    # The step changes (new state, new version); when its deadline passes it is reminded again.
    Case = type(case)
    Case.objects.filter(pk=case.pk).update(
        state=State.OUTCOME_PENDING, version=6, state_changed_at=at(2026, 11, 19)
    )
    scan(dt.date(2026, 11, 23))
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
    scan(dt.date(2026, 11, 19))
    assert events(south, "remind") and not events(north, "remind")
    scan(dt.date(2026, 11, 23))
    assert events(north, "remind")


def test_the_office_can_change_a_period_without_a_deploy(signalled_case, office):
    DeadlineRule.objects.filter(key="first_conversation").update(remind_after=1)
    scan(dt.date(2026, 11, 17))
    assert len(events(signalled_case, "remind")) == 2
    DeadlineRule.objects.filter(key="first_conversation").update(active=False)
    other = CaseFactory(state_changed_at=at(2026, 11, 16))
    scan(dt.date(2026, 11, 30))
    assert events(other) == []


def test_action_owner_is_reminded_on_the_due_date_and_again_when_it_moves(office):
    case = CaseFactory(improving=True, state_changed_at=at(2026, 11, 2))
    action = ImprovementActionFactory(
        case=case, owner=case.placement.student, due_date=dt.date(2026, 11, 20)
    )
    scan(dt.date(2026, 11, 19))
    assert events(case, "remind") == []
    scan(dt.date(2026, 11, 20))
    assert events(case, "remind") == [
        ("deadline:action_done:remind", case.placement.student.username)
    ]
    action.due_date = dt.date(2026, 11, 27)
    action.save()
    scan(dt.date(2026, 11, 27))
    assert len(events(case, "remind")) == 2


def test_the_scan_runs_a_constant_number_of_queries(office):
    def count_queries():
        with CaptureQueriesContext(connection) as ctx:
            scan(dt.date(2026, 11, 30))
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
        scan()
    assert len(events(signalled_case, "remind")) == 2


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
        scan()
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
        scan()
    assert events(north, "remind") and not events(south, "remind")
    with time_machine.travel(at(2027, 2, 24, 8), tick=False):  # Wed: Fri 12, Mon 22, Tue 23, Wed
        scan()
    assert events(south, "remind")
    assert not events(south, "escalate")


def test_a_planned_conversation_is_judged_by_its_own_date_not_an_older_one(office):
    """An old held conversation must not make a future planned one look overdue."""
    case = CaseFactory(change_conversation_planned=True, state_changed_at=at(2026, 11, 2))
    ConversationFactory(
        case=case, kind="problem", status="held", starts_at=at(2026, 10, 1), held_at=at(2026, 10, 1)
    )
    ConversationFactory(case=case, kind="change", status="planned", starts_at=at(2026, 12, 10))
    scan(dt.date(2026, 11, 30))
    assert [e for e in events(case) if "conversation_held" in e[0]] == []
