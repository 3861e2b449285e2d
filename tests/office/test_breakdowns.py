"""The dashboard and the steering report break down by programme, study year, board, category."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from office.selectors import BREAKDOWN_CACHE_KEY, breakdowns
from tests.cases.factories import CaseFactory, PlacementFactory, UserFactory

pytestmark = pytest.mark.django_db


def table(result, key):
    return {r["name"]: r for r in next(t for t in result if t["key"] == key)["rows"]}


def test_it_counts_open_and_signalled_cases_per_dimension():
    lio = PlacementFactory(programme="Leraar Wiskunde deeltijd", study_year=4)
    CaseFactory(placement=lio)
    CaseFactory(placement=PlacementFactory(programme="Leraar Wiskunde deeltijd", study_year=2))
    CaseFactory(placement=PlacementFactory(), closed_resolved=True)
    today = timezone.localdate()
    result = breakdowns(today - dt.timedelta(days=1), today)
    programmes = table(result, "programme")
    assert programmes["Leraar Wiskunde deeltijd"]["open_now"] == 2
    assert programmes["Leraar Wiskunde deeltijd"]["signalled"] == 2
    years = table(result, "study_year")
    assert years["jaar 4"]["open_now"] == 1 or years["year 4"]["open_now"] == 1
    boards = table(result, "board")
    assert boards[lio.school.board.name]["open_now"] >= 1
    assert sum(r["signalled"] for r in table(result, "category").values()) >= 3


def test_the_dashboard_and_the_steering_report_show_them(client):
    CaseFactory(placement=PlacementFactory(programme="Leraar Aardrijkskunde voltijd"))
    client.force_login(UserFactory(office=True))
    html = client.get(reverse("office:dashboard")).content.decode()
    assert "breakdown-programme" in html and "Leraar Aardrijkskunde voltijd" in html
    report = client.get(reverse("office:steering_report", args=["csv"])).content.decode()
    assert "Per programme" in report or "Per opleiding" in report


@pytest.fixture
def cached(settings):
    """The dashboard's cache as in production (60 s), empty at the start."""
    settings.DASHBOARD_BREAKDOWN_SECONDS = 60
    cache.clear()
    yield
    cache.clear()


def test_the_dashboard_counts_come_from_the_cache_until_it_expires(cached):
    programme = "Leraar Biologie voltijd"
    CaseFactory(placement=PlacementFactory(programme=programme))
    first = table(breakdowns(), "programme")[programme]["open_now"]
    assert first == 1
    CaseFactory(placement=PlacementFactory(programme=programme))
    with CaptureQueriesContext(connection) as queries:
        again = breakdowns()
    assert len(queries) == 0
    assert table(again, "programme")[programme]["open_now"] == 1
    # The labels are the reader's, also from the cache.
    with translation.override("en"):
        assert "Per programme" in [t["title"] for t in breakdowns()]
    with translation.override("nl"):
        assert "Per programme" not in [t["title"] for t in breakdowns()]
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=61)):
        assert table(breakdowns(), "programme")[programme]["open_now"] == 2


def test_the_steering_report_for_a_period_always_counts_afresh(cached):
    programme = "Leraar Scheikunde deeltijd"
    today = timezone.localdate()
    CaseFactory(placement=PlacementFactory(programme=programme))
    assert table(breakdowns(today, today), "programme")[programme]["signalled"] == 1
    CaseFactory(placement=PlacementFactory(programme=programme))
    assert table(breakdowns(today, today), "programme")[programme]["signalled"] == 2


def test_without_the_cache_every_call_counts(settings):
    settings.DASHBOARD_BREAKDOWN_SECONDS = 0
    programme = "Leraar Natuurkunde voltijd"
    CaseFactory(placement=PlacementFactory(programme=programme))
    assert table(breakdowns(), "programme")[programme]["open_now"] == 1
    CaseFactory(placement=PlacementFactory(programme=programme))
    assert table(breakdowns(), "programme")[programme]["open_now"] == 2


def test_the_periodic_refresh_fills_the_cache_so_no_request_counts(cached):
    from django.conf import settings

    from office.tasks import refresh_breakdowns

    entry = settings.CELERY_BEAT_SCHEDULE["refresh-dashboard-breakdowns"]
    assert entry["task"] == refresh_breakdowns.name
    # Twice in the cache's life: the cache never runs empty while beat runs.
    assert entry["schedule"] <= settings.DASHBOARD_BREAKDOWN_SECONDS / 2
    programme = "Leraar Geschiedenis voltijd"
    CaseFactory(placement=PlacementFactory(programme=programme))
    assert refresh_breakdowns.apply().get() is True
    CaseFactory(placement=PlacementFactory(programme=programme))
    with CaptureQueriesContext(connection) as queries:
        counts = breakdowns()
    assert len(queries) == 0
    assert table(counts, "programme")[programme]["open_now"] == 1
    refresh_breakdowns.apply().get()
    assert table(breakdowns(), "programme")[programme]["open_now"] == 2


def test_the_refresh_does_nothing_when_the_cache_is_off(settings):
    from office.tasks import refresh_breakdowns

    settings.DASHBOARD_BREAKDOWN_SECONDS = 0
    cache.clear()
    assert refresh_breakdowns.apply().get() is False
    assert cache.get(BREAKDOWN_CACHE_KEY) is None
