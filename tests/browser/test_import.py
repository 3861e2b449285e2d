"""The import of a semester in real Chromium: the office uploads the sample file, reads the
preview (30 new rows, nothing written yet) and confirms; then a corrected file gives one
placement with an open case another mentor: the preview says so, the case's timeline records
it, the new mentor signs in and sees the case, and the old one gets a 404."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import Browser, Page, expect

from cases.models import Placement, User
from tests.cases.factories import CaseFactory, PartnershipFactory, UserFactory

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "docs" / "samples" / "placements-sample.csv"
ARTIFACTS = ROOT / "test-artifacts"
PASSWORD = "password"  # UserFactory's
OLD_MENTOR = "Karin Hofman;k.hofman@91xa.example.org"
NEW_MENTOR = "Nora Nieuwenhuis;n.nieuwenhuis@91xa.example.org"


def log_in(browser: Browser, live_url, username: str, password: str = PASSWORD) -> Page:
    page = browser.new_context(locale="nl-NL", viewport={"width": 1366, "height": 900}).new_page()
    page.goto(live_url(reverse("login")))
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("main form button[type=submit]")
    expect(page).not_to_have_url(re.compile(re.escape(reverse("login"))))
    return page


def upload(page: Page, live_url, path: Path) -> None:
    page.goto(live_url(reverse("semester:import")))
    expect(page.locator("h1")).to_have_text("Stageplekken importeren")
    page.set_input_files("#id_file", str(path))
    page.get_by_role("button", name="Bestand inlezen").click()
    expect(page.locator("h1")).to_have_text("Controleer de import")


def test_the_office_imports_the_sample_and_a_corrected_file(browser: Browser, live_url, tmp_path):
    PartnershipFactory(name="Opleidingsschool Midden")
    office = UserFactory(office=True, username="stagebureau-import")
    page = log_in(browser, live_url, office.username)

    upload(page, live_url, SAMPLE)
    expect(page.locator(".count-new")).to_have_text("30")
    expect(page.locator(".count-error")).to_have_text("0")
    expect(page.locator("tr.import-new")).to_have_count(30)
    expect(page.locator("table.import-preview")).to_contain_text("Nieuw account: Anna Jansen")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "import-preview.png"), full_page=False)
    assert not Placement.objects.exists()  # the preview wrote nothing

    page.get_by_role("button", name="Import bevestigen").click()
    expect(page.locator(".alert-success")).to_contain_text(
        "Geïmporteerd: 30 nieuwe en 0 gewijzigde stageplekken"
    )
    assert Placement.objects.count() == 30

    # A case on Anna's placement; then the file gives her another mentor.
    anna = User.objects.get(email="anna.jansen@student.example.org")
    placement = anna.placements_as_student.get()
    old_mentor = placement.mentor
    case = CaseFactory(placement=placement, improving=True)
    text = SAMPLE.read_bytes().decode("utf-8-sig")
    header, first, rest = text.split("\r\n", 2)
    assert OLD_MENTOR in first
    corrected = tmp_path / "plaatsingen-gecorrigeerd.csv"
    corrected.write_bytes(
        "\r\n".join([header, first.replace(OLD_MENTOR, NEW_MENTOR), rest]).encode("utf-8-sig")
    )
    upload(page, live_url, corrected)
    expect(page.locator(".count-changed")).to_have_text("1")
    expect(page.locator(".count-unchanged")).to_have_text("29")
    expect(page.locator("tr.import-changed")).to_contain_text(
        "Mentor: Karin Hofman → Nora Nieuwenhuis (nieuw account)"
    )
    page.get_by_role("button", name="Import bevestigen").click()
    expect(page.locator(".alert-success")).to_contain_text("1 wisselingen vastgelegd")

    page.goto(live_url(case.get_absolute_url()))
    expect(page.locator("main")).to_contain_text("Nieuwe mentor toegewezen")
    expect(page.locator("main")).to_contain_text("Karin Hofman → Nora Nieuwenhuis")

    # The newcomer (who signs in with SURFconext or a link; a password here for the test)
    # sees the case; the mentor who left gets a 404.
    newcomer = User.objects.get(email="n.nieuwenhuis@91xa.example.org")
    assert not newcomer.has_usable_password()
    newcomer.set_password(PASSWORD)
    newcomer.save()
    mentor_page = log_in(browser, live_url, newcomer.username)
    response = mentor_page.goto(live_url(case.get_absolute_url()))
    assert response.status == 200
    old_mentor.set_password(PASSWORD)
    old_mentor.save()
    old_page = log_in(browser, live_url, old_mentor.username)
    response = old_page.goto(live_url(case.get_absolute_url()))
    assert response.status == 404
