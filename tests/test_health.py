"""/health/ (stagebureau/health.py): what it reports when the database, the broker or the worker
fails, that it stays public and reveals nothing, and the worker heartbeat it reads.

The broker and heartbeat store are whatever the settings say: Redis in CI, kombu's filesystem
transport (heartbeat files in STAGEBUREAU_VAR_DIR/health) by default.
"""

from __future__ import annotations

import http.server
import json
import socket
import threading
import time
import uuid
from contextlib import contextmanager
from unittest import mock

import pytest
from django.db import OperationalError, connections
from django.urls import reverse

from stagebureau import health
from stagebureau.celery import app
from tests.notifications.workers import broker, routed_queue, thread_worker, wait_until

pytestmark = pytest.mark.django_db

SECRET = "s3cret-Pa55word"


@pytest.fixture
def heartbeats():
    """The heartbeat store of this test's database and broker; what the test wrote is removed."""
    store = health.heartbeat_store()
    written: list[str] = []

    def beat(*, queues=None, age: float = 0.0, hostname: str | None = None) -> str:
        hostname = hostname or f"test-{uuid.uuid4().hex[:8]}@health"
        store.write(
            {
                "hostname": hostname,
                "pid": 1,
                "queues": [health.default_queue()] if queues is None else queues,
                "at": time.time() - age,
            }
        )
        written.append(hostname)
        return hostname

    yield beat
    for hostname in written:
        store.delete(hostname)
    store.close()


def get_health(client, query: str = ""):
    response = client.get(reverse("health") + query)
    return response, json.loads(response.content)


# --- the whole answer ---------------------------------------------------------------------------


def test_all_fine_is_200_with_every_check(client, heartbeats):
    heartbeats()
    response, body = get_health(client)
    assert response.status_code == 200, body
    assert response["Content-Type"] == "application/json"
    assert body["status"] == "ok"
    assert body["failed"] == []
    assert list(body["checks"]) == ["database", "broker", "worker"]
    for name, check in body["checks"].items():
        assert check["ok"] is True, name
        assert check["ms"] >= 0, name
    assert body["checks"]["worker"]["workers"] >= 1
    assert 0 <= body["checks"]["worker"]["heartbeat_age"] < 5


def test_public_never_cached_and_read_only(client):
    response = client.get("/health/?only=database")
    assert response.status_code == 200  # no login page for the healthcheck
    assert "no-store" in response["Cache-Control"]
    assert client.head("/health/?only=database").status_code == 200
    assert client.post("/health/").status_code == 405


def test_only_runs_the_named_checks(client):
    """The web container's healthcheck leaves the worker out (it starts after the web)."""
    response, body = get_health(client, "?only=database,broker")
    assert response.status_code == 200, body
    assert list(body["checks"]) == ["database", "broker"]


@pytest.mark.parametrize("query", ["?only=cache", "?only=database,disk", "?only=,"])
def test_unknown_checks_are_refused(client, query):
    response, body = get_health(client, query)
    assert response.status_code == 400
    assert body["status"] == "error"
    assert "database, broker, worker" in body["error"]


# --- the database -------------------------------------------------------------------------------


def connection_class() -> type:
    """What to patch to break the database for a check: the connection's class, since the
    library runs each check in a thread of its own, with that thread's connection."""
    return type(connections["default"])


def test_database_down_is_503_naming_the_database_without_details(client, heartbeats):
    heartbeats()
    error = OperationalError(
        f'connection to server at "db.internal" (10.0.0.5), port 5432 failed: FATAL: password '
        f'authentication failed for user "stagebureau" password={SECRET}'
    )
    with mock.patch.object(connection_class(), "cursor", side_effect=error):
        response, body = get_health(client)
    assert response.status_code == 503
    assert body["status"] == "fail"
    assert body["failed"] == ["database"]
    assert body["checks"]["database"] == {
        "ok": False,
        "error": "OperationalError",
        "ms": body["checks"]["database"]["ms"],
    }
    assert body["checks"]["broker"]["ok"] is True
    assert body["checks"]["worker"]["ok"] is True
    text = response.content.decode()
    for leak in (SECRET, "db.internal", "10.0.0.5", "password"):
        assert leak not in text


def test_a_wrong_answer_from_the_database_fails_too(client):
    cursor = mock.MagicMock()
    cursor.__enter__.return_value.fetchone.return_value = (0,)
    with mock.patch.object(connection_class(), "cursor", return_value=cursor):
        response, body = get_health(client, "?only=database")
    assert response.status_code == 503
    assert body["failed"] == ["database"]


# --- the broker ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def other_broker(monkeypatch):
    """`broker(url)` for this test: Celery reads CELERY_BROKER_URL from the environment before
    its configuration, so the variable goes for the test."""
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    return broker


def test_broker_unreachable_is_503_naming_the_broker_without_the_url(client, other_broker):
    port = free_port()  # nothing listens there
    with other_broker(f"redis://:{SECRET}@127.0.0.1:{port}/0"):
        started = time.monotonic()
        response, body = get_health(client, "?only=database,broker")
        elapsed = time.monotonic() - started
    assert response.status_code == 503, body
    assert body["failed"] == ["broker"]
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"]["ok"] is False
    assert body["checks"]["broker"]["error"]
    assert elapsed < 5
    text = response.content.decode()
    assert SECRET not in text and str(port) not in text and "redis://" not in text


