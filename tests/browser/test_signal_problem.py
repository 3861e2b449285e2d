"""Issue 2's newcomer journey in real Chromium: a Dutch login page (even for an English browser),
a student signals a problem, a validation error keeps what was typed, and the case appears on
"my cases"; the school trainer sees it too and can plan the conversation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import Browser, Page, expect

from cases.models import Case, State
from tests.cases.factories import PlacementFactory, TrainingSchoolFactory, UserFactory

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PASSWORD = "password"  # UserFactory's
DESCRIPTION = "Sinds twee weken krijg ik geen feedback meer; nabesprekingen worden afgezegd."


@pytest.fixture
def placement(live_url):
    return PlacementFactory(
        student=UserFactory(username="s-student", first_name="Daan", last_name="Jansen"),
        school_trainer=UserFactory(username="s-trainer", first_name="Hans", last_name="Berg"),
        school=TrainingSchoolFactory(name="Eemland College"),
    )


def log_in(browser: Browser, live_url, user) -> Page:
    # An English browser: the interface must still be Dutch (Dutch first).
    page = browser.new_context(locale="en-US").new_page()
    page.goto(live_url(reverse("login")))
    expect(page.locator("html")).to_have_attribute("lang", "nl")
    expect(page.locator("main")).to_contain_text("Inloggen")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("main form button[type=submit]")
    expect(page).not_to_have_url(re.compile(re.escape(reverse("login"))))
    return page


def test_a_student_signals_a_problem_and_sees_it_on_my_cases(browser: Browser, live_url, placement):
    page = log_in(browser, live_url, placement.student)
    page.goto(live_url(reverse("cases:signal")))
    page.select_option("#id_placement", str(placement.pk))
    page.fill("#id_description", DESCRIPTION)
    # No category chosen: a clear Dutch error, and the description is kept.
    page.click("main form button[type=submit]")
    expect(page.locator("main")).to_contain_text("Kies")
    expect(page.locator("#id_description")).to_have_value(DESCRIPTION)
    assert not Case.objects.exists()

    page.check("input[name=categories][value=mentor_relationship]")
    page.click("main form button[type=submit]")
    case = Case.objects.get()
    expect(page).to_have_url(re.compile(re.escape(case.get_absolute_url())))
    expect(page.locator(".alert-success")).to_contain_text(case.number)
    assert case.state == State.SIGNALLED
    assert case.signalled_by == placement.student

    page.goto(live_url(reverse("cases:my_cases")))
    row = page.locator(f'#main a[href="{case.get_absolute_url()}"]')
    expect(row).to_be_visible()
    expect(page.locator("main")).to_contain_text("gesignaleerd")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "signal-my-cases.png"), full_page=True)
    page.context.close()

    # The school trainer sees the case and the step they can take now.
    page = log_in(browser, live_url, placement.school_trainer)
    page.goto(live_url(case.get_absolute_url()))
    expect(page.locator("main")).to_contain_text(DESCRIPTION)
    expect(page.locator("main")).to_contain_text("Gesprek plannen")
    page.context.close()
