"""The office's filter forms: the case list's filter and the report's period."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases.forms import DateInput
from cases.models import Category, State, TrainingSchool
from cases.validators import CleanInputMixin

from .selectors import CLOSED, OPEN

SORT_LABELS = {
    "-signalled": gettext_lazy("newest signal first"),
    "signalled": gettext_lazy("oldest signal first"),
    "waiting": gettext_lazy("longest in this state first"),
    "student": gettext_lazy("student"),
    "school": gettext_lazy("training school"),
    "state": gettext_lazy("state"),
}


# The longest period of the pictures and the steering group's report: a bar per month, so the
# page and the download stay small whatever dates are asked for.
MAX_PERIOD_MONTHS = 60


def months_between(start: dt.date, end: dt.date) -> int:
    """How many calendar months the period touches (1 for a period within one month)."""
    return (end.year - start.year) * 12 + end.month - start.month + 1


class OfficeFilterForm(CleanInputMixin, forms.Form):
    q = forms.CharField(
        label=gettext_lazy("Student name or number"), required=False, max_length=100
    )
    state = forms.ChoiceField(label=gettext_lazy("State"), required=False)
    school = forms.TypedChoiceField(
        label=gettext_lazy("Training school"), required=False, coerce=int, empty_value=None
    )
    board = forms.TypedChoiceField(
        label=gettext_lazy("Board"), required=False, coerce=int, empty_value=None
    )
    study_coach = forms.CharField(label=gettext_lazy("Study coach"), required=False, max_length=100)
    school_trainer = forms.CharField(
        label=gettext_lazy("School trainer"), required=False, max_length=100
    )
    category = forms.ChoiceField(label=gettext_lazy("Category"), required=False)
    overdue = forms.BooleanField(label=gettext_lazy("Only with an overdue step"), required=False)
    signalled_from = forms.DateField(
        label=gettext_lazy("Signalled from"), required=False, widget=DateInput
    )
    signalled_to = forms.DateField(
        label=gettext_lazy("Signalled up to and including"), required=False, widget=DateInput
    )
    sort = forms.ChoiceField(label=gettext_lazy("Sort by"), required=False)

    def __init__(self, *args, schools: list[TrainingSchool], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["state"].choices = [
            ("", _("all states")),
            (OPEN, _("all open cases")),
            (CLOSED, _("all closed cases")),
            *State.choices,
        ]
        self.fields["school"].choices = [("", _("all schools"))] + [(s.pk, str(s)) for s in schools]
        boards = sorted({(s.board.name, s.board_id) for s in schools})
        self.fields["board"].choices = [("", _("all boards"))] + [(pk, name) for name, pk in boards]
        self.fields["category"].choices = [("", _("all categories")), *Category.choices]
        self.fields["sort"].choices = list(SORT_LABELS.items())

    def clean(self) -> dict:
        data = super().clean()
        start, end = data.get("signalled_from"), data.get("signalled_to")
        if start and end and end < start:
            self.add_error("signalled_to", _("The end of the period lies before its start."))
        return data


class PeriodForm(CleanInputMixin, forms.Form):
    """The period of the pictures and the report: dates within 2000-2099 (the shared input
    rule), at most MAX_PERIOD_MONTHS months; by default the twelve months up to today. An
    invalid period shows its message and the default period."""

    start = forms.DateField(label=gettext_lazy("From"), required=False, widget=DateInput)
    end = forms.DateField(
        label=gettext_lazy("Up to and including"), required=False, widget=DateInput
    )

    def __init__(self, *args, today: dt.date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today

    def clean(self) -> dict:
        data = super().clean()
        if not self.errors:
            start, end = self._period(data)
            if months_between(start, end) > MAX_PERIOD_MONTHS:
                raise forms.ValidationError(
                    _("Choose a period of at most %(years)d years.")
                    % {"years": MAX_PERIOD_MONTHS // 12},
                    code="period_too_long",
                )
        return data

    def _period(self, data: dict) -> tuple[dt.date, dt.date]:
        end = data.get("end") or self.today
        default_start = (end.replace(day=1) - dt.timedelta(days=335)).replace(day=1)
        start = data.get("start") or default_start
        if start > end:
            start, end = end, start
        return start, end

    def period(self) -> tuple[dt.date, dt.date]:
        return self._period(self.cleaned_data if self.is_valid() else {})
