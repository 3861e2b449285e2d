"""What the person's home page and the case page show, as small dataclasses.

The selectors load the records of the case's apps (conversations, transfers, notifications) in a
fixed number of queries, whatever a case's history or a person's caseload, and return what the
page shows with what this user may do with it: the templates read these rows and no attribute is
set on a model instance for them. The case's related managers that the core's rules and guards
read (actions, wrap-ups, ISOP requests, handovers) are filled with Django's own prefetch, so that
`available_steps` and `can` ask the database nothing more.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache

from django.db import connection
from django.db.models import (
    BooleanField,
    Exists,
    ExpressionWrapper,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    prefetch_related_objects,
)
from django.db.models.expressions import RawSQL
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from attachments.models import MEDICAL_EVENTS, Attachment
from attachments.selectors import visible_attachments
from cases.models import (
    OPEN_STATES,
    Case,
    CaseCategory,
    CaseEvent,
    Category,
    Placement,
    Role,
    State,
    User,
)
from cases.rules import CHANGE_PATH_ROLES, can, is_hidden
from cases.selectors import case_for_user, placement_people, placements_without_mentor
from cases.services import ROLE_LABELS, AvailableStep, available_steps
from conversations.models import Conversation, ImprovementAction, Invitation, StudentNote
from conversations.selectors import (
    INSUFFICIENT,
    NOTE_SUBMITTED,
    PLANNED_STATES,
    may_brief,
    may_change_conversation,
    may_plan_again,
    note_state,
)
from conversations.services import kind_for_state
from transfers.models import (
    ChangeRequest,
    Handover,
    IsopAdvice,
    OutcomeReport,
    Position,
    Stop,
    Transfer,
    WrapUp,
)
from transfers.selectors import Told, told_of_requests

# ============================================================================================
# The case page
# ============================================================================================


@dataclass(frozen=True)
class InvitationRow:
    invitation: Invitation
    may_confirm: bool  # this user was absent and confirms having read the summary


@dataclass(frozen=True)
class ConversationRow:
    conversation: Conversation
    invitations: list[InvitationRow]
    note: StudentNote | None
    note_state: str  # conversations.selectors.NOTE_MISSING / NOTE_DRAFT / NOTE_SUBMITTED
    may_change: bool  # reschedule or cancel
    may_brief: bool


@dataclass(frozen=True)
class OpenBriefing:
    """An absent invited person still to be brought up to date."""

    invitation: Invitation
    conversation: Conversation
    may_brief: bool


@dataclass(frozen=True)
class ActionRow:
    action: ImprovementAction
    may_evaluate: bool


@dataclass(frozen=True)
class ChangeRequestRow:
    request: ChangeRequest
    told: list[Told]  # who it was made known to, and when (only for the change path's viewers)


@dataclass(frozen=True)
class ReportRow:
    report: OutcomeReport
    positions: list[Position]


@dataclass(frozen=True)
class HandoverRow:
    handover: Handover
    may_acknowledge: bool  # the new coach confirms receipt


@dataclass(frozen=True)
class TimelineRow:
    event: CaseEvent
    # The event's note and details as this user may read them: without the change path's
    # rights, the notes and details of every event from the change request on are left out
    # (they quote the all-party conversation, the outcome, the advice); the events stay.
    note: str
    detail: str = ""


@dataclass(frozen=True)
class ExtraStep:
    """A step on the case page's panel that is not a transition (a record: the student's note,
    opening a confidential signal, a follow-up, agreeing the wrap-up, a briefing, ...)."""

    label: str
    url: str
    help: str = ""
    post: bool = False  # a button that posts (with the case's version), not a link


@dataclass
class CasePage:
    case: Case
    roles: list[str]  # the user's roles on the case, as labels
    may_record_study_step: bool
    may_add_attachment: bool
    people: list[tuple[str, User]]
    categories: list[str]
    # The steps this user can take now; the ones beside the process (withdraw, stop at once,
    # drop the change) apart, and asking for a change apart too.
    steps: list[AvailableStep]
    withdraw_step: AvailableStep | None
    request_change_step: AvailableStep | None
    sees_change_path: bool
    is_student: bool
    may_plan_again: bool
    may_add_action: bool
    may_record_wrap_up: bool
    may_release: bool
    conversations: list[ConversationRow] = field(default_factory=list)
    open_briefings: list[OpenBriefing] = field(default_factory=list)
    actions: list[ActionRow] = field(default_factory=list)
    insufficient_actions: list[ImprovementAction] = field(default_factory=list)
    change_requests: list[ChangeRequestRow] = field(default_factory=list)
    outcome_reports: list[ReportRow] = field(default_factory=list)
    isop_requests: list[IsopAdvice] = field(default_factory=list)
    wrap_ups: list[WrapUp] = field(default_factory=list)
    transfers: list[Transfer] = field(default_factory=list)
    handovers: list[HandoverRow] = field(default_factory=list)
    stops: list[Stop] = field(default_factory=list)
    timeline: list[TimelineRow] = field(default_factory=list)
    secondary_steps: list[AvailableStep] = field(default_factory=list)
    # Every other step this user can take now (records, not transitions).
    extra_steps: list[ExtraStep] = field(default_factory=list)
    follow_up_planned: Conversation | None = None
    # The attachments this user may see (a doctor's note: the student and the office only).
    attachments: list[Attachment] = field(default_factory=list)

    @property
    def shows_change_section(self) -> bool:
        return bool(
            self.change_requests
            or self.outcome_reports
            or self.isop_requests
            or self.wrap_ups
            or self.transfers
            or self.stops
            or self.handovers
        )


# The to-many records of the case page that the case's own query checks for (EXISTS) before
# they are fetched: most cases never reach the change path, and a case that does either
# transfers or stops.
RECORD_KINDS = (
    "conversations",
    "actions",
    "change_requests",
    "outcome_reports",
    "isop_requests",
    "wrap_ups",
    "handovers",
    "stops",
    "attachments",
)
# Conversations without invitations, reports without positions and transfers without a warm
# handover are rare: when there are none, each comes with its children (or its parent) in one
# query.
BARE_KINDS = ("bare_conversations", "bare_reports", "bare_transfers")
HAS = "has_{}"
CATEGORY = "category_{}"
# What the case page shows of a transfer.
TRANSFER_RELATED = (
    "from_placement__school",
    "to_placement__school",
    "to_placement__mentor",
    "to_placement__school_trainer",
    "to_placement__study_coach",
    "recorded_by",
)

MAY_ADD_ACTION = frozenset({Role.SCHOOL_TRAINER, Role.STUDY_COACH, Role.MENTOR, Role.OFFICE})
MAY_RECORD_WRAP_UP = frozenset({Role.SCHOOL_TRAINER, Role.STUDENT, Role.OFFICE})
MAY_EVALUATE_ANY = frozenset({Role.SCHOOL_TRAINER, Role.STUDY_COACH, Role.OFFICE})


def _record_annotations() -> dict:
    annotations = {}
    for name in RECORD_KINDS:
        related = Case._meta.get_field(name).related_model
        annotations[HAS.format(name)] = Exists(related.objects.filter(case=OuterRef("pk")))
    annotations[HAS.format("bare_conversations")] = Exists(
        Conversation.objects.filter(case=OuterRef("pk"), invitations__isnull=True)
    )
    annotations[HAS.format("bare_reports")] = Exists(
        OutcomeReport.objects.filter(case=OuterRef("pk"), positions__isnull=True)
    )
    annotations[HAS.format("bare_transfers")] = Exists(
        Transfer.objects.filter(case=OuterRef("pk"), handover__isnull=True)
    )
    # One column per category: the pk of the case's row for it (or NULL), so the categories
    # come with the case, in the order of their rows.
    for value in Category.values:
        annotations[CATEGORY.format(value)] = Subquery(
            CaseCategory.objects.filter(case=OuterRef("pk"), category=value).values("pk")[:1]
        )
    return annotations


@lru_cache(maxsize=4)
def _compiled_record_annotations(vendor: str) -> tuple[tuple[str, str, tuple, object], ...]:
    """_record_annotations() compiled once per database kind, each as (name, SQL, params,
    output field): building and compiling its subqueries on every request was a third of the
    case page's time (#17). They refer to the case as "cases_case"."id", the case query's own
    table."""
    query = Case.objects.annotate(**_record_annotations()).query
    compiler = query.get_compiler(connection=connection)
    compiled = []
    for name, expression in query.annotations.items():
        sql, params = compiler.compile(expression)
        compiled.append((name, sql, tuple(params), expression.output_field))
    return tuple(compiled)


def _record_columns() -> dict[str, RawSQL]:
    return {
        name: RawSQL(sql, params, output_field=output_field)
        for name, sql, params, output_field in _compiled_record_annotations(connection.vendor)
    }


def _people(case: Case) -> list[tuple[str, User]]:
    """Who is on the case: the placement's people; once the student continues elsewhere, the
    student and the new study coach (the school's staff are not on the case any more)."""
    if case.new_placement_id is None:
        return placement_people(case.placement)
    return [
        (Role(role).label, person)
        for role in (Role.STUDENT, Role.STUDY_COACH)
        if (person := case.person(role)) is not None
    ]


def _case_with_record_kinds(user: User, pk: int) -> tuple[Case, dict[str, bool], list[str]]:
    """The case if the user is related to it (404 otherwise: no hint that it exists), which
    kinds of record it has (by name: "actions", ..., "bare_transfers"), and its categories'
    labels, in ONE query."""
    row = case_for_user(user, pk, **_record_columns())
    has = {name: bool(getattr(row, HAS.format(name))) for name in RECORD_KINDS + BARE_KINDS}
    chosen = sorted(
        (category_pk, value)
        for value in Category.values
        if (category_pk := getattr(row, CATEGORY.format(value))) is not None
    )
    categories = [str(Category(value).label) for _pk, value in chosen]
    return row, has, categories


def _load_for_rules(case: Case, has: dict[str, bool]) -> None:
    """Prefetch what the core's rules and guards read through the case's relations (the
    actions, wrap-ups, ISOP requests and warm handovers), as the page shows them too. A kind
    the case has none of is set empty without Django's prefetch machinery, which cost
    milliseconds even for an empty queryset (#17)."""
    lookups = {
        "actions": ImprovementAction.objects.select_related("owner").order_by("due_date", "pk"),
        "wrap_ups": WrapUp.objects.select_related("recorded_by", "confirmed_by").order_by(
            "recorded_at", "pk"
        ),
        # With the office's decision on it (one to one): no query of its own.
        "isop_requests": IsopAdvice.objects.select_related(
            "given_by", "office_decision__decided_by"
        ),
        # The handovers come with their transfers (one to one): see _transfers.
        "handovers": Handover.objects.select_related(
            "old_coach", "new_coach", *(f"transfer__{f}" for f in TRANSFER_RELATED)
        ).order_by("pk"),
    }
    present = [Prefetch(name, queryset=qs) for name, qs in lookups.items() if has[name]]
    if present:
        prefetch_related_objects([case], *present)
    cache = case.__dict__.setdefault("_prefetched_objects_cache", {})
    for name, qs in lookups.items():
        if not has[name]:
            cache[name] = _known_empty(qs)


def _known_empty(qs: QuerySet) -> QuerySet:
    """An evaluated, empty queryset, as Django's prefetch leaves one in the cache."""
    empty = qs.none()
    empty._result_cache = []
    empty._prefetch_done = True
    return empty


def _transfers(case: Case, has: dict[str, bool]) -> list[Transfer]:
    """The transfers: those with a warm handover came with it; the others in one query."""
    transfers = [h.transfer for h in case.handovers.all()]
    if has["bare_transfers"]:
        transfers += Transfer.objects.filter(case=case, handover__isnull=True).select_related(
            *TRANSFER_RELATED
        )
    return sorted(transfers, key=lambda t: t.pk)


def _conversations(case: Case, has: dict[str, bool]) -> list[tuple[Conversation, list]]:
    """The case's conversations, each with its invitations, in ONE query when every
    conversation has invitations (the invitations joined to their conversation), else two."""
    if not has["conversations"]:
        return []
    parents: dict[int, Conversation] = {}
    children: dict[int, list[Invitation]] = {}
    if has["bare_conversations"]:
        conversations = Conversation.objects.filter(case=case).select_related(
            "planned_by", "recorded_by", "student_note"
        )
        for conversation in conversations.order_by("starts_at", "pk"):
            parents[conversation.pk] = conversation
            children[conversation.pk] = []
        invitations = Invitation.objects.filter(conversation__case=case).select_related(
            "person", "briefed_by"
        )
        for invitation in invitations.order_by("pk"):
            children[invitation.conversation_id].append(invitation)
    else:
        invitations = Invitation.objects.filter(conversation__case=case).select_related(
            "person",
            "briefed_by",
            "conversation__planned_by",
            "conversation__recorded_by",
            "conversation__student_note",
        )
        for invitation in invitations.order_by("conversation__starts_at", "conversation__pk", "pk"):
            parents.setdefault(invitation.conversation_id, invitation.conversation)
            children.setdefault(invitation.conversation_id, []).append(invitation)
    return [(conversation, children[pk]) for pk, conversation in parents.items()]


def _outcome_reports(case: Case, has: dict[str, bool]) -> list[ReportRow]:
    """The outcome reports with their positions: ONE query on the positions joined to their
    report when every report has positions, else two."""
    if not has["outcome_reports"]:
        return []
    position_order = Position._meta.ordering or ["pk"]
    if has["bare_reports"]:
        reports = list(OutcomeReport.objects.filter(case=case).select_related("reported_by"))
        positions: dict[int, list[Position]] = {r.pk: [] for r in reports}
        for position in (
            Position.objects.filter(report__case=case)
            .select_related("person")
            .order_by(*position_order)
        ):
            positions[position.report_id].append(position)
        return [ReportRow(report, positions[report.pk]) for report in reports]
    order = [f"report__{f}" for f in OutcomeReport._meta.ordering]
    rows: dict[int, ReportRow] = {}
    for position in (
        Position.objects.filter(report__case=case)
        .select_related("person", "report__reported_by")
        .order_by(*order, "report__pk", *position_order)
    ):
        rows.setdefault(position.report_id, ReportRow(position.report, [])).positions.append(
            position
        )
    return list(rows.values())


def _conversation_rows(
    case: Case, user: User, loaded: list[tuple[Conversation, list[Invitation]]]
) -> tuple[list[ConversationRow], list[OpenBriefing]]:
    rows, briefings = [], []
    for conversation, invitations in loaded:
        # Loaded with the conversation (a missing note raises RelatedObjectDoesNotExist, an
        # AttributeError: hence getattr).
        note = getattr(conversation, "student_note", None)
        brief = may_brief(case, conversation, user)
        rows.append(
            ConversationRow(
                conversation=conversation,
                invitations=[
                    InvitationRow(
                        invitation=i,
                        may_confirm=i.person_id == user.pk
                        and i.attended is False
                        and i.read_summary_at is None,
                    )
                    for i in invitations
                ],
                note=note,
                note_state=note_state(note),
                may_change=may_change_conversation(case, conversation, user),
                may_brief=brief,
            )
        )
        briefings += [
            OpenBriefing(invitation=i, conversation=conversation, may_brief=brief)
            for i in invitations
            if i.needs_briefing
        ]
    return rows, briefings


# From these events on, the notes are the change path's (or a stop's reason); the others are
# the change path's wherever they are.
CHANGE_PATH_STARTS = frozenset({"request_change", "stop_now"})
CHANGE_PATH_EVENTS = frozenset(
    {
        "inform_office",
        "plan_change_conversation",
        "record_change_conversation",
        "accept_change_conversation",
        "report_outcome",
        "isop_advice_requested",
        "give_advice",
        "decide",
        "abandon_change",
    }
)


def _timeline(case: Case, sees_change_path: bool, sees_medical: bool = True) -> list[TimelineRow]:
    events = CaseEvent.objects.filter(case=case).select_related("actor", "on_behalf_of")
    if not sees_medical:
        # That a doctor's note was added is itself medical: only the student and the office.
        events = events.exclude(name__in=MEDICAL_EVENTS)
    rows, started = [], False
    for event in events.order_by("at", "pk"):
        started = started or event.name in CHANGE_PATH_STARTS
        hiding = not sees_change_path and (started or event.name in CHANGE_PATH_EVENTS)
        rows.append(
            TimelineRow(
                event=event,
                note="" if hiding else event.note,
                detail="" if hiding else event.detail,
            )
        )
    return rows


# Beside the process: always possible, shown apart from the next steps (and never "pending").
SECONDARY_STEPS = ("withdraw", "stop_now", "abandon_change")


def _extra_steps(
    case: Case,
    user: User,
    *,
    rows: list[ConversationRow],
    briefings: list[OpenBriefing],
    actions: list[ActionRow],
    wrap_up: WrapUp | None,
    handovers: list[HandoverRow],
    follow_up: Conversation | None,
    may_release: bool,
) -> list[ExtraStep]:
    """Every step the person can take now that is not a transition of the case."""
    steps: list[ExtraStep] = []
    if may_release:
        steps.append(
            ExtraStep(
                _("Open it to the people involved"),
                reverse("cases:release_confidential", args=[case.pk]),
                _("After talking to the student."),
                post=True,
            )
        )
    if case.placement.student_id == user.pk and case.is_open:
        for row in rows:
            c = row.conversation
            if c.status == Conversation.Status.HELD and row.note_state != NOTE_SUBMITTED:
                steps.append(
                    ExtraStep(
                        _("Write your note of the conversation"),
                        reverse("conversations:note", args=[c.pk]),
                        f"{c.get_kind_display()}, "
                        f"{date_format(timezone.localtime(c.starts_at), 'j F Y')}",
                    )
                )
    for row in rows:
        for invitation_row in row.invitations:
            if invitation_row.may_confirm:
                steps.append(
                    ExtraStep(
                        _("I have read the summary"),
                        reverse("conversations:confirm_read", args=[invitation_row.invitation.pk]),
                        f"{row.conversation.get_kind_display()}, "
                        f"{date_format(timezone.localtime(row.conversation.starts_at), 'j F Y')}",
                        post=True,
                    )
                )
    if case.state == State.IMPROVING and can(user, "cases.plan_follow_up", case):
        if follow_up is None:
            steps.append(
                ExtraStep(
                    _("Plan a follow-up conversation"),
                    reverse("conversations:plan_follow_up", args=[case.pk]),
                    _("To evaluate the improvement actions together."),
                )
            )
        elif follow_up.starts_at <= timezone.now():
            steps.append(
                ExtraStep(
                    _("Record the follow-up conversation"),
                    reverse("conversations:record_follow_up", args=[follow_up.pk]),
                )
            )
    for row in actions:
        if row.may_evaluate and not row.action.evaluation:
            steps.append(
                ExtraStep(
                    _("Evaluate an improvement action"),
                    reverse("conversations:evaluate_action", args=[row.action.pk]),
                    row.action.description,
                )
            )
    for briefing in briefings:
        if briefing.may_brief:
            steps.append(
                ExtraStep(
                    _("Record a briefing"),
                    reverse("conversations:brief", args=[briefing.invitation.pk]),
                    str(briefing.invitation.person),
                )
            )
    if wrap_up is not None and wrap_up.confirmed_at is None and case.is_open:
        wrap_up.case = case
        if can(user, "cases.confirm_wrap_up", wrap_up):
            steps.append(
                ExtraStep(
                    _("Agree the wrap-up with the class"),
                    reverse("transfers:wrap_up_confirm", args=[case.pk]),
                    _("Recorded by %(who)s.") % {"who": wrap_up.recorded_by},
                )
            )
    for row in handovers:
        if row.may_acknowledge and row.handover.confirmed_at is not None:
            steps.append(
                ExtraStep(
                    _("Confirm receipt of the handover"),
                    reverse("transfers:handover_received", args=[row.handover.pk]),
                )
            )
    return steps


def case_page(user: User, pk: int) -> CasePage:
    """The case page for this user: 404 unless they are related to the case. One query per
    kind of record the case has (never one per record), whatever its history."""
    case, has, categories = _case_with_record_kinds(user, pk)
    _load_for_rules(case, has)
    roles = case.roles_of(user)
    # Need-to-know (cases/rules.py): the change path is not the mentor's.
    sees_change_path = can(user, "cases.view_change_conversation", case)
    steps = available_steps(case, user)

    loaded = [
        (c, invitations)
        for c, invitations in _conversations(case, has)
        if sees_change_path or c.kind != Conversation.Kind.CHANGE
    ]
    conversations = [c for c, _invitations in loaded]
    conversation_rows, open_briefings = _conversation_rows(case, user, loaded)
    # The case says "planned" but the conversation was cancelled: nothing to record yet.
    kind = kind_for_state(case.state)
    nothing_to_record = case.state in PLANNED_STATES and not any(
        c.kind == kind and c.status == Conversation.Status.PLANNED for c in conversations
    )

    actions = list(case.actions.all())
    evaluates_any = bool(roles & MAY_EVALUATE_ANY)
    change_requests = []
    if has["change_requests"]:
        requests = ChangeRequest.objects.filter(case=case).select_related(
            "requested_by", "office_informed_by"
        )
        told = told_of_requests(case) if sees_change_path else {}
        change_requests = [ChangeRequestRow(r, told.get(r.pk, [])) for r in requests]

    action_rows = [
        ActionRow(a, may_evaluate=case.is_open and (evaluates_any or a.owner_id == user.pk))
        for a in actions
    ]
    handover_rows = (
        [
            HandoverRow(h, may_acknowledge=h.new_coach_id == user.pk and h.received_at is None)
            for h in case.handovers.all()
        ]
        if sees_change_path
        else []
    )
    wrap_ups = list(case.wrap_ups.all())
    follow_up = next(
        (
            c
            for c in conversations
            if c.kind == Conversation.Kind.FOLLOW_UP and c.status == Conversation.Status.PLANNED
        ),
        None,
    )
    may_release = can(user, "cases.release_confidential", case)
    return CasePage(
        case=case,
        roles=sorted(str(ROLE_LABELS.get(r, r)) for r in roles),
        may_record_study_step=bool(roles & {Role.OFFICE, Role.STUDY_COACH}),
        may_add_attachment=can(user, "attachments.add_attachment", case),
        attachments=visible_attachments(user, case) if has["attachments"] else [],
        people=_people(case),
        categories=categories,
        steps=[
            s
            for s in steps
            if s.name not in SECONDARY_STEPS
            and not (nothing_to_record and s.url_name == "conversations:record")
        ],
        withdraw_step=next((s for s in steps if s.name == "withdraw"), None),
        request_change_step=next((s for s in steps if s.name == "request_change"), None),
        secondary_steps=[s for s in steps if s.name in SECONDARY_STEPS and s.name != "withdraw"],
        extra_steps=_extra_steps(
            case,
            user,
            rows=conversation_rows,
            briefings=open_briefings,
            actions=action_rows,
            wrap_up=wrap_ups[-1] if wrap_ups else None,
            handovers=handover_rows,
            follow_up=follow_up,
            may_release=may_release,
        ),
        follow_up_planned=follow_up,
        sees_change_path=sees_change_path,
        is_student=case.placement.student_id == user.pk,
        may_plan_again=case.is_open and may_plan_again(case, user, conversations),
        may_add_action=case.state in (State.CONVERSATION_PLANNED, State.IMPROVING)
        and bool(roles & MAY_ADD_ACTION),
        may_record_wrap_up=case.state == State.TRANSFER_REQUESTED
        and bool(roles & MAY_RECORD_WRAP_UP),
        may_release=may_release,
        conversations=conversation_rows,
        open_briefings=open_briefings,
        actions=action_rows,
        insufficient_actions=[a for a in actions if a.evaluation in INSUFFICIENT],
        change_requests=change_requests,
        outcome_reports=_outcome_reports(case, has) if sees_change_path else [],
        isop_requests=list(case.isop_requests.all()) if sees_change_path else [],
        wrap_ups=wrap_ups,
        transfers=_transfers(case, has),
        handovers=handover_rows,
        stops=list(Stop.objects.filter(case=case)) if has["stops"] else [],
        timeline=_timeline(
            case, sees_change_path, sees_medical=can(user, "attachments.view_medical", case)
        ),
    )


# ============================================================================================
# Each person's home
# ============================================================================================


@dataclass(frozen=True)
class CaseSteps:
    case: Case
    steps: list[AvailableStep]
    plan_again: bool = False
    consider_change: AvailableStep | None = None
    # A confidential signal waits for the office: its step is opening it (a button on the
    # case page, after talking to the student).
    release: bool = False


@dataclass(frozen=True)
class NoteToWrite:
    conversation: Conversation
    note_state: str


@dataclass(frozen=True)
class OwnAction:
    action: ImprovementAction
    is_overdue: bool


@dataclass
class Home:
    # Students arriving at a placement of this person after a transfer (or a resume elsewhere):
    # who, from when, and what the student agreed to share; never the old school's case file.
    arrivals: list[Transfer] = field(default_factory=list)
    # Placements whose mentor is "to be assigned": the school trainer fills it in.
    mentors_to_assign: list[Placement] = field(default_factory=list)
    notes_to_write: list[NoteToWrite] = field(default_factory=list)
    summaries_to_confirm: list[Invitation] = field(default_factory=list)
    upcoming: list[Conversation] = field(default_factory=list)
    actions: list[OwnAction] = field(default_factory=list)
    case_steps: list[CaseSteps] = field(default_factory=list)
    briefings: list[Invitation] = field(default_factory=list)
    cases_shown: int = 0

    @property
    def is_empty(self) -> bool:
        return not (
            self.arrivals
            or self.mentors_to_assign
            or self.notes_to_write
            or self.summaries_to_confirm
            or self.upcoming
            or self.actions
            or self.case_steps
            or self.briefings
        )


# Steps that are always possible and therefore not "pending": withdrawing, and asking for a
# change while the actions are still running (offered on the case page instead; on the home
# only when an action did not help enough).
NOT_PENDING = {"withdraw", "request_change", "stop_now", "abandon_change"}
HOME_CASE_LIMIT = 100
ARRIVALS_DAYS = 30


def _open_cases(user: User) -> list[Case]:
    """The user's open cases that waited longest, with what the guards of available_steps and
    the rules read (so they run no query per case) and the planned conversations."""
    planned = Conversation.objects.filter(status=Conversation.Status.PLANNED).only(
        "pk", "case_id", "kind", "status"
    )
    return list(
        Case.objects.related_to(user)
        .open()
        .select_related("placement__student", "placement__school", "new_placement")
        .prefetch_related(
            Prefetch(
                "actions", queryset=ImprovementAction.objects.only("pk", "case_id", "evaluation")
            ),
            "wrap_ups",
            "handovers",
            Prefetch("conversations", queryset=planned, to_attr="planned_conversations"),
        )
        .order_by("state_changed_at", "pk")[:HOME_CASE_LIMIT]
    )


def pending_steps(user: User, cases: list[Case]) -> list[CaseSteps]:
    rows = []
    for case in cases:
        steps = available_steps(case, user)
        plan_again = may_plan_again(case, user, case.planned_conversations)
        release = is_hidden(case) and can(user, "cases.release_confidential", case)
        pending = [
            s
            for s in steps
            if s.name not in NOT_PENDING
            and s.blocked_reason is None
            # After a cancellation there is nothing to record: plan again instead.
            and not (plan_again and s.url_name == "conversations:record")
        ]
        consider_change = None
        if any(a.evaluation in INSUFFICIENT for a in case.actions.all()):
            consider_change = next((s for s in steps if s.name == "request_change"), None)
        if pending or plan_again or consider_change or release:
            rows.append(CaseSteps(case, pending, plan_again, consider_change, release))
    return rows


def _case_placement_related():
    return ("conversation__case__placement__student", "conversation__case__placement__school")


def home_for(user: User, *, today: dt.date | None = None) -> Home:
    """What this person is expected to do now, across all their open cases."""
    cases = _open_cases(user)
    home = Home(cases_shown=len(cases))
    home.case_steps = pending_steps(user, cases)
    start_of_today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)

    # Only cases the user still sees (a confidential signal, the old school after a transfer).
    seen = Q() if user.is_office else Q(case__in=Case.objects.related_to(user).values("pk"))
    seen_via_conversation = (
        Q()
        if user.is_office
        else Q(conversation__case__in=Case.objects.related_to(user).values("pk"))
    )
    # The notes to write and the conversations coming up: ONE query (two conditions), split
    # here. An invitation is an EXISTS, so a conversation is read once whoever else is invited.
    invited = Exists(Invitation.objects.filter(conversation=OuterRef("pk"), person=user))
    note_missing = Q(student_note__isnull=True) | Q(student_note__submitted_at__isnull=True)
    to_write = Q(case__placement__student=user, status=Conversation.Status.HELD) & note_missing
    coming = Q(invited_here=True, status=Conversation.Status.PLANNED, starts_at__gte=start_of_today)
    conversations = list(
        Conversation.objects.filter(seen, case__state__in=OPEN_STATES)
        .annotate(invited_here=invited, to_write=ExpressionWrapper(to_write, BooleanField()))
        .filter(to_write | coming)
        .select_related("case__placement__student", "case__placement__school", "student_note")
        .order_by("starts_at", "pk")
    )
    home.notes_to_write = [
        NoteToWrite(c, note_state(getattr(c, "student_note", None)))
        for c in conversations
        if c.to_write
    ]
    home.upcoming = [
        c
        for c in conversations
        if c.invited_here
        and c.status == Conversation.Status.PLANNED
        and c.starts_at >= start_of_today
    ]

    home.summaries_to_confirm = list(
        Invitation.objects.filter(
            seen_via_conversation,
            person=user,
            attended=False,
            read_summary_at__isnull=True,
            conversation__status=Conversation.Status.HELD,
            conversation__case__state__in=OPEN_STATES,
        )
        .select_related(*_case_placement_related())
        .order_by("conversation__starts_at", "pk")
    )

    today = today or timezone.localdate()
    # Arrivals in the last 30 days and to come, at a placement where the user is staff.
    staff = (
        Q(to_placement__mentor=user)
        | Q(to_placement__school_trainer=user)
        | Q(to_placement__coordinating_trainer=user)
    )
    home.arrivals = list(
        Transfer.objects.filter(
            staff,
            applied_at__isnull=False,
            effective_date__gte=today - dt.timedelta(days=ARRIVALS_DAYS),
        )
        .select_related("to_placement__student", "to_placement__school")
        .order_by("effective_date", "pk")
    )
    # The request's user knows whether there are any (no query when there are none).
    if user.has_mentor_to_assign():
        home.mentors_to_assign = list(placements_without_mentor(user))
    home.actions = [
        OwnAction(action, is_overdue=action.due_date < today)
        for action in ImprovementAction.objects.filter(
            seen,
            owner=user,
            status=ImprovementAction.Status.OPEN,
            case__state__in=OPEN_STATES,
        )
        .select_related("case__placement__student")
        .order_by("due_date", "pk")
    ]

    briefings = (
        Invitation.objects.filter(
            attended=False,
            briefed_at__isnull=True,
            conversation__status=Conversation.Status.HELD,
            conversation__case__in=[c.pk for c in cases],
        )
        .exclude(person=user)
        .select_related("person", "conversation__case__placement__student")
        .order_by("conversation__starts_at", "pk")
    )
    # Only briefings of conversations the user may see (not the all-party one for a mentor).
    home.briefings = [
        i
        for i in briefings
        if may_brief(i.conversation.case, i.conversation, user)
        and (
            i.conversation.kind == Conversation.Kind.PROBLEM
            or i.conversation.case.roles_of(user) & CHANGE_PATH_ROLES
        )
    ]
    return home
