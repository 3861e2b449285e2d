"""The deadline table of process.md, evaluated by a periodic task.

For every deadline and every school-holiday region the scan works out one cut-off date (the
latest anchor whose deadline has passed, in working days) and asks the database for the open
steps anchored on or before it, streaming the rows so memory stays bounded at any data size.
Each (step, recipient, kind) gets one outbox row: the unique dedupe key makes a second scan a
no-op, and a new step (a new case version, a rescheduled conversation, a moved due date) gets
a new key and so a new reminder.

The scan reads the records of the other apps only through the Case model's reverse relations.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.models import EVENT_LABELS, OPEN_STATES, Case, Role, State, TrainingSchool, User

from .models import DeadlineRule, Notification, SchoolHoliday
from .workdays import WorkingDays

logger = logging.getLogger(__name__)

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
BATCH = 1000


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
            lambda qs: qs.filter(
                state__in=(State.CONVERSATION_PLANNED, State.CHANGE_CONVERSATION_PLANNED),
                conversations__status="planned",
            ),
            "conversations__starts_at",
            ("conversations__pk", "conversations__starts_at"),
            {"planner": "conversations__planned_by_id"},
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
        ),
    ]
}


def event_name(key: str, kind: str) -> str:
    return f"deadline:{key}:{kind}"


def event_label(event: str) -> str:
    _prefix, key, kind = event.split(":", 2)
    rule = RULES.get(key)
    return f"{KIND_LABELS.get(kind, kind)}: {rule.label if rule else key}"


class _LazyLabel:
    """Renders in the language active at render time (the recipient's)."""

    def __init__(self, event: str) -> None:
        self.event = event

    def __str__(self) -> str:
        return event_label(self.event)


# The inbox and the e-mails look labels up in the core's table; deadline events join it here.
EVENT_LABELS.update(
    {
        event_name(key, kind): _LazyLabel(event_name(key, kind))
        for key in RULES
        for kind in KIND_LABELS
    }
)


@dataclass(frozen=True)
class EffectiveRule:
    rule: Rule
    remind_after: int | None
    escalate_after: int | None
    due_soon_before: int


def effective_rules() -> list[EffectiveRule]:
    configured = {r.key: r for r in DeadlineRule.objects.all()}
    result = []
    for key, rule in RULES.items():
        row = configured.get(key)
        if row is None:
            result.append(EffectiveRule(rule, rule.remind_after, rule.escalate_after, 1))
        elif row.active:
            result.append(
                EffectiveRule(rule, row.remind_after, row.escalate_after, row.due_soon_before)
            )
    return result


_CALENDARS: dict[tuple, WorkingDays] = {}


def calendars() -> dict[str, WorkingDays]:
    """The working-day calendar per region. A region's calendar is reused while its school
    holidays stay the same, so what it has worked out (working days, cutoffs) serves the
    next request too."""
    by_region: dict[str, list[tuple[dt.date, dt.date]]] = {r: [] for r in TrainingSchool.Region}
    for holiday in SchoolHoliday.objects.all():
        by_region[holiday.region].append((holiday.start_date, holiday.end_date))
    result = {}
    for region, periods in by_region.items():
        key = tuple(sorted(periods))
        if key not in _CALENDARS:
            if len(_CALENDARS) > 64:
                _CALENDARS.clear()
            _CALENDARS[key] = WorkingDays(periods)
        result[region] = _CALENDARS[key]
    return result


def _anchor_before(anchor_path: str, cutoff: dt.date, sample_is_date: bool) -> Q:
    """anchor's local date <= cutoff, as an index-friendly comparison."""
    if sample_is_date:
        return Q(**{f"{anchor_path}__lte": cutoff})
    bound = timezone.make_aware(dt.datetime.combine(cutoff + dt.timedelta(days=1), dt.time.min))
    return Q(**{f"{anchor_path}__lt": bound})


_DATE_ANCHORS = {"actions__due_date", "stops__expected_resume_date"}


def _rows(
    rule: Rule, kind: str, region: str, upper: dt.date, lower: dt.date | None
) -> Iterator[dict]:
    is_date = rule.anchor in _DATE_ANCHORS
    qs = rule.filter(Case.objects.filter(state__in=OPEN_STATES, placement__school__region=region))
    if kind != ESCALATE:
        # A confidential signal the office has not opened yet is the office's alone.
        qs = qs.exclude(confidential=True, confidential_released_at__isnull=True)
    # Every path is read through annotations made right after the rule's filter, so they reuse
    # its joins: a second .filter() on a to-many path would join that table again and match the
    # date of another conversation than the planned one.
    paths = sorted({*rule.step, *ROLE_PATHS.values(), *rule.role_paths.values()} - {"pk"})
    aliases = {path: f"d_{i}" for i, path in enumerate(paths)}
    qs = qs.annotate(d_anchor=F(rule.anchor), **{a: F(p) for p, a in aliases.items()})
    qs = qs.filter(_anchor_before("d_anchor", upper, is_date))
    if lower is not None:  # due soon: not yet past the real deadline
        qs = qs.exclude(_anchor_before("d_anchor", lower, is_date))
    if rule.state_based:
        already = Notification.objects.filter(
            case=OuterRef("pk"),
            event=event_name(rule.key, kind),
            created_at__gte=OuterRef("state_changed_at"),
        )
        qs = qs.filter(~Exists(already))
    for row in qs.order_by().values("pk", *aliases.values()).iterator(chunk_size=2000):
        yield {"pk": row["pk"], **{p: row[a] for p, a in aliases.items()}}


def _recipients(rule: Rule, kind: str, row: dict, global_ids: dict[str, list[int]]) -> list[int]:
    roles = rule.remind_roles if kind != ESCALATE else (Role.OFFICE,)
    if kind == DUE_SOON and not rule.remind_roles:
        roles = (Role.OFFICE,)
    ids: list[int] = []
    for role in roles:
        if role in global_ids:
            ids.extend(global_ids[role])
            continue
        path = rule.role_paths.get(role) or ROLE_PATHS.get(role)
        if path and row.get(path):
            ids.append(row[path])
    return list(dict.fromkeys(ids))


def _step_key(rule: Rule, row: dict) -> str:
    return "/".join(str(row[part]) for part in rule.step)


@dataclass
class ScanResult:
    created: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


def scan(today: dt.date | None = None) -> ScanResult:
    """Create the due reminders, due-soon warnings and escalations; queue them after commit."""
    today = today or timezone.localdate()
    result = ScanResult()
    cals = calendars()
    global_ids = {
        role: list(
            User.objects.filter(groups__name=role, is_active=True).values_list("pk", flat=True)
        )
        for role in (Role.OFFICE, Role.ISOP_OWNER)
    }
    for eff in effective_rules():
        for kind, days in _kinds(eff):
            for region, cal in cals.items():
                upper, lower = _window(cal, today, kind, days, eff)
                created = _emit(eff.rule, kind, region, upper, lower, global_ids)
                result.created += created
                result.by_kind[kind] = result.by_kind.get(kind, 0) + created
    logger.info("deadline scan %s: %s new notifications %s", today, result.created, result.by_kind)
    return result


def _kinds(eff: EffectiveRule) -> list[tuple[str, int]]:
    kinds = []
    first = eff.remind_after if eff.remind_after is not None else eff.escalate_after
    if first is not None and eff.due_soon_before:
        kinds.append((DUE_SOON, first))
    if eff.remind_after is not None and eff.rule.remind_roles:
        kinds.append((REMIND, eff.remind_after))
    if eff.escalate_after is not None:
        kinds.append((ESCALATE, eff.escalate_after))
    return kinds


def _window(
    cal: WorkingDays, today: dt.date, kind: str, days: int, eff: EffectiveRule
) -> tuple[dt.date, dt.date | None]:
    if kind != DUE_SOON:
        return cal.latest_anchor(today, days), None
    # Warn from `due_soon_before` working days before the deadline until the deadline itself.
    return cal.latest_anchor(today, days - eff.due_soon_before), cal.latest_anchor(today, days)


def _emit(
    rule: Rule,
    kind: str,
    region: str,
    upper: dt.date,
    lower: dt.date | None,
    global_ids: dict[str, list[int]],
) -> int:
    event = event_name(rule.key, kind)
    created = 0
    batch: list[Notification] = []
    for row in _rows(rule, kind, region, upper, lower):
        step = _step_key(rule, row)
        # Who must take the step (the e-mail names them); none: the office itself.
        responsible = _recipients(rule, REMIND, row, global_ids) if rule.remind_roles else []
        for recipient_id in _recipients(rule, kind, row, global_ids):
            batch.append(
                Notification(
                    recipient_id=recipient_id,
                    case_id=row["pk"],
                    event=event,
                    dedupe_key=f"{row['pk']}:{event}:{step}:{recipient_id}",
                    context={"responsible": responsible},
                )
            )
        if len(batch) >= BATCH:
            created += _flush(batch)
            batch = []
    if batch:
        created += _flush(batch)
    return created


def _flush(batch: list[Notification]) -> int:
    """Insert what is new (the unique key drops what was sent before) and queue it on commit."""
    from .services import queue_delivery

    keys = [n.dedupe_key for n in batch]
    with transaction.atomic():
        existing = set(
            Notification.objects.filter(dedupe_key__in=keys).values_list("dedupe_key", flat=True)
        )
        fresh = [n for n in batch if n.dedupe_key not in existing]
        Notification.objects.bulk_create(fresh, ignore_conflicts=True)
        ids = list(
            Notification.objects.filter(
                dedupe_key__in=[n.dedupe_key for n in fresh],
                status=Notification.Status.PENDING,
            ).values_list("pk", flat=True)
        )
        transaction.on_commit(lambda: queue_delivery(ids), robust=True)
    return len(fresh)
