"""ISOP advice is advice, end to end (issue #12): after the all-party conversation opinions
differ; the ISOP process owner advises "stop" from the advice queue; the internship office
decides otherwise, "transfer", and must give a reason for departing from the advice. Both are
on the timeline in Dutch, the ISOP owner and the people on the case are told, and the steering
report counts the advice and the departure. Each person logs in through the login page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Browser, expect

from cases.models import CaseEvent, Outcome, State
from conversations import services as conversation_services
from tests.e2e.journey import expect_state, log_in, open_case, open_step, person, shot, state
from tests.journeys import improving_case
from transfers import services as transfer_services
from transfers.models import OfficeDecision

pytestmark = pytest.mark.django_db(transaction=True)

RATIONALE = "De student is uitgeput; eerst stoppen en later elders opnieuw beginnen."
REASON = "Een andere school met een kleinere sectie kan per direct een plek bieden."
ANSWERS = {
    "problem": "De student en de sectie botsen over de lesaanpak.",
    "what_was_done": "Twee verbetertrajecten en een andere klas.",
    "when_it_goes_well": "In kleine groepen met vaste afspraken.",
    "student_needs": "Rust en een begeleider met tijd.",
    "school_offers": "Geen andere sectie beschikbaar.",
}


@pytest.fixture
def people(stack):
    return {
        "student": person("d-student", "Finn", "Willemsen"),
        "mentor": person("d-mentor", "Kees", "Dekker"),
        "trainer": person("d-trainer", "Hans", "van den Berg"),
        "coach": person("d-coach", "Anouk", "Jacobs"),
        "office": person("d-office", "Els", "Schouten", office=True),
        "isop": person("d-isop", "Gerard", "van Leeuwen", isop_owner=True),
    }


@pytest.fixture
def case(people):
    """Through the services up to the question for the ISOP owner (the steps before it are
    walked in the browser by the change path's journey)."""
    case = improving_case(
        people,
        school="Zuiderpoort Scholengemeenschap",
        signalled_by="student",
        category="classroom",
        description="Het lukt niet meer in deze sectie.",
        planner="trainer",
        days_ago=20,
        location="Lokaal 1.04",
        summary="Afspraken over de lesaanpak.",
        action="Lessen samen voorbereiden",
    )
    trainer = people["trainer"]
    transfer_services.request_change(
        case_id=case.pk, by=people["student"], kind="stop", reason="Ik wil stoppen."
    )
    transfer_services.inform_office(case_id=case.pk, by=trainer, note="Gebeld.")
    conversation = conversation_services.plan_conversation(
        case_id=case.pk,
        by=trainer,
        starts_at=timezone.now() - dt.timedelta(hours=2),
        location="Online",
    )
    conversation_services.record_conversation(
        case_id=case.pk,
        by=trainer,
        attendance={i.person_id: True for i in conversation.invitations.all()},
        summary="Alle partijen gehoord.",
        answers=ANSWERS,
    )
    positions = {i.person_id: "agree" for i in conversation.invitations.all()}
    positions[trainer.pk] = "disagree"
    transfer_services.report_outcome(
        case_id=case.pk,
        by=trainer,
        outcome=Outcome.OPINIONS_DIFFER,
        positions=positions,
        note="De school wil de student houden; de student wil stoppen.",
    )
    case.refresh_from_db()
    assert case.state == State.ISOP_ADVICE
    return case


def test_the_isop_owner_advises_stop_and_the_office_decides_transfer_with_a_reason(
    browser: Browser, stack, smtp_sink, people, case
):
    p = people

    # 1. The ISOP owner advises "stop" from the queue, with a rationale.
    isop = log_in(browser, stack, p["isop"])
    isop.click(f'nav a[href="{reverse("office:isop_queue")}"]')
    request = isop.locator("article.advice-request")
    expect(request).to_contain_text(ANSWERS["when_it_goes_well"])
    request.locator(f'a[href="{reverse("transfers:advice", args=[case.pk])}"]').click()
    isop.check('input[name="decision"][value="stop"]')
    isop.fill('textarea[name="rationale"]', RATIONALE)
    isop.click("form.step-form button[type=submit]")
    isop.wait_for_load_state()
    expect(isop.locator(".alert-danger")).to_have_count(0)
    # Advice is advice: the office decides next.
    assert state(case) == State.DECISION_PENDING
    expect_state(isop, State.DECISION_PENDING)
    isop.context.close()
    smtp_sink.wait_for(lambda m: p["office"].email in m.recipients and case.number in m.subject)

    # 2. The office finds the case waiting for its decision and sees the advice.
    office = log_in(browser, stack, p["office"])
    office.click(f'nav a[href="{reverse("office:worklist")}"]')
    expect(office.locator("#step-decision")).to_contain_text(case.number)
    open_step(office, stack, case, "transfers:decide")
    expect(office.locator(".advice-digest")).to_contain_text("stopzetting van de stage")
    expect(office.locator(".advice-digest")).to_contain_text(RATIONALE)

    # Departing from the advice without a reason is refused on the form.
    office.check('input[name="decision"][value="transfer"]')
    office.click("form.step-form button[type=submit]")
    office.wait_for_load_state()
    expect(office.locator("main")).to_contain_text("wijkt af van het advies: geef de reden")
    assert state(case) == State.DECISION_PENDING
    assert not OfficeDecision.objects.exists()
    shot(office, "decision-1-reason-needed")

    # ... with a reason it is recorded.
    office.check('input[name="decision"][value="transfer"]')
    office.fill('textarea[name="reason"]', REASON)
    office.click("form.step-form button[type=submit]")
    office.wait_for_load_state()
    expect(office.locator(".alert-danger")).to_have_count(0)
    assert state(case) == State.TRANSFER_REQUESTED
    expect_state(office, State.TRANSFER_REQUESTED, "transfer")
    decision = OfficeDecision.objects.get()
    assert (decision.decision, decision.advice.decision, decision.follows_advice) == (
        "transfer",
        "stop",
        False,
    )

    # Both on the case page and the timeline, in Dutch.
    open_case(office, stack, case)
    expect(office.locator(".office-decision")).to_contain_text("wijkt af van het advies")
    expect(office.locator(".office-decision")).to_contain_text(REASON)
    timeline = office.locator(".timeline")
    expect(timeline).to_contain_text("Advies: stopzetting van de stage")
    expect(timeline).to_contain_text("Besluit: wisseling van stageplek")
    expect(timeline).to_contain_text("Dit wijkt af van het advies van ISOP")
    shot(office, "decision-2-timeline")

    # The steering report counts the advice and that the decision departed from it.
    steering = office.request.get(stack(reverse("office:steering_report", args=["csv"])))
    assert steering.ok
    report = steering.text()
    assert "ISOP" in report and "week af van het advies" in report
    office.context.close()

    # 3. The ISOP owner and the people on the case are told of the decision.
    for who in ("isop", "student", "trainer", "coach"):
        smtp_sink.wait_for(
            lambda m, who=who: (
                p[who].email in m.recipients
                and case.number in m.subject
                and "besloten" in m.subject.lower()
            )
        )

    # The mentor reads neither the advice nor the decision's reason.
    mentor = log_in(browser, stack, p["mentor"])
    open_case(mentor, stack, case)
    expect(mentor.locator("main")).not_to_contain_text(RATIONALE)
    expect(mentor.locator("main")).not_to_contain_text(REASON)
    mentor.context.close()

    names = list(
        CaseEvent.objects.filter(case=case, kind="transition").values_list("name", flat=True)
    )
    assert names[-2:] == ["give_advice", "decide"]
