"""Reads of conversations for their own pages, and the permission flags that the case page and
the home page (`portal.selectors`) show them by.

The permission flags mirror the checks in `services.py`, so a button is only shown to people
the service will accept (the service still checks).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import Http404
from django.utils.translation import gettext as _

from cases.models import Case, State, User
from cases.rules import can
from cases.selectors import case_for_user

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
