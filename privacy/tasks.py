"""Thin periodic tasks of the privacy app: they call services (privacy/services.py)."""

from celery import shared_task

from . import services


@shared_task(acks_late=True)
def anonymise_expired_cases() -> int:
    """Retention: anonymise closed cases past CASE_RETENTION_DAYS (idempotent)."""
    return services.anonymise_expired_cases()
