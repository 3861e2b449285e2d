"""Factories for the notification outbox."""

import datetime as dt

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from notifications.models import Notification
from tests.cases.factories import CaseFactory, UserFactory


class NotificationFactory(DjangoModelFactory):
    class Meta:
        model = Notification

    recipient = factory.SubFactory(UserFactory)
    case = factory.SubFactory(CaseFactory)
    event = "signal"
    actor = factory.SelfAttribute("case.signalled_by")
    dedupe_key = factory.Sequence(lambda n: f"test:{n}")

    class Params:
        sending = factory.Trait(
            status=Notification.Status.SENDING,
            claimed_at=factory.LazyFunction(timezone.now),
            attempts=1,
        )
        sent = factory.Trait(
            status=Notification.Status.SENT, sent_at=factory.LazyFunction(timezone.now), attempts=1
        )
        failed = factory.Trait(
            status=Notification.Status.FAILED, attempts=1, last_error="Connection refused"
        )
        read = factory.Trait(read_at=factory.LazyFunction(timezone.now))
        stale = factory.Trait(
            created_at=factory.LazyFunction(lambda: timezone.now() - dt.timedelta(hours=1))
        )
