"""notify(): one outbox row per step and recipient, delivery queued only after commit; the
claim that lets exactly one worker send a row; delivery itself."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded
from django.core import mail
from django.utils import timezone, translation

from notifications import services
from notifications.models import Notification
from tests.cases.factories import CaseFactory, UserFactory
from tests.notifications.factories import NotificationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(monkeypatch):
    calls: list[list[int]] = []
    monkeypatch.setattr(services, "queue_delivery", lambda ids: calls.append(list(ids)))
    return calls


@pytest.fixture
def case():
    return CaseFactory()


class TestNotify:
    def test_one_row_per_recipient(self, case, queued):
        people = UserFactory.create_batch(3)
        ids = services.notify(case, event="resolve", actor=case.signalled_by, recipients=people)
        rows = Notification.objects.filter(pk__in=ids)
        assert {r.recipient_id for r in rows} == {p.pk for p in people}
        assert {(r.event, r.actor_id, r.status) for r in rows} == {
            ("resolve", case.signalled_by_id, "pending")
        }

    def test_the_same_person_twice_in_one_call_gets_one_row(self, case, queued):
        person = UserFactory()
        services.notify(case, event="resolve", actor=None, recipients=[person, person])
        assert Notification.objects.count() == 1

    def test_the_same_step_and_recipient_never_makes_two_rows(self, case, queued):
        person = UserFactory()
        first = services.notify(case, event="resolve", actor=None, recipients=[person])
        again = services.notify(case, event="resolve", actor=None, recipients=[person])
        assert Notification.objects.count() == 1
        assert first == again

    def test_an_explicit_step_is_part_of_the_key(self, case, queued):
        person = UserFactory()
        for step in ("c1s0", "c1s1", "c1s1"):
            services.notify(case, event="rescheduled", actor=None, recipients=[person], step=step)
        assert Notification.objects.count() == 2

    def test_a_new_case_version_is_a_new_step(self, case, queued):
        person = UserFactory()
        services.notify(case, event="resolve", actor=None, recipients=[person])
        case.version += 1
        services.notify(case, event="resolve", actor=None, recipients=[person])
        assert Notification.objects.count() == 2

    def test_another_event_in_the_same_step_is_another_row(self, case, queued):
        person = UserFactory()
        services.notify(case, event="report_outcome", actor=None, recipients=[person])
        services.notify(case, event="isop_advice_requested", actor=None, recipients=[person])
        assert Notification.objects.count() == 2

    def test_a_sent_row_is_not_queued_again(self, case, queued, django_capture_on_commit_callbacks):
        person = UserFactory()
        with django_capture_on_commit_callbacks(execute=True):
            services.notify(case, event="resolve", actor=None, recipients=[person])
        Notification.objects.update(status=Notification.Status.SENT)
        with django_capture_on_commit_callbacks(execute=True):
            assert services.notify(case, event="resolve", actor=None, recipients=[person]) == []
        assert queued[-1] == []

    def test_nobody_to_notify_queues_nothing(self, case, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks() as callbacks:
            assert services.notify(case, event="resolve", actor=None, recipients=[]) == []
        assert callbacks == []

    def test_delivery_is_queued_only_after_commit(
        self, case, queued, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks() as callbacks:
            ids = services.notify(case, event="resolve", actor=None, recipients=[UserFactory()])
            assert queued == []
        assert len(callbacks) == 1
        callbacks[0]()
        assert queued == [ids]


class TestQueue:
    def test_each_id_goes_to_the_task(self, monkeypatch):
        sent = []
        monkeypatch.setattr(
            "notifications.tasks.deliver_notification.delay", lambda pk: sent.append(pk)
        )
        services.queue_delivery([3, 5])
        assert sent == [3, 5]

    def test_a_broker_that_is_down_loses_nothing(self, monkeypatch, caplog):
        def down(pk):
            raise ConnectionError("broker down")

        monkeypatch.setattr("notifications.tasks.deliver_notification.delay", down)
        services.queue_delivery([7])  # no exception: the sweep queues the row again
        assert "sweep will retry" in caplog.text

    def test_many_rows_go_in_batches_of_a_thousand(self, monkeypatch):
        sent = []
        monkeypatch.setattr("notifications.tasks.deliver_batch.delay", sent.append)
        assert services.queue_batches(list(range(2500))) == 3
        assert [len(batch) for batch in sent] == [1000, 1000, 500]

    def test_a_broker_that_is_down_loses_no_batch(self, monkeypatch, caplog):
        def down(ids):
            raise ConnectionError("broker down")

        monkeypatch.setattr("notifications.tasks.deliver_batch.delay", down)
        assert services.queue_batches([7, 8]) == 0  # no exception: the sweep queues them again
        assert "sweep will retry" in caplog.text

    @pytest.mark.parametrize("limit", [SoftTimeLimitExceeded, TimeLimitExceeded])
    def test_a_time_limit_is_never_taken_for_a_broker_that_is_down(self, monkeypatch, limit):
        def stopped(*args):
            raise limit()

        monkeypatch.setattr("notifications.tasks.deliver_batch.delay", stopped)
        monkeypatch.setattr("notifications.tasks.deliver_notification.delay", stopped)
        with pytest.raises(limit):
            services.queue_batches([7])
        with pytest.raises(limit):
            services.queue_delivery([7])

    def test_a_batch_goes_on_after_a_failed_row_but_not_after_a_time_limit(self, monkeypatch):
        tried = []

        def deliver(pk):
            tried.append(pk)
            if pk == 2:
                raise ConnectionError("mail server down")
            if pk == 4:
                raise SoftTimeLimitExceeded()
            return True

        monkeypatch.setattr(services, "deliver", deliver)
        with pytest.raises(SoftTimeLimitExceeded):
            services.deliver_many([1, 2, 3, 4, 5])
        assert tried == [1, 2, 3, 4]
        assert services.deliver_many([1, 2, 3]) == 2

    def test_pending_rows_are_swept(self):
        stale = NotificationFactory(stale=True)
        NotificationFactory()  # just written: its own on_commit hook queues it
        failed = NotificationFactory(failed=True)
        NotificationFactory(sent=True, stale=True)
        stuck = NotificationFactory(sending=True, claimed_at=timezone.now() - dt.timedelta(hours=1))
        NotificationFactory(sending=True)
        assert set(services.pending_ids()) == {stale.pk, failed.pk, stuck.pk}


class TestClaimAndDeliver:
    def test_only_one_claim_wins(self):
        row = NotificationFactory()
        assert services.claim(row.pk) is not None
        assert services.claim(row.pk) is None
        row.refresh_from_db()
        assert (row.status, row.attempts) == ("sending", 1)

    def test_a_stale_claim_can_be_taken_over(self):
        row = NotificationFactory(sending=True, claimed_at=timezone.now() - dt.timedelta(hours=1))
        assert services.claim(row.pk) is not None

    def test_it_sends_the_mail_once(self, mailoutbox):
        row = NotificationFactory(event="resolve")
        assert services.deliver(row.pk) is True
        assert services.deliver(row.pk) is False
        assert len(mailoutbox) == 1
        assert mailoutbox[0].to == [row.recipient.email]
        assert row.case.number in mailoutbox[0].body
        row.refresh_from_db()
        assert row.status == "sent"
        assert row.sent_at is not None

    def test_the_mail_is_in_the_recipient_language(self, mailoutbox):
        row = NotificationFactory(event="resolve", recipient=UserFactory(language="en"))
        services.deliver(row.pk)
        with translation.override("en"):
            assert "Closed as resolved" in mailoutbox[0].subject + mailoutbox[0].body

    def test_without_an_address_it_is_marked_done(self):
        row = NotificationFactory(recipient=UserFactory(email=""))
        assert services.deliver(row.pk) is False
        row.refresh_from_db()
        assert (row.status, row.last_error) == ("sent", "no e-mail address")
        assert mail.outbox == []

    def test_a_failed_send_is_kept_for_a_retry(self, monkeypatch):
        row = NotificationFactory()

        def refuse(self, *args, **kwargs):
            raise OSError("SMTP down")

        monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", refuse)
        with pytest.raises(OSError):
            services.deliver(row.pk)
        row.refresh_from_db()
        assert (row.status, row.last_error) == ("failed", "SMTP down")
        # The sweep waits before it tries again (the task retries sooner with its own backoff).
        assert row.pk not in services.pending_ids()
        with time_machine.travel(timezone.now() + dt.timedelta(minutes=2)):
            assert row.pk in services.pending_ids()

    def test_the_sweep_waits_longer_after_each_failed_attempt(self):
        now = timezone.now()
        assert [services.sweep_wait(n).total_seconds() / 60 for n in range(1, 9)] == [
            1,
            2,
            4,
            8,
            16,
            32,
            60,
            60,
        ]
        waiting = NotificationFactory(
            failed=True, attempts=3, claimed_at=now - dt.timedelta(minutes=3)
        )
        due = NotificationFactory(failed=True, attempts=3, claimed_at=now - dt.timedelta(minutes=5))
        given_up = NotificationFactory(failed=True, attempts=10, claimed_at=now - dt.timedelta(1))
        assert services.pending_ids() == [due.pk]
        # By hand (manage.py outbox --retry) every failed row is retried.
        assert set(services.retry_ids()) == {waiting.pk, due.pk, given_up.pk}

    def test_unread_count(self):
        person = UserFactory()
        NotificationFactory.create_batch(2, recipient=person)
        NotificationFactory(recipient=person, read=True)
        assert services.unread_count(person) == 2
