"""The office's configuration of the deadline clock: the periods of the rules and the school
holidays. Moved from notifications; the tables keep their names (migration 0001)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from cases.models import TrainingSchool

from .rules import RULES


class DeadlineRule(models.Model):
    """How many working days a step may take before a reminder and an escalation.

    One row per deadline of process.md; the office edits them in the admin, no deploy needed.
    A missing row means the default from deadlines.rules.RULES.
    """

    key = models.CharField(_("deadline"), max_length=40, unique=True)
    remind_after = models.SmallIntegerField(
        _("remind after (working days)"),
        null=True,
        blank=True,
        help_text=_(
            "Negative: that many working days before the date (resume). Empty: no reminder."
        ),
    )
    escalate_after = models.SmallIntegerField(
        _("escalate to the office after (working days)"),
        null=True,
        blank=True,
        help_text=_("Empty: no escalation."),
    )
    due_soon_before = models.PositiveSmallIntegerField(
        _("warn 'due soon' this many working days before"), default=1
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        db_table = "notifications_deadlinerule"
        verbose_name = _("deadline rule")
        verbose_name_plural = _("deadline rules")
        ordering = ["key"]

    def __str__(self) -> str:
        rule = RULES.get(self.key)
        return str(rule.label) if rule else self.key


class SchoolHoliday(models.Model):
    """A school holiday of one region; no working day for deadlines at schools of that region."""

    region = models.CharField(_("region"), max_length=10, choices=TrainingSchool.Region.choices)
    name = models.CharField(_("name"), max_length=100)
    start_date = models.DateField(_("first day"))
    end_date = models.DateField(_("last day"))

    class Meta:
        db_table = "notifications_schoolholiday"
        verbose_name = _("school holiday")
        verbose_name_plural = _("school holidays")
        ordering = ["start_date", "region"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_date__gte=models.F("start_date")),
                name="school_holiday_end_after_start",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_region_display()})"