@contextmanager
def silent_server():
    """A TCP port that accepts connections and never answers (a hung broker)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    accepted = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        for conn in accepted:
            conn.close()
        server.close()


def test_a_hung_broker_fails_within_the_timeout(client, other_broker):
    with silent_server() as port, other_broker(f"redis://127.0.0.1:{port}/0"):
        started = time.monotonic()
        response, body = get_health(client, "?only=broker")
        elapsed = time.monotonic() - started
    assert response.status_code == 503, body
    assert body["failed"] == ["broker"]
    # One connection attempt with a short socket timeout (and at most one retry), not minutes.
    assert elapsed < 3 * health.BROKER_TIMEOUT, elapsed


# --- the worker ---------------------------------------------------------------------------------


def test_no_heartbeat_is_503_naming_the_worker(client):
    response, body = get_health(client)
    assert response.status_code == 503, body
    assert body["failed"] == ["worker"]
    worker = body["checks"]["worker"]
    assert worker["ok"] is False
    assert worker["workers"] == 0
    assert "no heartbeat" in worker["error"]
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"]["ok"] is True


def test_a_stale_heartbeat_means_the_worker_is_gone(client, heartbeats):
    heartbeats(age=health.DEFAULT_MAX_AGE + 5)  # a worker killed a while ago
    response, body = get_health(client, "?only=worker")
    assert response.status_code == 503
    assert body["failed"] == ["worker"]
    heartbeats(age=health.DEFAULT_MAX_AGE - 5)
    response, body = get_health(client, "?only=worker")
    assert response.status_code == 200
    assert body["checks"]["worker"]["workers"] == 1


def test_the_maximum_age_comes_from_the_environment(client, heartbeats, monkeypatch):
    heartbeats(age=20)
    monkeypatch.setenv("HEALTH_WORKER_MAX_AGE", "10")
    assert get_health(client, "?only=worker")[0].status_code == 503
    monkeypatch.setenv("HEALTH_WORKER_MAX_AGE", "30")
    assert get_health(client, "?only=worker")[0].status_code == 200


def test_a_worker_on_another_queue_does_not_count(client, heartbeats):
    heartbeats(queues=["test-worker-somewhere-else"])
    response, body = get_health(client, "?only=worker")
    assert response.status_code == 503
    assert body["checks"]["worker"]["workers"] == 0


def test_a_worker_of_another_database_does_not_count(client):
    other = type(health.heartbeat_store())  # the same kind of store, under another database
    store = (
        other(health._first_url(app.conf.broker_url), "another-database")
        if other is health.RedisHeartbeats
        else other(health.heartbeat_store().folder.parent, "another-database")
    )
    hostname = f"test-{uuid.uuid4().hex[:8]}@elsewhere"
    store.write(
        {"hostname": hostname, "pid": 1, "queues": [health.default_queue()], "at": time.time()}
    )
    try:
        assert len(store.read()) >= 1
        response, body = get_health(client, "?only=worker")
    finally:
        store.delete(hostname)
        store.close()
    assert response.status_code == 503
    assert body["checks"]["worker"]["workers"] == 0


def test_the_hostname_filter_wants_that_worker(heartbeats):
    mine = heartbeats()
    heartbeats()
    assert health.check_worker(mine)["workers"] == 1
    assert health.check_worker("celery@nowhere")["ok"] is False
    assert health.check_worker()["workers"] >= 2


def test_an_unreadable_store_fails_the_worker_check_only(client, heartbeats):
    heartbeats()
    with mock.patch.object(health, "heartbeat_store", side_effect=ConnectionError(SECRET)):
        response, body = get_health(client)
    assert response.status_code == 503
    assert body["failed"] == ["worker"]
    assert body["checks"]["worker"]["error"] == "ConnectionError"
    assert SECRET not in response.content.decode()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_writes_its_heartbeat_and_removes_it_when_it_stops():
    """The consumer step registered in stagebureau/celery.py, in a real worker on the broker."""
    store = health.heartbeat_store()

    def mine(queue: str) -> list[dict]:
        return [record for record in store.read() if queue in record["queues"]]

    try:
        with routed_queue() as queue:
            with thread_worker(queue) as worker:
                assert wait_until(lambda: len(mine(queue)) == 1, 30), store.read()
                (record,) = mine(queue)
                assert record["hostname"] == worker.hostname
                assert time.time() - record["at"] < health.HEARTBEAT_INTERVAL + 5
            assert mine(queue) == []  # a clean stop takes the heartbeat away at once
    finally:
        store.close()


# --- the command line ---------------------------------------------------------------------------


@contextmanager
def http_answering(status: int):
    class Handler(http.server.BaseHTTPRequestHandler):
        seen: list[dict] = []

        def do_GET(self):  # noqa: N802 (http.server's name)
            Handler.seen.append({"path": self.path, **dict(self.headers)})
            body = json.dumps({"status": "ok" if status == 200 else "fail"}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", Handler.seen
    finally:
        server.shutdown()
        server.server_close()


def test_the_http_probe_exits_0_on_200_and_1_otherwise(monkeypatch, capsys):
    with http_answering(200) as (url, seen):
        monkeypatch.setenv("PORT", url.rsplit(":", 1)[1])
        assert health.main(["--http"]) == 0
    assert seen[0]["path"] == "/health/?only=database,broker"
    assert seen[0]["X-Forwarded-Proto"] == "https"  # past an HTTPS redirect behind the proxy
    with http_answering(503) as (url, _seen):
        assert health.main(["--http", f"{url}/health/"]) == 1
    assert health.main(["--http", f"http://127.0.0.1:{free_port()}/health/"]) == 1
    assert '"status": "ok"' in capsys.readouterr().out


def test_the_command_line_checks_exit_with_the_result(heartbeats, capsys):
    assert health.main(["database", "bogus"]) == 2
    assert health.main(["worker", "--self"]) == 1  # no worker on this host
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["failed"] == ["worker"]
    heartbeats(hostname=f"celery@{socket.gethostname()}")
    assert health.main(["database", "worker", "--self"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["status"] == "ok"
