"""Settings shared by every environment. Production = this module + the environment."""

import contextlib
import datetime as dt
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from stagebureau.env import env, envbool, envint, envlist

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(env("STAGEBUREAU_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)  # the embedded SQLite file and broker live here

DEBUG = envbool("DEBUG", False)
SECRET_KEY = env("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-development-key-only-for-debug"

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", "")
SITE_URL = (env("SITE_URL", "http://127.0.0.1:8000") or "").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_fsm",
    # Throttles failed sign-ins (username + IP), logs lockouts.
    "stagebureau.throttling.ThrottlingConfig",  # django-axes, named in Dutch
    # Per-object permissions; autodiscovers cases/rules.py (need-to-know).
    "rules.apps.AutodiscoverRulesConfig",
    # The checks behind /health/ (stagebureau/health.py).
    "health_check",
    "cases",
    "conversations",
    "transfers",
    # Files on a case or a conversation (improvement plan, POP, agreement, doctor's note).
    "attachments",
    "notifications",
    # The deadline clock (rules, working days, the reminder scan); above notifications.
    "deadlines",
    # The demo loader and the benchmark (management commands; they may import every app).
    "demo",
    "office",
    # Top layer: the access log, retention, a student's data export, the privacy officer's pages.
    "privacy",
    # Top layer: the home page and the case page that joins every app.
    "portal",
    # Top layer: the import of a semester's placements (preview, then all or nothing).
    "semester",
    # Sign-in pieces of the project itself (signals, the sign-in link task).
    "stagebureau.apps.StagebureauConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy on every response (CONTENT_SECURITY_POLICY below).
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After authentication: the signed-in user's language is the fallback after the cookie.
    "stagebureau.middleware.DutchFirstLocaleMiddleware",
    # One access-log row per case-scoped request, written after the response (privacy/audit.py).
    "privacy.audit.AccessLogMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Idle and absolute session expiry (says why, in the user's language); then `no-store` on
    # personal pages.
    "stagebureau.middleware.SessionExpiryMiddleware",
    "stagebureau.middleware.NoStoreMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a locked-out sign-in into the login page's message.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "stagebureau.urls"
WSGI_APPLICATION = "stagebureau.wsgi.application"
AUTH_USER_MODEL = "cases.User"
# The first loads the request's user with its global roles and unread count in one query; the
# second keeps sessions made before it was added valid (same users, same rules).
# The first refuses any sign-in while the username + IP is locked out (django-axes); it signs
# nobody in itself.
AUTHENTICATION_BACKENDS = [
    "stagebureau.auth_backends.ThrottleBackend",
    "stagebureau.backends.RequestUserBackend",
    "django.contrib.auth.backends.ModelBackend",
    "rules.permissions.ObjectPermissionBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "cases:my_cases"
LOGOUT_REDIRECT_URL = "login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "notifications.context_processors.inbox",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'stagebureau.sqlite3'}",
        conn_max_age=envint("DATABASE_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded set-up runs the web server and a Celery worker on one SQLite file: wait for
    # the write lock instead of failing with "database is locked", and let readers run alongside.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's .iterator() outside a transaction declares a cursor WITH HOLD, which PostgreSQL
    # runs to the end when the DECLARE commits; planned for the first 10 % of its rows (the
    # default), the reminder scan's anti-joins took 20-30 s each at a million cases, planned
    # for all of them 2 s (issue #17). Every iterator here reads all its rows.
    _pg_options = ["-c cursor_tuple_fraction=1"]
    if not envbool("DATABASE_JIT", False):
        # PostgreSQL's JIT compiles a query whose *estimated* cost is high, which the office's
        # filtered lists reach while reading only a page of rows: seconds of compiling for
        # milliseconds of work. A web application's short queries are better off without it.
        _pg_options.append("-c jit=off")
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = " ".join(_pg_options)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "nl"
LANGUAGES = [("nl", _("Dutch")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "stagebureau" / "locale"]
# Compact dates in tables per language ("29 nov 2026" / "29 Nov 2026"): stagebureau/formats/.
FORMAT_MODULE_PATH = ["stagebureau.formats"]
TIME_ZONE = "Europe/Amsterdam"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env("STATIC_ROOT", str(VAR_DIR / "static")))
# WhiteNoise serves the static files (gunicorn has no web server in front of it in
# docker-compose); from the app directories too, so a run without collectstatic works.
WHITENOISE_USE_FINDERS = True
with contextlib.suppress(OSError):
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# E-mail: SMTP when EMAIL_HOST is set; otherwise every message goes to a file in
# EMAIL_FILE_PATH and the log gets one readable line per message (stagebureau/mail.py).
EMAIL_HOST = env("EMAIL_HOST", "")
EMAIL_BACKEND = env(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "stagebureau.mail.ReadableLogBackend",
)
EMAIL_PORT = envint("EMAIL_PORT", 25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", False)
EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Stagebureau <stagebureau@localhost>")
# Seconds a mail server may take per step (connect, each command): a hanging server fails the
# send, and the outbox retries it, instead of holding the delivery past its claim.
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", 20)

# The outbox (notifications.services): a row claimed for sending this many seconds ago by a
# worker that died mid-send is sent again by the next sweep (every NOTIFICATION_SWEEP_SECONDS),
# so within about two minutes; it must exceed the delivery task's time limit (60 s).
NOTIFICATION_CLAIM_SECONDS = envint("NOTIFICATION_CLAIM_SECONDS", 90)
NOTIFICATION_SWEEP_SECONDS = envint("NOTIFICATION_SWEEP_SECONDS", 30)

# Celery. The default broker is kombu's filesystem transport: a real broker that needs no
# server, so the embedded set-up runs a real worker. Production and CI use Redis.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", "filesystem://localhost/")
_broker_dir = VAR_DIR / "broker"
if CELERY_BROKER_URL.startswith("filesystem"):
    (_broker_dir / "processed").mkdir(parents=True, exist_ok=True)
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
        "polling_interval": 0.2,
    }
    if CELERY_BROKER_URL.startswith("filesystem")
    else {"visibility_timeout": envint("CELERY_VISIBILITY_TIMEOUT", 3600)}
)
CELERY_TASK_ALWAYS_EAGER = envbool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_TASK_TIME_LIMIT = 120
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
}

# Privacy: closed cases are anonymised this many days after they were closed (privacy/services.py).
CASE_RETENTION_DAYS = envint("CASE_RETENTION_DAYS", 730)

# The dashboard's breakdowns of the open cases by programme, study year, board and category
# count every open case: they are cached this many seconds (0: counted on every request) and
# counted again by Celery beat twice in that time, so no request waits for them. The steering
# report, for a period, always counts afresh.
DASHBOARD_BREAKDOWN_SECONDS = envint("DASHBOARD_BREAKDOWN_SECONDS", 60)

CELERY_BEAT_SCHEDULE = {
    "sweep-notification-outbox": {
        "task": "notifications.tasks.sweep_outbox",
        "schedule": float(NOTIFICATION_SWEEP_SECONDS),
    },
    # Reminders and escalations are deduplicated, so a run more or less changes nothing.
    "scan-deadlines": {
        "task": "deadlines.tasks.scan_deadlines",
        "schedule": crontab(minute="*/30"),
    },
    # Retention: closed cases past CASE_RETENTION_DAYS lose their texts (idempotent).
    "anonymise-expired-cases": {
        "task": "privacy.tasks.anonymise_expired_cases",
        "schedule": crontab(hour=3, minute=17),
    },
    # Uploaded placement files never confirmed (semester app) are deleted after a day.
    "purge-import-batches": {
        "task": "semester.tasks.purge_import_batches",
        "schedule": crontab(hour=3, minute=47),
    },
}

if DASHBOARD_BREAKDOWN_SECONDS > 0:
    CELERY_BEAT_SCHEDULE["refresh-dashboard-breakdowns"] = {
        "task": "office.tasks.refresh_breakdowns",
        "schedule": DASHBOARD_BREAKDOWN_SECONDS / 2,
        # A refresh still queued when the next one is due is dropped, never piled up.
        "options": {"expires": DASHBOARD_BREAKDOWN_SECONDS / 2},
    }

# The import of a semester's placements (semester app): the largest file and the most rows
# an upload (or `manage.py import_placements`) may have.
IMPORT_MAX_BYTES = envint("IMPORT_MAX_BYTES", 5 * 1000 * 1000)
IMPORT_MAX_ROWS = envint("IMPORT_MAX_ROWS", 10_000)


# Attachments (attachments app): the largest file, and where the files are kept. Locally in
# ATTACHMENT_ROOT by default (never under a public URL: they are served by the download view
# after the need-to-know check); with ATTACHMENT_S3_BUCKET set, in an S3-compatible store
# through django-storages (`pip install -e .[s3]`). Files are stored under random names.
ATTACHMENT_MAX_BYTES = envint("ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)
ATTACHMENT_ROOT = Path(env("ATTACHMENT_ROOT", str(VAR_DIR / "attachments")))
ATTACHMENT_S3_BUCKET = env("ATTACHMENT_S3_BUCKET", "") or ""
if ATTACHMENT_S3_BUCKET:
    _attachment_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": ATTACHMENT_S3_BUCKET,
            "endpoint_url": env("ATTACHMENT_S3_ENDPOINT_URL", "") or None,
            "region_name": env("ATTACHMENT_S3_REGION", "") or None,
            "access_key": env("ATTACHMENT_S3_ACCESS_KEY_ID", "") or None,
            "secret_key": env("ATTACHMENT_S3_SECRET_ACCESS_KEY", "") or None,
            "location": env("ATTACHMENT_S3_PREFIX", "attachments") or "",
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
else:
    _attachment_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(ATTACHMENT_ROOT), "base_url": None},
    }
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "attachments": _attachment_storage,
}

# --------------------------------------------------------------------------------------------
# Sign-in (issue #7): throttling, session expiry, sign-in links, optional SURFconext (OIDC).
# Every value comes from the environment; README "Configuration" lists them.

# django-axes: LOGIN_FAILURE_LIMIT failures for one username from one IP address lock that
# combination for LOGIN_LOCKOUT_MINUTES; the login page says so (stagebureau.auth_views).
AXES_ENABLED = envbool("AXES_ENABLED", True)
AXES_FAILURE_LIMIT = envint("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = dt.timedelta(minutes=envint("LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# Password spraying: LOGIN_FAILURE_LIMIT_PER_IP failures from one IP address, whatever the
# usernames, lock that address for LOGIN_LOCKOUT_MINUTES too (0: no such limit). Counted by
# stagebureau.auth_backends.ThrottleBackend from django-axes' records: django-axes itself
# holds every parameter combination to the one AXES_FAILURE_LIMIT.
LOGIN_FAILURE_LIMIT_PER_IP = envint("LOGIN_FAILURE_LIMIT_PER_IP", 20)
AXES_RESET_ON_SUCCESS = True
# A failure during the lockout does not extend it: "try again in 15 minutes" stays true.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "stagebureau.auth_views.lockout_response"
AXES_CLIENT_IP_CALLABLE = "stagebureau.auth_backends.client_ip"
AXES_USERNAME_FORM_FIELD = "username"
AXES_SENSITIVE_PARAMETERS = ["password", "sesame"]
AXES_VERBOSE = False  # lockouts are logged by stagebureau.signin, not every attempt
# Number of reverse proxies in front of the application whose X-Forwarded-For/-Proto to trust
# (0: use the connection's address; docker-compose with gunicorn directly exposed).
TRUSTED_PROXY_COUNT = envint("TRUSTED_PROXY_COUNT", 0)

# Sessions: signed out after SESSION_IDLE_MINUTES without a request and SESSION_MAX_HOURS after
# signing in, whatever happens (stagebureau.middleware.SessionExpiryMiddleware). The cookie
# lives as long as the absolute limit, so an idle expiry can still say why you were signed out.
SESSION_IDLE_SECONDS = envint("SESSION_IDLE_MINUTES", 30) * 60
SESSION_MAX_SECONDS = envint("SESSION_MAX_HOURS", 12) * 3600
SESSION_COOKIE_AGE = SESSION_MAX_SECONDS
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True  # no JavaScript reads the token; forms carry it
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"

# Sign-in links (django-sesame) for school staff without an institutional account: one use
# (the token covers the last login), valid SIGN_IN_LINK_MINUTES.
SIGN_IN_LINK_ENABLED = envbool("SIGN_IN_LINK_ENABLED", True)
SESAME_MAX_AGE = envint("SIGN_IN_LINK_MINUTES", 15) * 60
SESAME_ONE_TIME = True
SESAME_TOKEN_NAME = "sesame"
# Requests for a link per e-mail address and per IP address within 15 minutes.
SIGN_IN_LINK_LIMIT_PER_ADDRESS = envint("SIGN_IN_LINK_LIMIT_PER_ADDRESS", 3)
SIGN_IN_LINK_LIMIT_PER_IP = envint("SIGN_IN_LINK_LIMIT_PER_IP", 10)
if SIGN_IN_LINK_ENABLED:
    AUTHENTICATION_BACKENDS.append("stagebureau.auth_backends.SignInLinkBackend")

# Optional single sign-on through OpenID Connect (SURFconext or any OIDC provider); off unless
# OIDC_ENABLED. Users are matched on their e-mail address and never created unless
# OIDC_CREATE_USER.
OIDC_ENABLED = envbool("OIDC_ENABLED", False)
OIDC_PROVIDER_NAME = env("OIDC_PROVIDER_NAME", "SURFconext")
OIDC_RP_CLIENT_ID = env("OIDC_RP_CLIENT_ID", "")
OIDC_RP_CLIENT_SECRET = env("OIDC_RP_CLIENT_SECRET", "")
OIDC_OP_AUTHORIZATION_ENDPOINT = env("OIDC_OP_AUTHORIZATION_ENDPOINT", "")
OIDC_OP_TOKEN_ENDPOINT = env("OIDC_OP_TOKEN_ENDPOINT", "")
OIDC_OP_USER_ENDPOINT = env("OIDC_OP_USER_ENDPOINT", "")
OIDC_OP_JWKS_ENDPOINT = env("OIDC_OP_JWKS_ENDPOINT", "")
OIDC_OP_ISSUER = env("OIDC_OP_ISSUER", "")
OIDC_RP_SIGN_ALGO = env("OIDC_RP_SIGN_ALGO", "RS256")
OIDC_RP_SCOPES = env("OIDC_RP_SCOPES", "openid email")
OIDC_CREATE_USER = envbool("OIDC_CREATE_USER", False)
OIDC_USE_PKCE = envbool("OIDC_USE_PKCE", True)
OIDC_TIMEOUT = envint("OIDC_TIMEOUT", 10)
OIDC_USERNAME_ALGO = "stagebureau.auth_backends.oidc_username"
OIDC_AUTHENTICATION_CALLBACK_URL = "oidc_authentication_callback"
LOGIN_REDIRECT_URL_FAILURE = "/login/"
if OIDC_ENABLED:
    _missing = [
        name
        for name in (
            "OIDC_RP_CLIENT_ID",
            "OIDC_RP_CLIENT_SECRET",
            "OIDC_OP_AUTHORIZATION_ENDPOINT",
            "OIDC_OP_TOKEN_ENDPOINT",
            "OIDC_OP_USER_ENDPOINT",
        )
        if not globals()[name]
    ]
    if OIDC_RP_SIGN_ALGO.startswith(("RS", "ES")) and not OIDC_OP_JWKS_ENDPOINT:
        _missing.append("OIDC_OP_JWKS_ENDPOINT")
    if _missing:
        raise ImproperlyConfigured(f"OIDC_ENABLED needs {', '.join(_missing)}.")
    AUTHENTICATION_BACKENDS.append("stagebureau.auth_backends.OIDCBackend")

# Optional shared cache (e.g. redis://127.0.0.1:6379/1) for the sign-in link throttle across
# processes; the default per-process memory cache suits one server process.
if env("CACHE_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": env("CACHE_URL"),
        }
    }

# --------------------------------------------------------------------------------------------
# Headers (issue #7). Production (stagebureau.settings.production) adds HSTS, HTTPS and secure
# cookies. No inline script or style anywhere: templates load static/js/app.js only.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
if env("CSP_REPORT_URI"):
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["report-uri"] = [env("CSP_REPORT_URI")]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Pages under these prefixes are never cached (nor is any page for a signed-in user).
NO_STORE_PATH_PREFIXES = ["/cases/", "/inbox/", "/privacy/", "/admin/"]

LOGGING["loggers"] = {
    # Lockouts and refused sign-in links: one line each, never a password or token.
    "stagebureau.security": {"handlers": ["console"], "level": "INFO", "propagate": False},
    # Without a mail server: one line per e-mail (stagebureau/mail.py).
    "stagebureau.mail": {"handlers": ["console"], "level": "INFO", "propagate": False},
    # django-axes reports every sign-in at INFO; its rows are in the admin. Lockouts: WARNING.
    "axes": {"level": "WARNING"},
}
