"""Sign-in (issue #7 part 4): throttled logins, session expiry, one-time sign-in links and
optional single sign-on through OpenID Connect (a mocked SURFconext)."""

from __future__ import annotations

import datetime as dt
import logging
import re
from urllib.parse import parse_qs, urlparse

import jwt
import pytest
import responses
import time_machine
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.core.cache import cache
from django.urls import reverse

from stagebureau.celery import app as celery_app
from tests.cases.factories import UserFactory

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
LOGIN = "/login/"


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.clear()
    yield
    cache.clear()


def log_in(client, username, password="password", **extra):
    return client.post(LOGIN, {"username": username, "password": password}, **extra)


def signed_in(client) -> bool:
    return SESSION_KEY in client.session


def page(response) -> str:
    return response.content.decode()


# --- throttling (django-axes) ------------------------------------------------------------------


class TestThrottling:
    def test_five_failures_lock_the_username_on_this_address_with_a_dutch_message(
        self, client, caplog
    ):
        user = UserFactory(username="mentor1")
        for _ in range(4):
            response = log_in(client, "mentor1", "wrong")
            assert response.status_code == 200
            assert "lockout-message" not in page(response)
        with caplog.at_level(logging.WARNING, logger="stagebureau.security"):
            response = log_in(client, "mentor1", "wrong")
        assert response.status_code == 429
        assert "Te veel mislukte pogingen om in te loggen" in page(response)
        assert "15 minuten geblokkeerd" in page(response)
        assert 'name="username"' in page(response), "the login form stays on the page"
        assert any(
            "locked out" in r.getMessage() and "mentor1" in r.getMessage() for r in caplog.records
        ), "the lockout is logged"

        # Even the right password is refused during the lockout.
        response = log_in(client, "mentor1", "password")
        assert response.status_code == 429
        assert not signed_in(client)
        assert user.last_login is None

    def test_the_lock_is_per_username_and_address(self, client):
        UserFactory(username="mentor1")
        UserFactory(username="mentor2")
        for _ in range(5):
            log_in(client, "mentor1", "wrong")
        assert log_in(client, "mentor1").status_code == 429
        # Another user on the same computer (a school's shared network) still gets in ...
        assert log_in(client, "mentor2").status_code == 302
        client.logout()
        # ... and so does the same user from elsewhere.
        assert log_in(client, "mentor1", REMOTE_ADDR="192.0.2.10").status_code == 302

    def test_the_lock_lifts_after_fifteen_minutes(self, client):
        UserFactory(username="mentor1")
        with time_machine.travel(START, tick=False) as traveller:
            for _ in range(5):
                log_in(client, "mentor1", "wrong")
            traveller.shift(dt.timedelta(minutes=14))
            assert log_in(client, "mentor1").status_code == 429
            traveller.shift(dt.timedelta(minutes=2))
            response = log_in(client, "mentor1")
            assert response.status_code == 302
            assert signed_in(client)

    def test_a_success_resets_the_count(self, client):
        UserFactory(username="mentor1")
        for _ in range(4):
            log_in(client, "mentor1", "wrong")
        assert log_in(client, "mentor1").status_code == 302
        client.logout()
        for _ in range(4):
            assert log_in(client, "mentor1", "wrong").status_code == 200
        assert log_in(client, "mentor1").status_code == 302

    def test_forwarded_addresses_count_only_behind_a_trusted_proxy(self, client, settings):
        UserFactory(username="mentor1")
        # Without a trusted proxy a forged X-Forwarded-For does not dodge the lock.
        for n in range(5):
            log_in(client, "mentor1", "wrong", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
        assert log_in(client, "mentor1", HTTP_X_FORWARDED_FOR="198.51.100.99").status_code == 429
        # Behind one proxy, the proxy's view of the client is the address.
        settings.TRUSTED_PROXY_COUNT = 1
        assert log_in(client, "mentor1", HTTP_X_FORWARDED_FOR="198.51.100.99").status_code == 302


class TestPasswordSpraying:
    """LOGIN_FAILURE_LIMIT_PER_IP failures from one address across usernames lock the address."""

    def spray(self, client, count: int, **extra) -> None:
        for n in range(count):  # a different username each time: django-axes alone never locks
            response = log_in(client, f"guess{n}", "Welkom01!", **extra)
            assert response.status_code == 200, n

    def test_twenty_failures_across_usernames_lock_the_address_with_the_same_message(
        self, client, caplog
    ):
        assert settings.LOGIN_FAILURE_LIMIT_PER_IP == 20
        user = UserFactory(username="mentor1")
        self.spray(client, 20)
        with caplog.at_level(logging.WARNING, logger="stagebureau.security"):
            response = log_in(client, "mentor1", "password")  # even the right password
        assert response.status_code == 429
        assert "Te veel mislukte pogingen om in te loggen" in page(response)
        assert "15 minuten geblokkeerd" in page(response)
        assert 'name="username"' in page(response)
        assert not signed_in(client)
        user.refresh_from_db()
        assert user.last_login is None
        assert any("this IP address" in r.getMessage() for r in caplog.records)

    def test_other_addresses_still_get_in_and_the_lock_lifts(self, client):
        UserFactory(username="mentor1")
        with time_machine.travel(START, tick=False) as traveller:
            self.spray(client, 20)
            assert log_in(client, "mentor1").status_code == 429
            assert log_in(client, "mentor1", REMOTE_ADDR="192.0.2.10").status_code == 302
            client.logout()
            traveller.shift(dt.timedelta(minutes=14))
            assert log_in(client, "mentor1").status_code == 429
            traveller.shift(dt.timedelta(minutes=2))
            assert log_in(client, "mentor1").status_code == 302

    def test_nineteen_failures_do_not_lock_and_refusals_do_not_extend_the_lock(self, client):
        UserFactory(username="mentor1")
        with time_machine.travel(START, tick=False) as traveller:
            self.spray(client, 19)
            assert log_in(client, "mentor1").status_code == 302
            client.logout()
            log_in(client, "guess-last", "wrong")
            traveller.shift(dt.timedelta(minutes=10))
            for _ in range(5):  # refused during the lock: not counted, the lock does not grow
                assert log_in(client, "guess-other", "wrong").status_code == 429
            traveller.shift(dt.timedelta(minutes=6))
            assert log_in(client, "mentor1").status_code == 302

    def test_the_limit_is_configurable_and_zero_switches_it_off(self, client, settings):
        UserFactory(username="mentor1")
        settings.LOGIN_FAILURE_LIMIT_PER_IP = 3
        self.spray(client, 3)
        assert log_in(client, "mentor1").status_code == 429
        settings.LOGIN_FAILURE_LIMIT_PER_IP = 0
        assert log_in(client, "mentor1").status_code == 302

    def test_a_sign_in_link_is_refused_from_a_locked_address(self, client, settings):
        settings.SIGN_IN_LINK_ENABLED = True
        self.spray(client, 20)
        response = client.post(reverse("sign_in_with_link"), {"sesame": "AAAA"})
        assert response.status_code == 429


# --- session expiry ----------------------------------------------------------------------------


class TestSessionExpiry:
    def test_thirty_idle_minutes_sign_you_out_with_the_reason(self, client):
        UserFactory(username="coach")
        my_cases = reverse("cases:my_cases")
        with time_machine.travel(START, tick=False) as traveller:
            assert log_in(client, "coach").status_code == 302
            traveller.shift(dt.timedelta(minutes=29))
            assert client.get(my_cases).status_code == 200
            traveller.shift(dt.timedelta(minutes=29))  # 29 idle minutes again: still fine
            assert client.get(my_cases).status_code == 200
            traveller.shift(dt.timedelta(minutes=31))
            response = client.get(my_cases)
            assert response.status_code == 302
            assert response["Location"].startswith(f"{LOGIN}?next=")
            assert not signed_in(client)
            login_page = page(client.get(response["Location"]))
        assert "Je bent uitgelogd na 30 minuten zonder activiteit. Log opnieuw in." in login_page

    def test_twelve_hours_after_signing_in_you_are_out_however_active(self, client):
        UserFactory(username="coach")
        with time_machine.travel(START, tick=False) as traveller:
            log_in(client, "coach")
            for _ in range(12 * 3):  # a request every 20 minutes for 12 hours
                traveller.shift(dt.timedelta(minutes=20))
                assert client.get(reverse("portal:home")).status_code == 200
            traveller.shift(dt.timedelta(minutes=1))
            response = client.get(reverse("portal:home"))
            assert response.status_code == 302
            assert not signed_in(client)
            login_page = page(client.get(response["Location"]))
        assert "meer dan 12 uur geleden bent ingelogd" in login_page

    def test_the_message_is_english_for_an_english_user(self, client):
        UserFactory(username="coach", language="en")
        with time_machine.travel(START, tick=False) as traveller:
            log_in(client, "coach")
            traveller.shift(dt.timedelta(minutes=31))
            response = client.get(reverse("portal:home"), follow=True)
        assert "You were signed out after 30 minutes without activity." in page(response)

    def test_the_limits_come_from_the_settings(self, client, settings):
        settings.SESSION_IDLE_SECONDS = 5 * 60
        UserFactory(username="coach")
        with time_machine.travel(START, tick=False) as traveller:
            log_in(client, "coach")
            traveller.shift(dt.timedelta(minutes=4))
            assert client.get(reverse("portal:home")).status_code == 200
            traveller.shift(dt.timedelta(minutes=6))
            assert client.get(reverse("portal:home")).status_code == 302
            assert not signed_in(client)

    def test_an_ordinary_request_does_not_write_the_session(self, client):
        UserFactory(username="coach")
        with time_machine.travel(START, tick=False) as traveller:
            log_in(client, "coach")
            seen = client.session["signin:seen"]
            traveller.shift(dt.timedelta(seconds=30))
            client.get(reverse("portal:home"))
            assert client.session["signin:seen"] == seen
            traveller.shift(dt.timedelta(seconds=31))
            client.get(reverse("portal:home"))
            assert client.session["signin:seen"] == seen + 61

    def test_a_session_from_before_the_clock_starts_it_at_its_next_request(self, client):
        user = UserFactory(username="coach")
        with time_machine.travel(START, tick=False) as traveller:
            client.force_login(user)
            session = client.session
            del session["signin:at"], session["signin:seen"]
            session.save()
            assert client.get(reverse("portal:home")).status_code == 200
            assert client.session["signin:at"] == START.timestamp()
            traveller.shift(dt.timedelta(minutes=31))
            assert client.get(reverse("portal:home")).status_code == 302

    def test_the_session_cookie_lasts_as_long_as_the_absolute_limit(self, client):
        UserFactory(username="coach")
        response = log_in(client, "coach")
        assert response.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == 12 * 3600


# --- sign-in links (django-sesame) -------------------------------------------------------------


@pytest.fixture
def eager_celery():
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


def ask_link(client, django_capture_on_commit_callbacks, email, **extra):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(reverse("sign_in_link"), {"email": email}, **extra)


def link_from(message) -> str:
    match = re.search(r"https?://\S+/login/link/use/\?sesame=\S+", message.body)
    assert match, message.body
    url = urlparse(match.group(0))
    return f"{url.path}?{url.query}"


def use_link(client, link):
    """Open the link (a page with a button), then press the button."""
    token = parse_qs(urlparse(link).query)["sesame"][0]
    opened = client.get(link)
    assert opened.status_code == 200
    assert not signed_in(client), "opening the link alone signs nobody in"
    return client.post(reverse("sign_in_with_link"), {"sesame": token})


@pytest.mark.usefixtures("eager_celery")
class TestSignInLinks:
    def test_the_login_page_offers_a_sign_in_link(self, client):
        content = page(client.get(LOGIN))
        assert "Stuur me een inloglink" in content
        assert reverse("sign_in_link") in content

    def test_a_known_address_gets_a_link_that_signs_in_once(
        self, client, django_capture_on_commit_callbacks
    ):
        user = UserFactory(username="schoolopleider", email="Trainer@School.example")
        response = ask_link(client, django_capture_on_commit_callbacks, "trainer@school.example")
        assert response.status_code == 302
        assert response["Location"] == reverse("sign_in_link_sent")
        assert len(mail.outbox) == 1
        message = mail.outbox[0]
        assert message.to == ["Trainer@School.example"]
        assert message.subject == "Je inloglink voor Stagebureau"
        assert "schoolopleider" in message.body
        assert "15 minuten lang" in message.body
        link = link_from(message)

        response = use_link(client, link)
        assert response.status_code == 302
        assert response["Location"] == reverse("cases:my_cases")
        assert client.session[SESSION_KEY] == str(user.pk)

        client.logout()
        response = use_link(client, link)
        assert response.status_code == 302
        assert not signed_in(client)
        refused = page(client.get(response["Location"]))
        assert "Deze inloglink is niet (meer) geldig" in refused

    def test_a_link_expires_after_fifteen_minutes(self, client, django_capture_on_commit_callbacks):
        UserFactory(username="schoolopleider", email="trainer@school.example")
        with time_machine.travel(START, tick=False) as traveller:
            ask_link(client, django_capture_on_commit_callbacks, "trainer@school.example")
            link = link_from(mail.outbox[0])
            traveller.shift(dt.timedelta(minutes=16))
            response = use_link(client, link)
            assert not signed_in(client)
        assert response["Location"] == reverse("sign_in_link")

    def test_a_link_works_within_its_fifteen_minutes(
        self, client, django_capture_on_commit_callbacks
    ):
        UserFactory(username="schoolopleider", email="trainer@school.example")
        with time_machine.travel(START, tick=False) as traveller:
            ask_link(client, django_capture_on_commit_callbacks, "trainer@school.example")
            traveller.shift(dt.timedelta(minutes=14))
            use_link(client, link_from(mail.outbox[0]))
            assert signed_in(client)

    def test_a_wrong_or_tampered_token_is_refused(self, client, django_capture_on_commit_callbacks):
        user = UserFactory(username="schoolopleider", email="trainer@school.example")
        UserFactory(username="other", email="other@school.example")
        ask_link(client, django_capture_on_commit_callbacks, "other@school.example")
        token = parse_qs(urlparse(link_from(mail.outbox[0])).query)["sesame"][0]
        for wrong in ("nonsense", token[:-2] + ("AA" if token[-2:] != "AA" else "BB"), ""):
            client.post(reverse("sign_in_with_link"), {"sesame": wrong})
            assert not signed_in(client)
        assert SESSION_KEY not in client.session
        user.refresh_from_db()
        assert user.last_login is None

    def test_the_answer_is_the_same_whether_or_not_the_address_has_an_account(
        self, client, django_capture_on_commit_callbacks
    ):
        UserFactory(username="known", email="known@school.example")
        UserFactory(username="gone", email="gone@school.example", is_active=False)
        answers = []
        for email in ("known@school.example", "unknown@school.example", "gone@school.example"):
            response = ask_link(client, django_capture_on_commit_callbacks, email)
            answers.append((response.status_code, response["Location"]))
            answers_page = page(client.get(response["Location"]))
            assert "Als het stagebureau dit adres kent" in answers_page
        assert len(set(answers)) == 1
        assert [m.to for m in mail.outbox] == [["known@school.example"]]

    def test_admins_get_no_link_and_a_link_never_signs_in_an_admin(
        self, client, django_capture_on_commit_callbacks
    ):
        from sesame.utils import get_query_string

        admin = UserFactory(username="beheer", email="beheer@school.example", is_staff=True)
        ask_link(client, django_capture_on_commit_callbacks, "beheer@school.example")
        assert mail.outbox == []
        use_link(client, reverse("sign_in_with_link") + get_query_string(admin))
        assert not signed_in(client)

    def test_asking_is_throttled_per_address_and_per_computer(
        self, client, django_capture_on_commit_callbacks
    ):
        UserFactory(username="known", email="known@school.example")
        for _ in range(5):
            response = ask_link(client, django_capture_on_commit_callbacks, "known@school.example")
            assert response.status_code == 302  # the same answer, over the limit too
        assert len(mail.outbox) == 3
        for n in range(5):
            response = ask_link(client, django_capture_on_commit_callbacks, f"x{n}@school.example")
            assert response.status_code == 302
        response = ask_link(client, django_capture_on_commit_callbacks, "z@school.example")
        assert response.status_code == 429
        assert "te veel inloglinks aangevraagd" in page(response)
        # Another computer is not affected.
        response = ask_link(
            client, django_capture_on_commit_callbacks, "y@school.example", REMOTE_ADDR="192.0.2.7"
        )
        assert response.status_code == 302

    def test_asking_needs_a_valid_address_and_csrf(self, client):
        response = client.post(reverse("sign_in_link"), {"email": "not an address"})
        assert response.status_code == 200
        assert "Voer een geldig e-mailadres in" in page(response)
        csrf_client = type(client)(enforce_csrf_checks=True)
        assert csrf_client.post(reverse("sign_in_link"), {"email": "a@b.nl"}).status_code == 403
        assert csrf_client.post(reverse("sign_in_with_link"), {"sesame": "x"}).status_code == 403

    def test_off_by_setting(self, client, settings):
        settings.SIGN_IN_LINK_ENABLED = False
        assert client.get(reverse("sign_in_link")).status_code == 404
        assert "Stuur me een inloglink" not in page(client.get(LOGIN))


# --- single sign-on (OpenID Connect, a mocked SURFconext) ---------------------------------------

OP = "https://connect.surfconext.example"
CLIENT_ID = "stagebureau.example.org"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
JWK = {**jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key(), as_dict=True), "kid": "k1"}
JWK["alg"] = "RS256"


