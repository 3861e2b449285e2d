"""What the privacy pages read: who the privacy officer is, the students to find, the closed
cases due for anonymising, and a student's own data (the right of access).

Export rule for third parties (what other people wrote or did): the export holds the student's
own case files as the student already sees them on the case page, plus the student's own
records. Other people appear by their ROLE on the case ("mentor", "study coach", "internship
office", ...), never by name or e-mail address; their remarks on the student's case (summaries,
answers, positions, advice, handover notes, timeline notes) are included because the student can
already read them in the case file. Notifications sent to other people are not included (they
are the recipients' inbox); which roles were told of a change request is. `EXPORT_COVERED` and
`EXPORT_EXCLUDED` list every model with a path to a student; a test fails on a model in neither.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from collections import defaultdict
from typing import Any

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from django.db.models import Q
from django.utils import timezone

from cases.models import (
    CLOSED_STATES,
    GLOBAL_ROLES,
    PLACEMENT_ROLE_FIELDS,
    Case,
    Placement,
    Role,
    User,
)
from conversations.models import StudentNote

from .models import AccessLog

# --------------------------------------------------------------------------------------------
# The privacy officer
# --------------------------------------------------------------------------------------------


def is_privacy_officer(user) -> bool:
    """Holds `privacy.view_accesslog` by a group or directly (`User.is_privacy_officer`, which
    the request's user brings along). Deliberately NOT implied by being a superuser: the
    administrators of the application do not read the access log."""
    return bool(getattr(user, "is_authenticated", False) and user.is_privacy_officer)


def may_export_for_students(user) -> bool:
    """The internship office and the privacy officer may export a student's data."""
    return getattr(user, "is_office", False) or is_privacy_officer(user)


def search_students(text: str, *, limit: int = 50) -> list[User]:
    """Students (people who have a placement as student) by name, username or number."""
    text = (text or "").strip()
    qs = User.objects.filter(placements_as_student__isnull=False).distinct()
    if text:
        for word in text.split()[:5]:
            qs = qs.filter(
                Q(first_name__icontains=word)
                | Q(last_name__icontains=word)
                | Q(username__icontains=word)
                | Q(student_number__icontains=word)
            )
    return list(qs.order_by("last_name", "first_name", "username")[:limit])


# --------------------------------------------------------------------------------------------
# Retention
# --------------------------------------------------------------------------------------------


def retention_days() -> int:
    return int(getattr(settings, "CASE_RETENTION_DAYS", 730))


def expired_cases(*, now: dt.datetime | None = None) -> models.QuerySet[Case]:
    """Closed cases whose retention period has passed and that still hold their texts."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=retention_days())
    return Case.objects.filter(
        state__in=CLOSED_STATES, closed_at__lte=cutoff, anonymised_at__isnull=True
    )


# --------------------------------------------------------------------------------------------
# A student's own data (the right of access)
# --------------------------------------------------------------------------------------------

# Every model with a path to a student, and where the export holds it.
EXPORT_COVERED: dict[str, str] = {
    "cases.User": "person",
    "cases.Placement": "placements",
    "cases.Case": "cases",
    "cases.CaseCategory": "cases[].categories",
    "cases.CaseEvent": "cases[].timeline",
    "privacy.AccessLog": "access_log",
    "conversations.Conversation": "cases[].conversations",
    "conversations.Invitation": "cases[].conversations[].participants",
    "conversations.StudentNote": "cases[].conversations[].student_note",
    "conversations.ImprovementAction": "cases[].actions",
    "transfers.ChangeRequest": "cases[].change_requests",
    "transfers.OutcomeReport": "cases[].outcome_reports",
    "transfers.Position": "cases[].outcome_reports[].positions",
    "transfers.IsopAdvice": "cases[].isop_advice",
    "transfers.OfficeDecision": "cases[].isop_advice[].office_decision",
    "transfers.WrapUp": "cases[].wrap_ups",
    "transfers.Transfer": "cases[].transfers",
    "transfers.Stop": "cases[].stops",
    "transfers.Handover": "cases[].handovers",
    "transfers.StudyStep": "cases[].study_steps",
    "attachments.Attachment": "cases[].attachments (the JSON holds each file, base64)",
    "notifications.Notification": "notifications (the student's own inbox)",
}
# Models with a path to a student that the export leaves out, with the reason.
EXPORT_EXCLUDED: dict[str, str] = {
    "admin.LogEntry": "the administrators' edit history of staff; names objects, holds no case "
    "content; the same edits are on the case's timeline where they matter",
    "cases.TrainingSchool": "a school and its coordinating trainer (staff); the student's "
    "schools are in `placements`",
    "cases.Deputy": "who acts as office staff or ISOP owner for a period (staff); no case "
    "and nothing about a student",
    "semester.ImportBatch": "the office's unconfirmed upload of a semester file, kept at most "
    "24 hours; what it imports is the student's placement, which is in `placements`",
}

ROLE_SELF = "student"  # the student is "student" in their own export


class _People:
    """Who is who on the student's cases, by role: the export names roles, never people."""

    def __init__(self, student: User, cases: list[Case]):
        self.student_id = student.pk
        self.by_case: dict[int, dict[int, str]] = defaultdict(dict)
        placements: dict[int, list[Placement]] = defaultdict(list)
        for case in cases:
            placements[case.pk].append(case.placement)
            for transfer in case.transfers.all():
                placements[case.pk] += [transfer.from_placement, transfer.to_placement]
        user_ids: set[int] = set()
        for case_id, items in placements.items():
            for placement in items:
                for role in (
                    Role.MENTOR,
                    Role.SCHOOL_TRAINER,
                    Role.COORDINATING_TRAINER,
                    Role.STUDY_COACH,
                ):
                    person_id = getattr(placement, f"{PLACEMENT_ROLE_FIELDS[role]}_id")
                    if person_id:
                        self.by_case[case_id].setdefault(person_id, str(role.value))
                        user_ids.add(person_id)
        self.global_roles: dict[int, str] = {}
        memberships = User.groups.through.objects.filter(group__name__in=GLOBAL_ROLES)
        for user_id, name in memberships.values_list("user_id", "group__name"):
            self.global_roles.setdefault(user_id, name)

    def role(self, user_id: int | None, case_id: int | None = None) -> str | None:
        if user_id is None:
            return None
        if user_id == self.student_id:
            return ROLE_SELF
        if case_id is not None and user_id in self.by_case.get(case_id, {}):
            return self.by_case[case_id][user_id]
        if user_id in self.global_roles:
            return self.global_roles[user_id]
        for roles in self.by_case.values():
            if user_id in roles:
                return roles[user_id]
        return "staff"


def _when(value) -> str | None:
    return value.isoformat() if value is not None else None


def _student_cases(student: User) -> list[Case]:
    return list(
        Case.objects.filter(placement__student=student)
        .select_related("placement__school")
        .prefetch_related(
            "categories",
            "events",
            "conversations__invitations",
            "conversations__student_note",
            "actions",
            "change_requests__made_known_to",
            "outcome_reports__positions",
            "isop_requests__office_decision",
            "wrap_ups",
            "transfers__from_placement__school",
            "transfers__to_placement__school",
            "stops",
            "handovers",
            "study_steps",
            "attachments__conversation",
        )
        .order_by("signalled_at", "pk")
    )


def student_data(student: User, *, file_contents: bool = False) -> dict[str, Any]:
    """Everything the application holds about the student, by the export rule above. With
    `file_contents` (the JSON download) each attachment's file is included, base64-encoded."""
    cases = _student_cases(student)
    people = _People(student, cases)
    placements = Placement.objects.filter(student=student).select_related("school")
    log = AccessLog.objects.filter(student=student).order_by("at", "pk")
    notifications = student.notifications.order_by("created_at", "pk")
    return {
        "format": "stagebureau-student-data/1",
        "generated_at": _when(timezone.now()),
        "rule": (
            "Your own case files as you see them on the case page. Other people appear by "
            "their role on the case, not by name."
        ),
        "person": {
            "username": student.username,
            "first_name": student.first_name,
            "last_name": student.last_name,
            "email": student.email,
            "student_number": student.student_number,
            "language": student.language,
            "date_joined": _when(student.date_joined),
            "last_login": _when(student.last_login),
        },
        "placements": [
            {
                "school": p.school.name,
                "start_date": _when(p.start_date),
                "end_date": _when(p.end_date),
                "status": p.status,
            }
            for p in placements
        ],
        "cases": [_case_data(case, people, file_contents=file_contents) for case in cases],
        "notifications": [
            {
                "case": _number(n.case_id),
                "event": n.event,
                "created_at": _when(n.created_at),
                "read_at": _when(n.read_at),
                "email_status": n.status,
            }
            for n in notifications
        ],
        "access_log": [
            {
                "at": _when(row.at),
                "by": people.role(row.user_id, row.case_id),
                "kind": row.kind,
                "case": _number(row.case_id),
                "page": row.page,
            }
            for row in log
        ],
    }


def _number(case_id: int | None) -> str | None:
    return f"SB-{case_id:05d}" if case_id else None


def _attachment_data(attachment, role, *, file_contents: bool) -> dict[str, Any]:
    data = {
        "kind": attachment.kind,
        "file_name": attachment.original_name,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "uploaded_by": role(attachment.uploaded_by_id),
        "uploaded_at": _when(attachment.created_at),
        "conversation": _when(attachment.conversation.starts_at)
        if attachment.conversation is not None
        else None,
    }
    if file_contents:
        try:
            with attachment.file.open("rb") as handle:
                raw = handle.read()
        except OSError:  # a file missing from the store: say so, the rest still exports
            data["content_base64"] = None
            data["missing"] = True
        else:
            data["content_base64"] = base64.b64encode(raw).decode("ascii")
            data["sha256"] = hashlib.sha256(raw).hexdigest()
    return data


def _case_data(case: Case, people: _People, *, file_contents: bool = False) -> dict[str, Any]:
    def role(user_id):
        return people.role(user_id, case.pk)

    return {
        "number": case.number,
        "state": case.state,
        "school": case.placement.school.name,
        "description": case.description,
        "signalled_by": role(case.signalled_by_id),
        "signalled_at": _when(case.signalled_at),
        "closed_at": _when(case.closed_at),
        "confidential": case.confidential,
        "anonymised_at": _when(case.anonymised_at),
        "categories": [c.category for c in case.categories.all()],
        "timeline": [
            {
                "at": _when(e.at),
                "what": e.name,
                "by": role(e.actor_id),
                "on_behalf_of": role(e.on_behalf_of_id),
                "from_state": e.from_state,
                "to_state": e.to_state,
                "note": e.note,
                "details": e.detail,
            }
            for e in case.events.all()
        ],
        "conversations": [_conversation_data(c, role) for c in case.conversations.all()],
        "actions": [
            {
                "what": a.description,
                "owner": role(a.owner_id),
                "due_date": _when(a.due_date),
                "status": a.status,
                "evaluation": a.evaluation,
                "evaluation_comment": a.evaluation_comment,
            }
            for a in case.actions.all()
        ],
        "change_requests": [
            {
                "kind": r.kind,
                "reason": r.reason,
                "requested_by": role(r.requested_by_id),
                "requested_at": _when(r.created_at),
                "made_known_to": sorted({role(u.pk) for u in r.made_known_to.all()}),
                "office_informed_at": _when(r.office_informed_at),
                "office_informed_by": role(r.office_informed_by_id),
                "office_contact_note": r.office_contact_note,
                "recorded_by_office": r.recorded_by_office,
            }
            for r in case.change_requests.all()
        ],
        "outcome_reports": [
            {
                "outcome": o.outcome,
                "reported_by": role(o.reported_by_id),
                "reported_at": _when(o.reported_at),
                "note": o.note,
                "positions": [{"role": p.role, "stance": p.stance} for p in o.positions.all()],
            }
            for o in case.outcome_reports.all()
        ],
        "isop_advice": [
            {
                "question": a.question,
                "requested_at": _when(a.requested_at),
                "decision": a.decision,
                "rationale": a.rationale,
                "given_by": role(a.given_by_id),
                "given_at": _when(a.given_at),
                "office_decision": _decision_data(a, role),
            }
            for a in case.isop_requests.all()
        ],
        "wrap_ups": [
            {
                "last_day": _when(w.last_day),
                "agreement": w.agreement,
                "recorded_by": role(w.recorded_by_id),
                "recorded_at": _when(w.recorded_at),
                "agreed_by": role(w.confirmed_by_id),
                "agreed_at": _when(w.confirmed_at),
            }
            for w in case.wrap_ups.all()
        ],
        "transfers": [
            {
                "from_school": t.from_placement.school.name,
                "to_school": t.to_placement.school.name,
                "effective_date": _when(t.effective_date),
                "recorded_at": _when(t.recorded_at),
                "shared_with_new_school": t.shared_with_new_school,
                "on_resume": t.on_resume,
            }
            for t in case.transfers.all()
        ],
        "stops": [
            {
                "temporary": s.temporary,
                "expected_resume_date": _when(s.expected_resume_date),
                "recorded_at": _when(s.recorded_at),
                "reason": s.reason,
                "recorded_at_once": s.acute,
                "resumed_at": _when(s.resumed_at),
                "resumed_on": _when(s.resumed_on),
                "made_definitive_at": _when(s.made_definitive_at),
            }
            for s in case.stops.all()
        ],
        "study_steps": [
            {
                "kind": str(s.get_kind_display()),
                "on": _when(s.on),
                "note": s.note,
                "recorded_at": _when(s.recorded_at),
            }
            for s in case.study_steps.all()
        ],
        "attachments": [
            _attachment_data(a, role, file_contents=file_contents) for a in case.attachments.all()
        ],
        "handovers": [
            {
                "informed_at": _when(h.informed_at),
                "contact_made_on": _when(h.contact_made_on),
                "what_helped": h.what_helped,
                "student_needs": h.student_needs,
                "open_actions": h.open_actions,
                "confirmed_at": _when(h.confirmed_at),
                "received_at": _when(h.received_at),
            }
            for h in case.handovers.all()
        ],
    }


def _decision_data(advice, role) -> dict[str, Any] | None:
    try:
        decision = advice.office_decision
    except ObjectDoesNotExist:
        return None
    return {
        "decision": decision.decision,
        "reason": decision.reason,
        "decided_by": role(decision.decided_by_id),
        "decided_at": _when(decision.decided_at),
    }


def _conversation_data(c, role) -> dict[str, Any]:
    note = getattr(c, "student_note", None) if _has_note(c) else None
    return {
        "kind": c.kind,
        "status": c.status,
        "starts_at": _when(c.starts_at),
        "location": c.location,
        "planned_by": role(c.planned_by_id),
        "held_at": _when(c.held_at),
        "recorded_by": role(c.recorded_by_id),
        "summary": c.summary,
        "answers": {
            "problem": c.problem,
            "what_was_done": c.what_was_done,
            "when_it_goes_well": c.when_it_goes_well,
            "student_needs": c.student_needs,
            "school_offers": c.school_offers,
        },
        "participants": [
            {
                "role": i.role,
                "attended": i.attended,
                "briefed_at": _when(i.briefed_at),
                "read_summary_at": _when(i.read_summary_at),
            }
            for i in c.invitations.all()
        ],
        "student_note": None
        if note is None
        else {
            "text": note.text,
            "submitted_at": _when(note.submitted_at),
            "logged_in_onstage_on": _when(note.logged_in_onstage_on),
        },
    }


def _has_note(conversation) -> bool:
    try:
        conversation.student_note  # noqa: B018  (prefetched one-to-one)
    except StudentNote.DoesNotExist:
        return False
    return True
