"""Thin periodic tasks of the cases app: they call services (cases/privacy.py)."""

from celery import shared_task

from . import privacy


@shared_task(acks_late=True)
def anonymise_expired_cases() -> int:
    """Retention: anonymise closed cases past CASE_RETENTION_DAYS (idempotent)."""
    return privacy.anonymise_expired_cases()
