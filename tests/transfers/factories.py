"""Factories for the change-path records, with Traits for their lifecycle."""

import datetime as dt

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from cases.models import AdviceDecision, Outcome, Role
from tests.cases.factories import CaseFactory, PlacementFactory, UserFactory
from transfers.models import (
    ChangeRequest,
    Handover,
    IsopAdvice,
    OutcomeReport,
    Position,
    Stop,
    Transfer,
    WrapUp,
)


class ChangeRequestFactory(DjangoModelFactory):
    class Meta:
        model = ChangeRequest
        skip_postgeneration_save = True

    case = factory.SubFactory(CaseFactory, change_requested=True)
    kind = ChangeRequest.Kind.TRANSFER
    reason = "De verhouding met de mentor is onherstelbaar beschadigd."
    requested_by = factory.SelfAttribute("case.placement.student")

    class Params:
        stop = factory.Trait(kind=ChangeRequest.Kind.STOP)
        stop_temporary = factory.Trait(kind=ChangeRequest.Kind.STOP_TEMPORARY)
        office_informed = factory.Trait(
            office_informed_at=factory.LazyFunction(timezone.now),
            office_informed_by=factory.SelfAttribute("case.placement.school_trainer"),
            office_contact_note="Gebeld met het stagebureau.",
        )


class OutcomeReportFactory(DjangoModelFactory):
    class Meta:
        model = OutcomeReport

    case = factory.SubFactory(CaseFactory, transfer_requested=True)
    outcome = Outcome.AGREE_TRANSFER
    reported_by = factory.SelfAttribute("case.placement.school_trainer")

    class Params:
        agree_stop = factory.Trait(outcome=Outcome.AGREE_STOP)
        continue_here = factory.Trait(outcome=Outcome.CONTINUE)
        opinions_differ = factory.Trait(outcome=Outcome.OPINIONS_DIFFER)
        by_office = factory.Trait(
            reported_by=factory.SubFactory(UserFactory, office=True),
            on_behalf_of_school_trainer=True,
        )


class PositionFactory(DjangoModelFactory):
    class Meta:
        model = Position

    report = factory.SubFactory(OutcomeReportFactory)
    person = factory.SelfAttribute("report.case.placement.student")
    role = Role.STUDENT
    stance = Position.Stance.AGREE

    class Params:
        disagrees = factory.Trait(stance=Position.Stance.DISAGREE)
        abstains = factory.Trait(stance=Position.Stance.ABSTAIN)


class IsopAdviceFactory(DjangoModelFactory):
    class Meta:
        model = IsopAdvice

    case = factory.SubFactory(CaseFactory, isop_advice=True)
    question = "De school wil stoppen, de student wil doorgaan."

    class Params:
        given = factory.Trait(
            decision=AdviceDecision.TRANSFER,
            rationale="Een nieuwe start is beter voor de student.",
            given_by=factory.SubFactory(UserFactory, isop_owner=True),
            given_at=factory.LazyFunction(timezone.now),
        )


class WrapUpFactory(DjangoModelFactory):
    class Meta:
        model = WrapUp

    case = factory.SubFactory(CaseFactory, transfer_requested=True)
    last_day = factory.LazyFunction(lambda: timezone.localdate() + dt.timedelta(days=5))
    agreement = "Afscheid van de klas op vrijdag met een korte les."
    recorded_by = factory.SelfAttribute("case.placement.school_trainer")

    class Params:
        # Confirmed by the other one (the student), as place_student and a stop need.
        agreed = factory.Trait(
            confirmed_by=factory.SelfAttribute("case.placement.student"),
            confirmed_at=factory.LazyFunction(timezone.now),
        )


class TransferFactory(DjangoModelFactory):
    """A new placement for the case's student; `same_coach=True` keeps the study coach."""

    class Meta:
        model = Transfer

    case = factory.SubFactory(CaseFactory, transfer_requested=True)
    from_placement = factory.SelfAttribute("case.placement")
    to_placement = factory.SubFactory(
        PlacementFactory,
        student=factory.SelfAttribute("..from_placement.student"),
        start_date=factory.LazyFunction(dt.date.today),
    )
    effective_date = factory.SelfAttribute("to_placement.start_date")
    recorded_by = factory.SubFactory(UserFactory, office=True)

    class Params:
        same_coach = factory.Trait(
            to_placement=factory.SubFactory(
                PlacementFactory,
                student=factory.SelfAttribute("..from_placement.student"),
                study_coach=factory.SelfAttribute("..from_placement.study_coach"),
                start_date=factory.LazyFunction(dt.date.today),
            )
        )
        applied = factory.Trait(applied_at=factory.LazyFunction(timezone.now))


class StopFactory(DjangoModelFactory):
    class Meta:
        model = Stop

    case = factory.SubFactory(CaseFactory, transfer_requested=True)
    temporary = False
    expected_resume_date = None
    recorded_by = factory.SubFactory(UserFactory, office=True)

    class Params:
        is_temporary = factory.Trait(
            temporary=True,
            expected_resume_date=factory.LazyFunction(
                lambda: timezone.localdate() + dt.timedelta(days=30)
            ),
        )
        resumed = factory.Trait(resumed_at=factory.LazyFunction(timezone.now))


class HandoverFactory(DjangoModelFactory):
    """An open handover on a case in `handover`: the case's placement is the new one."""

    class Meta:
        model = Handover

    case = factory.SubFactory(CaseFactory, handover=True)
    transfer = factory.SubFactory(
        TransferFactory,
        case=factory.SelfAttribute("..case"),
        from_placement=factory.SubFactory(
            PlacementFactory, student=factory.SelfAttribute("..case.placement.student")
        ),
        to_placement=factory.SelfAttribute("case.placement"),
        applied=True,
    )
    old_coach = factory.SelfAttribute("transfer.from_placement.study_coach")
    new_coach = factory.SelfAttribute("transfer.to_placement.study_coach")

    class Params:
        contact_made = factory.Trait(
            contact_made_on=factory.LazyFunction(dt.date.today),
            what_helped="Korte lijnen met de mentor.",
            student_needs="Structuur en een vast aanspreekpunt.",
        )
        confirmed = factory.Trait(
            contact_made_on=factory.LazyFunction(dt.date.today),
            confirmed_at=factory.LazyFunction(timezone.now),
        )
        received = factory.Trait(received_at=factory.LazyFunction(timezone.now))
