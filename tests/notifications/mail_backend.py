"""The file e-mail backend, which can be made to hang mid-send: while the file named by
STAGEBUREAU_TEST_MAIL_BLOCK exists, sending waits (after saying so in `<block>.reached`), so a
test can kill the worker in the middle of a delivery."""

from __future__ import annotations

import os
import time
from pathlib import Path

from django.core.mail.backends import filebased, smtp

MAX_WAIT = 120  # seconds; a test kills the worker long before


class EmailBackend(filebased.EmailBackend):
    def send_messages(self, email_messages):
        block = os.environ.get("STAGEBUREAU_TEST_MAIL_BLOCK")
        if block and Path(block).exists():
            Path(f"{block}.reached").write_text(str(os.getpid()), encoding="utf-8")
            deadline = time.monotonic() + MAX_WAIT
            while Path(block).exists() and time.monotonic() < deadline:
                time.sleep(0.05)
        return super().send_messages(email_messages)


class SmtpBackend(smtp.EmailBackend):
    """Django's SMTP backend, which can be made to hang before the server has the message
    (STAGEBUREAU_TEST_SMTP_BLOCK_BEFORE) or right after the server accepted it
    (STAGEBUREAU_TEST_SMTP_BLOCK_AFTER): while that file exists, it waits (after saying so in
    `<file>.reached`), so a test can kill the worker exactly there."""

    def _send(self, email_message):
        _wait_while(os.environ.get("STAGEBUREAU_TEST_SMTP_BLOCK_BEFORE"))
        sent = super()._send(email_message)
        if sent:
            _wait_while(os.environ.get("STAGEBUREAU_TEST_SMTP_BLOCK_AFTER"))
        return sent


def _wait_while(block: str | None) -> None:
    if block and Path(block).exists():
        Path(f"{block}.reached").write_text(str(os.getpid()), encoding="utf-8")
        deadline = time.monotonic() + MAX_WAIT
        while Path(block).exists() and time.monotonic() < deadline:
            time.sleep(0.05)
