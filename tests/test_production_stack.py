"""The production stack: docker-compose.yml and the Dockerfile as written, and the very start-up
commands of its services run without Docker (Docker cannot run on the CI machine).

`test_the_stack_starts_serves_and_reports_its_health` runs scripts/start-web (migrate on a fresh
database, collectstatic, gunicorn on a free port), scripts/start-worker and scripts/start-beat as
separate processes with the production settings, on the configured database server and broker:
PostgreSQL and Redis in CI (DATABASE_URL/CELERY_BROKER_URL; the test makes a database of its
own next to the configured one), or a SQLite file and kombu's filesystem broker in a temporary
folder by default. It follows /health/ through a worker's start, crash and clean stop.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import stat
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
SERVICES = {"postgres", "redis", "web", "worker", "beat", "mailpit"}
APP_SERVICES = ("web", "worker", "beat")
STARTUP_TIMEOUT = 240  # seconds: migrations on a fresh database, on two shared cores


# --- docker-compose.yml -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def command_of(service: dict) -> list[str]:
    command = service.get("command", [])
    return command if isinstance(command, list) else str(command).split()


def environment_of(service: dict) -> dict[str, str]:
    environment = service.get("environment", {})
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    return {key: str(value) for key, value in environment.items()}


def healthcheck_of(service: dict) -> str:
    test = service["healthcheck"]["test"]
    return " ".join(test) if isinstance(test, list) else str(test)


def test_compose_has_exactly_the_stack(compose):
    services = compose["services"]
    assert set(services) == SERVICES
    assert services["postgres"]["image"] == "postgres:15"
    assert services["redis"]["image"] == "redis:7"
    assert services["mailpit"]["image"].startswith("axllent/mailpit:v")  # a pinned version
    for name in APP_SERVICES:
        assert services[name]["build"] == ".", name
        assert services[name]["image"] == "stagebureau:latest", name
        assert services[name]["restart"] == "unless-stopped", name


def test_postgres_keeps_its_data_on_a_volume(compose):
    postgres = compose["services"]["postgres"]
    assert "postgres-data:/var/lib/postgresql/data" in postgres["volumes"]
    assert "postgres-data" in compose["volumes"]


def test_redis_persists_the_queue_on_a_volume(compose):
    redis = compose["services"]["redis"]
    command = " ".join(command_of(redis))
    assert command.startswith("redis-server ")
    assert "--appendonly yes" in command
    assert "redis-data:/data" in redis["volumes"]
    assert "redis-data" in compose["volumes"]


def test_every_service_has_a_healthcheck(compose):
    services = compose["services"]
    assert "pg_isready" in healthcheck_of(services["postgres"])
    assert "redis-cli ping" in healthcheck_of(services["redis"])
    assert "readyz" in healthcheck_of(services["mailpit"])
    assert healthcheck_of(services["web"]) == "CMD python -m stagebureau.health --http"
    assert healthcheck_of(services["worker"]) == "CMD python -m stagebureau.health worker --self"
    assert "celerybeat-schedule" in healthcheck_of(services["beat"])
    for name, service in services.items():
        check = service["healthcheck"]
        assert check.get("interval") and check.get("timeout") and check.get("retries"), name


def test_the_services_start_with_the_scripts_ci_runs(compose):
    services = compose["services"]
    assert command_of(services["web"]) == ["scripts/start-web"]
    assert command_of(services["worker"]) == ["scripts/start-worker"]
    assert command_of(services["beat"]) == ["scripts/start-beat"]


def test_exactly_one_beat(compose):
    """One service runs beat, without replicas; no worker embeds one (-B)."""
    beats = []
    for name, service in compose["services"].items():
        command = command_of(service)
        if "scripts/start-beat" in command or "beat" in command or "-B" in command:
            beats.append(name)
        assert "--beat" not in command and "-B" not in command, name
    assert beats == ["beat"]
    beat = compose["services"]["beat"]
    assert beat.get("deploy", {}).get("replicas", 1) == 1
    assert "scale" not in beat
    worker_script = (ROOT / "scripts/start-worker").read_text(encoding="utf-8")
    assert " -B" not in worker_script and "--beat" not in worker_script
    # Its schedule survives a restart.
    environment = environment_of(beat)
    schedule = environment["CELERY_BEAT_SCHEDULE_FILE"]
    assert any(
        volume.startswith("beat-data:") and schedule.startswith(volume.split(":")[1] + "/")
        for volume in beat["volumes"]
    )


def test_the_start_order_follows_health(compose):
    services = compose["services"]

    def healthy(name: str) -> set[str]:
        depends = services[name]["depends_on"]
        return {dep for dep, spec in depends.items() if spec["condition"] == "service_healthy"}

    assert healthy("web") >= {"postgres", "redis", "mailpit"}
    # The worker and the beat wait for the web service, which has migrated the database.
    assert healthy("worker") >= {"web", "redis"}
    assert healthy("beat") >= {"web", "redis"}
    # ...so the web's healthcheck leaves the worker out: `--http` asks /health/?only=database,
    # broker (tests/test_health.py), and its Dockerfile twin is the same command.
    assert "worker" not in healthcheck_of(services["web"])
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert 'CMD ["python", "-m", "stagebureau.health", "--http"]' in dockerfile


def test_the_app_services_run_the_production_settings(compose):
    for name in APP_SERVICES:
        environment = environment_of(compose["services"][name])
        assert environment["DJANGO_SETTINGS_MODULE"] == "stagebureau.settings.production", name
        assert environment["DEBUG"] == "false", name
        assert environment["SECRET_KEY"].startswith("${SECRET_KEY:?"), name  # never a default
        assert re.fullmatch(
            r"postgres://stagebureau:\$\{POSTGRES_PASSWORD:-stagebureau\}@postgres:5432/stagebureau",
            environment["DATABASE_URL"],
        ), name
        assert environment["CELERY_BROKER_URL"] == "redis://redis:6379/0", name
        assert environment["EMAIL_HOST"] == "mailpit", name
        assert environment["EMAIL_PORT"] == "1025", name
        assert environment["ALLOWED_HOSTS"], name
    mailpit = compose["services"]["mailpit"]
    assert "8025:8025" in mailpit["ports"]  # the inbox's web interface
    assert "8000:8000" in compose["services"]["web"]["ports"]


def test_compose_variables_are_settings_the_app_reads():
    """Every variable compose sets for the app is read by the settings or the scripts."""
    compose_text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    data = yaml.safe_load(compose_text)
    names = set()
    for name in APP_SERVICES:
        names |= set(environment_of(data["services"][name]))
    readers = "\n".join(
        path.read_text(encoding="utf-8")
        for path in [
            *(ROOT / "stagebureau/settings").glob("*.py"),
            ROOT / "stagebureau/health.py",
            *(ROOT / "scripts").glob("start-*"),
        ]
    )
    unread = sorted(
        name
        for name in names - {"DJANGO_SETTINGS_MODULE"}
        if f'"{name}"' not in readers and f"{name}:-" not in readers and f"${name}" not in readers
    )
    assert not unread, f"docker-compose.yml sets variables nothing reads: {unread}"


# --- the Dockerfile -----------------------------------------------------------------------------


def test_the_dockerfile():
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    instructions = [
        line.split(None, 1)[0] for line in dockerfile.splitlines() if re.match(r"^[A-Z]+\s", line)
    ]
    assert re.search(r"^FROM python:3\.11-slim$", dockerfile, re.MULTILINE)
    assert "DJANGO_SETTINGS_MODULE=stagebureau.settings.production" in dockerfile
    assert "pip install --no-deps -e ." in dockerfile  # the project itself, in place
    assert "collectstatic --no-input" in dockerfile
    assert "compilemessages" not in dockerfile and "gettext" not in dockerfile.split("#")[0]
    assert "playwright install" not in dockerfile
    # Runs as an unprivileged user from the USER line on, which comes before CMD.
    user = re.search(r"^USER (\S+)$", dockerfile, re.MULTILINE)
    assert user and user.group(1) not in {"root", "0"}
    assert instructions.index("USER") < instructions.index("CMD")
    assert re.search(r"^HEALTHCHECK .*\n.*stagebureau\.health", dockerfile, re.MULTILINE)
    assert re.search(r'^CMD \["scripts/start-web"\]$', dockerfile, re.MULTILINE)


def test_the_build_context_leaves_out_local_state_and_secrets():
    ignored = set((ROOT / ".dockerignore").read_text(encoding="utf-8").split())
    assert {".git", ".venv", "var", ".env", "tests", "**/__pycache__"} <= ignored
    # What the image needs is not ignored.
    for needed in ("static", "templates", "stagebureau", "scripts", "manage.py", "README.md"):
        assert needed not in ignored


# --- the start-up scripts -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["start-web", "start-worker", "start-beat"])
def test_the_start_scripts_are_strict_executable_bash(name):
    script = ROOT / "scripts" / name
    assert script.stat().st_mode & stat.S_IXUSR
    text = script.read_text(encoding="utf-8")
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in text
    assert (
        'DJANGO_SETTINGS_MODULE="${DJANGO_SETTINGS_MODULE:-stagebureau.settings.production}"'
        in text
    )
    assert re.search(r"^exec ", text, re.MULTILINE), "exec: signals reach the server itself"
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_start_web_migrates_before_gunicorn():
    text = (ROOT / "scripts/start-web").read_text(encoding="utf-8")
    assert text.index("manage.py migrate --no-input") < text.index("exec gunicorn stagebureau.wsgi")


# --- the same start-up commands, without Docker -------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout: float, step: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


HTTPS = {"X-Forwarded-Proto": "https"}  # as the TLS proxy says (TRUSTED_PROXY_COUNT=1)


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict, bytes]:
    """GET; status 0 when nothing answers (a redirect to https:// leads nowhere here)."""
    request = urllib.request.Request(url, headers=headers if headers is not None else HTTPS)
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()
    except (urllib.error.URLError, OSError):
        return 0, {}, b""


@contextmanager
def stack_database(tmp: Path) -> Iterator[str]:
    """A database of the test's own, empty, on the configured server (SQLite file otherwise):
    start-web's migrate builds it from nothing."""
    db = settings.DATABASES["default"]
    if "postgresql" not in db["ENGINE"]:
        yield f"sqlite:///{tmp / 'stack.sqlite3'}"
        return
    import psycopg

    name = f"{db['NAME'].removeprefix('test_')}_stack_test"
    server = {
        "host": db.get("HOST") or "localhost",
        "port": db.get("PORT") or 5432,
        "user": db.get("USER") or None,
        "password": db.get("PASSWORD") or None,
    }

    def admin(sql: str) -> None:
        with psycopg.connect(dbname="postgres", autocommit=True, **server) as conn:
            conn.execute(sql)

    admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin(f'CREATE DATABASE "{name}"')
    user = quote(server["user"] or "")
    auth = f"{user}:{quote(server['password'])}@" if server["password"] else f"{user}@"
    try:
        yield f"postgres://{auth}{server['host']}:{server['port']}/{name}"
    finally:
        admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Stack:
    """The three start-up scripts as processes of their own (each its own process group)."""

    def __init__(self, tmp: Path, env: dict[str, str]) -> None:
        self.tmp, self.env = tmp, env
        self.processes: dict[str, subprocess.Popen] = {}
        self.url = f"http://127.0.0.1:{env['PORT']}"

    def start(self, name: str) -> subprocess.Popen:
        with (self.tmp / f"{name}.log").open("ab") as log:
            process = subprocess.Popen(
                [str(ROOT / "scripts" / f"start-{name}")],
                cwd=self.tmp,  # the scripts find the project themselves
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes[name] = process
        return process

    def log(self, name: str) -> str:
        path = self.tmp / f"{name}.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    def logs(self) -> str:
        return "\n".join(f"--- {n} ---\n{self.log(n)[-5000:]}" for n in self.processes)

    def health(self, query: str = "") -> tuple[int, dict]:
        status, _headers, body = fetch(f"{self.url}/health/{query}")
        try:
            return status, json.loads(body)
        except ValueError:
            return status, {}

    def stop(self, name: str, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        process = self.processes[name]
        if process.poll() is None:
            os.killpg(process.pid, sig)  # the script's own process group: gunicorn or celery
        return process.wait(timeout=timeout)

    def stop_all(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is None:
                try:
                    self.stop(name, timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=30)


@pytest.mark.worker
def test_the_stack_starts_serves_and_reports_its_health(tmp_path):
    broker = os.environ.get("CELERY_BROKER_URL") or settings.CELERY_BROKER_URL
    with stack_database(tmp_path) as database_url:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("DJANGO_", "CELERY_", "EMAIL_", "DATABASE_", "GUNICORN_"))
            and key not in {"SECRET_KEY", "DEBUG", "ALLOWED_HOSTS", "STATIC_ROOT", "VIRTUAL_ENV"}
        }
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "stagebureau.settings.production",
                "SECRET_KEY": secrets.token_urlsafe(40),
                "ALLOWED_HOSTS": "stagebureau.example.nl",  # 127.0.0.1 comes with production
                "DATABASE_URL": database_url,
                "STAGEBUREAU_VAR_DIR": str(tmp_path / "var"),
                "HOST": "127.0.0.1",
                "PORT": str(free_port()),
                "WEB_CONCURRENCY": "2",
                "GUNICORN_THREADS": "2",
                "CELERY_CONCURRENCY": "1",
                "CELERY_BEAT_SCHEDULE_FILE": str(tmp_path / "beat" / "celerybeat-schedule"),
                "HEALTH_WORKER_MAX_AGE": "20",
                "TRUSTED_PROXY_COUNT": "1",  # as behind a TLS proxy: X-Forwarded-Proto counts
                "PYTHONUNBUFFERED": "1",
            }
        )
        if broker.startswith("redis"):
            env["CELERY_BROKER_URL"] = broker  # else the filesystem broker in the folder above
        stack = Stack(tmp_path, env)
        try:
            run_the_stack(stack, tmp_path)
        finally:
            stack.stop_all()


