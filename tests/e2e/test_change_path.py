"""The change path end to end (issue 8), every step of the seed: the school trainer asks for a
transfer and informs the office; the all-party conversation is planned (calendar invitations)
and recorded with the five answers; opinions differ, so the ISOP owner advises; the office
records the wrap-up and places the student at a new school with a new study coach; the old coach
hands over warmly; the new coach confirms. Each person logs in in turn (Dutch) and sees their
part; the e-mails arrive in a real SMTP server, sent by the real worker."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Browser, expect

from cases.models import Case, CaseEvent, State
from tests.cases.factories import TrainingSchoolFactory
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

pytestmark = pytest.mark.django_db(transaction=True)

TODAY = timezone.localdate()
ANSWERS = {
    "problem": "De student en de mentor vertrouwen elkaar niet meer.",
    "what_was_done": "Drie gesprekken en een verbeterplan.",
    "when_it_goes_well": "In de lessen zonder de mentor.",
    "student_needs": "Een nieuwe start met een andere mentor.",
    "school_offers": "Geen andere mentor in dit vak.",
}


@pytest.fixture
def people(stack):
    return {
        "student": person("c-student", "Sanne", "de Vries"),
        "mentor": person("c-mentor", "Marieke", "van Dijk"),
        "trainer": person("c-trainer", "Hans", "van den Berg"),
        "coach": person("c-coach", "Anouk", "Jacobs"),
        "office": person("c-office", "Els", "Schouten", office=True),
        "isop": person("c-isop", "Gerard", "van Leeuwen", isop_owner=True),
        "new_mentor": person("c-new-mentor", "Kees", "Dekker"),
        "new_trainer": person("c-new-trainer", "Petra", "Willems"),
        "new_coach": person("c-new-coach", "Ruud", "de Haan"),
    }


@pytest.fixture
def case(people) -> Case:
    """Improvement actions running (the problem path's own journey walks the start)."""
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


def test_change_path_to_a_transfer_with_a_new_study_coach_and_warm_handover(
    browser: Browser, stack, smtp_sink, people, case
):
    p = people

    def mails_to(user, count=1, containing=""):
        return smtp_sink.wait_for(
            lambda m: (
                user.email in m.recipients
                and case.number in m.subject
                and containing.lower() in m.subject.lower()
            ),
            count=count,
        )

    # 1. The school trainer asks for a transfer; student, mentor and coach are told.
    trainer = log_in(browser, stack, p["trainer"])
    open_step(trainer, stack, case, "transfers:request")
    trainer.check('input[name="kind"][value="transfer"]')
    trainer.fill('textarea[name="reason"]', "De relatie met de mentor is niet te herstellen.")
    submit(trainer)
    assert state(case) == State.CHANGE_REQUESTED
    expect_state(trainer, State.CHANGE_REQUESTED)
    expect(trainer.locator(".told-list li")).to_have_count(3)
    for who in ("student", "mentor", "coach"):
        (mail,) = mails_to(p[who], containing="wisseling")
        assert mail.subject.startswith("[Stagebureau]") and "casus" in mail.subject

    # 2. ... informs the office (the office is told).
    open_step(trainer, stack, case, "transfers:inform")
    trainer.fill('textarea[name="note"]', "Gebeld met Els van het stagebureau.")
    submit(trainer)
    assert state(case) == State.OFFICE_INFORMED
    mails_to(p["office"])

    # 3. ... plans the all-party conversation: invitations with a calendar file.
    open_step(trainer, stack, case, "conversations:plan")
    starts = timezone.localtime() - dt.timedelta(hours=2)
    trainer.fill('input[name="starts_at"]', starts.strftime("%Y-%m-%dT%H:%M"))
    trainer.fill('input[name="location"]', "https://teams.example.org/gesprek")
    submit(trainer)
    assert state(case) == State.CHANGE_CONVERSATION_PLANNED
    for who in ("student", "coach"):
        invitations = smtp_sink.wait_for(
            lambda m, who=who: (
                p[who].email in m.recipients
                and case.number in m.subject
                and any(name.endswith(".ics") for name, _type, _data in m.attachments())
                and b"teams.example.org" in m.attachments()[0][2]
            ),
        )
        (ics,) = invitations[-1].attachments()
        assert ics[1] == "text/calendar"
        assert b"METHOD:REQUEST" in ics[2]

    # 4. ... records it with the five answers, and reports that opinions differ.
    open_step(trainer, stack, case, "conversations:record")
    for radio in trainer.locator('input[type=radio][value="yes"]').all():
        radio.check()
    trainer.fill('textarea[name="summary"]', "Alle partijen gehoord.")
    for name, text in ANSWERS.items():
        trainer.fill(f'textarea[name="{name}"]', text)
    submit(trainer)
    assert state(case) == State.OUTCOME_PENDING

    open_step(trainer, stack, case, "transfers:outcome")
    trainer.check('input[name="outcome"][value="opinions_differ"]')
    trainer.select_option(f'select[name="position_{p["student"].pk}"]', "disagree")
    trainer.select_option(f'select[name="position_{p["trainer"].pk}"]', "agree")
    trainer.select_option(f'select[name="position_{p["coach"].pk}"]', "abstain")
    trainer.fill('textarea[name="note"]', "De student wil blijven, de school wil een wissel.")
    submit(trainer)
    assert state(case) == State.ISOP_ADVICE
    expect_state(trainer, State.ISOP_ADVICE)
    shot(trainer, "change-1-trainer-opinions-differ")
    trainer.context.close()

    # The student sees where the case is and that there is nothing to do for them now.
    student = log_in(browser, stack, p["student"])
    open_case(student, stack, case)
    expect_state(student, State.ISOP_ADVICE)
    expect(student.locator(".five-answers")).to_contain_text(ANSWERS["student_needs"])
    student.context.close()

    # 5. The ISOP owner finds the request in the queue (and is told by e-mail), and advises.
    mails_to(p["isop"])
    isop = log_in(browser, stack, p["isop"])
    isop.click(f'nav a[href="{reverse("office:isop_queue")}"]')
    expect(isop.locator("main h1")).to_be_visible()
    request = isop.locator("article.advice-request")
    expect(request).to_have_count(1)
    expect(request).to_contain_text(ANSWERS["school_offers"])
    shot(isop, "change-2-isop-queue")
    request.locator(f'a[href="{reverse("transfers:advice", args=[case.pk])}"]').click()
    isop.check('input[name="decision"][value="transfer"]')
    isop.fill('textarea[name="rationale"]', "Een nieuwe start op een andere school is beter.")
    submit(isop)
    # Advice is advice: the internship office decides.
    assert state(case) == State.DECISION_PENDING
    isop.context.close()

    # 6. The office decides (following the advice); the case on the worklist; wrap-up;
    # placement with a new study coach.
    office = log_in(browser, stack, p["office"])
    open_step(office, stack, case, "transfers:decide")
    office.check('input[name="decision"][value="transfer"]')
    submit(office)
    assert state(case) == State.TRANSFER_REQUESTED
    expect_state(office, State.TRANSFER_REQUESTED, "transfer")
    office.click(f'nav a[href="{reverse("office:worklist")}"]')
    row = office.locator("#step-placement tr.worklist-row")
    expect(row).to_contain_text(case.number)
    shot(office, "change-3-office-worklist")
    open_case(office, stack, case)
    office.click(f'#main a[href="{reverse("transfers:wrap_up", args=[case.pk])}"]')
    office.fill('input[name="last_day"]', TODAY.isoformat())
    office.fill('textarea[name="agreement"]', "Vrijdag afscheid van 2B met een laatste les.")
    submit(office)
    new_school = TrainingSchoolFactory(name="Eemland College")
    open_step(office, stack, case, "transfers:place")
    # The new school's people hold no role yet: the office finds them by their e-mail.
    office.fill("#search-q", "c-new")
    with office.expect_navigation():
        office.click("form[role=search] button[type=submit]")
    office.select_option('select[name="school"]', str(new_school.pk))
    office.select_option('select[name="mentor"]', str(p["new_mentor"].pk))
    office.select_option('select[name="school_trainer"]', str(p["new_trainer"].pk))
    office.select_option('select[name="study_coach"]', str(p["new_coach"].pk))
    office.fill('input[name="start_date"]', (TODAY + dt.timedelta(days=3)).isoformat())
    submit(office)
    assert state(case) == State.HANDOVER
    expect_state(office, State.HANDOVER)
    office.context.close()

    # Old and new coach get the warm-handover e-mail (Dutch subject); the student is told.
    for who in ("coach", "new_coach"):
        (mail,) = mails_to(p[who], containing="Warme overdracht aan een nieuwe studiecoach")
        assert case.number in mail.text() or reverse("portal:case", args=[case.pk]) in (mail.text())
    mails_to(p["student"], containing="geplaatst")

    # 7. The old coach records the warm handover; the case closes as transferred.
    coach = log_in(browser, stack, p["coach"])
    coach.goto(stack(reverse("portal:home")))
    expect(coach.locator("main")).to_contain_text(case.number)
    open_step(coach, stack, case, "transfers:handover")
    coach.fill('input[name="contact_made_on"]', TODAY.isoformat())
    coach.fill('textarea[name="what_helped"]', "Vaste afspraken op maandag.")
    coach.fill('textarea[name="student_needs"]', "Een duidelijke start en een vast aanspreekpunt.")
    coach.fill('textarea[name="open_actions"]', "Wekelijks gesprek voortzetten.")
    submit(coach)
    assert state(case) == State.CLOSED_TRANSFERRED
    # The old coach's part is done: back on "my cases", which no longer lists the case.
    expect(coach.locator(".alert-success")).to_contain_text("warme overdracht is vastgelegd")
    expect(coach.locator(f'#main a[href="{case.get_absolute_url()}"]')).to_have_count(0)
    shot(coach, "change-4-old-coach-after-handover")
    coach.context.close()

    # 8. The new coach reads the whole file and confirms receipt of the handover.
    new_coach = log_in(browser, stack, p["new_coach"])
    open_case(new_coach, stack, case)
    expect(new_coach.locator("#main")).to_contain_text("Een duidelijke start")
    received = reverse("transfers:handover_received", args=[case.handovers.get().pk])
    new_coach.click(f'#main a[href="{received}"]')
    shot(new_coach, "change-5-new-coach-handover")
    new_coach.click("main form button[type=submit]")
    new_coach.wait_for_load_state()
    assert case.handovers.get().received_at is not None
    shot(new_coach, "change-6-closed-timeline")
    new_coach.context.close()

    # The old school's mentor no longer has access (need-to-know after a transfer); the new
    # school's mentor never has: they see that the student arrives.
    mentor = log_in(browser, stack, p["mentor"])
    response = mentor.goto(stack(case.get_absolute_url()))
    assert response.status == 404
    mentor.context.close()
    new_mentor = log_in(browser, stack, p["new_mentor"])
    assert new_mentor.goto(stack(case.get_absolute_url())).status == 404
    new_mentor.goto(stack(reverse("portal:home")))
    expect(new_mentor.locator(".home-arrivals")).to_contain_text(str(p["student"]))
    new_mentor.context.close()

    names = set(CaseEvent.objects.filter(case=case).values_list("name", flat=True))
    assert names >= {
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
    }
    # Every e-mail the journey caused was in Dutch and named the case.
    mails = [m for m in smtp_sink.snapshot() if case.number in m.subject]
    assert mails and all("casus" in m.subject for m in mails)
