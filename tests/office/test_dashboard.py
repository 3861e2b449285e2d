"""The internship office's pages: dashboard, case list, exports, pictures, steering report."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from cases.models import Case, Category, Role, State
from deadlines import monitoring
from deadlines.models import DeadlineRule
from notifications.models import Notification
from office import selectors, views
from office.selectors import report_data
from tests.cases.factories import (
    CaseFactory,
    PlacementFactory,
    TrainingSchoolFactory,
    UserFactory,
)
from tests.conversations.factories import ConversationFactory
from tests.notifications.factories import NotificationFactory

pytestmark = pytest.mark.django_db

AMS = dt.timezone(dt.timedelta(hours=1))
TODAY = dt.datetime(2026, 11, 25, 10, tzinfo=AMS)  # a Wednesday
OFFICE_URLS = [
    reverse("office:dashboard"),
    reverse("office:office_list"),
    reverse("office:office_list") + "?overdue=1&state=open&sort=waiting",
    reverse("office:office_list") + "?q=Jansen&category=wellbeing&signalled_from=2026-01-01",
    reverse("office:office_export", args=["csv"]),
    reverse("office:office_export", args=["xlsx"]),
    reverse("office:report"),
    reverse("office:steering_report", args=["csv"]),
    reverse("office:steering_report", args=["html"]),
]


@pytest.fixture
def office(client):
    user = UserFactory(office=True)
    client.force_login(user)
    return user


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(TODAY, tick=False):
        yield


def ago(days: int) -> dt.datetime:
    return TODAY - dt.timedelta(days=days)


def fetch(client, url: str):
    response = client.get(url)
    if response.streaming:
        response.body = b"".join(response.streaming_content)
    else:
        response.body = response.content
    return response


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = fetch(client, url)
    assert response.status_code == 200, url
    return len(ctx)


def make_cases(n: int, school=None) -> list:
    """n cases spread over the states, the schools' regions and the deadline rules."""
    states = [
        State.SIGNALLED,
        State.OFFICE_INFORMED,
        State.CHANGE_CONVERSATION_PLANNED,
        State.OUTCOME_PENDING,
        State.IMPROVING,
        State.CLOSED_RESOLVED,
    ]
    cases = []
    for i in range(n):
        kwargs = {"placement__school": school} if school else {}
        case = CaseFactory(
            state=states[i % len(states)],
            state_changed_at=ago(3 + i % 20),
            signalled_at=ago(30 + i),
            categories=[Category.WELLBEING, Category.OTHER],
            # Every other student is a Jansen: the searched list is never empty, whatever
            # names the factory makes up for the others.
            **({"placement__student__last_name": "Jansen"} if i % 2 == 0 else {}),
            **kwargs,
        )
        if case.state == State.CHANGE_CONVERSATION_PLANNED:
            ConversationFactory(case=case, change=True, starts_at=ago(1))
        if case.state == State.CLOSED_RESOLVED:
            Case.objects.filter(pk=case.pk).update(closed_at=ago(i % 40))
        NotificationFactory(case=case, status=Notification.Status.FAILED, last_error="550")
        cases.append(case)
    return cases


# --- access ----------------------------------------------------------------------------------


class TestAccess:
    @pytest.mark.parametrize("url", OFFICE_URLS)
    def test_it_is_forbidden_for_everyone_but_the_office(self, client, url):
        case = CaseFactory()
        client.force_login(case.placement.school_trainer)
        assert client.get(url).status_code == 403

    @pytest.mark.parametrize("url", OFFICE_URLS)
    def test_it_asks_to_log_in(self, client, url):
        response = client.get(url)
        assert response.status_code == 302
        assert reverse("login") in response.url

    @pytest.mark.parametrize("url", OFFICE_URLS)
    def test_it_serves_the_office(self, client, office, url):
        make_cases(3)
        assert fetch(client, url).status_code == 200

    def test_the_office_has_a_dashboard_link(self, client, office):
        content = client.get(reverse("cases:my_cases")).content.decode()
        assert reverse("office:dashboard") in content

    def test_others_have_no_dashboard_link(self, client):
        client.force_login(UserFactory())
        content = client.get(reverse("cases:my_cases")).content.decode()
        assert reverse("office:dashboard") not in content

    def test_an_unknown_format_is_404(self, client, office):
        assert client.get("/cases/office/cases/export.pdf").status_code == 404
        assert client.get("/cases/office/steering-report.pdf").status_code == 404


