"""What the privacy duties change: the privacy officer's group, and retention (anonymising
closed cases after the retention period).

Attachments are not anonymised but deleted, row and file (`DELETED_RECORDS`): a file cannot be
blanked field by field, and a doctor's note must not outlive the case's retention period.

Retention: `anonymise_expired_cases` replaces every free text of a case that was closed more
than `settings.CASE_RETENTION_DAYS` ago with `MARKER` (the texts are listed in `ANONYMISED_TEXTS`;
a test fails when a text field of a case's record is in neither that list nor `KEPT_TEXTS`). It
unlinks nothing: people, placements, states, dates, categories, outcomes and positions' stances
stay, so the counts and the steering report are unchanged. The timeline (`CaseEvent`) is
append-only; anonymising its notes is the one documented exception, made here and nowhere else
(`_append_only_update`). The access log holds no content and is kept as it is: it is the record
of who saw what.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.db.models import F
from django.utils import timezone

from attachments.services import attachments_delete_for_case
from cases.models import Case, CaseEvent

from .models import ACCESS_LOG_PERMISSION, PRIVACY_OFFICER_GROUP, AccessLog
from .selectors import expired_cases

logger = logging.getLogger(__name__)

MARKER = "[geanonimiseerd]"

# --------------------------------------------------------------------------------------------
# The privacy officer
# --------------------------------------------------------------------------------------------


def privacy_officer_group() -> Group:
    """The group "Privacyfunctionaris" with `privacy.view_accesslog` (migration cases/0005 made
    it; this restores it, e.g. after a test database flush or for seed_demo)."""
    _app_label, codename = ACCESS_LOG_PERMISSION
    permission, _created = Permission.objects.get_or_create(
        content_type=ContentType.objects.get_for_model(AccessLog),
        codename=codename,
        defaults={"name": "Can view access log entry"},
    )
    group, _created = Group.objects.get_or_create(name=PRIVACY_OFFICER_GROUP)
    group.permissions.add(permission)
    return group


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
    "transfers.StudyStep": ("case_id", ("note",)),
    "transfers.OfficeDecision": ("case_id", ("reason",)),
    "transfers.Stop": ("case_id", ("reason",)),
    "transfers.Transfer": ("case_id", ("shared_with_new_school",)),
    "notifications.Notification": ("case_id", ("last_error",)),
}
# Text fields of a case's records that are kept, with the reason (codes, keys, choices).
KEPT_TEXTS: dict[str, str] = {
    "cases.Case.state": "state code (statistics)",
    "cases.Case.change_kind": "kind of change code (transfer / stop)",
    "cases.CaseCategory.category": "category code (statistics)",
    "transfers.StudyStep.kind": "code of the consequence for the study (statistics)",
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
    "transfers.OfficeDecision.decision": "decision code (statistics: followed the advice)",
    "notifications.Notification.event": "event code",
    "notifications.Notification.status": "delivery status code",
    "notifications.Notification.dedupe_key": "event, case id and recipient id only",
}
# Records deleted whole, files included (their files leave the store after the commit):
# model label -> lookup to the case's id. An attachment is the file; nothing of it is kept.
DELETED_RECORDS: dict[str, str] = {
    "attachments.Attachment": "case_id",
}
# JSON fields of a case's records: replaced by a marker object.
ANONYMISED_JSON: dict[str, tuple[str, dict[str, Any]]] = {
    "notifications.Notification": ("case_id", {"context": {"anonymised": True}}),
}
NULLED_JSON: dict[str, tuple[str, tuple[str, ...]]] = {
    "notifications.Notification": ("case_id", ("attachment",)),  # the ICS with place and time
}
# JSON fields that keep their codes and dates but lose the keys that name people, schools or
# places: the timeline's data (the labels of a stop request keep reading as a stop).
SCRUBBED_JSON: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "cases.CaseEvent": (
        "case_id",
        "data",
        ("person", "school", "coach_from", "coach_to", "was_location"),
    ),
}


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
        # The attachments and their files (the files after the commit: attachments.services).
        attachments_delete_for_case(case_id=case_id)
        for label, (case_path, values) in ANONYMISED_JSON.items():
            apps.get_model(label)._default_manager.filter(**{case_path: case_id}).update(**values)
        for label, (case_path, fields) in NULLED_JSON.items():
            apps.get_model(label)._default_manager.filter(**{case_path: case_id}).update(
                **dict.fromkeys(fields)
            )
        for label, (case_path, field, keys) in SCRUBBED_JSON.items():
            model = apps.get_model(label)
            for pk, value in model._default_manager.filter(**{case_path: case_id}).values_list(
                "pk", field
            ):
                if value and set(value) & set(keys):
                    kept = {k: v for k, v in value.items() if k not in keys}
                    rows = model._default_manager.filter(pk=pk)
                    if model is CaseEvent:
                        _append_only_update(rows, **{field: kept})
                    else:
                        rows.update(**{field: kept})
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
