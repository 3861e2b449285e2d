"""Thin tasks: they take ids and call services; idempotent (claim by conditional update)."""

from celery import shared_task

from . import services

# A delivery that runs longer than this is stopped (prefork pool), well before its claim on the
# row expires (NOTIFICATION_CLAIM_SECONDS), so no second worker takes over a send in progress.
DELIVERY_SOFT_TIME_LIMIT = 45
DELIVERY_TIME_LIMIT = 60


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(Exception,),
    retry_backoff=30,
    retry_backoff_max=1800,
    max_retries=8,
    soft_time_limit=DELIVERY_SOFT_TIME_LIMIT,
    time_limit=DELIVERY_TIME_LIMIT,
)
def deliver_notification(self, notification_id: int) -> bool:
    return services.deliver(notification_id)


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=DELIVERY_SOFT_TIME_LIMIT,
    time_limit=DELIVERY_TIME_LIMIT,
)
def deliver_batch(notification_ids: list[int]) -> int:
    """Many rows in one message (the scan, the sweep). Stopped by its soft time limit, it
    raises (the task fails visibly); the rows it did not reach stay pending for the sweep."""
    return services.deliver_many(notification_ids)


@shared_task(acks_late=True)
def sweep_outbox() -> int:
    """Queue again what was never queued (broker down) or failed; the claim prevents doubles."""
    ids = services.pending_ids()
    services.queue_batches(ids)
    return len(ids)
