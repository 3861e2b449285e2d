"""The ISOP owner's queue of advice requests and the office's worklist of change requests."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from cases.models import State, TrainingSchool
from deadlines.models import DeadlineRule, SchoolHoliday
from office.selectors import office_worklist
from tests.cases.factories import CaseFactory, PlacementFactory, TrainingSchoolFactory, UserFactory
from tests.conversations.factories import ConversationFactory
from tests.transfers.factories import (
    ChangeRequestFactory,
    IsopAdviceFactory,
    OutcomeReportFactory,
    PositionFactory,
    StopFactory,
)
from transfers.models import Position

pytestmark = pytest.mark.django_db

QUEUE = reverse("office:isop_queue")
WORKLIST = reverse("office:worklist")
AMS = ZoneInfo("Europe/Amsterdam")


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("url", [QUEUE, WORKLIST])
def test_anonymous_visitors_go_to_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


# --------------------------------------------------------------------------------------------
# The ISOP owner's queue
# --------------------------------------------------------------------------------------------


def awaiting_advice(question: str = "Blijven of wisselen?"):
    """A case in isop_advice with a held all-party conversation, differing positions and an
    open advice request, as outcome_report leaves it."""
    case = CaseFactory(isop_advice=True)
    ConversationFactory(case=case, change=True, held=True, invite=True, answered=True)
    report = OutcomeReportFactory(case=case, opinions_differ=True, note="De school twijfelt.")
    placement = case.placement
    PositionFactory(report=report, person=placement.student, role="student", disagrees=True)
    PositionFactory(report=report, person=placement.school_trainer, role="school_trainer")
    PositionFactory(report=report, person=placement.study_coach, role="study_coach", abstains=True)
    IsopAdviceFactory(case=case, question=question)
    return case


class TestIsopQueue:
    @pytest.mark.parametrize("who", ["office", "school_trainer", "student", "unrelated"])
    def test_it_is_for_the_isop_owner_only(self, client, who):
        case = awaiting_advice()
        user = {
            "office": UserFactory(office=True),
            "school_trainer": case.placement.school_trainer,
            "student": case.placement.student,
            "unrelated": UserFactory(),
        }[who]
        client.force_login(user)
        assert client.get(QUEUE).status_code == 403

    def test_it_shows_the_digest_and_links_to_the_advice_form(self, client):
        case = awaiting_advice("Moet de student wisselen?")
        client.force_login(UserFactory(isop_owner=True))
        response = client.get(QUEUE)
        assert response.status_code == 200
        content = response.content.decode()
        conversation = case.conversations.get()
        for answer in (
            conversation.problem,
            conversation.what_was_done,
            conversation.when_it_goes_well,
            conversation.student_needs,
            conversation.school_offers,
        ):
            assert escape(answer) in content
        assert "Moet de student wisselen?" in content
        assert "De school twijfelt." in content
        # Opinions differ visibly: one position per participant, with its stance.
        for stance in Position.Stance.values:
            assert f"stance-{stance}" in content
        assert escape(str(case.placement.student)) in content
        assert reverse("transfers:advice", args=[case.pk]) in content

    def test_answered_and_withdrawn_requests_are_not_in_the_queue(self, client):
        waiting = awaiting_advice()
        IsopAdviceFactory(given=True)  # answered
        withdrawn = CaseFactory(state=State.CLOSED_WITHDRAWN)
        IsopAdviceFactory(case=withdrawn)
        client.force_login(UserFactory(isop_owner=True))
        digests = client.get(QUEUE).context["digests"]
        assert [d.case for d in digests] == [waiting]

    def test_an_empty_queue_says_so(self, client):
        client.force_login(UserFactory(isop_owner=True))
        response = client.get(QUEUE)
        assert response.status_code == 200
        assert response.context["digests"] == []

    def test_it_needs_the_same_number_of_queries_for_1_and_5_requests(
        self, client, django_assert_num_queries
    ):
        awaiting_advice()
        client.force_login(UserFactory(isop_owner=True))
        one = count_queries(client, QUEUE)
        for _ in range(4):
            awaiting_advice()
        with django_assert_num_queries(one):
            response = client.get(QUEUE)
        assert len(response.context["digests"]) == 5

    def test_the_nav_shows_the_queue_to_the_isop_owner_only(self, client):
        client.force_login(UserFactory(isop_owner=True))
        assert QUEUE in client.get(reverse("cases:my_cases")).content.decode()
        client.force_login(UserFactory(office=True))
        assert QUEUE not in client.get(reverse("cases:my_cases")).content.decode()


# --------------------------------------------------------------------------------------------
# The office's worklist
# --------------------------------------------------------------------------------------------

MONDAY = dt.date(2025, 3, 3)


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=AMS)


def in_state(state: str, since: dt.date, **placement):
    case = CaseFactory(state=state, placement=PlacementFactory(**placement))
    case.state_changed_at = at(since)
    case.save(update_fields=["state_changed_at"])
    return case


def rows_by_group(today: dt.date) -> dict[str, list]:
    return {g.key: g.rows for g in office_worklist(today)}


class TestWorklistSelector:
    def test_every_step_has_its_group_and_other_states_are_left_out(self):
        expected = {
            State.CHANGE_REQUESTED: "office_contact",
            State.OFFICE_INFORMED: "conversation",
            State.CHANGE_CONVERSATION_PLANNED: "conversation",
            State.CHANGE_CONVERSATION_INCOMPLETE: "conversation",
            State.OUTCOME_PENDING: "outcome",
            State.ISOP_ADVICE: "isop_advice",
            State.DECISION_PENDING: "decision",
            State.TRANSFER_REQUESTED: "placement",
            State.HANDOVER: "handover",
            State.STOPPED: "stopped",
        }
        cases = {state: in_state(state, MONDAY) for state in expected}
        for state in (State.SIGNALLED, State.IMPROVING, State.CLOSED_TRANSFERRED):
            in_state(state, MONDAY)
        groups = rows_by_group(MONDAY + dt.timedelta(days=7))
        assert list(groups) == [
            "office_contact",
            "conversation",
            "outcome",
            "isop_advice",
            "decision",
            "placement",
            "handover",
            "stopped",
        ]
        for state, key in expected.items():
            assert cases[state] in [r.case for r in groups[key]], state
        assert sum(len(rows) for rows in groups.values()) == len(expected)

    def test_waiting_counts_working_days_of_the_schools_region(self):
        middle = in_state(State.OUTCOME_PENDING, MONDAY)
        north = in_state(
            State.OUTCOME_PENDING,
            MONDAY,
            school=TrainingSchoolFactory(region=TrainingSchool.Region.NORTH),
        )
        SchoolHoliday.objects.create(
            region=TrainingSchool.Region.MIDDLE,
            name="Voorjaarsvakantie",
            start_date=MONDAY + dt.timedelta(days=1),
            end_date=MONDAY + dt.timedelta(days=2),
        )
        rows = {r.case: r for r in rows_by_group(MONDAY + dt.timedelta(days=7))["outcome"]}
        # Tue..Fri and the next Monday: 5 working days; the middle region's holiday takes 2.
        assert rows[north].waiting == 5
        assert rows[middle].waiting == 3

    def test_public_holidays_do_not_count(self):
        # Ascension Day 2025 is Thursday 29 May.
        case = in_state(State.TRANSFER_REQUESTED, dt.date(2025, 5, 26))
        (row,) = rows_by_group(dt.date(2025, 6, 2))["placement"]
        assert row.case == case
        assert row.waiting == 4

    def test_overdue_follows_the_deadline_rules(self):
        # Awaiting contact with the office escalates after 3 working days.
        late = in_state(State.CHANGE_REQUESTED, MONDAY)
        fresh = in_state(State.CHANGE_REQUESTED, MONDAY + dt.timedelta(days=2))
        rows = {r.case: r for r in rows_by_group(MONDAY + dt.timedelta(days=3))["office_contact"]}
        assert (rows[late].waiting, rows[late].overdue) == (3, True)
        assert (rows[fresh].waiting, rows[fresh].overdue) == (1, False)
        DeadlineRule.objects.update_or_create(
            key="office_contact", defaults={"remind_after": 2, "escalate_after": 10}
        )
        rows = {r.case: r for r in rows_by_group(MONDAY + dt.timedelta(days=3))["office_contact"]}
        assert rows[late].overdue is False

    def test_the_all_party_conversation_is_counted_from_the_contact_with_the_office(self):
        informed_on = MONDAY
        planned = in_state(State.CHANGE_CONVERSATION_PLANNED, MONDAY + dt.timedelta(days=14))
        ChangeRequestFactory(case=planned, office_informed=True, office_informed_at=at(informed_on))
        not_planned = in_state(State.OFFICE_INFORMED, MONDAY)
        ChangeRequestFactory(
            case=not_planned, office_informed=True, office_informed_at=at(informed_on)
        )
        # Three weeks later: 15 working days since the contact.
        rows = {r.case: r for r in rows_by_group(MONDAY + dt.timedelta(days=21))["conversation"]}
        assert rows[planned].since == at(informed_on)
        assert rows[planned].waiting == 15
        assert rows[planned].overdue  # not held within 15 working days
        assert rows[not_planned].overdue  # not planned within 5
        rows = {r.case: r for r in rows_by_group(MONDAY + dt.timedelta(days=7))["conversation"]}
        assert rows[planned].waiting == 5
        assert not rows[planned].overdue  # planned, and 15 have not passed
        assert rows[not_planned].overdue

    def test_the_longest_waiting_comes_first(self):
        newer = in_state(State.ISOP_ADVICE, MONDAY + dt.timedelta(days=1))
        older = in_state(State.ISOP_ADVICE, MONDAY)
        rows = rows_by_group(MONDAY + dt.timedelta(days=7))["isop_advice"]
        assert [r.case for r in rows] == [older, newer]


class TestWorklistPage:
    @pytest.mark.parametrize("who", ["isop_owner", "school_trainer", "unrelated"])
    def test_it_is_for_the_office_only(self, client, who):
        case = CaseFactory(change_requested=True)
        user = {
            "isop_owner": UserFactory(isop_owner=True),
            "school_trainer": case.placement.school_trainer,
            "unrelated": UserFactory(),
        }[who]
        client.force_login(user)
        assert client.get(WORKLIST).status_code == 403

    def test_it_lists_each_case_with_its_request_and_a_link(self, client):
        case = CaseFactory(change_requested=True)
        ChangeRequestFactory(case=case, reason="Onveilig in de klas.")
        stopped = CaseFactory(stopped=True)
        stop = StopFactory(case=stopped, is_temporary=True)
        client.force_login(UserFactory(office=True))
        response = client.get(WORKLIST)
        assert response.status_code == 200
        content = response.content.decode()
        assert case.get_absolute_url() in content
        assert stopped.get_absolute_url() in content
        assert escape(str(case.placement.student)) in content
        groups = {g.key: g for g in response.context["groups"]}
        (row,) = groups["office_contact"].rows
        assert row.request.case == case
        (stopped_row,) = groups["stopped"].rows
        assert stopped_row.stop == stop
        assert response.context["total"] == 2

    def test_it_needs_the_same_number_of_queries_for_1_and_5_cases(
        self, client, django_assert_num_queries
    ):
        first = CaseFactory(change_requested=True)
        ChangeRequestFactory(case=first)
        client.force_login(UserFactory(office=True))
        one = count_queries(client, WORKLIST)
        for state in ("office_informed", "isop_advice", "handover", "stopped"):
            case = CaseFactory(**{state: True})
            ChangeRequestFactory(case=case, office_informed=True)
            if state == "stopped":
                StopFactory(case=case, is_temporary=True)
        with django_assert_num_queries(one):
            response = client.get(WORKLIST)
        assert response.context["total"] == 5

    def test_the_nav_shows_the_worklist_to_the_office_only(self, client):
        client.force_login(UserFactory(office=True))
        assert WORKLIST in client.get(reverse("cases:my_cases")).content.decode()
        client.force_login(UserFactory(isop_owner=True))
        assert WORKLIST not in client.get(reverse("cases:my_cases")).content.decode()
