"""A file on a case or one of its conversations: an improvement plan, a personal development
plan (POP), an agreement form, a doctor's note, or something else.

The file is kept through Django's storage API (`STORAGES["attachments"]`: local files by
default, an S3-compatible store by configuration) under a random name; the name the uploader
gave it is kept, cleaned, only to name the download. Who sees which attachment is a rule
(`attachments/rules.py`): a medical one only the student and the office.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.files.storage import storages
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.models import Case

from . import sniffing

# Timeline events that are themselves medical: shown to the student and the office only.
MEDICAL_EVENTS = ("medical_attachment_added",)


def attachment_storage():
    return storages["attachments"]


def random_name(instance: Attachment, filename: str) -> str:
    """Never the uploader's name in the path: 32 random hex characters and the extension of
    the kind the content was found to be."""
    extension = next(
        (k.extensions[0] for k in sniffing.KINDS if k.content_type == instance.content_type),
        "",
    )
    return f"{secrets.token_hex(16)}{extension}"


class Attachment(models.Model):
    class Kind(models.TextChoices):
        IMPROVEMENT_PLAN = "improvement_plan", _("improvement plan")
        POP = "pop", _("personal development plan (POP)")
        AGREEMENT = "agreement", _("agreement form")
        MEDICAL = "medical", _("doctor's note (medical)")
        OTHER = "other", _("other document")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="attachments")
    conversation = models.ForeignKey(
        "conversations.Conversation",
        on_delete=models.CASCADE,
        related_name="attachments",
        null=True,
        blank=True,
        verbose_name=_("conversation"),
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    file = models.FileField(upload_to=random_name, storage=attachment_storage, max_length=200)
    original_name = models.CharField(_("file name"), max_length=150)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind} {self.original_name}"

    @property
    def is_medical(self) -> bool:
        return self.kind == self.Kind.MEDICAL
