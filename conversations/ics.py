"""Calendar invitations (RFC 5545) for a conversation, built with the icalendar package.

One UID per conversation for its whole life: rescheduling sends a REQUEST with a higher
SEQUENCE (calendar clients update the event), cancelling sends a CANCEL with the same UID.

Names and addresses come from the database, where an import, the shell or an identity provider
may have left a line break: a name is put on one line, an address that is not one valid line is
left out (the organiser becomes "noreply"), and texts lose their control characters. icalendar
escapes the rest (pyproject pins the major that escapes parameter values).
"""

from __future__ import annotations

import datetime as dt

import icalendar
from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from cases.validators import CONTROL_CHARACTERS, single_line, usable_email

from .models import Conversation

DURATION = dt.timedelta(hours=1)


def _text(value: object) -> str:
    """A text value: line breaks kept (icalendar escapes them), control characters dropped."""
    text = str(value or "").replace("\r\n", "\n").replace("\r", "\n")
    return CONTROL_CHARACTERS.sub("", text)


def _address(person, *, role: str | None = None) -> icalendar.vCalAddress | None:
    email = usable_email(person.email) if person is not None else ""
    if not email:
        return None
    address = icalendar.vCalAddress(f"mailto:{email}")
    address.params["cn"] = single_line(person)
    if role:
        address.params["role"] = role
    return address


def conversation_ics(conversation: Conversation, *, language: str | None = None) -> bytes:
    cancelled = conversation.status == Conversation.Status.CANCELLED
    with translation.override(language or settings.LANGUAGE_CODE):
        calendar = icalendar.Calendar()
        calendar.add("prodid", "-//Stagebureau//Conversations//NL")
        calendar.add("version", "2.0")
        calendar.add("method", "CANCEL" if cancelled else "REQUEST")
        event = icalendar.Event()
        event.add("uid", f"{conversation.ical_uid}@stagebureau")
        event.add("sequence", conversation.ical_sequence)
        event.add("dtstamp", timezone.now())
        event.add("dtstart", conversation.starts_at)
        event.add("dtend", conversation.starts_at + DURATION)
        # No sensitive details: which conversation, where, and a link to the case file.
        event.add(
            "summary",
            _("%(kind)s — case %(number)s")
            % {"kind": conversation.get_kind_display(), "number": conversation.case.number},
        )
        event.add("location", _text(conversation.location))
        event.add(
            "description",
            _("Details are in the case file, behind the login:")
            + f" {settings.SITE_URL}{conversation.case.get_absolute_url()}",
        )
        event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
        organizer = _address(conversation.planned_by)
        if organizer is None:
            organizer = icalendar.vCalAddress("mailto:noreply")
            organizer.params["cn"] = single_line(conversation.planned_by)
        event.add("organizer", organizer)
        for invitation in conversation.invitations.all():
            attendee = _address(invitation.person, role="REQ-PARTICIPANT")
            if attendee is not None:  # no (usable) address: invited in the application only
                event.add("attendee", attendee)
        calendar.add_component(event)
    return calendar.to_ical()
