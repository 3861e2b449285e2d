"""Calendar invitations (RFC 5545) for a conversation, built with the icalendar package.

One UID per conversation for its whole life: rescheduling sends a REQUEST with a higher
SEQUENCE (calendar clients update the event), cancelling sends a CANCEL with the same UID.
"""

from __future__ import annotations

import datetime as dt

import icalendar
from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from .models import Conversation

DURATION = dt.timedelta(hours=1)


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
        event.add("location", conversation.location)
        event.add(
            "description",
            _("Details are in the case file, behind the login:")
            + f" {settings.SITE_URL}{conversation.case.get_absolute_url()}",
        )
        event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
        organizer = icalendar.vCalAddress(f"mailto:{conversation.planned_by.email or 'noreply'}")
        organizer.params["cn"] = str(conversation.planned_by)
        event.add("organizer", organizer)
        for invitation in conversation.invitations.all():
            if not invitation.person.email:
                continue
            attendee = icalendar.vCalAddress(f"mailto:{invitation.person.email}")
            attendee.params["cn"] = str(invitation.person)
            attendee.params["role"] = "REQ-PARTICIPANT"
            event.add("attendee", attendee)
        calendar.add_component(event)
    return calendar.to_ical()
