"""Labels as data: how the events of the outbox read in the inbox and the e-mails.

The core's events have their labels in `cases.models.EVENT_LABELS`. An app above notifications
that writes events of its own into the outbox (the deadline clock: "deadline:<rule>:<kind>")
registers their labels here when it starts (its `AppConfig.ready()`), and for a reminder the
wording the e-mail needs (`Reminder`). notifications imports none of those apps, and the core's
table stays the core's.

Lookups are by the stored event name only, so a row written before (any release) renders the
same way as a new one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cases.models import EVENT_LABELS, event_label

__all__ = [
    "Reminder",
    "all_labels",
    "label_for",
    "register_labels",
    "register_reminders",
    "reminder_for",
]

# event name -> label (a lazy translation, rendered in the language active at render time)
_LABELS: dict[str, Any] = {}
_REMINDERS: dict[str, Reminder] = {}


@dataclass(frozen=True)
class Reminder:
    """What the e-mail of a reminder says beyond its recipients: the step (its label), whether
    it warns before the deadline (`due_soon`) or tells that it has passed, whether the office
    has it now (`escalated`), and the page where the responsible person takes the step
    (`page`: a URL name taking the case's id, with the link's text), else the case file."""

    step: Any
    due_soon: bool = False
    escalated: bool = False
    page: tuple[str, Any] | None = None


def _check(mapping: Mapping[str, Any]) -> None:
    clash = set(mapping) & set(EVENT_LABELS)
    if clash:
        raise ValueError(f"Events of the core cannot be registered again: {sorted(clash)}")


def register_labels(mapping: Mapping[str, Any]) -> None:
    """Add the labels of events that an app above writes into the outbox (event -> label)."""
    _check(mapping)
    _LABELS.update(mapping)


def register_reminders(mapping: Mapping[str, Reminder]) -> None:
    """Add the reminder wording of deadline events (event -> Reminder)."""
    _check(mapping)
    _REMINDERS.update(mapping)


def label_for(event: str) -> str:
    """The label of an event in the active language: a registered one, the core's, else the
    event's name."""
    label = _LABELS.get(event)
    return str(label if label is not None else event_label(event))


def reminder_for(event: str) -> Reminder | None:
    """The reminder wording of a deadline event; None for any other event."""
    return _REMINDERS.get(event)


def all_labels() -> dict[str, Any]:
    """Every known event's label (lazy): for pages that translate many codes at once."""
    return {**EVENT_LABELS, **_LABELS}
