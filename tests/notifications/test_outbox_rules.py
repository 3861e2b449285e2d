"""The outbox's claim and delivery, from their rules: which rows a worker may take (and from
when a claim counts as abandoned), what a delivery leaves behind in each outcome, and when the
sweep and a retry by hand pick a row up again. At the boundaries, with the clock held still."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
import time_machine
from django.utils import timezone

from notifications import services
from notifications.models import Notification
from tests.cases.factories import UserFactory
from tests.notifications.factories import NotificationFactory

pytestmark = pytest.mark.django_db
NOW = timezone.make_aware(dt.datetime(2027, 3, 10, 12, 0))
S = Notification.Status


@pytest.fixture
def still():
    with time_machine.travel(NOW, tick=False):
        yield NOW


def test_the_claim_time_is_the_setting(settings):
    settings.NOTIFICATION_CLAIM_SECONDS = 90
    assert services.claim_timeout() == dt.timedelta(seconds=90)


class TestClaim:
    @pytest.mark.parametrize("status", [S.PENDING, S.FAILED])
    def test_a_pending_or_failed_row_is_taken_with_one_more_attempt(self, still, status):
        row = NotificationFactory(status=status, attempts=2)
        claimed = services.claim(row.pk)
        assert claimed.pk == row.pk
        row.refresh_from_db()
        assert (row.status, row.attempts, row.claimed_at) == (S.SENDING, 3, NOW)

    def test_a_sent_row_is_never_taken(self, still):
        assert services.claim(NotificationFactory(sent=True).pk) is None

    def test_a_claim_is_abandoned_only_after_the_claim_time(self, still, settings):
        settings.NOTIFICATION_CLAIM_SECONDS = 90
        at_the_limit = NotificationFactory(sending=True, claimed_at=NOW - dt.timedelta(seconds=90))
        past_it = NotificationFactory(sending=True, claimed_at=NOW - dt.timedelta(seconds=91))
        assert services.claim(at_the_limit.pk) is None
        assert services.claim(past_it.pk) is not None


class TestDeliver:
    def test_a_sent_row_records_when_and_no_error(self, still, mailoutbox):
        row = NotificationFactory(failed=True)
        assert services.deliver(row.pk) is True
        row.refresh_from_db()
        assert (row.status, row.sent_at, row.last_error) == (S.SENT, NOW, "")
        assert len(mailoutbox) == 1

    def test_a_row_without_an_address_is_done_without_a_mail(self, still, mailoutbox):
        row = NotificationFactory(recipient=UserFactory(email=""))
        assert services.deliver(row.pk) is False
        row.refresh_from_db()
        assert (row.status, row.sent_at, row.last_error) == (S.SENT, NOW, "no e-mail address")
        assert mailoutbox == []

    def test_a_row_another_worker_holds_is_left_alone(self, still, mailoutbox):
        row = NotificationFactory(sending=True)
        assert services.deliver(row.pk) is False
        assert mailoutbox == []

    def test_an_unusable_address_fails_the_row_without_raising(self, still, mailoutbox):
        row = NotificationFactory(recipient=UserFactory(email="a@example.org\nBcc: x@y.z"))
        assert services.deliver(row.pk) is False
        row.refresh_from_db()
        assert row.status == S.FAILED
        assert "line break" in row.last_error
        assert mailoutbox == []

    def test_an_unwritable_header_fails_the_row_without_raising(self, still, monkeypatch):
        from django.core.mail import EmailMessage

        def broken(notification):
            return EmailMessage(
                "s", "b", "from@example.org", ["to@example.org"], headers={"X": "a\nb"}
            )

        monkeypatch.setattr(services, "render_email", broken)
        row = NotificationFactory()
        assert services.deliver(row.pk) is False  # no exception: no retry of the task
        row.refresh_from_db()
        assert row.status == S.FAILED
        assert row.last_error.startswith("unusable e-mail address or header")

    def test_a_failing_mail_server_fails_the_row_raises_and_closes(self, still, monkeypatch):
        closed = []

        def refuse(self, *args, **kwargs):
            raise OSError("")

        monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", refuse)
        monkeypatch.setattr(
            "django.core.mail.backends.locmem.EmailBackend.close",
            lambda self: closed.append(True),
            raising=False,
        )
        row = NotificationFactory()
        with pytest.raises(OSError):
            services.deliver(row.pk)
        row.refresh_from_db()
        assert (row.status, row.last_error) == (S.FAILED, "OSError")  # no text: its type
        assert closed

    def test_a_long_error_is_cut_to_2000_characters(self, still):
        row = NotificationFactory()
        services._failed(row, "x" * 5000)
        row.refresh_from_db()
        assert row.last_error == "x" * 2000

    def test_the_same_failure_again_is_logged_at_info(self, still, caplog):
        row = NotificationFactory(failed=True, last_error="Connection refused")
        with caplog.at_level(logging.INFO, logger="notifications.services"):
            services._failed(row, "Connection refused")
            services._failed(row, "Another reason")
        assert [r.levelno for r in caplog.records] == [logging.INFO, logging.WARNING]

    def test_a_failing_close_after_the_send_is_only_logged(self, caplog):
        class Connection:
            def close(self):
                raise OSError("QUIT refused")

        with caplog.at_level(logging.INFO, logger="notifications.services"):
            services._close(Connection())
        assert "QUIT refused" in caplog.text


class TestTheSweep:
    def test_the_wait_doubles_from_one_minute_up_to_an_hour(self):
        minutes = [services.sweep_wait(n) / dt.timedelta(minutes=1) for n in range(0, 9)]
        assert minutes == [1, 1, 2, 4, 8, 16, 32, 60, 60]
        assert dt.timedelta(hours=1) == services.SWEEP_MAX_WAIT
        assert services.SWEEP_ATTEMPTS == 10

    def test_a_failed_row_is_due_once_its_wait_is_over(self, still):
        waiting = NotificationFactory(
            failed=True, attempts=3, claimed_at=NOW - dt.timedelta(minutes=4)
        )
        due = NotificationFactory(
            failed=True, attempts=3, claimed_at=NOW - dt.timedelta(minutes=4, seconds=1)
        )
        never_claimed = NotificationFactory(failed=True, attempts=0)
        assert set(services.pending_ids()) == {due.pk, never_claimed.pk}
        assert waiting.pk in services.retry_ids()

    def test_the_sweep_gives_up_after_ten_attempts_a_retry_by_hand_does_not(self, still):
        last = NotificationFactory(failed=True, attempts=9, claimed_at=NOW - dt.timedelta(days=1))
        given_up = NotificationFactory(
            failed=True, attempts=10, claimed_at=NOW - dt.timedelta(days=1)
        )
        assert services.pending_ids() == [last.pk]
        assert set(services.retry_ids()) == {last.pk, given_up.pk}

    def test_a_pending_row_is_swept_after_a_minute(self, still):
        young = NotificationFactory(created_at=NOW - dt.timedelta(seconds=60))
        old = NotificationFactory(created_at=NOW - dt.timedelta(seconds=61))
        assert services.pending_ids() == [old.pk]
        assert services.retry_ids() == [old.pk]
        assert young.pk not in services.retry_ids(older_than=dt.timedelta(minutes=1))

    def test_an_abandoned_claim_is_swept_and_retried(self, still, settings):
        settings.NOTIFICATION_CLAIM_SECONDS = 90
        fresh = NotificationFactory(sending=True, claimed_at=NOW - dt.timedelta(seconds=90))
        abandoned = NotificationFactory(sending=True, claimed_at=NOW - dt.timedelta(seconds=91))
        assert services.pending_ids() == [abandoned.pk]
        assert services.retry_ids() == [abandoned.pk]
        assert fresh.pk != abandoned.pk

    def test_one_sweep_queues_at_most_500_rows_the_oldest_first(self, still):
        row = NotificationFactory(stale=True)
        fields = {f: getattr(row, f) for f in ("recipient_id", "case_id", "event", "actor_id")}
        Notification.objects.bulk_create(
            Notification(dedupe_key=f"bulk:{i}", **fields) for i in range(500)
        )
        Notification.objects.update(created_at=NOW - dt.timedelta(hours=1))
        swept = services.pending_ids()
        assert len(swept) == 500
        assert swept == sorted(Notification.objects.values_list("pk", flat=True))[:500]

    def test_the_sweep_takes_at_most_its_limit_oldest_first(self, still):
        rows = [NotificationFactory(stale=True) for _ in range(3)]
        assert services.pending_ids(limit=2) == [rows[0].pk, rows[1].pk]
