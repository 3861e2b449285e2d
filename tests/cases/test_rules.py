"""Need-to-know rules (cases/rules.py): the per-object rules and the queryset filter of the
lists (`Case.objects.related_to`) say the same thing, and the mentor stays out of the change
path."""

from __future__ import annotations

import itertools

import pytest
from django.utils import timezone

from cases.models import Case, State
from cases.rules import can
from cases.selectors import case_for_user
from conversations.models import Conversation
from tests.cases.factories import CaseFactory, PlacementFactory, UserFactory
from tests.conversations.factories import ConversationFactory, StudentNoteFactory
from tests.transfers.factories import HandoverFactory, IsopAdviceFactory

pytestmark = pytest.mark.django_db


def a_crowd_of_cases():
    """Cases in every state, some sharing people in different roles, some confidential
    (opened or not), some with ISOP advice asked, open and confirmed handovers."""
    people = [UserFactory() for _ in range(6)]
    office, isop, outsider = UserFactory(office=True), UserFactory(isop_owner=True), UserFactory()
    cases = []
    roles = itertools.cycle(itertools.permutations(people, 4))
    for i, state in enumerate(State.values):
        student, mentor, trainer, coach = next(roles)
        placement = PlacementFactory(
            student=student,
            mentor=mentor,
            school_trainer=trainer,
            study_coach=coach,
            coordinating_trainer=people[i % len(people)] if i % 3 == 0 else None,
        )
        cases.append(CaseFactory(placement=placement, state=state))
        hidden = CaseFactory(placement=placement, state=state, confidential=True)
        cases.append(hidden)
        cases.append(
            CaseFactory(
                placement=placement,
                state=state,
                confidential=True,
                confidential_released_at=timezone.now(),
                confidential_released_by=office,
            )
        )
    advised = IsopAdviceFactory()
    handover = HandoverFactory()
    confirmed = HandoverFactory(confirmed=True)
    hidden_handover = HandoverFactory(case__confidential=True)
    cases += [advised.case, handover.case, confirmed.case, hidden_handover.case]
    everyone = [
        *people,
        office,
        isop,
        outsider,
        handover.old_coach,
        confirmed.old_coach,
        hidden_handover.old_coach,
        advised.case.placement.mentor,
    ]
    return everyone, cases


def test_the_rules_and_the_lists_agree_for_every_person_and_case():
    users, cases = a_crowd_of_cases()
    checked = 0
    for user in users:
        user = type(user).objects.get(pk=user.pk)  # fresh: global roles from the database
        listed = set(Case.objects.related_to(user).filter(pk__in=[c.pk for c in cases]))
        for case in cases:
            case = Case.objects.select_related("placement").get(pk=case.pk)
            assert user.has_perm("cases.view_case", case) == (case in listed), (user, case)
            assert can(user, "cases.view_case", case) == (case in listed)
            checked += 1
    assert checked == len(users) * len(cases) >= 600
    # Both halves are exercised: some seen, some not.
    assert any(can(users[0], "cases.view_case", c) for c in cases)
    assert not all(can(users[0], "cases.view_case", c) for c in cases)


def test_a_confidential_signal_is_the_students_and_the_offices_until_it_is_opened():
    case = CaseFactory(confidential=True)
    office = UserFactory(office=True)
    placement = case.placement
    assert can(placement.student, "cases.view_case", case)
    assert can(office, "cases.view_case", case)
    for person in (placement.mentor, placement.school_trainer, placement.study_coach):
        assert not can(person, "cases.view_case", case)
        assert case not in Case.objects.related_to(person)
    assert can(office, "cases.release_confidential", case)
    assert not can(placement.student, "cases.release_confidential", case)
    case.confidential_released_at = timezone.now()
    case.save()
    assert can(placement.mentor, "cases.view_case", case)
    assert not can(office, "cases.release_confidential", case)