def run_the_stack(stack: Stack, tmp_path: Path) -> None:
    web = stack.start("web")

    # 1. start-web migrates the empty database, collects the static files, serves.
    assert wait_until(
        lambda: stack.health("?only=database,broker")[0] == 200 or web.poll() is not None,
        STARTUP_TIMEOUT,
    ), f"the web server did not become healthy:\n{stack.logs()}"
    assert web.poll() is None, stack.logs()
    assert "Applying cases.0001_initial... OK" in stack.log("web"), stack.log("web")
    assert "Booting worker with pid" in stack.log("web")  # gunicorn, not runserver

    # No worker yet: 503, naming the worker only.
    status, body = stack.health()
    assert status == 503, body
    assert body["failed"] == ["worker"], body
    assert body["checks"]["database"]["ok"] and body["checks"]["broker"]["ok"]

    # Production settings: a page, its hashed static files compressed and cached for a year.
    assert fetch(f"{stack.url}/login/", {})[0] == 0  # plain HTTP is redirected to https://
    status, headers, page = fetch(f"{stack.url}/login/")
    assert status == 200, (status, stack.logs())
    assert "Strict-Transport-Security" in headers
    manifest = json.loads((tmp_path / "var" / "static" / "staticfiles.json").read_text())
    linked = re.findall(r'href="/static/([^"]+\.css)"', page.decode())
    assert linked and set(linked) <= set(manifest["paths"].values()), linked  # hashed names
    css = next(name for name, hashed in manifest["paths"].items() if hashed == linked[0])
    status, headers, _body = fetch(
        f"{stack.url}/static/{manifest['paths'][css]}", {**HTTPS, "Accept-Encoding": "gzip"}
    )
    assert status == 200, (css, status)
    assert headers.get("Content-Encoding") == "gzip"
    assert "immutable" in headers.get("Cache-Control", "")
    assert fetch(f"{stack.url}/static/{css}")[0] == 200  # the original name still works

    # 2. start-worker: its heartbeat makes the stack healthy.
    stack.start("worker")
    assert wait_until(lambda: stack.health()[0] == 200, STARTUP_TIMEOUT), (
        f"{stack.health()}\n{stack.logs()}"
    )
    status, body = stack.health()
    assert body["status"] == "ok" and body["failed"] == []
    assert all(check["ok"] for check in body["checks"].values()), body
    assert body["checks"]["worker"]["workers"] == 1

    # 3. start-beat starts and keeps its schedule in the given file.
    beat = stack.start("beat")
    schedule = Path(stack.env["CELERY_BEAT_SCHEDULE_FILE"])
    assert wait_until(
        lambda: (
            (
                list(schedule.parent.glob(f"{schedule.name}*"))
                and "beat: Starting" in stack.log("beat")
            )
            or beat.poll() is not None
        ),
        STARTUP_TIMEOUT,
    ), stack.logs()
    assert beat.poll() is None, stack.log("beat")
    assert stack.stop("beat") == 0, stack.log("beat")

    # 4. A crashed worker (SIGKILL: nothing cleaned up) fails once its heartbeat is too old.
    stack.stop("worker", signal.SIGKILL)
    killed_at = time.monotonic()
    assert wait_until(lambda: stack.health()[0] == 503, 20 + 30), stack.health()
    assert time.monotonic() - killed_at <= 20 + 30
    status, body = stack.health()
    assert body["failed"] == ["worker"], body

    # 5. A worker again, then a clean stop (TERM): unhealthy at once.
    stack.start("worker")
    assert wait_until(lambda: stack.health()[0] == 200, STARTUP_TIMEOUT), stack.logs()
    assert stack.stop("worker") == 0, stack.log("worker")
    status, body = stack.health()
    assert status == 503, body
    assert body["failed"] == ["worker"]
    assert body["checks"]["worker"]["ok"] is False
    assert body["checks"]["database"]["ok"] and body["checks"]["broker"]["ok"]

    # 6. The web server shuts down cleanly on TERM.
    assert stack.stop("web") == 0, stack.log("web")
    assert "Shutting down: Master" in stack.log("web")
