"""Reads of the change path: who was told of a change request and when (one query per case).
The office's worklist and the ISOP owner's queue are in office.selectors."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import DateTimeField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce

from cases.models import STOP_KINDS, Case, User, step_event_name
from notifications.models import Notification

from .models import ChangeRequest

# --------------------------------------------------------------------------------------------
# Who was told of a change request, and when
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Told:
    person: User
    at: dt.datetime | None  # when the notification was written (the request's step)
    sent_at: dt.datetime | None  # when the e-mail went out
    read_at: dt.datetime | None  # when it was read in the inbox


# A request's notifications: a stop request is told as a stop request (its own event name).
REQUEST_EVENTS = tuple(
    dict.fromkeys(step_event_name("request_change", kind) for kind in ("", *STOP_KINDS))
)
# Later than any notification: the end of the last request's window.
_FAR = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)


def told_of_requests(*cases: Case) -> dict[int, list[Told]]:
    """For each change request of the cases: everyone it was made known to, with their
    notification (None where there is none), by request pk; a request made known to nobody is
    absent.

    ONE query, whatever the number of requests and people. A request's notifications are the
    `request_change` ones written from its creation until the next request of its case (a case
    may go round more than once); each person's first one counts.
    """
    through = ChangeRequest.made_known_to.through
    later = ChangeRequest.objects.filter(case_id=OuterRef("changerequest__case_id")).filter(
        Q(created_at__gt=OuterRef("changerequest__created_at"))
        | Q(created_at=OuterRef("changerequest__created_at"), pk__gt=OuterRef("changerequest_id"))
    )
    told = Notification.objects.filter(
        case_id=OuterRef("changerequest__case_id"),
        event__in=REQUEST_EVENTS,
        recipient_id=OuterRef("user_id"),
        created_at__gte=OuterRef("changerequest__created_at"),
        created_at__lt=OuterRef("window_end"),
    ).order_by("created_at", "pk")
    user_order = [f"user__{f}" for f in User._meta.ordering]
    rows = (
        through.objects.filter(changerequest__case__in=[case.pk for case in cases])
        .select_related("user")
        .annotate(
            window_end=Coalesce(
                Subquery(later.order_by("created_at", "pk").values("created_at")[:1]),
                Value(_FAR, output_field=DateTimeField()),
            ),
        )
        .annotate(
            told_at=Subquery(told.values("created_at")[:1]),
            told_sent_at=Subquery(told.values("sent_at")[:1]),
            told_read_at=Subquery(told.values("read_at")[:1]),
        )
        .order_by("changerequest_id", *user_order, "user__pk")
    )
    result: dict[int, list[Told]] = {}
    for row in rows:
        result.setdefault(row.changerequest_id, []).append(
            Told(
                person=row.user,
                at=row.told_at,
                sent_at=row.told_sent_at,
                read_at=row.told_read_at,
            )
        )
    return result