@pytest.mark.parametrize(
    "perm",
    [
        "cases.view_change_conversation",
        "cases.view_change_request",
        "cases.view_positions",
        "cases.view_isop_advice",
        "cases.view_handover",
    ],
)
def test_the_mentor_sees_the_case_but_not_the_change_path(perm):
    case = CaseFactory(isop_advice=True, placement__coordinating_trainer=UserFactory())
    placement = case.placement
    assert can(placement.mentor, "cases.view_case", case)
    assert not can(placement.mentor, perm, case)
    for person in (
        placement.student,
        placement.school_trainer,
        placement.study_coach,
        placement.coordinating_trainer,
        UserFactory(office=True),
    ):
        assert can(person, perm, case), person
    assert not can(UserFactory(), perm, case)


def test_the_mentor_sees_the_first_conversation_not_the_all_party_one():
    case = CaseFactory(outcome_pending=True)
    problem = ConversationFactory(case=case, held=True)
    change = ConversationFactory(case=case, change=True, held=True)
    mentor, student = case.placement.mentor, case.placement.student
    assert can(mentor, "cases.view_conversation", problem)
    assert not can(mentor, "cases.view_conversation", change)
    assert can(student, "cases.view_conversation", change)
    assert not can(UserFactory(), "cases.view_conversation", problem)


def test_a_note_draft_is_the_students_alone_and_a_submitted_note_follows_its_conversation():
    case = CaseFactory(outcome_pending=True)
    draft = StudentNoteFactory(conversation__case=case)
    submitted_change = StudentNoteFactory(
        conversation__case=case, conversation__kind=Conversation.Kind.CHANGE, submitted=True
    )
    submitted_problem = StudentNoteFactory(conversation__case=case, submitted=True)
    student, mentor, trainer = (
        case.placement.student,
        case.placement.mentor,
        case.placement.school_trainer,
    )
    assert can(student, "cases.view_student_note", draft)
    assert not can(trainer, "cases.view_student_note", draft)
    assert can(trainer, "cases.view_student_note", submitted_change)
    assert not can(mentor, "cases.view_student_note", submitted_change)
    assert can(mentor, "cases.view_student_note", submitted_problem)


def test_a_superuser_outside_the_office_sees_no_case_through_the_rules():
    """Django lets a superuser through has_perm; the views ask the rule itself."""
    case = CaseFactory()
    admin = UserFactory(is_superuser=True, is_staff=True)
    assert admin.has_perm("cases.view_case", case)
    assert not can(admin, "cases.view_case", case)
    with pytest.raises(Exception) as raised:
        case_for_user(admin, case.pk)
    assert raised.typename == "Http404"


def test_the_mentors_case_page_in_the_middle_of_the_change_path(client):
    """Before any transfer, the mentor is still on the placement: the page shows the case, the
    first conversation and the actions, and nothing of the change path."""
    from django.urls import reverse

    from tests.conversations.factories import ImprovementActionFactory
    from tests.transfers.factories import (
        ChangeRequestFactory,
        OutcomeReportFactory,
        PositionFactory,
    )

    secret = "GEHEIM-change-path"
    case = CaseFactory(isop_advice=True)
    ConversationFactory(case=case, held=True, summary="Eerste gesprek.")
    ConversationFactory(
        case=case, change=True, held=True, answered=True, summary=f"Alle partijen {secret}"
    )
    ImprovementActionFactory(case=case, description="Lesvoorbereiding")
    ChangeRequestFactory(case=case, reason=f"Reden {secret}", office_informed=True)
    report = OutcomeReportFactory(case=case, opinions_differ=True, note=f"Uitkomst {secret}")
    PositionFactory(report=report)
    IsopAdviceFactory(case=case, question=f"Vraag {secret}")
    url = reverse("portal:case", args=[case.pk])

    client.force_login(case.placement.mentor)
    page = client.get(url).content.decode()
    assert "Eerste gesprek." in page and "Lesvoorbereiding" in page
    assert secret not in page
    assert "De student voelt zich niet welkom." not in page  # the five answers
    assert "positions" not in page  # the positions list

    client.force_login(case.placement.school_trainer)
    page = client.get(url).content.decode()
    assert page.count(secret) >= 4 and "positions" in page
