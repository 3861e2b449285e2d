"""The deadline table of process.md in code: for each step, when it is late (in working days
after its anchor), whom a reminder goes to and how the open steps are found.

The periods here are the defaults; the office changes them in the admin (models.DeadlineRule,
read through selectors.effective_rules). The events the clock writes into the outbox are named
"deadline:<rule>:<kind>"; their labels and the reminder e-mail's wording are handed to
notifications as data (event_labels(), reminders(); registered in apps.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Exists, Max, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from cases.models import Case, Role, State
from notifications.labels import Reminder

REMIND, ESCALATE, DUE_SOON = "remind", "escalate", "due_soon"
KIND_LABELS = {
    DUE_SOON: _("due soon"),
    REMIND: _("reminder"),
    ESCALATE: _("overdue, escalated to the office"),
}
# Placement roles resolve to these value() paths; rule-specific roles add their own.
ROLE_PATHS = {
    Role.STUDENT: "placement__student_id",
    Role.SCHOOL_TRAINER: "placement__school_trainer_id",
    Role.STUDY_COACH: "placement__study_coach_id",
}
DATE_ANCHORS = {"actions__due_date", "stops__expected_resume_date"}


@dataclass(frozen=True)
class Rule:
    key: str
    label: str
    remind_after: int | None
    escalate_after: int | None
    remind_roles: tuple[str, ...]
    # (queryset of open cases, anchor path, step parts, extra role paths)
    filter: Callable[[QuerySet], QuerySet]
    anchor: str
    step: tuple[str, ...]
    role_paths: dict[str, str] = field(default_factory=dict)
    state_based: bool = False
    # The page where the responsible person takes the step (URL name taking the case's id, the
    # link's text), for the reminder e-mail; None: the case file.
    page: tuple[str, Any] | None = None
    # The case states whose next step this rule watches (a rule on the state alone says so
    # itself); none for steps beside the state (briefings, the student's note).
    states: tuple[str, ...] = ()

    @property
    def watched_states(self) -> tuple[str, ...]:
        return self.states or tuple(getattr(self.filter, "states", ()))

    @property
    def anchor_is_date(self) -> bool:
        """The anchor is a date (a due date), not a moment."""
        return self.anchor in DATE_ANCHORS


def _every_action_evaluated(qs: QuerySet) -> QuerySet:
    """Improving, every action evaluated and no decision yet: one row per case, its action
    evaluated last (the anchor), so a new evaluation starts the period again."""
    latest = (
        Case.objects.filter(pk=OuterRef("pk"))
        .values("pk")
        .annotate(last=Max("actions__evaluated_at"))
        .values("last")
    )
    still_open = Case.objects.filter(pk=OuterRef("pk"), actions__status="open")
    return qs.filter(state=State.IMPROVING, actions__evaluated_at=Subquery(latest)).exclude(
        Exists(still_open)
    )


def _nothing_planned_after_a_cancellation(qs: QuerySet) -> QuerySet:
    planned = Case.objects.filter(pk=OuterRef("pk"), conversations__status="planned")
    return qs.filter(
        state__in=(State.CONVERSATION_PLANNED, State.CHANGE_CONVERSATION_PLANNED),
        conversations__status="cancelled",
    ).exclude(Exists(planned))


def _state(*states: str) -> Callable[[QuerySet], QuerySet]:
    def only_in(qs: QuerySet) -> QuerySet:
        return qs.filter(state__in=states)

    # Read by monitoring.overdue_filter: a rule on the state alone is a check of the row itself.
    only_in.states = states
    return only_in


RULES: dict[str, Rule] = {
    rule.key: rule
    for rule in [
        Rule(
            "first_conversation",
            _("First conversation planned"),
            3,
            5,
            (Role.SCHOOL_TRAINER, Role.STUDY_COACH),
            _state(State.SIGNALLED),
            "state_changed_at",
            ("version",),
            state_based=True,
        ),
        Rule(
            "conversation_held",
            _("Conversation recorded as held"),
            1,
            3,
            ("planner",),
            # The conversation the state waits for, or a follow-up while the actions run.
            lambda qs: qs.filter(
                Q(state__in=(State.CONVERSATION_PLANNED, State.CHANGE_CONVERSATION_PLANNED))
                | Q(state=State.IMPROVING, conversations__kind="follow_up"),
                conversations__status="planned",
            ),
            "conversations__starts_at",
            ("conversations__pk", "conversations__starts_at"),
            {"planner": "conversations__planned_by_id"},
            states=(State.CONVERSATION_PLANNED, State.CHANGE_CONVERSATION_PLANNED, State.IMPROVING),
        ),
        Rule(
            "briefing",
            _("Absent participants briefed"),
            2,
            5,
            (Role.SCHOOL_TRAINER,),
            lambda qs: qs.filter(
                conversations__status="held",
                conversations__invitations__attended=False,
                conversations__invitations__briefed_at__isnull=True,
            ),
            "conversations__held_at",
            ("conversations__invitations__pk",),
        ),
        Rule(
            "student_note",
            _("Student note recorded"),
            3,
            None,
            (Role.STUDENT,),
            lambda qs: qs.filter(
                conversations__status="held",
                conversations__student_note__submitted_at__isnull=True,
            ),
            "conversations__held_at",
            ("conversations__pk",),
        ),
        Rule(
            "action_done",
            _("Improvement action done by its due date"),
            0,
            5,
            ("owner",),
            lambda qs: qs.filter(state=State.IMPROVING, actions__status="open"),
            "actions__due_date",
            ("actions__pk", "actions__due_date"),
            {"owner": "actions__owner_id"},
            states=(State.IMPROVING,),
        ),
        Rule(
            "improving_decision",
            _("Decision after the evaluated improvement actions"),
            5,
            10,
            (Role.SCHOOL_TRAINER,),
            _every_action_evaluated,
            "actions__evaluated_at",
            ("actions__pk", "actions__evaluated_at"),
            states=(State.IMPROVING,),
        ),
        Rule(
            "plan_again",
            _("New conversation planned after a cancellation"),
            2,
            5,
            (Role.SCHOOL_TRAINER,),
            _nothing_planned_after_a_cancellation,
            "conversations__starts_at",
            ("conversations__pk",),
            states=(State.CONVERSATION_PLANNED, State.CHANGE_CONVERSATION_PLANNED),
        ),
        Rule(
            "office_contact",
            _("School trainer informed the internship office"),
            2,
            3,
            (Role.SCHOOL_TRAINER,),
            _state(State.CHANGE_REQUESTED),
            "state_changed_at",
            ("version",),
            state_based=True,
        ),
        Rule(
            "change_conversation_planned",
            _("All-party conversation planned"),
            None,
            5,
            (),
            _state(State.OFFICE_INFORMED),
            "state_changed_at",
            ("version",),
            state_based=True,
        ),
        Rule(
            "change_conversation_held",
            _("All-party conversation held"),
            None,
            15,
            (),
            lambda qs: qs.filter(
                state__in=(State.OFFICE_INFORMED, State.CHANGE_CONVERSATION_PLANNED),
                change_requests__office_informed_at__isnull=False,
            ),
            "change_requests__office_informed_at",
            ("change_requests__pk",),
            states=(State.OFFICE_INFORMED, State.CHANGE_CONVERSATION_PLANNED),
        ),
        Rule(
            "change_conversation_incomplete",
            _("All-party conversation without everyone accepted or held again"),
            None,
            3,
            (),
            _state(State.CHANGE_CONVERSATION_INCOMPLETE),
            "state_changed_at",
            ("version",),
            state_based=True,
        ),
        Rule(
            "outcome",
            _("Outcome reported to the office"),
            2,
            5,
            (Role.SCHOOL_TRAINER,),
            _state(State.OUTCOME_PENDING),
            "state_changed_at",
            ("version",),
            state_based=True,
        ),
        Rule(
            "isop_advice",
            _("ISOP advice given"),
            5,
            10,
            (Role.ISOP_OWNER,),
            _state(State.ISOP_ADVICE),
            "state_changed_at",
            ("version",),
            state_based=True,
        ),
        Rule(
            "office_decision",
            _("Internship office decided after the ISOP advice"),
            3,
            None,
            (Role.OFFICE,),
            _state(State.DECISION_PENDING),
            "state_changed_at",
            ("version",),
            state_based=True,
        ),
        Rule(
            "placement",
            _("New placement or stop recorded"),
            10,
            None,
            (Role.OFFICE,),
            _state(State.TRANSFER_REQUESTED),
            "state_changed_at",
            ("version",),
            state_based=True,
        ),
        Rule(
            "handover",
            _("Old study coach contacted the new coach"),
            3,
            5,
            ("old_coach",),
            lambda qs: qs.filter(state=State.HANDOVER, handovers__confirmed_at__isnull=True),
            "state_changed_at",
            ("version",),
            {"old_coach": "handovers__old_coach_id"},
            state_based=True,
            page=("transfers:handover", _("Open the handover page")),
            states=(State.HANDOVER,),
        ),
        Rule(
            "resume",
            _("Resume date approaching"),
            -10,
            None,
            (Role.OFFICE,),
            lambda qs: qs.filter(
                state=State.STOPPED, stops__resumed_at__isnull=True, stops__temporary=True
            ),
            "stops__expected_resume_date",
            ("stops__pk", "stops__expected_resume_date"),
            states=(State.STOPPED,),
        ),
    ]
}


def event_name(key: str, kind: str) -> str:
    return f"deadline:{key}:{kind}"


def event_labels() -> dict[str, Any]:
    """The label of every deadline event, e.g. "reminder: First conversation planned"
    (lazy: rendered in the reader's language)."""
    return {
        event_name(key, kind): format_lazy("{}: {}", KIND_LABELS[kind], rule.label)
        for key, rule in RULES.items()
        for kind in KIND_LABELS
    }


def reminders() -> dict[str, Reminder]:
    """What the e-mail of every deadline event says: the step, due soon or overdue,
    escalated or not, and the page where the responsible person acts."""
    return {
        event_name(key, kind): Reminder(
            step=rule.label,
            due_soon=kind == DUE_SOON,
            escalated=kind == ESCALATE,
            page=rule.page,
        )
        for key, rule in RULES.items()
        for kind in KIND_LABELS
    }


def anchor_before(anchor_path: str, cutoff: dt.date, sample_is_date: bool) -> Q:
    """anchor's local date <= cutoff, as an index-friendly comparison."""
    if sample_is_date:
        return Q(**{f"{anchor_path}__lte": cutoff})
    bound = timezone.make_aware(dt.datetime.combine(cutoff + dt.timedelta(days=1), dt.time.min))
    return Q(**{f"{anchor_path}__lt": bound})
