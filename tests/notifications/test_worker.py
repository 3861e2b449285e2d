"""A real Celery worker on the configured broker delivers each notification exactly once.

The broker is whatever CELERY_BROKER_URL says: Redis in CI, kombu's filesystem transport by
default. The worker runs in a thread of the test process, so it shares the settings, the test
database and Django's locmem outbox. The tasks go to a queue of their own, so a worker of
`./scripts/run` or another test run on the same broker cannot take them. (A worker killed with
SIGKILL runs in a process of its own: test_worker_kill.py.)
"""

from __future__ import annotations

import datetime as dt
import socket
import time
from collections import Counter

import pytest
from django.core import mail
from django.db import close_old_connections, connections
from django.utils import timezone

from cases import services
from cases.models import Case, State
from deadlines import tasks as deadline_tasks
from deadlines.selectors import calendars
from notifications import tasks
from notifications.emails import HEADER_ID
from notifications.models import Notification
from notifications.services import queue_delivery
from tests.cases.factories import CaseFactory, PlacementFactory
from tests.notifications.workers import (
    TIMEOUT,
    PrivateRedis,
    broker,
    routed_queue,
    thread_worker,
    wait_until,
)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def queue():
    with routed_queue() as name:
        yield name


@pytest.fixture
def worker(queue):
    with thread_worker(queue) as running:
        yield running


def wait_for_mail(count: int) -> None:
    deadline = time.monotonic() + TIMEOUT
    while len(mail.outbox) < count and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(mail.outbox) >= count, (
        f"only {len(mail.outbox)} of {count} e-mails arrived within {TIMEOUT}s"
    )
    time.sleep(1.0)  # a duplicate, if any, would arrive now


def test_a_step_delivers_exactly_one_email_per_recipient(worker, mailoutbox):
    placement = PlacementFactory()
    case = services.case_signal(
        placement=placement,
        by=placement.student,
        categories=["wellbeing"],
        description="Ik voel me niet welkom in de sectie.",
    )
    expected = sorted(
        p.email for p in (placement.mentor, placement.school_trainer, placement.study_coach)
    )

    wait_for_mail(len(expected))

    assert sorted(m.to[0] for m in mail.outbox) == expected
    assert all(case.number in m.subject or case.number in m.body for m in mail.outbox)
    close_old_connections()
    statuses = list(Notification.objects.filter(case=case).values_list("status", flat=True))
    assert statuses == [Notification.Status.SENT] * len(expected)


def test_queueing_the_same_notifications_again_sends_nothing_twice(worker, mailoutbox):
    placement = PlacementFactory()
    case = services.case_signal(
        placement=placement,
        by=placement.mentor,
        categories=["classroom"],
        description="De lessen lopen uit de hand.",
    )
    services.withdraw(case_id=case.pk, by=placement.school_trainer, reason="Dubbel gemeld.")
    ids = list(Notification.objects.filter(case=case).values_list("pk", flat=True))
    # signal: student, school trainer, coach (not the mentor who signalled);
    # withdraw: student, mentor, coach (not the school trainer who withdrew).
    assert len(ids) == 6

    wait_for_mail(len(ids))
    queue_delivery(ids)  # what the sweep does for rows it thinks were lost
    time.sleep(2.0)

    assert len(mail.outbox) == len(ids)
    recipients = sorted(m.to[0] for m in mail.outbox)
    assert recipients == sorted(
        [placement.student.email, placement.school_trainer.email, placement.study_coach.email]
        + [placement.student.email, placement.mentor.email, placement.study_coach.email]
    )
    close_old_connections()
    assert set(Notification.objects.filter(pk__in=ids).values_list("status", flat=True)) == {
        Notification.Status.SENT
    }


def delivered_ids() -> Counter:
    return Counter(int(m.extra_headers[HEADER_ID]) for m in mail.outbox)


def signalled_days_ago(cases: int, working_days: int, **kwargs) -> list[Case]:
    """Signalled cases whose first-conversation reminder (3 working days) is due today and
    whose escalation (5) is not: two reminders each, to the school trainer and the coach."""
    placement = kwargs.pop("placement", None) or PlacementFactory()
    calendar = calendars()[placement.school.region]
    anchor = calendar.latest_anchor(timezone.localdate(), working_days)
    moment = timezone.make_aware(dt.datetime.combine(anchor, dt.time(10)))
    return CaseFactory.create_batch(
        cases, placement=placement, state_changed_at=moment, signalled_at=moment, **kwargs
    )


