"""Authentication backends: throttling (django-axes), sign-in links (django-sesame) and single
sign-on through OpenID Connect (mozilla-django-oidc, SURFconext-compatible).

Every backend that signs a user in loads them like .backends.RequestUserBackend does (one
query with roles and unread count), whichever way they came in.
"""

from __future__ import annotations

import logging
import re

from axes.backends import AxesStandaloneBackend
from axes.exceptions import AxesBackendPermissionDenied
from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from sesame.backends import SesameBackendMixin

from cases.models import User
from cases.validators import single_line, usable_email

from . import signin
from .backends import RequestUserBackend

logger = logging.getLogger("stagebureau.security")

# Claims that carry the user's address. SURFconext sends `email` and, when configured,
# `eduperson_principal_name` (user@institution, often equal to the address).
EMAIL_CLAIMS = ("email", "eduperson_principal_name", "eduPersonPrincipalName")
USERNAME_UNSAFE = re.compile(r"[^\w.@+-]")


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: from X-Forwarded-For only behind TRUSTED_PROXY_COUNT proxies."""
    count = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if count > 0 and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if len(hops) >= count:
            return hops[-count]
    return request.META.get("REMOTE_ADDR")


class ThrottleBackend(AxesStandaloneBackend):
    """django-axes' lockout check (username + IP address), and a lockout per IP address across
    usernames (password spraying: LOGIN_FAILURE_LIMIT_PER_IP); signs nobody in.

    django-axes compares every combination of its lockout parameters with one and the same
    limit, so the second, higher limit per address is counted here, from django-axes' records;
    a refusal goes the same way as django-axes' own (the same message and status, 429).
    Without a request (a management command, the shell) nothing can be throttled, so the
    check steps aside instead of raising as django-axes does.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        super().authenticate(request, username=username, password=password, **kwargs)
        if settings.AXES_ENABLED and signin.ip_locked_out(client_ip(request)):
            setattr(request, signin.IP_LOCKED_OUT, True)
            request.axes_locked_out = True
            request.axes_credentials = {"username": username}
            raise AxesBackendPermissionDenied("Too many failed sign-ins from this IP address")
        return None


class SignInLinkBackend(SesameBackendMixin, RequestUserBackend):
    """A one-time sign-in link's token (django-sesame) → an active user without admin rights
    (stagebureau.signin.link_users)."""

    def authenticate(self, request, sesame=None, scope="", max_age=None):
        user = super().authenticate(request, sesame, scope=scope, max_age=max_age)
        if user is not None and (user.is_staff or user.is_superuser):
            return None
        return user


def claimed_email(claims: dict) -> str:
    """The provider's address for the user: one line and an address, or nothing (a line break
    from a provider would otherwise reach e-mail headers and calendar files)."""
    for name in EMAIL_CLAIMS:
        value = usable_email(claims.get(name) if isinstance(claims.get(name), str) else "")
        if value:
            return value
    return ""


def oidc_username(email: str | None, claims: dict | None = None) -> str:
    """Username for a user created from single sign-on (only with OIDC_CREATE_USER)."""
    claims = claims or {}
    value = (
        claims.get("eduperson_principal_name")
        or claims.get("eduPersonPrincipalName")
        or email
        or claims.get("sub", "")
    )
    # Only what a username may hold (Django's username validator): no line break, no space.
    return USERNAME_UNSAFE.sub("", str(value))[:150]


class OIDCBackend(OIDCAuthenticationBackend):
    """Single sign-on: a provider's user is the active Stagebureau user with that e-mail address.

    Nobody is created unless OIDC_CREATE_USER; two users with one address is refused (never a
    guess). The ID token's audience (and issuer, when OIDC_OP_ISSUER is set) are checked too.
    """

    def verify_claims(self, claims: dict) -> bool:
        return bool(claimed_email(claims))

    def filter_users_by_claims(self, claims: dict):
        email = claimed_email(claims)
        if not email:
            return User.objects.none()
        return User.objects.filter(email__iexact=email, is_active=True)

    def describe_user_by_claims(self, claims: dict) -> str:
        return f"a provider account (sub {claims.get('sub', '?')})"

    def create_user(self, claims: dict):
        email = claimed_email(claims)
        user = User.objects.create_user(self.get_username(claims), email=email)
        # Names on one line, whatever the provider sends (cases.validators.single_line).
        user.first_name = single_line(claims.get("given_name"))[:150]
        user.last_name = single_line(claims.get("family_name"))[:150]
        user.save(update_fields=["first_name", "last_name"])
        return user

    def get_username(self, claims: dict) -> str:
        return oidc_username(claimed_email(claims), claims)

    def verify_token(self, token, **kwargs):
        payload = super().verify_token(token, **kwargs)
        audience = payload.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if self.OIDC_RP_CLIENT_ID not in audiences:
            raise SuspiciousOperation("ID token is meant for another client.")
        issuer = getattr(settings, "OIDC_OP_ISSUER", "")
        if issuer and payload.get("iss") != issuer:
            raise SuspiciousOperation("ID token comes from another issuer.")
        return payload

    def get_or_create_user(self, access_token, id_token, payload):
        user = super().get_or_create_user(access_token, id_token, payload)
        if user is None:
            logger.info("Single sign-on refused: no active user with the provider's address")
        return user

    def get_user(self, user_id):
        return RequestUserBackend().get_user(user_id)
