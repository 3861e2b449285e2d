"""The admin refuses line breaks and control characters in names, addresses and numbers: they
would break e-mail headers, calendar files and exports (issue #16)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from cases.models import TrainingSchool, User
from tests.cases.factories import TrainingSchoolFactory, UserFactory

pytestmark = pytest.mark.django_db

MESSAGE = "Dit mag geen regeleinde, tab of ander stuurteken bevatten. Zet het op één regel."


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def change_data(user: User, **values) -> dict:
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "student_number": user.student_number,
        "language": user.language,
        "is_active": "on",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "10:00:00",
    }
    data.update(values)
    return data


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("first_name", "Jan\r\nBcc: evil@x.example"),
        ("last_name", "de\nVries"),
        ("last_name", "Jansen\x1b[31m"),
        ("email", "jan@example.org\r\nBcc: evil@x.example"),
        ("student_number", "123\r\n=1+1"),
    ],
)
def test_the_user_form_refuses_a_line_break(admin_client, field, value):
    user = UserFactory(first_name="Jan", last_name="Jansen")
    url = reverse("admin:cases_user_change", args=[user.pk])
    response = admin_client.post(url, change_data(user, **{field: value}))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors[field]
    assert (MESSAGE in response.content.decode()) or field == "email"
    user.refresh_from_db()
    assert getattr(user, field) != value


def test_the_user_form_still_saves_ordinary_names(admin_client):
    user = UserFactory()
    url = reverse("admin:cases_user_change", args=[user.pk])
    response = admin_client.post(
        url, change_data(user, first_name="Anne-Marie", last_name="Ö'Brien")
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert (user.first_name, user.last_name) == ("Anne-Marie", "Ö'Brien")


def test_adding_a_user_refuses_a_line_break_in_a_name(admin_client):
    response = admin_client.post(
        reverse("admin:cases_user_add"),
        {
            "username": "nieuw",
            "password1": "een-lang-wachtwoord-42",
            "password2": "een-lang-wachtwoord-42",
            "usable_password": "true",
            "first_name": "Nieuw\r\nX-Evil: 1",
            "last_name": "Persoon",
            "email": "nieuw@example.org",
        },
    )
    assert response.status_code == 200
    assert MESSAGE in response.content.decode()
    assert not User.objects.filter(username="nieuw").exists()


def test_a_school_name_with_a_line_break_is_refused(admin_client):
    school = TrainingSchoolFactory()
    url = reverse("admin:cases_trainingschool_change", args=[school.pk])
    response = admin_client.post(
        url,
        {
            "name": "Lyceum\r\n=1+1",
            "board": school.board_id,
            "city": school.city,
            "region": school.region,
        },
    )
    assert response.status_code == 200
    assert MESSAGE in response.content.decode()
    assert TrainingSchool.objects.get(pk=school.pk).name == school.name
