"""The uploaded file between its preview and the office's confirmation."""

from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

# An upload not confirmed within this time is gone (its rows are personal data).
BATCH_LIFETIME = timedelta(hours=24)
CONTROL = re.compile("[\x00-\x1f\x7f]")


class ImportBatchQuerySet(models.QuerySet):
    def live(self):
        return self.filter(expires_at__gt=timezone.now())

    def purge(self) -> int:
        """Delete the expired uploads; returns how many."""
        deleted, _per_model = self.filter(expires_at__lte=timezone.now()).delete()
        return deleted

    def create_for(self, table, *, uploaded_by, filename: str, sha256: str, size: int):
        """Keep a read file's rows (`reader.Table`) for its uploader."""
        content = {
            "columns": table.columns,
            "ignored": table.ignored,
            "rows": [[number, values] for number, values in table.rows],
        }
        return self.create(
            uploaded_by=uploaded_by,
            filename=CONTROL.sub("", filename or "")[:200],
            sha256=sha256,
            size=size,
            source=table.source[:100],
            # JSON text with every non-ASCII character escaped: a NUL in a cell (which the
            # preview must still report) cannot be stored in PostgreSQL's text or jsonb.
            content=json.dumps(content, ensure_ascii=True),
        )


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
    # JSON: {"columns": {column key: the header as the file wrote it}, "ignored": [headers not
    # read], "rows": [[row number, {column key: text}], ...]}.
    content = models.TextField()

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

    @cached_property
    def _content(self) -> dict:
        return json.loads(self.content)

    @property
    def columns(self) -> dict[str, str]:
        return dict(self._content["columns"])

    @property
    def ignored(self) -> list[str]:
        return list(self._content["ignored"])

    @property
    def table_rows(self) -> list[tuple[int, dict]]:
        return [(int(number), dict(values)) for number, values in self._content["rows"]]
