"""The deadline events read as data in notifications: labels and reminder wording registered
when the app starts, the core's table left alone, and no import of deadlines in notifications."""

import ast
from pathlib import Path

import pytest
from django.utils import translation

from cases.models import EVENT_LABELS
from deadlines.rules import DUE_SOON, ESCALATE, KIND_LABELS, REMIND, RULES, event_name
from notifications.labels import all_labels, label_for, reminder_for

NOTIFICATIONS = Path(__file__).resolve().parents[2] / "notifications"


def test_deadline_events_have_translated_labels():
    with translation.override("en"):
        label = label_for("deadline:first_conversation:remind")
    assert label == "reminder: First conversation planned"
    with translation.override("nl"):
        dutch = label_for("deadline:first_conversation:remind")
        expected = f"{KIND_LABELS[REMIND]}: {RULES['first_conversation'].label}"
    assert dutch == expected != label


def test_every_deadline_event_is_registered_and_the_core_table_is_left_alone():
    labels = all_labels()
    for key in RULES:
        for kind in (DUE_SOON, REMIND, ESCALATE):
            event = event_name(key, kind)
            assert event in labels
            assert reminder_for(event) is not None
            assert event not in EVENT_LABELS
    assert set(EVENT_LABELS) <= set(labels)


@pytest.mark.parametrize(
    ("kind", "due_soon", "escalated"),
    [(DUE_SOON, True, False), (REMIND, False, False), (ESCALATE, False, True)],
)
def test_the_reminder_wording_follows_the_kind(kind, due_soon, escalated):
    reminder = reminder_for(event_name("handover", kind))
    assert (reminder.due_soon, reminder.escalated) == (due_soon, escalated)
    assert reminder.step == RULES["handover"].label
    assert reminder.page[0] == "transfers:handover"
    assert reminder_for(event_name("first_conversation", kind)).page is None


def test_notifications_imports_nothing_of_deadlines():
    for path in NOTIFICATIONS.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            assert not any(n.split(".")[0] == "deadlines" for n in names), path
