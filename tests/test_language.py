"""Dutch first: the chosen language wins, the browser's Accept-Language does not."""

import pytest
from django.conf import settings

from tests.cases.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_it_serves_dutch_to_an_english_browser(client):
    response = client.get("/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert response.headers["Content-Language"] == "nl"
    assert b'lang="nl"' in response.content


def test_the_language_switcher_cookie_wins(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get("/login/")
    assert response.headers["Content-Language"] == "en"


def test_a_signed_in_user_gets_their_profile_language(client):
    user = UserFactory(language="en")
    client.force_login(user)
    response = client.get("/cases/")
    assert response.headers["Content-Language"] == "en"


def test_a_bad_cookie_falls_back_to_dutch(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "xx"
    assert client.get("/login/").headers["Content-Language"] == "nl"


def test_switching_language_is_remembered_on_the_profile(client):
    user = UserFactory(language="nl")
    client.force_login(user)
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/cases/"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.language == "en"
    assert client.get("/cases/").headers["Content-Language"] == "en"


def test_switching_language_needs_post(client):
    assert client.get("/i18n/setlang/").status_code == 405


def test_tables_show_compact_dates_in_the_users_language(client):
    import datetime as dt

    from django.urls import reverse
    from django.utils import timezone

    from tests.cases.factories import CaseFactory

    moment = timezone.make_aware(dt.datetime(2026, 3, 2, 15, 5))
    CaseFactory(signalled_at=moment, state_changed_at=moment)
    client.force_login(UserFactory(office=True))
    dutch = client.get(reverse("office:office_list")).content.decode()
    assert "2 mrt 2026" in dutch
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = client.get(reverse("office:office_list")).content.decode()
    assert "2 Mar 2026" in english
