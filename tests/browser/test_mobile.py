"""The pages a mentor or student uses on a phone work at 375 px wide without scrolling sideways:
home, the case page, the signal form, the student's note and the briefing page. Screenshots of
the case page on a phone and on a desktop go to docs/screenshots/ (the README shows them)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from cases import services as case_services
from conversations import services as conversation_services
from tests.cases.factories import PlacementFactory, TrainingSchoolFactory, UserFactory

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PASSWORD = "password"  # UserFactory's
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture
def case(live_url):
    placement = PlacementFactory(
        student=UserFactory(username="m-student", first_name="Sanne", last_name="de Vries"),
        mentor=UserFactory(username="m-mentor", first_name="Marieke", last_name="van Dijk"),
        school_trainer=UserFactory(username="m-trainer", first_name="Hans", last_name="Berg"),
        study_coach=UserFactory(username="m-coach", first_name="Anouk", last_name="Jacobs"),
        school=TrainingSchoolFactory(name="Openbare Scholengemeenschap Domstad Lyceum"),
    )
    trainer = placement.school_trainer
    case = case_services.case_signal(
        placement=placement,
        by=placement.student,
        categories=["mentor_relationship", "wellbeing"],
        description=(
            "De samenwerking met de mentor loopt vast; feedback komt laat en ik weet niet "
            "goed wat er van mij verwacht wordt in de bovenbouwklassen."
        ),
    )
    conversation = conversation_services.plan_conversation(
        case_id=case.pk,
        by=trainer,
        starts_at=timezone.now() - dt.timedelta(days=2),
        location="https://teams.example.org/meet/een-heel-lange-link-zonder-spaties-1234567890",
    )
    conversation_services.record_conversation(
        case_id=case.pk,
        by=trainer,
        attendance={
            i.person_id: i.person_id != placement.study_coach_id
            for i in conversation.invitations.all()
        },
        summary="Afspraken gemaakt over wekelijkse evaluaties.",
        actions=[
            conversation_services.ActionInput(
                "Wekelijkse evaluatie met de mentor over de lesvoorbereiding",
                placement.mentor.pk,
                timezone.localdate() + dt.timedelta(7),
            )
        ],
    )
    case.refresh_from_db()
    return case


def log_in(browser: Browser, live_url, user, viewport) -> Page:
    context = browser.new_context(locale="nl-NL", viewport=viewport)
    page = context.new_page()
    page.goto(live_url(reverse("login")))
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("main form button[type=submit]")
    expect(page).not_to_have_url(re.compile(re.escape(reverse("login"))))
    return page


def scroll_width(page: Page) -> int:
    return page.evaluate("document.scrollingElement.scrollWidth")


def test_the_phone_pages_have_no_sideways_scrolling(browser: Browser, live_url, case):
    conversation = case.conversations.get()
    absent = conversation.invitations.get(person=case.placement.study_coach)
    pages = {
        "student": [
            reverse("portal:home"),
            case.get_absolute_url(),
            reverse("cases:signal"),
            reverse("conversations:note", args=[conversation.pk]),
        ],
        "mentor": [
            reverse("portal:home"),
            case.get_absolute_url(),
            reverse("cases:signal"),
            reverse("conversations:brief", args=[absent.pk]),
        ],
    }
    too_wide = {}
    for role, paths in pages.items():
        page = log_in(browser, live_url, getattr(case.placement, role), PHONE)
        for path in paths:
            response = page.goto(live_url(path))
            assert response.status == 200, path
            width = scroll_width(page)
            if width > PHONE["width"]:
                too_wide[f"{role} {path}"] = width
        page.context.close()
    assert too_wide == {}


def test_screenshots_of_the_case_page_on_a_phone_and_a_desktop(browser: Browser, live_url, case):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for name, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        page = log_in(browser, live_url, case.placement.mentor, viewport)
        page.goto(live_url(case.get_absolute_url()))
        expect(page.locator("#steps-heading")).to_be_visible()
        assert scroll_width(page) <= viewport["width"]
        page.screenshot(path=str(SCREENSHOTS / f"case-page-{name}.png"), full_page=True)
        page.context.close()