# --- query counts: the same with 1 and with 50 cases in scope --------------------------------


class TestQueryCounts:
    @pytest.mark.parametrize("url", OFFICE_URLS)
    def test_it_needs_the_same_number_of_queries_for_1_and_50_cases(self, client, office, url):
        school = TrainingSchoolFactory()
        make_cases(1, school=school)
        one = count_queries(client, url)
        make_cases(49, school=school)
        assert count_queries(client, url) == one
        assert one <= 12, f"{url}: {one} queries"

    def test_the_dashboard_shows_what_the_50_cases_need(self, client, office):
        make_cases(50)
        response = client.get(reverse("office:dashboard"))
        steps = response.context["steps"]
        assert len(steps) > 25
        assert [s.urgency for s in steps] == sorted(s.urgency for s in steps)
        assert response.context["failed_total"] == 50
        assert response.context["open_total"] == 50 - 50 // 6


# --- dashboard -------------------------------------------------------------------------------


class TestDashboard:
    def test_it_counts_open_cases_per_state(self, client, office):
        CaseFactory.create_batch(2, state=State.SIGNALLED)
        CaseFactory(state=State.HANDOVER)
        CaseFactory(state=State.CLOSED_RESOLVED)
        response = client.get(reverse("office:dashboard"))
        counts = {row["state"]: row["count"] for row in response.context["state_rows"]}
        assert counts[State.SIGNALLED] == 2
        assert counts[State.HANDOVER] == 1
        assert State.CLOSED_RESOLVED not in counts
        assert response.context["open_total"] == 3

    def test_it_lists_all_party_conversations_not_planned_and_not_held(self, client, office):
        waiting = CaseFactory(state=State.OFFICE_INFORMED, state_changed_at=ago(9))
        fresh = CaseFactory(state=State.OFFICE_INFORMED, state_changed_at=ago(1))
        planned = CaseFactory(state=State.CHANGE_CONVERSATION_PLANNED, state_changed_at=ago(2))
        ConversationFactory(case=planned, change=True, starts_at=TODAY + dt.timedelta(days=2))
        response = client.get(reverse("office:dashboard"))
        not_planned, not_held, without_everyone = response.context["monitoring"]
        assert without_everyone["rows"] == []
        assert [r["case"] for r in not_planned["rows"]] == [waiting, fresh]
        # 16 Nov (Mon) .. 25 Nov (Wed): 7 working days, past the 5 of the deadline table.
        assert not_planned["rows"][0]["waiting"] == 7
        assert not_planned["rows"][0]["late"] is True
        assert not_planned["rows"][1]["late"] is False
        assert [r["case"] for r in not_held["rows"]] == [planned]
        assert not_held["rows"][0]["conversation_at"] is not None

    def test_it_lists_overdue_steps_most_urgent_first_with_who_is_responsible(self, client, office):
        later = CaseFactory(state=State.SIGNALLED, state_changed_at=ago(6))
        earlier = CaseFactory(state=State.SIGNALLED, state_changed_at=ago(13))
        soon = CaseFactory(state=State.CHANGE_REQUESTED, state_changed_at=ago(1))
        CaseFactory(state=State.SIGNALLED, state_changed_at=ago(0))  # not due yet
        response = client.get(reverse("office:dashboard"))
        steps = response.context["steps"]
        assert [s.case_id for s in steps] == [earlier.pk, later.pk, soon.pk]
        first = steps[0]
        assert first.rule.key == "first_conversation"
        assert first.status == monitoring.ESCALATED
        trainer, coach = earlier.placement.school_trainer, earlier.placement.study_coach
        assert first.responsible == [str(trainer), str(coach)]
        assert steps[1].status == monitoring.OVERDUE
        assert steps[2].status == monitoring.DUE_SOON
        content = response.content.decode()
        assert earlier.number in content

    def test_the_deadline_list_follows_the_configured_rules(self, client, office):
        CaseFactory(state=State.SIGNALLED, state_changed_at=ago(6))
        DeadlineRule.objects.update_or_create(
            key="first_conversation", defaults={"remind_after": 10, "escalate_after": 12}
        )
        assert client.get(reverse("office:dashboard")).context["steps"] == []
        DeadlineRule.objects.filter(key="first_conversation").update(remind_after=3, active=False)
        assert client.get(reverse("office:dashboard")).context["steps"] == []

    def test_the_office_is_responsible_where_nobody_is_reminded(self, client, office):
        CaseFactory(state=State.OFFICE_INFORMED, state_changed_at=ago(10))
        steps = client.get(reverse("office:dashboard")).context["steps"]
        assert steps[0].rule.key == "change_conversation_planned"
        assert steps[0].responsible == [str(Role.OFFICE.label)]

    def test_it_shows_failed_notifications(self, client, office):
        failed = NotificationFactory(status=Notification.Status.FAILED, last_error="mailbox full")
        NotificationFactory(status=Notification.Status.SENT)
        response = client.get(reverse("office:dashboard"))
        assert response.context["failed"] == [failed]
        assert response.context["failed_total"] == 1
        assert "mailbox full" in response.content.decode()


