"""The reminder scan at scale: one Celery message per batch of outbox rows, and Celery's time
limits stop the task (never swallowed as a broker error); the next run carries on."""

from __future__ import annotations

import datetime as dt
import os
import signal

import pytest
import time_machine
from billiard.pool import soft_timeout_sighandler
from celery.exceptions import SoftTimeLimitExceeded
from django.db import connection
from django.utils import timezone

from deadlines import scan as scan_module
from deadlines.tasks import SCAN_SOFT_TIME_LIMIT, SCAN_TIME_LIMIT, scan_deadlines
from notifications import tasks as notification_tasks
from notifications.models import Notification
from tests.cases.factories import CaseFactory, UserFactory

AMS = dt.timezone(dt.timedelta(hours=1))
CASES = 12  # each: a reminder to the school trainer and the coach, and an escalation = 3 rows


def at(y, m, d, h=10, minute=0):
    return dt.datetime(y, m, d, h, minute, tzinfo=AMS)


@pytest.fixture
def overdue_cases():
    UserFactory(username="office1", office=True)
    return [
        CaseFactory(state_changed_at=at(2026, 11, 16), signalled_at=at(2026, 11, 16))
        for _ in range(CASES)
    ]


@pytest.fixture
def soft_limit_signal():
    """The handler billiard's prefork pool installs for the soft time limit: the signal raises
    SoftTimeLimitExceeded wherever the task is, as in a real worker."""
    previous = signal.signal(signal.SIGUSR1, soft_timeout_sighandler)
    yield lambda: os.kill(os.getpid(), signal.SIGUSR1)
    signal.signal(signal.SIGUSR1, previous)


def test_the_scan_has_limits_within_its_period_and_the_brokers_visibility():
    assert scan_deadlines.soft_time_limit == SCAN_SOFT_TIME_LIMIT < SCAN_TIME_LIMIT
    assert SCAN_TIME_LIMIT < 30 * 60 < 3600  # the beat's period; Redis's visibility timeout


@pytest.mark.django_db(transaction=True)
def test_one_message_per_batch_of_rows(overdue_cases, monkeypatch):
    monkeypatch.setattr(scan_module, "BATCH", 10)
    messages: list[list[int]] = []
    monkeypatch.setattr(notification_tasks.deliver_batch, "delay", messages.append)
    with time_machine.travel(at(2026, 11, 30), tick=False):
        result = scan_deadlines.apply()
    assert result.successful() and result.result == 3 * CASES
    ids = sorted(Notification.objects.values_list("pk", flat=True))
    assert sorted(pk for batch in messages for pk in batch) == ids
    assert all(len(batch) <= 10 for batch in messages)
    assert len(messages) < len(ids) / 2  # not one message per row


@pytest.mark.django_db(transaction=True)
def test_a_soft_time_limit_stops_the_scan_and_the_next_run_picks_up_the_rest(
    overdue_cases, monkeypatch, soft_limit_signal
):
    monkeypatch.setattr(scan_module, "BATCH", 10)
    queued: list[list[int]] = []

    def publish(ids):
        queued.append(list(ids))
        if len(queued) == 2:  # the soft limit strikes while the second batch is queued
            soft_limit_signal()

    monkeypatch.setattr(notification_tasks.deliver_batch, "delay", publish)
    with time_machine.travel(at(2026, 11, 30), tick=False):
        stopped = scan_deadlines.apply()
    # The task failed, visibly: the exception was not taken for a broker that is down.
    assert stopped.failed()
    assert isinstance(stopped.result, SoftTimeLimitExceeded)
    written = Notification.objects.count()
    assert 0 < written < 3 * CASES  # the batches before the limit were committed

    with time_machine.travel(at(2026, 11, 30, 10, 30), tick=False):
        carried_on = scan_deadlines.apply()
    assert carried_on.successful()
    assert written + carried_on.result == Notification.objects.count() == 3 * CASES

    # The batch whose queueing was cut off is still pending: the sweep queues it a minute on.
    with time_machine.travel(at(2026, 11, 30, 10, 35), tick=False):
        notification_tasks.sweep_outbox.apply()
    every_row = set(Notification.objects.values_list("pk", flat=True))
    assert set().union(*map(set, queued)) == every_row
    with time_machine.travel(at(2026, 11, 30, 11), tick=False):
        assert scan_deadlines.apply().result == 0


@pytest.mark.django_db(transaction=True)
def test_a_soft_time_limit_stops_a_delivery_batch_and_leaves_the_rest_pending(
    overdue_cases, monkeypatch, soft_limit_signal
):
    monkeypatch.setattr(notification_tasks.deliver_batch, "delay", lambda ids: None)
    with time_machine.travel(at(2026, 11, 30), tick=False):
        scan_deadlines.apply()
    ids = list(Notification.objects.order_by("pk").values_list("pk", flat=True))
    tried: list[int] = []

    def deliver(pk):
        tried.append(pk)
        if len(tried) == 3:
            soft_limit_signal()
        return True

    monkeypatch.setattr(notification_tasks.services, "deliver", deliver)
    stopped = notification_tasks.deliver_batch.apply(args=(ids,))
    assert stopped.failed() and isinstance(stopped.result, SoftTimeLimitExceeded)
    assert tried == ids[:3]
    # Untouched rows stay pending, so the sweep hands them to the next batch.
    monkeypatch.setattr(notification_tasks.deliver_batch, "delay", tried.extend)
    Notification.objects.update(created_at=timezone.now() - dt.timedelta(minutes=5))
    notification_tasks.sweep_outbox.apply()
    assert set(ids[3:]) <= set(tried[3:])


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="a PostgreSQL setting; CI runs this on PostgreSQL"
)
@pytest.mark.django_db
def test_iterators_are_planned_for_all_their_rows():
    """The scan streams its rows with Django's .iterator(): outside a transaction a cursor WITH
    HOLD, which PostgreSQL runs to the end at once. Planned for its first 10 % (PostgreSQL's
    default), one anti-join took 33 s at a million cases; planned for all rows, 1.8 s."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW cursor_tuple_fraction")
        [(fraction,)] = cursor.fetchall()
        cursor.execute("SHOW jit")
        [(jit,)] = cursor.fetchall()
    assert float(fraction) == 1.0
    assert jit == "off"
