"""The upload form of an attachment."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from cases.models import Case
from cases.rules import can
from cases.validators import CleanInputMixin

from . import sniffing
from .models import Attachment
from .services import check_upload, may_add_medical


def too_large_message() -> str:
    return str(_("The file is larger than %(limit)s.")) % {
        "limit": filesizeformat(settings.ATTACHMENT_MAX_BYTES)
    }


class AttachmentForm(CleanInputMixin, forms.Form):
    kind = forms.ChoiceField(label=_("What is it?"))
    conversation = forms.TypedChoiceField(
        label=_("With a conversation"),
        required=False,
        coerce=int,
        empty_value=None,
        help_text=_("Optional: the conversation the file belongs to."),
    )
    file = forms.FileField(
        label=_("File"),
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(sniffing.EXTENSIONS)}),
    )

    def __init__(self, *args, case: Case, user, too_large: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.case = case
        self.too_large = too_large
        kinds = Attachment.Kind.choices
        if not may_add_medical(user, case):
            kinds = [(v, label) for v, label in kinds if v != Attachment.Kind.MEDICAL]
        self.fields["kind"].choices = kinds
        conversations = [
            c
            for c in case.conversations.order_by("starts_at", "pk")
            if can(user, "cases.view_conversation", c)
        ]
        self.fields["conversation"].choices = [("", _("The case as a whole"))] + [
            (
                c.pk,
                f"{c.get_kind_display()}, {date_format(timezone.localtime(c.starts_at), 'j F Y')}",
            )
            for c in conversations
        ]
        self.fields["file"].help_text = _(
            "PDF, Word (DOCX), OpenDocument (ODT) or an image (PNG, JPEG, GIF, WebP), at most "
            "%(limit)s. A doctor's note is seen only by the student and the internship office."
        ) % {"limit": filesizeformat(settings.ATTACHMENT_MAX_BYTES)}

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if len(upload.name or "") > 255:
            raise forms.ValidationError(_("The file name is too long (at most 255 characters)."))
        check_upload(upload)
        return upload

    def full_clean(self) -> None:
        super().full_clean()
        if self.too_large and self.is_bound:
            # The upload handler stopped reading the file: say why rather than "no file".
            self.errors.pop("file", None)
            self.add_error("file", too_large_message())
