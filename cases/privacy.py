"""Privacy duties (GDPR/AVG): the privacy officer, retention (anonymising closed cases after the
retention period) and a student's own data as an export.

Retention: `anonymise_expired_cases` replaces every free text of a case that was closed more
than `settings.CASE_RETENTION_DAYS` ago with `MARKER` (the texts are listed in `ANONYMISED_TEXTS`;
a test fails when a text field of a case's record is in neither that list nor `KEPT_TEXTS`). It
unlinks nothing: people, placements, states, dates, categories, outcomes and positions' stances
stay, so the counts and the steering report are unchanged. The timeline (`CaseEvent`) is
append-only; anonymising its notes is the one documented exception (`_append_only_update`).
The access log holds no content and is kept as it is: it is the record of who saw what.

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

import datetime as dt
import logging
from collections import defaultdict
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.db.models import F, Q
from django.utils import timezone

from .models import (
    CLOSED_STATES,
    GLOBAL_ROLES,
    PLACEMENT_ROLE_FIELDS,
    AccessLog,
    Case,
    CaseEvent,
    Placement,
    Role,
    User,
)

logger = logging.getLogger(__name__)

PRIVACY_OFFICER_GROUP = "Privacyfunctionaris"
ACCESS_LOG_PERMISSION = ("cases", "view_accesslog")
MARKER = "[geanonimiseerd]"

# --------------------------------------------------------------------------------------------
# The privacy officer
# --------------------------------------------------------------------------------------------


def is_privacy_officer(user) -> bool:
    """Holds `cases.view_accesslog` by a group or directly. Deliberately NOT implied by being a
    superuser: the administrators of the application do not read the access log."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if "_is_privacy_officer" in user.__dict__:  # loaded with the request's user (backends)
        return bool(user.__dict__["_is_privacy_officer"])
    app_label, codename = ACCESS_LOG_PERMISSION
    return (
        Permission.objects.filter(content_type__app_label=app_label, codename=codename)
        .filter(Q(group__user=user) | Q(user=user))
        .exists()
    )


def privacy_officer_group() -> Group:
    """The group "Privacyfunctionaris" with `cases.view_accesslog` (migration 0005 makes it;
    this restores it, e.g. after a test database flush or for seed_demo)."""
    app_label, codename = ACCESS_LOG_PERMISSION
    permission, _created = Permission.objects.get_or_create(
        content_type=ContentType.objects.get_for_model(AccessLog),
        codename=codename,
        defaults={"name": "Can view access log entry"},
    )
    group, _created = Group.objects.get_or_create(name=PRIVACY_OFFICER_GROUP)
    group.permissions.add(permission)
    return group


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

# Every free text a case's records hold: model label -> (lookup to the case's id, fields).
ANONYMISED_TEXTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "cases.Case": ("pk", ("description",)),
    "cases.CaseEvent": ("case_id", ("note",)),
    "conversations.Conversation": (
        "case_id",
        (
            "location",
            "summary",
            "problem",
            "what_was_done",
            "when_it_goes_well",
            "student_needs",
            "school_offers",
        ),
    ),
    "conversations.StudentNote": ("conversation__case_id", ("text",)),
    "conversations.ImprovementAction": ("case_id", ("description", "evaluation_comment")),
    "transfers.ChangeRequest": ("case_id", ("reason", "office_contact_note")),
    "transfers.OutcomeReport": ("case_id", ("note",)),
    "transfers.IsopAdvice": ("case_id", ("question", "rationale")),
    "transfers.WrapUp": ("case_id", ("agreement",)),
    "transfers.Handover": ("case_id", ("what_helped", "student_needs", "open_actions")),
    "notifications.Notification": ("case_id", ("last_error",)),
}
# Text fields of a case's records that are kept, with the reason (codes, keys, choices).
KEPT_TEXTS: dict[str, str] = {
    "cases.Case.state": "state code (statistics)",
    "cases.CaseCategory.category": "category code (statistics)",
    "cases.CaseEvent.kind": "code",
    "cases.CaseEvent.name": "step name code",
    "cases.CaseEvent.from_state": "state code",
    "cases.CaseEvent.to_state": "state code",
    "conversations.Conversation.kind": "code",
    "conversations.Conversation.status": "code",
    "conversations.Invitation.role": "role code",
    "conversations.ImprovementAction.status": "code",
    "conversations.ImprovementAction.evaluation": "code (helped / did not help)",
    "transfers.ChangeRequest.kind": "code",
    "transfers.OutcomeReport.outcome": "outcome code (statistics)",
    "transfers.Position.role": "role code",
    "transfers.Position.stance": "agree/disagree/abstain code",
    "transfers.IsopAdvice.decision": "advice code",
    "notifications.Notification.event": "event code",
    "notifications.Notification.status": "delivery status code",
    "notifications.Notification.dedupe_key": "event, case id and recipient id only",
}
# JSON fields of a case's records: replaced by a marker object.
ANONYMISED_JSON: dict[str, tuple[str, dict[str, Any]]] = {
    "notifications.Notification": ("case_id", {"context": {"anonymised": True}}),
}
NULLED_JSON: dict[str, tuple[str, tuple[str, ...]]] = {
    "notifications.Notification": ("case_id", ("attachment",)),  # the ICS with place and time
}


def retention_days() -> int:
    return int(getattr(settings, "CASE_RETENTION_DAYS", 730))


