"""The e-mail backend of a machine without a mail server (the default when EMAIL_HOST is empty).

Every message is written whole to a file in EMAIL_FILE_PATH (Django's file backend), and the log
gets ONE readable line per message: recipients, the decoded subject and the notification. So the
worker's log stays readable (the console backend printed raw MIME, which Celery logged as
warnings), and the full message, attachments included, is there to open."""

from __future__ import annotations

import logging

from django.core.mail.backends.filebased import EmailBackend as FileBackend

from notifications.emails import HEADER_ID as NOTIFICATION_HEADER

logger = logging.getLogger("stagebureau.mail")


class ReadableLogBackend(FileBackend):
    def send_messages(self, email_messages) -> int:
        sent = super().send_messages(email_messages)
        for message in email_messages or ():
            logger.info(
                "E-mail to %s: %s (notification %s; full message in %s)",
                ", ".join(message.recipients()),
                " ".join(str(message.subject).split()),
                message.extra_headers.get(NOTIFICATION_HEADER, "-"),
                self.file_path,
            )
        return sent
