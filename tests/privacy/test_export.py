"""A student's own data: JSON and a readable HTML page; other people by role, not by name; the
office and the privacy officer may export it for a student; every model with a path to a
student is covered by the export or excluded with a reason."""

from __future__ import annotations

import json

import pytest
from django.apps import apps
from django.db import models
from django.urls import reverse

from cases.models import Case, CaseEvent
from privacy import selectors, services
from privacy.models import AccessLog
from tests.cases.factories import CaseFactory, UserFactory

from .helpers import full_case, privacy_officer

pytestmark = pytest.mark.django_db


def linked_to_students() -> set[str]:
    """Models with a path to a student: a relation to User, Placement or Case, or to a model
    that has one (followed until nothing new is found)."""
    linked = {"cases.User", "cases.Placement", "cases.Case"}
    changed = True
    while changed:
        changed = False
        for model in apps.get_models():
            label = model._meta.label
            if label in linked:
                continue
            for f in model._meta.get_fields():
                target = f.related_model if f.is_relation and f.concrete else None
                if target is not None and target._meta.label in linked:
                    linked.add(label)
                    changed = True
                    break
    return linked


def test_every_model_linked_to_a_student_is_covered_by_the_export_or_excluded_with_a_reason():
    linked = linked_to_students()
    assert {"admin.LogEntry", "transfers.Position", "notifications.Notification"} <= linked
    unaccounted = linked - set(selectors.EXPORT_COVERED) - set(selectors.EXPORT_EXCLUDED)
    assert unaccounted == set(), f"add to EXPORT_COVERED or EXPORT_EXCLUDED: {unaccounted}"
    assert all(reason.strip() for reason in selectors.EXPORT_EXCLUDED.values())
    assert not set(selectors.EXPORT_COVERED) & set(selectors.EXPORT_EXCLUDED)
    # No stale entries: every listed model exists.
    for label in [*selectors.EXPORT_COVERED, *selectors.EXPORT_EXCLUDED]:
        apps.get_model(label)


def export_json(client, url) -> dict:
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"].startswith("attachment;")
    return json.loads(response.content)


def test_the_export_holds_every_text_of_the_case_file_and_every_covered_section(client):
    case, placement, *_ = full_case()
    # Plant a marker in every text that retention would remove, so each must reach the export.
    planted = {}
    for label, (case_path, fields) in services.ANONYMISED_TEXTS.items():
        if label == "notifications.Notification":
            continue  # delivery errors of other people's e-mails: not the student's data
        model = apps.get_model(label)
        qs = model._default_manager.filter(**{case_path: case.pk})
        assert qs.exists(), label
        for field in fields:
            marker = f"MARK-{label}-{field}"
            planted[marker] = label
            update = models.QuerySet.update if model is CaseEvent else type(qs).update
            update(qs.filter(pk=qs.order_by("pk").first().pk), **{field: marker})
    client.force_login(placement.student)
    data = export_json(client, reverse("privacy:my_data_json"))
    text = json.dumps(data, ensure_ascii=False)
    missing = [marker for marker in planted if marker not in text]
    assert missing == []
    top_level = {key.split("[")[0].split(" ")[0] for key in selectors.EXPORT_COVERED.values()}
    assert top_level <= set(data)
    [exported] = data["cases"]
    for section in ("timeline", "conversations", "actions", "change_requests", "outcome_reports"):
        assert exported[section], section
    assert exported["isop_advice"] and exported["wrap_ups"] and exported["transfers"]
    assert exported["handovers"] and exported["conversations"][0]["student_note"]
    assert data["notifications"]


