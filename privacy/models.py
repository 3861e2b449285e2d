"""The access log: who opened, downloaded, exported or changed which case file, and when.

Moved here from `cases` (issue #14) with its table: `db_table` keeps `cases_accesslog`, and the
migration renamed the content type, so the permission `privacy.view_accesslog` (the privacy
officer's, see `PRIVACY_OFFICER_GROUP`) is the same row as before. Append-only through the
core's base (`cases.models.AppendOnlyModel`)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.models import AppendOnlyModel, AppendOnlyQuerySet, Case

# Whoever holds this permission (by a group or directly; NOT implied by being a superuser) is the
# privacy officer. `cases.models.PRIVACY_OFFICER_PERMISSION` names it as a string for the
# fallback of `User.is_privacy_officer` (the core imports nothing of this app; a test keeps the
# two equal).
ACCESS_LOG_PERMISSION = ("privacy", "view_accesslog")
# The group that holds it (migration cases/0005 made it; services.privacy_officer_group()
# restores it).
PRIVACY_OFFICER_GROUP = "Privacyfunctionaris"


class AccessLogQuerySet(AppendOnlyQuerySet):
    refusal = "The access log is append-only."


class AccessLog(AppendOnlyModel):
    """Who looked at or exported which case file, when, on which page; refused attempts too.

    Never holds the content itself. Written for every case-scoped request (view, download,
    export) and for every refused one (403/404 on a case: a security event)."""

    refusal = "The access log is append-only."

    class Kind(models.TextChoices):
        VIEW = "view", _("viewed")
        EXPORT = "export", _("exported or downloaded")
        CHANGE = "change", _("submitted a form")
        REFUSED = "refused", _("refused (security event)")

    at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    # No database constraints on the people either, and no index of their own where a Meta
    # index starts with the column: an export writes one row per exported case (100,000 rows at
    # a time), and each constraint is a trigger per row. The rows come from the request's user
    # and the case's placement, never from input; SET_NULL is Django's, not the database's.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.SET_NULL,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    username = models.CharField(_("username"), max_length=150, blank=True)
    # No database constraint: a refused request may name a case id that does not exist.
    case = models.ForeignKey(
        Case,
        verbose_name=_("case"),
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,  # access_log_case_at
        null=True,
        blank=True,
        related_name="+",
    )
    # The case's student at the time of access: the privacy officer lists the log per student.
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("student"),
        on_delete=models.SET_NULL,
        db_constraint=False,
        db_index=False,  # access_log_student_at
        null=True,
        blank=True,
        related_name="+",
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    page = models.CharField(_("page"), max_length=100, blank=True)
    path = models.CharField(_("address"), max_length=300, blank=True)
    method = models.CharField(max_length=10, blank=True)
    status = models.PositiveSmallIntegerField(_("response status"), null=True, blank=True)

    objects = AccessLogQuerySet.as_manager()

    class Meta:
        db_table = "cases_accesslog"  # the table of the model's first home, kept by the move
        verbose_name = _("access log entry")
        verbose_name_plural = _("access log")
        ordering = ["-at", "-pk"]
        indexes = [
            models.Index(fields=["student", "-at"], name="access_log_student_at"),
            models.Index(fields=["case", "-at"], name="access_log_case_at"),
            models.Index(
                fields=["-at"], name="access_log_refused_at", condition=models.Q(kind="refused")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.username} {self.kind} {self.case_id} {self.page}"
