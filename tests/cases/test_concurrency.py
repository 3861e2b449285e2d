"""Two people act on one case at the same moment: exactly one wins, the other is told to reload.

The threaded tests use two real database connections (one per thread) on committed data. On
PostgreSQL the service's row lock (select_for_update) makes the loser wait and then see the
new version; the deterministic tests at the bottom show the optimistic backstops
(seen_version and django-fsm's ConcurrentTransitionMixin) that also hold without a row lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections, transaction
from django_fsm import ConcurrentTransition

from cases.models import Case, CaseEvent, GuardFailed, State
from cases.services import CaseChangedMeanwhile, resolve, withdraw
from tests.cases.factories import CaseFactory, UserFactory
from tests.conversations.factories import ImprovementActionFactory

LOSING = (CaseChangedMeanwhile, GuardFailed, ConcurrentTransition)

needs_row_locks = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="two writing connections on SQLite's shared in-memory test database fail with "
    "'table is locked' instead of waiting; CI runs this on PostgreSQL",
)


def race(*calls: Callable[[], Any], hold_first_until_second_waits: bool = False) -> list:
    """Run the calls in threads, each on its own connection, released at the same moment.

    With hold_first_until_second_waits the first call pauses after taking the row lock until
    the database shows the second connection waiting for that lock: a real collision every time.
    """
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)
    holding, release = threading.Event(), threading.Event()

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=10)
            if index == 0 and hold_first_until_second_waits:
                with transaction.atomic():
                    results[index] = ("ok", call())
                    holding.set()
                    release.wait(timeout=10)
            else:
                if hold_first_until_second_waits:
                    holding.wait(timeout=10)
                results[index] = ("ok", call())
        except Exception as exc:  # the loser's refusal is the point of the test
            results[index] = ("refused", exc)
        finally:
            holding.set()
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    if hold_first_until_second_waits:
        holding.wait(timeout=10)
        _wait_until_a_backend_waits_for_a_lock()
        release.set()
    for thread in threads:
        thread.join(timeout=30)
        assert not thread.is_alive(), "a transition hung"
    return results


def _wait_until_a_backend_waits_for_a_lock() -> None:
    with connections["default"].cursor() as cursor:
        for _attempt in range(2000):
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
            if cursor.fetchone()[0]:
                return
            threading.Event().wait(0.005)
    raise AssertionError("the second transition never waited for the row lock")


def _assert_one_winner(results: list, case: Case, winner_states: set[str]) -> Exception:
    outcomes = sorted(kind for kind, _value in results)
    assert outcomes == ["ok", "refused"], results
    refusal = next(value for kind, value in results if kind == "refused")
    assert isinstance(refusal, LOSING), repr(refusal)
    assert str(refusal.message if hasattr(refusal, "message") else refusal)
    case.refresh_from_db()
    assert case.state in winner_states
    assert case.version == 2
    transitions = CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.TRANSITION)
    assert transitions.exclude(name="signal").count() == 1
    return refusal


@pytest.fixture
def improving_case():
    case = CaseFactory(improving=True)
    ImprovementActionFactory(case=case, evaluated=True)
    return case


@needs_row_locks
@pytest.mark.django_db(transaction=True)
class TestTwoConnections:
    def test_resolve_against_withdraw(self, improving_case):
        case = improving_case
        # Withdrawing is the school trainer's or the office's (the signaller's only early on).
        trainer, office = case.placement.school_trainer, UserFactory(office=True)
        results = race(
            lambda: resolve(case_id=case.pk, by=trainer, note="Opgelost."),
            lambda: withdraw(case_id=case.pk, by=office, reason="Niet meer nodig."),
        )
        _assert_one_winner(results, case, {State.CLOSED_RESOLVED, State.CLOSED_WITHDRAWN})

    def test_two_withdraws_with_the_same_seen_version(self, improving_case):
        case = improving_case
        seen = case.version
        office = UserFactory(office=True)
        results = race(
            lambda: withdraw(case_id=case.pk, by=office, reason="a", seen_version=seen),
            lambda: withdraw(
                case_id=case.pk, by=case.placement.school_trainer, reason="b", seen_version=seen
            ),
        )
        refusal = _assert_one_winner(results, case, {State.CLOSED_WITHDRAWN})
        assert isinstance(refusal, CaseChangedMeanwhile)

    def test_the_loser_waits_for_the_lock_then_sees_the_new_version(self, improving_case):
        case = improving_case
        seen = case.version
        trainer, office = case.placement.school_trainer, UserFactory(office=True)
        results = race(
            lambda: resolve(case_id=case.pk, by=trainer, seen_version=seen),
            lambda: withdraw(case_id=case.pk, by=office, reason="x", seen_version=seen),
            hold_first_until_second_waits=True,
        )
        assert results[0][0] == "ok"
        assert results[1][0] == "refused"
        assert isinstance(results[1][1], CaseChangedMeanwhile)
        _assert_one_winner(results, case, {State.CLOSED_RESOLVED})

    def test_the_loser_without_a_seen_version_meets_the_new_state(self, improving_case):
        case = improving_case
        trainer, office = case.placement.school_trainer, UserFactory(office=True)
        results = race(
            lambda: resolve(case_id=case.pk, by=trainer),
            lambda: withdraw(case_id=case.pk, by=office, reason="x"),
            hold_first_until_second_waits=True,
        )
        assert isinstance(results[1][1], GuardFailed)
        _assert_one_winner(results, case, {State.CLOSED_RESOLVED})


# Deterministic interleavings: the optimistic checks, on every database.


@pytest.mark.django_db
class TestOptimisticBackstops:
    def test_a_stale_seen_version_is_refused(self, improving_case):
        case = improving_case
        seen = case.version
        resolve(case_id=case.pk, by=case.placement.school_trainer, seen_version=seen)
        with pytest.raises(CaseChangedMeanwhile) as refused:
            withdraw(case_id=case.pk, by=UserFactory(office=True), reason="x", seen_version=seen)
        assert refused.value.message
        case.refresh_from_db()
        assert case.state == State.CLOSED_RESOLVED
        assert case.events.filter(name="withdraw").count() == 0

    def test_saving_a_transition_on_a_stale_copy_raises(self, improving_case):
        # Two requests loaded the case; both change it in memory; only the first save lands.
        first = Case.objects.get(pk=improving_case.pk)
        second = Case.objects.get(pk=improving_case.pk)
        user = improving_case.placement.school_trainer
        with transaction.atomic():
            first.resolve(by=user)
            first.save()
        with pytest.raises(ConcurrentTransition), transaction.atomic():
            second.withdraw(by=user, note="x")
            second.save()
        assert Case.objects.get(pk=improving_case.pk).state == State.CLOSED_RESOLVED
        assert improving_case.events.filter(name="withdraw").count() == 0