def test_running_the_reminder_scan_twice_sends_each_reminder_once(worker, mailoutbox):
    cases = signalled_days_ago(3, 3)
    expected = 2 * len(cases)

    deadline_tasks.scan_deadlines.delay()
    wait_for_mail(expected)
    deadline_tasks.scan_deadlines.delay()  # the beat's next run: nothing new is due
    time.sleep(2.0)
    deadline_tasks.scan_deadlines.delay()
    time.sleep(2.0)

    close_old_connections()
    rows = Notification.objects.filter(event="deadline:first_conversation:remind")
    assert rows.count() == expected
    assert delivered_ids() == Counter(dict.fromkeys(rows.values_list("pk", flat=True), 1))
    assert set(rows.values_list("status", flat=True)) == {Notification.Status.SENT}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def private_redis():
    server = PrivateRedis(free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_with_redis_down_the_step_commits_and_the_mail_follows_when_it_is_back(
    private_redis, queue, mailoutbox
):
    """The broker is a private redis-server (never the machine's shared one), stopped during
    the step: the step commits, its notifications stay pending; once Redis is back, the
    sweep queues them and the worker delivers each once."""
    with broker(private_redis.url):
        private_redis.stop()
        placement = PlacementFactory()
        started = time.monotonic()
        case = services.case_signal(
            placement=placement,
            by=placement.student,
            categories=["wellbeing"],
            description="Ik voel me niet welkom in de sectie.",
        )
        assert time.monotonic() - started < 30, "publishing to a dead broker must give up"
        close_old_connections()
        assert Case.objects.get(pk=case.pk).state == State.SIGNALLED
        rows = Notification.objects.filter(case=case)
        assert rows.count() == 3
        assert set(rows.values_list("status", flat=True)) == {Notification.Status.PENDING}
        assert mail.outbox == []

        private_redis.start()
        with thread_worker(queue):
            # A minute on, the beat's sweep finds the rows that were never queued.
            rows.update(created_at=timezone.now() - dt.timedelta(minutes=2))
            tasks.sweep_outbox.delay()
            wait_for_mail(3)
            tasks.sweep_outbox.delay()  # and the next sweep finds nothing left to do
            time.sleep(1.5)

    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        p.email for p in (placement.mentor, placement.school_trainer, placement.study_coach)
    )
    assert delivered_ids() == Counter(dict.fromkeys(rows.values_list("pk", flat=True), 1))
    close_old_connections()
    assert set(rows.values_list("status", flat=True)) == {Notification.Status.SENT}


DRILL = 1000


@pytest.fixture
def fast_commits():
    """On PostgreSQL each delivery commits twice (claim, sent) and each commit waits for the
    disk; the test database need not survive a crash, so the worker's connection (opened after
    this) does not wait. What is measured - queueing, claiming, sending - is unchanged."""
    alias = connections.settings["default"]
    if connections["default"].vendor != "postgresql":
        yield
        return
    saved = dict(alias.get("OPTIONS", {}))
    options = f"{saved.get('options', '')} -c synchronous_commit=off".strip()
    alias["OPTIONS"] = {**saved, "options": options}
    try:
        yield
    finally:
        alias["OPTIONS"] = saved


def test_reminder_drill_1000_due_reminders_through_the_worker(fast_commits, worker, mailoutbox):
    """1,000 reminders fall due at once; the beat's scan runs through the real worker (twice,
    as a late beat might). Reports delivered / duplicated / lost (target 1000 / 0 / 0)."""
    signalled_days_ago(DRILL // 2, 3)
    started = time.monotonic()
    deadline_tasks.scan_deadlines.delay()
    deadline_tasks.scan_deadlines.delay()
    wait_until(lambda: len(mail.outbox) >= DRILL, TIMEOUT + 30, step=0.25)
    time.sleep(1.5)  # a duplicate, if any, would arrive now
    elapsed = time.monotonic() - started

    close_old_connections()
    expected = set(
        Notification.objects.filter(event="deadline:first_conversation:remind").values_list(
            "pk", flat=True
        )
    )
    counts = delivered_ids()
    delivered = len(expected & set(counts))
    duplicated = sum(n - 1 for n in counts.values() if n > 1) + len(set(counts) - expected)
    lost = len(expected - set(counts))
    print(
        f"\nreminder drill: {len(expected)} due, delivered {delivered}, duplicated {duplicated},"
        f" lost {lost} in {elapsed:.1f}s"
    )
    assert len(expected) == DRILL
    assert (delivered, duplicated, lost) == (DRILL, 0, 0)
