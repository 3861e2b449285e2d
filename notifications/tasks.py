"""Thin tasks: they take ids and call services; idempotent (claim by conditional update)."""

from celery import shared_task

from . import services


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(Exception,),
    retry_backoff=30,
    retry_backoff_max=1800,
    max_retries=8,
)
def deliver_notification(self, notification_id: int) -> bool:
    return services.deliver(notification_id)


@shared_task(acks_late=True)
def sweep_outbox() -> int:
    """Queue again what was never queued (broker down) or failed; the claim prevents doubles."""
    ids = services.pending_ids()
    services.queue_delivery(ids)
    return len(ids)
