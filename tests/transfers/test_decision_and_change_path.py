"""Issue #12 on the change path: ISOP advice is advice and the office decides (item 3); the
change can be dropped (item 1); an all-party conversation means all parties (item 4); the
wrap-up is agreed by both (item 9)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone, translation

from cases.models import AdviceDecision, Case, GuardFailed, NotPermitted, Placement, Role, State
from conversations import services as conversations
from conversations.models import Conversation
from notifications.models import Notification
from tests.conversations.factories import ConversationFactory
from tests.journeys import FIVE, act, arrange, case_in, just_now
from tests.transfers.factories import ChangeRequestFactory, IsopAdviceFactory, WrapUpFactory
from transfers import services
from transfers.models import OfficeDecision

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def told(case, event: str) -> set[int]:
    return set(
        Notification.objects.filter(case=case, event=event).values_list("recipient", flat=True)
    )


def state_of(case) -> str:
    return Case.objects.get(pk=case.pk).state


# --------------------------------------------------------------------------------------------
# Advice, then the office's decision
# --------------------------------------------------------------------------------------------


def advised(crew, advice: str) -> Case:
    case = arrange("give_advice", crew)
    services.give_advice(case_id=case.pk, by=crew.isop_owner, decision=advice, rationale="Zo.")
    return Case.objects.get(pk=case.pk)


class TestTheOfficeDecides:
    @pytest.mark.parametrize(
        ("decision", "target", "kind"),
        [
            (AdviceDecision.TRANSFER, State.TRANSFER_REQUESTED, "transfer"),
            (AdviceDecision.STOP, State.TRANSFER_REQUESTED, "stop"),
            (AdviceDecision.CONTINUE, State.IMPROVING, ""),
        ],
    )
    def test_following_the_advice_needs_no_reason(self, crew, decision, target, kind):
        case = advised(crew, decision)
        record = services.decide(case_id=case.pk, by=crew.office, decision=decision)
        case.refresh_from_db()
        assert (case.state, case.change_kind) == (target, kind)
        assert record.follows_advice and record.reason == ""
        event = case.events.get(name="decide")
        assert event.data == {
            "decision": decision,
            "advice": decision,
            **({"kind": kind} if kind else {}),
        }

    def test_departing_from_the_advice_needs_a_reason(self, crew):
        case = advised(crew, AdviceDecision.STOP)
        with translation.override("en"), pytest.raises(GuardFailed) as refused:
            services.decide(case_id=case.pk, by=crew.office, decision=AdviceDecision.TRANSFER)
        assert "departs from the advice" in str(refused.value.message)
        assert not OfficeDecision.objects.exists()
        assert state_of(case) == State.DECISION_PENDING
        services.decide(
            case_id=case.pk,
            by=crew.office,
            decision=AdviceDecision.TRANSFER,
            reason="Een andere school is gevonden die past.",
        )
        record = OfficeDecision.objects.get()
        assert not record.follows_advice
        assert state_of(case) == State.TRANSFER_REQUESTED
        # Both on the timeline, in the reader's language.
        advice_event = Case.objects.get(pk=case.pk).events.get(name="give_advice")
        decision_event = Case.objects.get(pk=case.pk).events.get(name="decide")
        assert decision_event.note == "Een andere school is gevonden die past."
        with translation.override("nl"):
            assert "Advies: stopzetting van de stage" in advice_event.detail
            assert "Besluit: wisseling van stageplek" in decision_event.detail
            assert "wijkt af van het advies" in decision_event.detail

    @pytest.mark.parametrize("role", ["isop_owner", "school_trainer", "student", "study_coach"])
    def test_only_the_office_decides(self, crew, role):
        case = advised(crew, AdviceDecision.TRANSFER)
        with pytest.raises(NotPermitted):
            services.decide(case_id=case.pk, by=crew.get(role), decision=AdviceDecision.TRANSFER)
        assert state_of(case) == State.DECISION_PENDING

    def test_the_isop_owner_and_the_people_on_the_case_are_told(self, crew):
        case = advised(crew, AdviceDecision.TRANSFER)
        services.decide(case_id=case.pk, by=crew.office, decision=AdviceDecision.TRANSFER)
        assert told(case, "decide") == {
            crew.student.pk,
            crew.school_trainer.pk,
            crew.study_coach.pk,
            crew.isop_owner.pk,
        }

    def test_the_advice_has_three_choices(self):
        assert set(AdviceDecision.values) == {"transfer", "stop", "continue"}

    def test_the_office_advises_on_behalf_of_an_absent_isop_owner(self, crew):
        case = arrange("give_advice", crew)
        advice = services.give_advice(
            case_id=case.pk, by=crew.office, decision=AdviceDecision.STOP, rationale="Afwezig."
        )
        assert advice.given_on_behalf
        event = Case.objects.get(pk=case.pk).events.get(name="give_advice")
        assert (event.actor, event.on_behalf_of) == (crew.office, crew.isop_owner)


# --------------------------------------------------------------------------------------------
# Dropping the change
# --------------------------------------------------------------------------------------------


class TestDropTheChange:
    @pytest.mark.parametrize(
        "state",
        [
            State.CHANGE_REQUESTED,
            State.OFFICE_INFORMED,
            State.CHANGE_CONVERSATION_PLANNED,
            State.CHANGE_CONVERSATION_INCOMPLETE,
            State.TRANSFER_REQUESTED,
        ],
    )
    def test_back_to_improving_with_a_reason_and_everyone_told(self, crew, state):
        case = case_in(crew, state)
        request = ChangeRequestFactory(case=case)
        services.abandon_change(
            case_id=case.pk, by=crew.office, reason="Geen nieuwe stageplaats gevonden."
        )
        case.refresh_from_db()
        assert (case.state, case.change_kind) == (State.IMPROVING, "")
        request.refresh_from_db()
        assert request.dropped_at is not None
        event = case.events.get(name="abandon_change")
        assert event.note == "Geen nieuwe stageplaats gevonden."
        assert told(case, "abandon_change") >= {
            crew.student.pk,
            crew.mentor.pk,
            crew.school_trainer.pk,
            crew.study_coach.pk,
        }

    def test_a_planned_all_party_conversation_is_cancelled(self, crew):
        case = case_in(crew, State.CHANGE_CONVERSATION_PLANNED)
        conversation = ConversationFactory(case=case, change=True, invite=True)
        services.abandon_change(case_id=case.pk, by=crew.school_trainer, reason="Het gaat beter.")
        conversation.refresh_from_db()
        assert conversation.status == Conversation.Status.CANCELLED

    def test_a_reason_is_needed(self, crew):
        case = arrange("abandon_change", crew)
        with pytest.raises(GuardFailed):
            services.abandon_change(case_id=case.pk, by=crew.office, reason=" ")
        assert state_of(case) == State.OFFICE_INFORMED

    @pytest.mark.parametrize("role", ["mentor", "study_coach", "isop_owner"])
    def test_not_for_others(self, crew, role):
        case = arrange("abandon_change", crew)
        with pytest.raises(NotPermitted):
            services.abandon_change(case_id=case.pk, by=crew.get(role), reason="x")


# --------------------------------------------------------------------------------------------
# All parties
# --------------------------------------------------------------------------------------------


def record_change(crew, case, *, absent=()):
    conversation = case.conversations.get(kind="change", status="planned")
    return conversations.record_conversation(
        case_id=case.pk,
        by=crew.school_trainer,
        attendance={i.person_id: i.person_id not in absent for i in conversation.invitations.all()},
        summary="Gesprek.",
        answers=FIVE,
    )


class TestAllParties:
    def planned(self, crew):
        case = case_in(crew, State.CHANGE_CONVERSATION_PLANNED)
        ConversationFactory(case=case, change=True, invite=True, starts_at=just_now())
        return case

    def test_with_everyone_the_outcome_is_next(self, crew):
        case = self.planned(crew)
        record_change(crew, case)
        assert state_of(case) == State.OUTCOME_PENDING

    @pytest.mark.parametrize("role", ["student", "school_trainer", "study_coach"])
    def test_without_one_of_the_three_it_stays_on_the_office_monitor(self, crew, role):
        case = self.planned(crew)
        record_change(crew, case, absent=(crew.get(role).pk,))
        assert state_of(case) == State.CHANGE_CONVERSATION_INCOMPLETE
        # The absentee is briefed as after the first conversation.
        conversation = case.conversations.get(kind="change")
        assert [i.person for i in conversation.invitations.all() if i.needs_briefing] == [
            crew.get(role)
        ]
        assert crew.office.pk in told(case, "record_change_conversation")

    def test_the_office_accepts_it_with_a_reason(self, crew):
        case = self.planned(crew)
        record_change(crew, case, absent=(crew.study_coach.pk,))
        with pytest.raises(GuardFailed):
            services.accept_change_conversation(case_id=case.pk, by=crew.office, reason="")
        services.accept_change_conversation(
            case_id=case.pk, by=crew.office, reason="De coach is telefonisch bijgepraat."
        )
        assert state_of(case) == State.OUTCOME_PENDING

    @pytest.mark.parametrize("role", ["school_trainer", "study_coach", "student"])
    def test_only_the_office_accepts_it(self, crew, role):
        case = self.planned(crew)
        record_change(crew, case, absent=(crew.study_coach.pk,))
        with pytest.raises(NotPermitted):
            services.accept_change_conversation(case_id=case.pk, by=crew.get(role), reason="x")

    def test_or_a_new_conversation_is_planned(self, crew):
        case = self.planned(crew)
        record_change(crew, case, absent=(crew.study_coach.pk,))
        act("plan_change_conversation", Case.objects.get(pk=case.pk), crew.school_trainer)
        assert state_of(case) == State.CHANGE_CONVERSATION_PLANNED
        record_change(crew, Case.objects.get(pk=case.pk))
        assert state_of(case) == State.OUTCOME_PENDING


def test_the_five_questions_keep_the_seeds_words():
    fields = {f.name: f.verbose_name for f in Conversation._meta.get_fields() if f.concrete}
    with translation.override("nl"):
        assert [str(fields[name]) for name in FIVE] == [
            "Wat is het probleem?",
            "Wat is er al aan gedaan?",
            "Wat zijn momenten waarop het wel goed gaat?",
            "Wat heeft de student nodig om de situatie te (laten) verbeteren?",
            "Wat kan de school bieden om daaraan tegemoet te komen?",
        ]


# --------------------------------------------------------------------------------------------
# The wrap-up with the class, agreed by both
# --------------------------------------------------------------------------------------------


class TestWrapUpAgreement:
    def test_the_trainer_records_and_the_student_agrees_and_the_mentor_is_told(self, crew):
        case = case_in(crew, State.TRANSFER_REQUESTED)
        services.wrap_up_record(
            case_id=case.pk, by=crew.school_trainer, last_day=TODAY, agreement="Taart."
        )
        assert told(case, "wrap_up_recorded") == {crew.student.pk}
        wrap_up = services.wrap_up_confirm(case_id=case.pk, by=crew.student)
        assert wrap_up.confirmed_by == crew.student and not wrap_up.confirmed_on_behalf
        assert crew.mentor.pk in told(case, "wrap_up_agreed")

    def test_the_student_records_and_the_trainer_agrees(self, crew):
        case = case_in(crew, State.TRANSFER_REQUESTED)
        services.wrap_up_record(case_id=case.pk, by=crew.student, last_day=TODAY, agreement="x")
        with pytest.raises(NotPermitted):
            services.wrap_up_confirm(case_id=case.pk, by=crew.student)  # not their own
        services.wrap_up_confirm(case_id=case.pk, by=crew.school_trainer)

    @pytest.mark.parametrize("role", ["mentor", "study_coach", "school_trainer"])
    def test_others_do_not_agree_a_trainers_wrap_up(self, crew, role):
        case = case_in(crew, State.TRANSFER_REQUESTED)
        WrapUpFactory(case=case)
        with pytest.raises(NotPermitted):
            services.wrap_up_confirm(case_id=case.pk, by=crew.get(role))

    def test_the_office_agrees_on_behalf_marked_on_the_timeline(self, crew):
        case = case_in(crew, State.TRANSFER_REQUESTED)
        WrapUpFactory(case=case)
        wrap_up = services.wrap_up_confirm(case_id=case.pk, by=crew.office)
        assert wrap_up.confirmed_on_behalf
        event = Case.objects.get(pk=case.pk).events.get(name="wrap_up_agreed")
        assert event.on_behalf_of == crew.student

    def test_a_wrap_up_the_office_records_is_agreed_at_once(self, crew):
        case = case_in(crew, State.TRANSFER_REQUESTED)
        wrap_up = services.wrap_up_record(
            case_id=case.pk, by=crew.office, last_day=TODAY, agreement="x"
        )
        wrap_up.refresh_from_db()
        assert wrap_up.confirmed_at is not None and wrap_up.confirmed_on_behalf

    def test_the_old_placement_ends_on_the_agreed_last_day(self, crew):
        case = arrange("place_student", crew)  # an agreed wrap-up, last day in five days
        last_day = case.wrap_ups.get().last_day
        act("place_student", case, crew.office, start_date=last_day + dt.timedelta(days=3))
        old = Placement.objects.get(pk=crew.placement.pk)
        assert (old.status, old.end_date) == (Placement.Status.TRANSFERRED, last_day)

    def test_not_before_the_agreed_last_day(self, crew):
        case = arrange("place_student", crew)
        with pytest.raises(GuardFailed):
            act("place_student", case, crew.office, start_date=TODAY)


def test_the_handover_by_the_office_is_marked_on_behalf_of_the_old_coach(crew):
    case = arrange("confirm_handover", crew)
    act("confirm_handover", case, crew.office)
    event = Case.objects.get(pk=case.pk).events.get(name="confirm_handover")
    assert (event.actor, event.on_behalf_of) == (crew.office, crew.old_study_coach)


def test_a_decision_record_needs_an_advice(crew):
    case = case_in(crew, State.DECISION_PENDING)
    IsopAdviceFactory(case=case)  # asked, not given
    with pytest.raises(GuardFailed):
        services.decide(case_id=case.pk, by=crew.office, decision=AdviceDecision.TRANSFER)
    assert Role.OFFICE in case.roles_of(crew.office)
