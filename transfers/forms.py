"""Forms of the change path: request, office contact, outcome, advice, placement, stop,
resume, warm handover and the wrap-up with the class."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.forms import DateInput, PersonChoiceField, StepForm
from cases.models import AdviceDecision, Outcome, TrainingSchool, User
from cases.selectors import active_users, picker_choices
from cases.validators import CleanInputMixin

from .models import ChangeRequest, Position, StudyStep


class RequestForm(StepForm):
    kind = forms.ChoiceField(
        label=_("What is requested?"), choices=ChangeRequest.Kind.choices, widget=forms.RadioSelect
    )
    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("The other people on the case are told about the request."),
    )


class InformForm(StepForm):
    note = forms.CharField(
        label=_("How and when was the office contacted?"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class OutcomeForm(StepForm):
    outcome = forms.ChoiceField(
        label=_("Outcome of the all-party conversation"),
        choices=Outcome.choices,
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label=_("Explanation"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("When opinions differ, this becomes the question for the ISOP owner."),
    )

    def __init__(self, *args, invitations=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.invitations = list(invitations)
        for invitation in self.invitations:
            self.fields[f"position_{invitation.person_id}"] = forms.ChoiceField(
                label=_("Position of %(person)s (%(role)s)")
                % {"person": invitation.person, "role": invitation.get_role_display()},
                choices=[("", "---------"), *Position.Stance.choices],
            )

    def positions(self) -> dict[int, str]:
        return {i.person_id: self.cleaned_data[f"position_{i.person_id}"] for i in self.invitations}


class AdviceForm(StepForm):
    decision = forms.ChoiceField(
        label=_("Advice"), choices=AdviceDecision.choices, widget=forms.RadioSelect
    )
    rationale = forms.CharField(label=_("Rationale"), widget=forms.Textarea(attrs={"rows": 6}))


class ReasonForm(StepForm):
    """A step that only needs a reason (drop the change, accept a conversation)."""

    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 4}))


class DecideForm(StepForm):
    decision = forms.ChoiceField(
        label=_("The internship office decides"),
        choices=AdviceDecision.choices,
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label=_("Reason"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Needed when the decision departs from the advice."),
    )

    def __init__(self, *args, advice=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.advice = advice
        if advice is not None and advice.decision:
            self.fields["decision"].initial = advice.decision

    def clean(self):
        data = super().clean()
        decision = data.get("decision")
        departs = self.advice is not None and decision and decision != self.advice.decision
        if departs and not (data.get("reason") or "").strip():
            self.add_error("reason", _("The decision departs from the advice: give the reason."))
        return data


class ConfirmForm(StepForm):
    """Only a confirmation button (the form carries the version the user saw)."""


class WrapUpFieldsMixin:
    """Adds the wrap-up fields so a placement or stop can record the wrap-up at once, or the
    office's confirmation of a wrap-up that the other party has not agreed yet."""

    def add_wrap_up_fields(self, *, required: bool = True) -> None:
        self.fields["last_day"] = forms.DateField(
            label=_("Last day at the school"), widget=DateInput(), required=required
        )
        self.fields["agreement"] = forms.CharField(
            label=_("What was agreed (saying goodbye to the class)"),
            widget=forms.Textarea(attrs={"rows": 4}),
            required=required,
        )

    def add_agree_field(self, unconfirmed) -> None:
        if unconfirmed is None:
            return
        self.fields["agree_wrap_up"] = forms.BooleanField(
            label=_("Mark the wrap-up as agreed on behalf of the one who has not confirmed it"),
            help_text=_("Recorded on %(date)s: last day %(last_day)s.")
            % {
                "date": unconfirmed.recorded_at.strftime("%d-%m-%Y"),
                "last_day": unconfirmed.last_day.strftime("%d-%m-%Y"),
            },
        )

    @property
    def has_wrap_up_fields(self) -> bool:
        return "agreement" in self.fields


