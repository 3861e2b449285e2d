"""The change-path pages: request, inform the office, outcome, advice, place, stop, resume,
handover, its receipt and the wrap-up with the class."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape

from cases.models import GuardFailed, Outcome, Placement, Role, State
from cases.services import CaseChangedMeanwhile
from tests.cases.factories import CaseFactory, TrainingSchoolFactory, UserFactory
from tests.conversations.factories import ConversationFactory
from tests.transfers.factories import (
    ChangeRequestFactory,
    HandoverFactory,
    IsopAdviceFactory,
    OutcomeReportFactory,
    PositionFactory,
    StopFactory,
    WrapUpFactory,
)
from transfers.models import ChangeRequest, Handover, IsopAdvice, Stop, WrapUp

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def dutch(message) -> str:
    with translation.override("nl"):
        return escape(str(message))


def changed_meanwhile() -> str:
    return dutch(CaseChangedMeanwhile().message)


def url(name: str, case) -> str:
    return reverse(f"transfers:{name}", args=[case.pk])


@pytest.mark.parametrize(
    "name",
    ["request", "inform", "outcome", "advice", "place", "stop", "resume", "handover", "wrap_up"],
)
def test_anonymous_visitors_go_to_login_and_unrelated_users_get_404(client, name):
    case = CaseFactory(improving=True)
    response = client.get(url(name, case))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
    client.force_login(UserFactory())
    assert client.get(url(name, case)).status_code == 404
    assert client.post(url(name, case), {"seen_version": case.version}).status_code == 404


class TestRequest:
    def test_the_student_requests_a_transfer(self, client):
        case = CaseFactory(improving=True)
        client.force_login(case.placement.student)
        assert client.get(url("request", case)).status_code == 200
        response = client.post(
            url("request", case),
            {
                "seen_version": case.version,
                "kind": "transfer",
                "reason": "Geen klik met de mentor.",
            },
        )
        assert response.status_code == 302
        case.refresh_from_db()
        assert case.state == State.CHANGE_REQUESTED
        request = ChangeRequest.objects.get()
        assert request.reason == "Geen klik met de mentor."
        assert case.placement.mentor in request.made_known_to.all()

    def test_the_mentor_may_not_request(self, client):
        case = CaseFactory(improving=True)
        client.force_login(case.placement.mentor)
        assert client.get(url("request", case)).status_code == 403
        response = client.post(
            url("request", case),
            {
                "seen_version": case.version,
                "kind": "transfer",
                "reason": "x",
            },
        )
        assert response.status_code == 403
        case.refresh_from_db()
        assert case.state == State.IMPROVING

    def test_a_stale_version_says_changed_meanwhile(self, client):
        case = CaseFactory(improving=True)
        client.force_login(case.placement.school_trainer)
        response = client.post(
            url("request", case),
            {
                "seen_version": 99,
                "kind": "stop",
                "reason": "Mijn uitgebreide reden",
            },
        )
        assert response.status_code == 409
        content = response.content.decode()
        assert changed_meanwhile() in content
        assert "Mijn uitgebreide reden" in content
        assert not ChangeRequest.objects.exists()


class TestInform:
    def test_the_school_trainer_records_the_contact(self, client):
        case = CaseFactory(change_requested=True)
        ChangeRequestFactory(case=case)
        client.force_login(case.placement.school_trainer)
        response = client.post(
            url("inform", case),
            {
                "seen_version": case.version,
                "note": "Gebeld met Els.",
            },
        )
        assert response.status_code == 302
        case.refresh_from_db()
        assert case.state == State.OFFICE_INFORMED
        request = case.change_requests.get()
        assert request.office_contact_note == "Gebeld met Els."
        assert request.recorded_by_office is False

    def test_the_office_records_on_behalf_of_the_school_trainer(self, client):
        case = CaseFactory(change_requested=True)
        ChangeRequestFactory(case=case)
        office = UserFactory(office=True)
        client.force_login(office)
        page = client.get(url("inform", case))
        assert escape(str(case.placement.school_trainer)) in page.content.decode()
        response = client.post(url("inform", case), {"seen_version": case.version, "note": ""})
        assert response.status_code == 302
        case.refresh_from_db()
        assert case.state == State.OFFICE_INFORMED
        assert case.change_requests.get().recorded_by_office is True
        assert case.events.last().on_behalf_of == case.placement.school_trainer

    def test_the_student_may_not_inform(self, client):
        case = CaseFactory(change_requested=True)
        ChangeRequestFactory(case=case)
        client.force_login(case.placement.student)
        response = client.post(url("inform", case), {"seen_version": case.version, "note": "x"})
        assert response.status_code == 403
        case.refresh_from_db()
        assert case.state == State.CHANGE_REQUESTED


def held_change_conversation(case):
    return ConversationFactory(case=case, change=True, held=True, invite=True, answered=True)


def positions(conversation, **stances) -> dict:
    """position_<pk> for every invitee: 'agree' unless the role is named in stances."""
    return {
        f"position_{i.person_id}": stances.get(i.role, "agree")
        for i in conversation.invitations.all()
    }


class TestOutcome:
    def test_opinions_differ_goes_to_the_isop_owner(self, client):
        case = CaseFactory(outcome_pending=True)
        conversation = held_change_conversation(case)
        client.force_login(case.placement.school_trainer)
        page = client.get(url("outcome", case))
        assert page.status_code == 200
        assert len([f for f in page.context["form"].fields if f.startswith("position_")]) == 3
        response = client.post(
            url("outcome", case),
            {
                "seen_version": case.version,
                "outcome": Outcome.OPINIONS_DIFFER,
                "note": "De student wil blijven.",
                **positions(conversation, **{Role.STUDENT: "disagree"}),
            },
        )
        assert response.status_code == 302
        case.refresh_from_db()
        assert case.state == State.ISOP_ADVICE
        report = case.outcome_reports.get()
        assert report.positions.get(person=case.placement.student).stance == "disagree"
        assert IsopAdvice.objects.filter(case=case).exists()

    def test_everyone_agrees_with_a_disagreement_is_refused_with_the_text_kept(self, client):
        case = CaseFactory(outcome_pending=True)
        conversation = held_change_conversation(case)
        client.force_login(case.placement.school_trainer)
        response = client.post(
            url("outcome", case),
            {
                "seen_version": case.version,
                "outcome": Outcome.AGREE_TRANSFER,
                "note": "Toelichting die blijft staan",
                **positions(conversation, **{Role.STUDY_COACH: "disagree"}),
            },
        )
        assert response.status_code == 200
        assert "Toelichting die blijft staan" in response.content.decode()
        assert response.context["form"].non_field_errors()
        case.refresh_from_db()
        assert case.state == State.OUTCOME_PENDING
        assert not case.outcome_reports.exists()

    def test_the_student_may_not_report(self, client):
        case = CaseFactory(outcome_pending=True)
        conversation = held_change_conversation(case)
        client.force_login(case.placement.student)
        assert client.get(url("outcome", case)).status_code == 403
        response = client.post(
            url("outcome", case),
            {
                "seen_version": case.version,
                "outcome": Outcome.CONTINUE,
                **positions(conversation),
            },
        )
        assert response.status_code == 403
        case.refresh_from_db()
        assert case.state == State.OUTCOME_PENDING


class TestAdvice:
    @pytest.fixture
    def case(self):
        case = CaseFactory(isop_advice=True)
        held_change_conversation(case)
        report = OutcomeReportFactory(case=case, opinions_differ=True)
        PositionFactory(report=report, disagrees=True)
        IsopAdviceFactory(case=case, question="Blijven of wisselen?")
        return case

    def test_the_isop_owner_sees_the_digest_and_gives_advice(self, client, case):
        owner = UserFactory(isop_owner=True)
        client.force_login(owner)
        page = client.get(url("advice", case))
        assert page.status_code == 200
        content = page.content.decode()
        conversation = case.conversations.get()
        assert escape(conversation.school_offers) in content
        assert "Blijven of wisselen?" in content
        assert "stance-disagree" in content
        response = client.post(
            url("advice", case),
            {
                "seen_version": case.version,
                "decision": "transfer",
                "rationale": "Een nieuwe start.",
            },
        )
        assert response.status_code == 302
        case.refresh_from_db()
        # Advice is advice: the internship office decides next.
        assert case.state == State.DECISION_PENDING
        assert case.isop_requests.get().rationale == "Een nieuwe start."

    def test_the_school_trainer_may_not_advise(self, client, case):
        client.force_login(case.placement.school_trainer)
        assert client.get(url("advice", case)).status_code == 403
        response = client.post(
            url("advice", case),
            {
                "seen_version": case.version,
                "decision": "continue",
                "rationale": "x",
            },
        )
        assert response.status_code == 403
        case.refresh_from_db()
        assert case.state == State.ISOP_ADVICE

    def test_a_stale_version_says_changed_meanwhile(self, client, case):
        client.force_login(UserFactory(isop_owner=True))
        response = client.post(
            url("advice", case),
            {
                "seen_version": 99,
                "decision": "continue",
                "rationale": "Mijn advies tekst",
            },
        )
        assert response.status_code == 409
        assert changed_meanwhile() in response.content.decode()
        assert "Mijn advies tekst" in response.content.decode()


def place_data(case, *, coach=None, wrap_up=True) -> dict:
    data = {
        "seen_version": case.version,
        "school": TrainingSchoolFactory().pk,
        "mentor": UserFactory().pk,
        "school_trainer": UserFactory().pk,
        "study_coach": (coach or UserFactory()).pk,
        "coordinating_trainer": "",
        "start_date": TODAY.isoformat(),
    }
    if wrap_up:
        data |= {"last_day": TODAY.isoformat(), "agreement": "Afscheid op vrijdag."}
    return data


class TestPlace:
    def test_it_records_the_wrap_up_at_once_and_starts_the_handover(self, client):
        case = CaseFactory(transfer_requested=True)
        old = case.placement
        client.force_login(UserFactory(office=True))
        page = client.get(url("place", case))
        assert page.status_code == 200
        assert "agreement" in page.context["form"].fields
        response = client.post(url("place", case), place_data(case))
        assert response.status_code == 302
        case.refresh_from_db()
        old.refresh_from_db()
        assert case.state == State.HANDOVER
        assert case.placement == old and case.new_placement not in (None, old)
        assert old.status == Placement.Status.TRANSFERRED
        assert WrapUp.objects.get(case=case).agreement == "Afscheid op vrijdag."
        assert Handover.objects.get(case=case).old_coach == old.study_coach

    def test_with_a_wrap_up_already_recorded_the_fields_are_not_asked(self, client):
        case = CaseFactory(transfer_requested=True)
        WrapUpFactory(case=case, agreed=True)
        client.force_login(UserFactory(office=True))
        fields = client.get(url("place", case)).context["form"].fields
        assert "agreement" not in fields and "agree_wrap_up" not in fields
        data = place_data(case, coach=case.placement.study_coach, wrap_up=False)
        # Not before the agreed last day (the factory's wrap-up: in five days).
        data["start_date"] = (TODAY + dt.timedelta(days=7)).isoformat()
        response = client.post(url("place", case), data)
        assert response.status_code == 302
        case.refresh_from_db()
        assert case.state == State.CLOSED_TRANSFERRED

    def test_a_refused_placement_stores_no_wrap_up_and_keeps_the_text(self, client, monkeypatch):
        case = CaseFactory(transfer_requested=True)

        def refuse(**kwargs):
            raise GuardFailed("Geweigerd voor de test.")

        monkeypatch.setattr("transfers.views.services.place_student", refuse)
        client.force_login(UserFactory(office=True))
        response = client.post(url("place", case), place_data(case))
        assert response.status_code == 200
        assert "Geweigerd voor de test." in response.content.decode()
        assert "Afscheid op vrijdag." in response.content.decode()
        assert not WrapUp.objects.exists()
        case.refresh_from_db()
        assert case.state == State.TRANSFER_REQUESTED

    def test_the_school_trainer_may_not_place(self, client):
        case = CaseFactory(transfer_requested=True)
        client.force_login(case.placement.school_trainer)
        assert client.get(url("place", case)).status_code == 403
        assert client.post(url("place", case), place_data(case)).status_code == 403
        case.refresh_from_db()
        assert case.state == State.TRANSFER_REQUESTED
        assert not WrapUp.objects.exists()


class TestStop:
    def test_a_temporary_stop_needs_a_resume_date_and_loses_nothing(self, client):
        case = CaseFactory(transfer_requested=True)
        client.force_login(UserFactory(office=True))
        response = client.post(
            url("stop", case),
            {
                "seen_version": case.version,
                "temporary": "yes",
                "expected_resume_date": "",
                "last_day": TODAY.isoformat(),
                "agreement": "Afscheid met taart.",
            },
        )
        assert response.status_code == 200
        assert "Afscheid met taart." in response.content.decode()
        assert response.context["form"].non_field_errors()
        assert not WrapUp.objects.exists()
        assert not Stop.objects.exists()

    def test_it_stops_temporarily(self, client):
        case = CaseFactory(transfer_requested=True)
        client.force_login(UserFactory(office=True))
        response = client.post(
            url("stop", case),
            {
                "seen_version": case.version,
                "temporary": "yes",
                "expected_resume_date": (TODAY + dt.timedelta(days=40)).isoformat(),
                "last_day": TODAY.isoformat(),
                "agreement": "Afscheid met taart.",
            },
        )
        assert response.status_code == 302
        case.refresh_from_db()
        assert case.state == State.STOPPED
        assert case.placement.status == Placement.Status.PAUSED

    def test_the_student_may_not_stop(self, client):
        case = CaseFactory(transfer_requested=True)
        client.force_login(case.placement.student)
        response = client.post(
            url("stop", case),
            {
                "seen_version": case.version,
                "temporary": "no",
                "last_day": TODAY.isoformat(),
                "agreement": "x",
            },
        )
        assert response.status_code == 403
        case.refresh_from_db()
        assert case.state == State.TRANSFER_REQUESTED


class TestResume:
    def test_the_office_resumes(self, client):
        case = CaseFactory(stopped=True)
        StopFactory(case=case, is_temporary=True)
        client.force_login(UserFactory(office=True))
        assert client.get(url("resume", case)).status_code == 200
        response = client.post(
            url("resume", case), {"seen_version": case.version, "resumed_on": TODAY.isoformat()}
        )
        assert response.status_code == 302
        case.refresh_from_db()
        assert case.state == State.CLOSED_RESUMED

    def test_the_school_trainer_may_not_resume(self, client):
        case = CaseFactory(stopped=True)
        StopFactory(case=case, is_temporary=True)
        client.force_login(case.placement.school_trainer)
        assert client.post(url("resume", case), {"seen_version": case.version}).status_code == 403

    def test_a_stale_version_says_changed_meanwhile(self, client):
        case = CaseFactory(stopped=True)
        StopFactory(case=case, is_temporary=True)
        client.force_login(UserFactory(office=True))
        response = client.post(
            url("resume", case), {"seen_version": 99, "resumed_on": TODAY.isoformat()}
        )
        assert response.status_code == 409
        assert changed_meanwhile() in response.content.decode()


class TestHandover:
    def data(self, case):
        return {
            "seen_version": case.version,
            "contact_made_on": TODAY.isoformat(),
            "what_helped": "Vaste afspraken.",
            "student_needs": "Rust.",
            "open_actions": "",
        }

    def test_the_old_coach_records_the_handover(self, client):
        handover = HandoverFactory()
        case = handover.case
        client.force_login(handover.old_coach)
        assert client.get(url("handover", case)).status_code == 200
        response = client.post(url("handover", case), self.data(case))
        assert response.status_code == 302
        # The old coach no longer sees the closed case: back to "my cases".
        assert response.url == reverse("cases:my_cases")
        case.refresh_from_db()
        handover.refresh_from_db()
        assert case.state == State.CLOSED_TRANSFERRED
        assert handover.what_helped == "Vaste afspraken."

    def test_the_new_coach_may_not_record_it(self, client):
        handover = HandoverFactory()
        client.force_login(handover.new_coach)
        response = client.post(url("handover", handover.case), self.data(handover.case))
        assert response.status_code == 403
        handover.case.refresh_from_db()
        assert handover.case.state == State.HANDOVER

    def test_the_new_coach_confirms_receipt(self, client):
        handover = HandoverFactory(contact_made=True, confirmed=True)
        received = reverse("transfers:handover_received", args=[handover.pk])
        client.force_login(handover.new_coach)
        assert received in client.get(handover.case.get_absolute_url()).content.decode()
        page = client.get(received)
        assert page.status_code == 200
        assert b"Structuur" in page.content
        response = client.post(received)
        assert response.status_code == 302
        handover.refresh_from_db()
        assert handover.received_at is not None

    def test_only_the_new_coach_confirms_receipt(self, client):
        handover = HandoverFactory(contact_made=True, confirmed=True)
        received = reverse("transfers:handover_received", args=[handover.pk])
        client.force_login(handover.case.placement.student)
        assert client.post(received).status_code == 403
        client.force_login(UserFactory())
        assert client.post(received).status_code == 404
        handover.refresh_from_db()
        assert handover.received_at is None


class TestPlaceWithAWrapUpNotYetAgreed:
    def test_the_office_marks_it_agreed_on_behalf_of_the_student(self, client):
        case = CaseFactory(transfer_requested=True)
        WrapUpFactory(case=case)  # recorded by the school trainer; the student has not agreed
        client.force_login(UserFactory(office=True))
        assert "agree_wrap_up" in client.get(url("place", case)).context["form"].fields
        data = place_data(case, coach=case.placement.study_coach, wrap_up=False)
        data["start_date"] = (TODAY + dt.timedelta(days=7)).isoformat()
        refused = client.post(url("place", case), data)
        assert refused.status_code == 200
        assert refused.context["form"].errors["agree_wrap_up"]
        response = client.post(url("place", case), {**data, "agree_wrap_up": "on"})
        assert response.status_code == 302
        case.refresh_from_db()
        assert case.state == State.CLOSED_TRANSFERRED
        wrap_up = case.wrap_ups.get()
        assert wrap_up.confirmed_on_behalf and wrap_up.confirmed_at is not None
        event = case.events.get(name="wrap_up_agreed")
        assert event.on_behalf_of == case.placement.student


class TestWrapUp:
    def test_the_student_records_the_wrap_up(self, client):
        case = CaseFactory(transfer_requested=True)
        client.force_login(case.placement.student)
        response = client.post(
            url("wrap_up", case),
            {
                "seen_version": case.version,
                "last_day": TODAY.isoformat(),
                "agreement": "Laatste les met een quiz.",
            },
        )
        assert response.status_code == 302
        assert WrapUp.objects.get(case=case).agreement == "Laatste les met een quiz."

    def test_the_mentor_may_not_record_it(self, client):
        case = CaseFactory(transfer_requested=True)
        client.force_login(case.placement.mentor)
        assert client.get(url("wrap_up", case)).status_code == 403

    def test_outside_transfer_requested_it_is_refused_with_the_text_kept(self, client):
        case = CaseFactory(improving=True)
        client.force_login(case.placement.school_trainer)
        response = client.post(
            url("wrap_up", case),
            {
                "seen_version": case.version,
                "last_day": TODAY.isoformat(),
                "agreement": "Te vroeg afgesproken.",
            },
        )
        assert response.status_code == 200
        assert "Te vroeg afgesproken." in response.content.decode()
        assert not WrapUp.objects.exists()


def test_the_whole_change_path_through_the_pages(client):
    """Signal → … → opinions differ → ISOP advice → new placement → handover, all via the UI;
    the case page renders for the actor after every step."""
    from cases.models import Case
    from tests.cases.factories import PlacementFactory

    placement = PlacementFactory()
    trainer, coach, student = placement.school_trainer, placement.study_coach, placement.student
    office, isop = UserFactory(office=True), UserFactory(isop_owner=True)
    new_coach = UserFactory()

    def step(user, name, data, app="transfers"):
        client.force_login(user)
        case = Case.objects.get()
        target = reverse(f"{app}:{name}", args=[case.pk])
        assert client.get(target).status_code == 200, name
        response = client.post(target, {"seen_version": case.version, **data})
        assert response.status_code == 302, (name, response.content.decode()[-3000:])
        page = client.get(response.url)
        assert page.status_code == 200
        return Case.objects.get()

    client.force_login(student)
    client.post(
        reverse("cases:signal"),
        {"placement": placement.pk, "categories": ["atmosphere"], "description": "Onveilig."},
    )
    # An hour ago: a conversation is recorded once it has taken place.
    when = (timezone.localtime() - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    case = step(trainer, "plan", {"starts_at": when, "location": "Lokaal 3"}, "conversations")
    conversation = case.conversations.get()
    attended = {f"attended_{i.person_id}": "yes" for i in conversation.invitations.all()}
    actions = {
        "actions-TOTAL_FORMS": "1",
        "actions-INITIAL_FORMS": "0",
        "actions-MIN_NUM_FORMS": "1",
        "actions-MAX_NUM_FORMS": "20",
        "actions-0-description": "Gesprek met sectie",
        "actions-0-owner": trainer.pk,
        "actions-0-due_date": TODAY.isoformat(),
    }
    case = step(
        trainer, "record", {"summary": "Besproken.", **attended, **actions}, "conversations"
    )
    assert case.state == State.IMPROVING
    case = step(student, "request", {"kind": "transfer", "reason": "Het wordt niet beter."})
    case = step(trainer, "inform", {"note": "Gemaild."})
    case = step(coach, "plan", {"starts_at": when, "location": "Online"}, "conversations")
    change = case.conversations.get(kind="change")
    attended = {f"attended_{i.person_id}": "yes" for i in change.invitations.all()}
    answers = {
        "problem": "a",
        "what_was_done": "b",
        "when_it_goes_well": "c",
        "student_needs": "d",
        "school_offers": "e",
    }
    case = step(
        trainer, "record", {"summary": "Alle partijen.", **attended, **answers}, "conversations"
    )
    assert case.state == State.OUTCOME_PENDING
    stances = {f"position_{i.person_id}": "agree" for i in change.invitations.all()}
    stances[f"position_{student.pk}"] = "disagree"
    case = step(trainer, "outcome", {"outcome": "opinions_differ", "note": "?", **stances})
    assert case.state == State.ISOP_ADVICE
    case = step(isop, "advice", {"decision": "transfer", "rationale": "Nieuwe start."})
    assert case.state == State.DECISION_PENDING
    case = step(office, "decide", {"decision": "transfer", "reason": ""})
    assert case.state == State.TRANSFER_REQUESTED
    case = step(
        office,
        "place",
        {
            "school": TrainingSchoolFactory().pk,
            "mentor": UserFactory().pk,
            "school_trainer": UserFactory().pk,
            "study_coach": new_coach.pk,
            "coordinating_trainer": "",
            "start_date": TODAY.isoformat(),
            "last_day": TODAY.isoformat(),
            "agreement": "Afscheid.",
        },
    )
    assert case.state == State.HANDOVER
    client.force_login(coach)
    target = reverse("transfers:handover", args=[case.pk])
    response = client.post(
        target,
        {
            "seen_version": case.version,
            "contact_made_on": TODAY.isoformat(),
            "what_helped": "x",
            "student_needs": "y",
        },
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.state == State.CLOSED_TRANSFERRED
    client.force_login(new_coach)
    page = client.get(case.get_absolute_url())
    assert page.status_code == 200
    names = [row.event.name for row in page.context["page"].timeline]
    # The actions still open when the case closed were closed with it, just after.
    assert names[0] == "signal" and names[-2:] == ["confirm_handover", "actions_closed_with_case"]
    assert "give_advice" in names and "place_student" in names


# --------------------------------------------------------------------------------------------
# Resume on a new placement (what the case page shows of the change path: tests/portal)
# --------------------------------------------------------------------------------------------


class TestResumeElsewhere:
    def test_the_office_resumes_on_a_new_placement_with_a_new_coach(self, client):
        case = CaseFactory(stopped=True)
        StopFactory(case=case, is_temporary=True)
        old = case.placement
        new_trainer, new_coach = UserFactory(), UserFactory()
        client.force_login(UserFactory(office=True))
        page = client.get(url("resume", case))
        assert page.status_code == 200
        assert page.context["form"].fields["study_coach"].initial == old.study_coach_id
        response = client.post(
            url("resume", case),
            {
                "seen_version": case.version,
                "where": "new",
                "school": TrainingSchoolFactory().pk,
                "mentor": UserFactory().pk,
                "school_trainer": new_trainer.pk,
                "study_coach": new_coach.pk,
                "coordinating_trainer": "",
                "resumed_on": TODAY.isoformat(),
            },
        )
        assert response.status_code == 302
        case.refresh_from_db()
        old.refresh_from_db()
        # A new coach: the warm handover first, as for a transfer.
        assert case.state == State.HANDOVER
        assert case.placement == old
        assert (case.new_placement.school_trainer, case.new_placement.study_coach) == (
            new_trainer,
            new_coach,
        )
        assert old.status == Placement.Status.TRANSFERRED
        client.force_login(new_coach)
        assert client.get(case.get_absolute_url()).status_code == 200

    def test_a_new_placement_without_its_people_keeps_what_was_typed(self, client):
        case = CaseFactory(stopped=True)
        StopFactory(case=case, is_temporary=True)
        school = TrainingSchoolFactory()
        client.force_login(UserFactory(office=True))
        response = client.post(
            url("resume", case),
            {
                "seen_version": case.version,
                "where": "new",
                "school": school.pk,
                "resumed_on": TODAY.isoformat(),
            },
        )
        assert response.status_code == 200
        form = response.context["form"]
        assert {"school_trainer", "study_coach"} <= set(form.errors)
        assert "mentor" not in form.errors  # left to be assigned
        assert form["school"].value() == str(school.pk)
        case.refresh_from_db()
        assert case.state == State.STOPPED
        assert Placement.objects.filter(student=case.placement.student).count() == 1

    def test_on_the_same_placement_the_placement_fields_are_ignored(self, client):
        case = CaseFactory(stopped=True)
        StopFactory(case=case, is_temporary=True)
        placement = case.placement
        client.force_login(UserFactory(office=True))
        response = client.post(
            url("resume", case),
            {
                "seen_version": case.version,
                "where": "same",
                "school": TrainingSchoolFactory().pk,
                "resumed_on": TODAY.isoformat(),
            },
        )
        assert response.status_code == 302
        case.refresh_from_db()
        assert case.placement == placement and case.new_placement is None
        assert case.state == State.CLOSED_RESUMED
