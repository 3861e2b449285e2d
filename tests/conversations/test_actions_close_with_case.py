"""Improvement actions still open when a case closes are closed with it, and the timeline says
which; an open case keeps its open actions."""

from __future__ import annotations

import pytest

from conversations.models import ImprovementAction
from tests.conversations.factories import ImprovementActionFactory
from tests.journeys import ANY_ALLOWED, act, arrange, make_crew

pytestmark = pytest.mark.django_db
Status = ImprovementAction.Status


@pytest.mark.parametrize("name", ["withdraw", "stop_internship", "confirm_handover", "resume"])
def test_open_actions_close_with_the_case(name):
    crew = make_crew()
    case = arrange(name, crew)
    still_open = ImprovementActionFactory(case=case, description="Wekelijks feedbackgesprek")
    done = ImprovementActionFactory(case=case, evaluated=True)
    act(name, case, crew.get(ANY_ALLOWED[name]))
    case.refresh_from_db()
    assert not case.is_open
    still_open.refresh_from_db()
    done.refresh_from_db()
    assert still_open.status == Status.CLOSED
    assert done.status != Status.CLOSED
    event = case.events.get(name="actions_closed_with_case")
    assert event.note == "– Wekelijks feedbackgesprek"
    assert str(event.label) != event.name


def test_a_step_that_keeps_the_case_open_keeps_its_actions_open():
    crew = make_crew()
    case = arrange("request_change", crew)
    action = ImprovementActionFactory(case=case)
    act("request_change", case, crew.get(ANY_ALLOWED["request_change"]))
    action.refresh_from_db()
    assert action.status == Status.OPEN
    assert not case.events.filter(name="actions_closed_with_case").exists()


def test_the_case_page_says_the_action_was_closed_with_the_case(client):
    crew = make_crew()
    case = arrange("withdraw", crew)
    ImprovementActionFactory(case=case)
    act("withdraw", case, crew.office)
    client.force_login(crew.school_trainer)
    html = client.get(case.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "gesloten met de casus" in html or "closed with the case" in html
