"""Thin periodic task of the semester app."""

from celery import shared_task

from .models import ImportBatch


@shared_task(acks_late=True)
def purge_import_batches() -> int:
    """Delete uploads that were never confirmed (their rows are personal data; idempotent)."""
    return ImportBatch.objects.purge()
