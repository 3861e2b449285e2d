"""The notification outbox: one row per (step, recipient), written in the transaction of the
step that causes it and delivered by a Celery task after commit. The row is also the entry in
the recipient's in-app inbox."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.models import Case


class Notification(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        SENDING = "sending", _("sending")
        SENT = "sent", _("sent")
        FAILED = "failed", _("failed")

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    case = models.ForeignKey(
        Case, verbose_name=_("case"), on_delete=models.CASCADE, related_name="notifications"
    )
    event = models.CharField(_("event"), max_length=60)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # Same step + same recipient = same key: the unique constraint stops a second send.
    dedupe_key = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    attempts = models.PositiveIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    # What the e-mail may say beyond the step: nothing sensitive, only ids, names, dates, e.g.
    # {"responsible": [user ids]} for a reminder or {"starts_at": iso} for an invitation.
    context = models.JSONField(default=dict, blank=True)
    # An optional file for the e-mail, given by the app that notifies (notifications imports
    # none of them): {"filename": ..., "mimetype": "text/calendar; method=REQUEST", "content": ...}.
    attachment = models.JSONField(null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["recipient", "read_at"], name="notification_inbox"),
            models.Index(fields=["case", "event", "created_at"], name="notification_case_event"),
            # The scan's "already notified since the case entered this state" for one event
            # reads only that event's entries (issue #17: a repeat scan at a million cases read
            # the whole table once per rule, kind and region).
            models.Index(fields=["event", "case", "created_at"], name="notification_event_case"),
        ]

    def __str__(self) -> str:
        return f"{self.event} -> {self.recipient}"
