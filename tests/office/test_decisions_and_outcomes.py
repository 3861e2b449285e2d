"""Issue #12 on the office's pages: the steering report counts the ISOP advice and how often the
office's decision followed it (item 3); a resumed internship is counted apart from a stop on
the dashboard and in the report (item 7); the all-party conversation held without everyone is
on the monitor (item 4)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from cases.models import State
from office.selectors import report_data, steering_rows
from tests.cases.factories import CaseFactory, UserFactory
from tests.transfers.factories import IsopAdviceFactory
from transfers.models import OfficeDecision

pytestmark = pytest.mark.django_db

AMS = dt.timezone(dt.timedelta(hours=1))
NOW = dt.datetime(2026, 11, 25, 10, tzinfo=AMS)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def office(client):
    user = UserFactory(office=True)
    client.force_login(user)
    return user


def decided(office, advice: str, decision: str):
    case = CaseFactory(state=State.TRANSFER_REQUESTED)
    given = IsopAdviceFactory(
        case=case, given=True, decision=advice, given_at=NOW - dt.timedelta(days=3)
    )
    OfficeDecision.objects.create(case=case, advice=given, decision=decision, decided_by=office)


def test_the_report_counts_advice_and_how_often_the_decision_followed_it(office):
    for _i in range(5):
        decided(office, "transfer", "transfer")
    for _i in range(6):
        decided(office, "stop", "transfer")
    IsopAdviceFactory(case=CaseFactory(isop_advice=True), given=True, given_at=NOW)  # undecided
    data = report_data(NOW.date() - dt.timedelta(days=30), NOW.date())
    assert data["advice"] == {"given": 12, "decided": 11, "followed": 5, "departed": 6}
    rows = dict(steering_rows(data)["advice"])
    assert list(rows.values()) == [12, 11, 5, 6]


def test_small_advice_counts_are_hidden_in_the_steering_report(client, office):
    decided(office, "transfer", "stop")
    response = client.get(reverse("office:steering_report", args=["html"]))
    content = b"".join(response.streaming_content) if response.streaming else response.content
    assert "&lt;5" in content.decode()
    csv = client.get(reverse("office:steering_report", args=["csv"])).content.decode()
    assert "ISOP" in csv


def test_resumed_is_counted_apart_from_stopped_on_the_dashboard(client, office):
    for state, n in ((State.CLOSED_STOPPED, 2), (State.CLOSED_RESUMED, 3)):
        for _i in range(n):
            CaseFactory(state=state, closed_at=timezone.now() - dt.timedelta(days=2))
    CaseFactory(state=State.CLOSED_RESUMED, closed_at=timezone.now() - dt.timedelta(days=60))
    response = client.get(reverse("office:dashboard"))
    closed = {row["state"]: row["count"] for row in response.context["closed_rows"]}
    assert (closed[State.CLOSED_STOPPED], closed[State.CLOSED_RESUMED]) == (2, 3)
    data = report_data(NOW.date() - dt.timedelta(days=30), NOW.date())
    month = data["months"][-1]
    assert data["closed"][month][State.CLOSED_RESUMED] == 3


def test_the_monitor_shows_the_conversation_held_without_everyone(client, office):
    case = CaseFactory(
        state=State.CHANGE_CONVERSATION_INCOMPLETE, state_changed_at=NOW - dt.timedelta(days=8)
    )
    response = client.get(reverse("office:dashboard"))
    blocks = response.context["monitoring"]
    incomplete = blocks[2]
    assert [row["case"] for row in incomplete["rows"]] == [case]
    assert incomplete["rows"][0]["late"] is True
