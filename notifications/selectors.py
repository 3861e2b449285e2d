"""Read-only queries on the outbox for other apps' pages (the office dashboard)."""

from __future__ import annotations

from django.db.models import IntegerField, QuerySet, Subquery

from .models import Notification


def failed_deliveries() -> QuerySet[Notification]:
    """Notifications whose e-mail could not be delivered, newest first, with case and recipient
    (and the case's student, for the office's list) loaded in the same query."""
    return (
        Notification.objects.filter(status=Notification.Status.FAILED)
        .select_related("case__placement__student", "recipient")
        .order_by("-created_at", "-pk")
    )


# The unread badge counts at most this many rows and shows "99+" from UNREAD_CAP on.
UNREAD_CAP = 100


class CappedCount(Subquery):
    """COUNT(*) over a sliced subquery: `CappedCount(qs[:100])` counts at most 100 rows, so
    its cost does not grow with the table. Correlated (OuterRef) subqueries work."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) AS capped)"
    output_field = IntegerField()

    def __init__(self, queryset, **extra):
        super().__init__(queryset, output_field=IntegerField(), **extra)


def unread_count(user) -> int:
    """The user's unread notifications, counted up to UNREAD_CAP (COUNT over a LIMIT)."""
    rows = Notification.objects.filter(recipient=user, read_at__isnull=True).order_by()
    return rows.values("pk")[:UNREAD_CAP].count()


def unread_badge(count: int | None) -> str:
    """The badge's text: the number, or "99+" from UNREAD_CAP on; empty for none."""
    if not count:
        return ""
    return f"{UNREAD_CAP - 1}+" if count >= UNREAD_CAP else str(count)
