"""The change path of issue 4 in real Chromium, every role logging in through the login page.

A school trainer requests a transfer, informs the office, plans and records the all-party
conversation and reports "opinions differ"; the ISOP owner gives advice from the queue; the
office records the wrap-up and places the student at a new school with a new coach; the old
coach records the warm handover; the case is closed as transferred and the timeline shows
every step with actor and time. Screenshots go to test-artifacts/ (gitignored).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from cases.models import Case, CaseEvent, State
from tests.cases.factories import TrainingSchoolFactory, UserFactory
from tests.journeys import improving_case

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PASSWORD = "password"  # UserFactory's
TODAY = timezone.localdate()


def person(username: str, first: str, last: str, **traits):
    return UserFactory(username=username, first_name=first, last_name=last, **traits)


@pytest.fixture
def people(live_url):
    people = {
        "student": person("j-student", "Sanne", "de Vries"),
        "mentor": person("j-mentor", "Marieke", "van Dijk"),
        "trainer": person("j-trainer", "Hans", "van den Berg"),
        "coach": person("j-coach", "Anouk", "Jacobs"),
        "office": person("j-office", "Els", "Schouten", office=True),
        "isop": person("j-isop", "Gerard", "van Leeuwen", isop_owner=True),
        "new_mentor": person("j-new-mentor", "Kees", "Dekker"),
        "new_trainer": person("j-new-trainer", "Petra", "Willems"),
        "new_coach": person("j-new-coach", "Ruud", "de Haan"),
    }
    return people


@pytest.fixture
def case(people) -> Case:
    """A case with improvement actions running, arranged through the services."""
    return improving_case(
        people,
        school="Domstad Lyceum",
        signalled_by="student",
        category="mentor_relationship",
        description="De samenwerking met de mentor loopt vast.",
        planner="trainer",
        days_ago=14,
        location="Lokaal 2.14",
        summary="Afspraken gemaakt over de begeleiding.",
        action="Wekelijks gesprek",
    )


def log_in(browser: Browser, live_url, user) -> Page:
    """A fresh browser session for this person, logged in through the login page."""
    context = browser.new_context(locale="nl-NL", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(live_url(reverse("login")))
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("main form button[type=submit]")
    expect(page).not_to_have_url(re.compile(re.escape(reverse("login"))))
    expect(page.locator("nav #user-menu")).to_contain_text(str(user))
    return page


def open_step(page: Page, live_url, case: Case, url_name: str) -> None:
    """From the case page, follow the step's button (so the button must be there)."""
    page.goto(live_url(case.get_absolute_url()))
    page.click(f'#main a[href="{reverse(url_name, args=[case.pk])}"]')
    expect(page.locator("form.step-form")).to_be_visible()


def submit(page: Page) -> None:
    page.click("form.step-form button[type=submit]")
    page.wait_for_load_state()
    expect(page.locator(".alert-danger")).to_have_count(0)


def state(case: Case) -> str:
    return Case.objects.get(pk=case.pk).state


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"transfer-journey-{name}.png"), full_page=True)


