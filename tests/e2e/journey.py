"""What the journeys share: people, logging in through the login page (a fresh browser per
person, Dutch), following a step's button from the case page, submitting, screenshots."""

from __future__ import annotations

import re
from pathlib import Path

from django.urls import reverse
from django.utils import translation
from playwright.sync_api import Browser, Page, expect

from cases.models import Case, State, state_label
from tests.cases.factories import UserFactory

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"
PASSWORD = "password"  # UserFactory's
TIMEOUT_MS = 60_000  # generous: 2 shared cores, a real server and worker
expect.set_options(timeout=30_000)


def person(username: str, first: str, last: str, **traits):
    return UserFactory(username=username, first_name=first, last_name=last, **traits)


def log_in(browser: Browser, stack, user) -> Page:
    """A fresh browser session for this person (a Dutch browser), through the login page."""
    context = browser.new_context(locale="nl-NL", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto(stack(reverse("login")))
    expect(page.locator("html")).to_have_attribute("lang", "nl")
    expect(page.locator("main h1")).to_contain_text("Inloggen")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("main form button[type=submit]")
    expect(page).not_to_have_url(re.compile(re.escape(reverse("login"))))
    expect(page.locator("nav #user-menu")).to_contain_text(str(user))
    return page


def open_case(page: Page, stack, case: Case) -> None:
    page.goto(stack(case.get_absolute_url()))
    expect(page.locator("main h1")).to_contain_text(case.number)


def open_step(page: Page, stack, case: Case, url_name: str) -> None:
    """From the case page, follow the step's button (so the button must be there)."""
    open_case(page, stack, case)
    page.click(f'#main a[href="{reverse(url_name, args=[case.pk])}"]')
    expect(page.locator("form.step-form")).to_be_visible()


def steps_offered(page: Page) -> list[str]:
    """The labels of the step buttons on the case page."""
    return [t.strip() for t in page.locator(".step-list a.btn").all_inner_texts()]


def submit(page: Page) -> None:
    page.click("form.step-form button[type=submit]")
    page.wait_for_load_state()
    expect(page.locator(".alert-danger")).to_have_count(0)


def dutch(choice) -> str:
    """A model choice's label as the Dutch interface shows it."""
    with translation.override("nl"):
        return str(choice.label)


def expect_state(page: Page, value: State, kind: str = "") -> None:
    """The case page's state badge shows the state, in Dutch (for a stop request or an awaited
    stop or placement, the words of its kind: `kind`)."""
    with translation.override("en"):
        english = state_label(value, kind)
    with translation.override("nl"):
        words = state_label(value, kind)
    assert words != english, f"no Dutch label for {value}"
    badge = page.locator("main .state-badge").first
    expect(badge).to_have_class(re.compile(rf"\bstate-{value}\b"))
    expect(badge).to_have_text(words)


def state(case: Case) -> str:
    return Case.objects.get(pk=case.pk).state


def shot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
