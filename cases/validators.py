"""Input hygiene shared by every form of the project, in one place.

`CleanInputMixin` (used by every form: cases, conversations, transfers) hardens each field of a
form, also the fields a form adds in its own ``__init__`` (the five answers, the wrap-up, the
positions), before it validates:

- free text: no NUL character (PostgreSQL cannot store it) and no other invisible control
  characters (tab and line breaks are fine), no lone surrogates; a maximum length, also on
  textareas (``LONG_TEXT_MAX_LENGTH``), so 100,000 pasted characters get a message instead of
  filling the database and every e-mail;
- dates and date-times: within ``EARLIEST_DATE``..``LATEST_DATE``, so a year 1 or 9999 never
  reaches the database or the calendar arithmetic (which would overflow: a server error).

HTML and JavaScript in a text are *not* refused: people may write "<" and "&", and every page
and e-mail escapes what it shows (tests/security/test_bad_input.py checks that).
"""

from __future__ import annotations

import datetime as dt
import re

from django import forms
from django.core import validators
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

LONG_TEXT_MAX_LENGTH = 20_000
EARLIEST_DATE = dt.date(2000, 1, 1)
LATEST_DATE = dt.date(2099, 12, 31)

# C0 control characters except tab, line feed and carriage return; DEL; lone surrogates.
CONTROL_CHARACTERS = re.compile("[\x01-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def validate_clean_text(value: str) -> None:
    """Refuse text that cannot be stored (NUL) or holds invisible control characters."""
    if not isinstance(value, str):
        return
    if "\x00" in value:
        raise ValidationError(
            _(
                "This text contains a null character, which cannot be stored. Remove it (it "
                "often comes from copying out of another program) and try again."
            ),
            code="null_characters_not_allowed",
        )
    if CONTROL_CHARACTERS.search(value):
        raise ValidationError(
            _(
                "This text contains invisible control characters (they often come from copying "
                "out of another program). Remove them and try again."
            ),
            code="control_characters",
        )


def validate_date_in_range(value: dt.date | dt.datetime | None) -> None:
    if value is None:
        return
    day = value.date() if isinstance(value, dt.datetime) else value
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise ValidationError(
            _("Choose a date between %(earliest)s and %(latest)s."),
            code="date_out_of_range",
            params={
                "earliest": EARLIEST_DATE.strftime("%d-%m-%Y"),
                "latest": LATEST_DATE.strftime("%d-%m-%Y"),
            },
        )


def harden_field(field: forms.Field) -> None:
    """Add the shared validators to one field (idempotent)."""
    if getattr(field, "_input_hardened", False):
        return
    field._input_hardened = True
    if isinstance(field, forms.CharField):
        # Our own message replaces Django's terse "null characters are not allowed".
        field.validators = [
            v
            for v in field.validators
            if not isinstance(v, validators.ProhibitNullCharactersValidator)
        ]
        field.validators.append(validate_clean_text)
        if field.max_length is None:
            field.max_length = LONG_TEXT_MAX_LENGTH
            field.validators.append(validators.MaxLengthValidator(LONG_TEXT_MAX_LENGTH))
            field.widget.attrs.update(field.widget_attrs(field.widget))
    elif isinstance(field, (forms.DateField, forms.DateTimeField)):
        field.validators.append(validate_date_in_range)


class CleanInputMixin:
    """Mix into a form (before forms.Form) to give all its fields the shared validators."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.harden_fields()

    def harden_fields(self) -> None:
        for field in self.fields.values():
            harden_field(field)

    def full_clean(self):
        self.harden_fields()  # fields a subclass added after our __init__
        super().full_clean()


# --------------------------------------------------------------------------------------------
# One-line values: names and e-mail addresses (they go into e-mail headers and calendar files)
# --------------------------------------------------------------------------------------------

# Any C0 control character (line breaks and tab included), DEL, the C1 controls, and the Unicode
# line and paragraph separators.
LINE_BREAKS_AND_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def single_line(value: object) -> str:
    """The value on one line: line breaks, tabs and control characters become spaces, runs of
    spaces one space. For names that come from outside (an identity provider, an import)."""
    return " ".join(LINE_BREAKS_AND_CONTROLS.sub(" ", str(value or "")).split())


def validate_single_line(value: str) -> None:
    """Refuse a line break or another control character in a one-line value (a name, an
    e-mail address): it would break an e-mail header or a calendar file."""
    if isinstance(value, str) and LINE_BREAKS_AND_CONTROLS.search(value):
        raise ValidationError(
            _(
                "This may not contain a line break, a tab or another control character. Put "
                "it on one line."
            ),
            code="not_single_line",
        )


def usable_email(value: str | None) -> str:
    """The address if it can go into an e-mail header or a calendar file as it is (one line, no
    spaces, something on both sides of an "@"), else an empty string."""
    value = (value or "").strip()
    local, at, domain = value.rpartition("@")
    if not (local and at and domain) or LINE_BREAKS_AND_CONTROLS.search(value):
        return ""
    if any(c.isspace() for c in value):
        return ""
    return value
