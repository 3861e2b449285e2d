"""The dashboard and the steering report break down by programme, study year, board, category."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from office.selectors import breakdowns
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
