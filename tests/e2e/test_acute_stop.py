"""The acute stop end to end (issue #12): the stop route is advised, not compulsory. A student
signals a problem and, right after, records a temporary stop herself (illness), with a reason
and an expected return date; everyone on the placement and the internship office are told.
Later the office makes the stop definitive: the placement ends and the case closes as stopped.
Each person logs in through the login page (Dutch); the e-mails go through the real worker to
the SMTP sink."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import formats, timezone, translation
from playwright.sync_api import Browser, expect

from cases.models import Case, CaseEvent, Placement, State
from tests.cases.factories import PlacementFactory, TrainingSchoolFactory
from tests.e2e.journey import expect_state, log_in, open_case, open_step, person, shot, state

pytestmark = pytest.mark.django_db(transaction=True)

TODAY = timezone.localdate()
BACK_ON = TODAY + dt.timedelta(days=28)
REASON = "Ik ben na een auto-ongeluk voorlopig niet in staat om les te geven."


@pytest.fixture
def people(stack):
    return {
        "student": person("a-student", "Milan", "Verhoeven"),
        "mentor": person("a-mentor", "Ingrid", "Brouwer"),
        "trainer": person("a-trainer", "Petra", "Willems"),
        "coach": person("a-coach", "Ruud", "de Haan"),
        "office": person("a-office", "Els", "Schouten", office=True),
    }


@pytest.fixture
def placement(people) -> Placement:
    return PlacementFactory(
        student=people["student"],
        mentor=people["mentor"],
        school_trainer=people["trainer"],
        study_coach=people["coach"],
        school=TrainingSchoolFactory(name="Het Baken College"),
    )


def test_a_student_stops_at_once_and_the_office_makes_it_definitive(
    browser: Browser, stack, smtp_sink, people, placement
):
    p = people

    # 1. The student signals the problem in the browser.
    student = log_in(browser, stack, p["student"])
    student.goto(stack(reverse("cases:signal")))
    student.check('input[name="categories"][value="wellbeing"]')
    student.fill('textarea[name="description"]', "Na een ongeluk lig ik in het ziekenhuis.")
    student.click("main form button[type=submit]")
    student.wait_for_load_state()
    case = Case.objects.get(placement=placement)
    assert state(case) == State.SIGNALLED
    expect_state(student, State.SIGNALLED)

    # 2. Right after signalling she stops at once: the step is on her case page, apart from
    # the process's next steps (it is not the advised route).
    stop_now = reverse("transfers:stop_now", args=[case.pk])
    expect(student.locator(f'.secondary-steps a[href="{stop_now}"]')).to_be_visible()
    student.click(f'.secondary-steps a[href="{stop_now}"]')
    expect(student.locator("form.step-form")).to_be_visible()
    student.check('input[name="temporary"][value="yes"]')
    student.fill('input[name="expected_resume_date"]', BACK_ON.isoformat())
    student.fill('textarea[name="reason"]', REASON)
    student.click("form.step-form button[type=submit]")
    student.wait_for_load_state()
    expect(student.locator(".alert-danger")).to_have_count(0)
    assert state(case) == State.STOPPED
    expect_state(student, State.STOPPED, "stop_temporary")
    with translation.override("nl"):
        back_on = formats.date_format(BACK_ON, "j F Y")
    expect(student.locator("main")).to_contain_text(back_on)
    shot(student, "acute-1-student-stopped-at-once")
    student.context.close()
    assert Placement.objects.get(pk=placement.pk).status == Placement.Status.PAUSED

    # Everyone on the placement and the office are told, in Dutch, that the stop is at once.
    for who in ("mentor", "trainer", "coach", "office"):
        (mail,) = smtp_sink.wait_for(
            lambda m, who=who: (
                p[who].email in m.recipients
                and case.number in m.subject
                and "direct gestopt" in m.subject.lower()
            )
        )
        assert "casus" in mail.subject
        assert REASON not in mail.text()  # an e-mail says that, never what

    # 3. The office finds the case with the stopped ones and makes the stop definitive.
    office = log_in(browser, stack, p["office"])
    office.click(f'nav a[href="{reverse("office:worklist")}"]')
    expect(office.locator("#step-stopped")).to_contain_text(case.number)
    open_case(office, stack, case)
    expect(office.locator("main")).to_contain_text(REASON)
    open_step(office, stack, case, "transfers:make_definitive")
    office.fill('input[name="ends_on"]', TODAY.isoformat())
    office.fill('textarea[name="note"]', "Het herstel duurt langer; volgend jaar opnieuw starten.")
    office.click("form.step-form button[type=submit]")
    office.wait_for_load_state()
    expect(office.locator(".alert-danger")).to_have_count(0)
    assert state(case) == State.CLOSED_STOPPED
    expect_state(office, State.CLOSED_STOPPED)
    timeline = office.locator(".timeline")
    expect(timeline).to_contain_text("Stage direct gestopt")
    expect(timeline).to_contain_text("Onderbreking definitief gemaakt")
    expect(timeline).to_contain_text("Tijdelijk; verwacht terug op")
    shot(office, "acute-2-office-made-definitive")
    office.context.close()

    placement.refresh_from_db()
    assert (placement.status, placement.end_date) == (Placement.Status.ENDED, TODAY)

    # 4. The student sees the case closed, and is told by e-mail.
    student = log_in(browser, stack, p["student"])
    open_case(student, stack, case)
    expect_state(student, State.CLOSED_STOPPED)
    expect(student.locator("main")).to_contain_text("Deze casus is gesloten.")
    student.context.close()
    smtp_sink.wait_for(
        lambda m: (
            p["student"].email in m.recipients
            and case.number in m.subject
            and "definitief" in m.subject.lower()
        )
    )

    names = list(
        CaseEvent.objects.filter(case=case, kind="transition").values_list("name", flat=True)
    )
    assert names == ["signal", "stop_now", "make_definitive"]
