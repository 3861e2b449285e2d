"""Reads of the change path: the ISOP owner's queue of open advice requests with a digest of
each case, the office's worklist of change requests by step, and who was told of a change
request and when. Each runs a fixed number of queries, however many cases there are."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import DateTimeField, OuterRef, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.models import FIVE_ANSWERS, Case, State, User
from conversations.models import Conversation
from notifications.deadlines import calendars, effective_rules
from notifications.models import Notification

from .models import ChangeRequest, IsopAdvice, OutcomeReport, Position, Stop

# --------------------------------------------------------------------------------------------
# The ISOP owner's queue
# --------------------------------------------------------------------------------------------


@dataclass
class AdviceDigest:
    advice: IsopAdvice
    case: Case
    answers: list[tuple[str, str]]
    report: OutcomeReport | None


def open_advice_requests() -> list[AdviceDigest]:
    """Advice requests still to be answered on cases that wait for them, oldest first, each with
    the five answers of the latest held all-party conversation and the latest reported positions.
    """
    held_change = Conversation.objects.filter(
        kind=Conversation.Kind.CHANGE, status=Conversation.Status.HELD
    ).order_by("-held_at", "-pk")
    reports = (
        OutcomeReport.objects.select_related("reported_by")
        .prefetch_related(
            Prefetch(
                "positions",
                queryset=Position.objects.select_related("person").order_by("role", "pk"),
            )
        )
        .order_by("-reported_at", "-pk")
    )
    requests = (
        IsopAdvice.objects.filter(given_at__isnull=True, case__state=State.ISOP_ADVICE)
        .select_related("case__placement__student", "case__placement__school")
        .prefetch_related(
            Prefetch("case__conversations", queryset=held_change, to_attr="held_change"),
            Prefetch("case__outcome_reports", queryset=reports, to_attr="latest_reports"),
        )
        .order_by("requested_at", "pk")
    )
    digests = []
    for advice in requests:
        case = advice.case
        conversation = case.held_change[0] if case.held_change else None
        answers = (
            [
                (str(Conversation._meta.get_field(name).verbose_name), getattr(conversation, name))
                for name in FIVE_ANSWERS
            ]
            if conversation is not None
            else []
        )
        report = case.latest_reports[0] if case.latest_reports else None
        digests.append(AdviceDigest(advice=advice, case=case, answers=answers, report=report))
    return digests


# --------------------------------------------------------------------------------------------
# The office's worklist
# --------------------------------------------------------------------------------------------

# (group key, label, states)
WORKLIST_GROUPS: list[tuple[str, str, tuple[str, ...]]] = [
    ("office_contact", _("Awaiting contact with the office"), (State.CHANGE_REQUESTED,)),
    (
        "conversation",
        _("Awaiting the all-party conversation"),
        (State.OFFICE_INFORMED, State.CHANGE_CONVERSATION_PLANNED),
    ),
    ("outcome", _("Awaiting the outcome"), (State.OUTCOME_PENDING,)),
    ("isop_advice", _("Awaiting ISOP advice"), (State.ISOP_ADVICE,)),
    ("placement", _("Awaiting a new placement or stop"), (State.TRANSFER_REQUESTED,)),
    ("handover", _("In warm handover"), (State.HANDOVER,)),
    ("stopped", _("Stopped temporarily"), (State.STOPPED,)),
]
WORKLIST_STATES = tuple(s for _key, _label, states in WORKLIST_GROUPS for s in states)
# The deadline rule (notifications.deadlines.RULES) whose threshold flags a case as overdue.
# Waiting for the all-party conversation: planned within 5 working days of the office being
# informed, held within 15 (process.md); both counted from that contact.
STATE_RULES: dict[str, str] = {
    State.CHANGE_REQUESTED: "office_contact",
    State.OFFICE_INFORMED: "change_conversation_planned",
    State.CHANGE_CONVERSATION_PLANNED: "change_conversation_held",
    State.OUTCOME_PENDING: "outcome",
    State.ISOP_ADVICE: "isop_advice",
    State.TRANSFER_REQUESTED: "placement",
    State.HANDOVER: "handover",
}
FROM_OFFICE_CONTACT = (State.OFFICE_INFORMED, State.CHANGE_CONVERSATION_PLANNED)


@dataclass
class WorklistRow:
    case: Case
    since: dt.datetime  # when the wait began: the step, or the contact with the office
    waiting: int  # working days since then
    overdue: bool
    request: ChangeRequest | None
    stop: Stop | None


@dataclass
class WorklistGroup:
    key: str
    label: str
    rows: list[WorklistRow] = field(default_factory=list)


def _local_date(moment: dt.datetime) -> dt.date:
    return timezone.localtime(moment).date()


def _thresholds() -> dict[str, int | None]:
    """Working days after which a step counts as overdue: the escalation of its deadline rule,
    or the reminder where nobody escalates (the office's own steps)."""
    found: dict[str, int | None] = {}
    for eff in effective_rules():
        days = eff.escalate_after if eff.escalate_after is not None else eff.remind_after
        found[eff.rule.key] = days if days is not None and days >= 0 else None
    return found


def change_worklist_cases() -> QuerySet[Case]:
    latest_request = ChangeRequest.objects.select_related("requested_by").order_by(
        "-created_at", "-pk"
    )
    open_stops = Stop.objects.filter(resumed_at__isnull=True).order_by("-pk")
    return (
        Case.objects.filter(state__in=WORKLIST_STATES)
        .select_related("placement__student", "placement__school")
        .prefetch_related(
            Prefetch("change_requests", queryset=latest_request, to_attr="latest_requests"),
            Prefetch("stops", queryset=open_stops, to_attr="open_stops"),
        )
        .order_by("state_changed_at", "pk")
    )


def office_worklist(today: dt.date | None = None) -> list[WorklistGroup]:
    """The open change requests by step, longest waiting first, in working days of the
    school's region (public holidays and that region's school holidays do not count)."""
    today = today or timezone.localdate()
    cals = calendars()
    thresholds = _thresholds()
    groups = {key: WorklistGroup(key, label) for key, label, _states in WORKLIST_GROUPS}
    group_of = {s: key for key, _label, states in WORKLIST_GROUPS for s in states}
    for case in change_worklist_cases():
        request = case.latest_requests[0] if case.latest_requests else None
        since = case.state_changed_at
        if case.state in FROM_OFFICE_CONTACT and request and request.office_informed_at:
            since = request.office_informed_at
        waiting = cals[case.placement.school.region].between(_local_date(since), today)
        limit = thresholds.get(STATE_RULES.get(case.state, ""))
        groups[group_of[case.state]].rows.append(
            WorklistRow(
                case=case,
                since=since,
                waiting=waiting,
                overdue=limit is not None and waiting >= limit,
                request=request,
                stop=case.open_stops[0] if case.open_stops else None,
            )
        )
    for group in groups.values():
        group.rows.sort(key=lambda row: (row.since, row.case.pk))
    return list(groups.values())


# --------------------------------------------------------------------------------------------
# Who was told of a change request, and when
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Told:
    person: User
    at: dt.datetime | None  # when the notification was written (the request's step)
    sent_at: dt.datetime | None  # when the e-mail went out
    read_at: dt.datetime | None  # when it was read in the inbox


# Later than any notification: the end of the last request's window.
_FAR = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)