# --- the case list ---------------------------------------------------------------------------


class TestOfficeList:
    def test_it_filters_by_state_school_board_coach_trainer_and_category(self, client, office):
        school = TrainingSchoolFactory()
        coach = UserFactory(first_name="Anouk", last_name="Jacobs")
        # A surname no random trainer has ("Berg" was in "van den Berg" of the other case's).
        trainer = UserFactory(first_name="Hans", last_name="Qwerghorst")
        placement = PlacementFactory(school=school, study_coach=coach, school_trainer=trainer)
        hit = CaseFactory(
            placement=placement, state=State.IMPROVING, categories=[Category.CLASSROOM]
        )
        CaseFactory(state=State.IMPROVING, categories=[Category.CLASSROOM])
        # Not the factory's random categories: one of them may be "classroom" too.
        CaseFactory(placement=placement, state=State.SIGNALLED, categories=[Category.WELLBEING])
        url = reverse("office:office_list")
        for query in (
            f"?state=improving&school={school.pk}",
            f"?state=improving&board={school.board_id}",
            "?state=improving&study_coach=anouk jacobs",
            "?state=open&school_trainer=Qwerghorst&category=classroom",
        ):
            assert list(client.get(url + query).context["cases"]) == [hit], query

    def test_it_searches_by_student_name_number_and_case_number(self, client, office):
        case = CaseFactory(
            placement__student__first_name="Daan",
            placement__student__last_name="Jansen",
            placement__student__student_number="1234567",
        )
        CaseFactory(placement__student__last_name="Visser")
        url = reverse("office:office_list")
        for q in ("jansen", "Daan Jansen", "1234567", case.number):
            assert list(client.get(url, {"q": q}).context["cases"]) == [case], q

    def test_it_filters_by_period_and_overdue(self, client, office):
        old = CaseFactory(signalled_at=ago(100), state_changed_at=ago(100))
        new = CaseFactory(signalled_at=ago(2), state_changed_at=ago(2))
        url = reverse("office:office_list")
        start = (TODAY - dt.timedelta(days=10)).date().isoformat()
        assert list(client.get(url, {"signalled_from": start}).context["cases"]) == [new]
        assert list(client.get(url, {"signalled_to": start}).context["cases"]) == [old]
        assert list(client.get(url, {"overdue": "1"}).context["cases"]) == [old]

    def test_it_sorts_and_paginates(self, client, office):
        cases = [CaseFactory(signalled_at=ago(i), state_changed_at=ago(60 - i)) for i in range(55)]
        url = reverse("office:office_list")
        page1 = client.get(url).context["page"]
        assert page1.paginator.count == 55
        assert list(page1.object_list)[0] == cases[0]
        page2 = client.get(url, {"page": 2, "sort": "signalled"}).context["page"]
        assert list(page2.object_list) == [cases[4], cases[3], cases[2], cases[1], cases[0]]
        waiting = client.get(url, {"sort": "waiting"}).context["cases"]
        assert list(waiting)[0] == cases[0]

    def test_the_overdue_list_counts_at_most_the_cap(self, client, office, monkeypatch):
        monkeypatch.setattr(views, "COUNT_CAP", 2)
        for _ in range(3):
            CaseFactory(signalled_at=ago(100), state_changed_at=ago(100))
        url = reverse("office:office_list")
        response = client.get(url, {"overdue": "1", "sort": "waiting"})
        page = response.context["page"]
        assert page.paginator.capped and page.paginator.count == 3
        assert "Meer dan 2 casussen" in response.content.decode()
        assert ">Laatste<" not in response.content.decode()
        # Every list counts at most the cap (without walking the longest-waiting first).
        capped = client.get(url).context["page"].paginator
        assert capped.capped and capped.count == 3
        monkeypatch.setattr(views, "COUNT_CAP", 3)
        exact = client.get(url).context["page"].paginator
        assert not exact.capped and exact.count == 3

    def test_a_case_number_goes_straight_to_its_row(self, client, office):
        case = CaseFactory(placement__student__student_number="7654321")
        CaseFactory(placement__student__student_number=str(case.pk))
        url = reverse("office:office_list")
        plain = count_queries(client, url)
        for q in (case.number, case.number.lower(), case.number.replace("-", "")):
            with CaptureQueriesContext(connection) as ctx:
                found = list(client.get(url, {"q": q}).context["cases"])
            assert found == [case], q
            assert len(ctx) == plain, q  # no lookup of people first

    def test_digits_are_a_case_number_or_a_student_number(self, client, office):
        first = CaseFactory(placement__student__student_number="1")
        other = CaseFactory(placement__student__student_number=str(first.pk + 5))
        url = reverse("office:office_list")
        assert set(client.get(url, {"q": str(first.pk)}).context["cases"]) == {first}
        assert set(client.get(url, {"q": "1"}).context["cases"]) >= {first}
        found = set(client.get(url, {"q": str(first.pk + 5)}).context["cases"])
        assert other in found
        assert set(client.get(url, {"q": "0" * 12 + "1"}).context["cases"]) == set()

    def test_a_name_search_costs_one_query_more_whatever_it_finds(self, client, office):
        url = reverse("office:office_list")
        CaseFactory(placement__student__last_name="Bakker")
        plain = count_queries(client, url)
        one = count_queries(client, url + "?q=bakker")
        for _ in range(4):
            CaseFactory(placement__student__last_name="Bakker")
        assert count_queries(client, url + "?q=bakker") == one == plain + 1
        assert len(client.get(url, {"q": "Bakk"}).context["cases"]) == 5

    def test_a_search_matching_many_people_is_left_to_the_database(
        self, client, office, monkeypatch
    ):
        monkeypatch.setattr(selectors, "SEARCH_STUDENTS", 2)
        cases = [CaseFactory(placement__student__last_name="de Vries") for _ in range(4)]
        CaseFactory(placement__student__last_name="Smit")
        found = client.get(reverse("office:office_list"), {"q": "vries"}).context["cases"]
        assert set(found) == set(cases)

    def test_rows_carry_the_labels_and_dates(self, client, office):
        case = CaseFactory(state=State.IMPROVING, categories=[Category.CLASSROOM])
        row = client.get(reverse("office:office_list")).context["rows"][0]
        assert row["case"] == case and row["url"] == case.get_absolute_url()
        assert row["state_label"] == str(State.IMPROVING.label)
        assert row["categories"] == [str(Category.CLASSROOM.label)]
        assert row["signalled"]["iso"].startswith(
            timezone.localtime(case.signalled_at).date().isoformat()
        )

    def test_a_period_backwards_is_an_error_not_a_500(self, client, office):
        CaseFactory()
        response = client.get(
            reverse("office:office_list"),
            {"signalled_from": "2026-05-01", "signalled_to": "2026-04-01"},
        )
        assert response.status_code == 200
        assert response.context["form"].errors

    @pytest.mark.parametrize("fmt", ["csv", "xlsx"])
    def test_an_export_with_a_filter_not_understood_exports_nothing(self, client, office, fmt):
        CaseFactory()
        query = {"state": "closed", "signalled_to": "9999-12-31"}
        response = client.get(reverse("office:office_export", args=[fmt]), query)
        assert response.status_code == 302  # to the list, which says what is wrong
        page = client.get(response["Location"])
        assert "Kies een datum tussen 01-01-2000 en 31-12-2099." in page.content.decode()

    def test_it_exports_the_filtered_list_to_csv(self, client, office):
        hit = CaseFactory(placement__student__last_name="Jansen", state=State.IMPROVING)
        CaseFactory(state=State.SIGNALLED)
        response = fetch(client, reverse("office:office_export", args=["csv"]) + "?state=improving")
        assert response["Content-Type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(response.body.decode("utf-8-sig"))))
        assert len(rows) == 2
        assert rows[1][0] == hit.number
        assert "Jansen" in rows[1][1]

    def test_it_exports_the_filtered_list_to_xlsx(self, client, office):
        CaseFactory.create_batch(3, state=State.IMPROVING)
        CaseFactory(state=State.SIGNALLED)
        url = reverse("office:office_export", args=["xlsx"])
        response = fetch(client, url + "?state=improving")
        sheet = load_workbook(io.BytesIO(response.body)).active
        rows = list(sheet.iter_rows(values_only=True))
        assert len(rows) == 4
        assert isinstance(rows[1][9], dt.datetime)


# --- pictures and the steering group's report ------------------------------------------------


class TestReport:
    def test_it_draws_accessible_svg_charts_with_data_tables(self, client, office):
        make_cases(12)
        content = client.get(reverse("office:report")).content.decode()
        assert content.count('<svg class="chart"') == 4
        assert 'role="img"' in content
        assert "<title" in content and "<desc" in content
        assert content.count("<table") >= 4

    def test_it_counts_signals_outcomes_and_open_cases_per_month(self, client, office):
        with time_machine.travel(dt.datetime(2026, 9, 10, 10, tzinfo=AMS), tick=False):
            CaseFactory()
            resolved = CaseFactory()
        Case.objects.filter(pk=resolved.pk).update(state=State.CLOSED_RESOLVED, closed_at=ago(10))
        CaseFactory()  # November
        data = report_data(dt.date(2026, 9, 1), dt.date(2026, 11, 30))
        sep, oct_, nov = data["months"]
        assert data["signalled"] == {sep: 2, oct_: 0, nov: 1}
        assert data["closed"][nov][State.CLOSED_RESOLVED] == 1
        assert data["open_end"] == {sep: 2, oct_: 2, nov: 2}

    def test_it_measures_the_time_to_the_first_conversation(self):
        case = CaseFactory(signalled_at=ago(20))
        ConversationFactory(case=case, starts_at=ago(15))
        ConversationFactory(case=case, starts_at=ago(2))
        data = report_data(dt.date(2026, 10, 1), dt.date(2026, 11, 30))
        counts = dict(data["waits"])
        assert sum(counts.values()) == 1
        assert list(counts.values())[1] == 1  # 4 to 7 days

    def test_the_steering_report_has_counts_only_and_hides_small_numbers(self, client, office):
        cases = make_cases(7)
        response = fetch(client, reverse("office:steering_report", args=["html"]))
        assert response["Content-Disposition"].startswith("attachment")
        content = response.body.decode()
        for case in cases:
            assert case.placement.student.last_name not in content
            assert case.number not in content
        assert "&lt;5" in content
        csv_body = fetch(client, reverse("office:steering_report", args=["csv"])).body
        rows = list(csv.reader(io.StringIO(csv_body.decode("utf-8-sig"))))
        assert any("<5" in row for row in rows)
        for case in cases:
            assert case.placement.student.last_name not in csv_body.decode("utf-8-sig")

    @pytest.mark.parametrize(
        "query",
        [
            {"start": "0001-01-01", "end": "9999-12-31"},
            {"start": "0001-01-01"},
            {"end": "9999-12-31"},
            {"start": "1999-12-31", "end": "2000-01-31"},
            {"start": "2000-01-01", "end": "2026-11-30"},  # in range, but 27 years
        ],
    )
    def test_an_extreme_period_is_a_message_not_a_500(self, client, office, query):
        make_cases(3)
        response = client.get(reverse("office:report"), query)
        assert response.status_code == 200
        html = response.content.decode()
        assert ("Kies een datum tussen 01-01-2000 en 31-12-2099." in html) or (
            "Kies een periode van hoogstens 5 jaar." in html
        )
        assert "De grafieken tonen de standaardperiode." in html
        assert len(response.context["charts"][0].rows) == 12  # the default period's months
        for fmt in ("csv", "html"):
            download = client.get(reverse("office:steering_report", args=[fmt]), query)
            assert download.status_code == 302
            assert download["Location"].startswith(reverse("office:report") + "?")
            assert client.get(download["Location"]).context["form"].errors

    def test_a_period_of_five_years_is_shown_month_by_month(self, client, office):
        make_cases(3)
        query = {"start": "2021-12-01", "end": "2026-11-30"}
        response = client.get(reverse("office:report"), query)
        assert not response.context["form"].errors
        assert len(response.context["charts"][0].rows) == 60
        download = client.get(reverse("office:steering_report", args=["csv"]), query)
        assert download.status_code == 200
        longer = client.get(reverse("office:report"), {**query, "start": "2021-11-30"})
        assert "Kies een periode van hoogstens 5 jaar." in longer.content.decode()

    def test_it_works_without_cases(self, client, office):
        assert client.get(reverse("office:report")).status_code == 200
        today = timezone.localdate()
        assert client.get(reverse("office:report"), {"end": today.isoformat()}).status_code == 200
