"""The office's import of a semester's placements: upload → preview → confirm.

The upload is read at once (`reader.read_table`); a file-level problem re-shows the form with
the reason. Otherwise its rows are kept as an `ImportBatch` (text only, the uploader's own, for
a day) and the preview shows per row what would happen; nothing is written. The confirmation
plans again and writes everything in one transaction or nothing (`services.import_commit`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_POST

from cases.uploads import limit_uploads
from cases.views import forbidden

from . import services
from .columns import BY_KEY, COLUMNS, REQUIRED, SCHOOL_KEYS
from .forms import ConfirmForm, UploadForm
from .models import ImportBatch
from .reader import FileProblem, read_table

# The preview lists every row up to this many; beyond, the rows that are not unchanged.
SHOW_ALL_ROWS = 200
SHOW_MAX_ROWS = 500


def office_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_office:
            return forbidden(request, _("Only the internship office can see this page."))
        return view(request, *args, **kwargs)

    return wrapper


@csrf_exempt
def upload(request: HttpRequest) -> HttpResponse:
    # The size limit must be in place before anything reads the body (the CSRF check would):
    # so the CSRF check runs inside, on `_upload`.
    limit = limit_uploads(request, settings.IMPORT_MAX_BYTES)
    request._import_size_limit = limit
    return _upload(request)


@csrf_protect
@office_only
@require_http_methods(["GET", "POST"])
def _upload(request: HttpRequest) -> HttpResponse:
    limit = request._import_size_limit
    if request.method == "POST":
        form = UploadForm(request.POST, request.FILES, too_large=limit.too_large)
    else:
        form = UploadForm()
    if request.method == "POST" and form.is_valid():
        uploaded = form.cleaned_data["file"]
        data = uploaded.read()
        try:
            table = read_table(
                data, max_rows=settings.IMPORT_MAX_ROWS, max_bytes=settings.IMPORT_MAX_BYTES
            )
        except FileProblem as problem:
            form.add_error("file", problem.message)
        else:
            ImportBatch.objects.purge()
            ImportBatch.objects.filter(uploaded_by=request.user).delete()
            batch = ImportBatch.objects.create_for(
                table,
                uploaded_by=request.user,
                filename=uploaded.name,
                sha256=hashlib.sha256(data).hexdigest(),
                size=len(data),
            )
            messages.info(
                request,
                _("The file was read: %(rows)s rows. Nothing is imported until you confirm.")
                % {"rows": len(table.rows)},
            )
            return redirect(_preview_url(batch))
    if form.errors:
        messages.error(request, _("The file cannot be imported; see below."))
    return render(request, "semester/upload.html", _upload_context(form))


def _upload_context(form: UploadForm) -> dict:
    return {
        "title": _("Import placements"),
        "form": form,
        "columns": COLUMNS,
        "required": set(REQUIRED),
        "school_keys": set(SCHOOL_KEYS),
        "max_mb": f"{settings.IMPORT_MAX_BYTES / 1_000_000:g}".replace(".", ","),
        "max_rows": f"{settings.IMPORT_MAX_ROWS:,}".replace(",", "."),
    }


def _preview_url(batch: ImportBatch) -> str:
    return f"{reverse('semester:import_preview')}?{urlencode({'batch': batch.token})}"


def _own_batch(request: HttpRequest, token: Any) -> ImportBatch | None:
    """The user's own upload that has not expired, or None (never someone else's)."""
    try:
        return ImportBatch.objects.live().get(token=token, uploaded_by=request.user)
    except (ImportBatch.DoesNotExist, ValidationError, ValueError, TypeError):
        return None


def _gone(request: HttpRequest) -> HttpResponse:
    messages.warning(
        request, _("This upload is no longer available (confirmed, replaced or expired).")
    )
    return redirect("semester:import")


@office_only
@require_http_methods(["GET"])
def preview(request: HttpRequest) -> HttpResponse:
    batch = _own_batch(request, request.GET.get("batch"))
    if batch is None:
        return _gone(request)
    report = services.import_preview(batch.table_rows, batch.columns)
    return _render_preview(request, batch, report)


def _render_preview(
    request: HttpRequest, batch: ImportBatch, report: services.Report, *, status: int = 200
) -> HttpResponse:
    rows = report.rows
    shortened = len(rows) > SHOW_ALL_ROWS
    if shortened:
        rows = [row for row in rows if row.status != services.UNCHANGED][:SHOW_MAX_ROWS]
    form = ConfirmForm(initial={"batch": batch.token, "digest": report.digest})
    context = {
        "title": _("Check the import"),
        "batch": batch,
        "report": report,
        "counts": report.counts,
        "rows": rows,
        "shortened": shortened,
        "form": form,
        "columns": [(BY_KEY[key].label, header) for key, header in batch.columns.items()],
        "expires": timezone.localtime(batch.expires_at),
    }
    return render(request, "semester/preview.html", context, status=status)


@office_only
@require_POST
def confirm(request: HttpRequest) -> HttpResponse:
    form = ConfirmForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("This form is incomplete or out of date. Upload the file again."))
        return redirect("semester:import")
    batch = None
    try:
        with transaction.atomic():
            # Locked: a double click or a second tab waits, then finds the batch gone.
            batch = (
                ImportBatch.objects.live()
                .select_for_update()
                .filter(token=form.cleaned_data["batch"], uploaded_by=request.user)
                .first()
            )
            if batch is None:
                return _gone(request)
            outcome = services.import_commit(
                batch.table_rows,
                batch.columns,
                by=request.user,
                source=batch.filename,
                expected_digest=form.cleaned_data["digest"],
            )
            batch.delete()
    except services.ImportRefused as refused:
        messages.error(request, refused.message)
        return _render_preview(request, batch, refused.report, status=409)
    except DatabaseError:
        messages.error(
            request,
            _(
                "The import failed and nothing was changed. Try again; if it fails again, contact "
                "the administrator."
            ),
        )
        return redirect(_preview_url(batch) if batch is not None else reverse("semester:import"))
    messages.success(request, outcome.summary())
    return redirect("semester:import")
