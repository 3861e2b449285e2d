"""Settings of a worker process that sends through SMTP to the test's server
(tests/notifications/test_worker_smtp.py): the worker settings, real SMTP, a short claim and,
for a worker started with an embedded beat, a sweep every few seconds."""

import os

from tests.notifications.worker_settings import *  # noqa: F403

EMAIL_BACKEND = "tests.notifications.mail_backend.SmtpBackend"
EMAIL_HOST = "127.0.0.1"
EMAIL_PORT = int(os.environ["STAGEBUREAU_TEST_SMTP_PORT"])
EMAIL_USE_TLS = False
EMAIL_TIMEOUT = 10
NOTIFICATION_CLAIM_SECONDS = int(os.environ["STAGEBUREAU_TEST_CLAIM_SECONDS"])
CELERY_BEAT_SCHEDULE = {
    "sweep-notification-outbox": {
        "task": "notifications.tasks.sweep_outbox",
        "schedule": float(os.environ["STAGEBUREAU_TEST_SWEEP_SECONDS"]),
    },
}
