"""Read-only queries on the outbox for other apps' pages (the office dashboard)."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import Notification


def failed_deliveries() -> QuerySet[Notification]:
    """Notifications whose e-mail could not be delivered, newest first, with case and recipient
    (and the case's student, for the office's list) loaded in the same query."""
    return (
        Notification.objects.filter(status=Notification.Status.FAILED)
        .select_related("case__placement__student", "recipient")
        .order_by("-created_at", "-pk")
    )
