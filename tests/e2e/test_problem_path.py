"""The problem path end to end (issue 8): a mentor signals; the school trainer plans the first
conversation; it is recorded with the mentor absent, who is briefed and confirms reading the
summary; the student writes the note; the study coach evaluates the action; the school trainer
resolves the case. Every person logs in through the login page in a Dutch browser and sees what
is theirs; the e-mails go through gunicorn → Redis → the Celery worker → SMTP to the sink."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Browser, expect

from cases.models import Case, CaseEvent, State
from tests.cases.factories import PlacementFactory, TrainingSchoolFactory
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

pytestmark = pytest.mark.django_db(transaction=True)

DESCRIPTION = "Sanne krijgt sinds twee weken geen feedback meer; nabesprekingen worden afgezegd."
SUMMARY = "Afgesproken: elke maandag een nabespreking van een kwartier."
NOTE = "We spraken af dat ik elke maandag feedback krijg. Ik houd een logboek bij."


@pytest.fixture
def people(stack):
    student = person("p-student", "Sanne", "de Vries")
    mentor = person("p-mentor", "Marieke", "van Dijk")
    trainer = person("p-trainer", "Hans", "van den Berg")
    coach = person("p-coach", "Anouk", "Jacobs")
    PlacementFactory(
        student=student,
        mentor=mentor,
        school_trainer=trainer,
        study_coach=coach,
        school=TrainingSchoolFactory(name="Domstad Lyceum"),
    )
    return {"student": student, "mentor": mentor, "trainer": trainer, "coach": coach}


def test_problem_path_signal_conversation_briefing_note_evaluation_resolved(
    browser: Browser, stack, smtp_sink, people
):
    student, mentor, trainer, coach = (people[k] for k in ("student", "mentor", "trainer", "coach"))

    # 1. The mentor signals the problem.
    page = log_in(browser, stack, mentor)
    page.click(f'nav a[href="{reverse("cases:signal")}"]')
    expect(page.locator("main h1")).to_have_text("Probleem signaleren")
    page.check("input[name=categories][value=mentor_relationship]")
    page.fill("#id_description", DESCRIPTION)
    page.click("main form button[type=submit]")
    case = Case.objects.get()
    expect(page.locator(".alert-success")).to_contain_text(case.number)
    expect_state(page, State.SIGNALLED)
    expect(page.locator("main")).to_contain_text("gesignaleerd door Marieke van Dijk")
    shot(page, "problem-1-mentor-signalled")
    page.context.close()

    # The others are told by e-mail, in Dutch; the mentor who signalled is not.
    told = smtp_sink.wait_for(lambda m: case.number in m.subject, count=3)
    assert {r for m in told for r in m.recipients} >= {
        student.email,
        trainer.email,
        coach.email,
    }
    assert all("casus" in m.subject and m.subject.startswith("[Stagebureau]") for m in told), [
        m.subject for m in told
    ]

    # 2. The school trainer finds the case on the home page and plans the conversation.
    page = log_in(browser, stack, trainer)
    page.goto(stack(reverse("portal:home")))
    expect(page.locator("main")).to_contain_text(case.number)
    open_step(page, stack, case, "conversations:plan")
    starts = timezone.localtime() - dt.timedelta(hours=2)
    page.fill('input[name="starts_at"]', starts.strftime("%Y-%m-%dT%H:%M"))
    page.fill('input[name="location"]', "Lokaal 2.14")
    submit(page)
    assert state(case) == State.CONVERSATION_PLANNED
    expect_state(page, State.CONVERSATION_PLANNED)
    expect(page.locator(".conversation-card")).to_contain_text("Lokaal 2.14")

    # Everyone invited (but the planner) receives an invitation with a calendar file.
    invitations = smtp_sink.wait_for(
        lambda m: case.number in m.subject and any(a[0].endswith(".ics") for a in m.attachments()),
        count=3,
    )
    assert {r for m in invitations for r in m.recipients} == {
        student.email,
        mentor.email,
        coach.email,
    }
    for mail in invitations:
        (ics,) = [a for a in mail.attachments() if a[0].endswith(".ics")]
        assert ics[1] == "text/calendar"
        assert b"BEGIN:VEVENT" in ics[2] and b"Lokaal 2.14" in ics[2]
        assert "casus" in mail.subject

    # 3. ... records it: the mentor was absent; one improvement action for the study coach.
    open_step(page, stack, case, "conversations:record")
    for who in (student, trainer, coach):
        page.check(f'input[name="attended_{who.pk}"][value="yes"]')
    page.check(f'input[name="attended_{mentor.pk}"][value="no"]')
    page.fill('textarea[name="summary"]', SUMMARY)
    row = page.locator(".action-row").first
    row.locator('input[name$="-description"]').fill("Wekelijkse nabespreking inplannen")
    row.locator('select[name$="-owner"]').select_option(str(coach.pk))
    row.locator('input[name$="-due_date"]').fill(timezone.localdate().isoformat())
    submit(page)
    assert state(case) == State.IMPROVING
    expect_state(page, State.IMPROVING)
    briefing = page.locator(".briefing-item")
    expect(briefing).to_have_count(1)
    expect(briefing).to_contain_text("Marieke van Dijk")
    shot(page, "problem-2-trainer-recorded-with-absentee")

    # ... and briefs the absent mentor.
    briefing.locator("textarea").fill("Telefonisch bijgepraat.")
    briefing.locator("button[type=submit]").click()
    page.wait_for_load_state()
    expect(page.locator(".briefing-item")).to_have_count(0)
    expect(page.locator(".conversation-card")).to_contain_text("bijgepraat door Hans van den Berg")
    page.context.close()

    # 4. The mentor sees the summary to read and confirms it.
    page = log_in(browser, stack, mentor)
    page.goto(stack(reverse("portal:home")))
    summaries = page.locator(".home-summaries")
    expect(summaries).to_contain_text(case.number)
    open_case(page, stack, case)
    expect(page.locator(".conversation-card")).to_contain_text(SUMMARY)
    page.locator(".conversation-card form button[type=submit]").click()
    page.wait_for_load_state()
    expect(page.locator(".conversation-card")).to_contain_text("las de samenvatting op")
    # The mentor neither resolves nor asks for a change of placement.
    for url_name in ("cases:resolve", "transfers:request"):
        link = page.locator(f'#main a[href="{reverse(url_name, args=[case.pk])}"]')
        expect(link).to_have_count(0)
    page.context.close()

    # 5. The student writes the note and submits it.
    page = log_in(browser, stack, student)
    page.goto(stack(reverse("portal:home")))
    page.locator(".home-notes a.btn").first.click()
    expect(page.locator("main h1")).to_be_visible()
    page.fill('textarea[name="text"]', NOTE)
    page.click('button[name="action"][value="submit"]')
    page.wait_for_load_state()
    expect(page.locator(".note-body")).to_contain_text("logboek")
    shot(page, "problem-3-student-note")
    open_case(page, stack, case)
    # The student may ask for a change but neither resolves nor plans.
    expect(page.locator(f'a[href="{reverse("cases:resolve", args=[case.pk])}"]')).to_have_count(0)
    page.context.close()

    # 6. The study coach reads the note and evaluates the action.
    page = log_in(browser, stack, coach)
    page.goto(stack(reverse("portal:home")))
    expect(page.locator(".home-actions")).to_contain_text("Wekelijkse nabespreking")
    open_case(page, stack, case)
    expect(page.locator(".student-note .note-body")).to_contain_text("logboek")
    action = case.actions.get()
    page.click(f'a[href="{reverse("conversations:evaluate_action", args=[action.pk])}"]')
    page.check('input[name="evaluation"][value="helped"]')
    page.fill('textarea[name="comment"]', "Loopt goed, feedback komt elke week.")
    submit(page)
    expect(page.locator(".evaluation-helped")).to_have_count(1)
    page.context.close()

    # 7. The school trainer resolves the case.
    page = log_in(browser, stack, trainer)
    open_step(page, stack, case, "cases:resolve")
    page.fill('textarea[name="note"]', "De begeleiding loopt weer.")
    submit(page)
    assert state(case) == State.CLOSED_RESOLVED
    expect_state(page, State.CLOSED_RESOLVED)
    shot(page, "problem-4-trainer-resolved")
    page.context.close()

    # The student sees the case closed, and is told by e-mail.
    page = log_in(browser, stack, student)
    open_case(page, stack, case)
    expect_state(page, State.CLOSED_RESOLVED)
    expect(page.locator("main")).to_contain_text("Deze casus is gesloten.")
    page.context.close()
    smtp_sink.wait_for(
        lambda m: (
            student.email in m.recipients
            and case.number in m.subject
            and "opgelost" in m.subject.lower()
        ),
    )

    names = list(CaseEvent.objects.filter(case=case).values_list("name", flat=True))
    for step in ("signal", "plan_conversation", "record_conversation", "resolve"):
        assert step in names
