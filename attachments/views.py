"""Adding an attachment (a step page of the case) and downloading one."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, QueryDict
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET

from cases.models import GuardFailed
from cases.rules import can
from cases.uploads import limit_uploads
from cases.views import StepView, forbidden

from . import selectors, services
from .forms import AttachmentForm


class AddAttachmentStep(StepView):
    """A record, not a transition: a file on the case or one of its conversations."""

    form_class = AttachmentForm
    template_name = "attachments/add.html"
    title = gettext_lazy("Add an attachment")
    intro = gettext_lazy(
        "An improvement plan, a personal development plan (POP), an agreement form, a doctor's "
        "note or another document. Everyone who sees the case (or the conversation) sees it; "
        "a doctor's note only the student and the internship office."
    )
    success = gettext_lazy("The attachment has been added.")
    submit_label = gettext_lazy("Add")

    def refuse(self) -> HttpResponse | None:
        if not can(self.request.user, "attachments.add_attachment", self.case):
            return forbidden(
                self.request,
                _("You cannot add an attachment to this case."),
                case=self.case,
            )
        return None

    def get_form(self, data: QueryDict | None) -> Any:
        limit = getattr(self.request, "_attachment_size_limit", None)
        initial = {}
        conversation = self.request.GET.get("conversation", "")
        if conversation.isdigit():
            initial["conversation"] = conversation
        return AttachmentForm(
            data,
            self.request.FILES if data is not None else None,
            case=self.case,
            user=self.request.user,
            too_large=bool(limit and limit.too_large),
            initial=initial,
        )

    def get_context(self) -> dict[str, Any]:
        return {"attachments": selectors.visible_attachments(self.request.user, self.case)}

    def perform(self, data: dict[str, Any]) -> object:
        try:
            return services.attachment_add(
                case_id=self.case.pk,
                by=self.request.user,
                kind=data["kind"],
                upload=data["file"],
                conversation_id=data.get("conversation"),
            )
        except ValidationError as exc:
            raise GuardFailed(" ".join(exc.messages)) from exc


_add_step = csrf_protect(AddAttachmentStep.as_view())


@csrf_exempt
def add_attachment(request: HttpRequest, pk: int) -> HttpResponse:
    # The size limit must be in place before anything reads the body (the CSRF check would),
    # so the CSRF check runs inside, on the step itself.
    limit = limit_uploads(request, settings.ATTACHMENT_MAX_BYTES)
    request._attachment_size_limit = limit
    return _add_step(request, pk=pk)


@login_required
@require_GET
def download(request: HttpRequest, attachment_pk: int) -> HttpResponse:
    """The file as an attachment (never shown inline), with its sniffed type and nosniff; 404
    for whoever is not related to its case, 403 for a related person who may not see it (a
    doctor's note, an all-party conversation's file for the mentor). The access log records
    it as an export (privacy/audit.py)."""
    attachment, allowed = selectors.attachment_for_user(request.user, attachment_pk)
    if attachment is None:
        raise Http404
    if not allowed:
        return forbidden(request, _("This attachment is not yours to see."), case=attachment.case)
    try:
        handle = attachment.file.open("rb")
    except (FileNotFoundError, OSError) as exc:
        raise Http404 from exc
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=attachment.original_name,
        content_type=attachment.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