def test_other_people_appear_by_role_never_by_name(client):
    case, placement, office, isop = full_case()
    others = [
        placement.mentor,
        placement.school_trainer,
        placement.study_coach,
        office,
        isop,
        case.placement.study_coach,
    ]
    client.force_login(placement.student)
    data = export_json(client, reverse("privacy:my_data_json"))
    text = json.dumps(data, ensure_ascii=False)
    for person in others:
        for value in (person.username, person.email, person.last_name):
            assert value not in text, value
    [exported] = data["cases"]
    first = exported["conversations"][0]
    assert first["recorded_by"] == "school_trainer"
    assert first["summary"] == "Talked it through."  # the trainer's remark, by role
    assert {p["role"] for p in exported["outcome_reports"][0]["positions"]} >= {"student"}
    assert exported["isop_advice"][0]["given_by"] == "isop_owner"
    assert data["person"]["username"] == placement.student.username


def test_the_readable_page_shows_the_same_data_and_says_how_to_print_it(client):
    case, placement, *_ = full_case()
    client.force_login(placement.student)
    response = client.get(reverse("privacy:my_data"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Opslaan als PDF" in html
    assert "Talked it through." in html and "Goodbye to the class." in html
    assert case.number in html
    assert placement.mentor.last_name not in html
    assert reverse("privacy:my_data_json") in html


def test_a_student_gets_only_their_own_cases(client):
    mine = CaseFactory(description="MINE-123")
    theirs = CaseFactory(description="THEIRS-456")
    client.force_login(mine.placement.student)
    text = json.dumps(export_json(client, reverse("privacy:my_data_json")))
    assert "MINE-123" in text and "THEIRS-456" not in text
    assert theirs.placement.student.username not in text


def test_exporting_your_own_data_is_in_the_access_log(client):
    case = CaseFactory()
    client.force_login(case.placement.student)
    client.get(reverse("privacy:my_data_json"))
    client.get(reverse("privacy:my_data"))
    rows = list(AccessLog.objects.order_by("pk").values_list("kind", "student_id", "page"))
    assert rows == [
        ("export", case.placement.student_id, "privacy:my_data_json"),
        ("export", case.placement.student_id, "privacy:my_data"),
    ]


@pytest.mark.parametrize("who", ["office", "privacy"])
def test_the_office_and_the_privacy_officer_export_for_a_student(client, who):
    case = CaseFactory(description="FOR-THE-OFFICE")
    user = UserFactory(office=True) if who == "office" else privacy_officer()
    client.force_login(user)
    student = case.placement.student
    data = export_json(client, reverse("privacy:student_data_json", args=[student.pk]))
    assert data["cases"][0]["description"] == "FOR-THE-OFFICE"
    page = client.get(reverse("privacy:student_data", args=[student.pk]))
    assert page.status_code == 200 and "FOR-THE-OFFICE" in page.content.decode()
    assert set(AccessLog.objects.values_list("kind", "student_id")) == {("export", student.pk)}


@pytest.mark.parametrize("who", ["student", "mentor", "study_coach", "isop"])
def test_nobody_else_exports_for_a_student(client, who):
    case = CaseFactory()
    user = {
        "student": UserFactory(),
        "mentor": case.placement.mentor,
        "study_coach": case.placement.study_coach,
        "isop": UserFactory(isop_owner=True),
    }[who]
    client.force_login(user)
    student = case.placement.student
    for name in ("privacy:student_data", "privacy:student_data_json"):
        response = client.get(reverse(name, args=[student.pk]))
        assert response.status_code == 403
        assert case.description not in response.content.decode()
    assert set(AccessLog.objects.values_list("kind", "student_id")) == {("refused", student.pk)}


def test_someone_who_is_not_a_student_has_no_export_for_the_office(client):
    client.force_login(UserFactory(office=True))
    mentor = CaseFactory().placement.mentor
    assert client.get(reverse("privacy:student_data_json", args=[mentor.pk])).status_code == 404


def test_an_anonymised_case_is_exported_as_anonymised(client):
    case = CaseFactory(closed_resolved=True)
    Case.objects.filter(pk=case.pk).update(description=services.MARKER)
    client.force_login(case.placement.student)
    data = export_json(client, reverse("privacy:my_data_json"))
    assert data["cases"][0]["description"] == services.MARKER
