"""Login, my cases, signalling, resolve and withdraw (the case page: tests/portal)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape

from cases.models import Case, Category, State, all_actions_evaluated
from cases.services import CaseChangedMeanwhile
from conversations import services as conversation_services
from tests.cases.factories import CaseFactory, PlacementFactory, UserFactory
from tests.conversations.factories import ImprovementActionFactory

pytestmark = pytest.mark.django_db


def dutch(message) -> str:
    """A message as the (Dutch) page shows it, HTML-escaped."""
    with translation.override("nl"):
        return escape(str(message))


def changed_meanwhile() -> str:
    with translation.override("nl"):
        return escape(CaseChangedMeanwhile().message)


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx)


# --- login, home ---------------------------------------------------------------------------


class TestLogin:
    def test_it_serves_a_dutch_login_page(self, client):
        response = client.get(reverse("login"))
        assert response.status_code == 200
        assert b'<html lang="nl">' in response.content
        assert b'name="username"' in response.content

    def test_it_logs_in_and_lands_on_my_cases(self, client):
        UserFactory(username="anna")
        response = client.post(reverse("login"), {"username": "anna", "password": "password"})
        assert response.status_code == 302
        assert response.url == reverse("cases:my_cases")

    def test_it_logs_out_with_post(self, client):
        client.force_login(UserFactory())
        response = client.post(reverse("logout"))
        assert response.status_code == 302
        assert response.url == reverse("login")
        assert "_auth_user_id" not in client.session
        again = client.get(reverse("cases:my_cases"))
        assert again.status_code == 302
        assert again.url.startswith(reverse("login"))

    def test_home_is_the_to_do_page(self, client):
        client.force_login(UserFactory())
        response = client.get("/")
        assert response.status_code == 200
        assert "portal/home.html" in [t.name for t in response.templates]

    def test_the_language_switcher_switches_to_english(self, client):
        client.force_login(UserFactory())
        response = client.post("/i18n/setlang/", {"language": "en", "next": "/cases/"})
        assert response.status_code == 302
        page = client.get(reverse("cases:my_cases"))
        assert b'<html lang="en">' in page.content
        assert b"My cases" in page.content


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/cases/",
        "/cases/new/",
        "/cases/1/",
        "/cases/1/resolve/",
        "/cases/1/withdraw/",
        "/inbox/",
    ],
)
def test_it_sends_anonymous_visitors_to_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


# --- my cases ------------------------------------------------------------------------------


class TestMyCases:
    def test_it_lists_exactly_the_cases_the_user_is_related_to(self, client):
        mine = CaseFactory()
        other = CaseFactory()
        client.force_login(mine.placement.student)
        response = client.get(reverse("cases:my_cases"))
        assert response.status_code == 200
        assert list(response.context["cases"]) == [mine]
        # (escaped as the page writes it: a name may hold an apostrophe, "van 't Riet")
        assert escape(str(mine.placement.student)).encode() in response.content
        assert other.number.encode() not in response.content

    def test_the_mentor_sees_the_case_of_their_student(self, client):
        case = CaseFactory()
        client.force_login(case.placement.mentor)
        assert list(client.get(reverse("cases:my_cases")).context["cases"]) == [case]

    def test_the_office_sees_all_cases(self, client):
        cases = [CaseFactory(), CaseFactory()]
        client.force_login(UserFactory(office=True))
        listed = client.get(reverse("cases:my_cases")).context["cases"]
        assert set(listed) == set(cases)

    def test_closed_cases_only_on_request(self, client):
        closed = CaseFactory(closed_resolved=True)
        client.force_login(closed.placement.student)
        assert list(client.get(reverse("cases:my_cases")).context["cases"]) == []
        assert list(client.get("/cases/?show=all").context["cases"]) == [closed]

    def test_it_shows_state_school_and_categories(self, client):
        case = CaseFactory(categories=[Category.CLASSROOM, Category.WELLBEING])
        client.force_login(case.placement.student)
        content = client.get(reverse("cases:my_cases")).content.decode()
        assert f"state-{case.state}" in content
        assert escape(str(case.placement.school)) in content
        with translation.override("nl"):
            assert escape(str(Category.CLASSROOM.label)) in content

    def test_it_needs_the_same_number_of_queries_for_1_and_5_cases(
        self, client, django_assert_num_queries
    ):
        office = UserFactory(office=True)
        CaseFactory()
        client.force_login(office)
        one = count_queries(client, reverse("cases:my_cases"))
        for _ in range(4):
            CaseFactory(categories=[Category.OTHER, Category.CLASSROOM])
        with django_assert_num_queries(one):
            response = client.get(reverse("cases:my_cases"))
        assert len(response.context["cases"]) == 5


# --- signalling ----------------------------------------------------------------------------


class TestSignal:
    def test_the_student_chooses_among_their_active_placements(self, client):
        placement = PlacementFactory()
        PlacementFactory(student=placement.student, status="ended")
        PlacementFactory()
        client.force_login(placement.student)
        response = client.get(reverse("cases:signal"))
        assert response.status_code == 200
        assert list(response.context["form"].fields["placement"].queryset) == [placement]

    def test_staff_choose_among_placements_where_they_hold_a_role(self, client):
        as_mentor = PlacementFactory()
        as_coach = PlacementFactory(study_coach=as_mentor.mentor)
        PlacementFactory()
        client.force_login(as_mentor.mentor)
        queryset = client.get(reverse("cases:signal")).context["form"].fields["placement"].queryset
        assert set(queryset) == {as_mentor, as_coach}

    def test_the_office_chooses_among_all_active_placements(self, client):
        placements = {PlacementFactory(), PlacementFactory()}
        PlacementFactory(status="ended")
        client.force_login(UserFactory(office=True))
        queryset = client.get(reverse("cases:signal")).context["form"].fields["placement"].queryset
        assert set(queryset) == placements

    def test_it_signals_and_shows_the_case(self, client):
        placement = PlacementFactory()
        client.force_login(placement.student)
        response = client.post(
            reverse("cases:signal"),
            {
                "placement": placement.pk,
                "categories": [Category.MENTOR_RELATIONSHIP, Category.WELLBEING],
                "description": "Mijn mentor geeft geen feedback.",
            },
        )
        case = Case.objects.get()
        assert response.status_code == 302
        assert response.url == reverse("portal:case", args=[case.pk])
        assert case.state == State.SIGNALLED
        assert case.signalled_by == placement.student
        assert set(case.categories.values_list("category", flat=True)) == {
            Category.MENTOR_RELATIONSHIP,
            Category.WELLBEING,
        }
        page = client.get(response.url)
        assert b"Mijn mentor geeft geen feedback." in page.content
        assert case.number.encode() in client.get(reverse("cases:my_cases")).content

    def test_it_keeps_the_text_when_a_category_is_missing(self, client):
        placement = PlacementFactory()
        client.force_login(placement.student)
        response = client.post(
            reverse("cases:signal"),
            {"placement": placement.pk, "description": "Ik voel me niet welkom."},
        )
        assert response.status_code == 200
        assert b"Ik voel me niet welkom." in response.content
        assert not Case.objects.exists()

    def test_it_refuses_a_placement_the_user_is_not_part_of(self, client):
        placement = PlacementFactory()
        client.force_login(UserFactory())
        response = client.post(
            reverse("cases:signal"),
            {"placement": placement.pk, "categories": [Category.OTHER], "description": "x"},
        )
        assert response.status_code == 200
        assert not Case.objects.exists()


# --- resolve and withdraw ------------------------------------------------------------------


def step_data(case: Case, **data) -> dict:
    return {"seen_version": case.version, **data}


class TestResolve:
    def url(self, case):
        return reverse("cases:resolve", args=[case.pk])

    def test_unrelated_users_get_404(self, client):
        case = CaseFactory(improving=True)
        client.force_login(UserFactory())
        assert client.get(self.url(case)).status_code == 404
        assert client.post(self.url(case), step_data(case)).status_code == 404

    def test_the_mentor_may_not_resolve(self, client):
        case = CaseFactory(improving=True)
        ImprovementActionFactory(case=case, evaluated=True)
        client.force_login(case.placement.mentor)
        assert client.get(self.url(case)).status_code == 403
        response = client.post(self.url(case), step_data(case, note="Opgelost"))
        assert response.status_code == 403
        case.refresh_from_db()
        assert case.state == State.IMPROVING

    def test_it_resolves(self, client):
        case = CaseFactory(improving=True)
        ImprovementActionFactory(case=case, evaluated=True)
        client.force_login(case.placement.school_trainer)
        assert client.get(self.url(case)).status_code == 200
        response = client.post(self.url(case), step_data(case, note="Het gaat goed."))
        assert response.status_code == 302
        assert response.url == reverse("portal:case", args=[case.pk])
        case.refresh_from_db()
        assert case.state == State.CLOSED_RESOLVED
        assert case.events.last().note == "Het gaat goed."

    def test_a_guard_failure_keeps_the_text(self, client):
        case = CaseFactory(improving=True)
        ImprovementActionFactory(case=case)
        client.force_login(case.placement.school_trainer)
        response = client.post(self.url(case), step_data(case, note="Mijn slotnotitie"))
        assert response.status_code == 200
        content = response.content.decode()
        assert dutch(all_actions_evaluated.message) in content
        assert "Mijn slotnotitie" in content
        case.refresh_from_db()
        assert case.state == State.IMPROVING

    def test_a_stale_version_says_changed_meanwhile(self, client):
        case = CaseFactory(improving=True)
        ImprovementActionFactory(case=case, evaluated=True)
        client.force_login(case.placement.school_trainer)
        response = client.post(
            self.url(case), {"seen_version": case.version - 1 or 99, "note": "Te laat"}
        )
        assert response.status_code == 409
        assert changed_meanwhile() in response.content.decode()
        assert "Te laat" in response.content.decode()
        # The form now carries the current version: a deliberate second submit goes through.
        assert response.context["form"]["seen_version"].value() == str(case.version)
        case.refresh_from_db()
        assert case.state == State.IMPROVING

    def test_in_the_wrong_state_get_goes_back_to_the_case(self, client):
        case = CaseFactory()
        client.force_login(case.placement.school_trainer)
        response = client.get(self.url(case))
        assert response.status_code == 302
        assert response.url == reverse("portal:case", args=[case.pk])

    def test_the_loser_of_a_race_is_told_the_step_who_and_when_and_keeps_the_input(self, client):
        case = CaseFactory(improving=True)
        ImprovementActionFactory(case=case, evaluated=True)
        seen = case.version
        mentor = case.placement.mentor
        mentor.first_name, mentor.last_name = "Mirjam", "Mentor"
        mentor.save()
        # Meanwhile the mentor adds an action: a record that moves the case's version.
        conversation_services.action_add(
            case_id=case.pk,
            by=mentor,
            description="Lesvoorbereiding samen doornemen",
            owner_id=mentor.pk,
            due_date=dt.date(2026, 12, 18),
        )
        client.force_login(case.placement.school_trainer)
        response = client.post(self.url(case), {"seen_version": seen, "note": "Mijn slotnotitie"})
        assert response.status_code == 409
        content = response.content.decode()
        assert changed_meanwhile() in content
        assert "Verbeteractie toegevoegd" in content or "Improvement action added" in content
        assert "Mirjam Mentor" in content
        assert "Mijn slotnotitie" in content
        assert "Reload" not in content and "Laad de pagina" not in content
        case.refresh_from_db()
        assert case.state == State.IMPROVING


class TestWithdraw:
    def url(self, case):
        return reverse("cases:withdraw", args=[case.pk])

    def test_the_signaller_withdraws_with_a_reason(self, client):
        case = CaseFactory()
        client.force_login(case.placement.student)
        response = client.post(self.url(case), step_data(case, reason="Per ongeluk gemeld."))
        assert response.status_code == 302
        case.refresh_from_db()
        assert case.state == State.CLOSED_WITHDRAWN
        assert case.events.last().note == "Per ongeluk gemeld."

    def test_a_reason_is_required(self, client):
        case = CaseFactory()
        client.force_login(case.placement.student)
        response = client.post(self.url(case), step_data(case, reason=""))
        assert response.status_code == 200
        case.refresh_from_db()
        assert case.state == State.SIGNALLED

    def test_the_mentor_who_did_not_signal_may_not_withdraw(self, client):
        case = CaseFactory()
        client.force_login(case.placement.mentor)
        response = client.post(self.url(case), step_data(case, reason="Niet nodig"))
        assert response.status_code == 403
        case.refresh_from_db()
        assert case.state == State.SIGNALLED

    def test_unrelated_users_get_404(self, client):
        case = CaseFactory()
        client.force_login(UserFactory())
        assert client.post(self.url(case), step_data(case, reason="x")).status_code == 404


def test_the_admin_lists_and_adds_every_model(admin_client):
    from django.apps import apps
    from django.contrib import admin

    from privacy.models import AccessLog

    # Not in the admin, on purpose: only the privacy officer reads the access log
    # (/privacy/access-log/), and an admin page would let every superuser read it.
    not_in_admin = {AccessLog}
    assert AccessLog not in admin.site._registry
    case = CaseFactory()
    for app_label in ("cases", "conversations", "transfers", "notifications", "deadlines"):
        for model in apps.get_app_config(app_label).get_models():
            if model in not_in_admin:
                continue
            assert model in admin.site._registry, model
            opts = model._meta
            changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
            assert admin_client.get(changelist).status_code == 200, changelist
    assert admin_client.get(reverse("admin:cases_case_change", args=[case.pk])).status_code == 200
    assert admin_client.get(reverse("admin:cases_user_add")).status_code == 200
    event = case.events.first() or None
    assert admin_client.get(reverse("admin:cases_caseevent_add")).status_code == 403
    if event is not None:
        url = reverse("admin:cases_caseevent_delete", args=[event.pk])
        assert admin_client.get(url).status_code == 403
