"""Dutch first: the interface language is the one the user chose, never the browser's guess.

Order: the language switcher's cookie, then the signed-in user's profile language, then Dutch.
The Accept-Language header is ignored on purpose: the users are Dutch, and an English browser
on a school's shared computer should not turn the application English.
"""

from django.conf import settings
from django.utils import translation
from django.utils.cache import patch_vary_headers


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
