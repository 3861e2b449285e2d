"""notify(): write outbox rows in the caller's transaction; deliver after commit.

Called by every app; calls none of them back. A broker that is down at commit time loses
nothing: the rows stay pending and the periodic sweep queues them again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone, translation

from .models import Notification

logger = logging.getLogger(__name__)

# A claim older than this is taken to belong to a worker that died mid-send.
STALE_CLAIM = timedelta(minutes=10)


def notify(case, *, event: str, actor, recipients: Iterable, step: str | None = None) -> list[int]:
    """Create one notification per recipient for this step of the case; queue delivery on commit.

    `step` identifies the step; by default the case's version, which every transition bumps,
    so the same step never notifies the same person twice.
    """
    step = step if step is not None else f"v{case.version}"
    seen: set[int] = set()
    rows = []
    for person in recipients:
        if person.pk in seen:
            continue
        seen.add(person.pk)
        rows.append(
            Notification(
                recipient=person,
                case=case,
                event=event,
                actor=actor,
                dedupe_key=f"{case.pk}:{event}:{step}:{person.pk}",
            )
        )
    if not rows:
        return []
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    keys = [r.dedupe_key for r in rows]
    ids = list(
        Notification.objects.filter(
            dedupe_key__in=keys, status=Notification.Status.PENDING
        ).values_list("pk", flat=True)
    )
    transaction.on_commit(lambda: queue_delivery(ids), robust=True)
    return ids


def queue_delivery(ids: list[int]) -> None:
    from .tasks import deliver_notification

    for pk in ids:
        try:
            deliver_notification.delay(pk)
        except Exception:  # broker down: the sweep picks the row up later
            logger.warning("Could not queue notification %s; the sweep will retry it", pk)


def claim(pk: int) -> Notification | None:
    """Take a notification for sending with a conditional update: only one worker wins."""
    now = timezone.now()
    claimable = Q(status__in=[Notification.Status.PENDING, Notification.Status.FAILED]) | Q(
        status=Notification.Status.SENDING, claimed_at__lt=now - STALE_CLAIM
    )
    won = Notification.objects.filter(claimable, pk=pk).update(
        status=Notification.Status.SENDING, claimed_at=now, attempts=F("attempts") + 1
    )
    if not won:
        return None
    return Notification.objects.select_related("recipient", "case", "actor").get(pk=pk)


def render_email(notification: Notification) -> EmailMultiAlternatives:
    from cases.models import EVENT_LABELS

    recipient = notification.recipient
    with translation.override(recipient.language or settings.LANGUAGE_CODE):
        context = {
            "recipient": recipient,
            "case_number": notification.case.number,
            "event_label": EVENT_LABELS.get(notification.event, notification.event),
            "actor": notification.actor,
            "link": f"{settings.SITE_URL}{notification.case.get_absolute_url()}",
        }
        subject = render_to_string("emails/notification-subject.txt", context).strip()
        text = render_to_string("emails/notification-body.txt", context)
        html = render_to_string("emails/notification-body.html", context)
    message = EmailMultiAlternatives(subject, text, to=[recipient.email])
    message.attach_alternative(html, "text/html")
    return message


def deliver(pk: int) -> bool:
    """Send one notification e-mail; True when this call sent it."""
    notification = claim(pk)
    if notification is None:
        return False
    if not notification.recipient.email:
        Notification.objects.filter(pk=pk).update(
            status=Notification.Status.SENT, sent_at=timezone.now(), last_error="no e-mail address"
        )
        return False
    try:
        render_email(notification).send()
    except Exception as exc:
        Notification.objects.filter(pk=pk).update(
            status=Notification.Status.FAILED, last_error=str(exc)[:2000]
        )
        raise
    Notification.objects.filter(pk=pk).update(
        status=Notification.Status.SENT, sent_at=timezone.now(), last_error=""
    )
    return True


def pending_ids(older_than: timedelta = timedelta(minutes=1), limit: int = 500) -> list[int]:
    now = timezone.now()
    due = (
        Q(status=Notification.Status.PENDING, created_at__lt=now - older_than)
        | Q(status=Notification.Status.FAILED, attempts__lt=10)
        | Q(status=Notification.Status.SENDING, claimed_at__lt=now - STALE_CLAIM)
    )
    return list(Notification.objects.filter(due).values_list("pk", flat=True)[:limit])


def unread_count(user) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()
