"""Production: the shared settings with secure defaults; everything else from the environment.

    DJANGO_SETTINGS_MODULE=stagebureau.settings.production

Required: SECRET_KEY. Usually also ALLOWED_HOSTS (default: only 127.0.0.1 and localhost),
DATABASE_URL, CELERY_BROKER_URL, SITE_URL and EMAIL_*. HTTPS is assumed: HSTS, redirect to https
and secure cookies, each switchable by the environment (README "Configuration").
`manage.py check --deploy --fail-level WARNING` passes with these settings (tested).
"""

import os

from django.core.exceptions import ImproperlyConfigured

from stagebureau.env import env, envbool, envint, envlist

if envbool("DEBUG", False):
    raise ImproperlyConfigured("DEBUG must be off in production (unset DEBUG).")
os.environ["DEBUG"] = "false"
if not env("SECRET_KEY"):
    raise ImproperlyConfigured("SECRET_KEY must be set (or SECRET_KEY_FILE).")

from .base import *  # noqa: E402,F403
from .base import LOGGING  # noqa: E402

DEBUG = False
# The container's own health check asks http://127.0.0.1:$PORT/health/ (stagebureau/health.py).
_public_hosts = list(ALLOWED_HOSTS)  # noqa: F405
ALLOWED_HOSTS = _public_hosts + [
    host for host in envlist("INTERNAL_HOSTS", "127.0.0.1,localhost") if host not in _public_hosts
]

# HTTPS everywhere. Behind a proxy that terminates TLS, set TRUSTED_PROXY_COUNT=1 so the
# proxy's X-Forwarded-Proto says the request was secure.
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", True)
# The container's health check speaks plain HTTP from inside.
SECURE_REDIRECT_EXEMPT = [r"^health/$"]
if envint("TRUSTED_PROXY_COUNT", 0) > 0:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    USE_X_FORWARDED_HOST = envbool("USE_X_FORWARDED_HOST", False)
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31_536_000)  # a year
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", True)

# Cookies only over HTTPS. SECURE_COOKIES=false only for plain HTTP on a non-localhost address
# in a test set-up (browsers accept secure cookies from http://localhost).
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = LANGUAGE_COOKIE_SECURE = envbool(
    "SECURE_COOKIES", True
)
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_HTTPONLY = True
# The https origins of ALLOWED_HOSTS are trusted for CSRF unless set explicitly.
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", "") or [
    f"https://{host.lstrip('.')}" for host in _public_hosts if host != "*"
]

LOGGING = {
    **LOGGING,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
}

# Static files: collected at build time (Dockerfile) or by scripts/start-web, under hashed names
# with compressed copies, which WhiteNoise serves with far-future caching headers.
STORAGES = {
    **STORAGES,  # noqa: F405 (the attachments' store from base)
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = False
