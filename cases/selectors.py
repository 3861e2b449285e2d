"""Reads for the case pages: which cases and placements a user sees, and the case with its
records loaded in a fixed number of queries (the page must not grow with the case's history)."""

from __future__ import annotations

from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404

from .models import PLACEMENT_ROLE_FIELDS, Case, CaseEvent, Placement, Role, User


def cases_for_user(user: User, *, include_closed: bool = False) -> QuerySet[Case]:
    """The cases on "my cases": exactly the ones the user is related to (the office: all)."""
    qs = Case.objects.related_to(user)
    if not include_closed:
        qs = qs.open()
    return qs.select_related(
        "placement__student", "placement__school", "signalled_by"
    ).prefetch_related("categories")


def case_for_user(user: User, pk: int, *, detail: bool = False) -> Case:
    """The case if the user is related to it; 404 otherwise (no hint that it exists)."""
    qs = Case.objects.related_to(user).select_related(
        "placement__student",
        "placement__school__board",
        "placement__mentor",
        "placement__school_trainer",
        "placement__study_coach",
        "placement__coordinating_trainer",
        "signalled_by",
    )
    if detail:
        qs = qs.prefetch_related(*case_detail_prefetches())
    try:
        return qs.get(pk=pk)
    except Case.DoesNotExist as exc:
        raise Http404("No such case.") from exc


def case_detail_prefetches() -> list:
    # Imported here: cases never imports the other apps at module level (see style.md).
    from conversations.models import Conversation, ImprovementAction, Invitation
    from transfers.models import Handover, OutcomeReport, Position, Transfer

    return [
        "categories",
        Prefetch(
            "conversations",
            queryset=Conversation.objects.select_related("planned_by", "recorded_by")
            .prefetch_related(
                Prefetch(
                    "invitations",
                    queryset=Invitation.objects.select_related("person", "briefed_by").order_by(
                        "pk"
                    ),
                )
            )
            .order_by("starts_at", "pk"),
        ),
        Prefetch(
            "actions",
            queryset=ImprovementAction.objects.select_related("owner").order_by("due_date", "pk"),
        ),
        Prefetch("change_requests", queryset=_change_requests()),
        Prefetch(
            "outcome_reports",
            queryset=OutcomeReport.objects.select_related("reported_by").prefetch_related(
                Prefetch("positions", queryset=Position.objects.select_related("person"))
            ),
        ),
        Prefetch("isop_requests", queryset=_isop_requests()),
        Prefetch("wrap_ups", queryset=_wrap_ups()),
        Prefetch(
            "transfers",
            queryset=Transfer.objects.select_related(
                "from_placement__school",
                "to_placement__school",
                "to_placement__mentor",
                "to_placement__school_trainer",
                "to_placement__study_coach",
                "recorded_by",
            ),
        ),
        Prefetch(
            "handovers",
            queryset=Handover.objects.select_related("old_coach", "new_coach").order_by("pk"),
        ),
        "stops",
        Prefetch(
            "events",
            queryset=CaseEvent.objects.select_related("actor", "on_behalf_of").order_by("at", "pk"),
        ),
    ]


def _change_requests():
    from transfers.models import ChangeRequest

    return ChangeRequest.objects.select_related(
        "requested_by", "office_informed_by"
    ).prefetch_related("made_known_to")


def _isop_requests():
    from transfers.models import IsopAdvice

    return IsopAdvice.objects.select_related("given_by")


def _wrap_ups():
    from transfers.models import WrapUp

    return WrapUp.objects.select_related("recorded_by")


def placements_for_signal(user: User) -> QuerySet[Placement]:
    """Placements on which the user may signal a problem.

    The student: their active placements; mentors, trainers and coaches: active placements on
    which they hold a role; the office: every active placement.
    """
    qs = Placement.objects.filter(status=Placement.Status.ACTIVE).select_related(
        "student", "school"
    )
    if user.is_office:
        return qs.order_by("student__last_name", "student__first_name", "-start_date")
    q = Q()
    for field in PLACEMENT_ROLE_FIELDS.values():
        q |= Q(**{field: user})
    return qs.filter(q).order_by("student__last_name", "student__first_name", "-start_date")


def placement_people(placement: Placement) -> list[tuple[str, User]]:
    """(role label, person) for everyone on the placement, in the order of process.md."""
    rows = []
    for role, field in PLACEMENT_ROLE_FIELDS.items():
        person = getattr(placement, field)
        if person is not None:
            rows.append((Role(role).label, person))
    return rows


def active_users() -> QuerySet[User]:
    return User.objects.filter(is_active=True).order_by("last_name", "first_name", "username")
