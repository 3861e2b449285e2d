"""notify(): write outbox rows in the caller's transaction; deliver after commit.

The outbox subscribes to the core's step events (`cases.events`, see `on_step` and apps.py):
every app publishes through the core, and the outbox calls none of them back. A broker that
is down at commit time loses nothing: the rows stay pending and the periodic sweep queues
them again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded
from django.conf import settings
from django.core.mail import get_connection
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from cases.events import StepEvent
from cases.rules import is_related
from cases.validators import LINE_BREAKS_AND_CONTROLS

from . import selectors
from .emails import render_email
from .models import Notification

logger = logging.getLogger(__name__)


def claim_timeout() -> timedelta:
    """A claim older than this is taken to belong to a worker that died mid-send
    (NOTIFICATION_CLAIM_SECONDS; longer than the delivery task's time limit, so a send that is
    still running is never taken over)."""
    return timedelta(seconds=settings.NOTIFICATION_CLAIM_SECONDS)


# The sweep retries a failed row this many times, waiting longer after each attempt
# (besides the task's own retries with backoff); then it waits for `manage.py outbox --retry`.
SWEEP_ATTEMPTS = 10
SWEEP_MAX_WAIT = timedelta(hours=1)

Attachment = dict[str, str]

# Celery's time limits must stop a task, never be taken for a broker error: every
# `except Exception` on the delivery path re-raises these first (both are Exceptions).
TIME_LIMITS = (SoftTimeLimitExceeded, TimeLimitExceeded)

# How many outbox rows one Celery message carries when many are queued at once (the deadline
# scan, the sweep): one message per row meant 71,850 messages for one scan at 100,000 cases.
QUEUE_BATCH = 1000

__all__ = [
    "claim",
    "deliver",
    "notify",
    "on_step",
    "queue_delivery",
    "queue_batches",
    "deliver_many",
    "claim_timeout",
    "render_email",
    "retire_unseeable",
]


def notify(
    case,
    *,
    event: str,
    actor,
    recipients: Iterable,
    step: str | None = None,
    context: dict | None = None,
    attachment: Attachment | Callable[[Any], Attachment | None] | None = None,
) -> list[int]:
    """Create one notification per recipient for this step of the case; queue delivery on commit.

    `step` identifies the step; by default the case's version, which every transition bumps,
    so the same step never notifies the same person twice. `context` holds what the e-mail may
    mention beyond the step (ids, dates; nothing sensitive); `attachment` is a file for the
    e-mail ({"filename", "mimetype", "content"}), or a function giving it per recipient.
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
                context=dict(context or {}),
                attachment=attachment(person) if callable(attachment) else attachment,
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


def on_step(event: StepEvent) -> None:
    """The subscriber to the core's step events: one outbox row per person told; after a
    transition, the unread notifications of people who no longer see the case are retired."""
    notify(
        event.case,
        event=event.event,
        actor=event.actor,
        recipients=event.recipients,
        step=event.step,
        context=dict(event.context),
        attachment=event.attachment,
    )
    if event.transition:
        retire_unseeable(event.case, may_see=is_related)


def retire_unseeable(case, *, may_see: Callable[[Any, Any], bool]) -> int:
    """Mark as read the case's unread notifications of people who may no longer see the case
    (the old school's staff after a transfer, the old study coach after the handover): the
    inbox leaves them out, so the unread badge must not count them. E-mails are unaffected."""
    unread = Notification.objects.filter(case=case, read_at__isnull=True).select_related(
        "recipient"
    )
    gone = [n.pk for n in unread if not may_see(n.recipient, case)]
    if gone:
        Notification.objects.filter(pk__in=gone).update(read_at=timezone.now())
    return len(gone)


def queue_delivery(ids: list[int]) -> None:
    """One message per row: what a step queues (a handful of rows, each retried with backoff)."""
    from .tasks import deliver_notification

    for pk in ids:
        try:
            deliver_notification.delay(pk)
        except TIME_LIMITS:
            raise
        except Exception:  # broker down: the sweep picks the row up later
            logger.warning("Could not queue notification %s; the sweep will retry it", pk)


def queue_batches(ids: list[int], size: int = QUEUE_BATCH) -> int:
    """One message per `size` rows (the scan, the sweep); returns the number of messages sent.
    A batch the broker refused stays pending, and the sweep queues it again."""
    from .tasks import deliver_batch

    messages = 0
    for start in range(0, len(ids), size):
        chunk = list(ids[start : start + size])
        try:
            deliver_batch.delay(chunk)
            messages += 1
        except TIME_LIMITS:
            raise
        except Exception:  # broker down: the sweep picks the rows up later
            logger.warning(
                "Could not queue %s notifications; the sweep will retry them", len(chunk)
            )
    return messages


def deliver_many(ids: list[int]) -> int:
    """Deliver a batch in turn; returns how many were sent. A row that fails is marked failed
    and left to the sweep (with its backoff); a time limit stops the batch at once, and the rows
    not yet tried stay pending for the sweep (the one being sent is marked failed, and tried
    again after its wait)."""
    sent = 0
    for pk in ids:
        try:
            sent += deliver(pk)
        except TIME_LIMITS:
            raise
        except Exception as exc:
            logger.info("Notification %s failed in a batch; the sweep retries it: %s", pk, exc)
    return sent


