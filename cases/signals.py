"""The timeline receiver: every transition of a case writes one append-only event.

This is the only receiver in the project and it only logs; domain logic lives in services.
"""

from django.dispatch import receiver
from django_fsm.signals import post_transition

from .models import Case, CaseEvent


@receiver(post_transition, sender=Case)
def write_timeline_event(sender, instance: Case, name, source, target, **kwargs) -> None:
    if "exception" in kwargs:
        return
    method_kwargs = kwargs.get("method_kwargs") or {}
    CaseEvent.objects.create(
        case=instance,
        actor=method_kwargs.get("by"),
        on_behalf_of=method_kwargs.get("on_behalf_of"),
        kind=CaseEvent.Kind.TRANSITION,
        name=name,
        from_state=source,
        to_state=target,
        note=(method_kwargs.get("note") or "").strip(),
        data=_data(instance, method_kwargs.get("data")),
    )


def _data(case: Case, data: dict | None) -> dict:
    """The event's data, with the kind of change the case is on (a stop request's states and
    label read as a stop on the timeline)."""
    data = dict(data or {})
    if case.change_kind:
        data.setdefault("kind", case.change_kind)
    return data
