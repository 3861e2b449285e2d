"""Keyboard-only use (WCAG 2.1.1, issue 8): log in, signal a problem and take a step on the case
with nothing but Tab, Shift+Tab, Space, arrow keys, typing and Enter — no clicks, no fill().
The test only reads which element has focus to know when to stop tabbing."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from playwright.sync_api import Browser, Page, expect

from cases.models import Case, State
from tests.cases.factories import CaseFactory, PlacementFactory, UserFactory
from transfers.models import ChangeRequest

PASSWORD = "password"  # UserFactory's
MAX_TABS = 80


def focused_matches(page: Page, selector: str) -> bool:
    return page.evaluate(
        "(s) => !!document.activeElement && document.activeElement.matches(s)", selector
    )


def tab_to(page: Page, selector: str) -> None:
    """Press Tab until the focused element matches `selector` (it must be reachable)."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if focused_matches(page, selector):
            # A focused element must show where the focus is (WCAG 2.4.7).
            outline = page.evaluate(
                """() => {
                    const s = getComputedStyle(document.activeElement);
                    return s.outlineStyle !== "none" || s.boxShadow !== "none";
                }"""
            )
            assert outline, f"{selector} has no visible focus indicator"
            return
    raise AssertionError(f"{selector} is not reachable with Tab within {MAX_TABS} presses")


def log_in_with_keyboard(browser: Browser, live_url, user) -> Page:
    page = browser.new_context(locale="nl-NL").new_page()
    page.set_default_timeout(60_000)
    page.goto(live_url(reverse("login")))
    # The user name field has the focus when the page opens.
    assert focused_matches(page, "#id_username")
    page.keyboard.type(user.username)
    tab_to(page, "#id_password")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).not_to_have_url(re.compile(re.escape(reverse("login"))))
    # On every page the first Tab reaches the skip link; Enter moves the focus to the content.
    page.keyboard.press("Tab")
    assert focused_matches(page, "a.skip-link")
    expect(page.locator("a.skip-link")).to_have_text("Direct naar de inhoud")
    page.keyboard.press("Enter")
    assert focused_matches(page, "main#main")
    page.keyboard.press("Shift+Tab")  # back before the navigation, for the tabbing that follows
    return page


@pytest.mark.django_db(transaction=True)
def test_signal_a_problem_with_the_keyboard_only(browser: Browser, live_url):
    student = UserFactory(username="k-student", first_name="Noor", last_name="Meijer")
    placement = PlacementFactory(student=student)
    page = log_in_with_keyboard(browser, live_url, student)

    # Through the main navigation to the signal form.
    tab_to(page, f'nav a[href="{reverse("cases:signal")}"]')
    page.keyboard.press("Enter")
    expect(page.locator("main h1")).to_have_text("Probleem signaleren")

    tab_to(page, "#id_placement")  # one placement: already chosen
    expect(page.locator("#id_placement")).to_have_value(str(placement.pk))
    tab_to(page, 'input[name="categories"][value="classroom"]')
    page.keyboard.press("Space")
    tab_to(page, "#id_description")
    page.keyboard.type("Ik krijg de klas niet stil en weet niet hoe verder.")
    tab_to(page, 'main form button[type="submit"]')
    page.keyboard.press("Enter")

    expect(page.locator(".alert-success")).to_be_visible()
    case = Case.objects.get()
    expect(page).to_have_url(re.compile(re.escape(case.get_absolute_url())))
    expect(page.locator(".alert-success")).to_contain_text(case.number)
    assert case.state == State.SIGNALLED
    assert list(case.categories.values_list("category", flat=True)) == ["classroom"]
    page.context.close()


@pytest.mark.django_db(transaction=True)
def test_request_a_change_with_the_keyboard_only(browser: Browser, live_url):
    trainer = UserFactory(username="k-trainer", first_name="Petra", last_name="Willems")
    case = CaseFactory(improving=True, placement=PlacementFactory(school_trainer=trainer))
    page = log_in_with_keyboard(browser, live_url, trainer)
    page.goto(live_url(case.get_absolute_url()))

    # From the case page to the step's form.
    tab_to(page, f'#main a[href="{reverse("transfers:request", args=[case.pk])}"]')
    page.keyboard.press("Enter")
    expect(page.locator("form.step-form")).to_be_visible()

    # A radio group: Tab enters it, the arrow keys move and select, Space selects.
    tab_to(page, 'input[name="kind"]')
    page.keyboard.press("Space")
    while not focused_matches(page, 'input[name="kind"][value="stop_temporary"]'):
        page.keyboard.press("ArrowDown")
    expect(page.locator('input[name="kind"][value="stop_temporary"]')).to_be_checked()
    tab_to(page, 'textarea[name="reason"]')
    page.keyboard.type("Ik heb even rust nodig.")
    tab_to(page, 'form.step-form button[type="submit"]')
    page.keyboard.press("Enter")

    expect(page.locator(".alert-success")).to_be_visible()
    case.refresh_from_db()
    assert case.state == State.CHANGE_REQUESTED
    assert case.change_requests.get().kind == ChangeRequest.Kind.STOP_TEMPORARY
    page.context.close()
