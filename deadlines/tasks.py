"""The periodic task of the clock (CELERY_BEAT_SCHEDULE, every 30 minutes)."""

from celery import shared_task

from .scan import scan


@shared_task(acks_late=True)
def scan_deadlines() -> int:
    """Create due reminders, due-soon warnings and escalations (idempotent: unique keys)."""
    return scan().created
