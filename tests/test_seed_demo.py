"""manage.py seed_demo: every state, idempotent, logins that work, fast synthetic data."""

import time
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from cases.models import Case, CaseEvent, Placement, Role, State, TrainingSchool, User
from demo.management.commands.seed_demo import PASSWORD, PEOPLE, SYNTHETIC_PREFIX
from notifications.models import Notification

pytestmark = pytest.mark.django_db


def seed(*args) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def snapshot() -> dict[str, int]:
    from django.apps import apps

    return {
        model._meta.label: model.objects.count()
        for model in apps.get_models()
        if model._meta.app_label
        in {"cases", "conversations", "transfers", "notifications", "deadlines"}
        or model._meta.label in {"auth.Group"}
    }


def test_it_creates_a_case_in_every_state():
    seed()
    states = set(Case.objects.values_list("state", flat=True))
    assert states == {s.value for s in State}


def test_it_walks_the_services_so_timelines_are_real():
    seed()
    case = Case.objects.get(state=State.HANDOVER)
    names = list(case.events.filter(kind=CaseEvent.Kind.TRANSITION).values_list("name", flat=True))
    assert names[0] == "signal"
    assert names[-1] == "place_student"
    assert "give_advice" in names
    moments = list(case.events.values_list("at", flat=True))
    assert moments == sorted(moments)
    assert (moments[-1] - moments[0]).days >= 14, "steps are spread over weeks, not one second"
    assert case.handovers.filter(confirmed_at__isnull=True).exists()
    assert Notification.objects.filter(case=case).exists()


def test_every_case_timeline_ends_in_the_cases_state():
    seed()
    for case in Case.objects.all():
        last = case.events.filter(kind=CaseEvent.Kind.TRANSITION).last()
        assert last.to_state == case.state, case


def test_it_is_idempotent():
    first = seed()
    before = snapshot()
    second = seed()
    assert snapshot() == before
    assert "Demo cases created: 19" in first
    assert "Demo cases created: 0" in second


def test_it_has_a_login_for_every_role_with_the_demo_password():
    output = seed()
    for person in PEOPLE:
        assert person.username in output
        assert authenticate(username=person.username, password=PASSWORD) is not None
    office = User.objects.get(username="stagebureau")
    assert office.is_office and office.is_staff and office.is_superuser
    assert User.objects.get(username="isop").is_isop_owner
    # Every placement role is held by a demo login on some placement.
    for field in ("student", "mentor", "school_trainer", "study_coach", "coordinating_trainer"):
        assert Placement.objects.filter(**{f"{field}__username__in": [p.username for p in PEOPLE]})
    assert Role.OFFICE in office.global_roles


def test_schools_cover_the_three_regions():
    seed()
    assert TrainingSchool.objects.count() >= 3
    assert set(TrainingSchool.objects.values_list("region", flat=True)) == {
        "noord",
        "midden",
        "zuid",
    }


def test_synthetic_cases_are_bulk_inserted_quickly_and_topped_up():
    seed()
    started = time.monotonic()
    seed("--cases", "200", "--quiet-logins")
    elapsed = time.monotonic() - started
    synthetic = Case.objects.filter(description__startswith=SYNTHETIC_PREFIX)
    assert synthetic.count() == 200
    assert elapsed < 20, f"--cases 200 took {elapsed:.1f}s"
    states = set(synthetic.values_list("state", flat=True))
    assert states == {s.value for s in State}
    assert synthetic.values("placement__school").distinct().count() >= 3
    events = CaseEvent.objects.filter(case__in=synthetic).count()
    assert 8 * 200 <= events <= 13 * 200
    for case in synthetic[:20]:
        last = case.events.filter(kind=CaseEvent.Kind.TRANSITION).last()
        assert last.to_state == case.state
    seed("--cases", "200", "--quiet-logins")
    assert synthetic.count() == 200
    seed("--cases", "250", "--quiet-logins")
    assert synthetic.count() == 250
