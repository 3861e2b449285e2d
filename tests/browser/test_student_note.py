"""The student's note in real Chromium (issue 3): on a phone-sized screen the student opens the
case, writes a note, makes a mistake in the On Stage date, sees the error with the text kept,
and submits; the school trainer then logs in on a desktop and reads it on the case page.
Screenshots go to test-artifacts/ (gitignored)."""

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
from conversations.models import StudentNote
from tests.cases.factories import (
    CaseFactory,
    PlacementFactory,
    TrainingSchoolFactory,
    UserFactory,
)
from tests.conversations.factories import ConversationFactory

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PASSWORD = "password"  # UserFactory's
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
NOTE = (
    "We spraken af dat ik elke week een korte evaluatie met mijn mentor heb.\n"
    "Ik vind het spannend, maar ik weet nu bij wie ik terecht kan."
)


@pytest.fixture
def case(live_url):
    placement = PlacementFactory(
        student=UserFactory(username="n-student", first_name="Sanne", last_name="de Vries"),
        mentor=UserFactory(username="n-mentor", first_name="Marieke", last_name="van Dijk"),
        school_trainer=UserFactory(username="n-trainer", first_name="Hans", last_name="Berg"),
        study_coach=UserFactory(username="n-coach", first_name="Anouk", last_name="Jacobs"),
        school=TrainingSchoolFactory(name="Domstad Lyceum"),
    )
    trainer = placement.school_trainer
    case = case_services.case_signal(
        placement=placement,
        by=placement.student,
        categories=["mentor_relationship"],
        description="De samenwerking met de mentor loopt vast.",
    )
    conversation = conversation_services.plan_conversation(
        case_id=case.pk,
        by=trainer,
        starts_at=timezone.now() - dt.timedelta(days=2),
        location="Lokaal 2.14",
    )
    conversation_services.record_conversation(
        case_id=case.pk,
        by=trainer,
        attendance={i.person_id: True for i in conversation.invitations.all()},
        summary="Afspraken gemaakt over wekelijkse evaluaties.",
        actions=[
            conversation_services.ActionInput(
                "Wekelijkse evaluatie", placement.mentor.pk, timezone.localdate() + dt.timedelta(7)
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


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"student-note-{name}.png"), full_page=True)


def test_the_student_writes_and_submits_a_note_the_school_trainer_reads_it(
    browser: Browser, live_url, case
):
    conversation = case.conversations.get()
    note_url = reverse("conversations:note", args=[conversation.pk])

    # The student, on a phone: from "my cases" to the case, to the note.
    page = log_in(browser, live_url, case.placement.student, PHONE)
    page.goto(live_url(reverse("cases:my_cases")))
    page.click(f'#main a[href="{case.get_absolute_url()}"]')
    expect(page.locator(".student-note .note-state-missing")).to_be_visible()
    page.click(f'#main a[href="{note_url}"]')
    expect(page.locator("form.note-form")).to_be_visible()

    # A mistake: an On Stage date in the future. The error shows; the text stays.
    page.fill("#id_text", NOTE)
    future = (timezone.localdate() + dt.timedelta(days=10)).isoformat()
    page.fill("#id_logged_in_onstage_on", future)
    page.click("button[name=action][value=submit]")
    page.wait_for_load_state()
    expect(page.locator("#note-errors")).to_be_visible()
    expect(page.locator("#id_logged_in_onstage_on")).to_have_class(re.compile("is-invalid"))
    expect(page.locator("#id_text")).to_have_value(NOTE)
    shot(page, "1-validation-error-phone")
    assert not StudentNote.objects.filter(conversation=conversation).exclude(text="").exists()

    # Corrected: today, then submitted.
    page.fill("#id_logged_in_onstage_on", timezone.localdate().isoformat())
    page.click("button[name=action][value=submit]")
    expect(page).to_have_url(re.compile(re.escape(case.get_absolute_url())))
    expect(page.locator(".alert-success")).to_be_visible()
    expect(page.locator(".student-note .note-state-submitted")).to_be_visible()
    shot(page, "2-submitted-phone")
    note = StudentNote.objects.get(conversation=conversation)
    assert note.submitted_at is not None
    assert note.text == NOTE
    assert note.logged_in_onstage_on == timezone.localdate()
    page.context.close()

    # The school trainer, on a desktop, reads it on the case page.
    page = log_in(browser, live_url, case.placement.school_trainer, DESKTOP)
    page.goto(live_url(case.get_absolute_url()))
    body = page.locator(".student-note .note-body")
    expect(body).to_contain_text("elke week een korte evaluatie")
    expect(body).to_contain_text("bij wie ik terecht kan")
    expect(page.locator(f'#main a[href="{note_url}"]')).to_have_count(0)
    page.locator(f"#conversation-{conversation.pk}").scroll_into_view_if_needed()
    shot(page, "3-school-trainer-reads")
    page.context.close()


def test_the_school_trainers_home_and_a_cancelled_conversation_on_a_phone(
    browser: Browser, live_url, case
):
    """What the school trainer sees: a briefing to record on the home and the case page, and a
    cancelled conversation kept in the history with a "plan again" step."""
    trainer = case.placement.school_trainer
    held = case.conversations.get()
    absent = held.invitations.get(person=case.placement.mentor)
    absent.attended = False
    absent.save()
    other = CaseFactory(
        conversation_planned=True, placement=PlacementFactory(school_trainer=trainer)
    )
    ConversationFactory(case=other, invite=True, cancelled=True)

    page = log_in(browser, live_url, trainer, PHONE)
    page.goto(live_url(reverse("portal:home")))
    brief_url = reverse("conversations:brief", args=[absent.pk])
    expect(page.locator(f'a[href="{brief_url}"]')).to_be_visible()
    expect(
        page.locator(f'a[href="{reverse("conversations:plan_again", args=[other.pk])}"]')
    ).to_be_visible()
    shot(page, "4-school-trainer-home-phone")

    page.goto(live_url(case.get_absolute_url()))
    page.fill(f"#briefing-note-{absent.pk}", "Telefonisch bijgepraat")
    page.click(".briefing-form button[type=submit]")
    expect(page.locator(".alert-success")).to_be_visible()
    expect(page.locator(".briefing-form")).to_have_count(0)

    page.goto(live_url(other.get_absolute_url()))
    expect(page.locator(".conversation-card .conversation-cancelled")).to_be_visible()
    shot(page, "5-cancelled-conversation-phone")
    page.context.close()