def claim(pk: int) -> Notification | None:
    """Take a notification for sending with a conditional update: only one worker wins."""
    now = timezone.now()
    claimable = Q(status__in=[Notification.Status.PENDING, Notification.Status.FAILED]) | Q(
        status=Notification.Status.SENDING, claimed_at__lt=now - claim_timeout()
    )
    won = Notification.objects.filter(claimable, pk=pk).update(
        status=Notification.Status.SENDING, claimed_at=now, attempts=F("attempts") + 1
    )
    if not won:
        return None
    return Notification.objects.select_related("recipient", "case", "actor").get(pk=pk)


class Undeliverable(Exception):
    """A delivery that no retry can mend: the stored address or a header is not usable."""


def deliver(pk: int) -> bool:
    """Send one notification e-mail; True when this call sent it.

    The row is marked sent as soon as the mail server has accepted the message (before the
    connection is closed), so a worker that dies afterwards leaves as small a window as
    possible; a send that was cut off anyway is sent again after `claim_timeout()` with the
    same Message-ID, so that mail systems and readers can tell it is the same message.
    A failure is logged at WARNING once (a retry failing the same way logs at INFO); an
    unusable stored address fails only its own row, without raising (no retry of the task;
    the sweep tries it again later, so an address corrected in the admin still gets it).
    """
    notification = claim(pk)
    if notification is None:
        return False
    if not notification.recipient.email:
        Notification.objects.filter(pk=pk).update(
            status=Notification.Status.SENT, sent_at=timezone.now(), last_error="no e-mail address"
        )
        return False
    connection = get_connection()
    try:
        email = _message(notification)
        email.connection = connection
        connection.open()
        email.send()
    except Undeliverable as exc:
        _failed(notification, str(exc))
        return False
    except Exception as exc:
        _failed(notification, str(exc) or type(exc).__name__)
        _close(connection)
        raise
    Notification.objects.filter(pk=pk).update(
        status=Notification.Status.SENT, sent_at=timezone.now(), last_error=""
    )
    _close(connection)
    return True


def _message(notification: Notification):
    """The e-mail, built and checked before any connection to the mail server: a line break in
    the stored address (an import, the shell, an identity provider) is refused here."""
    if LINE_BREAKS_AND_CONTROLS.search(notification.recipient.email.strip()):
        raise Undeliverable(
            "the recipient's e-mail address contains a line break or a control character"
        )
    email = render_email(notification)
    try:
        email.message()  # every header checked (Django refuses newlines in headers)
    except ValueError as exc:
        raise Undeliverable(f"unusable e-mail address or header: {exc}") from exc
    return email


def _failed(notification: Notification, reason: str) -> None:
    reason = reason[:2000]
    Notification.objects.filter(pk=notification.pk).update(
        status=Notification.Status.FAILED, last_error=reason
    )
    # One WARNING per failure, not per retry: a retry that fails the same way logs at INFO.
    level = logging.INFO if notification.last_error == reason else logging.WARNING
    logger.log(
        level,
        "Notification %s (%s) for case %s to user %s could not be delivered (attempt %s): %s",
        notification.pk,
        notification.event,
        notification.case.number,
        notification.recipient_id,
        notification.attempts,
        reason,
    )


def _close(connection) -> None:
    try:
        connection.close()
    except TIME_LIMITS:
        raise
    except Exception as exc:  # the message was accepted; a failing QUIT changes nothing
        logger.info("Closing the mail connection failed: %s", exc)


def sweep_wait(attempts: int) -> timedelta:
    """How long the sweep leaves a failed row alone after its n-th attempt: 1, 2, 4 … minutes."""
    return min(timedelta(minutes=2 ** max(attempts - 1, 0)), SWEEP_MAX_WAIT)


def _failed_and_due(now) -> Q:
    due = Q(pk__in=[])
    for attempts in range(SWEEP_ATTEMPTS):
        due |= Q(attempts=attempts) & (
            Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - sweep_wait(attempts))
        )
    return Q(status=Notification.Status.FAILED) & due


def pending_ids(older_than: timedelta = timedelta(minutes=1), limit: int = 500) -> list[int]:
    """What the sweep queues again: pending rows never delivered (the broker was down), failed
    rows whose wait is over, and rows claimed by a worker that died mid-send."""
    now = timezone.now()
    due = (
        Q(status=Notification.Status.PENDING, created_at__lt=now - older_than)
        | _failed_and_due(now)
        | Q(status=Notification.Status.SENDING, claimed_at__lt=now - claim_timeout())
    )
    rows = Notification.objects.filter(due).order_by("pk")
    return list(rows.values_list("pk", flat=True)[:limit])


def retry_ids(older_than: timedelta = timedelta(minutes=1)) -> list[int]:
    """What an operator retries by hand: every failed row (also those the sweep gave up on),
    stale claims and pending rows that were never queued."""
    now = timezone.now()
    due = (
        Q(status=Notification.Status.FAILED)
        | Q(status=Notification.Status.PENDING, created_at__lt=now - older_than)
        | Q(status=Notification.Status.SENDING, claimed_at__lt=now - claim_timeout())
    )
    return list(Notification.objects.filter(due).order_by("pk").values_list("pk", flat=True))


def unread_count(user) -> int:
    """Counted up to selectors.UNREAD_CAP: the badge shows "99+" from there."""
    return selectors.unread_count(user)
