"""Thin tasks of the project package."""

from celery import shared_task

from . import signin


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=30, max_retries=5)
def send_sign_in_link(email: str) -> int:
    return signin.send_sign_in_links(email)
