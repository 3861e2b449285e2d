"""The menu shows the access log to the privacy officer only, and "my data" to everyone, without
extra queries (the flag comes with the request's user)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.cases.factories import UserFactory
from tests.privacy.helpers import privacy_officer

pytestmark = pytest.mark.django_db


def menu(client, user) -> tuple[str, int]:
    client.force_login(user)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("portal:home"))
    assert response.status_code == 200
    return response.content.decode(), len(ctx)


def test_only_the_privacy_officer_sees_the_access_log_in_the_menu(client):
    officer_page, officer_queries = menu(client, privacy_officer())
    assert reverse("privacy:access_log") in officer_page
    assert "Toegangslogboek" in officer_page
    for user in (UserFactory(), UserFactory(office=True), UserFactory(is_superuser=True)):
        page, queries = menu(client, user)
        assert reverse("privacy:access_log") not in page, user
        assert queries == officer_queries


def test_everyone_finds_their_own_data_under_their_name(client):
    page, _queries = menu(client, UserFactory(first_name="Sanne", last_name="Bakker"))
    assert f'href="{reverse("privacy:my_data")}"' in page
    assert "Sanne Bakker" in page
