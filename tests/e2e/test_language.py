"""Languages end to end (issue 8): the case page shows dates and times in the reader's language
and time zone (Dutch month and day names and 24-hour times; English after switching), the
language switcher in the navigation changes the language of the page, the choice survives
logging out and in again, and the e-mails that follow go out in the chosen language."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Browser, expect

from cases import services as case_services
from cases.models import User
from conversations import services as conversation_services
from tests.cases.factories import PlacementFactory
from tests.e2e.journey import log_in, open_case, person, shot

pytestmark = pytest.mark.django_db(transaction=True)

AMSTERDAM = zoneinfo.ZoneInfo("Europe/Amsterdam")


def next_tuesday_in_march() -> dt.datetime:
    """15:05 in Amsterdam on a Tuesday in March (14:05 UTC: the page must convert)."""
    day = dt.date(timezone.localdate().year + 1, 3, 1)
    while day.weekday() != 1:
        day += dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(15, 5), tzinfo=AMSTERDAM)


def test_dates_follow_the_language_and_the_switcher_changes_it(browser: Browser, stack, smtp_sink):
    trainer = person("l-trainer", "Hans", "van den Berg")
    student = person("l-student", "Sanne", "de Vries")
    placement = PlacementFactory(student=student, school_trainer=trainer)
    case = case_services.case_signal(
        placement=placement,
        by=student,
        categories=["classroom"],
        description="De klas luistert niet.",
    )
    starts = next_tuesday_in_march()
    conversation_services.plan_conversation(
        case_id=case.pk, by=trainer, starts_at=starts, location="Lokaal 3.01"
    )
    day = starts.day

    # Dutch: day and month names in Dutch, 24-hour time in Amsterdam time.
    page = log_in(browser, stack, trainer)
    open_case(page, stack, case)
    when = page.locator(".conversation-card time").first
    expect(when).to_have_text(f"dinsdag {day} maart {starts.year}, 15:05")
    expect(when).to_have_attribute("datetime", re.compile(r"T15:05:00\+01:00$"))
    expect(page.locator("html")).to_have_attribute("lang", "nl")

    # The switcher: the current language is marked, the other one a button.
    switcher = page.locator("nav .language-switcher")
    expect(switcher.locator('button[value="nl"]')).to_have_attribute("aria-pressed", "true")
    switcher.locator('button[value="en"]').click()
    page.wait_for_load_state()
    expect(page).to_have_url(re.compile(re.escape(case.get_absolute_url())))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator(f'nav .nav-link[href="{reverse("cases:my_cases")}"]')).to_have_text(
        "My cases"
    )
    expect(page.locator(".conversation-card time").first).to_have_text(
        f"Tuesday {day} March {starts.year}, 15:05"
    )
    expect(page.locator("#steps-heading")).to_have_text("The steps you can take now")
    shot(page, "language-1-case-page-english")
    page.context.close()

    # The choice is kept on the profile: a new session is English from the start.
    assert User.objects.get(pk=trainer.pk).language == "en"
    context = browser.new_context(locale="nl-NL")
    page = context.new_page()
    page.goto(stack(reverse("login")))
    page.fill("#id_username", trainer.username)
    page.fill("#id_password", "password")
    page.click("main form button[type=submit]")
    expect(page.locator("html")).to_have_attribute("lang", "en")

    # E-mails follow each recipient's language: English for the trainer, Dutch for the student.
    case_services.withdraw(case_id=case.pk, by=student, reason="Het gaat weer goed.")
    (english,) = smtp_sink.wait_for(
        lambda m: trainer.email in m.recipients and "withdrawn" in m.subject.lower()
    )
    assert f"case {case.number}" in english.subject
    (dutch,) = smtp_sink.wait_for(
        lambda m: placement.study_coach.email in m.recipients and "ingetrokken" in m.subject.lower()
    )
    assert f"casus {case.number}" in dutch.subject

    # Back to Dutch with the switcher.
    page.locator('nav .language-switcher button[value="nl"]').click()
    page.wait_for_load_state()
    expect(page.locator("html")).to_have_attribute("lang", "nl")
    expect(page.locator(f'nav .nav-link[href="{reverse("cases:my_cases")}"]')).to_have_text(
        "Mijn casussen"
    )
    assert User.objects.get(pk=trainer.pk).language == "nl"
    context.close()
