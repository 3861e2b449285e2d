"""The uploaded file between its preview and the office's confirmation."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# An upload not confirmed within this time is gone (its rows are personal data).
BATCH_LIFETIME = timedelta(hours=24)


class ImportBatchQuerySet(models.QuerySet):
    def live(self):
        return self.filter(expires_at__gt=timezone.now())

    def purge(self) -> int:
        """Delete the expired uploads; returns how many."""
        deleted, _per_model = self.filter(expires_at__lte=timezone.now()).delete()
        return deleted


class ImportBatch(models.Model):
    """An upload waiting for the office to confirm it: the rows as read (text, never the file
    itself), who uploaded it and until when it can be confirmed. Only its uploader can see or
    confirm it (the random token is in the preview's address); confirming deletes it, and so
    does the next upload of the same person or the daily purge after BATCH_LIFETIME."""

    token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    filename = models.CharField(_("file name"), max_length=200)
    sha256 = models.CharField(_("SHA-256 of the file"), max_length=64)
    size = models.PositiveIntegerField(_("size in bytes"))
    source = models.CharField(_("read as"), max_length=100)
    # {column key: the header as the file wrote it}, the headers not read, and the rows as
    # [[row number, {column key: text}], ...].
    columns = models.JSONField(default=dict)
    ignored = models.JSONField(default=list)
    rows = models.JSONField(default=list)

    objects = ImportBatchQuerySet.as_manager()

    class Meta:
        verbose_name = _("placement import waiting for confirmation")
        verbose_name_plural = _("placement imports waiting for confirmation")
        indexes = [models.Index(fields=["expires_at"], name="import_batch_expires")]

    def __str__(self) -> str:
        return f"{self.filename} ({self.uploaded_at:%Y-%m-%d %H:%M})"

    def save(self, *args, **kwargs) -> None:
        if self.expires_at is None:
            self.expires_at = self.uploaded_at + BATCH_LIFETIME
        super().save(*args, **kwargs)

    @property
    def table_rows(self) -> list[tuple[int, dict]]:
        return [(int(number), dict(values)) for number, values in self.rows]
