"""A real Celery worker on the configured broker delivers each notification exactly once.

The broker is whatever CELERY_BROKER_URL says: Redis in CI, kombu's filesystem transport by
default. The worker runs in a thread of the test process, so it shares the settings, the test
database and Django's locmem outbox. The tasks go to a queue of their own, so a worker of
`./scripts/run` or another test run on the same broker cannot take them.
"""

from __future__ import annotations

import time
import uuid

import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail
from django.db import close_old_connections

from cases import services
from notifications.models import Notification
from notifications.services import queue_delivery
from stagebureau.celery import app
from tests.cases.factories import PlacementFactory

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

TIMEOUT = 45  # seconds; the filesystem transport polls, Redis pushes


@pytest.fixture
def queue():
    """Route the notification tasks to a queue only this test's worker consumes."""
    name = f"test-worker-{uuid.uuid4().hex[:12]}"
    saved_routes = app.conf.task_routes
    app.conf.task_routes = {"notifications.tasks.*": {"queue": name}}
    app.amqp.flush_routes()
    app.amqp.__dict__.pop("router", None)  # a cached_property built from the routes
    try:
        yield name
    finally:
        app.conf.task_routes = saved_routes
        app.amqp.flush_routes()
        app.amqp.__dict__.pop("router", None)
        with app.connection_for_write() as connection:
            connection.default_channel.queue_purge(name)  # leave nothing behind on the broker


@pytest.fixture
def worker(queue, settings):
    assert not settings.CELERY_TASK_ALWAYS_EAGER, "this test needs a real worker, not eager mode"
    with start_worker(
        app,
        pool="solo",
        concurrency=1,
        perform_ping_check=False,
        queues=[queue],
        loglevel="WARNING",
        shutdown_timeout=30,
    ) as running:
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
    services.case_withdraw(case_id=case.pk, by=placement.school_trainer, reason="Dubbel gemeld.")
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
