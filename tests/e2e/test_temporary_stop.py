"""A temporary stop end to end (issue 8): the student asks for a temporary stop; after the
all-party conversation everyone agrees; the school trainer records the wrap-up with the class;
the office stops the internship temporarily with an expected resume date, and later resumes it
on the same placement, which closes the case as resumed (not as a stop). Each person logs in
in turn (Dutch); the e-mails go through the real worker to the SMTP sink."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import formats, timezone, translation
from playwright.sync_api import Browser, expect

from cases.models import Case, CaseEvent, State
from conversations import services as conversation_services
from tests.e2e.journey import (
    expect_state,
    log_in,
    open_case,
    open_step,
    person,
    shot,
    state,
    submit,
)
from tests.journeys import improving_case
from transfers import services as transfer_services

pytestmark = pytest.mark.django_db(transaction=True)

TODAY = timezone.localdate()
RESUME_ON = TODAY + dt.timedelta(days=42)
ANSWERS = {
    "problem": "De student is overbelast en slaapt slecht.",
    "what_was_done": "Minder lessen en wekelijkse gesprekken.",
    "when_it_goes_well": "Als er rust is in het rooster.",
    "student_needs": "Zes weken rust en daarna een rustige herstart.",
    "school_offers": "Dezelfde klas en mentor na de pauze.",
}


@pytest.fixture
def people(stack):
    return {
        "student": person("t-student", "Daan", "Jansen"),
        "mentor": person("t-mentor", "Fleur", "Bakker"),
        "trainer": person("t-trainer", "Bram", "Visser"),
        "coach": person("t-coach", "Iris", "Smit"),
        "office": person("t-office", "Els", "Schouten", office=True),
    }


@pytest.fixture
def case(people) -> Case:
    """Improvement actions running after the first conversation."""
    return improving_case(
        people,
        school="Het Baarnsch Lyceum",
        signalled_by="coach",
        category="wellbeing",
        description="Daan is uitgeput en meldt zich vaak ziek.",
        planner="coach",
        days_ago=10,
        location="Online",
        summary="Minder lessen geven.",
        action="Rooster aanpassen",
    )


def test_temporary_stop_with_wrap_up_and_resume(browser: Browser, stack, smtp_sink, people, case):
    p = people

    # 1. The student asks for a temporary stop.
    student = log_in(browser, stack, p["student"])
    open_step(student, stack, case, "transfers:request")
    student.check('input[name="kind"][value="stop_temporary"]')
    student.fill('textarea[name="reason"]', "Ik heb rust nodig; zo gaat het niet langer.")
    submit(student)
    assert state(case) == State.CHANGE_REQUESTED
    # A stop request reads as a stop request.
    expect_state(student, State.CHANGE_REQUESTED, "stop_temporary")
    expect(student.locator("main")).to_contain_text("onderbreking gevraagd")
    student.context.close()
    for who in ("mentor", "trainer", "coach"):
        smtp_sink.wait_for(
            lambda m, who=who: p[who].email in m.recipients and case.number in m.subject
        )

    # The office contact and the all-party conversation (walked in the browser by the change
    # path's journey) through the services.
    trainer_user = p["trainer"]
    transfer_services.inform_office(case_id=case.pk, by=trainer_user)
    conversation = conversation_services.plan_conversation(
        case_id=case.pk,
        by=trainer_user,
        starts_at=timezone.now() - dt.timedelta(hours=3),
        location="Lokaal 1.02",
    )
    conversation_services.record_conversation(
        case_id=case.pk,
        by=trainer_user,
        attendance={i.person_id: True for i in conversation.invitations.all()},
        summary="Iedereen is het eens: zes weken pauze.",
        answers=ANSWERS,
    )
    assert state(case) == State.OUTCOME_PENDING

    # 2. The school trainer reports that everyone agrees to stop, and records the wrap-up.
    trainer = log_in(browser, stack, trainer_user)
    open_step(trainer, stack, case, "transfers:outcome")
    trainer.check('input[name="outcome"][value="agree_stop"]')
    for invitation in conversation.invitations.all():
        trainer.select_option(f'select[name="position_{invitation.person_id}"]', "agree")
    submit(trainer)
    assert state(case) == State.TRANSFER_REQUESTED
    expect_state(trainer, State.TRANSFER_REQUESTED, "stop_temporary")
    trainer.click(f'#main a[href="{reverse("transfers:wrap_up", args=[case.pk])}"]')
    trainer.fill('input[name="last_day"]', TODAY.isoformat())
    trainer.fill('textarea[name="agreement"]', "Daan vertelt de klas zelf dat hij even stopt.")
    submit(trainer)
    expect(trainer.locator("main")).to_contain_text("Daan vertelt de klas zelf")
    # Placing and stopping are the office's.
    for url_name in ("transfers:place", "transfers:stop"):
        link = trainer.locator(f'#main a[href="{reverse(url_name, args=[case.pk])}"]')
        expect(link).to_have_count(0)
    trainer.context.close()

    # The student, who did not record the wrap-up, agrees to it; the mentor is told.
    student = log_in(browser, stack, p["student"])
    student.goto(stack(case.get_absolute_url()))
    student.click(f'#main a[href="{reverse("transfers:wrap_up_confirm", args=[case.pk])}"]')
    submit(student)
    expect(student.locator("main .wrap-up-agreed")).to_be_visible()
    student.context.close()
    smtp_sink.wait_for(
        lambda m: (
            p["mentor"].email in m.recipients
            and case.number in m.subject
            and "akkoord" in m.subject.lower()
        )
    )

    # 3. The office stops the internship temporarily, with an expected resume date.
    office = log_in(browser, stack, p["office"])
    office.click(f'nav a[href="{reverse("office:worklist")}"]')
    expect(office.locator("main")).to_contain_text(case.number)
    open_step(office, stack, case, "transfers:stop")
    # The wrap-up is recorded already: the stop form does not ask for it again.
    expect(office.locator('textarea[name="agreement"]')).to_have_count(0)
    office.check('input[name="temporary"][value="yes"]')
    office.fill('input[name="expected_resume_date"]', RESUME_ON.isoformat())
    submit(office)
    assert state(case) == State.STOPPED
    expect_state(office, State.STOPPED)
    shot(office, "stop-1-office-stopped-temporarily")
    office.context.close()

    # The student and the coach see the stop and the expected resume date (Dutch month name).
    with translation.override("nl"):
        resume_text = formats.date_format(RESUME_ON, "j F Y")
    for who in ("student", "coach"):
        page = log_in(browser, stack, p[who])
        open_case(page, stack, case)
        expect_state(page, State.STOPPED)
        expect(page.locator("main")).to_contain_text(resume_text)
        page.context.close()
        smtp_sink.wait_for(
            lambda m, who=who: (
                p[who].email in m.recipients
                and case.number in m.subject
                and "gestopt" in m.subject.lower()
            )
        )

    # 4. Weeks later the office resumes the internship on the same placement.
    office = log_in(browser, stack, p["office"])
    open_step(office, stack, case, "transfers:resume")
    office.check('input[name="where"][value="same"]')
    submit(office)
    assert state(case) == State.CLOSED_RESUMED
    expect_state(office, State.CLOSED_RESUMED)
    shot(office, "stop-2-office-resumed")
    office.context.close()

    student = log_in(browser, stack, p["student"])
    open_case(student, stack, case)
    expect_state(student, State.CLOSED_RESUMED)
    expect(student.locator("main")).to_contain_text("Deze casus is gesloten.")
    student.context.close()
    smtp_sink.wait_for(
        lambda m: (
            p["student"].email in m.recipients
            and case.number in m.subject
            and "hervat" in m.subject.lower()
        )
    )

    names = set(CaseEvent.objects.filter(case=case).values_list("name", flat=True))
    assert names >= {"request_change", "report_outcome", "wrap_up_recorded", "stop_internship"}
    assert "resume" in names
