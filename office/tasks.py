"""The office's periodic task (CELERY_BEAT_SCHEDULE)."""

from celery import shared_task
from django.conf import settings

from . import selectors

# A refresh that takes longer than the cache lives is of no use: it stops (and fails, visibly).
REFRESH_SOFT_TIME_LIMIT = 5 * 60


@shared_task(soft_time_limit=REFRESH_SOFT_TIME_LIMIT, time_limit=REFRESH_SOFT_TIME_LIMIT + 30)
def refresh_breakdowns() -> bool:
    """Count the dashboard's breakdowns into the cache (nothing to do when it is off)."""
    if settings.DASHBOARD_BREAKDOWN_SECONDS <= 0:
        return False
    selectors.refresh_breakdowns()
    return True
