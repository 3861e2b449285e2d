"""The cases closed per day and state that the database keeps (cases.CaseClosureCount,
triggers of migration 0015): always equal to counting the cases, whichever way they are
written, and under concurrency (PostgreSQL); the dashboard's "closed since" from them is
exact to the second."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone

from cases.models import CLOSED_STATES, Case, CaseClosureCount, State
from cases.services import withdraw
from office.selectors import OUTCOME_STATES, state_counts
from tests.cases.factories import CaseFactory
from tests.cases.test_concurrency import needs_row_locks, race

UTC = dt.UTC


def counted() -> dict[tuple[dt.date, str], int]:
    rows = (
        Case.objects.filter(closed_at__isnull=False)
        .annotate(day=TruncDate("closed_at", tzinfo=UTC))
        .order_by()
        .values("day", "state")
        .annotate(n=Count("pk"))
    )
    return {(row["day"], row["state"]): row["n"] for row in rows}


def kept() -> dict[tuple[dt.date, str], int]:
    return {(row.day, row.state): row.count for row in CaseClosureCount.objects.all() if row.count}


def at(day: int, hour: int = 12) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, tzinfo=UTC)


@pytest.mark.django_db
def test_every_write_keeps_the_closure_counts():
    cases = CaseFactory.create_batch(4)
    assert kept() == counted() == {}
    withdraw(case_id=cases[0].pk, by=cases[0].placement.student, reason="Dubbel gemeld.")
    today = timezone.now().astimezone(UTC).date()
    assert kept() == counted() == {(today, State.CLOSED_WITHDRAWN): 1}
    # Another day, another outcome, back to open, a write that moves nothing.
    Case.objects.filter(pk=cases[0].pk).update(closed_at=at(3, 23))
    Case.objects.filter(pk=cases[1].pk).update(state=State.CLOSED_STOPPED, closed_at=at(3, 1))
    Case.objects.filter(pk=cases[2].pk).update(state=State.CLOSED_RESOLVED, closed_at=at(4, 0))
    assert (
        kept()
        == counted()
        == {
            (dt.date(2026, 11, 3), State.CLOSED_WITHDRAWN): 1,
            (dt.date(2026, 11, 3), State.CLOSED_STOPPED): 1,
            (dt.date(2026, 11, 4), State.CLOSED_RESOLVED): 1,
        }
    )
    Case.objects.filter(pk=cases[1].pk).update(state=State.CLOSED_TRANSFERRED)
    Case.objects.filter(pk=cases[2].pk).update(state=State.IMPROVING, closed_at=None)
    Case.objects.filter(pk=cases[0].pk).update(description="no move", closed_at=at(3, 5))
    assert (
        kept()
        == counted()
        == {
            (dt.date(2026, 11, 3), State.CLOSED_WITHDRAWN): 1,
            (dt.date(2026, 11, 3), State.CLOSED_TRANSFERRED): 1,
        }
    )
    Case.objects.bulk_create(
        [
            Case(
                placement=cases[3].placement,
                state=State.CLOSED_RESOLVED,
                closed_at=at(5, hour),
                description="x",
                signalled_by=cases[3].placement.student,
            )
            for hour in (0, 6, 23)
        ]
    )
    cases[1].delete()
    assert kept() == counted()
    assert kept()[(dt.date(2026, 11, 5), State.CLOSED_RESOLVED)] == 3
    assert (dt.date(2026, 11, 3), State.CLOSED_TRANSFERRED) not in kept()


@pytest.mark.django_db
def test_closed_since_is_exact_to_the_second_and_one_query(django_assert_num_queries):
    """Cases closed every 5 hours over 40 days in rotating outcomes; for windows starting at
    every 7 hours, on a midnight, a second before and after a closure, the dashboard's counts
    are the cases' own."""
    placement = CaseFactory().placement
    start = dt.datetime(2026, 10, 20, 0, 0, tzinfo=UTC)
    times = [start + dt.timedelta(hours=5 * i) for i in range(40 * 24 // 5)]
    Case.objects.bulk_create(
        [
            Case(
                placement=placement,
                state=OUTCOME_STATES[i % len(OUTCOME_STATES)],
                closed_at=t,
                description="x",
                signalled_by=placement.student,
            )
            for i, t in enumerate(times)
        ]
    )
    probes = [start + dt.timedelta(hours=7 * i) for i in range(40 * 24 // 7)]
    probes += [times[50], times[50] - dt.timedelta(seconds=1), times[50] + dt.timedelta(seconds=1)]
    probes += [dt.datetime(2026, 11, 9, 0, 0, tzinfo=UTC), start - dt.timedelta(days=3)]
    # A window given in Amsterdam time starts on another UTC day than its local one.
    probes += [dt.datetime(2026, 11, 9, 0, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))]
    for since in probes:
        expected = {
            state: Case.objects.filter(state=state, closed_at__gte=since).count()
            for state in OUTCOME_STATES
        }
        with django_assert_num_queries(1):
            counts = state_counts(closed_since=since)
        assert {s: counts[s] for s in OUTCOME_STATES} == expected, since
    assert set(OUTCOME_STATES) <= set(CLOSED_STATES)


@needs_row_locks
@pytest.mark.django_db(transaction=True)
def test_concurrent_closures_moving_in_opposite_directions_never_deadlock():
    ones = [CaseFactory(state=State.CLOSED_RESOLVED, closed_at=at(1)).pk for _ in range(50)]
    others = [CaseFactory(state=State.CLOSED_STOPPED, closed_at=at(2)).pk for _ in range(50)]

    def move(ids: list[int], state: str, when: dt.datetime) -> None:
        for pk in ids:
            with transaction.atomic():
                Case.objects.filter(pk=pk).update(state=state, closed_at=when)

    results = race(  # a deadlock would be one of them refused
        lambda: move(ones, State.CLOSED_STOPPED, at(2)),
        lambda: move(others, State.CLOSED_RESOLVED, at(1)),
    )
    assert results == [("ok", None), ("ok", None)]
    assert (
        kept()
        == counted()
        == {
            (dt.date(2026, 11, 1), State.CLOSED_RESOLVED): 50,
            (dt.date(2026, 11, 2), State.CLOSED_STOPPED): 50,
        }
    )
