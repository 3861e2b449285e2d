"""Without a mail server: the whole message in a file, one readable line in the log."""

from __future__ import annotations

import logging

from django.core.mail import EmailMessage

from stagebureau.mail import ReadableLogBackend


def test_it_writes_the_message_to_a_file_and_logs_one_readable_line(tmp_path, caplog):
    backend = ReadableLogBackend(file_path=str(tmp_path))
    message = EmailMessage(
        "Stap gezet: „Gesprek gepland” — SB-00042",
        "Beste Sanne,\n\nEr is een gesprek gepland.",
        to=["sanne@example.org"],
        headers={"X-Stagebureau-Notification": "17"},
    )
    with caplog.at_level(logging.INFO, logger="stagebureau.mail"):
        assert backend.send_messages([message]) == 1
    lines = [r.getMessage() for r in caplog.records if r.name == "stagebureau.mail"]
    assert lines == [
        f"E-mail to sanne@example.org: Stap gezet: „Gesprek gepland” — SB-00042 "
        f"(notification 17; full message in {tmp_path})"
    ]
    files = list(tmp_path.iterdir())
    assert len(files) == 1
    written = files[0].read_text()
    assert "=?utf-8?" in written  # the file holds the real (encoded) message
    assert "X-Stagebureau-Notification: 17" in written
