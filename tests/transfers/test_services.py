"""The change path services: request, office contact, outcome branches, ISOP advice, the
wrap-up, placing the student, stopping and resuming, and the warm handover."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone, translation

from cases.models import AdviceDecision, Case, GuardFailed, NotPermitted, Outcome, Placement, State
from notifications.models import Notification
from tests.cases.factories import CaseFactory, TrainingSchoolFactory, UserFactory
from tests.journeys import act, arrange
from tests.notifications.factories import NotificationFactory
from tests.transfers.factories import (
    ChangeRequestFactory,
    HandoverFactory,
    IsopAdviceFactory,
    StopFactory,
)
from transfers import services
from transfers.models import ChangeRequest, IsopAdvice, Position, Stop

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def state_of(case: Case) -> str:
    return Case.objects.get(pk=case.pk).state


# --------------------------------------------------------------------------------------------
# Request and contact with the office
# --------------------------------------------------------------------------------------------


class TestChangeRequest:
    @pytest.mark.parametrize("kind", ChangeRequest.Kind.values)
    def test_it_records_the_request_and_makes_it_known(self, crew, kind):
        case = arrange("request_change", crew)
        request = services.request_change(
            case_id=case.pk, by=crew.study_coach, kind=kind, reason="  Gaat niet meer.  "
        )
        assert (request.kind, request.reason, request.requested_by) == (
            kind,
            "Gaat niet meer.",
            crew.study_coach,
        )
        assert set(request.made_known_to.all()) == {crew.student, crew.mentor, crew.school_trainer}
        assert state_of(case) == State.CHANGE_REQUESTED

    def test_an_unknown_kind_is_refused(self, crew):
        case = arrange("request_change", crew)
        with pytest.raises(GuardFailed):
            services.request_change(case_id=case.pk, by=crew.student, kind="holiday", reason="x")
        assert not case.change_requests.exists()

    def test_a_reason_is_needed(self, crew):
        case = arrange("request_change", crew)
        with translation.override("en"), pytest.raises(GuardFailed) as refused:
            services.request_change(case_id=case.pk, by=crew.student, kind="transfer", reason=" ")
        assert str(refused.value.message) == "Give the reason for the request."
        assert state_of(case) == State.IMPROVING


class TestInformOffice:
    def test_the_school_trainer_records_it_themself(self, crew):
        case = arrange("inform_office", crew)
        request = services.inform_office(case_id=case.pk, by=crew.school_trainer, note=" Gebeld. ")
        assert request.office_informed_by == crew.school_trainer
        assert request.office_contact_note == "Gebeld."
        assert request.recorded_by_office is False
        assert state_of(case) == State.OFFICE_INFORMED

    def test_the_office_records_it_on_behalf_of_the_school_trainer(self, crew):
        case = arrange("inform_office", crew)
        request = services.inform_office(case_id=case.pk, by=crew.office)
        assert request.recorded_by_office is True
        event = case.events.get(name="inform_office")
        assert (event.actor, event.on_behalf_of) == (crew.office, crew.school_trainer)

    def test_without_an_open_request_it_is_refused(self, crew):
        case = CaseFactory(placement=crew.placement, change_requested=True)
        ChangeRequestFactory(case=case, office_informed=True)
        with pytest.raises(GuardFailed):
            services.inform_office(case_id=case.pk, by=crew.school_trainer)
        assert state_of(case) == State.CHANGE_REQUESTED


# --------------------------------------------------------------------------------------------
# The outcome of the all-party conversation
# --------------------------------------------------------------------------------------------


def _positions(case, **stances_by_person) -> dict[int, str]:
    conversation = case.conversations.get(kind="change", status="held")
    positions = {i.person_id: "agree" for i in conversation.invitations.all()}
    positions.update({int(k): v for k, v in stances_by_person.items()})
    return positions


OUTCOMES = [
    (Outcome.AGREE_TRANSFER, "agree", State.TRANSFER_REQUESTED),
    (Outcome.AGREE_STOP, "agree", State.TRANSFER_REQUESTED),
    (Outcome.AGREE_TRANSFER, "abstain", State.TRANSFER_REQUESTED),
    (Outcome.CONTINUE, "agree", State.IMPROVING),
    (Outcome.CONTINUE, "disagree", State.IMPROVING),
    (Outcome.OPINIONS_DIFFER, "disagree", State.ISOP_ADVICE),
]


class TestOutcome:
    @pytest.mark.parametrize(("outcome", "student_stance", "target"), OUTCOMES)
    def test_each_outcome_leads_to_its_state(self, crew, outcome, student_stance, target):
        case = arrange("report_outcome", crew)
        positions = _positions(case, **{str(crew.student.pk): student_stance})
        report = services.report_outcome(
            case_id=case.pk, by=crew.school_trainer, outcome=outcome, positions=positions
        )
        assert state_of(case) == target
        assert report.outcome == outcome
        assert report.on_behalf_of_school_trainer is False
        stances = dict(report.positions.values_list("person", "stance"))
        assert stances == positions
        assert report.positions.get(person=crew.student).role == "student"
        event = case.events.get(name="report_outcome")
        assert (event.from_state, event.to_state) == (State.OUTCOME_PENDING, target)

    def test_opinions_differ_asks_the_isop_owner(self, crew):
        case = arrange("report_outcome", crew)
        other_owner = UserFactory(isop_owner=True)
        services.report_outcome(
            case_id=case.pk,
            by=crew.school_trainer,
            outcome=Outcome.OPINIONS_DIFFER,
            positions=_positions(case, **{str(crew.student.pk): "disagree"}),
            note="De school wil stoppen, de student niet.",
        )
        question = IsopAdvice.objects.get(case=case)
        assert question.question == "De school wil stoppen, de student niet."
        assert question.given_at is None
        asked = set(
            Notification.objects.filter(case=case, event="isop_advice_requested").values_list(
                "recipient", flat=True
            )
        )
        assert asked == {crew.isop_owner.pk, other_owner.pk}

    @pytest.mark.parametrize("outcome", [o for o in Outcome if o != Outcome.OPINIONS_DIFFER])
    def test_other_outcomes_do_not_ask_for_advice(self, crew, outcome):
        case = arrange("report_outcome", crew)
        services.report_outcome(
            case_id=case.pk, by=crew.school_trainer, outcome=outcome, positions=_positions(case)
        )
        assert not IsopAdvice.objects.filter(case=case).exists()
        assert not Notification.objects.filter(event="isop_advice_requested").exists()

    def test_the_office_reports_on_behalf_of_the_school_trainer(self, crew):
        case = arrange("report_outcome", crew)
        report = services.report_outcome(
            case_id=case.pk, by=crew.office, outcome=Outcome.CONTINUE, positions=_positions(case)
        )
        assert report.on_behalf_of_school_trainer is True
        event = case.events.get(name="report_outcome")
        assert (event.actor, event.on_behalf_of) == (crew.office, crew.school_trainer)

    @pytest.mark.parametrize(
        ("outcome", "change", "message"),
        [
            ("maybe", {}, "Choose one of the outcomes."),
            (Outcome.AGREE_TRANSFER, {"student": "disagree"}, "Someone disagrees"),
            (Outcome.AGREE_STOP, {"student": "disagree"}, "Someone disagrees"),
            (Outcome.OPINIONS_DIFFER, {}, "needs at least one participant who disagrees"),
            (Outcome.CONTINUE, {"student": "shrug"}, "Choose agree, disagree or abstain"),
            (Outcome.CONTINUE, {"unrelated": "agree"}, "only be given for people invited"),
            (Outcome.CONTINUE, {"student": None}, "Record the position of every participant"),
        ],
    )
    def test_inconsistent_reports_are_refused(self, crew, outcome, change, message):
        case = arrange("report_outcome", crew)
        positions = _positions(case)
        for role, stance in change.items():
            if stance is None:
                positions.pop(crew.get(role).pk)
            else:
                positions[crew.get(role).pk] = stance
        with translation.override("en"), pytest.raises(GuardFailed) as refused:
            services.report_outcome(
                case_id=case.pk, by=crew.school_trainer, outcome=outcome, positions=positions
            )
        assert message in str(refused.value.message)
        assert not case.outcome_reports.exists()
        assert not Position.objects.exists()
        assert state_of(case) == State.OUTCOME_PENDING

    def test_continue_starts_a_new_round(self, crew):
        """After "continue here" the whole change path can be walked again."""
        case = arrange("report_outcome", crew)
        services.report_outcome(
            case_id=case.pk,
            by=crew.school_trainer,
            outcome=Outcome.CONTINUE,
            positions=_positions(case),
        )
        for name, role in [
            ("request_change", "student"),
            ("inform_office", "school_trainer"),
            ("plan_change_conversation", "office"),
            ("record_change_conversation", "study_coach"),
            ("report_outcome", "school_trainer"),
        ]:
            act(name, Case.objects.get(pk=case.pk), crew.get(role))
        assert state_of(case) == State.TRANSFER_REQUESTED
        assert case.change_requests.count() == 1  # the new round's request
        assert case.outcome_reports.count() == 2
        assert case.conversations.filter(kind="change", status="held").count() == 2


# --------------------------------------------------------------------------------------------
# ISOP advice
# --------------------------------------------------------------------------------------------


class TestAdvice:
    @pytest.mark.parametrize("decision", AdviceDecision.values)
    def test_the_advice_goes_to_the_office_to_decide(self, crew, decision):
        case = arrange("give_advice", crew)
        advice = services.give_advice(
            case_id=case.pk, by=crew.isop_owner, decision=decision, rationale=" Omdat. "
        )
        assert state_of(case) == State.DECISION_PENDING
        assert (advice.decision, advice.rationale, advice.given_by) == (
            decision,
            "Omdat.",
            crew.isop_owner,
        )
        assert advice.given_at is not None
        assert case.isop_requests.count() == 1

    def test_without_an_open_question_the_advice_is_still_kept(self, crew):
        case = CaseFactory(placement=crew.placement, isop_advice=True)
        IsopAdviceFactory(case=case, given=True)
        services.give_advice(
            case_id=case.pk, by=crew.isop_owner, decision="continue", rationale="Nog een kans."
        )
        assert case.isop_requests.count() == 2

    @pytest.mark.parametrize(("decision", "rationale"), [("maybe", "x"), ("transfer", "  ")])
    def test_incomplete_advice_is_refused(self, crew, decision, rationale):
        case = arrange("give_advice", crew)
        with pytest.raises(GuardFailed):
            services.give_advice(
                case_id=case.pk, by=crew.isop_owner, decision=decision, rationale=rationale
            )
        assert case.isop_requests.get().given_at is None
        assert state_of(case) == State.ISOP_ADVICE


# --------------------------------------------------------------------------------------------
# Wrap-up, placing, stopping, resuming
# --------------------------------------------------------------------------------------------


class TestWrapUp:
    @pytest.mark.parametrize(
        ("role", "allowed"),
        [
            ("school_trainer", True),
            ("student", True),
            ("office", True),
            ("mentor", False),
            ("study_coach", False),
            ("coordinating_trainer", False),
            ("isop_owner", False),
            ("unrelated", False),
        ],
    )
    def test_who_records_it(self, crew, role, allowed):
        case = CaseFactory(placement=crew.placement, transfer_requested=True)
        if allowed:
            services.wrap_up_record(
                case_id=case.pk, by=crew.get(role), last_day=TODAY, agreement="Afscheid"
            )
            assert case.wrap_ups.count() == 1
        else:
            with pytest.raises(NotPermitted):
                services.wrap_up_record(
                    case_id=case.pk, by=crew.get(role), last_day=TODAY, agreement="Afscheid"
                )
            assert not case.wrap_ups.exists()

    @pytest.mark.parametrize("state", [s for s in State if s != State.TRANSFER_REQUESTED])
    def test_only_once_a_transfer_or_stop_is_decided(self, crew, state):
        case = CaseFactory(placement=crew.placement, state=state)
        with pytest.raises(GuardFailed):
            services.wrap_up_record(
                case_id=case.pk, by=crew.school_trainer, last_day=TODAY, agreement="x"
            )

    def test_an_agreement_is_needed(self, crew):
        case = CaseFactory(placement=crew.placement, transfer_requested=True)
        with pytest.raises(GuardFailed):
            services.wrap_up_record(
                case_id=case.pk, by=crew.school_trainer, last_day=TODAY, agreement=" "
            )


def _place(crew, case, study_coach):
    return services.place_student(
        case_id=case.pk,
        by=crew.office,
        school=TrainingSchoolFactory(),
        mentor=UserFactory(),
        school_trainer=UserFactory(),
        study_coach=study_coach,
        start_date=TODAY + dt.timedelta(days=7),
    )


class TestPlaceStudent:
    def test_a_new_study_coach_means_a_warm_handover(
        self, crew, monkeypatch, django_capture_on_commit_callbacks
    ):
        monkeypatch.setattr("notifications.services.queue_delivery", lambda ids: None)
        case = arrange("place_student", crew)
        new_coach = UserFactory()
        transfer = _place(crew, case, new_coach)
        case.refresh_from_db()
        assert case.state == State.HANDOVER
        assert case.closed_at is None
        new = transfer.to_placement
        # The case stays about the old placement; the student continues at the new one.
        assert (case.placement, case.new_placement) == (crew.placement, new)
        assert (new.student, new.study_coach, new.status) == (
            crew.student,
            new_coach,
            Placement.Status.ACTIVE,
        )
        old = Placement.objects.get(pk=crew.placement.pk)
        assert old.status == Placement.Status.TRANSFERRED
        # The old placement ends on the agreed last day of the wrap-up.
        assert old.end_date == case.wrap_ups.get().last_day
        assert transfer.applied_at is not None
        handover = case.handovers.get()
        assert (handover.old_coach, handover.new_coach, handover.transfer) == (
            crew.study_coach,
            new_coach,
            transfer,
        )
        informed = set(
            Notification.objects.filter(case=case, event="handover_started").values_list(
                "recipient", flat=True
            )
        )
        assert informed == {crew.student.pk, crew.study_coach.pk, new_coach.pk}

    def test_the_old_schools_staff_lose_their_unread_notifications_with_access(self, crew):
        case = arrange("place_student", crew)
        for person in (crew.mentor, crew.school_trainer, crew.student, crew.study_coach):
            NotificationFactory(case=case, recipient=person, event="conversation_planned")
        _place(crew, case, UserFactory())
        unread = set(
            Notification.objects.filter(case=case, read_at__isnull=True).values_list(
                "recipient", flat=True
            )
        )
        # The student and the old coach (until the handover) still see the case.
        assert crew.mentor.pk not in unread and crew.school_trainer.pk not in unread
        assert {crew.student.pk, crew.study_coach.pk} <= unread

    def test_the_same_study_coach_closes_the_case(self, crew):
        case = arrange("place_student", crew)
        transfer = _place(crew, case, crew.study_coach)
        case.refresh_from_db()
        assert case.state == State.CLOSED_TRANSFERRED
        assert case.closed_at is not None
        assert not case.handovers.exists()
        assert transfer.coach_changes is False
        assert Placement.objects.get(pk=crew.placement.pk).status == Placement.Status.TRANSFERRED
        event = case.events.get(name="place_student")
        assert event.to_state == State.CLOSED_TRANSFERRED

    def test_the_old_placement_never_ends_before_it_started(self, crew):
        crew.placement.start_date = TODAY + dt.timedelta(days=30)
        crew.placement.save()
        case = arrange("place_student", crew)
        _place(crew, case, crew.study_coach)
        old = Placement.objects.get(pk=crew.placement.pk)
        assert old.end_date == old.start_date


class TestStopAndResume:
    def test_a_temporary_stop_pauses_the_placement(self, crew):
        case = arrange("stop_internship", crew)
        resume_on = TODAY + dt.timedelta(days=40)
        stop = services.stop_internship(
            case_id=case.pk, by=crew.office, temporary=True, expected_resume_date=resume_on
        )
        assert state_of(case) == State.STOPPED
        assert (stop.temporary, stop.expected_resume_date) == (True, resume_on)
        assert Placement.objects.get(pk=crew.placement.pk).status == Placement.Status.PAUSED
        assert Case.objects.get(pk=case.pk).closed_at is None

    def test_a_definitive_stop_ends_the_placement_and_closes_the_case(self, crew):
        case = arrange("stop_internship", crew)
        stop = services.stop_internship(
            case_id=case.pk, by=crew.office, temporary=False, expected_resume_date=TODAY
        )
        assert state_of(case) == State.CLOSED_STOPPED
        assert stop.expected_resume_date is None
        assert Placement.objects.get(pk=crew.placement.pk).status == Placement.Status.ENDED
        assert Case.objects.get(pk=case.pk).closed_at is not None

    def test_a_temporary_stop_needs_a_resume_date(self, crew):
        case = arrange("stop_internship", crew)
        with translation.override("en"), pytest.raises(GuardFailed) as refused:
            services.stop_internship(case_id=case.pk, by=crew.office, temporary=True)
        assert str(refused.value.message) == "A temporary stop needs an expected resume date."
        assert not Stop.objects.exists()

    def test_resume_closes_the_case_and_activates_the_placement(self, crew):
        case = arrange("stop_internship", crew)
        services.stop_internship(
            case_id=case.pk,
            by=crew.office,
            temporary=True,
            expected_resume_date=TODAY + dt.timedelta(days=10),
        )
        services.resume(case_id=case.pk, by=crew.office, resumed_on=TODAY + dt.timedelta(days=3))
        case.refresh_from_db()
        assert case.state == State.CLOSED_RESUMED
        assert case.closed_at is not None
        assert Placement.objects.get(pk=crew.placement.pk).status == Placement.Status.ACTIVE
        stop = case.stops.get()
        assert stop.resumed_at is not None
        assert stop.resumed_on == TODAY + dt.timedelta(days=3)  # the date entered

    def test_resume_is_refused_to_the_school_trainer(self, crew):
        case = CaseFactory(placement=crew.placement, stopped=True)
        StopFactory(case=case, is_temporary=True)
        with pytest.raises(NotPermitted):
            services.resume(case_id=case.pk, by=crew.school_trainer)
        assert case.stops.get().resumed_at is None


# --------------------------------------------------------------------------------------------
# The warm handover
# --------------------------------------------------------------------------------------------


class TestHandover:
    def test_the_old_coach_records_it_and_the_case_closes(self, crew):
        case = arrange("confirm_handover", crew)
        handover = services.confirm_handover(
            case_id=case.pk,
            by=crew.old_study_coach,
            contact_made_on=TODAY,
            what_helped=" Korte lijnen. ",
            student_needs="Structuur.",
            open_actions="Feedback",
        )
        case.refresh_from_db()
        assert case.state == State.CLOSED_TRANSFERRED
        assert (handover.contact_made_on, handover.what_helped, handover.open_actions) == (
            TODAY,
            "Korte lijnen.",
            "Feedback",
        )
        assert handover.confirmed_at is not None
        # After the handover the old coach no longer has a role on the case.
        assert "old_study_coach" not in case.roles_of(crew.old_study_coach)

    def test_the_new_coach_acknowledges_once(self, crew):
        handover = HandoverFactory(case=arrange("withdraw", crew), confirmed=True)
        services.handover_acknowledge(handover_id=handover.pk, by=handover.new_coach)
        services.handover_acknowledge(handover_id=handover.pk, by=handover.new_coach)
        handover.refresh_from_db()
        assert handover.received_at is not None
        assert handover.case.events.filter(name="handover_received").count() == 1

    @pytest.mark.parametrize("role", ["old_study_coach", "office", "student"])
    def test_only_the_new_coach_acknowledges(self, crew, role):
        handover = HandoverFactory(
            case=arrange("withdraw", crew), old_coach=crew.old_study_coach, confirmed=True
        )
        with pytest.raises(NotPermitted):
            services.handover_acknowledge(handover_id=handover.pk, by=crew.get(role))


# --------------------------------------------------------------------------------------------
# Resume on a new placement, the receipt after the handover, who reads the case afterwards
# --------------------------------------------------------------------------------------------


def _stopped(crew) -> Case:
    case = arrange("stop_internship", crew)
    services.stop_internship(
        case_id=case.pk,
        by=crew.office,
        temporary=True,
        expected_resume_date=TODAY + dt.timedelta(days=20),
    )
    return Case.objects.get(pk=case.pk)


def _resume_elsewhere(crew, case, *, study_coach, **overrides):
    kwargs = {
        "school": TrainingSchoolFactory(),
        "mentor": UserFactory(),
        "school_trainer": UserFactory(),
        "study_coach": study_coach,
        "resumed_on": TODAY + dt.timedelta(days=14),
    } | overrides
    return services.resume(case_id=case.pk, by=crew.office, **kwargs)


class TestResumeOnANewPlacement:
    def test_the_same_coach_moves_along_without_a_handover(self, crew):
        case = _stopped(crew)
        resumed = _resume_elsewhere(crew, case, study_coach=crew.study_coach)
        case.refresh_from_db()
        assert resumed.pk == case.pk
        assert case.state == State.CLOSED_RESUMED
        assert case.closed_at is not None
        new = case.new_placement
        assert case.placement == crew.placement
        assert new.pk != crew.placement.pk
        assert (new.student, new.study_coach, new.status) == (
            crew.student,
            crew.study_coach,
            Placement.Status.ACTIVE,
        )
        old = Placement.objects.get(pk=crew.placement.pk)
        assert old.status == Placement.Status.TRANSFERRED
        assert old.end_date == TODAY + dt.timedelta(days=14)
        transfer = case.transfers.get()
        assert (transfer.from_placement, transfer.to_placement) == (old, new)
        assert transfer.applied_at is not None
        assert not transfer.coach_changes
        assert not case.handovers.exists()
        assert case.stops.get().resumed_at is not None
        event = case.events.get(name="resume")
        assert event.data["school"] == str(new.school)
        assert str(new.school) in event.detail

    def test_a_new_coach_means_the_warm_handover_first(self, crew):
        case = _stopped(crew)
        new_coach = UserFactory()
        _resume_elsewhere(crew, case, study_coach=new_coach)
        case.refresh_from_db()
        assert case.state == State.HANDOVER
        assert case.transfers.get().coach_changes and case.transfers.get().on_resume
        handover = case.handovers.get()
        assert (handover.old_coach, handover.new_coach) == (crew.study_coach, new_coach)
        told = set(
            Notification.objects.filter(case=case, event="handover_started").values_list(
                "recipient", flat=True
            )
        )
        assert {crew.study_coach.pk, new_coach.pk, crew.student.pk} <= told
        with translation.override("en"):
            detail = case.events.get(name="resume").detail
        assert str(crew.study_coach) in detail and str(new_coach) in detail
        # The new coach reads the case file; the old coach until the handover is recorded.
        assert Case.objects.related_to(new_coach).filter(pk=case.pk).exists()
        assert Case.objects.related_to(crew.study_coach).filter(pk=case.pk).exists()
        services.confirm_handover(
            case_id=case.pk,
            by=crew.study_coach,
            contact_made_on=TODAY,
            what_helped="Rust.",
            student_needs="Structuur.",
        )
        # A resume closes as resumed, not as a transfer.
        assert state_of(case) == State.CLOSED_RESUMED
        assert not Case.objects.related_to(crew.study_coach).filter(pk=case.pk).exists()

    # The mentor may be left to be assigned (tests/cases/test_mentor_to_be_assigned.py).
    @pytest.mark.parametrize("missing", ["school_trainer", "study_coach"])
    def test_an_incomplete_new_placement_is_refused_and_changes_nothing(self, crew, missing):
        case = _stopped(crew)
        with translation.override("en"), pytest.raises(GuardFailed) as refused:
            _resume_elsewhere(crew, case, **({"study_coach": UserFactory()} | {missing: None}))
        assert "new placement needs" in str(refused.value.message)
        case.refresh_from_db()
        assert case.state == State.STOPPED
        assert case.placement == crew.placement
        assert Placement.objects.filter(student=crew.student).count() == 1
        assert case.stops.get().resumed_at is None

    def test_the_school_trainer_may_not_resume_elsewhere(self, crew):
        case = _stopped(crew)
        with pytest.raises(NotPermitted):
            services.resume(
                case_id=case.pk,
                by=crew.school_trainer,
                school=TrainingSchoolFactory(),
                mentor=UserFactory(),
                school_trainer=UserFactory(),
                study_coach=UserFactory(),
                resumed_on=TODAY,
            )
        assert Placement.objects.filter(student=crew.student).count() == 1


class TestHandoverReceipt:
    def test_receipt_waits_for_the_old_coach(self, crew):
        handover = HandoverFactory(case=arrange("withdraw", crew))
        with translation.override("en"), pytest.raises(GuardFailed) as refused:
            services.handover_acknowledge(handover_id=handover.pk, by=handover.new_coach)
        assert str(refused.value.message) == "The previous coach has not recorded the handover yet."
        handover.refresh_from_db()
        assert handover.received_at is None


class TestAfterATransfer:
    def test_the_new_coach_reads_the_case_and_neither_school_does(self, crew):
        case = arrange("place_student", crew)
        new_coach = UserFactory()
        transfer = _place(crew, case, new_coach)
        new = transfer.to_placement
        for person in (new_coach, crew.student):
            assert Case.objects.related_to(person).filter(pk=case.pk).exists(), person
        # The case is about the old placement: the new school's staff never see it.
        for person in (new.school_trainer, new.mentor):
            assert not Case.objects.related_to(person).filter(pk=case.pk).exists(), person
            assert not case.roles_of(person)
        # During the handover the old coach still reads it, until the handover is recorded.
        assert Case.objects.related_to(crew.study_coach).filter(pk=case.pk).exists()
        for person in (crew.school_trainer, crew.mentor, crew.unrelated):
            assert not Case.objects.related_to(person).filter(pk=case.pk).exists(), person
        services.confirm_handover(
            case_id=case.pk,
            by=crew.study_coach,
            contact_made_on=TODAY,
            what_helped="Korte lijnen.",
            student_needs="Rust.",
        )
        assert not Case.objects.related_to(crew.study_coach).filter(pk=case.pk).exists()
        assert Case.objects.related_to(new_coach).filter(pk=case.pk).exists()


class TestToldOfARequest:
    def test_each_person_it_was_made_known_to_has_a_notification_with_its_time(self, crew):
        from transfers.selectors import told_of_requests

        case = arrange("request_change", crew)
        request = services.request_change(
            case_id=case.pk, by=crew.student, kind="transfer", reason="Gaat niet meer."
        )
        notes = {
            n.recipient_id: n
            for n in Notification.objects.filter(case=case, event="request_change")
        }
        assert set(notes) == {crew.mentor.pk, crew.school_trainer.pk, crew.study_coach.pk}
        told = told_of_requests(case)[request.pk]
        assert {row.person for row in told} == set(request.made_known_to.all())
        for row in told:
            assert row.at == notes[row.person.pk].created_at
            assert row.at >= request.created_at
            assert row.read_at is None

    def test_a_second_round_keeps_the_requests_apart(self, crew, django_assert_num_queries):
        from transfers.selectors import told_of_requests

        case = arrange("request_change", crew)
        first = services.request_change(
            case_id=case.pk, by=crew.student, kind="transfer", reason="Eerste keer."
        )
        # The request went nowhere (continue here); a second request later on.
        Case.objects.filter(pk=case.pk).update(state=State.IMPROVING)
        ChangeRequest.objects.filter(pk=first.pk).update(office_informed_at=first.created_at)
        second = services.request_change(
            case_id=case.pk, by=crew.school_trainer, kind="stop", reason="Tweede keer."
        )
        with django_assert_num_queries(1):
            told = told_of_requests(case)
        first_times = {row.at for row in told[first.pk]}
        second_times = {row.at for row in told[second.pk]}
        assert all(t < second.created_at for t in first_times)
        assert all(t >= second.created_at for t in second_times)
        assert crew.student in {row.person for row in told[second.pk]}
        assert crew.student not in {row.person for row in told[first.pk]}
