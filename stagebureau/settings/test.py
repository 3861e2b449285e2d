"""Test settings: whatever DATABASE_URL/CELERY_BROKER_URL say (PostgreSQL and Redis in CI)."""

import os

os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production")

from .base import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
ALLOWED_HOSTS = ["*"]
# Every test counts afresh (tests/office/test_breakdowns.py turns the cache on).
DASHBOARD_BREAKDOWN_SECONDS = 0

# Attachments of the tests go to a folder of their own, removed with the temporary files.
import tempfile  # noqa: E402

ATTACHMENT_ROOT = tempfile.mkdtemp(prefix="stagebureau-attachments-")
STORAGES = {
    **STORAGES,  # noqa: F405
    "attachments": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": ATTACHMENT_ROOT, "base_url": None},
    },
}
