"""Health of the running stack: database, broker and Celery worker, checked by django-health-check.

`GET /health/` answers JSON, 200 when every check passes and 503 otherwise, naming what failed::

    {"status": "ok", "failed": [],
     "checks": {"database": {"ok": true, "ms": 0.9},
                "broker": {"ok": true, "ms": 2.1},
                "worker": {"ok": true, "workers": 1, "heartbeat_age": 3.2, "ms": 0.7}}}

The checks are django-health-check's (`health_check`): its `Database` (SELECT 1), its Redis ping
for a Redis broker, and its runner (each check in a thread, with a time limit, failures logged
with their details). This module keeps the page's JSON shape and adds what the library has no
check for: a connection to a broker of another transport (kombu's filesystem broker of the
embedded set-up), and the worker's heartbeat.

`?only=database,broker` runs a subset (docker-compose's web healthcheck: the web container is
healthy without a worker, so the worker may wait for the web's migrations). The page is public
and never shows a URL, host, user or exception message: a failing check names the class of the
exception behind it (or the check's own message); the details go to the log.

The worker check reads heartbeats. Every worker process (the `WorkerHeartbeat` consumer step,
registered in stagebureau/celery.py) writes one every HEARTBEAT_INTERVAL seconds while it
consumes, and deletes it when it stops; the check wants a heartbeat younger than
`HEALTH_WORKER_MAX_AGE` seconds (default 45) from a worker that consumes the default queue. The
heartbeats live where web and worker are sure to meet: on Redis (a key with a time-to-live) when
the broker is Redis, otherwise in files in `STAGEBUREAU_VAR_DIR/health` (the filesystem broker's
web and worker share that folder anyway). Each heartbeat is filed under the database the worker
uses, so a worker of another database (another test run, another instance) does not count.
This works on every broker and needs no round trip through a worker, unlike the library's
`contrib.celery.Ping` (`app.control.ping`, which needs broadcast).

`python -m stagebureau.health [database broker worker] [--self]` runs the same checks from a
shell and exits 0 or 1 (the worker's docker-compose healthcheck: `worker --self` wants this
host's own worker, `celery@<hostname>`); `python -m stagebureau.health --http [URL]` asks a
running web server (the image's HEALTHCHECK; default `http://127.0.0.1:$PORT/health/?only=
database,broker`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import hashlib
import json
import logging
import os
import socket
import sys
import time
from collections.abc import Iterable
from functools import partial
from pathlib import Path
from typing import Any

import redis
import redis.asyncio
from asgiref.sync import async_to_sync
from celery import bootsteps
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import connections
from django.http import HttpRequest, JsonResponse
from health_check import Database, HealthCheck
from health_check.base import HealthCheckResult
from health_check.contrib.redis import Redis
from health_check.exceptions import ServiceUnavailable
from health_check.views import HealthCheckView
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from stagebureau.celery import app
from stagebureau.env import envint

logger = logging.getLogger(__name__)

HEARTBEAT_INTERVAL = 10.0  # seconds between two heartbeats of a worker
DEFAULT_MAX_AGE = 45  # a heartbeat older than this: the worker is gone (4 missed heartbeats)
BROKER_TIMEOUT = 3.0  # seconds to reach the broker
KEY_PREFIX = "stagebureau:health"
CHECKS = ("database", "broker", "worker")
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


# --- heartbeats ---------------------------------------------------------------------------------


def database_id() -> str:
    """A short fingerprint of the database in use, shared by the web and worker processes."""
    settings_dict = connections["default"].settings_dict
    raw = f"{connections['default'].vendor}:{settings_dict.get('NAME')}"
    return hashlib.sha256(raw.encode()).hexdigest()[:12]


def _first_url(broker_url: str | Iterable[str] | None) -> str:
    if not broker_url:
        return ""
    if not isinstance(broker_url, str):
        broker_url = next(iter(broker_url), "")
    return broker_url.split(";")[0].strip()


class RedisHeartbeats:
    """Heartbeats as Redis keys `stagebureau:health:<database>:worker:<hostname>`."""

    def __init__(self, url: str, database: str) -> None:
        self.client = redis.Redis.from_url(
            url, socket_connect_timeout=BROKER_TIMEOUT, socket_timeout=BROKER_TIMEOUT
        )
        self.prefix = f"{KEY_PREFIX}:{database}:worker:"

    def write(self, record: dict[str, Any]) -> None:
        ttl = int(max_age() * 2) + 1
        self.client.set(self.prefix + record["hostname"], json.dumps(record), ex=ttl)

    def delete(self, hostname: str) -> None:
        self.client.delete(self.prefix + hostname)

    def read(self) -> list[dict[str, Any]]:
        keys = list(self.client.scan_iter(match=self.prefix + "*", count=200))
        values = self.client.mget(keys) if keys else []
        return [json.loads(value) for value in values if value]

    def close(self) -> None:
        self.client.close()


class FileHeartbeats:
    """Heartbeats as small JSON files in `<folder>/<database>/`, replaced atomically."""

    def __init__(self, folder: Path, database: str) -> None:
        self.folder = Path(folder) / database

    def _path(self, hostname: str) -> Path:
        safe = "".join(ch if ch.isalnum() or ch in "-_.@" else "_" for ch in hostname)
        return self.folder / f"worker-{safe}.json"

    def write(self, record: dict[str, Any]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self._path(record["hostname"])
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps(record), encoding="utf-8")
        temporary.replace(path)

    def delete(self, hostname: str) -> None:
        self._path(hostname).unlink(missing_ok=True)

    def read(self) -> list[dict[str, Any]]:
        records = []
        for path in sorted(self.folder.glob("worker-*.json")):
            try:
                records.append(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError):  # removed or half-written meanwhile
                continue
        return records

    def close(self) -> None:
        pass


def heartbeat_store(broker_url: str | None = None) -> RedisHeartbeats | FileHeartbeats:
    """Where heartbeats are kept for this broker and database."""
    url = _first_url(app.conf.broker_url if broker_url is None else broker_url)
    if url.startswith(REDIS_SCHEMES):
        return RedisHeartbeats(url, database_id())
    return FileHeartbeats(Path(settings.VAR_DIR) / "health", database_id())


def max_age() -> float:
    return float(envint("HEALTH_WORKER_MAX_AGE", DEFAULT_MAX_AGE))


def default_queue() -> str:
    return app.conf.task_default_queue or "celery"


class WorkerHeartbeat(bootsteps.StartStopStep):
    """Consumer step: a heartbeat every HEARTBEAT_INTERVAL seconds from the worker's own timer
    (so it stops when the worker's loop stops), removed when the consumer stops or restarts."""

    requires = ("celery.worker.consumer.tasks:Tasks",)
    label = "Health heartbeat"

    def __init__(self, c, **kwargs) -> None:
        self.timer_ref = None
        self.store = None
        super().__init__(c, **kwargs)

    def start(self, c) -> None:
        try:
            self.store = heartbeat_store(c.app.conf.broker_url)
        except Exception:  # never stop a worker for its heartbeat
            logger.exception("health: no heartbeat store; /health/ will report this worker down")
            return
        self.beat(c)
        self.timer_ref = c.timer.call_repeatedly(HEARTBEAT_INTERVAL, self.beat, (c,), priority=10)

    def beat(self, c) -> None:
        queues = sorted(queue.name for queue in getattr(c.task_consumer, "queues", None) or [])
        record = {"hostname": c.hostname, "pid": os.getpid(), "queues": queues, "at": time.time()}
        try:
            self.store.write(record)
        except Exception as exc:
            logger.warning("health: could not write the worker heartbeat (%s)", type(exc).__name__)

    def stop(self, c) -> None:
        if self.timer_ref is not None:
            self.timer_ref.cancel()
            self.timer_ref = None
        if self.store is not None:
            try:
                self.store.delete(c.hostname)
                self.store.close()
            except Exception as exc:
                logger.warning("health: could not remove the heartbeat (%s)", type(exc).__name__)
            self.store = None

    shutdown = stop


# --- the checks the library has no check for ----------------------------------------------------


@dataclasses.dataclass
class KombuBroker(HealthCheck):
    """A connection to a broker that is not Redis (kombu's filesystem broker, AMQP, ...)."""

    timeout = datetime.timedelta(seconds=BROKER_TIMEOUT)

    def run(self) -> None:
        try:
            with app.connection_for_read(connect_timeout=BROKER_TIMEOUT) as connection:
                connection.ensure_connection(
                    max_retries=1, interval_start=0, interval_step=0.2, timeout=BROKER_TIMEOUT
                )
        except Exception as exc:
            raise ServiceUnavailable("no connection to the broker") from exc


@dataclasses.dataclass
class WorkerHeartbeatCheck(HealthCheck):
    """A fresh heartbeat from a worker on the default queue (from `hostname`, when given)."""

    hostname: str | None = None
    # What the page shows besides ok/error: how many workers, the freshest heartbeat's age.
    report: dict[str, Any] = dataclasses.field(default_factory=dict, init=False, repr=False)

    def run(self) -> None:
        try:
            store = heartbeat_store()
            try:
                records = store.read()
            finally:
                store.close()
        except Exception as exc:
            raise ServiceUnavailable("the heartbeats cannot be read") from exc
        now, limit, queue = time.time(), max_age(), default_queue()
        ages = [
            now - float(record.get("at", 0))
            for record in records
            if queue in record.get("queues", [])
            and (self.hostname is None or record.get("hostname") == self.hostname)
        ]
        fresh = [age for age in ages if age <= limit]
        self.report = {"workers": len(fresh)}
        if not fresh:
            raise ServiceUnavailable(
                f"no heartbeat of a worker on queue {queue!r} in the last {limit:g} s"
            )
        self.report["heartbeat_age"] = round(max(min(fresh), 0.0), 1)


def broker_check() -> HealthCheck:
    """The library's Redis ping for a Redis broker (one try, BROKER_TIMEOUT seconds), else kombu."""
    url = _first_url(app.conf.broker_url)
    if not url.startswith(REDIS_SCHEMES):
        return KombuBroker()
    client = partial(
        redis.asyncio.Redis.from_url,
        url,
        socket_connect_timeout=BROKER_TIMEOUT,
        socket_timeout=BROKER_TIMEOUT,
        retry=Retry(NoBackoff(), 0),
    )
    return Redis(client_factory=client)


def make_checks(names: Iterable[str], worker_hostname: str | None = None) -> dict[str, HealthCheck]:
    factories = {
        "database": Database,
        "broker": broker_check,
        "worker": partial(WorkerHeartbeatCheck, hostname=worker_hostname),
    }
    return {name: factories[name]() for name in names}


# --- the report ---------------------------------------------------------------------------------


def entry(result: HealthCheckResult) -> dict[str, Any]:
    """One check on the page: ok, the error's class (never its message), extras, milliseconds."""
    error = result.error
    answer: dict[str, Any] = {"ok": error is None}
    if error is not None:
        cause = error.__cause__
        answer["error"] = type(cause).__name__ if cause is not None else error.message
    answer.update(getattr(result.check, "report", {}))
    answer["ms"] = round(result.time_taken * 1000, 1)
    return answer


async def report(checks: dict[str, HealthCheck], executor=None) -> dict[str, Any]:
    """Run the checks at once through the library's runner and sum them up."""
    results = await asyncio.gather(*(check.get_result(executor) for check in checks.values()))
    answers = {name: entry(result) for name, result in zip(checks, results, strict=True)}
    failed = [name for name, answer in answers.items() if not answer["ok"]]
    return {"status": "fail" if failed else "ok", "failed": failed, "checks": answers}


def run_checks(names: Iterable[str] = CHECKS, worker_hostname: str | None = None) -> dict[str, Any]:
    return async_to_sync(report)(make_checks(names, worker_hostname))


def check_worker(hostname: str | None = None) -> dict[str, Any]:
    return run_checks(["worker"], worker_hostname=hostname)["checks"]["worker"]


# --- the view -----------------------------------------------------------------------------------


class HealthView(HealthCheckView):
    """The library's view (never cached, outside a transaction) with this page's JSON answer:
    200 when the database, the broker and a worker are fine; 503 naming what is not."""

    http_method_names = ["get", "head"]

    def get_checks(self) -> Iterable[HealthCheck]:
        """Every check (what the library's `manage.py health_check health --no-http` runs)."""
        yield from make_checks(CHECKS).values()

    async def get(self, request: HttpRequest, *args, **kwargs) -> JsonResponse:
        only = request.GET.get("only")
        names = [name.strip() for name in only.split(",") if name.strip()] if only else CHECKS
        if not names or set(names) - set(CHECKS):
            return JsonResponse(
                {"status": "error", "error": f"unknown check; choose from {', '.join(CHECKS)}"},
                status=400,
            )
        checks = make_checks(dict.fromkeys(names))  # in the given order, each once
        with self.get_executor() as executor:
            answer = await report(checks, executor)
        return JsonResponse(answer, status=503 if answer["failed"] else 200)


health = login_not_required(HealthView.as_view())


# --- command line -------------------------------------------------------------------------------


def probe_http(url: str) -> int:
    """GET `url` (the web container's healthcheck: no Django set-up, just HTTP). The
    X-Forwarded-Proto header stands for the TLS proxy, so an HTTPS redirect does not apply."""
    from urllib.error import HTTPError, URLError
    from urllib.request import Request, urlopen

    request = Request(url, headers={"X-Forwarded-Proto": "https", "Accept": "application/json"})
    try:
        with urlopen(request, timeout=10) as response:
            print(response.read().decode("utf-8", "replace"))
            return 0 if response.status == 200 else 1
    except HTTPError as exc:
        print(exc.read().decode("utf-8", "replace") or exc, file=sys.stderr)
    except (URLError, OSError) as exc:
        print(f"{url}: {exc}", file=sys.stderr)
    return 1


def main(argv: list[str]) -> int:
    if argv[:1] == ["--http"]:
        port = os.environ.get("PORT", "8000")
        default = f"http://127.0.0.1:{port}/health/?only=database,broker"
        return probe_http(argv[1] if len(argv) > 1 else default)

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stagebureau.settings.production")
    django.setup()
    own = "--self" in argv
    names = [arg for arg in argv if not arg.startswith("--")] or list(CHECKS)
    if set(names) - set(CHECKS):
        print(f"unknown check in {names}; choose from {', '.join(CHECKS)}", file=sys.stderr)
        return 2
    hostname = f"celery@{socket.gethostname()}" if own else None
    answer = run_checks(dict.fromkeys(names), worker_hostname=hostname)
    print(json.dumps(answer))
    return 1 if answer["failed"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
