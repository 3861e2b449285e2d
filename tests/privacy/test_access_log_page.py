"""The privacy officer's pages: find a student, list the student's access log (who, when, which
case, which page, kind), paginated; recent security events; nobody else (403)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.models import AnonymousUser, Group, Permission
from django.core.management import call_command
from django.urls import reverse

from cases.models import PRIVACY_OFFICER_PERMISSION, User
from privacy.models import ACCESS_LOG_PERMISSION, PRIVACY_OFFICER_GROUP, AccessLog
from privacy.selectors import is_privacy_officer
from tests.cases.factories import CaseFactory, UserFactory

from .helpers import privacy_officer

pytestmark = pytest.mark.django_db

PAGES = ["privacy:access_log", "privacy:student_log"]


def url(name: str, student=None) -> str:
    return reverse(name, args=[student.pk]) if name == "privacy:student_log" else reverse(name)


def test_the_migration_made_the_group_with_the_permission():
    group = Group.objects.get(name=PRIVACY_OFFICER_GROUP)
    assert list(group.permissions.values_list("content_type__app_label", "codename")) == [
        ("privacy", "view_accesslog")
    ]


def test_the_core_names_the_privacy_officers_permission_as_this_app_defines_it():
    assert ".".join(ACCESS_LOG_PERMISSION) == PRIVACY_OFFICER_PERMISSION
    app_label, codename = ACCESS_LOG_PERMISSION
    permission = Permission.objects.get(content_type__app_label=app_label, codename=codename)
    assert permission.content_type.model_class() is AccessLog


def test_the_privacy_officer_without_the_request_users_flag():
    """`User.is_privacy_officer` on a user not loaded by the request backend: the permission
    by a group or directly; not a superuser, not an inactive member, not anonymous."""
    app_label, codename = ACCESS_LOG_PERMISSION
    permission = Permission.objects.get(content_type__app_label=app_label, codename=codename)
    by_group = privacy_officer()
    direct = UserFactory()
    direct.user_permissions.add(permission)
    inactive = privacy_officer()
    User.objects.filter(pk=inactive.pk).update(is_active=False)
    superuser = UserFactory(is_staff=True, is_superuser=True)
    for user, expected in [
        (by_group, True),
        (direct, True),
        (User.objects.get(pk=inactive.pk), False),
        (superuser, False),
        (UserFactory(office=True), False),
    ]:
        user = User.objects.get(pk=user.pk)  # no flag, nothing cached
        assert "_is_privacy_officer" not in user.__dict__
        assert user.is_privacy_officer is expected, user
        assert is_privacy_officer(user) is expected, user
    assert is_privacy_officer(AnonymousUser()) is False


def test_the_privacy_officer_finds_a_student_by_name_and_by_number(client):
    case = CaseFactory()
    student = case.placement.student
    User.objects.filter(pk=student.pk).update(
        first_name="Noor", last_name="Zandvoort", student_number="S123456"
    )
    CaseFactory()  # another student, not matching
    client.force_login(privacy_officer())
    for query in ("zandvoort", "Noor Zand", "S1234"):
        response = client.get(reverse("privacy:access_log"), {"q": query})
        assert response.status_code == 200
        assert [s.pk for s in response.context["students"]] == [student.pk], query
    assert reverse("privacy:student_log", args=[student.pk]) in response.content.decode()
    mentor_search = client.get(reverse("privacy:access_log"), {"q": case.placement.mentor.username})
    assert mentor_search.context["students"] == []  # staff are not students


def test_the_student_log_lists_who_when_which_case_page_and_kind(client):
    case = CaseFactory()
    mentor = case.placement.mentor
    client.force_login(mentor)
    client.get(case.get_absolute_url())
    officer = privacy_officer()
    client.force_login(officer)
    response = client.get(reverse("privacy:student_log", args=[case.placement.student.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    [row] = response.context["page"].object_list
    assert (row.user, row.case_id, row.kind, row.page) == (mentor, case.pk, "view", "portal:case")
    assert mentor.username in html and case.number in html and "Bekeken" in html.title()
    assert case.description not in html


def test_the_student_log_is_paginated_newest_first(client):
    case = CaseFactory()
    student = case.placement.student
    for i in range(60):
        AccessLog(
            user=case.placement.mentor, case_id=case.pk, student=student, kind="view", page=f"p{i}"
        ).save()
    client.force_login(privacy_officer())
    first = client.get(reverse("privacy:student_log", args=[student.pk]))
    second = client.get(reverse("privacy:student_log", args=[student.pk]), {"page": 2})
    assert len(first.context["page"].object_list) == 50
    assert first.context["page"].object_list[0].page == "p59"
    # The officer's own look at page 1 is logged too, so page 2 holds the rest.
    assert len(second.context["page"].object_list) == 60 + 1 - 50


def test_looking_at_a_students_log_is_itself_logged(client):
    case = CaseFactory()
    officer = privacy_officer()
    client.force_login(officer)
    client.get(reverse("privacy:student_log", args=[case.placement.student.pk]))
    row = AccessLog.objects.get()
    assert (row.user, row.student, row.kind, row.case_id) == (
        officer,
        case.placement.student,
        "view",
        None,
    )


def test_recent_security_events_are_listed(client):
    case = CaseFactory()
    intruder = UserFactory(username="nosy-parker")
    client.force_login(intruder)
    assert client.get(case.get_absolute_url()).status_code == 404
    client.force_login(privacy_officer())
    response = client.get(reverse("privacy:access_log"))
    [event] = response.context["events"]
    assert (event.user, event.case_id, event.status) == (intruder, case.pk, 404)
    assert "nosy-parker" in response.content.decode()


@pytest.mark.parametrize("who", ["office", "superuser", "student", "mentor", "isop"])
@pytest.mark.parametrize("name", PAGES)
def test_nobody_else_sees_the_access_log(client, who, name):
    case = CaseFactory()
    user = {
        "office": UserFactory(office=True),
        "superuser": UserFactory(is_staff=True, is_superuser=True),
        "student": case.placement.student,
        "mentor": case.placement.mentor,
        "isop": UserFactory(isop_owner=True),
    }[who]
    AccessLog(
        user=case.placement.mentor,
        case_id=case.pk,
        student=case.placement.student,
        username="LOGGED-VISITOR-MARK",
        kind="view",
        page="portal:case",
    ).save()
    client.force_login(user)
    response = client.get(url(name, case.placement.student))
    assert response.status_code == 403
    assert "privacyfunctionaris" in response.content.decode().lower()
    assert "LOGGED-VISITOR-MARK" not in response.content.decode()


@pytest.mark.parametrize("name", PAGES)
def test_anonymous_users_are_sent_to_log_in(client, name):
    case = CaseFactory()
    response = client.get(url(name, case.placement.student))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_seed_demo_has_a_privacy_officer_login():
    call_command("seed_demo", "--quiet-logins", stdout=StringIO())
    user = authenticate(username="privacy", password="demo")
    assert user is not None and is_privacy_officer(user)
    assert not is_privacy_officer(User.objects.get(username="stagebureau"))


def test_a_search_with_nul_and_control_characters_searches_without_them(client):
    student = CaseFactory().placement.student
    student.last_name = "Koster"
    student.save()
    client.force_login(privacy_officer())
    response = client.get(reverse("privacy:access_log"), {"q": "Kos\x00ter\x07"})
    assert response.status_code == 200
    assert response.context["query"] == "Kos ter"
    response = client.get(reverse("privacy:access_log"), {"q": "\x00Koster"})
    assert response.status_code == 200
    assert student in response.context["students"]


def test_the_data_export_file_name_holds_no_line_break_of_a_hostile_username(client):
    student = CaseFactory().placement.student
    User.objects.filter(pk=student.pk).update(username="iris\r\nX-Injected: 1")
    client.force_login(User.objects.get(pk=student.pk))
    response = client.get(reverse("privacy:my_data_json"))
    assert response.status_code == 200
    disposition = response["Content-Disposition"]
    assert "\r" not in disposition and "\n" not in disposition
    assert disposition.startswith('attachment; filename="stagebureau-iris-x-injected-1-')
