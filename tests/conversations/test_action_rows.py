"""The action rows of the record page: owners by name and role (only the people on the case),
extra rows not marked required, and a half-filled extra row still refused."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from cases.models import Role
from conversations.forms import ActionFormSet
from tests.cases.factories import CaseFactory, UserFactory
from tests.conversations.factories import ConversationFactory
from tests.conversations.test_views import DUE, actions_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def case():
    case = CaseFactory(conversation_planned=True)
    ConversationFactory(case=case, invite=True)
    return case


def test_the_owner_picker_shows_names_and_roles_of_the_people_on_the_case(client, case):
    UserFactory(first_name="Niet", last_name="Betrokken")
    client.force_login(case.placement.school_trainer)
    html = client.get(reverse("conversations:record", args=[case.pk])).content.decode()
    select = re.search(r'<select name="actions-0-owner".*?</select>', html, re.S).group(0)
    options = re.findall(r"<option value=\"\d+\"[^>]*>([^<]+)</option>", select)
    mentor = case.placement.mentor
    assert any(o.startswith(mentor.get_full_name() + " (") for o in options)
    assert not any(case.placement.mentor.username in o for o in options)
    assert not any("Betrokken" in o for o in options)
    assert len(options) == len(case.people(list(Role)))


def test_extra_rows_are_not_required_but_a_started_row_is_complete(case):
    formset = ActionFormSet(prefix="actions", case=case)
    first, *extra = formset.forms
    assert first.fields["description"].required
    assert extra and not any(f.required for form in extra for f in form.fields.values())

    data = actions_data(("Feedback", case.placement.mentor, DUE))
    data["actions-1-description"] = "Half ingevuld"
    formset = ActionFormSet(data, prefix="actions", case=case)
    assert not formset.is_valid()
    assert set(formset.forms[1].errors) == {"owner", "due_date"}
    assert not formset.forms[2].errors  # an untouched extra row is ignored
