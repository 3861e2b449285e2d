"""Records of the conversations on a case: the problem conversation and the all-party
change conversation, their invitations and attendance, the briefing of absent people, the
student's note and the improvement actions agreed."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.models import Case, Evaluation, Role


class Conversation(models.Model):
    class Kind(models.TextChoices):
        PROBLEM = "problem", _("problem conversation")
        # While the improvement actions run: to evaluate them (no change of the case's state).
        FOLLOW_UP = "follow_up", _("follow-up conversation")
        CHANGE = "change", _("all-party change conversation")

    class Status(models.TextChoices):
        PLANNED = "planned", _("planned")
        HELD = "held", _("held")
        CANCELLED = "cancelled", _("cancelled")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="conversations")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PLANNED
    )
    starts_at = models.DateTimeField(_("date and time"))
    location = models.CharField(_("place or online link"), max_length=300)
    planned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("planned by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    # One UID for the calendar invitation across reschedules and cancellation.
    ical_uid = models.UUIDField(default=uuid.uuid4, editable=False, unique=True)
    ical_sequence = models.PositiveIntegerField(default=0, editable=False)
    held_at = models.DateTimeField(_("recorded at"), null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    summary = models.TextField(_("summary"), blank=True)
    # The five questions of the change conversation, in the seed's words (step 3).
    problem = models.TextField(_("What is the problem?"), blank=True)
    what_was_done = models.TextField(_("What has already been done about it?"), blank=True)
    when_it_goes_well = models.TextField(
        _("What are the moments when it does go well?"), blank=True
    )
    student_needs = models.TextField(
        _("What does the student need to improve the situation (or to have it improved)?"),
        blank=True,
    )
    school_offers = models.TextField(_("What can the school offer to meet that?"), blank=True)

    class Meta:
        verbose_name = _("conversation")
        verbose_name_plural = _("conversations")
        ordering = ["starts_at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.starts_at:%Y-%m-%d %H:%M}"


class Invitation(models.Model):
    """An invited participant; `attended` stays empty until the conversation is recorded."""

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="invitations"
    )
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        on_delete=models.PROTECT,
        related_name="invitations",
    )
    role = models.CharField(_("role"), max_length=30, choices=Role.choices)
    attended = models.BooleanField(_("attended"), null=True, blank=True)
    briefed_at = models.DateTimeField(_("briefed at"), null=True, blank=True)
    briefed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("briefed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    read_summary_at = models.DateTimeField(_("read the summary at"), null=True, blank=True)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "person"], name="invitation_unique_person"
            )
        ]

    def __str__(self) -> str:
        return f"{self.person} ({self.get_role_display()})"

    @property
    def needs_briefing(self) -> bool:
        return self.attended is False and self.briefed_at is None


class StudentNote(models.Model):
    """The student's own note of a conversation: a draft until submitted."""

    conversation = models.OneToOneField(
        Conversation, on_delete=models.CASCADE, related_name="student_note"
    )
    text = models.TextField(_("note"), blank=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    logged_in_onstage_on = models.DateField(_("also logged in On Stage on"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("student note")
        verbose_name_plural = _("student notes")

    def __str__(self) -> str:
        return f"{self.conversation}"


class ImprovementAction(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("open")
        DONE = "done", _("done")
        # Still open when the case closed (withdrawn, transferred, stopped): closed with it.
        CLOSED = "closed", _("closed with the case")

    Evaluation = Evaluation  # the core's choices: the timeline renders them

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="actions")
    conversation = models.ForeignKey(
        Conversation, on_delete=models.SET_NULL, null=True, blank=True, related_name="actions"
    )
    description = models.CharField(_("what"), max_length=500)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("who"),
        on_delete=models.PROTECT,
        related_name="improvement_actions",
    )
    due_date = models.DateField(_("due date"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    evaluation = models.CharField(
        _("evaluation"), max_length=12, choices=Evaluation.choices, blank=True
    )
    evaluation_comment = models.TextField(_("evaluation comment"), blank=True)
    evaluated_at = models.DateTimeField(_("evaluated at"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("improvement action")
        verbose_name_plural = _("improvement actions")
        ordering = ["due_date", "pk"]
        indexes = [models.Index(fields=["status", "due_date"], name="action_status_due")]

    def __str__(self) -> str:
        return self.description
