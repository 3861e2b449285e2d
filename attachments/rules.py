"""Need-to-know for attachments (autodiscovered by django-rules, as cases/rules.py).

- Who sees the case sees its attachments; one on a conversation only who sees that
  conversation (the all-party conversation's are not the mentor's).
- A medical attachment (a doctor's note) only the student and the office (deputies of the
  office included). Only they may upload one, so the uploader is always one of them; a mentor,
  trainer or coach who received a doctor's note hands it to the office.
- Who adds attachments: the people on the placement (student, mentor, school trainer,
  coordinating school trainer, study coach) and the office, while the case is open.
"""

from __future__ import annotations

import rules

from cases.models import Role
from cases.rules import conversation_is_visible, is_related

UPLOADER_ROLES = frozenset(
    {
        Role.STUDENT,
        Role.MENTOR,
        Role.SCHOOL_TRAINER,
        Role.COORDINATING_TRAINER,
        Role.STUDY_COACH,
        Role.OFFICE,
    }
)
MEDICAL_ROLES = frozenset({Role.STUDENT, Role.OFFICE})


@rules.predicate
def sees_medical(user, case) -> bool:
    """The student of the case and the office (a related user only)."""
    if not is_related(user, case):
        return False
    return bool(user.is_office or case.placement.student_id == user.pk)


@rules.predicate
def attachment_is_visible(user, attachment) -> bool:
    if attachment is None:
        return False
    case = attachment.case
    if not is_related(user, case):
        return False
    if attachment.conversation_id is not None and not conversation_is_visible(
        user, attachment.conversation
    ):
        return False
    return not attachment.is_medical or sees_medical(user, case)


@rules.predicate
def adds_attachments(user, case) -> bool:
    return bool(
        case is not None
        and case.is_open
        and case.anonymised_at is None
        and is_related(user, case)
        and case.roles_of(user) & UPLOADER_ROLES
    )


rules.add_perm("attachments.view_attachment", attachment_is_visible)
rules.add_perm("attachments.add_attachment", adds_attachments)
rules.add_perm("attachments.view_medical", sees_medical)
