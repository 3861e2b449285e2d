"""Deputies: the office names a deputy ISOP process owner or deputy office staff for a period;
while active the deputy holds the role for the request's user, the lists and the rules."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from cases.models import Case, Deputy, GuardFailed, NotPermitted, Role, User
from cases.rules import is_related
from cases.services import deputy_name
from stagebureau.backends import RequestUserBackend
from tests.cases.factories import CaseFactory, UserFactory

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def fresh(user) -> User:
    return User.objects.get(pk=user.pk)


@pytest.mark.parametrize("role", [Role.OFFICE, Role.ISOP_OWNER])
def test_an_active_deputy_holds_the_role_for_the_backend_and_the_model_alike(role):
    office, deputy = UserFactory(office=True), UserFactory()
    deputy_name(role=role, person=deputy, starts_on=TODAY, ends_on=TODAY, by=office)
    assert role in fresh(deputy).global_roles
    assert role in RequestUserBackend().get_user(deputy.pk).global_roles


@pytest.mark.parametrize(
    ("starts", "ends"), [(TODAY + dt.timedelta(days=1), TODAY + dt.timedelta(days=3))]
)
def test_a_deputy_before_or_after_the_period_holds_nothing(starts, ends):
    office, deputy = UserFactory(office=True), UserFactory()
    deputy_name(role=Role.OFFICE, person=deputy, starts_on=starts, ends_on=ends, by=office)
    Deputy.objects.create(
        role=Role.OFFICE,
        person=deputy,
        starts_on=TODAY - dt.timedelta(days=5),
        ends_on=TODAY - dt.timedelta(days=1),
        named_by=office,
    )
    assert fresh(deputy).global_roles == frozenset()
    assert RequestUserBackend().get_user(deputy.pk).global_roles == frozenset()


def test_the_lists_and_the_rules_agree_for_a_deputy_office_member():
    office, deputy = UserFactory(office=True), UserFactory()
    cases = [CaseFactory(), CaseFactory(confidential=True)]
    assert not Case.objects.related_to(fresh(deputy)).exists()
    deputy_name(role=Role.OFFICE, person=deputy, starts_on=TODAY, ends_on=TODAY, by=office)
    user = RequestUserBackend().get_user(deputy.pk)
    listed = set(Case.objects.related_to(user))
    assert listed == set(cases)
    assert all(is_related(user, case) for case in cases)


def test_only_the_office_names_deputies_and_the_period_must_make_sense():
    office, deputy = UserFactory(office=True), UserFactory()
    with pytest.raises(NotPermitted):
        deputy_name(role=Role.OFFICE, person=deputy, starts_on=TODAY, ends_on=TODAY, by=deputy)
    with pytest.raises(GuardFailed):
        deputy_name(
            role=Role.OFFICE,
            person=deputy,
            starts_on=TODAY,
            ends_on=TODAY - dt.timedelta(days=1),
            by=office,
        )
    with pytest.raises(GuardFailed):
        deputy_name(role=Role.MENTOR, person=deputy, starts_on=TODAY, ends_on=TODAY, by=office)


def test_the_office_names_a_deputy_on_its_page(client):
    office = UserFactory(office=True)
    deputy = UserFactory(first_name="Vera", last_name="Vervanger")
    client.force_login(office)
    url = reverse("office:deputies")
    page = client.get(url + "?q=vervanger")
    assert list(page.context["form"].fields["person"].queryset) == [deputy]
    response = client.post(
        url,
        {
            "role": "isop_owner",
            "person": deputy.pk,
            "starts_on": TODAY.isoformat(),
            "ends_on": (TODAY + dt.timedelta(days=14)).isoformat(),
        },
    )
    assert response.status_code == 302
    row = Deputy.objects.get()
    assert (row.person, row.role, row.named_by) == (deputy, "isop_owner", office)
    assert "Vera Vervanger" in client.get(url).content.decode()
    client.force_login(deputy)
    assert client.get(reverse("office:isop_queue")).status_code == 200


def test_others_get_403_on_the_deputies_page(client):
    client.force_login(UserFactory())
    assert client.get(reverse("office:deputies")).status_code == 403


def test_the_request_user_query_made_once_a_day_follows_the_day():
    """The backend compiles the request user's query once per day (#17): a deputyship that
    starts tomorrow holds from tomorrow's first request on, and one that ended yesterday
    stops, within the same process."""
    import time_machine

    office, deputy = UserFactory(office=True), UserFactory()
    tomorrow = TODAY + dt.timedelta(days=1)
    deputy_name(role=Role.OFFICE, person=deputy, starts_on=tomorrow, ends_on=tomorrow, by=office)
    backend = RequestUserBackend()
    assert backend.get_user(deputy.pk).global_roles == frozenset()
    noon = dt.datetime.combine(tomorrow, dt.time(12), tzinfo=timezone.get_current_timezone())
    with time_machine.travel(noon, tick=False):
        assert backend.get_user(deputy.pk).global_roles == {Role.OFFICE}
    with time_machine.travel(noon + dt.timedelta(days=1), tick=False):
        assert backend.get_user(deputy.pk).global_roles == frozenset()
    assert backend.get_user(deputy.pk).global_roles == frozenset()
    assert backend.get_user(-1) is None
