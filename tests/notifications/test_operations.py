"""Operations: `manage.py outbox` (counts, failed items with their error, --retry), the
selector behind the office dashboard's failed deliveries, and the Celery set-up of the tasks."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from celery.utils.imports import symbol_by_name
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notifications import services
from notifications.selectors import failed_deliveries
from tests.cases.factories import UserFactory
from tests.notifications.factories import NotificationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(monkeypatch):
    calls: list[int] = []
    monkeypatch.setattr(services, "queue_delivery", lambda ids: calls.extend(ids))
    return calls


@pytest.fixture
def outbox_rows():
    long_ago = timezone.now() - dt.timedelta(hours=2)
    return {
        "pending": NotificationFactory(),
        "never_queued": NotificationFactory(stale=True),
        "sending": NotificationFactory(sending=True),
        "stuck": NotificationFactory(sending=True, claimed_at=long_ago),
        "sent": NotificationFactory(sent=True),
        "failed": NotificationFactory(
            failed=True,
            recipient=UserFactory(email="broken@example.org"),
            last_error="550 mailbox\nunavailable",
        ),
        "given_up": NotificationFactory(failed=True, attempts=12, claimed_at=long_ago),
    }


def run(*args) -> str:
    out = StringIO()
    call_command("outbox", *args, stdout=out)
    return out.getvalue()


def test_it_counts_per_status_and_lists_failed_items_with_their_error(outbox_rows, queued):
    output = run()
    lines = output.splitlines()
    assert "pending  2" in lines
    assert "sending  2" in lines
    assert "sent     1" in lines
    assert "failed   2" in lines
    assert any(line.startswith("stale    1") for line in lines)
    failed = outbox_rows["failed"]
    line = next(line for line in lines if f"#{failed.pk} " in line)
    assert failed.case.number in line
    assert "broken@example.org" in line
    assert "550 mailbox unavailable" in line
    assert queued == []  # only looking


def test_retry_queues_failed_stuck_and_never_queued_items(outbox_rows, queued):
    output = run("--retry")
    expected = {outbox_rows[k].pk for k in ("never_queued", "stuck", "failed", "given_up")}
    assert set(queued) == expected
    assert "Queued 4 item(s) again." in output


def test_a_retried_item_is_delivered(outbox_rows, mailoutbox):
    run("--retry")
    # The worker takes the queued id; deliver as it would.
    failed = outbox_rows["failed"]
    assert services.deliver(failed.pk) is True
    failed.refresh_from_db()
    assert failed.status == "sent"
    assert [m.to for m in mailoutbox] == [["broken@example.org"]]


def test_an_empty_outbox():
    output = run("--retry")
    assert "failed   0" in output.splitlines()
    assert "Queued 0 item(s) again." in output


def test_failed_deliveries_for_the_dashboard(outbox_rows):
    with CaptureQueriesContext(connection) as queries:
        rows = list(failed_deliveries())
        described = [(r.case.number, r.recipient.email, r.case.placement.student.pk) for r in rows]
    assert len(queries) == 1
    assert [r.pk for r in rows] == [outbox_rows["given_up"].pk, outbox_rows["failed"].pk]
    assert described[1][1] == "broken@example.org"
    assert {r.status for r in rows} == {"failed"}


# --- Celery: the tasks and the beat schedule ------------------------------------------------


def test_the_beat_runs_the_sweep_and_the_deadline_scan():
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"notifications.tasks.sweep_outbox", "deadlines.tasks.scan_deadlines"} <= tasks


@pytest.mark.parametrize(
    "name",
    [
        "notifications.tasks.deliver_notification",
        "notifications.tasks.sweep_outbox",
        "deadlines.tasks.scan_deadlines",
    ],
)
def test_the_idempotent_tasks_acknowledge_late(name):
    task = symbol_by_name(name)
    assert task.acks_late is True
    assert task.reject_on_worker_lost is not False  # True, or the app's default (True)
    assert settings.CELERY_TASK_REJECT_ON_WORKER_LOST is True


def test_delivery_retries_with_backoff_within_the_visibility_timeout():
    deliver = symbol_by_name("notifications.tasks.deliver_notification")
    visibility = 3600  # the default of CELERY_VISIBILITY_TIMEOUT (see test_setup for Redis)
    assert deliver.retry_backoff and deliver.max_retries
    assert deliver.retry_backoff_max < visibility
    assert visibility > settings.CELERY_TASK_TIME_LIMIT
    # A send in progress is stopped (time limit) before its claim expires: never taken over.
    assert deliver.time_limit < settings.CELERY_TASK_TIME_LIMIT
    assert services.claim_timeout().total_seconds() > deliver.time_limit
    assert deliver.soft_time_limit > settings.EMAIL_TIMEOUT


def test_a_send_cut_off_by_a_killed_worker_is_retried_within_about_two_minutes():
    sweep = next(
        entry["schedule"]
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
        if entry["task"] == "notifications.tasks.sweep_outbox"
    )
    assert services.claim_timeout().total_seconds() + sweep <= 120
