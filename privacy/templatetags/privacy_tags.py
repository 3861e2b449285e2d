"""Labels for the privacy pages: codes in the export (roles, states, kinds) read as words, and
the export's ISO dates as local dates."""

import datetime as dt

from django import template
from django.utils import formats, timezone

register = template.Library()


@register.filter
def label(code, labels):
    """{{ code|label:roles }}: the label of a code in a dict of labels, else the code."""
    if code is None or code == "":
        return ""
    return labels.get(code, code)


@register.filter
def when(value):
    """An ISO date or date-time of the export, in the reader's format (local time)."""
    if not value:
        return ""
    try:
        parsed = dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return value
    if len(value) == 10:  # a date
        return formats.date_format(parsed.date(), "DATE_FORMAT")
    if timezone.is_aware(parsed):
        parsed = timezone.localtime(parsed)
    return formats.date_format(parsed, "DATETIME_FORMAT")
