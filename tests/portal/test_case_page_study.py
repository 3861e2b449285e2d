"""The case page shows the study context of the placement: programme, year, period, LIO."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from tests.cases.factories import CaseFactory, PlacementFactory

pytestmark = pytest.mark.django_db


def test_it_shows_programme_year_block_days_and_the_final_lio_internship(client):
    placement = PlacementFactory(
        programme="Leraar Engels voltijd",
        study_year=4,
        block="3",
        days_per_week=Decimal("2.5"),
        is_final_lio=True,
        start_date=dt.date(2026, 2, 2),
        end_date=dt.date(2026, 6, 26),
    )
    case = CaseFactory(placement=placement)
    client.force_login(placement.school_trainer)
    html = client.get(case.get_absolute_url()).content.decode()
    section = html.split('class="mb-0 small study-context"')[1].split("</dl>")[0]
    for text in ("Leraar Engels voltijd", "jaar 4", "blok 3", "2,5 dagen per week", "LIO"):
        assert text in section


def test_a_placement_without_study_data_shows_only_its_period(client):
    case = CaseFactory()
    client.force_login(case.placement.student)
    html = client.get(case.get_absolute_url()).content.decode()
    section = html.split('class="mb-0 small study-context"')[1].split("</dl>")[0]
    assert "LIO" not in section
