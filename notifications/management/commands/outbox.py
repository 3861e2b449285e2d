"""manage.py outbox: the notification outbox at a glance; --retry queues failed and stuck
items again (the claim on each row keeps a retry from sending anything twice)."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db.models import Count
from django.utils import timezone

from notifications import services
from notifications.models import Notification
from notifications.selectors import failed_deliveries


class Command(BaseCommand):
    help = "Show the notification outbox (pending, sending, sent, failed); --retry failed items."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--retry",
            action="store_true",
            help="Queue failed items again, and items stuck in sending or never queued.",
        )
        parser.add_argument(
            "--limit", type=int, default=50, help="List at most this many failed items."
        )

    def handle(self, *args, retry: bool = False, limit: int = 50, **options) -> None:
        counts = dict(Notification.objects.values_list("status").annotate(n=Count("pk")).order_by())
        for status in Notification.Status:
            self.stdout.write(f"{status.value:<8} {counts.get(status.value, 0)}")
        timeout = services.claim_timeout()
        stale = Notification.objects.filter(
            status=Notification.Status.SENDING, claimed_at__lt=timezone.now() - timeout
        ).count()
        if stale:
            self.stdout.write(f"stale    {stale} (sending for longer than {timeout})")
        failed = list(failed_deliveries()[:limit])
        if failed:
            self.stdout.write("")
            self.stdout.write("Failed:")
            for row in failed:
                error = " ".join(row.last_error.split()) or "-"
                to = row.recipient.email or row.recipient
                self.stdout.write(
                    f"  #{row.pk} {row.case.number} {row.event} -> {to}"
                    f" (attempts {row.attempts}): {error}"
                )
        if retry:
            ids = services.retry_ids()
            services.queue_delivery(ids)
            self.stdout.write(self.style.SUCCESS(f"Queued {len(ids)} item(s) again."))