def told_of_requests(*cases: Case) -> dict[int, list[Told]]:
    """For each change request of the cases: everyone it was made known to, with their
    notification (None where there is none), by request pk; a request made known to nobody is
    absent.

    ONE query, whatever the number of requests and people. A request's notifications are the
    `request_change` ones written from its creation until the next request of its case (a case
    may go round more than once); each person's first one counts.
    """
    through = ChangeRequest.made_known_to.through
    later = ChangeRequest.objects.filter(case_id=OuterRef("changerequest__case_id")).filter(
        Q(created_at__gt=OuterRef("changerequest__created_at"))
        | Q(created_at=OuterRef("changerequest__created_at"), pk__gt=OuterRef("changerequest_id"))
    )
    told = Notification.objects.filter(
        case_id=OuterRef("changerequest__case_id"),
        event="request_change",
        recipient_id=OuterRef("user_id"),
        created_at__gte=OuterRef("changerequest__created_at"),
        created_at__lt=OuterRef("window_end"),
    ).order_by("created_at", "pk")
    user_order = [f"user__{f}" for f in User._meta.ordering]
    rows = (
        through.objects.filter(changerequest__case__in=[case.pk for case in cases])
        .select_related("user")
        .annotate(
            window_end=Coalesce(
                Subquery(later.order_by("created_at", "pk").values("created_at")[:1]),
                Value(_FAR, output_field=DateTimeField()),
            ),
        )
        .annotate(
            told_at=Subquery(told.values("created_at")[:1]),
            told_sent_at=Subquery(told.values("sent_at")[:1]),
            told_read_at=Subquery(told.values("read_at")[:1]),
        )
        .order_by("changerequest_id", *user_order, "user__pk")
    )
    result: dict[int, list[Told]] = {}
    for row in rows:
        result.setdefault(row.changerequest_id, []).append(
            Told(
                person=row.user,
                at=row.told_at,
                sent_at=row.told_sent_at,
                read_at=row.told_read_at,
            )
        )
    return result
