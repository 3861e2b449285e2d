"""The access log middleware: one row per case-scoped request (view, export, change, refused),
never the content, one query; every URL pattern with arguments is mapped or declared."""

from __future__ import annotations

import logging

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from cases.models import Case, CaseEvent, State
from privacy import audit
from privacy.models import AccessLog
from tests.cases.factories import CaseFactory, UserFactory

from .helpers import full_case

pytestmark = pytest.mark.django_db


# --- every URL pattern is declared ------------------------------------------------------------


def walk(resolver=None, namespace: str = ""):
    """(view name, argument names) of every URL pattern."""
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            ns = pattern.namespace or ""
            inner = f"{namespace}:{ns}".strip(":") if ns else namespace
            outer = set(pattern.pattern.regex.groupindex)
            for name, kwargs in walk(pattern, inner):
                yield name, kwargs | outer
        elif isinstance(pattern, URLPattern):
            name = pattern.name or str(pattern.pattern)  # unnamed: by its route
            yield (
                (f"{namespace}:{name}" if namespace else name),
                set(pattern.pattern.regex.groupindex),
            )


def declared(name: str, kwargs: set[str]) -> bool:
    if audit.scope_for(name, dict.fromkeys(kwargs, 1)) is not None:
        return True
    if name in audit.NOT_CASE_SCOPED:
        return bool(audit.NOT_CASE_SCOPED[name].strip())
    return audit._admin_model(name) in audit.ADMIN_MODELS_WITHOUT_CASE


def test_every_url_pattern_with_arguments_is_mapped_to_a_case_or_declared_not_case_scoped():
    patterns = list(walk())
    with_arguments = [(name, kwargs) for name, kwargs in patterns if kwargs]
    assert len(with_arguments) > 20
    missing = [name for name, kwargs in with_arguments if not declared(name, kwargs)]
    assert missing == [], f"map these in privacy/audit.py (or declare them): {missing}"


def test_the_declarations_name_patterns_that_exist():
    names = {name for name, _kwargs in walk()}
    assert set(audit.NOT_CASE_SCOPED) <= names
    assert set(audit.URL_MODELS) <= names
    assert set(audit.EXPORT_NAMES) <= names
    assert set(audit.OWN_DATA_NAMES) <= names


def test_every_admin_model_is_case_scoped_or_declared_without_case():
    labels = {model._meta.label for model in admin.site._registry}
    assert labels <= set(audit.MODEL_SCOPES) | audit.ADMIN_MODELS_WITHOUT_CASE


def test_the_case_step_urls_are_case_scoped():
    for name, kwargs in walk():
        if name.split(":")[0] in audit.CASE_PK_NAMESPACES and kwargs:
            if name in audit.NOT_CASE_SCOPED:
                continue
            assert audit.scope_for(name, dict.fromkeys(kwargs, 1)) is not None, name


def test_every_scope_finds_its_case_and_student():
    """Each model of MODEL_SCOPES, on a case with a record of every kind."""
    case, placement, _office, _isop = full_case()
    from django.apps import apps

    AccessLog(case_id=case.pk, student_id=placement.student_id, kind="view").save()
    from transfers.models import Stop

    Stop.objects.create(case=case, temporary=False, recorded_by=_office)
    checked = 0
    for label, (case_path, student_path) in audit.MODEL_SCOPES.items():
        model = apps.get_model(label)
        if model is Case:
            objects = [case]
        elif label == "cases.Placement":
            objects = [placement]
        else:
            objects = list(model._default_manager.filter(**{case_path: case.pk})[:1])
        assert objects, f"the full case has no {label}"
        scope = audit.Scope("x", label, case_path, student_path)
        value = objects[0].pk
        assert scope.queryset(value).values_list(student_path, flat=True).get() == (
            placement.student_id
        )
        if case_path:
            assert scope.queryset(value).values_list(case_path, flat=True).get() == case.pk
        checked += 1
    assert checked == len(audit.MODEL_SCOPES)


# --- what is written -------------------------------------------------------------------------


def rows():
    return list(AccessLog.objects.order_by("pk"))


