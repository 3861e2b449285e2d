"""Exactly once for the reader (issue #16): a stable Message-ID per outbox row, the row marked
sent as soon as the mail server accepted the message, a claim that expires after
NOTIFICATION_CLAIM_SECONDS, one WARNING per failure, and an unusable stored address that fails
only its own row. (With a real worker and SMTP server: test_worker_smtp.py.)"""

from __future__ import annotations

import datetime as dt
import logging
import re

import pytest
import time_machine
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.utils import timezone

from notifications import services
from notifications.emails import HEADER_ID, message_id
from notifications.models import Notification
from tests.cases.factories import UserFactory
from tests.notifications.factories import NotificationFactory

pytestmark = pytest.mark.django_db

LOGGER = "notifications.services"


def refuse_once(monkeypatch, error: Exception):
    """The first send raises `error`, the next ones go through."""
    calls = {"n": 0}
    original = LocmemBackend.send_messages

    def send_messages(self, messages):
        calls["n"] += 1
        if calls["n"] == 1:
            raise error
        return original(self, messages)

    monkeypatch.setattr(LocmemBackend, "send_messages", send_messages)
    return calls


def test_every_attempt_of_a_row_carries_the_same_message_id(monkeypatch, settings):
    settings.SITE_URL = "https://stagebureau.example.nl"
    row = NotificationFactory(event="resolve")
    refuse_once(monkeypatch, OSError("connection reset"))
    with pytest.raises(OSError):
        services.deliver(row.pk)
    first = message_id(Notification.objects.get(pk=row.pk))
    assert services.deliver(row.pk) is True  # the task's retry
    # As if the worker had died after the server accepted: the claim expires, the row goes again.
    expired = timezone.now() - dt.timedelta(seconds=settings.NOTIFICATION_CLAIM_SECONDS + 1)
    Notification.objects.filter(pk=row.pk).update(status="sending", claimed_at=expired)
    assert services.deliver(row.pk) is True
    ids = [m.message()["Message-ID"] for m in mail.outbox]
    assert ids == [first, first]
    assert re.fullmatch(rf"<notification-{row.pk}\.[0-9a-f]{{16}}@stagebureau\.example\.nl>", first)
    assert mail.outbox[0].extra_headers[HEADER_ID] == str(row.pk)


def test_two_rows_never_share_a_message_id():
    rows = NotificationFactory.create_batch(5)
    assert len({message_id(r) for r in rows}) == 5


def test_the_row_is_marked_sent_before_the_connection_is_closed(monkeypatch):
    row = NotificationFactory()
    seen = {}

    def close(self):
        seen["status"] = Notification.objects.get(pk=row.pk).status

    monkeypatch.setattr(LocmemBackend, "close", close)
    assert services.deliver(row.pk) is True
    assert seen == {"status": "sent"}  # a QUIT that hangs or fails changes nothing


def test_a_failing_quit_after_the_acceptance_leaves_the_row_sent(monkeypatch):
    row = NotificationFactory()

    def close(self):
        raise OSError("connection reset during QUIT")

    monkeypatch.setattr(LocmemBackend, "close", close)
    assert services.deliver(row.pk) is True
    row.refresh_from_db()
    assert row.status == "sent"


def test_a_killed_send_is_taken_over_after_the_claim_time(settings):
    settings.NOTIFICATION_CLAIM_SECONDS = 90
    row = NotificationFactory(sending=True)
    assert services.claim(row.pk) is None
    assert row.pk not in services.pending_ids()
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=91)):
        assert row.pk in services.pending_ids()
        assert services.deliver(row.pk) is True
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("sent", 2)


def test_a_failure_is_logged_at_warning_once_with_the_case_and_the_reason(monkeypatch, caplog):
    row = NotificationFactory()

    def refuse(self, messages):
        raise OSError("450 mailbox busy")

    monkeypatch.setattr(LocmemBackend, "send_messages", refuse)
    with caplog.at_level(logging.INFO, logger=LOGGER):
        for _attempt in range(3):  # the task's retries
            with pytest.raises(OSError):
                services.deliver(row.pk)
    records = [r for r in caplog.records if r.name == LOGGER]
    warnings = [r for r in records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in records]
    message = warnings[0].getMessage()
    assert row.case.number in message and "450 mailbox busy" in message
    assert [r.levelno for r in records] == [logging.WARNING, logging.INFO, logging.INFO]
    # Another reason is another failure: logged at WARNING again.
    monkeypatch.setattr(
        LocmemBackend, "send_messages", lambda self, m: (_ for _ in ()).throw(OSError("timeout"))
    )
    caplog.clear()
    with caplog.at_level(logging.INFO, logger=LOGGER), pytest.raises(OSError):
        services.deliver(row.pk)
    assert [r.levelno for r in caplog.records if r.name == LOGGER] == [logging.WARNING]


@pytest.mark.parametrize(
    "address",
    ["jan@example.org\r\nBcc: evil@x.example", "jan@example.org\nX: y", "jan\r@example.org"],
)
def test_a_line_break_in_the_stored_address_fails_that_row_only(address, caplog):
    bad = NotificationFactory(recipient=UserFactory(email=address))
    good = NotificationFactory()
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert services.deliver(bad.pk) is False  # no exception: the task is not retried
    assert services.deliver(good.pk) is True
    bad.refresh_from_db()
    assert bad.status == "failed"
    assert "line break" in bad.last_error
    assert [m.to for m in mail.outbox] == [[good.recipient.email]]
    assert any(bad.case.number in r.getMessage() for r in caplog.records)


def test_a_line_break_in_a_name_changes_nothing_in_the_headers():
    person = UserFactory(first_name="Jan\r\nBcc: evil@x.example", last_name="Jansen")
    row = NotificationFactory(recipient=person, actor=person)
    assert services.deliver(row.pk) is True
    message = mail.outbox[0].message()
    assert "Bcc" not in message and message["To"] == person.email
