"""Factories for the conversation records, with a Trait per lifecycle state."""

import datetime as dt

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from cases.models import Role
from conversations.models import Conversation, ImprovementAction, Invitation, StudentNote
from tests.cases.factories import CaseFactory, UserFactory

PROBLEM_ROLES = (Role.STUDENT, Role.MENTOR, Role.SCHOOL_TRAINER, Role.STUDY_COACH)
CHANGE_ROLES = (Role.STUDENT, Role.SCHOOL_TRAINER, Role.STUDY_COACH)


class ConversationFactory(DjangoModelFactory):
    """A planned problem conversation; `change=True` for the all-party one.

    `invite=True` invites the placement's people for the kind (`invite=[roles]` for a subset);
    with `held=True` they are recorded as attended; `answered=True` fills the five answers.
    """

    class Meta:
        model = Conversation
        skip_postgeneration_save = True

    case = factory.SubFactory(CaseFactory)
    kind = Conversation.Kind.PROBLEM
    status = Conversation.Status.PLANNED
    starts_at = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(days=2))
    location = "Lokaal 2.14"
    planned_by = factory.SelfAttribute("case.placement.school_trainer")

    class Params:
        change = factory.Trait(kind=Conversation.Kind.CHANGE)
        held = factory.Trait(
            status=Conversation.Status.HELD,
            held_at=factory.LazyFunction(timezone.now),
            recorded_by=factory.SelfAttribute("planned_by"),
            summary="We hebben afspraken gemaakt.",
        )
        cancelled = factory.Trait(status=Conversation.Status.CANCELLED)
        answered = factory.Trait(
            problem="De student voelt zich niet welkom.",
            what_was_done="Twee gesprekken met de mentor.",
            when_it_goes_well="In de bovenbouwklassen.",
            student_needs="Een vaste begeleider.",
            school_offers="Een andere sectie.",
        )

    @factory.post_generation
    def invite(self, create, extracted, **kwargs):
        if not create or not extracted:
            return
        if extracted is True:
            extracted = PROBLEM_ROLES if self.kind == Conversation.Kind.PROBLEM else CHANGE_ROLES
        attended = True if self.status == Conversation.Status.HELD else None
        for role in extracted:
            person = self.case.placement.person(role)
            if person is not None:
                Invitation.objects.get_or_create(
                    conversation=self,
                    person=person,
                    defaults={"role": role, "attended": attended},
                )


class InvitationFactory(DjangoModelFactory):
    class Meta:
        model = Invitation

    conversation = factory.SubFactory(ConversationFactory)
    person = factory.SubFactory(UserFactory)
    role = Role.MENTOR
    attended = None

    class Params:
        present = factory.Trait(attended=True)
        absent = factory.Trait(attended=False)
        briefed = factory.Trait(
            attended=False,
            briefed_at=factory.LazyFunction(timezone.now),
            briefed_by=factory.SelfAttribute("conversation.case.placement.school_trainer"),
        )


class StudentNoteFactory(DjangoModelFactory):
    class Meta:
        model = StudentNote

    conversation = factory.SubFactory(ConversationFactory, held=True)
    text = "Ik heb geleerd om eerder hulp te vragen."

    class Params:
        submitted = factory.Trait(submitted_at=factory.LazyFunction(timezone.now))


class ImprovementActionFactory(DjangoModelFactory):
    class Meta:
        model = ImprovementAction

    case = factory.SubFactory(CaseFactory, improving=True)
    conversation = None
    description = "Wekelijks feedbackgesprek met de mentor"
    owner = factory.SelfAttribute("case.placement.mentor")
    due_date = factory.LazyFunction(lambda: timezone.localdate() + dt.timedelta(days=14))

    class Params:
        evaluated = factory.Trait(
            status=ImprovementAction.Status.DONE,
            evaluation=ImprovementAction.Evaluation.HELPED,
            evaluation_comment="Het gaat beter.",
        )
        overdue = factory.Trait(
            due_date=factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=7))
        )
