"""The people pickers of placing and resuming: by role and board, by name, never usernames."""

from __future__ import annotations

import re

import pytest
from django.utils.html import escape

from tests.cases.factories import (
    BoardFactory,
    CaseFactory,
    PlacementFactory,
    TrainingSchoolFactory,
    UserFactory,
)
from transfers.forms import PlaceForm, ResumeForm

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("form_class", [PlaceForm, ResumeForm])
def test_mentors_of_the_board_come_first_then_elsewhere_then_the_others(form_class):
    case = CaseFactory(outcome_pending=True)
    board = case.placement.school.board
    colleague = PlacementFactory(school=TrainingSchoolFactory(board=board)).mentor
    far = PlacementFactory(school=TrainingSchoolFactory(board=BoardFactory())).mentor
    newcomer = UserFactory(first_name="Nieuw", last_name="Iemand")
    # Without a search: only the people who hold the role, never a list of everyone.
    assert f'value="{newcomer.pk}"' not in str(form_class(case=case)["mentor"])
    html = str(form_class(case=case, search="nieuw IEMAND")["mentor"])
    groups = re.findall(r'<optgroup label="([^"]*)">(.*?)</optgroup>', html, re.S)
    assert [label for label, _ in groups][0].endswith(str(board))
    at_board, elsewhere, others = (body for _, body in groups)
    assert f'value="{colleague.pk}"' in at_board
    assert f'value="{case.placement.mentor.pk}"' in at_board
    assert f'value="{far.pk}"' in elsewhere
    assert f'value="{newcomer.pk}"' in others
    assert f'value="{case.placement.student.pk}"' not in html  # students are not picked
    mentor = case.placement.mentor
    # Escaped as the widget escapes it: a random name may be "van 't Erve".
    assert escape(f"{mentor.get_full_name()} <{mentor.email}>") in html
    assert f"({mentor.username})" not in html


def test_any_active_person_is_still_a_valid_choice():
    case = CaseFactory(outcome_pending=True)
    form = ResumeForm({"seen_version": case.version, "where": "same"}, case=case)
    newcomer = UserFactory()
    assert form.fields["mentor"].clean(str(newcomer.pk)) == newcomer


@pytest.mark.parametrize("url_name", ["transfers:place", "transfers:resume"])
def test_the_office_finds_someone_else_by_name_on_the_page(client, url_name):
    from django.urls import reverse

    state = {"transfers:place": "transfer_requested", "transfers:resume": "stopped"}[url_name]
    case = CaseFactory(**{state: True})
    newcomer = UserFactory(first_name="Zeldzaam", last_name="Mentorius")
    client.force_login(UserFactory(office=True))
    url = reverse(url_name, args=[case.pk])
    assert f'value="{newcomer.pk}"' not in client.get(url).content.decode()
    page = client.get(url, {"q": "zeldzaam"}).content.decode()
    assert 'role="search"' in page
    assert f'value="{newcomer.pk}"' in page
    assert f"({newcomer.username})" not in page  # by name and e-mail, never the username