@pytest.fixture
def oidc(settings):
    settings.OIDC_ENABLED = True
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = "s3cret"
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = f"{OP}/oidc/authorize"
    settings.OIDC_OP_TOKEN_ENDPOINT = f"{OP}/oidc/token"
    settings.OIDC_OP_USER_ENDPOINT = f"{OP}/oidc/userinfo"
    settings.OIDC_OP_JWKS_ENDPOINT = f"{OP}/oidc/certs"
    settings.OIDC_OP_ISSUER = OP
    settings.AUTHENTICATION_BACKENDS = [
        *settings.AUTHENTICATION_BACKENDS,
        "stagebureau.auth_backends.OIDCBackend",
    ]
    with responses.RequestsMock(assert_all_requests_are_fired=False) as provider:
        yield provider


def provider_answers(provider, nonce, claims, *, aud=CLIENT_ID, iss=OP):
    id_token = jwt.encode(
        {
            "iss": iss,
            "aud": aud,
            "sub": "surf-123",
            "nonce": nonce,
            "iat": 1_700_000_000,
            "exp": 4_000_000_000,
        },
        KEY,
        algorithm="RS256",
        headers={"kid": "k1"},
    )
    provider.add(
        responses.POST,
        f"{OP}/oidc/token",
        json={"id_token": id_token, "access_token": "at-1", "token_type": "Bearer"},
    )
    provider.add(responses.GET, f"{OP}/oidc/certs", json={"keys": [JWK]})
    provider.add(responses.GET, f"{OP}/oidc/userinfo", json={"sub": "surf-123", **claims})


