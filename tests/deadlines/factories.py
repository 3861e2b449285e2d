"""Factories for the deadline configuration: the office's rules and school holidays."""

import datetime as dt

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from cases.models import TrainingSchool
from deadlines.models import DeadlineRule, SchoolHoliday


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
    start_date = factory.LazyFunction(lambda: timezone.localdate() + dt.timedelta(days=7))
    end_date = factory.LazyAttribute(lambda h: h.start_date + dt.timedelta(days=8))

    class Params:
        north = factory.Trait(region=TrainingSchool.Region.NORTH)
        south = factory.Trait(region=TrainingSchool.Region.SOUTH)
