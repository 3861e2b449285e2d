"""Reading attachments as a person may see them (attachments/rules.py)."""

from __future__ import annotations

from django.db.models import QuerySet

from cases.models import Case
from cases.rules import can

from .models import Attachment


def visible_attachments(user, case: Case) -> list[Attachment]:
    """The case's attachments this user may see, oldest first: one query, the rule per row
    (the case and the conversations are the ones already loaded)."""
    rows = list(Attachment.objects.filter(case=case).select_related("uploaded_by", "conversation"))
    for row in rows:
        row.case = case
        if row.conversation is not None:
            row.conversation.case = case
    return [a for a in rows if can(user, "attachments.view_attachment", a)]


def attachment_for_user(user, pk: int) -> tuple[Attachment | None, bool]:
    """(the attachment, whether the user may see it); (None, False) when there is no such
    attachment or the user is not related to its case (the view answers 404 for both, 403 for
    a related person who may not see it, as every page of a case does)."""
    attachment = (
        Attachment.objects.select_related("case__placement", "case__new_placement", "conversation")
        .filter(pk=pk)
        .first()
    )
    if attachment is None or not can(user, "cases.view_case", attachment.case):
        return None, False
    return attachment, can(user, "attachments.view_attachment", attachment)


def student_attachments(student) -> QuerySet[Attachment]:
    """Every attachment on the student's cases (the student's data export: all of them, the
    medical ones included)."""
    return Attachment.objects.filter(case__placement__student=student).order_by("created_at", "pk")
