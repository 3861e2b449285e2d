"""The office's dashboard in real Chromium with the demo data (seed_demo: a case in every state,
walked through the real services) plus a few synthetic ones: the counts per state, the
all-party conversation monitoring, the overdue list and the pictures are there, and a
screenshot of each goes to test-artifacts/ (gitignored) to be looked at."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse
from playwright.sync_api import Browser, expect

from cases.models import OPEN_STATES, User

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture
def demo(live_url):
    call_command("seed_demo", cases=60, quiet_logins=True, stdout=io.StringIO())
    return User.objects.get(username="stagebureau")


def test_the_office_sees_the_dashboard_and_the_pictures(browser: Browser, live_url, demo):
    context = browser.new_context(locale="nl-NL", viewport={"width": 1366, "height": 1000})
    page = context.new_page()
    page.goto(live_url(reverse("login")))
    page.fill("#id_username", "stagebureau")
    page.fill("#id_password", "demo")
    page.click("main form button[type=submit]")
    expect(page).not_to_have_url(re.compile(re.escape(reverse("login"))))

    page.get_by_role("link", name="Dashboard", exact=True).first.click()
    expect(page).to_have_url(re.compile(re.escape(reverse("office:dashboard"))))
    expect(page.locator("h1")).to_contain_text("Dashboard")
    expect(page.locator(".state-tiles .card")).to_have_count(len(OPEN_STATES))
    expect(page.locator("#all-party")).to_be_visible()
    expect(page.locator(".deadline-table tbody tr").first).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

    page.goto(live_url(reverse("office:office_list")) + "?state=open&sort=waiting")
    expect(page.locator(".office-list tbody tr").first).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "dashboard-office-list.png"), full_page=False)

    page.goto(live_url(reverse("office:report")))
    expect(page.locator("svg.chart")).to_have_count(4)
    expect(page.locator("svg.chart rect").first).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "dashboard-pictures.png"), full_page=True)
    context.close()
