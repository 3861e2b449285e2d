"""Factories for the notification outbox and the deadline configuration."""

import datetime as dt

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from cases.models import TrainingSchool
from notifications.models import DeadlineRule, Notification, SchoolHoliday
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


class DeadlineRuleFactory(DjangoModelFactory):
    class Meta:
        model = DeadlineRule
        django_get_or_create = ("key",)

    key = "first_conversation"
    remind_after = 3
    escalate_after = 5

    class Params:
        inactive = factory.Trait(active=False)
        no_escalation = factory.Trait(escalate_after=None)


class SchoolHolidayFactory(DjangoModelFactory):
    class Meta:
        model = SchoolHoliday

    region = TrainingSchool.Region.MIDDLE
    name = "Herfstvakantie"
    start_date = factory.LazyFunction(lambda: dt.date.today() + dt.timedelta(days=7))
    end_date = factory.LazyAttribute(lambda h: h.start_date + dt.timedelta(days=8))

    class Params:
        north = factory.Trait(region=TrainingSchool.Region.NORTH)
        south = factory.Trait(region=TrainingSchool.Region.SOUTH)
