"""Settings of the web server and the Celery worker that the end-to-end tests start as separate
processes (tests/e2e/conftest.py): the test settings on the test database, real SMTP to the
test's local sink, and the notification tasks on the test session's own queue."""

import os

from stagebureau.settings.test import *  # noqa: F403

EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = os.environ["EMAIL_HOST"]
EMAIL_PORT = int(os.environ["EMAIL_PORT"])
EMAIL_USE_TLS = False
EMAIL_TIMEOUT = 30

_queue = os.environ["STAGEBUREAU_TEST_QUEUE"]
CELERY_TASK_DEFAULT_QUEUE = _queue
CELERY_TASK_ROUTES = {
    "notifications.tasks.*": {"queue": _queue},
    "deadlines.tasks.*": {"queue": _queue},
}
