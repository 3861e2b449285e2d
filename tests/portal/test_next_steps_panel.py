"""The case page's "steps you can take now" panel lists exactly the steps the rules allow, for
every role in every open state, and says "nothing for you now" only when that is true.

The expectation is built from the mechanism, not from a list per state: the transitions
(`cases.services.available_steps`) plus the steps that are not transitions (writing the student's
note, sharing a confidential signal, confirming having read a summary, briefing an absent person,
confirming receipt of a warm handover, planning again, adding an action, the wrap-up). New states
and transitions are covered without changing this test."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from cases import models as m
from cases.models import OPEN_STATES, State
from cases.rules import can, is_hidden
from cases.services import available_steps
from conversations.models import Conversation
from conversations.selectors import PLANNED_STATES, kind_for_state, may_brief, may_plan_again
from portal.selectors import MAY_ADD_ACTION, MAY_RECORD_WRAP_UP, SECONDARY_STEPS
from tests.conversations.factories import ConversationFactory
from tests.journeys import arrange, case_in, make_crew

pytestmark = pytest.mark.django_db

NOTHING = "Nothing for you to do right now; the people involved are working on the next step."
ROLES = [*m.PLACEMENT_ROLE_FIELDS.values(), "office", "isop_owner"]
# The transition to arrange a case in each state with (tests/journeys.py); a state added later
# gets a bare case in that state.
ARRANGE_FOR = {
    State.SIGNALLED: "plan_conversation",
    State.CONVERSATION_PLANNED: "record_conversation",
    State.IMPROVING: "resolve",
    State.CHANGE_REQUESTED: "inform_office",
    State.OFFICE_INFORMED: "plan_change_conversation",
    State.CHANGE_CONVERSATION_PLANNED: "record_change_conversation",
    State.OUTCOME_PENDING: "report_outcome",
    State.ISOP_ADVICE: "give_advice",
    State.TRANSFER_REQUESTED: "place_student",
    State.HANDOVER: "confirm_handover",
    State.STOPPED: "resume",
}


def panel_urls(html: str) -> set[str]:
    start = html.index('aria-labelledby="steps-heading"')
    section = html[start : html.index("</section>", start)]
    return set(re.findall(r'(?:href|action)="([^"#]+)"', section))


def exit_urls(case, user) -> set[str]:
    """The exits (withdraw, stop now, drop the change): shown apart, below the next steps."""
    return {
        reverse(s.url_name, args=[case.pk])
        for s in available_steps(m.Case.objects.get(pk=case.pk), user)
        if s.name in SECONDARY_STEPS
    }


def expected_urls(case, user) -> set[str]:
    """Every step this user can take on the case, from the rules."""
    case = m.Case.objects.get(pk=case.pk)
    roles = case.roles_of(user)
    urls = {reverse(s.url_name, args=[case.pk]) for s in available_steps(case, user)}
    sees_change_path = can(user, "cases.view_change_conversation", case)
    conversations = [
        c
        for c in case.conversations.all()
        if sees_change_path or c.kind == Conversation.Kind.PROBLEM
    ]
    kind = kind_for_state(case.state)
    if case.state in PLANNED_STATES and not any(
        c.kind == kind and c.status == Conversation.Status.PLANNED for c in conversations
    ):
        urls.discard(reverse("conversations:record", args=[case.pk]))
    if case.is_open and may_plan_again(case, user, conversations):
        urls.add(reverse("conversations:plan_again", args=[case.pk]))
    if case.state in (State.CONVERSATION_PLANNED, State.IMPROVING) and roles & MAY_ADD_ACTION:
        urls.add(reverse("conversations:add_action", args=[case.pk]))
    if case.state == State.TRANSFER_REQUESTED and roles & MAY_RECORD_WRAP_UP:
        urls.add(reverse("transfers:wrap_up", args=[case.pk]))
    if can(user, "cases.release_confidential", case) and is_hidden(case):
        urls.add(reverse("cases:release_confidential", args=[case.pk]))
    for conversation in conversations:
        if conversation.status != Conversation.Status.HELD:
            continue
        note = getattr(conversation, "student_note", None)
        submitted = bool(note and note.submitted_at)
        if case.is_open and case.placement.student_id == user.pk and not submitted:
            urls.add(reverse("conversations:note", args=[conversation.pk]))
        for invitation in conversation.invitations.all():
            unread = invitation.attended is False and invitation.read_summary_at is None
            if invitation.person_id == user.pk and unread:
                urls.add(reverse("conversations:confirm_read", args=[invitation.pk]))
            if case.is_open and invitation.needs_briefing and may_brief(case, conversation, user):
                urls.add(reverse("conversations:brief", args=[invitation.pk]))
    if case.state == State.IMPROVING and can(user, "cases.plan_follow_up", case):
        follow_up = next(
            (
                c
                for c in case.conversations.all()
                if c.kind == Conversation.Kind.FOLLOW_UP and c.status == Conversation.Status.PLANNED
            ),
            None,
        )
        if follow_up is None:
            urls.add(reverse("conversations:plan_follow_up", args=[case.pk]))
        elif follow_up.starts_at <= timezone.now():
            urls.add(reverse("conversations:record_follow_up", args=[follow_up.pk]))
    if case.is_open:
        for action in case.actions.all():
            action.case = case
            if not action.evaluation and can(user, "cases.evaluate_action", action):
                urls.add(reverse("conversations:evaluate_action", args=[action.pk]))
        for wrap_up in case.wrap_ups.filter(confirmed_at__isnull=True):
            wrap_up.case = case
            if can(user, "cases.confirm_wrap_up", wrap_up):
                urls.add(reverse("transfers:wrap_up_confirm", args=[case.pk]))
    if sees_change_path:
        for handover in case.handovers.all():
            mine = handover.new_coach_id == user.pk and handover.received_at is None
            if mine and handover.confirmed_at:
                urls.add(reverse("transfers:handover_received", args=[handover.pk]))
    return urls


def with_history(case, crew) -> None:
    """A held problem conversation where the mentor was absent and not yet briefed, and the
    student has not written the note: briefing, "I have read the summary" and the note."""
    held = ConversationFactory(case=case, held=True, invite=True)
    held.invitations.filter(person=crew.mentor).update(attended=False)
    for handover in case.handovers.all():
        handover.confirmed_at = timezone.now()
        handover.save()


def check_every_role(client, case, crew) -> None:
    nothing = {NOTHING}
    with translation.override("nl"):
        nothing.add(translation.gettext(NOTHING))
    for role in ROLES:
        user = crew.get(role)
        client.force_login(user)
        response = client.get(case.get_absolute_url())
        if response.status_code == 404:  # not on the case (e.g. the ISOP owner before advice)
            continue
        assert response.status_code == 200, role
        html = response.content.decode()
        expected = expected_urls(case, user)
        assert panel_urls(html) == expected, (case.state, role)
        # The exits (withdraw, stop now, drop the change) are shown apart below the steps: with
        # only those, the panel still says there is nothing to do now.
        next_steps = expected - exit_urls(case, user)
        says_nothing = any(text in html for text in nothing)
        assert says_nothing == (case.is_open and not next_steps), (case.state, role)


@pytest.mark.parametrize("state", OPEN_STATES)
@pytest.mark.parametrize("history", [False, True], ids=["arranged", "with_history"])
def test_the_panel_lists_exactly_the_allowed_steps(client, state, history):
    crew = make_crew()
    name = ARRANGE_FOR.get(state)
    case = arrange(name, crew) if name else case_in(crew, state)
    if history:
        with_history(case, crew)
    check_every_role(client, case, crew)


def test_a_confidential_signal_puts_sharing_it_in_the_offices_panel(client):
    crew = make_crew()
    case = case_in(crew, State.SIGNALLED)
    case.confidential = True
    case.signalled_by = crew.student
    case.save()
    check_every_role(client, case, crew)
    client.force_login(crew.office)
    html = client.get(case.get_absolute_url()).content.decode()
    assert reverse("cases:release_confidential", args=[case.pk]) in panel_urls(html)
