"""Sign-in services: session clock, lockout log, and one-time sign-in links by e-mail.

A sign-in link is asked for with an e-mail address. Whether or not an account has that address,
the page answers the same and the request does the same work: it queues one task with the
address; the task looks the address up and sends a link only to an active user. So neither the
answer nor its timing tells whether an address has an account.
"""

from __future__ import annotations

import hashlib
import logging
import time

from axes.models import AccessAttempt
from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.core.cache import cache
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Sum
from django.dispatch import receiver
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from sesame.utils import get_query_string

from cases.models import User

logger = logging.getLogger("stagebureau.security")

SIGNED_IN_AT = "signin:at"  # session key: when this session signed in (epoch seconds)
LAST_SEEN = "signin:seen"  # session key: the last request (epoch seconds, per minute)
THROTTLE_WINDOW = 15 * 60


@receiver(user_logged_in, dispatch_uid="stagebureau.signin.session_clock")
def start_session_clock(sender, request, user, **kwargs) -> None:
    session = getattr(request, "session", None)
    if session is not None:
        now = time.time()
        session[SIGNED_IN_AT] = now
        session[LAST_SEEN] = now


@receiver(user_locked_out, dispatch_uid="stagebureau.signin.lockout_log")
def log_lockout(sender, request, username=None, ip_address=None, **kwargs) -> None:
    if getattr(request, IP_LOCKED_OUT, False):
        logger.warning(
            "Sign-in locked out for this IP address (%s failures across usernames within %s "
            "minutes): username=%r ip=%s",
            settings.LOGIN_FAILURE_LIMIT_PER_IP,
            int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
            username,
            ip_address,
        )
        return
    logger.warning(
        "Sign-in locked out for %s minutes: username=%r ip=%s",
        int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
        username,
        ip_address,
    )


# --------------------------------------------------------------------------------------------
# Password spraying: failed sign-ins from one IP address across usernames

IP_LOCKED_OUT = "stagebureau_ip_locked_out"  # request attribute: refused for the IP address


def failures_from_ip(ip: str | None) -> int:
    """Failed sign-ins from this address within the lockout time, whatever the username: read
    from django-axes' own records (one row per username, IP address and browser, with its
    failures since the last success), so every server process counts the same."""
    if not ip:
        return 0
    since = timezone.now() - settings.AXES_COOLOFF_TIME
    rows = AccessAttempt.objects.filter(ip_address=ip, attempt_time__gte=since)
    return rows.aggregate(n=Sum("failures_since_start"))["n"] or 0


def ip_locked_out(ip: str | None) -> bool:
    """True once LOGIN_FAILURE_LIMIT_PER_IP sign-ins from this address failed (0: no limit)."""
    limit = settings.LOGIN_FAILURE_LIMIT_PER_IP
    return limit > 0 and failures_from_ip(ip) >= limit


# --------------------------------------------------------------------------------------------
# Sign-in links


def _count(key: str) -> int:
    cache.add(key, 0, timeout=THROTTLE_WINDOW)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=THROTTLE_WINDOW)
        return 1


def ip_allowed(ip: str | None) -> bool:
    """Count a link request from this IP address; False once over the limit."""
    return _count(f"signin-link:ip:{ip}") <= settings.SIGN_IN_LINK_LIMIT_PER_IP


def request_sign_in_link(email: str) -> None:
    """Queue the e-mail after commit; silently nothing once the address is over its limit."""
    email = email.strip()
    digest = hashlib.sha256(email.lower().encode()).hexdigest()
    if _count(f"signin-link:address:{digest}") > settings.SIGN_IN_LINK_LIMIT_PER_ADDRESS:
        logger.info("Sign-in link request over the limit for address %s…", digest[:12])
        return
    transaction.on_commit(lambda: queue_sign_in_link(email), robust=True)


def queue_sign_in_link(email: str) -> None:
    from .tasks import send_sign_in_link

    try:
        send_sign_in_link.delay(email)
    except Exception:  # broker down: send now rather than not at all
        logger.warning("Could not queue a sign-in link; sending it directly")
        send_sign_in_link(email)


def sign_in_url(user: User) -> str:
    return f"{settings.SITE_URL}{reverse('sign_in_with_link')}{get_query_string(user)}"


def link_users():
    """Who may sign in with a link: active users without admin rights (an admin signs in with
    a password or single sign-on, never with only an e-mail box)."""
    return User.objects.filter(is_active=True, is_staff=False, is_superuser=False)


def send_sign_in_links(email: str) -> int:
    """E-mail a one-time link to every such user with this address; how many were sent."""
    sent = 0
    for user in link_users().filter(email__iexact=email.strip()):
        with translation.override(user.language or settings.LANGUAGE_CODE):
            minutes = settings.SESAME_MAX_AGE // 60
            lines = [
                _("Hello %(name)s,") % {"name": user.get_full_name() or user.username},
                "",
                _("Use this link to sign in to Stagebureau as %(username)s:")
                % {"username": user.username},
                sign_in_url(user),
                "",
                ngettext(
                    "The link works once and for %(minutes)d minute.",
                    "The link works once and for %(minutes)d minutes.",
                    minutes,
                )
                % {"minutes": minutes},
                _("Did you not ask for it? Then you can ignore this e-mail."),
            ]
            send_mail(
                _("Your sign-in link for Stagebureau"),
                "\n".join(lines),
                settings.DEFAULT_FROM_EMAIL,
                [user.email],
            )
        sent += 1
    if not sent:
        logger.info("Sign-in link asked for an address without an active account")
    return sent
