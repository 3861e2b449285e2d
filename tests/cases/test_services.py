"""The case services: signalling, permission checks, available steps, the version, the
notifications each step writes and when their delivery is queued."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError
from django.utils import timezone, translation

from cases import services
from cases.models import (
    Case,
    CaseEvent,
    Category,
    GuardFailed,
    NotPermitted,
    Role,
    State,
    User,
)
from notifications.models import Notification
from tests.cases.factories import CaseFactory, PlacementFactory, UserFactory
from tests.conversations.factories import ConversationFactory, ImprovementActionFactory
from tests.journeys import (
    ANY_ALLOWED,
    TRANSITIONS,
    act,
    arrange,
)
from tests.transfers.factories import WrapUpFactory
from transfers import services as transfers

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(monkeypatch):
    """Delivery ids handed to the task queue (the broker is not touched)."""
    calls: list[list[int]] = []
    monkeypatch.setattr("notifications.services.queue_delivery", lambda ids: calls.append(ids))
    return calls


# --------------------------------------------------------------------------------------------
# Signalling
# --------------------------------------------------------------------------------------------


class TestSignal:
    @pytest.mark.parametrize(
        "role", ["student", "mentor", "school_trainer", "study_coach", "coordinating_trainer"]
    )
    def test_it_is_open_to_everyone_on_the_placement(self, crew, role):
        case = services.case_signal(
            placement=crew.placement,
            by=crew.get(role),
            categories=[Category.MENTOR_RELATIONSHIP],
            description="Het klikt niet.",
        )
        assert case.state == State.SIGNALLED
        assert case.signalled_by == crew.get(role)
        assert case.version == 1

    def test_the_office_may_signal(self, crew):
        case = services.case_signal(
            placement=crew.placement, by=crew.office, categories=["other"], description="x"
        )
        assert case.signalled_by == crew.office

    @pytest.mark.parametrize("role", ["isop_owner", "unrelated"])
    def test_it_is_refused_to_others(self, crew, role):
        with translation.override("en"), pytest.raises(NotPermitted) as refused:
            services.case_signal(
                placement=crew.placement, by=crew.get(role), categories=["other"], description="x"
            )
        assert "placement you are part of" in str(refused.value.message)
        assert not Case.objects.exists()

    def test_it_needs_a_category(self, crew):
        with translation.override("en"), pytest.raises(GuardFailed) as refused:
            services.case_signal(
                placement=crew.placement, by=crew.student, categories=[], description="x"
            )
        assert str(refused.value.message) == "Choose at least one category."

    def test_it_needs_a_description(self, crew):
        with pytest.raises(GuardFailed):
            services.case_signal(
                placement=crew.placement, by=crew.student, categories=["other"], description=" "
            )
        assert not Case.objects.exists()

    def test_categories_are_kept_once_each(self, crew):
        case = services.case_signal(
            placement=crew.placement,
            by=crew.student,
            categories=["wellbeing", "classroom", "wellbeing"],
            description="x",
        )
        assert sorted(case.categories.values_list("category", flat=True)) == [
            "classroom",
            "wellbeing",
        ]

    def test_it_starts_the_timeline(self, crew):
        case = services.case_signal(
            placement=crew.placement, by=crew.mentor, categories=["other"], description="x"
        )
        (event,) = case.events.all()
        assert (event.name, event.actor, event.from_state, event.to_state) == (
            "signal",
            crew.mentor,
            "",
            State.SIGNALLED,
        )

    def test_it_notifies_the_others_on_the_placement_after_commit(
        self, crew, queued, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks() as callbacks:
            case = services.case_signal(
                placement=crew.placement, by=crew.mentor, categories=["other"], description="x"
            )
            assert queued == []
        recipients = set(case.notifications.values_list("recipient", flat=True))
        assert recipients == {crew.student.pk, crew.school_trainer.pk, crew.study_coach.pk}
        for callback in callbacks:
            callback()
        assert sorted(queued[0]) == sorted(case.notifications.values_list("pk", flat=True))


# --------------------------------------------------------------------------------------------
# Locking and versions
# --------------------------------------------------------------------------------------------


class TestLockAndVersion:
    def test_lock_case_returns_the_case(self):
        case = CaseFactory()
        assert services.lock_case(case.pk, seen_version=1) == case

    def test_lock_case_refuses_a_stale_version(self):
        case = CaseFactory()
        with translation.override("en"), pytest.raises(services.CaseChangedMeanwhile) as changed:
            services.lock_case(case.pk, seen_version=0)
        assert "Someone else changed this case" in str(changed.value.message)

    @pytest.mark.parametrize("name", TRANSITIONS)
    def test_every_transition_bumps_the_version_and_stamps_the_time(self, crew, name):
        case = arrange(name, crew)
        before = Case.objects.get(pk=case.pk)
        act(name, case, crew.get(ANY_ALLOWED[name]))
        after = Case.objects.get(pk=case.pk)
        assert after.version == before.version + 1
        assert after.state_changed_at > before.state_changed_at
        assert (after.closed_at is not None) == (not after.is_open)

    @pytest.mark.parametrize("name", TRANSITIONS)
    def test_a_stale_seen_version_refuses_every_transition(self, crew, name):
        case = arrange(name, crew)
        with pytest.raises(services.CaseChangedMeanwhile):
            act(name, case, crew.get(ANY_ALLOWED[name]), seen_version=case.version + 1)
        assert Case.objects.get(pk=case.pk).state == case.state

    def test_records_do_not_change_the_version(self, crew):
        case = arrange("resolve", crew)
        services.case_log(case, by=crew.mentor, name="action_added", note="x")
        assert Case.objects.get(pk=case.pk).version == 1


# --------------------------------------------------------------------------------------------
# Permission checks and the steps a user sees
# --------------------------------------------------------------------------------------------


class TestAvailableSteps:
    def test_the_school_trainer_in_signalled(self, crew):
        case = CaseFactory(placement=crew.placement)
        steps = {s.name: s for s in services.available_steps(case, crew.school_trainer)}
        assert set(steps) == {"plan_conversation", "withdraw"}
        # Planning is what the form does: not blocked before it is taken.
        assert steps["plan_conversation"].blocked_reason is None
        assert steps["plan_conversation"].url_name == "conversations:plan"

    def test_the_student_who_did_not_signal_may_only_stop_at_once_in_signalled(self, crew):
        case = CaseFactory(placement=crew.placement, signalled_by=crew.mentor)
        assert [s.name for s in services.available_steps(case, crew.student)] == ["stop_now"]

    def test_an_unrelated_user_sees_nothing(self, crew):
        case = CaseFactory(placement=crew.placement, improving=True)
        assert services.available_steps(case, crew.unrelated) == []

    def test_resolve_is_blocked_until_every_action_is_evaluated(self, crew):
        case = CaseFactory(placement=crew.placement, improving=True)
        action = ImprovementActionFactory(case=case)
        with translation.override("en"):
            steps = {s.name: s for s in services.available_steps(case, crew.study_coach)}
        # The coach did not signal the case: withdrawing is the school trainer's or the office's.
        assert set(steps) == {"resolve", "request_change"}
        assert steps["resolve"].blocked_reason == (
            "Evaluate every improvement action before closing the case as resolved."
        )
        assert steps["request_change"].blocked_reason is None
        action.evaluation = "helped"
        action.save()
        steps = {s.name: s for s in services.available_steps(case, crew.study_coach)}
        assert steps["resolve"].blocked_reason is None

    def test_placing_is_blocked_until_the_wrap_up(self, crew):
        case = CaseFactory(placement=crew.placement, transfer_requested=True)
        steps = {s.name: s for s in services.available_steps(case, crew.office)}
        assert set(steps) == {
            "place_student",
            "stop_internship",
            "withdraw",
            "abandon_change",
            "stop_now",
        }
        assert steps["place_student"].blocked_reason
        assert steps["stop_internship"].blocked_reason
        wrap_up = WrapUpFactory(case=case)
        steps = {s.name: s for s in services.available_steps(case, crew.office)}
        assert steps["place_student"].blocked_reason, "recorded but not yet agreed by the student"
        wrap_up.confirmed_at = timezone.now()
        wrap_up.save()
        case = Case.objects.get(pk=case.pk)
        steps = {s.name: s for s in services.available_steps(case, crew.office)}
        assert steps["place_student"].blocked_reason is None
        assert steps["stop_internship"].blocked_reason is None

    @pytest.mark.parametrize("name", TRANSITIONS)
    def test_a_prepared_step_is_offered_unblocked_to_who_may_take_it(self, crew, name):
        case = arrange(name, crew)
        steps = {s.name: s for s in services.available_steps(case, crew.get(ANY_ALLOWED[name]))}
        assert steps[name].blocked_reason is None
        assert str(steps[name].label)

    @pytest.mark.parametrize("state", [s for s in State if not Case(state=s).is_open])
    def test_closed_cases_offer_only_reopening_to_the_office(self, crew, state):
        case = CaseFactory(placement=crew.placement, state=state)
        assert [s.name for s in services.available_steps(case, crew.office)] == ["reopen"]
        for role in ("student", "mentor", "school_trainer", "study_coach"):
            assert services.available_steps(case, crew.get(role)) == []

    def test_check_permitted_names_the_state(self, crew):
        case = CaseFactory(placement=crew.placement, closed_resolved=True)
        with translation.override("en"), pytest.raises(GuardFailed) as refused:
            services.check_permitted(case, "withdraw", crew.office)
        assert str(refused.value.message) == (
            "“Withdraw the case” is not possible while the case is “closed: resolved”."
        )


# --------------------------------------------------------------------------------------------
# Side effects: written in the transaction, delivered after commit, gone with a rollback
# --------------------------------------------------------------------------------------------

EXPECTED_RECIPIENTS = {
    "plan_conversation": {"student", "mentor", "study_coach"},
    "record_conversation": {"student", "mentor", "study_coach"},
    "resolve": {"student", "mentor", "study_coach"},
    "request_change": {"mentor", "school_trainer", "study_coach"},
    "inform_office": {"office"},
    "plan_change_conversation": {"student", "school_trainer", "coordinating_trainer"},
    "record_change_conversation": {"office", "student", "study_coach"},
    "accept_change_conversation": {"student", "school_trainer", "study_coach"},
    "report_outcome": {"office", "student", "study_coach"},
    "give_advice": {"office", "student", "school_trainer", "study_coach"},
    "decide": {"student", "school_trainer", "study_coach", "isop_owner"},
    "place_student": {"student", "school_trainer", "study_coach"},
    "stop_internship": {"student", "mentor", "school_trainer", "study_coach"},
    "stop_now": {"office", "student", "mentor", "school_trainer", "study_coach"},
    "make_definitive": {"student", "mentor", "school_trainer", "study_coach"},
    "confirm_handover": {"office", "student", "study_coach"},
    "resume": {"student", "school_trainer", "study_coach"},
    "withdraw": {"office", "student", "mentor", "school_trainer", "study_coach"},
    "abandon_change": {"office", "student", "mentor", "school_trainer", "study_coach"},
    "reopen": {"student", "mentor", "school_trainer", "study_coach"},
}


@pytest.mark.parametrize("name", TRANSITIONS)
def test_each_step_notifies_its_people_but_not_the_actor(crew, queued, name):
    case = arrange(name, crew)
    actor = crew.get(ANY_ALLOWED[name])
    act(name, case, actor)
    case.refresh_from_db()
    got = set(
        Notification.objects.filter(case=case, event=name).values_list("recipient", flat=True)
    )
    # Placement roles are read from the case after the step (after place_student only the
    # student and the new coach are on it), global roles from their groups.
    expected = set()
    for role in EXPECTED_RECIPIENTS[name]:
        if role in ("office", "isop_owner"):
            expected |= set(User.objects.filter(groups__name=role).values_list("pk", flat=True))
        elif case.person(role) is not None:
            expected.add(case.person(role).pk)
    expected.discard(actor.pk)
    assert got == expected
    assert Notification.objects.filter(case=case, event=name, actor=actor).count() == len(got)


@pytest.mark.parametrize("name", TRANSITIONS)
def test_no_delivery_is_queued_before_commit(
    crew, queued, django_capture_on_commit_callbacks, name
):
    case = arrange(name, crew)
    with django_capture_on_commit_callbacks() as callbacks:
        act(name, case, crew.get(ANY_ALLOWED[name]))
        assert queued == []
        pending = set(
            Notification.objects.filter(case=case, status="pending").values_list("pk", flat=True)
        )
        assert pending
    assert queued == []
    for callback in callbacks:
        callback()
    assert set().union(*map(set, queued)) == pending


def test_the_queue_hands_each_id_to_the_task(crew, monkeypatch, django_capture_on_commit_callbacks):
    sent = []
    monkeypatch.setattr(
        "notifications.tasks.deliver_notification.delay", lambda pk: sent.append(pk)
    )
    case = arrange("withdraw", crew)
    with django_capture_on_commit_callbacks(execute=True):
        act("withdraw", case, crew.office)
    assert sorted(sent) == sorted(case.notifications.values_list("pk", flat=True))


REFUSED = [
    # (arranged for, taken, by): a wrong state, a failing guard, a refused role, bad input
    ("request_change", "resolve", "school_trainer"),
    ("stop_internship", "place_student", "school_trainer"),
    ("confirm_handover", "confirm_handover", "study_coach"),
    ("record_conversation", "record_change_conversation", "school_trainer"),
]


@pytest.mark.parametrize(("arranged", "name", "role"), REFUSED)
def test_a_refused_step_leaves_nothing_behind(
    crew, queued, django_capture_on_commit_callbacks, arranged, name, role
):
    case = arrange(arranged, crew)
    notifications, events = Notification.objects.count(), CaseEvent.objects.count()
    with (
        django_capture_on_commit_callbacks() as callbacks,
        pytest.raises((GuardFailed, NotPermitted)),
    ):
        act(name, case, crew.get(role))
    assert callbacks == []
    assert Notification.objects.count() == notifications
    assert CaseEvent.objects.count() == events
    assert Case.objects.get(pk=case.pk).version == case.version


def test_a_guard_failing_after_records_were_written_rolls_them_back(
    crew, queued, django_capture_on_commit_callbacks
):
    case = CaseFactory(placement=crew.placement, transfer_requested=True)  # no wrap-up
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(GuardFailed):
        act("stop_internship", case, crew.office)
    assert callbacks == []
    assert not case.stops.exists()
    assert not Notification.objects.exists()
    assert not case.events.exists()


def test_a_failure_after_the_transition_rolls_back_event_and_notifications(
    crew, queued, monkeypatch, django_capture_on_commit_callbacks
):
    case = arrange("place_student", crew)

    def broken(**kwargs):
        raise IntegrityError("disk full")

    monkeypatch.setattr("transfers.services.Handover.objects.create", broken)
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(IntegrityError):
        act("place_student", case, crew.office)  # the coach changes: a handover is due
    assert callbacks == []
    case.refresh_from_db()
    assert case.state == State.TRANSFER_REQUESTED
    assert case.placement == crew.placement
    assert crew.placement.status == "active"
    assert not case.events.filter(kind=CaseEvent.Kind.TRANSITION).exists()
    assert not Notification.objects.exists()
    assert not case.transfers.exists()


def test_an_outcome_with_a_refused_position_writes_nothing(crew, queued):
    case = arrange("report_outcome", crew)
    conversation = case.conversations.get()
    positions = {i.person_id: "agree" for i in conversation.invitations.all()}
    positions[crew.student.pk] = "disagree"
    with pytest.raises(GuardFailed):
        transfers.report_outcome(
            case_id=case.pk, by=crew.school_trainer, outcome="agree_transfer", positions=positions
        )
    assert not case.outcome_reports.exists()
    assert not Notification.objects.exists()


def test_a_case_signalled_on_another_placement_is_not_visible_in_steps():
    other = PlacementFactory()
    case = CaseFactory(placement=other, improving=True)
    assert services.available_steps(case, UserFactory()) == []


def test_run_transition_is_refused_without_the_service_checks(crew):
    case = CaseFactory(placement=crew.placement, improving=True)
    with pytest.raises(NotPermitted):
        services.run_transition(case, "resolve", by=crew.student)
    with pytest.raises(GuardFailed):
        services.run_transition(case, "resolve", by=crew.school_trainer)
    ConversationFactory(case=case, held=True)
    ImprovementActionFactory(case=case, evaluated=True)
    services.run_transition(case, "resolve", by=crew.school_trainer)
    assert case.state == State.CLOSED_RESOLVED
    assert case.closed_at is not None
    assert case.version == 2


def test_roles_are_labelled_for_the_refusal_message():
    with translation.override("en"):
        assert set(services.ROLE_LABELS) >= {r.value for r in Role} | {
            "signaller",
            "old_study_coach",
        }
        assert services._join_roles(["mentor"]) == "mentor"
        assert services._join_roles(["mentor", "office", "student"]) == (
            "mentor, internship office or student"
        )


def test_the_wrap_up_date_is_kept(crew):
    case = CaseFactory(placement=crew.placement, transfer_requested=True)
    last_day = timezone.localdate() + dt.timedelta(days=3)
    transfers.wrap_up_record(case_id=case.pk, by=crew.student, last_day=last_day, agreement="x")
    assert case.wrap_ups.get().last_day == last_day
    assert case.events.get().name == "wrap_up_recorded"
