"""The cases per state that the database keeps (cases.CaseStateCount, triggers of migration
0012): always equal to counting the cases, whichever way they are written, and under
concurrency (PostgreSQL)."""

from __future__ import annotations

import threading

import pytest
from django.db import connections, transaction
from django.db.models import Count

from cases.models import Case, CaseStateCount, State
from cases.services import withdraw
from tests.cases.factories import CaseFactory
from tests.cases.test_concurrency import needs_row_locks


def counted() -> dict[str, int]:
    rows = Case.objects.order_by().values("state").annotate(n=Count("pk"))
    return {row["state"]: row["n"] for row in rows}


def kept() -> dict[str, int]:
    return {row.state: row.count for row in CaseStateCount.objects.all() if row.count}


@pytest.mark.django_db
def test_every_write_keeps_the_counts():
    cases = CaseFactory.create_batch(3)
    CaseFactory(state=State.IMPROVING)
    assert kept() == counted() == {State.SIGNALLED: 3, State.IMPROVING: 1}
    withdraw(case_id=cases[0].pk, by=cases[0].placement.student, reason="Dubbel gemeld.")
    Case.objects.filter(pk=cases[1].pk).update(state=State.IMPROVING)
    Case.objects.filter(pk=cases[2].pk).update(description="no move")
    assert kept() == counted()
    Case.objects.bulk_create(
        [
            Case(
                placement=cases[0].placement,
                state=State.OFFICE_INFORMED,
                description="x",
                signalled_by=cases[0].placement.student,
            )
            for _ in range(5)
        ]
    )
    cases[2].delete()
    assert kept() == counted()
    assert kept()[State.OFFICE_INFORMED] == 5


@pytest.mark.django_db
def test_the_dashboard_reads_the_counts_in_one_query(django_assert_num_queries):
    from office.selectors import state_counts

    CaseFactory.create_batch(2)
    with django_assert_num_queries(1):
        counts = state_counts()
    assert counts[State.SIGNALLED] == 2


@needs_row_locks
@pytest.mark.django_db(transaction=True)
def test_concurrent_moves_in_opposite_directions_keep_the_counts_and_never_deadlock():
    ones = [CaseFactory(state=State.IMPROVING).pk for _ in range(20)]
    others = [CaseFactory(state=State.OFFICE_INFORMED).pk for _ in range(20)]
    barrier = threading.Barrier(2)
    errors: list[Exception] = []

    def move(ids: list[int], to_state: str) -> None:
        try:
            barrier.wait(timeout=10)
            for pk in ids:
                with transaction.atomic():
                    Case.objects.filter(pk=pk).update(state=to_state)
                    # The other state's counter row, touched in the same transaction.
                    Case.objects.filter(pk=pk).update(state=State.SIGNALLED)
                    Case.objects.filter(pk=pk).update(state=to_state)
        except Exception as exc:  # a deadlock would surface here
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=move, args=(ones, State.OFFICE_INFORMED)),
        threading.Thread(target=move, args=(others, State.IMPROVING)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
        assert not thread.is_alive()
    assert errors == []
    assert kept() == counted() == {State.OFFICE_INFORMED: 20, State.IMPROVING: 20}
