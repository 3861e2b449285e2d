"""The import's two forms: the upload and the confirmation of a preview."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.core.validators import FileExtensionValidator, RegexValidator
from django.utils.translation import gettext_lazy as _

from cases.validators import CleanInputMixin

from .reader import too_large_message

EXTENSIONS = ("csv", "txt", "xlsx")


class UploadForm(CleanInputMixin, forms.Form):
    file = forms.FileField(
        label=_("Placement file (CSV or XLSX)"),
        help_text=_(
            "An export of the student administration or the placement matching. The first row "
            "holds the column names; Dutch and English names are both fine."
        ),
        validators=[FileExtensionValidator(EXTENSIONS)],
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.xlsx"}),
    )

    def __init__(self, *args, too_large: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.too_large = too_large

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.IMPORT_MAX_BYTES:
            raise forms.ValidationError(too_large_message(settings.IMPORT_MAX_BYTES))
        if len(upload.name or "") > 200:
            raise forms.ValidationError(_("The file name is too long (at most 200 characters)."))
        return upload

    def full_clean(self) -> None:
        super().full_clean()
        if self.too_large and self.is_bound:
            # The upload handler stopped reading the file: say why rather than "no file".
            self.errors.pop("file", None)
            self.add_error("file", too_large_message(settings.IMPORT_MAX_BYTES))


class ConfirmForm(CleanInputMixin, forms.Form):
    # Text, not a UUIDField: the shared input hygiene measures lengths of strings.
    batch = forms.CharField(
        widget=forms.HiddenInput,
        max_length=36,
        validators=[
            RegexValidator(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
        ],
    )
    digest = forms.CharField(
        widget=forms.HiddenInput,
        max_length=64,
        validators=[RegexValidator(r"^[0-9a-f]{64}$")],
    )
