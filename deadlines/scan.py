"""The scan: the deadline table (rules.py) evaluated by a periodic task (tasks.py), writing
reminders, due-soon warnings and escalations into the outbox of notifications.

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
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from cases.models import OPEN_STATES, Case, Role, global_role_holders
from notifications import services as outbox
from notifications.models import Notification

from .rules import DUE_SOON, ESCALATE, REMIND, ROLE_PATHS, Rule, anchor_before, event_name
from .selectors import EffectiveRule, calendars, effective_rules
from .workdays import WorkingDays

logger = logging.getLogger(__name__)

BATCH = 1000


def _rows(
    rule: Rule, kind: str, region: str, upper: dt.date, lower: dt.date | None
) -> Iterator[dict]:
    is_date = rule.anchor_is_date
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
    qs = qs.filter(anchor_before("d_anchor", upper, is_date))
    if lower is not None:  # due soon: not yet past the real deadline
        qs = qs.exclude(anchor_before("d_anchor", lower, is_date))
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
        role: list(global_role_holders([role], today).values_list("pk", flat=True))
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
    # An escalation goes to the office, which acts on overdue steps from the dashboard's overdue
    # list, not from its inbox: it is e-mailed and kept in the inbox, but already read, so the
    # office's unread badge is not buried under tens of thousands of them.
    read_at = timezone.now() if kind == ESCALATE else None
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
                    read_at=read_at,
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
        # One message for the batch. Not robust: a robust callback would swallow Celery's
        # time-limit exceptions (they are Exceptions) and the task would report success.
        transaction.on_commit(lambda: outbox.queue_batches(ids))
    return len(fresh)
