"""A worker killed with SIGKILL in the middle of sending: the e-mail still goes out, once.

The workers are separate `celery -A stagebureau worker` processes on the test database and the
configured broker (Redis in CI, the filesystem transport by default); their e-mail backend writes
files, so deliveries are counted across processes, and it hangs on a marker file, so the first
worker can be killed mid-send. Needs a database a second process can open: PostgreSQL (CI).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from django.db import close_old_connections
from django.utils import timezone

from cases import services as case_services
from notifications import tasks
from notifications.models import Notification
from tests.cases.factories import PlacementFactory
from tests.notifications.workers import (
    MailDir,
    ProcessWorker,
    database_url,
    forget_unacked,
    routed_queue,
    wait_until,
)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def queue():
    with routed_queue() as name:
        yield name
        forget_unacked(name)


@pytest.fixture
def mail_dir(tmp_path):
    path = tmp_path / "mail"
    path.mkdir()
    return MailDir(path)


@pytest.fixture
def workers(queue, mail_dir):
    database_url()  # skips on the in-memory SQLite database, before anything starts
    started: list[ProcessWorker] = []

    def start(name: str) -> ProcessWorker:
        worker = ProcessWorker(queue, mail_dir, name)
        started.append(worker)
        worker.wait_ready()
        return worker

    yield start
    for worker in started:
        worker.stop()


def statuses(ids) -> dict[int, str]:
    close_old_connections()
    return dict(Notification.objects.filter(pk__in=ids).values_list("pk", "status"))


def test_a_worker_killed_mid_send_loses_nothing_and_sends_nothing_twice(workers, mail_dir):
    mail_dir.block.touch()  # the first worker hangs inside the e-mail backend
    first = workers("first")

    placement = PlacementFactory()
    case = case_services.case_signal(
        placement=placement,
        by=placement.student,
        categories=["wellbeing"],
        description="Ik voel me niet welkom.",
    )
    ids = sorted(Notification.objects.filter(case=case).values_list("pk", flat=True))
    assert len(ids) == 3  # mentor, school trainer, study coach

    assert wait_until(mail_dir.reached.exists), f"no send began:\n{first.output()}"
    first.kill()
    assert mail_dir.ids() == [], "the killed worker must not have written an e-mail"
    in_flight = [pk for pk, status in statuses(ids).items() if status == "sending"]
    assert len(in_flight) == 1, statuses(ids)

    mail_dir.block.unlink()
    second = workers("second")
    # The other two were still on the broker: the new worker delivers them.
    assert wait_until(lambda: len(mail_dir.ids()) >= 2), second.output()
    assert statuses(in_flight)[in_flight[0]] == "sending"  # still claimed by the dead worker

    # Ten minutes on, the claim is stale; the periodic sweep (run here through the worker)
    # queues the row again and the new worker takes the claim over.
    Notification.objects.filter(pk__in=in_flight).update(
        claimed_at=timezone.now() - dt.timedelta(minutes=11)
    )
    tasks.sweep_outbox.delay()
    assert wait_until(lambda: len(mail_dir.ids()) >= 3), second.output()
    assert wait_until(lambda: set(statuses(ids).values()) == {"sent"}, 10), statuses(ids)

    # Anything still on its way (a redelivery, a second sweep) finds the rows sent.
    tasks.sweep_outbox.delay()
    wait_until(lambda: False, 2.0)
    counts = Counter(mail_dir.ids())
    assert counts == dict.fromkeys(ids, 1), f"deliveries per row: {dict(counts)}"
    row = Notification.objects.get(pk=in_flight[0])
    assert row.attempts == 2  # the killed attempt and the one that sent it
