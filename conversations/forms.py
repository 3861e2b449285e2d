"""Forms for planning and recording conversations and for improvement actions."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.forms import DateInput, DateTimeLocalInput, StepForm
from cases.models import FIVE_ANSWERS, Case, Role, User
from cases.services import ROLE_LABELS
from cases.validators import CleanInputMixin

from .models import Conversation, ImprovementAction

YES_NO = [("yes", _("present")), ("no", _("absent"))]


def case_people(case: Case):
    """Everyone on the case's placement, for selects of action owners."""
    ids = [p.pk for p in case.people(list(Role))]
    return User.objects.filter(pk__in=ids).order_by("last_name", "first_name", "username")


class CasePersonChoiceField(forms.ModelChoiceField):
    """The people on the case, shown by name and their role on it ("Mia Jansen (mentor)"),
    never by username."""

    def __init__(self, **kwargs):
        super().__init__(queryset=User.objects.none(), **kwargs)
        self.case: Case | None = None

    def for_case(self, case: Case) -> None:
        self.case = case
        self.queryset = case_people(case)

    def label_from_instance(self, obj: User) -> str:
        name = obj.get_full_name() or obj.username
        roles = sorted(self.case.roles_of(obj)) if self.case else []
        if not roles:
            return name
        return f"{name} ({', '.join(str(ROLE_LABELS.get(r, r)) for r in roles)})"


class PlanForm(StepForm):
    starts_at = forms.DateTimeField(
        label=_("Date and time"), widget=DateTimeLocalInput(), input_formats=["%Y-%m-%dT%H:%M"]
    )
    location = forms.CharField(
        label=_("Place or online link"),
        max_length=300,
        help_text=_("A room at the school, or the link of the online meeting."),
    )
    with_coordinating_trainer = forms.BooleanField(
        label=_("Invite the coordinating school trainer"), required=False
    )

    def __init__(self, *args, kind: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["starts_at"].input_formats = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
        coordinating = self.case.placement.coordinating_trainer if self.case else None
        if kind != Conversation.Kind.CHANGE or coordinating is None:
            del self.fields["with_coordinating_trainer"]
        else:
            self.fields["with_coordinating_trainer"].help_text = str(coordinating)


class RecordForm(StepForm):
    """Attendance per invited person, a summary, and for the change conversation five answers."""

    summary = forms.CharField(
        label=_("Summary"),
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("What was discussed and agreed. Absent people are briefed with it."),
    )

    def __init__(self, *args, conversation: Conversation, **kwargs):
        super().__init__(*args, **kwargs)
        self.conversation = conversation
        self.invitations = list(conversation.invitations.select_related("person").order_by("pk"))
        for invitation in self.invitations:
            self.fields[f"attended_{invitation.person_id}"] = forms.ChoiceField(
                label=f"{invitation.person} ({invitation.get_role_display()})",
                choices=YES_NO,
                widget=forms.RadioSelect,
            )
        if conversation.kind == Conversation.Kind.CHANGE:
            for name in FIVE_ANSWERS:
                model_field = Conversation._meta.get_field(name)
                self.fields[name] = forms.CharField(
                    label=model_field.verbose_name, widget=forms.Textarea(attrs={"rows": 3})
                )

    def attendance_fields(self):
        return [self[f"attended_{i.person_id}"] for i in self.invitations]

    def other_fields(self):
        return [f for f in self if not f.name.startswith("attended_") and not f.is_hidden]

    def attendance(self) -> dict[int, bool]:
        return {
            i.person_id: self.cleaned_data[f"attended_{i.person_id}"] == "yes"
            for i in self.invitations
        }

    def answers(self) -> dict[str, str] | None:
        if self.conversation.kind != Conversation.Kind.CHANGE:
            return None
        return {name: self.cleaned_data[name] for name in FIVE_ANSWERS}


class ActionForm(CleanInputMixin, forms.Form):
    description = forms.CharField(label=_("What"), max_length=500)
    owner = CasePersonChoiceField(label=_("Who"))
    due_date = forms.DateField(label=_("Due date"), widget=DateInput())

    def __init__(self, *args, case: Case, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].for_case(case)
        # An extra row may stay empty: it is not marked required; once anything in it is filled
        # in, every field is (see clean).
        self.optional_row = self.empty_permitted
        if self.optional_row:
            for field in self.fields.values():
                field.required = False

    def clean(self):
        cleaned = super().clean()
        if self.optional_row and self.has_changed():
            for name in self.fields:
                if cleaned.get(name) in (None, "") and name not in self.errors:
                    self.add_error(name, forms.Field.default_error_messages["required"])
        return cleaned


class BaseActionFormSet(forms.BaseFormSet):
    def __init__(self, *args, case: Case, **kwargs):
        self.case = case
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index):
        return {**super().get_form_kwargs(index), "case": self.case}


