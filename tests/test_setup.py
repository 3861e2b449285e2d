"""The set-up around the application: settings from the environment, Celery's reliability
settings, the scripts and CI, and the README's tables. (docker-compose.yml and the Dockerfile:
tests/test_production_stack.py.)"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from celery.utils.imports import symbol_by_name
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from stagebureau.celery import app
from stagebureau.env import env, envbool, envint, envlist

ROOT = Path(__file__).resolve().parent.parent


def run_settings(env_vars: dict[str, str], code: str) -> subprocess.CompletedProcess:
    """Import the production settings (base) in a fresh interpreter with this environment."""
    ours = settings_variables()
    environment = {
        key: value
        for key, value in os.environ.items()
        if key.removesuffix("_FILE") not in ours and not key.startswith(("DJANGO_", "CELERY_"))
    }
    environment.update({"DJANGO_SETTINGS_MODULE": "stagebureau.settings.base", **env_vars})
    script = f"import django, json, os\ndjango.setup()\nfrom django.conf import settings\n{code}"
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


# --- settings from the environment ------------------------------------------------------------


def test_secret_key_is_required_when_debug_is_off():
    result = run_settings({"DEBUG": "false"}, "print(settings.SECRET_KEY)")
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_debug_without_secret_key_uses_a_development_key():
    result = run_settings({"DEBUG": "true"}, "print(settings.SECRET_KEY)")
    assert result.returncode == 0, result.stderr
    assert "insecure" in result.stdout


def test_secret_key_can_come_from_a_file(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("from-a-docker-secret\n", encoding="utf-8")
    result = run_settings(
        {"DEBUG": "false", "SECRET_KEY_FILE": str(secret)}, "print(settings.SECRET_KEY)"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "from-a-docker-secret"


def test_a_typo_in_debug_fails_loudly():
    result = run_settings({"DEBUG": "ture", "SECRET_KEY": "x"}, "print(settings.DEBUG)")
    assert result.returncode != 0
    assert "DEBUG must be one of" in result.stderr


@pytest.mark.parametrize("raw", ["1", "true", "True", "yes", "on", " TRUE "])
def test_envbool_accepts_true(monkeypatch, raw):
    monkeypatch.setenv("STAGEBUREAU_TEST_FLAG", raw)
    assert envbool("STAGEBUREAU_TEST_FLAG", False) is True


@pytest.mark.parametrize("raw", ["0", "false", "no", "off", ""])
def test_envbool_accepts_false(monkeypatch, raw):
    monkeypatch.setenv("STAGEBUREAU_TEST_FLAG", raw)
    assert envbool("STAGEBUREAU_TEST_FLAG", True) is False


@pytest.mark.parametrize("raw", ["ture", "flase", "yess", "2", "enabled"])
def test_envbool_rejects_typos(monkeypatch, raw):
    monkeypatch.setenv("STAGEBUREAU_TEST_FLAG", raw)
    with pytest.raises(ImproperlyConfigured):
        envbool("STAGEBUREAU_TEST_FLAG", False)


def test_envbool_default_when_unset(monkeypatch):
    monkeypatch.delenv("STAGEBUREAU_TEST_FLAG", raising=False)
    assert envbool("STAGEBUREAU_TEST_FLAG", True) is True


def test_envint_and_envlist(monkeypatch):
    monkeypatch.setenv("STAGEBUREAU_TEST_INT", "12")
    assert envint("STAGEBUREAU_TEST_INT", 0) == 12
    monkeypatch.setenv("STAGEBUREAU_TEST_INT", "twelve")
    with pytest.raises(ImproperlyConfigured):
        envint("STAGEBUREAU_TEST_INT", 0)
    monkeypatch.setenv("STAGEBUREAU_TEST_LIST", " a.example , b.example,,")
    assert envlist("STAGEBUREAU_TEST_LIST") == ["a.example", "b.example"]


def test_a_file_variant_wins(monkeypatch, tmp_path):
    path = tmp_path / "value"
    path.write_text("from-file\n", encoding="utf-8")
    monkeypatch.setenv("STAGEBUREAU_TEST_VALUE", "from-env")
    monkeypatch.setenv("STAGEBUREAU_TEST_VALUE_FILE", str(path))
    assert env("STAGEBUREAU_TEST_VALUE") == "from-file"


def test_dutch_first_with_english_available_in_amsterdam():
    assert settings.LANGUAGE_CODE == "nl"
    assert {code for code, _name in settings.LANGUAGES} >= {"nl", "en"}
    assert settings.TIME_ZONE == "Europe/Amsterdam"
    assert settings.USE_TZ is True
    assert settings.USE_I18N is True


def test_the_embedded_defaults_need_no_server():
    result = run_settings(
        {"DEBUG": "true", "STAGEBUREAU_VAR_DIR": "/tmp/stagebureau-settings-test"},
        "print(json.dumps([settings.DATABASES['default']['ENGINE'], settings.CELERY_BROKER_URL,"
        " settings.CELERY_TASK_ALWAYS_EAGER, settings.EMAIL_BACKEND]))",
    )
    assert result.returncode == 0, result.stderr
    engine, broker, eager, email = json.loads(result.stdout.strip().splitlines()[-1])
    assert engine == "django.db.backends.sqlite3"
    assert broker.startswith("filesystem://")
    assert eager is False, "the embedded set-up runs a real worker, not eager mode"
    assert email == "stagebureau.mail.ReadableLogBackend"


def test_database_url_and_smtp_from_the_environment():
    result = run_settings(
        {
            "DEBUG": "false",
            "SECRET_KEY": "x",
            "DATABASE_URL": "postgres://u:p@db.example:5432/stagebureau",
            "DATABASE_CONN_MAX_AGE": "60",
            "EMAIL_HOST": "mailpit",
            "EMAIL_PORT": "1025",
        },
        "d = settings.DATABASES['default']\n"
        "print(json.dumps([d['ENGINE'], d['HOST'], d['NAME'], d['CONN_MAX_AGE'],"
        " settings.EMAIL_BACKEND, settings.EMAIL_HOST, settings.EMAIL_PORT]))",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [
        "django.db.backends.postgresql",
        "db.example",
        "stagebureau",
        60,
        "django.core.mail.backends.smtp.EmailBackend",
        "mailpit",
        1025,
    ]


# --- Celery ------------------------------------------------------------------------------------


def test_celery_is_configured_for_reliable_delivery():
    assert settings.CELERY_TASK_ACKS_LATE is True
    assert settings.CELERY_TASK_REJECT_ON_WORKER_LOST is True
    assert settings.CELERY_WORKER_PREFETCH_MULTIPLIER == 1
    assert settings.CELERY_TASK_SOFT_TIME_LIMIT < settings.CELERY_TASK_TIME_LIMIT
    # The app reads them (namespace CELERY_).
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1
    assert app.conf.timezone == "Europe/Amsterdam"


def test_redis_visibility_timeout_exceeds_the_task_time_limit_and_retry_delays():
    result = run_settings(
        {"DEBUG": "false", "SECRET_KEY": "x", "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0"},
        "print(json.dumps([settings.CELERY_BROKER_TRANSPORT_OPTIONS,"
        " settings.CELERY_TASK_TIME_LIMIT]))",
    )
    assert result.returncode == 0, result.stderr
    options, time_limit = json.loads(result.stdout.strip().splitlines()[-1])
    visibility = options["visibility_timeout"]
    # A task still running (or waiting for its retry) after the visibility timeout would be
    # delivered a second time.
    assert time_limit < visibility
    deliver = symbol_by_name("notifications.tasks.deliver_notification")
    assert deliver.retry_backoff_max < visibility
    assert deliver.acks_late is True


def test_every_scheduled_task_imports_and_is_registered():
    assert settings.CELERY_BEAT_SCHEDULE
    app.loader.import_default_modules()
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        task = symbol_by_name(entry["task"])
        assert task.name == entry["task"], name
        assert entry["task"] in app.tasks, name
        assert entry["schedule"], name


# --- docker-compose.yml and the Dockerfile: tests/test_production_stack.py ---------------------


# --- scripts, Makefile and CI ------------------------------------------------------------------


@pytest.mark.parametrize("path", ["scripts/run", "scripts/test", "scripts/lint", ".ci/run"])
def test_scripts_are_executable_strict_bash(path):
    script = ROOT / path
    assert script.stat().st_mode & stat.S_IXUSR, f"{path} is not executable"
    text = script.read_text(encoding="utf-8")
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in text
    assert "playwright install" not in text.replace("never run `playwright install`", "")
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_ci_runs_the_readme_test_command_and_the_checks():
    ci = (ROOT / ".ci/run").read_text(encoding="utf-8")
    for needle in (
        "./scripts/test",
        "makemigrations --check --dry-run",
        "ruff check",
        "DATABASE_URL=postgres://",
        "CELERY_BROKER_URL=redis://",
        "CI=true",
        "check_translations.py",
        "compilemessages",
    ):
        assert needle in ci, needle


def test_makefile_targets_call_the_scripts():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    for target, script in (("run", "./scripts/run"), ("test", "./scripts/test")):
        assert re.search(rf"^{target}:.*\n\t{re.escape(script)}", makefile, re.MULTILINE), target
    assert re.search(r"^lint:", makefile, re.MULTILINE)


# --- README ------------------------------------------------------------------------------------


def settings_variables() -> set[str]:
    """Every variable the settings read through stagebureau.env."""
    names = set()
    for path in (ROOT / "stagebureau" / "settings").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        names |= set(re.findall(r"\benv(?:bool|int|list)?\(\s*\"([A-Z][A-Z0-9_]*)\"", text))
    return names


def test_the_readme_documents_every_environment_variable():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    variables = settings_variables()
    assert {"DEBUG", "SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL"} <= variables
    missing = sorted(name for name in variables if f"| `{name}`" not in readme)
    assert not missing, f"README.md's configuration table lacks {missing}"
    assert "_FILE" in readme


def test_the_readme_gives_the_two_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "./scripts/run" in readme
    assert "./scripts/test" in readme