class WrapUpForm(WrapUpFieldsMixin, StepForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_wrap_up_fields()


PICKED_ROLES = ("mentor", "school_trainer", "study_coach", "coordinating_trainer")


def set_people_pickers(form: forms.Form, search: str = "") -> None:
    """The people fields: any active person is valid; the list shows, per role, those who hold
    it at the case's board first, then elsewhere, then the others found by the search (by name
    or e-mail; never a list of everyone, never a username)."""
    users = active_users()
    board = form.case.placement.school.board if form.case is not None else None
    choices = picker_choices(list(PICKED_ROLES), board=board, search=search)
    for name in PICKED_ROLES:
        form.fields[name].queryset = users
        form.fields[name].widget.choices = choices[name]


class PlaceForm(WrapUpFieldsMixin, StepForm):
    school = forms.ModelChoiceField(
        label=_("Training school"),
        queryset=TrainingSchool.objects.select_related("board").order_by("name"),
    )
    mentor = PersonChoiceField(label=_("Mentor"), queryset=User.objects.none())
    school_trainer = PersonChoiceField(label=_("School trainer"), queryset=User.objects.none())
    study_coach = PersonChoiceField(
        label=_("Study coach"),
        queryset=User.objects.none(),
        help_text=_("A different study coach starts a warm handover from the current one."),
    )
    coordinating_trainer = PersonChoiceField(
        label=_("Coordinating school trainer"), queryset=User.objects.none(), required=False
    )
    start_date = forms.DateField(label=_("Start date"), widget=DateInput())
    shared_with_new_school = forms.CharField(
        label=_("What the student agreed to share with the new school"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "The new school's mentor and school trainer see this and that the student arrives; "
            "they do not see this case."
        ),
    )

    def __init__(
        self, *args, with_wrap_up: bool = False, unconfirmed=None, search: str = "", **kwargs
    ):
        super().__init__(*args, **kwargs)
        set_people_pickers(self, search)
        if self.case is not None:
            self.fields["study_coach"].initial = self.case.current_placement.study_coach_id
        if with_wrap_up:
            self.add_wrap_up_fields()
        self.add_agree_field(unconfirmed)

    def clean(self):
        data = super().clean()
        start, last_day = data.get("start_date"), data.get("last_day")
        if start and last_day and start < last_day:
            self.add_error(
                "start_date",
                _("The new placement cannot start before the last day at the current school."),
            )
        return data


class StopForm(WrapUpFieldsMixin, StepForm):
    temporary = forms.TypedChoiceField(
        label=_("Kind of stop"),
        choices=[("yes", _("temporary")), ("no", _("definitive"))],
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
    )
    expected_resume_date = forms.DateField(
        label=_("Expected resume date"),
        required=False,
        widget=DateInput(),
        help_text=_("Required for a temporary stop."),
    )

    def __init__(self, *args, with_wrap_up: bool = False, unconfirmed=None, **kwargs):
        super().__init__(*args, **kwargs)
        if with_wrap_up:
            self.add_wrap_up_fields()
        self.add_agree_field(unconfirmed)

    def clean(self):
        data = super().clean()
        resume = data.get("expected_resume_date")
        if data.get("temporary") and resume is not None and resume < timezone.localdate():
            self.add_error(
                "expected_resume_date", _("The expected resume date cannot be in the past.")
            )
        return data


class StopNowForm(StopForm):
    """The acute stop: a reason, temporary or definitive, and the wrap-up when there is one."""

    reason = forms.CharField(
        label=_("Reason for the stop"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("For example illness or a personal crisis. Everyone on the case is told."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_wrap_up_fields(required=False)
        self.fields["last_day"].help_text = _(
            "Only when a wrap-up with the class was agreed (the last day and how to say goodbye)."
        )
        self.order_fields(["temporary", "expected_resume_date", "reason"])

    def clean(self):
        data = super().clean()
        if bool(data.get("last_day")) != bool((data.get("agreement") or "").strip()):
            self.add_error(
                None,
                _("For a wrap-up with the class give both the last day and what was agreed."),
            )
        return data


class MakeDefinitiveForm(StepForm):
    ends_on = forms.DateField(
        label=_("The placement ends on"),
        widget=DateInput(),
        help_text=_("Usually the last day the student was at the school."),
    )
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["ends_on"].initial = timezone.localdate()

    def clean_ends_on(self):
        value = self.cleaned_data["ends_on"]
        if self.case is not None and value < self.case.current_placement.start_date:
            raise forms.ValidationError(_("This date is before the placement started."))
        return value


class ResumeForm(StepForm):
    """Resume on the current placement, or on a new one (then the placement fields are needed)."""

    SAME, NEW = "same", "new"
    PLACEMENT_FIELDS = ("school", "mentor", "school_trainer", "study_coach")

    resumed_on = forms.DateField(
        label=_("Resume date"),
        widget=DateInput(),
        help_text=_("The day the student starts again (on a new placement: its start date)."),
    )
    where = forms.ChoiceField(
        label=_("Where does the student resume?"),
        choices=[(SAME, _("On the current placement")), (NEW, _("On a new placement"))],
        initial=SAME,
        required=False,  # left out: the current placement
        widget=forms.RadioSelect,
    )
    school = forms.ModelChoiceField(
        label=_("Training school"),
        queryset=TrainingSchool.objects.select_related("board").order_by("name"),
        required=False,
    )
    mentor = PersonChoiceField(label=_("Mentor"), queryset=User.objects.none(), required=False)
    school_trainer = PersonChoiceField(
        label=_("School trainer"), queryset=User.objects.none(), required=False
    )
    study_coach = PersonChoiceField(
        label=_("Study coach"),
        queryset=User.objects.none(),
        required=False,
        help_text=_(
            "If the study coach changes, the previous coach hands over to the new one first, "
            "as for a transfer."
        ),
    )
    coordinating_trainer = PersonChoiceField(
        label=_("Coordinating school trainer"), queryset=User.objects.none(), required=False
    )
    shared_with_new_school = forms.CharField(
        label=_("What the student agreed to share with the new school"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, search: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        set_people_pickers(self, search)
        if self.case is not None:
            self.fields["study_coach"].initial = self.case.current_placement.study_coach_id
        self.fields["resumed_on"].initial = timezone.localdate()

    def clean(self):
        data = super().clean()
        if data.get("where") == self.NEW:
            for name in self.PLACEMENT_FIELDS:
                if not data.get(name):
                    self.add_error(name, _("Needed for a new placement."))
        resumed_on = data.get("resumed_on")
        case = self.case
        if resumed_on and case is not None and resumed_on < case.current_placement.start_date:
            self.add_error("resumed_on", _("This date is before the placement started."))
        return data

    @classmethod
    def new_placement(cls, data: dict) -> dict:
        """resume()'s keyword arguments for the new placement; empty for the same one."""
        if data.get("where") != cls.NEW:
            return {}
        names = (*cls.PLACEMENT_FIELDS, "coordinating_trainer", "shared_with_new_school")
        return {name: data.get(name) for name in names}


class HandoverForm(StepForm):
    contact_made_on = forms.DateField(
        label=_("Contact with the new coach made on"), widget=DateInput()
    )
    what_helped = forms.CharField(label=_("What helped"), widget=forms.Textarea(attrs={"rows": 4}))
    student_needs = forms.CharField(
        label=_("What the student needs"), widget=forms.Textarea(attrs={"rows": 4})
    )
    open_actions = forms.CharField(
        label=_("Open actions"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def clean_contact_made_on(self):
        value = self.cleaned_data["contact_made_on"]
        if value > timezone.localdate():
            raise forms.ValidationError(_("This date is in the future."))
        return value


class HandoverReceivedForm(CleanInputMixin, forms.Form):
    """Only a confirmation button: the new coach has read the handover."""


class StudyStepForm(StepForm):
    kind = forms.ChoiceField(label=_("What"), choices=StudyStep.Kind.choices)
    on = forms.DateField(label=_("Date"), widget=DateInput())
    note = forms.CharField(
        label=_("Note"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Optional: e.g. which credits, or the appointment made."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["on"].initial = timezone.localdate()

    def clean_on(self):
        value = self.cleaned_data["on"]
        if value.year < 2000 or value > timezone.localdate() + dt.timedelta(days=366):
            raise forms.ValidationError(_("Choose a date within a year from today."))
        return value