ActionFormSet = forms.formset_factory(
    ActionForm,
    formset=BaseActionFormSet,
    extra=2,
    min_num=1,
    validate_min=True,
    max_num=20,
    validate_max=True,
    absolute_max=20,  # a forged TOTAL_FORMS never builds more forms than this
)


# At a follow-up new actions are optional (the running ones are evaluated on their own pages).
FollowUpActionFormSet = forms.formset_factory(
    ActionForm,
    formset=BaseActionFormSet,
    extra=1,
    min_num=0,
    max_num=20,
    validate_max=True,
    absolute_max=20,
)


class AddActionForm(StepForm):
    description = forms.CharField(label=_("What"), max_length=500)
    owner = CasePersonChoiceField(label=_("Who is responsible"))
    due_date = forms.DateField(label=_("Due date"), widget=DateInput())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].for_case(self.case)
        self.fields["due_date"].initial = timezone.localdate() + dt.timedelta(days=14)


class EvaluateActionForm(StepForm):
    evaluation = forms.ChoiceField(
        label=_("Did it help?"),
        choices=ImprovementAction.Evaluation.choices,
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


# --- rescheduling, cancelling, planning again ----------------------------------------------


class RescheduleForm(CleanInputMixin, forms.Form):
    starts_at = forms.DateTimeField(
        label=_("New date and time"),
        widget=DateTimeLocalInput(),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )
    location = forms.CharField(
        label=_("Place or online link"),
        max_length=300,
        help_text=_("A room at the school, or the link of the online meeting."),
    )


class CancelForm(CleanInputMixin, forms.Form):
    reason = forms.CharField(
        label=_("Reason for cancelling"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("The invited people receive it with the cancellation."),
    )


class PlanAgainForm(PlanForm):
    """Plan a new conversation after a cancellation (the case's state does not change)."""


# --- briefing absent people ----------------------------------------------------------------


class BriefingForm(CleanInputMixin, forms.Form):
    note = forms.CharField(
        label=_("How was the person briefed? (optional)"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("For example: by phone, or the summary discussed in person."),
    )


# --- the student's note --------------------------------------------------------------------


class NoteForm(CleanInputMixin, forms.Form):
    """The student's note. Both buttons post the whole form: nothing typed is ever dropped."""

    text = forms.CharField(
        label=_("Your note of the conversation"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 14, "class": "note-text"}),
        help_text=_(
            "What was discussed, what was agreed and what it means for you. Save a draft as "
            "often as you like; the others read the note once you submit it."
        ),
    )
    logged_in_onstage_on = forms.DateField(
        label=_("Also logged in On Stage on"),
        required=False,
        widget=DateInput(),
        help_text=_("Only if your institute still asks you to log the note in On Stage."),
    )

    def __init__(self, *args, conversation: Conversation, submitted: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.conversation = conversation
        if submitted:
            # A submitted note is final; only the On Stage date can still be added.
            del self.fields["text"]

    def clean_text(self) -> str:
        # Browsers post textarea lines with CRLF; the note (and its Markdown) uses LF.
        return self.cleaned_data.get("text", "").replace("\r\n", "\n")

    def clean_logged_in_onstage_on(self) -> dt.date | None:
        value = self.cleaned_data.get("logged_in_onstage_on")
        if value is None:
            return None
        from django.utils import timezone

        if value > timezone.localdate():
            raise forms.ValidationError(_("This date is in the future."))
        if value < timezone.localdate(self.conversation.starts_at):
            raise forms.ValidationError(_("This date is before the conversation."))
        return value
