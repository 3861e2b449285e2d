"""The e-mail for one outbox row: one rendering helper, wording per kind of event.

An e-mail says who, which step and where to look (a link behind the login); never the case's
description, notes, summaries or answers. The wording is chosen here, in the recipient's
language; the templates emails/notification-{subject,body}.* lay it out as text and HTML.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from cases.models import User

from .labels import Reminder, label_for, reminder_for
from .models import Notification

INVITATION_EVENTS = {"plan_conversation", "plan_change_conversation"}
HEADER_ID = "X-Stagebureau-Notification"


def message_id(notification: Notification) -> str:
    """The e-mail's Message-ID, the same on every attempt to send this outbox row (a send that
    was cut off after the mail server accepted it is sent again with the same id, so that mail
    systems and readers can tell the two apart from a new message): made of the row's id, a
    digest of its dedupe key and the site's domain."""
    digest = hashlib.sha256(f"{notification.pk}:{notification.dedupe_key}".encode()).hexdigest()
    domain = urlsplit(settings.SITE_URL).hostname or "stagebureau.localhost"
    return f"<notification-{notification.pk}.{digest[:16]}@{domain}>"


@dataclass
class Message:
    subject: str
    lines: list[str] = field(default_factory=list)
    link: str = ""
    link_label: str = ""


def _site(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def _when(value: str | None) -> str | None:
    if not value:
        return None
    moment = dt.datetime.fromisoformat(value)
    # Day, month name (in the active language), year and 24-hour time: "3 December 2026 10:00".
    return formats.date_format(timezone.localtime(moment), "j F Y H:i")


def _names(ids: list[int]) -> str:
    people = [str(p) for p in User.objects.filter(pk__in=ids)]
    return ", ".join(people)


def _subject(label: str, number: str) -> str:
    return _("[Stagebureau] %(label)s — case %(number)s") % {"label": label, "number": number}


def _reminder(n: Notification, reminder: Reminder, number: str, case_link: str) -> Message:
    """A deadline's reminder, due-soon warning or escalation; its wording registered by the
    deadline clock (labels.Reminder), who is responsible from the row's context."""
    values = {"step": str(reminder.step), "number": number}
    if reminder.due_soon:
        subject = _("[Stagebureau] Due soon: %(step)s — case %(number)s") % values
        first = _("A step in case %(number)s is due soon: %(step)s.") % values
    else:
        subject = _("[Stagebureau] Overdue: %(step)s — case %(number)s") % values
        first = _("A step in case %(number)s is overdue: %(step)s.") % values
    lines = [first]
    if reminder.escalated:
        lines.append(_("The deadline has passed; this is escalated to the internship office."))
    responsible = list(n.context.get("responsible") or [])
    if n.recipient_id in responsible:
        lines.append(_("You are responsible for this step."))
    elif responsible:
        lines.append(_("Responsible: %(names)s.") % {"names": _names(responsible)})
    else:
        lines.append(_("Responsible: the internship office."))
    link, label = case_link, _("Open the case file")
    if reminder.page is not None and n.recipient_id in responsible:
        url_name, page_label = reminder.page
        link, label = _site(reverse(url_name, args=[n.case_id])), str(page_label)
    return Message(subject, lines, link, label)


def _handover(n: Notification, number: str, case_link: str) -> Message:
    case = n.case
    handover = case.handovers.select_related("old_coach", "new_coach").order_by("-pk").first()
    student = case.placement.student
    old = handover.old_coach if handover else None
    new = handover.new_coach if handover else case.placement.study_coach
    values = {"student": student, "old": old or "—", "new": new or "—", "number": number}
    subject = _("[Stagebureau] Warm handover to a new study coach — case %(number)s") % values
    section = f"{case_link}#change-heading"
    if old is not None and n.recipient_id == old.pk:
        lines = [
            _("%(student)s has a new study coach: %(new)s.") % values,
            _(
                "As the previous study coach, please contact %(new)s for a warm handover and "
                "record it on the handover page. You will be reminded until it is recorded."
            )
            % values,
        ]
        link = _site(reverse("transfers:handover", args=[case.pk]))
        return Message(subject, lines, link, _("Open the handover page"))
    if new is not None and n.recipient_id == new.pk:
        lines = [
            _("You are the new study coach of %(student)s.") % values,
            _(
                "The previous study coach, %(old)s, will contact you for a warm handover; "
                "confirm receipt in the handover section of the case file."
            )
            % values,
        ]
    else:
        lines = [
            _("You have a new study coach: %(new)s.") % values,
            _("Your previous study coach, %(old)s, hands your guidance over to them.") % values,
        ]
    return Message(subject, lines, section, _("Open the handover section"))


def _invitation(n: Notification, number: str, case_link: str, label: str) -> Message | None:
    when = _when(n.context.get("starts_at"))
    if when is None:
        return None
    values = {"number": number, "when": when}
    if n.event == "conversation_cancelled":
        lines = [_("The conversation about case %(number)s on %(when)s is cancelled.") % values]
        if n.attachment:
            lines.append(_("The attachment removes it from your calendar."))
    elif n.event == "conversation_rescheduled":
        lines = [_("The conversation about case %(number)s is moved to %(when)s.") % values]
        if n.attachment:
            lines.append(_("The attached invitation updates your calendar."))
    else:
        lines = [_("You are invited to a conversation about case %(number)s on %(when)s.") % values]
        if n.attachment:
            lines.append(_("The calendar invitation is attached."))
    return Message(_subject(label, number), lines, case_link, _("Open the case file"))


def describe(n: Notification) -> Message:
    """What the e-mail says, in the active language."""
    number = n.case.number
    case_link = _site(n.case.get_absolute_url())
    label = label_for(n.event)
    reminder = reminder_for(n.event)
    if reminder is not None:
        return _reminder(n, reminder, number, case_link)
    if n.event == "handover_started":
        return _handover(n, number, case_link)
    if n.event in INVITATION_EVENTS or n.event.startswith("conversation_"):
        message = _invitation(n, number, case_link, label)
        if message is not None:
            return message
    line = _("There is a new step in case %(number)s: %(label)s.") % {
        "number": number,
        "label": label,
    }
    return Message(_subject(label, number), [line], case_link, _("Open the case file"))


def render_email(notification: Notification) -> EmailMultiAlternatives:
    """The e-mail (plain text + HTML, optional attachment) in the recipient's language."""
    recipient = notification.recipient
    language = recipient.language or settings.LANGUAGE_CODE
    with translation.override(language):
        message = describe(notification)
        context = {
            "recipient": recipient,
            "case_number": notification.case.number,
            "actor": notification.actor,
            "message": message,
            "link": message.link,
            "LANGUAGE_CODE": language,
        }
        subject = render_to_string("emails/notification-subject.txt", context).strip()
        text = render_to_string("emails/notification-body.txt", context)
        html = render_to_string("emails/notification-body.html", context)
    email = EmailMultiAlternatives(
        " ".join(subject.split()),
        text,
        to=[recipient.email],
        headers={"Message-ID": message_id(notification), HEADER_ID: str(notification.pk)},
    )
    email.attach_alternative(html, "text/html")
    if notification.attachment:
        attachment = notification.attachment
        email.attach(
            attachment.get("filename") or "attachment",
            attachment.get("content", ""),
            attachment.get("mimetype") or "application/octet-stream",
        )
    return email