def test_opening_a_case_writes_one_view_row_with_the_student_and_no_content(client):
    case = CaseFactory(description="SECRET-DESCRIPTION-42")
    client.force_login(case.placement.mentor)
    assert client.get(case.get_absolute_url()).status_code == 200
    [row] = rows()
    assert (row.kind, row.case_id, row.student_id) == ("view", case.pk, case.placement.student_id)
    assert (row.user, row.username) == (case.placement.mentor, case.placement.mentor.username)
    assert (row.page, row.path, row.method, row.status) == (
        "portal:case",
        f"/cases/{case.pk}/",
        "GET",
        200,
    )
    values = [str(v) for v in AccessLog.objects.values().get().values()]
    assert not any("SECRET" in v for v in values)


def test_the_access_log_costs_exactly_one_query(client, settings):
    case = CaseFactory()
    client.force_login(case.placement.student)
    url = case.get_absolute_url()
    client.get(url)

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx)

    with_log = count()
    middleware = "privacy.audit.AccessLogMiddleware"
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != middleware]
    client.handler.load_middleware()  # the test client built its chain once
    assert with_log == count() + 1
    assert AccessLog.objects.count() == 2


def test_an_unrelated_user_is_refused_and_it_is_a_security_event(client, caplog):
    case = CaseFactory()
    stranger = UserFactory()
    client.force_login(stranger)
    with caplog.at_level(logging.WARNING, logger="stagebureau.security"):
        assert client.get(case.get_absolute_url()).status_code == 404
    [row] = rows()
    assert (row.kind, row.case_id, row.student_id, row.user) == (
        "refused",
        case.pk,
        case.placement.student_id,
        stranger,
    )
    assert row.status == 404
    [record] = [r for r in caplog.records if r.name == "stagebureau.security"]
    assert stranger.username in record.getMessage()
    assert case.description not in record.getMessage()


def test_a_probe_of_a_case_that_does_not_exist_is_logged_with_its_number(client):
    client.force_login(UserFactory())
    assert client.get(reverse("portal:case", args=[987654])).status_code == 404
    [row] = rows()
    assert (row.kind, row.case_id, row.student_id) == ("refused", 987654, None)


def test_a_related_user_without_the_right_gets_403_and_a_refused_row(client):
    case = CaseFactory(improving=True)
    client.force_login(case.placement.mentor)
    response = client.get(reverse("transfers:advice", args=[case.pk]))
    assert response.status_code == 403
    [row] = rows()
    assert (row.kind, row.status, row.case_id) == ("refused", 403, case.pk)


def test_a_forbidden_page_without_a_case_is_a_security_event_too(client):
    client.force_login(UserFactory())
    assert client.get(reverse("office:dashboard")).status_code == 403
    [row] = rows()
    assert (row.kind, row.case_id, row.student_id, row.page) == (
        "refused",
        None,
        None,
        "office:dashboard",
    )


def test_a_submitted_form_is_a_change(client):
    case = CaseFactory()
    client.force_login(case.placement.student)
    response = client.post(
        reverse("cases:withdraw", args=[case.pk]),
        {"reason": "Solved it myself.", "seen_version": case.version},
    )
    assert response.status_code in (200, 302)
    kinds = [r.kind for r in rows()]
    assert kinds[0] == "change"
    assert rows()[0].method == "POST"


def test_the_calendar_file_and_the_note_are_exports_of_their_case(client):
    case, placement, _office, _isop = full_case(closed=False)
    conversation = case.conversations.order_by("pk").first()
    client.force_login(placement.student)
    assert client.get(reverse("conversations:calendar", args=[conversation.pk])).status_code == 200
    assert (
        client.get(reverse("conversations:note_download", args=[conversation.pk])).status_code
        == 200
    )
    logged = [(r.kind, r.case_id, r.student_id, r.page) for r in rows()]
    assert logged == [
        ("export", case.pk, placement.student_id, "conversations:calendar"),
        ("export", case.pk, placement.student_id, "conversations:note_download"),
    ]


def test_an_action_and_an_invitation_find_their_case(client):
    case, placement, _office, _isop = full_case(closed=False)
    invitation = case.conversations.order_by("pk").first().invitations.first()
    action = case.actions.first()
    client.force_login(UserFactory())
    client.get(reverse("conversations:brief", args=[invitation.pk]))
    client.get(reverse("conversations:evaluate_action", args=[action.pk]))
    assert {(r.case_id, r.student_id, r.kind) for r in rows()} == {
        (case.pk, placement.student_id, "refused")
    }
    assert len(rows()) == 2