# A transactional database: the live server needs committed data. (Not serialized_rollback:
# restoring the serialized rows after another transactional test's flush collides with the
# rows post_migrate has made again; the journey needs none of the data migrations' rows.)
@pytest.mark.django_db(transaction=True)
def test_a_transfer_with_opinions_differing_isop_advice_and_a_warm_handover(
    browser: Browser, live_url, people, case
):
    trainer = log_in(browser, live_url, people["trainer"])

    # 1. The school trainer requests a transfer; the others on the case are told.
    open_step(trainer, live_url, case, "transfers:request")
    trainer.check('input[name="kind"][value="transfer"]')
    trainer.fill('textarea[name="reason"]', "De relatie met de mentor is niet te herstellen.")
    submit(trainer)
    assert state(case) == State.CHANGE_REQUESTED
    told = trainer.locator(".told-list li")
    expect(told).to_have_count(3)  # student, mentor, study coach
    for who in ("student", "mentor", "coach"):
        expect(trainer.locator(".told-list")).to_contain_text(str(people[who]))
    expect(told.first.locator("time")).to_have_count(1)

    # 2. ... informs the office.
    open_step(trainer, live_url, case, "transfers:inform")
    trainer.fill('textarea[name="note"]', "Gebeld met Els van het stagebureau.")
    submit(trainer)
    assert state(case) == State.OFFICE_INFORMED

    # 3. ... plans and records the all-party conversation.
    open_step(trainer, live_url, case, "conversations:plan")
    starts = timezone.localtime() - dt.timedelta(hours=2)
    trainer.fill('input[name="starts_at"]', starts.strftime("%Y-%m-%dT%H:%M"))
    trainer.fill('input[name="location"]', "Online, Teams")
    submit(trainer)
    assert state(case) == State.CHANGE_CONVERSATION_PLANNED

    open_step(trainer, live_url, case, "conversations:record")
    for radio in trainer.locator('input[type=radio][value="yes"]').all():
        radio.check()
    trainer.fill('textarea[name="summary"]', "Alle partijen gehoord.")
    answers = {
        "problem": "De student en de mentor vertrouwen elkaar niet meer.",
        "what_was_done": "Drie gesprekken en een verbeterplan.",
        "when_it_goes_well": "In de lessen zonder de mentor.",
        "student_needs": "Een nieuwe start met een andere mentor.",
        "school_offers": "Geen andere mentor in dit vak.",
    }
    for name, text in answers.items():
        trainer.fill(f'textarea[name="{name}"]', text)
    submit(trainer)
    assert state(case) == State.OUTCOME_PENDING

    # 4. ... reports "opinions differ", with everyone's position.
    open_step(trainer, live_url, case, "transfers:outcome")
    trainer.check('input[name="outcome"][value="opinions_differ"]')
    trainer.select_option(f'select[name="position_{people["student"].pk}"]', "disagree")
    trainer.select_option(f'select[name="position_{people["trainer"].pk}"]', "agree")
    trainer.select_option(f'select[name="position_{people["coach"].pk}"]', "abstain")
    trainer.fill('textarea[name="note"]', "De student wil blijven, de school wil een wissel.")
    submit(trainer)
    assert state(case) == State.ISOP_ADVICE
    expect(trainer.locator(".positions .stance-disagree")).to_have_count(1)
    trainer.context.close()

    # 5. The ISOP owner finds the request in the queue and gives advice.
    isop = log_in(browser, live_url, people["isop"])
    isop.click(f'nav a[href="{reverse("office:isop_queue")}"]')
    request = isop.locator("article.advice-request")
    expect(request).to_have_count(1)
    expect(request).to_contain_text(answers["school_offers"])
    expect(request.locator(".stance-disagree")).to_have_count(1)
    expect(request.locator(".stance-agree")).to_have_count(1)
    expect(request.locator(".stance-abstain")).to_have_count(1)
    shot(isop, "1-isop-queue")
    request.locator(f'a[href="{reverse("transfers:advice", args=[case.pk])}"]').click()
    isop.check('input[name="decision"][value="transfer"]')
    isop.fill('textarea[name="rationale"]', "Een nieuwe start op een andere school is beter.")
    submit(isop)
    # Advice is advice: the internship office decides.
    assert state(case) == State.DECISION_PENDING
    isop.context.close()

    # 6. The office decides, sees the case on its worklist, records the wrap-up and places the
    # student.
    office = log_in(browser, live_url, people["office"])
    open_step(office, live_url, case, "transfers:decide")
    office.check('input[name="decision"][value="transfer"]')
    submit(office)
    assert state(case) == State.TRANSFER_REQUESTED
    office.click(f'nav a[href="{reverse("office:worklist")}"]')
    row = office.locator("#step-placement tr.worklist-row")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(case.number)
    shot(office, "2-office-worklist")
    office.goto(live_url(case.get_absolute_url()))
    office.click(f'#main a[href="{reverse("transfers:wrap_up", args=[case.pk])}"]')
    office.fill('input[name="last_day"]', TODAY.isoformat())
    office.fill('textarea[name="agreement"]', "Vrijdag afscheid van 2B met een laatste les.")
    submit(office)
    new_school = TrainingSchoolFactory(name="Eemland College")
    open_step(office, live_url, case, "transfers:place")
    expect(office.locator('textarea[name="agreement"]')).to_have_count(0)
    # The new school's people hold no role yet: the office finds them by their e-mail.
    office.fill("#search-q", "j-new")
    with office.expect_navigation():
        office.click("form[role=search] button[type=submit]")
    office.select_option('select[name="school"]', str(new_school.pk))
    office.select_option('select[name="mentor"]', str(people["new_mentor"].pk))
    office.select_option('select[name="school_trainer"]', str(people["new_trainer"].pk))
    office.select_option('select[name="study_coach"]', str(people["new_coach"].pk))
    office.fill('input[name="start_date"]', (TODAY + dt.timedelta(days=3)).isoformat())
    submit(office)
    assert state(case) == State.HANDOVER
    office.context.close()

    # 7. The old coach records the warm handover; the case closes as transferred.
    coach = log_in(browser, live_url, people["coach"])
    open_step(coach, live_url, case, "transfers:handover")
    coach.fill('input[name="contact_made_on"]', TODAY.isoformat())
    coach.fill('textarea[name="what_helped"]', "Vaste afspraken op maandag.")
    coach.fill('textarea[name="student_needs"]', "Een duidelijke start en een vast aanspreekpunt.")
    coach.fill('textarea[name="open_actions"]', "Wekelijks gesprek voortzetten.")
    submit(coach)
    assert state(case) == State.CLOSED_TRANSFERRED
    coach.context.close()

    # 8. The new coach reads the whole case, confirms receipt, and sees every step.
    new_coach = log_in(browser, live_url, people["new_coach"])
    new_coach.goto(live_url(case.get_absolute_url()))
    expect(
        new_coach.locator(f".state-badge.state-{State.CLOSED_TRANSFERRED}").first
    ).to_be_visible()
    expect(new_coach.locator("#main")).to_contain_text(answers["student_needs"])
    received = reverse("transfers:handover_received", args=[case.handovers.get().pk])
    new_coach.click(f'#main a[href="{received}"]')
    new_coach.click("main form button[type=submit]")
    new_coach.wait_for_load_state()

    events = list(CaseEvent.objects.filter(case=case).select_related("actor").order_by("at", "pk"))
    names = [e.name for e in events]
    for step in (
        "signal",
        "plan_conversation",
        "record_conversation",
        "request_change",
        "inform_office",
        "plan_change_conversation",
        "record_change_conversation",
        "report_outcome",
        "give_advice",
        "decide",
        "wrap_up_recorded",
        "place_student",
        "confirm_handover",
        "handover_received",
    ):
        assert step in names, step
    actors = {e.name: e.actor for e in events}
    assert actors["request_change"] == people["trainer"]
    assert actors["report_outcome"] == people["trainer"]
    assert actors["give_advice"] == people["isop"]
    assert actors["decide"] == people["office"]
    assert actors["place_student"] == people["office"]
    assert actors["confirm_handover"] == people["coach"]
    assert actors["handover_received"] == people["new_coach"]

    items = new_coach.locator("ol.timeline li.timeline-item")
    expect(items).to_have_count(len(events))
    for index, event in enumerate(events):
        item = items.nth(index)
        expect(item).to_contain_text(str(event.label))
        expect(item).to_contain_text(str(event.actor))
        expect(item.locator("time")).to_have_attribute(
            "datetime", re.compile(rf"^{timezone.localtime(event.at):%Y-%m-%dT%H:%M}")
        )
    shot(new_coach, "3-closed-case-timeline")
    new_coach.context.close()
