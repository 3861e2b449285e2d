"""The deadline table (deadlines/rules.py) is process.md's table: the periods in working days,
whom a reminder goes to, which open steps each rule finds, and when an anchor counts as passed.
Written from the table in process.md ("Deadlines the office monitors") and its revision."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from django.db.models import Q
from django.utils import timezone

from cases.models import Case, Role, State
from conversations.models import Conversation
from deadlines.rules import (
    DUE_SOON,
    ESCALATE,
    KIND_LABELS,
    REMIND,
    RULES,
    anchor_before,
    event_labels,
    event_name,
    reminders,
)
from tests.cases.factories import CaseFactory
from tests.conversations.factories import (
    ConversationFactory,
    ImprovementActionFactory,
    InvitationFactory,
    StudentNoteFactory,
)
from tests.transfers.factories import ChangeRequestFactory, HandoverFactory, StopFactory

# key: (remind after, escalate after, reminded roles), as process.md says.
TABLE = {
    "first_conversation": (3, 5, (Role.SCHOOL_TRAINER, Role.STUDY_COACH)),
    "conversation_held": (1, 3, ("planner",)),
    "briefing": (2, 5, (Role.SCHOOL_TRAINER,)),
    "student_note": (3, None, (Role.STUDENT,)),
    "action_done": (0, 5, ("owner",)),
    "improving_decision": (5, 10, (Role.SCHOOL_TRAINER,)),
    "plan_again": (2, 5, (Role.SCHOOL_TRAINER,)),
    "office_contact": (2, 3, (Role.SCHOOL_TRAINER,)),
    "change_conversation_planned": (None, 5, ()),
    "change_conversation_held": (None, 15, ()),
    "change_conversation_incomplete": (None, 3, ()),
    "outcome": (2, 5, (Role.SCHOOL_TRAINER,)),
    "isop_advice": (5, 10, (Role.ISOP_OWNER,)),
    "office_decision": (3, None, (Role.OFFICE,)),
    "placement": (10, None, (Role.OFFICE,)),
    "handover": (3, 5, ("old_coach",)),
    "resume": (-10, None, (Role.OFFICE,)),
}


def test_the_periods_and_the_reminded_are_process_mds_table():
    assert set(RULES) == set(TABLE)
    for key, (remind, escalate, roles) in TABLE.items():
        rule = RULES[key]
        assert (rule.remind_after, rule.escalate_after, rule.remind_roles) == (
            remind,
            escalate,
            roles,
        ), key


def test_the_table_is_not_changed_at_run_time():
    """The office changes a period in the admin (DeadlineRule); the code's table, shared by
    every request and the scan, stays as it is."""
    with pytest.raises(dataclasses.FrozenInstanceError):
        RULES["handover"].remind_after = 1


def test_a_rule_on_the_state_alone_is_anchored_on_the_state_change():
    for rule in RULES.values():
        assert rule.state_based == (rule.anchor == "state_changed_at"), rule.key


def test_the_watched_states():
    assert RULES["first_conversation"].watched_states == (State.SIGNALLED,)
    assert RULES["handover"].watched_states == (State.HANDOVER,)
    assert RULES["resume"].watched_states == (State.STOPPED,)
    assert RULES["briefing"].watched_states == ()
    assert RULES["student_note"].watched_states == ()


def test_only_due_dates_and_resume_dates_are_dates():
    dates = {key for key, rule in RULES.items() if rule.anchor_is_date}
    assert dates == {"action_done", "resume"}


def test_every_event_has_a_label_and_a_reminder_of_its_kind():
    labels, texts = event_labels(), reminders()
    assert (
        set(labels)
        == set(texts)
        == {event_name(key, kind) for key in RULES for kind in (DUE_SOON, REMIND, ESCALATE)}
    )
    assert event_name("handover", ESCALATE) == "deadline:handover:escalate"
    reminder = texts["deadline:handover:escalate"]
    assert (reminder.due_soon, reminder.escalated) == (False, True)
    assert reminder.page[0] == "transfers:handover"
    soon = texts["deadline:outcome:due_soon"]
    assert (soon.due_soon, soon.escalated, soon.page) == (True, False, None)
    assert set(KIND_LABELS) == {DUE_SOON, REMIND, ESCALATE}


def test_an_anchor_date_counts_up_to_and_including_the_cutoff():
    cutoff = dt.date(2027, 3, 10)
    assert anchor_before("actions__due_date", cutoff, True) == Q(actions__due_date__lte=cutoff)


def test_an_anchor_moment_counts_up_to_the_end_of_the_cutoff_day_local_time():
    cutoff = dt.date(2027, 3, 10)
    midnight = timezone.make_aware(dt.datetime(2027, 3, 11, 0, 0))
    assert anchor_before("state_changed_at", cutoff, False) == Q(state_changed_at__lt=midnight)


@pytest.mark.django_db
class TestWhichStepsEachRuleFinds:
    def found(self, key: str) -> set[int]:
        return set(RULES[key].filter(Case.objects.all()).values_list("pk", flat=True))

    def test_a_planned_conversation_waits_to_be_recorded(self):
        planned = ConversationFactory(case__state=State.CONVERSATION_PLANNED).case
        follow_up = ConversationFactory(
            case__state=State.IMPROVING, kind=Conversation.Kind.FOLLOW_UP
        ).case
        improving_problem = ConversationFactory(case__state=State.IMPROVING).case
        held = ConversationFactory(case__state=State.CONVERSATION_PLANNED, held=True).case
        found = self.found("conversation_held")
        assert planned.pk in found and follow_up.pk in found
        assert improving_problem.pk not in found and held.pk not in found

    def test_an_absent_participant_waits_to_be_briefed(self):
        absent = InvitationFactory(conversation__held=True, absent=True).conversation.case
        present = InvitationFactory(conversation__held=True, present=True).conversation.case
        briefed = InvitationFactory(conversation__held=True, briefed=True).conversation.case
        assert self.found("briefing") == {absent.pk}
        assert present.pk != briefed.pk

    def test_a_held_conversation_waits_for_the_students_note(self):
        waiting = ConversationFactory(held=True).case
        submitted = StudentNoteFactory(submitted=True).conversation.case
        planned = ConversationFactory().case
        assert self.found("student_note") == {waiting.pk}
        assert submitted.pk != planned.pk

    def test_an_open_action_of_an_improving_case(self):
        open_action = ImprovementActionFactory().case
        done = ImprovementActionFactory(evaluated=True).case
        assert self.found("action_done") == {open_action.pk}
        assert done.pk != open_action.pk

    def test_every_action_evaluated_and_no_decision_yet(self):
        now = timezone.now()
        all_done = CaseFactory(improving=True)
        ImprovementActionFactory(case=all_done, evaluated=True, evaluated_at=now)
        ImprovementActionFactory(
            case=all_done, evaluated=True, evaluated_at=now - dt.timedelta(days=1)
        )
        one_open = CaseFactory(improving=True)
        ImprovementActionFactory(case=one_open, evaluated=True, evaluated_at=now)
        ImprovementActionFactory(case=one_open)
        rows = list(RULES["improving_decision"].filter(Case.objects.all()).values_list("pk"))
        assert rows == [(all_done.pk,)]  # one row per case, its latest evaluation

    def test_a_cancelled_conversation_with_nothing_planned_after_it(self):
        alone = ConversationFactory(case__state=State.CONVERSATION_PLANNED, cancelled=True).case
        replanned = ConversationFactory(case__state=State.CONVERSATION_PLANNED, cancelled=True)
        ConversationFactory(case=replanned.case)
        assert self.found("plan_again") == {alone.pk}

    def test_the_office_was_told_and_the_all_party_conversation_is_not_held(self):
        told = ChangeRequestFactory(case__state=State.OFFICE_INFORMED, office_informed=True).case
        ChangeRequestFactory(case__state=State.OFFICE_INFORMED)
        assert self.found("change_conversation_held") == {told.pk}

    def test_an_unconfirmed_handover(self):
        waiting = HandoverFactory().case
        HandoverFactory(confirmed=True)
        assert self.found("handover") == {waiting.pk}

    def test_a_temporary_stop_not_yet_resumed(self):
        temporary = StopFactory(case__state=State.STOPPED, is_temporary=True).case
        StopFactory(case__state=State.STOPPED)  # definitive: no resume date
        StopFactory(case__state=State.STOPPED, is_temporary=True, resumed_at=timezone.now())
        assert self.found("resume") == {temporary.pk}

    def test_a_rule_on_the_state_finds_the_cases_in_that_state(self):
        signalled = CaseFactory()
        CaseFactory(improving=True)
        assert self.found("first_conversation") == {signalled.pk}
