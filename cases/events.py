"""Step events: how the core says that something happened on a case and who is to be told.

The core publishes; it knows no subscriber. The outbox (`notifications`, a feature app above the
core) subscribes in its `AppConfig.ready()` and writes one row per recipient in the publisher's
transaction, delivered after the commit. So the arrows point one way: every app may publish
(through `cases.services.notify_roles` / `tell`), and the core never imports the outbox.

Subscribers run synchronously, in the order they subscribed, inside the caller's transaction: an
exception in one rolls the step back, as a failing `notify()` did when the core called it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["StepEvent", "publish", "subscribe", "subscribers"]


@dataclass(frozen=True)
class StepEvent:
    """One step on one case, with the people to tell (already filtered by need-to-know)."""

    case: Any
    event: str
    actor: Any
    recipients: tuple = ()
    # Identifies the step for de-duplication; None: the case's version (bumped by every step).
    step: str | None = None
    # What an e-mail may mention beyond the step (ids, dates; nothing sensitive).
    context: Mapping[str, Any] = field(default_factory=dict)
    # A file for the e-mail ({"filename", "mimetype", "content"}), or a function of the person.
    attachment: Any = None
    # A transition ran: people who can no longer see the case lose its unread notifications.
    transition: bool = False


_subscribers: list[Callable[[StepEvent], None]] = []


def subscribe(handler: Callable[[StepEvent], None]) -> Callable[[StepEvent], None]:
    """Register a handler for every step event (idempotent: a second call changes nothing)."""
    if handler not in _subscribers:
        _subscribers.append(handler)
    return handler


def subscribers() -> tuple[Callable[[StepEvent], None], ...]:
    return tuple(_subscribers)


def publish(event: StepEvent) -> None:
    for handler in tuple(_subscribers):
        handler(event)
