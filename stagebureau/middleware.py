"""Dutch first: the interface language is the one the user chose, never the browser's guess.

Order: the language switcher's cookie, then the signed-in user's profile language, then Dutch.
The Accept-Language header is ignored on purpose: the users are Dutch, and an English browser
on a school's shared computer should not turn the application English.
"""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import resolve_url
from django.utils import translation
from django.utils.cache import add_never_cache_headers, patch_cache_control, patch_vary_headers
from django.utils.translation import ngettext


class DutchFirstLocaleMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response
        self.supported = {code for code, _name in settings.LANGUAGES}

    def __call__(self, request):
        language = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if language not in self.supported:
            user = getattr(request, "user", None)
            language = getattr(user, "language", None) if user and user.is_authenticated else None
        if language not in self.supported:
            language = settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        patch_vary_headers(response, ("Cookie",))
        response.headers.setdefault("Content-Language", language)
        return response


class SessionExpiryMiddleware:
    """Sign out after SESSION_IDLE_SECONDS without a request and SESSION_MAX_SECONDS after
    signing in; back to the login page with a message saying why.

    The moment of signing in is stored in the session when the user signs in (stagebureau.signin);
    the last request is stored at most once a minute, so an ordinary request writes nothing.
    Sessions from before this middleware start their clock at their next request.
    """

    WRITE_EVERY = 60

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        from .signin import LAST_SEEN, SIGNED_IN_AT

        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            session = request.session
            now = time.time()
            signed_in_at = session.get(SIGNED_IN_AT)
            last_seen = session.get(LAST_SEEN, signed_in_at)
            if signed_in_at is None:
                session[SIGNED_IN_AT] = session[LAST_SEEN] = now
            elif now - signed_in_at > settings.SESSION_MAX_SECONDS:
                return self.expire(request, absolute=True)
            elif last_seen is not None and now - last_seen > settings.SESSION_IDLE_SECONDS:
                return self.expire(request, absolute=False)
            elif last_seen is None or now - last_seen >= self.WRITE_EVERY:
                session[LAST_SEEN] = now
        return self.get_response(request)

    def expire(self, request, *, absolute: bool):
        logout(request)
        if absolute:
            hours = settings.SESSION_MAX_SECONDS // 3600
            text = ngettext(
                "You were signed out because you signed in more than %(count)d hour ago. "
                "Please log in again.",
                "You were signed out because you signed in more than %(count)d hours ago. "
                "Please log in again.",
                hours,
            ) % {"count": hours}
        else:
            minutes = settings.SESSION_IDLE_SECONDS // 60
            text = ngettext(
                "You were signed out after %(count)d minute without activity. Please log in again.",
                "You were signed out after %(count)d minutes without activity. "
                "Please log in again.",
                minutes,
            ) % {"count": minutes}
        messages.info(request, text)
        next_path = request.get_full_path() if request.method == "GET" else ""
        return redirect_to_login(next_path or resolve_url(settings.LOGIN_REDIRECT_URL))


class NoStoreMiddleware:
    """`Cache-Control: no-store, private` on every response for a signed-in user and on every
    response under NO_STORE_PATH_PREFIXES (case pages, downloads, exports, inbox, privacy):
    nothing about a case stays in a browser's or proxy's cache on a shared school computer."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        self.prefixes = tuple(settings.NO_STORE_PATH_PREFIXES)

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if request.path.startswith(self.prefixes) or (user is not None and user.is_authenticated):
            add_never_cache_headers(response)
            patch_cache_control(response, private=True)
        return response
