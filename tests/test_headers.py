"""Headers and cookies (issue #7 part 5): a Content-Security-Policy without inline scripts on
every page, `Cache-Control: no-store` on everything personal, the usual security headers, and
HSTS plus secure, HttpOnly cookies under the production settings."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import override_settings
from django.urls import reverse

from tests.cases.factories import CaseFactory, UserFactory
from tests.test_deploy_check import SECRET, production_values

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_SECURITY = [
    "DEBUG",
    "ALLOWED_HOSTS",
    "SECURE_SSL_REDIRECT",
    "SECURE_REDIRECT_EXEMPT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SESSION_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "SESSION_COOKIE_SAMESITE",
    "CSRF_COOKIE_SECURE",
    "CSRF_COOKIE_HTTPONLY",
    "LANGUAGE_COOKIE_SECURE",
    "LANGUAGE_COOKIE_HTTPONLY",
    "CONTENT_SECURITY_POLICY",
]


def csp(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy")
    assert header, f"no Content-Security-Policy on {response.request['PATH_INFO']}"
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


@pytest.fixture
def office(client):
    user = UserFactory(office=True)
    client.force_login(user)
    return user


@pytest.fixture(scope="module")
def production():
    """The security settings exactly as stagebureau.settings.production makes them."""
    return production_values(PRODUCTION_SECURITY, SECRET_KEY=SECRET, ALLOWED_HOSTS="example.org")


# --- Content-Security-Policy --------------------------------------------------------------------


def test_every_page_has_a_strict_policy_without_inline_scripts(client, office):
    case = CaseFactory()
    for url in (
        reverse("portal:home"),
        reverse("cases:my_cases"),
        reverse("portal:case", args=[case.pk]),
        reverse("notifications:inbox"),
        reverse("office:dashboard"),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        policy = csp(response)
        assert policy["script-src"] == ["'self'"], url
        assert policy["default-src"] == ["'self'"], url
        assert policy["object-src"] == ["'none'"], url
        assert policy["frame-ancestors"] == ["'none'"], url
        assert policy["base-uri"] == ["'self'"], url
        header = response.headers["Content-Security-Policy"]
        assert "unsafe-inline" not in header and "unsafe-eval" not in header, url


def test_the_policy_also_covers_anonymous_and_error_pages(client):
    for url in (reverse("login"), reverse("sign_in_link"), "/no-such-page/"):
        assert csp(client.get(url))["script-src"] == ["'self'"], url


def test_templates_have_no_inline_script_or_event_handler():
    """So the policy can forbid inline scripts without breaking a page."""
    templates = [
        path
        for folder in [ROOT / "templates", *ROOT.glob("*/templates")]
        for path in folder.rglob("*.html")
    ]
    assert len(templates) > 20
    offences = []
    for path in templates:
        text = path.read_text(encoding="utf-8")
        for tag in re.findall(r"<script\b[^>]*>", text, re.IGNORECASE):
            if "src=" not in tag:
                offences.append(f"{path.relative_to(ROOT)}: inline {tag}")
        for handler in re.findall(r"\son[a-z]+\s*=", text, re.IGNORECASE):
            offences.append(f"{path.relative_to(ROOT)}: event handler {handler.strip()}")
        if re.search(r"href=\"javascript:", text, re.IGNORECASE):
            offences.append(f"{path.relative_to(ROOT)}: javascript: URL")
    assert not offences, offences


def test_scripts_come_from_static_files_only(client):
    content = client.get(reverse("login")).content.decode()
    scripts = re.findall(r"<script\b[^>]*>", content)
    assert scripts
    for tag in scripts:
        assert re.search(r'src="/static/[^"]+\.js"', tag), tag
    assert (ROOT / "static" / "js" / "app.js").exists()


# --- caching --------------------------------------------------------------------------------------


def assert_no_store(response, what):
    cache_control = {
        part.strip() for part in response.headers.get("Cache-Control", "").split(",") if part
    }
    assert {"no-store", "private"} <= cache_control, (what, response.headers.get("Cache-Control"))


def test_case_pages_downloads_and_the_inbox_are_never_stored(client, office):
    case = CaseFactory()
    for url in (
        reverse("portal:case", args=[case.pk]),
        reverse("cases:my_cases"),
        reverse("notifications:inbox"),
        reverse("office:office_list"),
        reverse("office:office_export", args=["csv"]),
        reverse("portal:home"),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert_no_store(response, url)


def test_sensitive_paths_are_not_stored_for_anonymous_users_either(client):
    case = CaseFactory()
    for url in (reverse("portal:case", args=[case.pk]), "/inbox/", "/privacy/"):
        assert_no_store(client.get(url), url)


def test_public_pages_for_anonymous_users_keep_their_own_caching(client):
    response = client.get(reverse("sign_in_link_sent"))
    assert "no-store" not in response.headers.get("Cache-Control", "")


# --- other headers -------------------------------------------------------------------------------


def test_security_headers_on_every_response(client, office):
    for url in (reverse("login"), reverse("cases:my_cases")):
        response = client.get(url)
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Referrer-Policy"] == "same-origin"
        assert response["X-Frame-Options"] == "DENY"
        assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_cookies_are_http_only_outside_production_too(client):
    UserFactory(username="coach")
    assert client.get(reverse("login")).cookies["csrftoken"]["httponly"] is True
    response = client.post(reverse("login"), {"username": "coach", "password": "password"})
    session = response.cookies[django_settings.SESSION_COOKIE_NAME]
    assert session["httponly"] is True
    assert session["samesite"] == "Lax"


# --- production: HSTS and cookie flags ------------------------------------------------------------


def test_production_sends_hsts_and_redirects_to_https(client, production):
    with override_settings(**production):
        response = client.get(reverse("login"), secure=True, HTTP_HOST="example.org")
        assert response.status_code == 200
        assert response["Strict-Transport-Security"] == (
            "max-age=31536000; includeSubDomains; preload"
        )
        plain = client.get(reverse("login"), HTTP_HOST="example.org")
        assert plain.status_code == 301
        assert plain["Location"] == "https://example.org/login/"
        # The container's health check talks plain HTTP on 127.0.0.1.
        health = client.get("/health/?only=database", HTTP_HOST="127.0.0.1")
        assert health.status_code == 200


def test_production_cookies_are_secure_and_http_only(client, production):
    UserFactory(username="coach")
    with override_settings(**production):
        page = client.get(reverse("login"), secure=True, HTTP_HOST="example.org")
        csrf = page.cookies["csrftoken"]
        assert csrf["secure"] is True and csrf["httponly"] is True
        response = client.post(
            reverse("login"),
            {"username": "coach", "password": "password"},
            secure=True,
            HTTP_HOST="example.org",
        )
        assert response.status_code == 302
        session = response.cookies[django_settings.SESSION_COOKIE_NAME]
        assert session["secure"] is True
        assert session["httponly"] is True
        assert session["samesite"] == "Lax"
        switched = client.post(
            reverse("set_language"), {"language": "en"}, secure=True, HTTP_HOST="example.org"
        )
        language = switched.cookies[django_settings.LANGUAGE_COOKIE_NAME]
        assert language["secure"] is True and language["httponly"] is True


def test_production_keeps_the_strict_policy(production):
    script_src = production["CONTENT_SECURITY_POLICY"]["DIRECTIVES"]["script-src"]
    assert script_src == ["'self'"]
