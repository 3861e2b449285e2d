"""Production settings (issue #7 part 5): `manage.py check --deploy --fail-level WARNING` passes
with stagebureau.settings.production and nothing but environment variables, and fails loudly
when something essential is missing or weakened."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SECRET = "deploy-check-" + "k3y-Zq8wX2vR7tY1uI9oP4aS6dF0gH5jL3" * 2


def run(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {
        name: value
        for name, value in os.environ.items()
        # DJANGO_ALLOW_ASYNC_UNSAFE: the browser tests set it in this process (Playwright's
        # event loop); a deployment must not have it (async.E001).
        if name
        not in {
            "DEBUG",
            "SECRET_KEY",
            "ALLOWED_HOSTS",
            "DJANGO_SETTINGS_MODULE",
            "DJANGO_ALLOW_ASYNC_UNSAFE",
        }
        and not name.startswith(("OIDC_", "SECURE_", "SESSION_"))
    }
    environment.update({"DJANGO_SETTINGS_MODULE": "stagebureau.settings.production", **env})
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def deploy_check(**env: str) -> subprocess.CompletedProcess:
    return run("manage.py", "check", "--deploy", "--fail-level", "WARNING", **env)


def production_values(names: list[str], **env: str) -> dict:
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n) for n in {names!r}}}, default=str))"
    )
    result = run("-c", code, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_check_deploy_passes_with_production_settings_from_the_environment():
    result = deploy_check(SECRET_KEY=SECRET, ALLOWED_HOSTS="example.org")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_fails_when_a_protection_is_switched_off():
    """The check is real: weakening HSTS or the HTTPS redirect makes it fail."""
    result = deploy_check(SECRET_KEY=SECRET, ALLOWED_HOSTS="example.org", SECURE_HSTS_SECONDS="0")
    assert result.returncode != 0
    assert "security.W004" in result.stdout + result.stderr
    result = deploy_check(SECRET_KEY=SECRET, ALLOWED_HOSTS="example.org", SECURE_SSL_REDIRECT="0")
    assert result.returncode != 0
    assert "security.W008" in result.stdout + result.stderr
    result = deploy_check(SECRET_KEY=SECRET, ALLOWED_HOSTS="example.org", SECURE_COOKIES="0")
    assert result.returncode != 0
    assert "security.W012" in result.stdout + result.stderr


def test_without_allowed_hosts_production_answers_only_on_this_machine():
    """The image's build (collectstatic) needs no ALLOWED_HOSTS; a server without it refuses
    every public host name instead of accepting any."""
    values = production_values(["ALLOWED_HOSTS"], SECRET_KEY=SECRET)
    assert values["ALLOWED_HOSTS"] == ["127.0.0.1", "localhost"]
    static = run(
        "manage.py", "collectstatic", "--dry-run", "--no-input", "-v", "0", SECRET_KEY=SECRET
    )
    assert static.returncode == 0, static.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ALLOWED_HOSTS": "example.org"}, "SECRET_KEY must be set"),
        (
            {"SECRET_KEY": SECRET, "ALLOWED_HOSTS": "example.org", "DEBUG": "true"},
            "DEBUG must be off in production",
        ),
    ],
)
def test_production_refuses_to_start_without_its_essentials(env, message):
    result = deploy_check(**env)
    assert result.returncode != 0
    assert message in result.stderr


def test_production_settings_come_from_the_environment():
    values = production_values(
        [
            "DEBUG",
            "ALLOWED_HOSTS",
            "CSRF_TRUSTED_ORIGINS",
            "SITE_URL",
            "DATABASES",
            "CELERY_BROKER_URL",
            "EMAIL_BACKEND",
            "EMAIL_HOST",
            "SESSION_COOKIE_SECURE",
            "CSRF_COOKIE_SECURE",
            "SESSION_COOKIE_HTTPONLY",
            "CSRF_COOKIE_HTTPONLY",
            "SECURE_HSTS_SECONDS",
            "SECURE_PROXY_SSL_HEADER",
            "SESSION_IDLE_SECONDS",
            "SESSION_MAX_SECONDS",
            "AXES_FAILURE_LIMIT",
            "SESAME_MAX_AGE",
        ],
        SECRET_KEY=SECRET,
        ALLOWED_HOSTS="stage.example.org",
        SITE_URL="https://stage.example.org",
        DATABASE_URL="postgres://sb:pw@db:5432/stagebureau",
        CELERY_BROKER_URL="redis://redis:6379/0",
        EMAIL_HOST="smtp.example.org",
        TRUSTED_PROXY_COUNT="1",
        SESSION_IDLE_MINUTES="20",
        SESSION_MAX_HOURS="8",
        LOGIN_FAILURE_LIMIT="3",
        SIGN_IN_LINK_MINUTES="10",
    )
    assert values["DEBUG"] is False
    assert values["ALLOWED_HOSTS"] == ["stage.example.org", "127.0.0.1", "localhost"]
    assert values["CSRF_TRUSTED_ORIGINS"] == ["https://stage.example.org"]
    assert values["SITE_URL"] == "https://stage.example.org"
    assert values["DATABASES"]["default"]["HOST"] == "db"
    assert values["DATABASES"]["default"]["ENGINE"] == "django.db.backends.postgresql"
    assert values["CELERY_BROKER_URL"] == "redis://redis:6379/0"
    assert values["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert values["SESSION_COOKIE_SECURE"] and values["CSRF_COOKIE_SECURE"]
    assert values["SESSION_COOKIE_HTTPONLY"] and values["CSRF_COOKIE_HTTPONLY"]
    assert values["SECURE_HSTS_SECONDS"] == 31_536_000
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert values["SESSION_IDLE_SECONDS"] == 20 * 60
    assert values["SESSION_MAX_SECONDS"] == 8 * 3600
    assert values["AXES_FAILURE_LIMIT"] == 3
    assert values["SESAME_MAX_AGE"] == 10 * 60


def test_single_sign_on_is_switched_on_and_configured_by_the_environment(tmp_path):
    base = {"SECRET_KEY": SECRET, "ALLOWED_HOSTS": "example.org"}
    off = production_values(["OIDC_ENABLED", "AUTHENTICATION_BACKENDS"], **base)
    assert off["OIDC_ENABLED"] is False
    assert "stagebureau.auth_backends.OIDCBackend" not in off["AUTHENTICATION_BACKENDS"]

    incomplete = deploy_check(**base, OIDC_ENABLED="true", OIDC_RP_CLIENT_ID="x")
    assert incomplete.returncode != 0
    assert "OIDC_ENABLED needs OIDC_RP_CLIENT_SECRET" in incomplete.stderr

    secret = tmp_path / "oidc-secret"
    secret.write_text("from-a-file\n")
    op = "https://connect.surfconext.example/oidc"
    on = production_values(
        ["OIDC_ENABLED", "AUTHENTICATION_BACKENDS", "OIDC_RP_CLIENT_SECRET", "OIDC_CREATE_USER"],
        **base,
        OIDC_ENABLED="true",
        OIDC_RP_CLIENT_ID="stage.example.org",
        OIDC_RP_CLIENT_SECRET_FILE=str(secret),
        OIDC_OP_AUTHORIZATION_ENDPOINT=f"{op}/authorize",
        OIDC_OP_TOKEN_ENDPOINT=f"{op}/token",
        OIDC_OP_USER_ENDPOINT=f"{op}/userinfo",
        OIDC_OP_JWKS_ENDPOINT=f"{op}/certs",
    )
    assert on["OIDC_ENABLED"] is True
    assert on["OIDC_RP_CLIENT_SECRET"] == "from-a-file"
    assert on["OIDC_CREATE_USER"] is False
    backends = on["AUTHENTICATION_BACKENDS"]
    assert backends[0] == "stagebureau.auth_backends.ThrottleBackend"
    assert backends[-1] == "stagebureau.auth_backends.OIDCBackend"
    assert "stagebureau.backends.RequestUserBackend" in backends
    assert "django.contrib.auth.backends.ModelBackend" in backends
    with_sso = deploy_check(
        **base,
        OIDC_ENABLED="true",
        OIDC_RP_CLIENT_ID="stage.example.org",
        OIDC_RP_CLIENT_SECRET_FILE=str(secret),
        OIDC_OP_AUTHORIZATION_ENDPOINT=f"{op}/authorize",
        OIDC_OP_TOKEN_ENDPOINT=f"{op}/token",
        OIDC_OP_USER_ENDPOINT=f"{op}/userinfo",
        OIDC_OP_JWKS_ENDPOINT=f"{op}/certs",
    )
    assert with_sso.returncode == 0, with_sso.stdout + with_sso.stderr
