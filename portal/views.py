"""The person's home page and the case page: the pages that join the records of every app."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from . import selectors


@login_required
@require_http_methods(["GET"])
def home(request: HttpRequest) -> HttpResponse:
    """What is expected of this person now, across their open cases: notes to write, summaries
    to confirm, conversations coming up, their own open actions, the steps they can take and
    the briefings they should record. A fixed number of queries, whatever the caseload."""
    return render(
        request,
        "portal/home.html",
        {
            "home": selectors.home_for(request.user),
            "case_limit": selectors.HOME_CASE_LIMIT,
            "title": _("Home"),
        },
    )


@login_required
@require_http_methods(["GET"])
def case(request: HttpRequest, pk: int) -> HttpResponse:
    """The case page: 404 unless the user is related to the case."""
    page = selectors.case_page(request.user, pk)
    return render(request, "portal/case.html", {"page": page, "case": page.case})
