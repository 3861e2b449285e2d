"""The office's filter forms: the case list's filter and the report's period."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases.forms import DateInput
from cases.models import Category, State, TrainingSchool

from .selectors import CLOSED, OPEN

SORT_LABELS = {
    "-signalled": gettext_lazy("newest signal first"),
    "signalled": gettext_lazy("oldest signal first"),
    "waiting": gettext_lazy("longest in this state first"),
    "student": gettext_lazy("student"),
    "school": gettext_lazy("training school"),
    "state": gettext_lazy("state"),
}


class OfficeFilterForm(forms.Form):
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


class PeriodForm(forms.Form):
    start = forms.DateField(label=gettext_lazy("From"), required=False, widget=DateInput)
    end = forms.DateField(
        label=gettext_lazy("Up to and including"), required=False, widget=DateInput
    )

    def period(self, today: dt.date) -> tuple[dt.date, dt.date]:
        data = self.cleaned_data if self.is_valid() else {}
        end = data.get("end") or today
        default_start = (end.replace(day=1) - dt.timedelta(days=335)).replace(day=1)
        start = data.get("start") or default_start
        if start > end:
            start, end = end, start
        return start, end
