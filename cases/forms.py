"""Forms of the case pages. Every step form carries the case version the user saw, so that two
people acting on one case get "changed meanwhile" instead of silently overwriting each other."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Case, Category, Deputy, Placement, Role, User
from .selectors import person_label
from .validators import CleanInputMixin


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%dT%H:%M")


class PersonChoiceField(forms.ModelChoiceField):
    """A select of people by name, with the e-mail address to tell namesakes apart (never the
    username)."""

    def label_from_instance(self, obj: User) -> str:
        return person_label(obj)


class StepForm(CleanInputMixin, forms.Form):
    """Base of every form that changes a case: carries the case version seen at GET."""

    seen_version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, case: Case | None = None, **kwargs):
        self.case = case
        initial = kwargs.setdefault("initial", {})
        if case is not None:
            initial.setdefault("seen_version", case.version)
        super().__init__(*args, **kwargs)

    def clean(self):
        data = super().clean()
        if "seen_version" in self.errors:
            # A hidden field the user cannot correct: say what to do instead.
            self.add_error(
                None, _("This form is incomplete or out of date. Reload the page and try again.")
            )
        return data


class PlacementChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Placement) -> str:
        return _("%(student)s at %(school)s (since %(start)s)") % {
            "student": obj.student,
            "school": obj.school,
            "start": obj.start_date.strftime("%d-%m-%Y"),
        }


class SignalForm(CleanInputMixin, forms.Form):
    placement = PlacementChoiceField(
        label=_("Placement"),
        queryset=Placement.objects.none(),
        help_text=_("The student and the school the problem is about."),
    )
    categories = forms.MultipleChoiceField(
        label=_("What is it about?"),
        choices=Category.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Choose one or more."),
    )
    description = forms.CharField(
        label=_("Describe the problem"),
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("What happens, since when, and what has been tried already."),
    )

    confidential = forms.BooleanField(
        label=_("Confidential to the internship office first"),
        required=False,
        help_text=_(
            "Only the internship office sees this signal until it has talked to you. "
            "Use this when the problem is your mentor or school trainer."
        ),
    )

    # The earlier, closed case this signal follows up on (from the closed case's button).
    follows = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)

    def __init__(self, *args, placements=None, allow_confidential: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not allow_confidential:  # only a student signals confidentially
            del self.fields["confidential"]
        if placements is not None:
            self.fields["placement"].queryset = placements
            if len(placements) == 1:
                self.fields["placement"].initial = placements[0].pk


class ResolveForm(StepForm):
    note = forms.CharField(
        label=_("Closing note"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Optional: why the problem is considered solved."),
    )


class ReopenForm(StepForm):
    reason = forms.CharField(
        label=_("Reason for reopening"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("The case keeps its number; the timeline continues."),
    )


class WithdrawForm(StepForm):
    reason = forms.CharField(
        label=_("Reason for withdrawing"),
        widget=forms.Textarea(attrs={"rows": 4}),
    )


REASSIGN_ROLE_CHOICES = [
    (Role.MENTOR.value, Role.MENTOR.label),
    (Role.SCHOOL_TRAINER.value, Role.SCHOOL_TRAINER.label),
    (Role.STUDY_COACH.value, Role.STUDY_COACH.label),
    (Role.COORDINATING_TRAINER.value, Role.COORDINATING_TRAINER.label),
]


class NamedPersonChoiceField(forms.ModelChoiceField):
    """People by name, with their e-mail address to tell namesakes apart (never usernames)."""

    def label_from_instance(self, obj: User) -> str:
        return person_label(obj)


class ReassignForm(StepForm):
    """The office puts someone else in a role on the case's placement."""

    role = forms.ChoiceField(label=_("Role"), choices=REASSIGN_ROLE_CHOICES)
    person = NamedPersonChoiceField(
        label=_("New person in this role"),
        queryset=User.objects.none(),
        help_text=_(
            "People who hold a role on placements of this school's board. Not in the list? "
            "Search by name above."
        ),
    )
    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("For the timeline, e.g. “mentor ill until the spring holiday”."),
    )

    def __init__(self, *args, people=None, **kwargs):
        super().__init__(*args, **kwargs)
        if people is not None:
            self.fields["person"].queryset = people


class AssignMentorForm(CleanInputMixin, forms.Form):
    """The school trainer fills in the mentor of a placement left "to be assigned"."""

    person = NamedPersonChoiceField(
        label=_("Mentor"),
        queryset=User.objects.none(),
        help_text=_("Mentors at this school's board first. Not in the list? Search by name above."),
    )

    def __init__(self, *args, people=None, **kwargs):
        super().__init__(*args, **kwargs)
        if people is not None:
            self.fields["person"].queryset = people


class DeputyForm(CleanInputMixin, forms.Form):
    """The office names a deputy for a global role and a period."""

    role = forms.ChoiceField(
        label=_("Deputy for"), choices=[(r.value, r.label) for r in Deputy.ROLES]
    )
    person = NamedPersonChoiceField(label=_("Deputy"), queryset=User.objects.none())
    starts_on = forms.DateField(label=_("From"), widget=DateInput())
    ends_on = forms.DateField(label=_("Until"), widget=DateInput(), help_text=_("Included."))

    def __init__(self, *args, people=None, **kwargs):
        super().__init__(*args, **kwargs)
        if people is not None:
            self.fields["person"].queryset = people

    def clean(self):
        data = super().clean()
        starts, ends = data.get("starts_on"), data.get("ends_on")
        if starts and ends and ends < starts:
            self.add_error("ends_on", _("The end date is before the start date."))
        return data