def sso(client, provider, claims, **token):
    start = client.get(reverse("oidc_authentication_init"))
    assert start.status_code == 302
    assert start["Location"].startswith(f"{OP}/oidc/authorize?")
    query = parse_qs(urlparse(start["Location"]).query)
    assert query["client_id"] == [CLIENT_ID]
    assert "code_challenge" in query  # PKCE
    provider_answers(provider, query["nonce"][0], claims, **token)
    return client.get(
        reverse("oidc_authentication_callback"), {"code": "code-1", "state": query["state"][0]}
    )


class TestSingleSignOn:
    def test_off_by_default(self, client):
        assert settings.OIDC_ENABLED is False
        assert "stagebureau.auth_backends.OIDCBackend" not in settings.AUTHENTICATION_BACKENDS
        assert client.get(reverse("oidc_authentication_init")).status_code == 404
        assert client.get(reverse("oidc_authentication_callback")).status_code == 404
        assert "SURFconext" not in page(client.get(LOGIN))

    def test_the_button_shows_when_enabled(self, client, oidc):
        content = page(client.get(LOGIN))
        assert "Inloggen met SURFconext" in content
        assert reverse("oidc_authentication_init") in content

    def test_a_known_user_is_signed_in_by_e_mail_address(self, client, oidc):
        user = UserFactory(username="coach", email="J.Jansen@Hogeschool.example")
        response = sso(client, oidc, {"email": "j.jansen@hogeschool.example"})
        assert response.status_code == 302
        assert response["Location"] == reverse("cases:my_cases")
        assert client.session[SESSION_KEY] == str(user.pk)
        # The token request carried the code, the secret and the PKCE verifier.
        token_call = next(c for c in oidc.calls if c.request.url == f"{OP}/oidc/token")
        body = parse_qs(token_call.request.body)
        assert body["code"] == ["code-1"]
        assert "code_verifier" in body
        # The session is a normal one: the expiry clock runs.
        assert "signin:at" in client.session
        assert client.get(reverse("cases:my_cases")).status_code == 200

    def test_eppn_is_used_when_there_is_no_email_claim(self, client, oidc):
        user = UserFactory(username="coach", email="jjansen@hogeschool.example")
        sso(client, oidc, {"eduperson_principal_name": "jjansen@hogeschool.example"})
        assert client.session[SESSION_KEY] == str(user.pk)

    def test_an_unknown_user_is_refused_and_not_created(self, client, oidc):
        from cases.models import User

        before = User.objects.count()
        response = sso(client, oidc, {"email": "stranger@hogeschool.example"})
        assert response.status_code == 302
        assert not signed_in(client)
        assert User.objects.count() == before
        login_page = page(client.get(response["Location"]))
        assert "Inloggen via SURFconext is niet gelukt" in login_page

    def test_an_inactive_user_or_an_ambiguous_address_is_refused(self, client, oidc):
        UserFactory(username="gone", email="gone@hogeschool.example", is_active=False)
        sso(client, oidc, {"email": "gone@hogeschool.example"})
        assert not signed_in(client)
        UserFactory(username="twin1", email="twin@hogeschool.example")
        UserFactory(username="twin2", email="twin@hogeschool.example")
        sso(client, oidc, {"email": "twin@hogeschool.example"})
        assert not signed_in(client)

    def test_a_token_for_another_client_or_from_another_issuer_is_refused(self, client, oidc):
        UserFactory(username="coach", email="coach@hogeschool.example")
        sso(client, oidc, {"email": "coach@hogeschool.example"}, aud="someone-else")
        assert not signed_in(client)
        sso(client, oidc, {"email": "coach@hogeschool.example"}, iss="https://evil.example")
        assert not signed_in(client)

    def test_users_are_created_only_when_configured(self, client, oidc, settings):
        from cases.models import User

        settings.OIDC_CREATE_USER = True
        sso(
            client,
            oidc,
            {
                "email": "new@hogeschool.example",
                "eduperson_principal_name": "new@hogeschool.example",
                "given_name": "Nieuw",
                "family_name": "Persoon",
            },
        )
        user = User.objects.get(email="new@hogeschool.example")
        assert client.session[SESSION_KEY] == str(user.pk)
        assert (user.username, user.first_name, user.last_name) == (
            "new@hogeschool.example",
            "Nieuw",
            "Persoon",
        )

    def test_a_provider_s_line_breaks_never_reach_a_created_user(self, client, oidc, settings):
        from cases.models import User

        settings.OIDC_CREATE_USER = True
        sso(
            client,
            oidc,
            {
                "email": "new@hogeschool.example",
                "eduperson_principal_name": "new@hogeschool.example\r\nX: y",
                "given_name": "Nieuw\r\nBcc: evil@x.example",
                "family_name": "Per\tsoon\x1b[31m",
            },
        )
        user = User.objects.get(email="new@hogeschool.example")
        assert client.session[SESSION_KEY] == str(user.pk)
        assert user.first_name == "Nieuw Bcc: evil@x.example"
        assert user.last_name == "Per soon [31m"
        assert user.username == "new@hogeschool.exampleXy"

    def test_an_address_claim_with_a_line_break_is_refused(self, client, oidc):
        UserFactory(username="coach", email="coach@hogeschool.example")
        sso(client, oidc, {"email": "coach@hogeschool.example\r\nBcc: evil@x.example"})
        assert not signed_in(client)
