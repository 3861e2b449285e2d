"""Settings of a worker process started by the tests (tests/notifications/workers.py): the test
settings, e-mail to files (counted across processes), the test's own queue."""

import os

from stagebureau.settings.test import *  # noqa: F403

EMAIL_BACKEND = "tests.notifications.mail_backend.EmailBackend"
EMAIL_FILE_PATH = os.environ["EMAIL_FILE_PATH"]

_queue = os.environ.get("STAGEBUREAU_TEST_QUEUE")
if _queue:
    CELERY_TASK_DEFAULT_QUEUE = _queue
    CELERY_TASK_ROUTES = {
        "notifications.tasks.*": {"queue": _queue},
        "deadlines.tasks.*": {"queue": _queue},
    }