def test_the_office_list_export_logs_one_row_per_exported_case_with_the_filter(client):
    office = UserFactory(office=True)
    wanted = [CaseFactory(improving=True) for _ in range(3)]
    other = CaseFactory(closed_resolved=True)
    client.force_login(office)
    url = reverse("office:office_export", args=["csv"]) + "?state=improving"
    response = client.get(url)
    assert response.status_code == 200
    b"".join(response.streaming_content)
    logged = rows()
    assert {(r.case_id, r.student_id) for r in logged} == {
        (c.pk, c.placement.student_id) for c in wanted
    }
    assert other.pk not in {r.case_id for r in logged}
    assert {(r.kind, r.page, r.path, r.user_id, r.status) for r in logged} == {
        ("export", "office:office_export", url, office.pk, 200)
    }


def test_the_office_list_export_logs_in_the_same_queries_for_1_and_30_cases(client):
    office = UserFactory(office=True)
    client.force_login(office)
    url = reverse("office:office_export", args=["xlsx"])

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx)

    CaseFactory()
    one = count()
    for _ in range(29):
        CaseFactory()
    assert count() == one
    assert AccessLog.objects.count() == 1 + 30


def test_lists_anonymous_requests_and_redirects_are_not_logged(client):
    case = CaseFactory()
    assert client.get(case.get_absolute_url()).status_code == 302  # to the login page
    client.force_login(case.placement.student)
    assert client.get(reverse("cases:my_cases")).status_code == 200
    assert client.get(reverse("portal:home")).status_code == 200
    assert rows() == []


def test_a_failure_to_log_never_breaks_the_page(client, monkeypatch, caplog):
    case = CaseFactory()
    client.force_login(case.placement.student)

    def broken(*args, **kwargs):
        raise RuntimeError("database said no")

    monkeypatch.setattr(AccessLog, "save", broken)
    with caplog.at_level(logging.ERROR, logger="privacy.audit"):
        assert client.get(case.get_absolute_url()).status_code == 200
    assert any("access log" in r.getMessage() for r in caplog.records)


def test_the_admin_pages_of_a_case_record_are_logged_with_the_case(client):
    case = CaseFactory()
    event = CaseEvent.objects.create(case=case, kind="record", name="action_added")
    superuser = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(superuser)
    assert client.get(reverse("admin:cases_case_change", args=[case.pk])).status_code == 200
    assert client.get(reverse("admin:cases_caseevent_change", args=[event.pk])).status_code == 200
    assert [(r.kind, r.case_id, r.student_id) for r in rows()] == [
        ("view", case.pk, case.placement.student_id)
    ] * 2


def test_the_access_log_stays_append_only(client):
    case = CaseFactory()
    client.force_login(case.placement.student)
    client.get(case.get_absolute_url())
    row = AccessLog.objects.get()
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        AccessLog.objects.update(page="x")
    with pytest.raises(PermissionDenied):
        row.save()
    with pytest.raises(PermissionDenied):
        AccessLog.objects.all().delete()


def test_a_case_opened_after_a_transfer_still_logs_the_same_student(client):
    case, placement, office, _isop = full_case()
    assert case.state == State.CLOSED_TRANSFERRED
    # The case stays about the old placement; the student continues at the new one.
    assert case.placement_id == placement.pk and case.new_placement_id != placement.pk
    client.force_login(office)
    client.get(case.get_absolute_url())
    assert rows()[0].student_id == placement.student_id


def test_an_id_the_database_cannot_hold_is_a_security_event_without_a_case(caplog):
    from django.http import HttpResponseNotFound
    from django.test import RequestFactory
    from django.urls import resolve

    user = UserFactory()
    for path in ("/cases/99999999999999999999999/", "/admin/cases/case/abc/change/"):
        request = RequestFactory().get(path)
        request.user = user
        request.resolver_match = resolve(path)
        with caplog.at_level(logging.ERROR, logger="privacy.audit"):
            audit.log_request(request, HttpResponseNotFound())
    assert [(r.kind, r.case_id, r.student_id, r.status) for r in rows()] == [
        ("refused", None, None, 404)
    ] * 2
    assert not [r for r in caplog.records if r.name == "privacy.audit"]
