"""Reads of the change path: who was told of a change request and when (one query per case).
The office's worklist and the ISOP owner's queue are in office.selectors."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cases.models import Case
from notifications.models import Notification

from .models import ChangeRequest

# --------------------------------------------------------------------------------------------
# Who was told of a change request, and when
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Told:
    person: object
    at: dt.datetime | None  # when the notification was written (the request's step)
    sent_at: dt.datetime | None  # when the e-mail went out
    read_at: dt.datetime | None  # when it was read in the inbox


def told_of_requests(case: Case, requests: list[ChangeRequest]) -> dict[int, list[Told]]:
    """For each change request: everyone it was made known to, with their notification.

    One query for the whole case. A request's notifications are the `request_change` ones
    written from its creation until the next request (a case may go round more than once).
    """
    if not requests:
        return {}
    notifications = list(
        Notification.objects.filter(case=case, event="request_change")
        .only("recipient_id", "created_at", "sent_at", "read_at")
        .order_by("created_at", "pk")
    )
    ordered = sorted(requests, key=lambda r: (r.created_at, r.pk))
    result: dict[int, list[Told]] = {}
    for index, request in enumerate(ordered):
        until = ordered[index + 1].created_at if index + 1 < len(ordered) else None
        by_person: dict[int, Notification] = {}
        for n in notifications:
            if n.created_at >= request.created_at and (until is None or n.created_at < until):
                by_person.setdefault(n.recipient_id, n)
        rows = []
        for person in request.made_known_to.all():
            n = by_person.get(person.pk)
            rows.append(
                Told(
                    person=person,
                    at=n.created_at if n else None,
                    sent_at=n.sent_at if n else None,
                    read_at=n.read_at if n else None,
                )
            )
        result[request.pk] = rows
    return result
