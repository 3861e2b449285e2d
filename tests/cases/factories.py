import datetime

import factory
from django.contrib.auth.models import Group
from django.utils import timezone
from factory.django import DjangoModelFactory

from cases.models import (
    Board,
    Case,
    CaseCategory,
    Category,
    Partnership,
    Placement,
    Role,
    State,
    TrainingSchool,
    User,
)


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name", locale="nl_NL")
    last_name = factory.Faker("last_name", locale="nl_NL")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password("password")

    class Params:
        office = factory.Trait(
            groups=factory.PostGeneration(
                lambda u, create, extracted, **kw: u.groups.add(
                    Group.objects.get_or_create(name=Role.OFFICE)[0]
                )
            )
        )
        isop_owner = factory.Trait(
            groups=factory.PostGeneration(
                lambda u, create, extracted, **kw: u.groups.add(
                    Group.objects.get_or_create(name=Role.ISOP_OWNER)[0]
                )
            )
        )


class PartnershipFactory(DjangoModelFactory):
    class Meta:
        model = Partnership
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Opleidingsschool {n}")


class BoardFactory(DjangoModelFactory):
    class Meta:
        model = Board
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Stichting {n}")
    partnership = factory.SubFactory(PartnershipFactory)


class TrainingSchoolFactory(DjangoModelFactory):
    class Meta:
        model = TrainingSchool

    name = factory.Sequence(lambda n: f"Lyceum {n}")
    board = factory.SubFactory(BoardFactory)
    city = "Utrecht"
    region = TrainingSchool.Region.MIDDLE


class PlacementFactory(DjangoModelFactory):
    class Meta:
        model = Placement

    student = factory.SubFactory(UserFactory)
    school = factory.SubFactory(TrainingSchoolFactory)
    mentor = factory.SubFactory(UserFactory)
    school_trainer = factory.SubFactory(UserFactory)
    study_coach = factory.SubFactory(UserFactory)
    coordinating_trainer = None
    start_date = factory.LazyFunction(lambda: timezone.localdate() - datetime.timedelta(days=60))


class CaseFactory(DjangoModelFactory):
    """Arrange a case in any state with a Trait per state (CaseFactory(improving=True)).

    Setting the state at construction is for arranging only; tests act through services.
    """

    class Meta:
        model = Case
        skip_postgeneration_save = True

    placement = factory.SubFactory(PlacementFactory)
    description = "De student voelt zich niet welkom in de sectie."
    signalled_by = factory.SelfAttribute("placement.student")
    state = State.SIGNALLED

    class Params:
        conversation_planned = factory.Trait(state=State.CONVERSATION_PLANNED)
        improving = factory.Trait(state=State.IMPROVING)
        change_requested = factory.Trait(state=State.CHANGE_REQUESTED)
        office_informed = factory.Trait(state=State.OFFICE_INFORMED)
        change_conversation_planned = factory.Trait(state=State.CHANGE_CONVERSATION_PLANNED)
        outcome_pending = factory.Trait(state=State.OUTCOME_PENDING)
        isop_advice = factory.Trait(state=State.ISOP_ADVICE)
        transfer_requested = factory.Trait(state=State.TRANSFER_REQUESTED)
        handover = factory.Trait(state=State.HANDOVER)
        stopped = factory.Trait(state=State.STOPPED)
        closed_resolved = factory.Trait(state=State.CLOSED_RESOLVED)

    @factory.post_generation
    def categories(self, create, extracted, **kwargs):
        if create:
            for category in extracted or [Category.WELLBEING]:
                CaseCategory.objects.create(case=self, category=category)
