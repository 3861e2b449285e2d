"""Template helpers for the change-path sections of the case page."""

from __future__ import annotations

from django import template

from transfers.selectors import Told, told_of_requests

register = template.Library()


@register.simple_tag
def told_of(change_request) -> list[Told]:
    """Who the change request was made known to, with when they were told (and read it).

    The first call on a case page reads the notifications of all its requests in one query
    and keeps them on the case (the prefetched parent of every request)."""
    case = change_request.case
    cache = getattr(case, "_told_of_requests", None)
    if cache is None:
        cache = told_of_requests(case, list(case.change_requests.all()))
        case._told_of_requests = cache
    return cache.get(change_request.pk, [])
