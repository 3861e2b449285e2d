"""The periodic task of the clock (CELERY_BEAT_SCHEDULE, every 30 minutes)."""

from celery import shared_task

from .scan import scan

# The scan runs every 30 minutes; at a million cases its first run writes hundreds of thousands
# of reminders, more than the default minute. Both limits stay below the schedule's period and
# Redis's visibility timeout. Each batch of 1,000 commits on its own, so a run stopped by the
# soft limit raises (the task fails, visibly) and the next run carries on where it stopped.
SCAN_SOFT_TIME_LIMIT = 20 * 60
SCAN_TIME_LIMIT = 25 * 60


@shared_task(acks_late=True, soft_time_limit=SCAN_SOFT_TIME_LIMIT, time_limit=SCAN_TIME_LIMIT)
def scan_deadlines() -> int:
    """Create due reminders, due-soon warnings and escalations (idempotent: unique keys)."""
    return scan().created
