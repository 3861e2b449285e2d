"""Sign-in pages: the login page (password, SURFconext button, sign-in link), the lockout
message, sign-in links by e-mail, and the single sign-on routes (only when OIDC_ENABLED)."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from mozilla_django_oidc import views as oidc_views

from . import signin
from .auth_backends import client_ip


def sign_in_options() -> dict:
    return {
        "oidc_enabled": settings.OIDC_ENABLED,
        "oidc_provider_name": settings.OIDC_PROVIDER_NAME,
        "sign_in_link_enabled": settings.SIGN_IN_LINK_ENABLED,
    }


class LoginView(auth_views.LoginView):
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), **sign_in_options()}


def lockout_message() -> str:
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return ngettext(
        "Too many failed attempts to log in. For your safety, logging in with this username "
        "from this computer is blocked for %(minutes)d minute. Try again later, or ask the "
        "internship office for help.",
        "Too many failed attempts to log in. For your safety, logging in with this username "
        "from this computer is blocked for %(minutes)d minutes. Try again later, or ask the "
        "internship office for help.",
        minutes,
    ) % {"minutes": minutes}


def lockout_response(request: HttpRequest, original_response=None, credentials=None):
    """django-axes' answer to a locked-out attempt: the login page with the reason (429)."""
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    form = AuthenticationForm(request, initial={"username": username})
    context = {
        "form": form,
        "lockout_message": lockout_message(),
        "next": request.POST.get("next", request.GET.get("next", "")),
        **sign_in_options(),
    }
    return render(request, "registration/login.html", context, status=429)


# --------------------------------------------------------------------------------------------
# Sign-in links


class SignInLinkForm(forms.Form):
    email = forms.EmailField(
        label=gettext_lazy("E-mail address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )


def _links_enabled() -> None:
    if not settings.SIGN_IN_LINK_ENABLED:
        raise Http404


@never_cache
@csrf_protect
@sensitive_post_parameters("email")
def request_sign_in_link(request: HttpRequest) -> HttpResponse:
    """Ask for a sign-in link. The answer never says whether the address has an account."""
    _links_enabled()
    if request.user.is_authenticated:
        return redirect(settings.LOGIN_REDIRECT_URL)
    form = SignInLinkForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if not signin.ip_allowed(client_ip(request)):
            form.add_error(
                None,
                _("Too many sign-in links were asked for from this computer. Try again later."),
            )
            return render(
                request, "registration/sign_in_link_form.html", {"form": form}, status=429
            )
        signin.request_sign_in_link(form.cleaned_data["email"])
        return redirect("sign_in_link_sent")
    return render(request, "registration/sign_in_link_form.html", {"form": form})


def sign_in_link_sent(request: HttpRequest) -> HttpResponse:
    _links_enabled()
    minutes = settings.SESAME_MAX_AGE // 60
    return render(request, "registration/sign_in_link_sent.html", {"minutes": minutes})


@never_cache
@csrf_protect
def sign_in_with_link(request: HttpRequest) -> HttpResponse:
    """The link from the e-mail. GET only shows a button (mail scanners that open links must
    not use up the one-time token); the POST signs in."""
    _links_enabled()
    token = request.POST.get("sesame") if request.method == "POST" else request.GET.get("sesame")
    if not token:
        return redirect("login")
    if request.method != "POST":
        return render(request, "registration/sign_in_link_confirm.html", {"token": token})
    user = authenticate(request, sesame=token)
    if user is None:
        if getattr(request, "axes_locked_out", False):  # django-axes answers with the lockout
            return redirect("login")
        messages.error(
            request,
            _(
                "This sign-in link is not valid (any more). A link works once and only for a "
                "short time: ask for a new one."
            ),
        )
        return redirect("sign_in_link")
    login(request, user)
    return redirect(resolve_url(settings.LOGIN_REDIRECT_URL))


# --------------------------------------------------------------------------------------------
# Single sign-on (OpenID Connect); every route is a 404 unless OIDC_ENABLED.


def _oidc_enabled() -> None:
    if not settings.OIDC_ENABLED:
        raise Http404


class OIDCAuthenticateView(oidc_views.OIDCAuthenticationRequestView):
    def get(self, request):
        _oidc_enabled()
        return super().get(request)


class OIDCCallbackView(oidc_views.OIDCAuthenticationCallbackView):
    def get(self, request):
        _oidc_enabled()
        return super().get(request)

    def login_failure(self):
        messages.error(
            self.request,
            _(
                "Signing in through %(provider)s did not succeed: your account there is not "
                "linked to a Stagebureau user. Log in another way or ask the internship office."
            )
            % {"provider": settings.OIDC_PROVIDER_NAME},
        )
        return super().login_failure()
