"""Exactly once for the reader, with real workers and a real SMTP server (issue #16).

Each test starts `celery -A stagebureau worker` processes on the test database and the
configured broker, sending through SMTP to an aiosmtpd server in this process (the reader). The
worker's SMTP backend hangs on a marker file right after the server accepted the message, or
just before it hands it over, so the worker can be killed with SIGKILL exactly there. A second
worker with an embedded beat (the sweep every SWEEP seconds, a claim of CLAIM seconds instead
of the 90 of production) takes over. Needs PostgreSQL and Redis, like test_worker_kill.py:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sb CELERY_BROKER_URL=redis://127.0.0.1:6379/0
"""

from __future__ import annotations

import asyncio
import email
import logging
import socket
import threading
import time
from dataclasses import dataclass, field
from email import policy

import pytest
from django.db import close_old_connections

from notifications import services
from notifications.emails import HEADER_ID, message_id
from notifications.models import Notification
from tests.cases.factories import CaseFactory, UserFactory
from tests.notifications.workers import (
    MailDir,
    ProcessWorker,
    database_url,
    forget_unacked,
    routed_queue,
    wait_until,
)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

CLAIM = 8  # seconds (production: NOTIFICATION_CLAIM_SECONDS = 90)
SWEEP = 1  # seconds between the beat's sweeps (production: 30)
SLACK = 15  # seconds for a sweep, a task and an SMTP session on a busy machine


@dataclass
class Received:
    message_id: str
    notification: int
    at: float  # time.time() when the server accepted it


@dataclass
class Reader:
    """The SMTP server: what reached the reader, with the Message-ID and when."""

    port: int = 0
    mails: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.mails.append(
                Received(str(message["Message-ID"]), int(message[HEADER_ID]), time.time())
            )
        return "250 Message accepted for delivery"

    def snapshot(self) -> list[Received]:
        with self.lock:
            return list(self.mails)


@pytest.fixture
def reader():
    from aiosmtpd.controller import Controller

    logging.getLogger("mail.log").setLevel(logging.WARNING)
    sink = Reader(port=free_port())
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port, ready_timeout=30)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()
        asyncio.set_event_loop(None)


@pytest.fixture
def queue():
    with routed_queue() as name:
        yield name
        forget_unacked(name)


@pytest.fixture
def workers(queue, reader, tmp_path):
    database_url()  # skips on the in-memory SQLite database, before anything starts
    mail = MailDir(tmp_path)
    started: list[ProcessWorker] = []

    def start(name: str, *, beat: bool = False, block: str = "") -> ProcessWorker:
        env = {
            "STAGEBUREAU_TEST_SMTP_PORT": str(reader.port),
            "STAGEBUREAU_TEST_CLAIM_SECONDS": str(CLAIM),
            "STAGEBUREAU_TEST_SWEEP_SECONDS": str(SWEEP),
        }
        if block:
            env[f"STAGEBUREAU_TEST_SMTP_BLOCK_{block.upper()}"] = str(tmp_path / "block")
        args = ("-B", f"--schedule={tmp_path / f'beat-{name}'}") if beat else ()
        worker = ProcessWorker(
            queue,
            mail,
            name,
            settings_module="tests.notifications.smtp_worker_settings",
            extra_env=env,
            extra_args=args,
        )
        started.append(worker)
        worker.wait_ready()
        return worker

    yield start
    for worker in started:
        worker.stop()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def row(pk: int) -> Notification:
    close_old_connections()
    return Notification.objects.get(pk=pk)


def one_notification() -> int:
    """One outbox row for one reader; queued for delivery when the row is committed."""
    case = CaseFactory()
    reader_person = UserFactory(email="lezer@example.org")
    (pk,) = services.notify(case, event="resolve", actor=None, recipients=[reader_person])
    return pk


def kill_mid_send(workers, tmp_path, block: str) -> tuple[int, float]:
    """A notification whose first worker is killed at the marker; (row id, time of the kill)."""
    marker = tmp_path / "block"
    marker.touch()
    first = workers("first", block=block)
    pk = one_notification()
    assert wait_until((tmp_path / "block.reached").exists), f"no send began:\n{first.output()}"
    first.kill()
    killed_at = time.time()
    marker.unlink()
    assert row(pk).status == Notification.Status.SENDING  # claimed by a dead worker
    return pk, killed_at


def test_a_send_cut_off_after_the_server_accepted_reaches_the_reader_twice_with_one_id(
    workers, reader, tmp_path
):
    pk, killed_at = kill_mid_send(workers, tmp_path, "after")
    assert [m.notification for m in reader.snapshot()] == [pk]  # the reader has it once

    second = workers("second", beat=True)
    assert wait_until(lambda: len(reader.snapshot()) >= 2, CLAIM + SLACK), second.output()
    assert wait_until(lambda: row(pk).status == Notification.Status.SENT, 10), second.output()
    wait_until(lambda: False, 3 * SWEEP + 1)  # further sweeps find the row sent

    mails = reader.snapshot()
    sent = row(pk)
    assert len(mails) == 2, mails  # at most two copies ...
    assert {m.message_id for m in mails} == {message_id(sent)}  # ... with one Message-ID
    assert sent.attempts == 2
    # Not taken over while the claim was fresh (the first copy went out right after the
    # claim), and sent again soon after it expired.
    apart, after_kill = mails[1].at - mails[0].at, mails[1].at - killed_at
    assert apart >= CLAIM - 1, apart
    assert after_kill <= CLAIM + SLACK, after_kill
    print(
        f"\nreader: {len(mails)} copies, one Message-ID {mails[0].message_id}; the second "
        f"{apart:.1f} s after the first, {after_kill:.1f} s after the kill "
        f"(claim {CLAIM} s, sweep every {SWEEP} s); row sent after {sent.attempts} attempts"
    )


def test_a_send_killed_before_the_server_had_it_reaches_the_reader_once_after_the_claim(
    workers, reader, tmp_path
):
    pk, killed_at = kill_mid_send(workers, tmp_path, "before")
    assert reader.snapshot() == []
    claimed_at = row(pk).claimed_at.timestamp()

    second = workers("second", beat=True)
    assert wait_until(lambda: len(reader.snapshot()) >= 1, CLAIM + SLACK), second.output()
    assert wait_until(lambda: row(pk).status == Notification.Status.SENT, 10), second.output()
    wait_until(lambda: False, 3 * SWEEP + 1)

    mails = reader.snapshot()
    sent = row(pk)
    assert [m.message_id for m in mails] == [message_id(sent)]
    assert sent.attempts == 2
    after_claim = mails[0].at - claimed_at
    after_kill = mails[0].at - killed_at
    assert after_claim >= CLAIM - 1, after_claim  # the claim of the dead worker was respected
    assert after_kill <= CLAIM + SLACK, after_kill
    print(
        f"\nreader: 1 copy, sent {after_kill:.1f} s after the kill, {after_claim:.1f} s after "
        f"the dead worker's claim (claim {CLAIM} s, sweep every {SWEEP} s)"
    )