def expired_cases(*, now: dt.datetime | None = None) -> models.QuerySet[Case]:
    """Closed cases whose retention period has passed and that still hold their texts."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=retention_days())
    return Case.objects.filter(
        state__in=CLOSED_STATES, closed_at__lte=cutoff, anonymised_at__isnull=True
    )


def _append_only_update(qs: models.QuerySet, **values: Any) -> int:
    """THE documented exception to the append-only timeline: retention may blank its notes.

    `CaseEventQuerySet.update` refuses every update; this calls the base `QuerySet.update`
    on purpose, from this one place only (a test checks that ordinary updates are still
    refused)."""
    assert qs.model is CaseEvent, "only the timeline's notes are anonymised in place"
    return models.QuerySet.update(qs, **values)


def _texts_update(fields: tuple[str, ...]) -> dict[str, Any]:
    """Non-empty texts become the marker; empty ones stay empty (nothing to remove)."""
    return {
        field: models.Case(
            models.When(**{f"{field}__exact": ""}, then=models.Value("")),
            default=models.Value(MARKER),
            output_field=models.TextField(),
        )
        for field in fields
    }


def case_anonymise(*, case_id: int, now: dt.datetime | None = None) -> bool:
    """Anonymise one closed case whose retention period has passed; False if it is not (or no
    longer) due. Locks the case row so that two runs never work on the same case at once."""
    now = now or timezone.now()
    with transaction.atomic():
        case = expired_cases(now=now).select_for_update().filter(pk=case_id).first()
        if case is None:
            return False
        for label, (case_path, fields) in ANONYMISED_TEXTS.items():
            model = apps.get_model(label)
            qs = model._default_manager.filter(**{case_path: case_id})
            if model is CaseEvent:
                _append_only_update(qs.exclude(note=""), **_texts_update(fields))
            elif model is Case:
                qs.update(**_texts_update(fields), anonymised_at=now, version=F("version") + 1)
            else:
                qs.update(**_texts_update(fields))
        for label, (case_path, values) in ANONYMISED_JSON.items():
            apps.get_model(label)._default_manager.filter(**{case_path: case_id}).update(**values)
        for label, (case_path, fields) in NULLED_JSON.items():
            apps.get_model(label)._default_manager.filter(**{case_path: case_id}).update(
                **dict.fromkeys(fields)
            )
    logger.info("Case %s anonymised after the retention period.", case_id)
    return True


def anonymise_expired_cases(*, now: dt.datetime | None = None) -> int:
    """Anonymise every closed case past its retention period; returns how many. One case's
    failure is logged and does not stop the others (the next run tries it again)."""
    now = now or timezone.now()
    done = 0
    for case_id in expired_cases(now=now).order_by("closed_at").values_list("pk", flat=True):
        try:
            done += case_anonymise(case_id=case_id, now=now)
        except Exception:
            logger.exception("Could not anonymise case %s; will try again next run.", case_id)
    return done


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
    "cases.AccessLog": "access_log",
    "conversations.Conversation": "cases[].conversations",
    "conversations.Invitation": "cases[].conversations[].participants",
    "conversations.StudentNote": "cases[].conversations[].student_note",
    "conversations.ImprovementAction": "cases[].actions",
    "transfers.ChangeRequest": "cases[].change_requests",
    "transfers.OutcomeReport": "cases[].outcome_reports",
    "transfers.Position": "cases[].outcome_reports[].positions",
    "transfers.IsopAdvice": "cases[].isop_advice",
    "transfers.WrapUp": "cases[].wrap_ups",
    "transfers.Transfer": "cases[].transfers",
    "transfers.Stop": "cases[].stops",
    "transfers.Handover": "cases[].handovers",
    "notifications.Notification": "notifications (the student's own inbox)",
}
# Models with a path to a student that the export leaves out, with the reason.
EXPORT_EXCLUDED: dict[str, str] = {
    "admin.LogEntry": "the administrators' edit history of staff; names objects, holds no case "
    "content; the same edits are on the case's timeline where they matter",
    "cases.TrainingSchool": "a school and its coordinating trainer (staff); the student's "
    "schools are in `placements`",
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
            "isop_requests",
            "wrap_ups",
            "transfers__from_placement__school",
            "transfers__to_placement__school",
            "stops",
            "handovers",
        )
        .order_by("signalled_at", "pk")
    )


def student_data(student: User) -> dict[str, Any]:
    """Everything the application holds about the student, by the export rule above."""
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
        "cases": [_case_data(case, people) for case in cases],
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


def _case_data(case: Case, people: _People) -> dict[str, Any]:
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
            }
            for a in case.isop_requests.all()
        ],
        "wrap_ups": [
            {
                "last_day": _when(w.last_day),
                "agreement": w.agreement,
                "recorded_by": role(w.recorded_by_id),
                "recorded_at": _when(w.recorded_at),
            }
            for w in case.wrap_ups.all()
        ],
        "transfers": [
            {
                "from_school": t.from_placement.school.name,
                "to_school": t.to_placement.school.name,
                "effective_date": _when(t.effective_date),
                "recorded_at": _when(t.recorded_at),
            }
            for t in case.transfers.all()
        ],
        "stops": [
            {
                "temporary": s.temporary,
                "expected_resume_date": _when(s.expected_resume_date),
                "recorded_at": _when(s.recorded_at),
                "resumed_at": _when(s.resumed_at),
            }
            for s in case.stops.all()
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
    except conversation._meta.get_field("student_note").related_model.DoesNotExist:
        return False
    return True
