"""Reads for the conversation parts of the case page and for each person's home page.

Every function here runs a fixed number of queries, whatever the number of cases, conversations
or actions: the pages that use them must not grow with a case's history or a person's caseload.
The permission flags mirror the checks in `services.py`, so a button is only shown to people
the service will accept (the service still checks).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.models import OPEN_STATES, Case, State, User
from cases.rules import CHANGE_PATH_ROLES, can, is_hidden
from cases.selectors import case_for_user
from cases.services import AvailableStep, available_steps

from .models import Conversation, ImprovementAction, Invitation, StudentNote
from .services import BRIEFER_ROLES, PLANNER_ROLES, kind_for_state

NOTE_MISSING = "missing"
NOTE_DRAFT = "draft"
NOTE_SUBMITTED = "submitted"

PLANNED_STATES = (State.CONVERSATION_PLANNED, State.CHANGE_CONVERSATION_PLANNED)
INSUFFICIENT = (ImprovementAction.Evaluation.NOT_HELPED, ImprovementAction.Evaluation.PARTLY)


# --- single objects, for the views ---------------------------------------------------------


def conversation_for_user(user: User, pk: int) -> tuple[Case, Conversation]:
    """The conversation and its case if the user may see the case; Http404 otherwise."""
    case_id = Conversation.objects.filter(pk=pk).values_list("case_id", flat=True).first()
    if case_id is None:
        raise Http404("No such conversation.")
    case = case_for_user(user, case_id)
    conversation = (
        Conversation.objects.select_related("planned_by", "recorded_by")
        .prefetch_related(
            Prefetch("invitations", queryset=Invitation.objects.select_related("person"))
        )
        .get(pk=pk)
    )
    conversation.case = case
    _check_may_see(user, conversation)
    return case, conversation


def _check_may_see(user: User, conversation: Conversation) -> None:
    """403 for a related person without the right (the mentor and the all-party conversation:
    its page, calendar file, note, briefings); see cases/rules.py."""
    if not can(user, "cases.view_conversation", conversation):
        raise PermissionDenied(_("This conversation is not shared with you."))


def invitation_for_user(user: User, pk: int) -> tuple[Case, Invitation]:
    invitation = Invitation.objects.select_related("conversation", "person").filter(pk=pk).first()
    if invitation is None:
        raise Http404("No such invitation.")
    case = case_for_user(user, invitation.conversation.case_id)
    invitation.conversation.case = case
    _check_may_see(user, invitation.conversation)
    return case, invitation


def note_of(conversation: Conversation) -> StudentNote | None:
    return StudentNote.objects.filter(conversation=conversation).first()


# --- permission flags (mirror the services) ------------------------------------------------


def may_plan_conversation(case: Case, conversation: Conversation, user: User) -> bool:
    """Whose it is to reschedule or cancel: see services._check_may_plan."""
    return conversation.planned_by_id == user.pk or bool(
        case.roles_of(user) & PLANNER_ROLES[conversation.kind]
    )


def may_change_conversation(case: Case, conversation: Conversation, user: User) -> bool:
    """Reschedule or cancel now."""
    if not case.is_open or conversation.status != Conversation.Status.PLANNED:
        return False
    return may_plan_conversation(case, conversation, user)


def may_plan_again(case: Case, user: User, conversations: Iterable[Conversation]) -> bool:
    """After a cancellation: the case still says "planned" but no conversation is."""
    if case.state not in PLANNED_STATES:
        return False
    kind = kind_for_state(case.state)
    if any(c.kind == kind and c.status == Conversation.Status.PLANNED for c in conversations):
        return False
    return bool(case.roles_of(user) & PLANNER_ROLES[kind])


def may_brief(case: Case, conversation: Conversation, user: User) -> bool:
    return bool(case.roles_of(user) & BRIEFER_ROLES) or conversation.planned_by_id == user.pk


def note_state(note: StudentNote | None) -> str:
    if note is None or (note.submitted_at is None and not note.text.strip()):
        return NOTE_MISSING
    return NOTE_SUBMITTED if note.submitted_at else NOTE_DRAFT


# --- the case page -------------------------------------------------------------------------


@dataclass
class CaseConversations:
    conversations: list[Conversation]
    open_briefings: list[Invitation]
    may_plan_again: bool
    insufficient_actions: list[ImprovementAction]
    # The case says "planned" but the conversation was cancelled: nothing to record yet.
    nothing_to_record: bool = False


def case_conversations(
    case: Case, user: User, conversations: list[Conversation], actions: list[ImprovementAction]
) -> CaseConversations:
    """Annotate the case's (prefetched) conversations with what this user may do with them.

    One query: the students' notes of all the conversations at once (none when the
    conversations come with their notes).
    """
    if all(Conversation.student_note.is_cached(c) for c in conversations):
        # Loaded with the conversations (select_related, as cases.selectors does): no query.
        # A missing note raises RelatedObjectDoesNotExist, an AttributeError: hence getattr.
        found = ((c.pk, getattr(c, "student_note", None)) for c in conversations)
        notes = {pk: note for pk, note in found if note is not None}
    else:
        notes = {
            n.conversation_id: n
            for n in StudentNote.objects.filter(conversation__case=case).only(
                "pk",
                "conversation_id",
                "text",
                "submitted_at",
                "logged_in_onstage_on",
                "updated_at",
            )
        }
    is_student = case.placement.student_id == user.pk
    open_briefings = []
    for conversation in conversations:
        conversation.note = notes.get(conversation.pk)
        conversation.note_state = note_state(conversation.note)
        conversation.user_is_student = is_student
        conversation.user_may_change = may_change_conversation(case, conversation, user)
        conversation.user_may_brief = may_brief(case, conversation, user)
        for invitation in conversation.invitations.all():
            invitation.user_may_confirm = (
                invitation.person_id == user.pk
                and invitation.attended is False
                and invitation.read_summary_at is None
            )
            if invitation.needs_briefing:
                invitation.conversation = conversation
                open_briefings.append(invitation)
    kind = kind_for_state(case.state)
    return CaseConversations(
        conversations=conversations,
        open_briefings=open_briefings,
        may_plan_again=case.is_open and may_plan_again(case, user, conversations),
        insufficient_actions=[a for a in actions if a.evaluation in INSUFFICIENT],
        nothing_to_record=case.state in PLANNED_STATES
        and not any(
            c.kind == kind and c.status == Conversation.Status.PLANNED for c in conversations
        ),
    )


# --- each person's home --------------------------------------------------------------------


@dataclass
class CaseSteps:
    case: Case
    steps: list[AvailableStep]
    plan_again: bool = False
    consider_change: AvailableStep | None = None


@dataclass
class Home:
    notes_to_write: list[Conversation] = field(default_factory=list)
    summaries_to_confirm: list[Invitation] = field(default_factory=list)
    upcoming: list[Conversation] = field(default_factory=list)
    actions: list[ImprovementAction] = field(default_factory=list)
    case_steps: list[CaseSteps] = field(default_factory=list)
    briefings: list[Invitation] = field(default_factory=list)
    cases_shown: int = 0

    @property
    def is_empty(self) -> bool:
        return not (
            self.notes_to_write
            or self.summaries_to_confirm
            or self.upcoming
            or self.actions
            or self.case_steps
            or self.briefings
        )


# Steps that are always possible and therefore not "pending": withdrawing, and asking for a
# change while the actions are still running (offered on the case page instead; on the home
# only when an action did not help enough).
NOT_PENDING = {"withdraw", "request_change"}
HOME_CASE_LIMIT = 100


def _open_cases(user: User) -> list[Case]:
    planned = Conversation.objects.filter(status=Conversation.Status.PLANNED).only(
        "pk", "case_id", "kind", "status"
    )
    return list(
        Case.objects.related_to(user)
        .open()
        .select_related("placement__student", "placement__school")
        .prefetch_related(
            # What the guards of available_steps read, so they run no query per case.
            Prefetch(
                "actions", queryset=ImprovementAction.objects.only("pk", "case_id", "evaluation")
            ),
            "wrap_ups",
            "handovers",
            Prefetch("conversations", queryset=planned, to_attr="planned_conversations"),
        )
        .order_by("state_changed_at", "pk")[:HOME_CASE_LIMIT]
    )


def _prime_open_handover(case: Case) -> None:
    # Case.open_handover is a cached_property that queries; fill it from the prefetch.
    open_ones = [h for h in case.handovers.all() if h.confirmed_at is None]
    case.__dict__["open_handover"] = max(open_ones, key=lambda h: h.pk) if open_ones else None


def pending_steps(user: User, cases: list[Case]) -> list[CaseSteps]:
    rows = []
    for case in cases:
        _prime_open_handover(case)
        steps = available_steps(case, user)
        plan_again = may_plan_again(case, user, case.planned_conversations)
        if is_hidden(case) and can(user, "cases.release_confidential", case):
            # A confidential signal waits for the office: its step is opening it (a button on
            # the case page, after talking to the student).
            steps = [*steps, _release_step()]
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
        if pending or plan_again or consider_change:
            rows.append(CaseSteps(case, pending, plan_again, consider_change))
    return rows


def _release_step() -> AvailableStep:
    return AvailableStep(
        name="release_confidential",
        label=_("Open the confidential signal"),
        url_name="cases:detail",
        blocked_reason=None,
    )


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
    home.notes_to_write = list(
        Conversation.objects.filter(
            seen,
            case__placement__student=user,
            case__state__in=OPEN_STATES,
            status=Conversation.Status.HELD,
        )
        .filter(Q(student_note__isnull=True) | Q(student_note__submitted_at__isnull=True))
        .select_related("case__placement__student", "case__placement__school", "student_note")
        .order_by("starts_at", "pk")
    )
    for conversation in home.notes_to_write:
        note = getattr(conversation, "student_note", None)
        conversation.note_state = note_state(note)

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

    home.upcoming = list(
        Conversation.objects.filter(
            seen,
            invitations__person=user,
            status=Conversation.Status.PLANNED,
            starts_at__gte=start_of_today,
            case__state__in=OPEN_STATES,
        )
        .select_related("case__placement__student", "case__placement__school")
        .order_by("starts_at", "pk")
    )

    home.actions = list(
        ImprovementAction.objects.filter(
            seen,
            owner=user,
            status=ImprovementAction.Status.OPEN,
            case__state__in=OPEN_STATES,
        )
        .select_related("case__placement__student")
        .order_by("due_date", "pk")
    )
    today = today or timezone.localdate()
    for action in home.actions:
        action.is_overdue = action.due_date < today

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
