"""Need-to-know: who may see which part of a case, as per-object rules (django-rules).

The rules here and `CaseQuerySet.related_to` (the lists, counts and exports) say the same
thing; a test compares them over many users and cases. Views ask `can(user, perm, obj)`;
`user.has_perm(perm, obj)` gives the same answer for everyone but superusers (Django lets a
superuser through every permission; a superuser who is not in the office group still only
sees related cases through the lists, so views never rely on `has_perm` alone).

In short (the README's "Who sees and does what" has the table):
- A case is seen by the people on its (current) placement, the office, the ISOP owner once
  advice was asked, and the previous study coach until the warm handover is recorded.
- "Confidential to the internship office first": until the office releases it, only the
  student and the office see the case (everyone else gets a 404, as for an unrelated case).
- The change path (change request reason, the all-party conversation, the positions and the
  outcome report, the ISOP advice, the warm handover) is not the mentor's: the mentor sees the
  case, the first conversation and the improvement actions.
- The student's note: the student always; others once it is submitted and only when they may
  see its conversation.
"""

from __future__ import annotations

import rules

from .models import PLACEMENT_ROLE_FIELDS, Role, State

# Who sees the change path of a case they see: everyone on it but the mentor.
CHANGE_PATH_ROLES = frozenset(
    {
        Role.STUDENT,
        Role.SCHOOL_TRAINER,
        Role.COORDINATING_TRAINER,
        Role.STUDY_COACH,
        Role.OFFICE,
        Role.ISOP_OWNER,
        "old_study_coach",
    }
)


# Who records what besides the transitions (the view and the service ask the same rule).
ACTION_ADDER_ROLES = frozenset({Role.MENTOR, Role.SCHOOL_TRAINER, Role.STUDY_COACH, Role.OFFICE})
ACTION_EVALUATOR_ROLES = frozenset({Role.SCHOOL_TRAINER, Role.STUDY_COACH, Role.OFFICE})
WRAP_UP_ROLES = frozenset({Role.SCHOOL_TRAINER, Role.STUDENT, Role.OFFICE})
# Who plans and records a follow-up conversation while the actions run (as the first one).
FOLLOW_UP_ROLES = frozenset({Role.MENTOR, Role.SCHOOL_TRAINER, Role.STUDY_COACH, Role.OFFICE})


def is_hidden(case) -> bool:
    """Confidential to the office and not yet released by it."""
    return bool(case.confidential and case.confidential_released_at is None)


def _signed_in(user) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.pk is not None


def _roles(user, case) -> set[str]:
    return case.roles_of(user)


# Every predicate refuses a visitor who is not signed in and a missing object (django-rules
# passes None when a permission is asked without one) before it reads anything.


@rules.predicate
def is_office(user) -> bool:
    return _signed_in(user) and user.is_office


@rules.predicate
def is_case_student(user, case) -> bool:
    """The student the case is about (the student always sees their own case and note)."""
    if case is None or not _signed_in(user):
        return False
    return case.placement.student_id == user.pk


@rules.predicate
def is_related(user, case) -> bool:
    """The same relation as `CaseQuerySet.related_to` (keep the two in step)."""
    if case is None or not _signed_in(user):
        return False
    if user.is_office:
        return True
    if is_hidden(case):
        return is_case_student(user, case)
    if any(case.person_id(r) == user.pk for r in PLACEMENT_ROLE_FIELDS):
        return True
    # The managers' .all() reads a prefetch when the case page loaded one.
    if user.is_isop_owner and case.isop_requests.all().exists():
        return True
    # The previous study coach, while the case waits for the warm handover only.
    return case.state == State.HANDOVER and any(
        h.old_coach_id == user.pk and h.confirmed_at is None for h in case.handovers.all()
    )


@rules.predicate
def sees_change_path(user, case) -> bool:
    if case is None or not _signed_in(user):
        return False
    return bool(_roles(user, case) & CHANGE_PATH_ROLES)


@rules.predicate
def may_release(user, case) -> bool:
    """A confidential signal is released by the office while the case is open (a closed case
    stays as it was: nobody is told about it afterwards)."""
    if case is None or not _signed_in(user):
        return False
    return is_hidden(case) and case.is_open


@rules.predicate
def conversation_is_visible(user, conversation) -> bool:
    if conversation is None or not _signed_in(user):
        return False
    case = conversation.case
    if not is_related(user, case):
        return False
    # The problem conversation and the follow-ups are everyone's; the all-party one is not.
    return conversation.kind != "change" or sees_change_path(user, case)


@rules.predicate
def note_is_visible(user, note) -> bool:
    if note is None or not _signed_in(user):
        return False
    conversation = note.conversation
    if is_case_student(user, conversation.case):
        return is_related(user, conversation.case)
    return note.submitted_at is not None and conversation_is_visible(user, conversation)


def _has_role(user, case, roles: frozenset[str]) -> bool:
    if case is None or not _signed_in(user):
        return False
    return bool(_roles(user, case) & roles)


@rules.predicate
def adds_actions(user, case) -> bool:
    return _has_role(user, case, ACTION_ADDER_ROLES)


@rules.predicate
def evaluates_action(user, action) -> bool:
    """The action's owner, or the school trainer, study coach or office of its case."""
    if action is None or not _signed_in(user):
        return False
    return action.owner_id == user.pk or _has_role(user, action.case, ACTION_EVALUATOR_ROLES)


@rules.predicate
def records_wrap_up(user, case) -> bool:
    return _has_role(user, case, WRAP_UP_ROLES)


@rules.predicate
def plans_follow_ups(user, case) -> bool:
    return _has_role(user, case, FOLLOW_UP_ROLES)


@rules.predicate
def confirms_wrap_up(user, wrap_up) -> bool:
    """The wrap-up is agreed by the school trainer and the student: the one who did not record
    it confirms it, or the office on their behalf."""
    if wrap_up is None or not _signed_in(user) or wrap_up.confirmed_at is not None:
        return False
    roles = _roles(user, wrap_up.case)
    if Role.OFFICE in roles:
        return True
    case = wrap_up.case
    if wrap_up.recorded_by_id == case.placement.student_id:
        return Role.SCHOOL_TRAINER in roles
    if wrap_up.recorded_by_id == case.placement.school_trainer_id:
        return Role.STUDENT in roles
    return False


view_case = is_related
view_change_path = is_related & sees_change_path

rules.add_perm("cases.view_case", view_case)
rules.add_perm("cases.view_conversation", conversation_is_visible)
rules.add_perm("cases.view_change_conversation", view_change_path)
rules.add_perm("cases.view_change_request", view_change_path)
rules.add_perm("cases.view_positions", view_change_path)
rules.add_perm("cases.view_isop_advice", view_change_path)
rules.add_perm("cases.view_handover", view_change_path)
rules.add_perm("cases.view_student_note", note_is_visible)
rules.add_perm("cases.release_confidential", is_office & may_release)
rules.add_perm("cases.add_action", adds_actions)
rules.add_perm("cases.evaluate_action", evaluates_action)
rules.add_perm("cases.record_wrap_up", records_wrap_up)
rules.add_perm("cases.confirm_wrap_up", confirms_wrap_up)
rules.add_perm("cases.plan_follow_up", plans_follow_ups)


def can(user, perm: str, obj=None) -> bool:
    """The rule itself, without Django's "a superuser may do anything" shortcut."""
    return rules.has_perm(perm, user, obj)


__all__ = ["CHANGE_PATH_ROLES", "can", "is_hidden"]
