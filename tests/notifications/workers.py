"""Real Celery workers for the tests: in a thread of the test process, or as a separate
`celery -A stagebureau worker` process that can be killed with SIGKILL; and a private
redis-server that a test may stop and start again.

Every test routes the notification tasks to a queue of its own, so a worker of
`./scripts/run` or another test run on the same broker cannot take them.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from urllib.parse import quote

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.db import connection

from notifications.emails import HEADER_ID
from stagebureau.celery import app

ROOT = Path(__file__).resolve().parent.parent.parent
CELERY = Path(sys.executable).with_name("celery")
TIMEOUT = 60  # seconds for anything to arrive; the filesystem transport polls, Redis pushes


def wait_until(predicate: Callable[[], bool], timeout: float = TIMEOUT, step: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def _reset_routes() -> None:
    app.amqp.flush_routes()
    app.amqp.__dict__.pop("router", None)  # a cached_property built from the routes


@contextmanager
def routed_queue() -> Iterator[str]:
    """Route the notification and deadline tasks to a queue only this test's workers consume."""
    name = f"test-worker-{uuid.uuid4().hex[:12]}"
    saved = app.conf.task_routes
    app.conf.task_routes = {
        "notifications.tasks.*": {"queue": name},
        "deadlines.tasks.*": {"queue": name},
    }
    _reset_routes()
    try:
        yield name
    finally:
        app.conf.task_routes = saved
        _reset_routes()
        try:
            with app.connection_for_write() as conn:
                conn.default_channel.queue_purge(name)  # leave nothing behind on the broker
        except Exception:  # the broker of this test may be gone (a private Redis)
            pass


@contextmanager
def thread_worker(queue: str) -> Iterator[object]:
    """A worker in a thread of the test process: same settings, database and locmem outbox."""
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


@contextmanager
def broker(url: str) -> Iterator[None]:
    """Point the app (publisher and thread workers) at another broker for the block."""
    saved = (app.conf.broker_url, app.conf.broker_transport_options)
    _drop_pools()
    app.conf.broker_url = url
    app.conf.broker_transport_options = {"visibility_timeout": 3600}
    try:
        yield
    finally:
        _drop_pools()
        app.conf.broker_url, app.conf.broker_transport_options = saved


def _drop_pools() -> None:
    """Forget the app's cached connection and producer pools, so the next publish looks the
    broker up again. (Never close them: they are kombu's shared pools, keyed by broker URL.)"""
    app._pool = None
    app.amqp._producer_pool = None


# --- a worker in a process of its own ----------------------------------------------------------


def database_url() -> str:
    """The URL of the test database, for a process that must share it."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        if connection.is_in_memory_db():
            pytest.skip(
                "needs PostgreSQL and Redis (a second process cannot open the in-memory SQLite "
                "test database); CI runs them: DATABASE_URL=postgres://… CELERY_BROKER_URL=redis://…"
            )
        return f"sqlite:///{s['NAME']}"
    if connection.vendor != "postgresql":
        pytest.skip(f"no subprocess worker for {connection.vendor}")
    user = quote(s.get("USER") or "")
    password = quote(s.get("PASSWORD") or "")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = s.get("HOST") or "localhost"
    port = s.get("PORT") or 5432
    return f"postgres://{auth}{host}:{port}/{s['NAME']}"


class MailDir:
    """E-mails a subprocess worker wrote with the file backend, counted per outbox row."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.block = path / "block"  # while it exists, the backend waits before sending
        self.reached = path / "block.reached"

    def ids(self) -> list[int]:
        found = []
        for file in sorted(self.path.glob("*.log")):
            for line in file.read_text(encoding="utf-8", errors="replace").splitlines():
                if line.startswith(f"{HEADER_ID}:"):
                    found.append(int(line.split(":", 1)[1]))
        return found


class ProcessWorker:
    """`celery -A stagebureau worker` in its own process, on the test database and the
    configured broker, consuming only `queue`, sending e-mail to files in `mail`."""

    def __init__(
        self,
        queue: str,
        mail: MailDir,
        name: str,
        *,
        settings_module: str = "tests.notifications.worker_settings",
        extra_env: dict[str, str] | None = None,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.queue, self.mail, self.name = queue, mail, name
        self.log = mail.path.parent / f"{name}.log"
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("DJANGO_", "CELERY_", "EMAIL_", "DATABASE_"))
        }
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": settings_module,
                "DATABASE_URL": database_url(),
                "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
                "STAGEBUREAU_VAR_DIR": str(settings.VAR_DIR),
                "STAGEBUREAU_TEST_QUEUE": queue,
                "STAGEBUREAU_TEST_MAIL_BLOCK": str(mail.block),
                "EMAIL_FILE_PATH": str(mail.path),
                "PYTHONPATH": str(ROOT),
                "PYTHONUNBUFFERED": "1",
                **(extra_env or {}),
            }
        )
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    str(CELERY),
                    "-A",
                    "stagebureau",
                    "worker",
                    "--pool=solo",
                    "--concurrency=1",
                    f"--queues={queue}",
                    f"--hostname={name}-{uuid.uuid4().hex[:6]}@%h",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                    "--loglevel=INFO",
                    *extra_args,
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self, timeout: float = TIMEOUT) -> None:
        ready = wait_until(
            lambda: self.process.poll() is not None or " ready." in self.output(), timeout
        )
        assert ready and self.process.poll() is None, f"worker did not start:\n{self.output()}"

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""

    def kill(self) -> None:
        """SIGKILL: no warm shutdown, no acknowledgement, nothing written on the way out (to
        the worker's whole process group: an embedded beat dies with it)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self._kill_group()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        self._kill_group()

    def _kill_group(self) -> None:
        """Whatever the worker started (an embedded beat) and left behind."""
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)


def forget_unacked(queue: str) -> None:
    """Redis keeps the message of a killed worker as unacknowledged and would put it back on
    the queue after the visibility timeout; drop this test's entries (the sweep recovered them)."""
    if not settings.CELERY_BROKER_URL.startswith("redis"):
        return
    import redis

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    for tag, payload in client.hgetall("unacked").items():
        try:
            _message, _exchange, routing_key = json.loads(payload)
        except (ValueError, TypeError):
            continue
        if routing_key == queue:
            client.hdel("unacked", tag)
            client.zrem("unacked_index", tag)
    client.delete(f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")


# --- a private Redis -----------------------------------------------------------------------------

REDIS_SERVER = shutil.which("redis-server")


class PrivateRedis:
    """A redis-server of this test alone (never the machine's shared one), to stop and start."""

    def __init__(self, port: int) -> None:
        if REDIS_SERVER is None:
            pytest.skip(
                "redis-server is not installed (apt-get install redis-server); CI has it and "
                "under CI=true this skip is a failure"
            )
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        import redis

        self.process = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)

        def up() -> bool:
            try:
                return bool(client.ping())
            except redis.RedisError:
                return False

        assert wait_until(up, 20), f"redis-server on port {self.port} did not start"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)
        self.process = None
