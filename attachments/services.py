"""Adding an attachment, and removing a case's attachments (retention).

The file is checked twice, by the form (for the message on the field) and here (whoever calls):
at most `settings.ATTACHMENT_MAX_BYTES`, and its content one of the allowed kinds whose
extension the name has (`sniffing.py`). It is stored under a random name; a failure after the
file was written removes it again.
"""

from __future__ import annotations

import logging
import re
import unicodedata

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from cases.models import Case, NotPermitted
from cases.rules import can, conversation_is_visible
from cases.services import case_log, lock_case

from . import sniffing
from .models import Attachment
from .rules import sees_medical

logger = logging.getLogger(__name__)

NAME_MAX_LENGTH = 150
_UNSAFE = re.compile(r'[\\/:*?"<>|]+')


def clean_filename(name: str, kind: sniffing.FileKind | None = None) -> str:
    """The uploader's file name as a safe download name: no folders, no control or formatting
    characters (e.g. a right-to-left override that turns "fdp.exe" around), none of
    \\ / : * ? " < > |, at most 150 characters with the extension kept."""
    name = unicodedata.normalize("NFC", str(name or ""))
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if not unicodedata.category(c).startswith("C"))
    name = _UNSAFE.sub("_", name).strip(" .")
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""
    extension = extension[:10]
    if kind is not None and f".{extension.lower()}" not in kind.extensions:
        extension = kind.extensions[0].lstrip(".")
    stem = stem.strip(" .") or "bijlage"
    room = NAME_MAX_LENGTH - (len(extension) + 1 if extension else 0)
    return f"{stem[:room].rstrip(' .') or 'bijlage'}.{extension}" if extension else stem[:room]


def check_upload(upload) -> sniffing.FileKind:
    """The file's kind by its content; ValidationError (in the active language) when it is too
    large, empty, not one of the allowed kinds, or its name promises another kind."""
    limit = settings.ATTACHMENT_MAX_BYTES
    if upload.size is None or upload.size > limit:
        raise ValidationError(
            _("The file is larger than %(limit)s.") % {"limit": filesizeformat(limit)},
            code="too_large",
        )
    if upload.size == 0:
        raise ValidationError(_("The file is empty."), code="empty")
    kind = sniffing.sniff(upload)
    if kind is None:
        raise ValidationError(
            _(
                "This file is not a PDF, Word (DOCX) or OpenDocument (ODT) document or an image "
                "(PNG, JPEG, GIF, WebP). Its content was checked, not only its name."
            ),
            code="kind",
        )
    if not sniffing.extension_fits(upload.name or "", kind):
        raise ValidationError(
            _("The file's name does not fit its content (the content is %(kind)s).")
            % {"kind": kind.extensions[0].lstrip(".").upper()},
            code="extension",
        )
    return kind


def may_add_medical(user, case: Case) -> bool:
    return bool(sees_medical(user, case))


@transaction.atomic
def attachment_add(
    *, case_id: int, by, kind: str, upload, conversation_id: int | None = None
) -> Attachment:
    """Someone on the placement or the office adds a file to an open case (or one of its
    conversations they see); a medical one only the student or the office. On the timeline:
    "Attachment added" with the file's name, or "Medical attachment added" without it (only the
    student and the office see that event)."""
    case = lock_case(case_id)
    if not can(by, "attachments.add_attachment", case):
        raise NotPermitted(_("You cannot add an attachment to this case."))
    if kind == Attachment.Kind.MEDICAL and not may_add_medical(by, case):
        raise NotPermitted(_("Only the student or the internship office add a medical attachment."))
    conversation = None
    if conversation_id is not None:
        conversation = case.conversations.filter(pk=conversation_id).first()
        if conversation is None or not conversation_is_visible(by, conversation):
            raise NotPermitted(_("You cannot add an attachment to this conversation."))
    file_kind = check_upload(upload)
    attachment = Attachment(
        case=case,
        conversation=conversation,
        kind=kind,
        original_name=clean_filename(upload.name, file_kind),
        content_type=file_kind.content_type,
        size=upload.size,
        uploaded_by=by,
    )
    upload.seek(0)
    attachment.file.save(upload.name or "bijlage", upload, save=False)
    try:
        attachment.save()
        if attachment.is_medical:
            case_log(case, by=by, name="medical_attachment_added")
        else:
            case_log(case, by=by, name="attachment_added", note=attachment.original_name)
    except BaseException:
        attachment.file.storage.delete(attachment.file.name)
        raise
    return attachment


def attachments_delete_for_case(*, case_id: int) -> int:
    """Retention: delete the case's attachments; their files go from the store after the
    commit (a rolled-back run keeps them). Returns how many."""
    rows = list(Attachment.objects.filter(case_id=case_id).values_list("pk", "file"))
    if not rows:
        return 0
    Attachment.objects.filter(pk__in=[pk for pk, _name in rows]).delete()
    names = [name for _pk, name in rows if name]
    transaction.on_commit(lambda: _delete_files(names))
    return len(rows)


def _delete_files(names: list[str]) -> None:
    storage = Attachment._meta.get_field("file").storage
    for name in names:
        try:
            storage.delete(name)
        except Exception:  # one missing or locked file must not keep the others
            logger.exception("Attachment file %s could not be deleted.", name)
