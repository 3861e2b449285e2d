"""The application's URLs plus one bare view, for `manage.py bench` only (never in
ROOT_URLCONF): the throughput of a view that does nothing, through the same middleware, is
the yardstick of the case page's fixed cost."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from .urls import urlpatterns as application


def bare(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [path("bench/bare/", bare, name="bench_bare"), *application]
