"""End-to-end journeys: real Chromium against a real gunicorn serving the app, a real Celery
worker process, and a real SMTP server (aiosmtpd) that receives what the worker sends.

The server and the worker are separate processes on the test database, so the database must be
one they can open: PostgreSQL (`DATABASE_URL=postgres://…`; CI runs it). Without it, or without
/usr/bin/chromium, the tests are skipped with a loud reason, and tests/conftest.py turns a skip
into a failure under CI=true. The broker is whatever CELERY_BROKER_URL says (Redis in CI); the
notification tasks go to a queue of this test session alone, so no other worker takes them,
and only while a journey runs.

Run locally:
    createdb -U postgres -h 127.0.0.1 sb_e2e
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sb_e2e \
    CELERY_BROKER_URL=redis://127.0.0.1:6379/15 .venv/bin/python -m pytest tests/e2e
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import logging
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import connection

from stagebureau.celery import app
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, NO_CHROMIUM
from tests.notifications.workers import _reset_routes, database_url, wait_until

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
STARTUP_TIMEOUT = 120  # seconds: 2 shared cores, many test runs at once
NEEDS_POSTGRES = (
    "END-TO-END TESTS NOT RUN: the server and worker processes need a database they can open; "
    "run them on PostgreSQL (DATABASE_URL=postgres://…, CELERY_BROKER_URL=redis://…), as CI "
    "does. Under CI=true this skip is a failure."
)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.e2e)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- the SMTP sink -----------------------------------------------------------------------------


@dataclass
class Mail:
    recipients: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        # Django folds a long encoded subject right after "Subject:"; unfold it as a mail client.
        return " ".join(str(self.message["Subject"]).split())

    @property
    def to(self) -> str:
        return str(self.message["To"])

    def attachments(self) -> list[tuple[str, str, bytes]]:
        return [
            (part.get_filename() or "", part.get_content_type(), part.get_payload(decode=True))
            for part in self.message.iter_attachments()
        ]

    def text(self) -> str:
        body = self.message.get_body(preferencelist=("plain",))
        return body.get_content() if body is not None else ""


@dataclass
class SmtpSink:
    """Collects what a real SMTP client delivered to the aiosmtpd server."""

    host: str = "127.0.0.1"
    port: int = 0
    mails: list[Mail] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.mails.append(Mail(list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def clear(self) -> None:
        with self.lock:
            self.mails.clear()

    def snapshot(self) -> list[Mail]:
        with self.lock:
            return list(self.mails)

    def wait_for(self, predicate, count: int = 1, timeout: float = 90) -> list[Mail]:
        """The mails matching `predicate`, once at least `count` of them have arrived."""
        wait_until(lambda: len([m for m in self.snapshot() if predicate(m)]) >= count, timeout)
        found = [m for m in self.snapshot() if predicate(m)]
        assert len(found) >= count, (
            f"expected {count} mail(s), got {len(found)}; all subjects: "
            f"{[(m.recipients, m.subject) for m in self.snapshot()]}"
        )
        return found


@pytest.fixture(scope="session")
def smtp_sink():
    from aiosmtpd.controller import Controller

    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP line
    sink = SmtpSink(port=free_port())
    controller = Controller(sink, hostname=sink.host, port=sink.port, ready_timeout=30)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()
        asyncio.set_event_loop(None)


# --- the server and the worker -----------------------------------------------------------------


@dataclass
class Stack:
    url: str
    queue: str
    logs: Path
    processes: dict[str, subprocess.Popen]

    def __call__(self, path: str = "/") -> str:
        return f"{self.url}{path}"

    def output(self) -> str:
        return "\n".join(
            f"--- {log.name} ---\n{log.read_text(encoding='utf-8', errors='replace')[-4000:]}"
            for log in sorted(self.logs.glob("*.log"))
        )

    def check_alive(self) -> None:
        for name, process in self.processes.items():
            assert process.poll() is None, f"{name} exited ({process.returncode}):\n{self.output()}"


def _start(name: str, command: list[str], env: dict, logs: Path) -> subprocess.Popen:
    with (logs / f"{name}.log").open("ab") as log:
        return subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)


def _responds(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture(scope="session")
def e2e_stack(django_db_setup, django_db_blocker, smtp_sink, tmp_path_factory):
    """gunicorn + a Celery worker on the test database, e-mail to the SMTP sink."""
    if not CHROMIUM.exists():
        pytest.skip(NO_CHROMIUM)
    with django_db_blocker.unblock():
        if connection.vendor != "postgresql":
            pytest.skip(NEEDS_POSTGRES)
        db_url = database_url()
    logs = tmp_path_factory.mktemp("e2e-logs")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    queue = f"test-e2e-{uuid.uuid4().hex[:12]}"
    try:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("DJANGO_", "CELERY_", "EMAIL_", "DATABASE_"))
        }
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "tests.e2e.settings",
                "DATABASE_URL": db_url,
                "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
                "STAGEBUREAU_VAR_DIR": str(settings.VAR_DIR),
                "STAGEBUREAU_TEST_QUEUE": queue,
                "EMAIL_HOST": smtp_sink.host,
                "EMAIL_PORT": str(smtp_sink.port),
                "SITE_URL": url,
                "PYTHONPATH": str(ROOT),
                "PYTHONUNBUFFERED": "1",
            }
        )
        processes = {
            "gunicorn": _start(
                "gunicorn",
                [
                    str(BIN / "gunicorn"),
                    "stagebureau.wsgi:application",
                    f"--bind=127.0.0.1:{port}",
                    "--workers=2",
                    "--threads=2",
                    "--timeout=120",
                    "--graceful-timeout=10",
                    "--access-logfile=-",
                ],
                env,
                logs,
            ),
            "worker": _start(
                "worker",
                [
                    str(BIN / "celery"),
                    "-A",
                    "stagebureau",
                    "worker",
                    "--pool=solo",
                    "--concurrency=1",
                    f"--queues={queue}",
                    f"--hostname=e2e-{uuid.uuid4().hex[:6]}@%h",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                    "--loglevel=INFO",
                ],
                env,
                logs,
            ),
        }
        stack = Stack(url, queue, logs, processes)
        try:
            started = time.monotonic()
            assert wait_until(
                lambda: _responds(f"{url}/login/") or processes["gunicorn"].poll() is not None,
                STARTUP_TIMEOUT,
                0.5,
            ), f"gunicorn did not answer:\n{stack.output()}"
            assert wait_until(
                lambda: (
                    " ready." in (logs / "worker.log").read_text(errors="replace")
                    or processes["worker"].poll() is not None
                ),
                STARTUP_TIMEOUT,
                0.5,
            ), f"worker did not start:\n{stack.output()}"
            stack.check_alive()
            print(f"e2e stack up in {time.monotonic() - started:.1f} s at {url}")
            yield stack
        finally:
            for process in processes.values():
                _stop(process)
    finally:
        with contextlib.suppress(Exception), app.connection_for_write() as conn:
            conn.default_channel.queue_purge(queue)  # leave nothing behind on the broker


@contextlib.contextmanager
def routes_to(queue: str):
    """While a journey runs, what the test process itself publishes goes to the stack's queue
    (and only then: other tests' tasks must not reach the end-to-end worker)."""
    saved = app.conf.task_routes
    app.conf.task_routes = {
        "notifications.tasks.*": {"queue": queue},
        "deadlines.tasks.*": {"queue": queue},
    }
    _reset_routes()
    try:
        yield
    finally:
        app.conf.task_routes = saved
        _reset_routes()


@pytest.fixture
def stack(e2e_stack, transactional_db, smtp_sink, _allow_async_unsafe):
    """The running stack, with a database the server and worker see (committed data); the
    mailbox emptied for this test."""
    # A test with serialized_rollback before this one flushes without post_migrate: the
    # content types it cached in this process are gone from the database.
    ContentType.objects.clear_cache()
    smtp_sink.clear()
    e2e_stack.check_alive()
    with routes_to(e2e_stack.queue):
        yield e2e_stack
    e2e_stack.check_alive()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not CHROMIUM.exists():
        pytest.skip(NO_CHROMIUM)
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": [*browser_type_launch_args.get("args", []), *CHROMIUM_ARGS],
    }


@pytest.fixture(scope="session", autouse=True)
def _allow_async_unsafe():
    """Playwright's sync API runs an event loop in the test thread; Django's ORM refuses to run
    there unless DJANGO_ALLOW_ASYNC_UNSAFE is set."""
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous
