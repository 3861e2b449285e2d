"""Records of the change path: the change request, contact with the office, the outcome of the
all-party conversation with each participant's position, ISOP advice, the transfer to a new
placement, the stop, the warm handover between study coaches and the wrap-up with the class."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.models import AdviceDecision, Case, Outcome, Placement, Role


class ChangeRequest(models.Model):
    class Kind(models.TextChoices):
        TRANSFER = "transfer", _("change of placement")
        STOP_TEMPORARY = "stop_temporary", _("temporary stop")
        STOP = "stop", _("stop")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="change_requests")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    reason = models.TextField(_("reason"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("requested by"), on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("requested at"), default=timezone.now)
    made_known_to = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("made known to"), blank=True, related_name="+"
    )
    office_informed_at = models.DateTimeField(_("office contacted at"), null=True, blank=True)
    office_informed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("office contacted by"),
        on_delete=models.PROTECT, null=True, blank=True, related_name="+",
    )
    office_contact_note = models.TextField(_("how the office was contacted"), blank=True)
    recorded_by_office = models.BooleanField(
        _("recorded by the office on behalf of the school trainer"), default=False
    )
    # The request was withdrawn or the change abandoned; the case went back to "improving".
    dropped_at = models.DateTimeField(_("dropped at"), null=True, blank=True)

    class Meta:
        verbose_name = _("change request")
        verbose_name_plural = _("change requests")
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.created_at:%Y-%m-%d})"


class OutcomeReport(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="outcome_reports")
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("reported by"), on_delete=models.PROTECT,
        related_name="+",
    )
    on_behalf_of_school_trainer = models.BooleanField(
        _("reported by the office on behalf of the school trainer"), default=False
    )
    reported_at = models.DateTimeField(_("reported at"), default=timezone.now)
    note = models.TextField(_("explanation"), blank=True)

    class Meta:
        verbose_name = _("outcome")
        verbose_name_plural = _("outcomes")
        ordering = ["reported_at", "pk"]

    def __str__(self) -> str:
        return self.get_outcome_display()


class Position(models.Model):
    class Stance(models.TextChoices):
        AGREE = "agree", _("agrees")
        DISAGREE = "disagree", _("disagrees")
        ABSTAIN = "abstain", _("abstains")

    report = models.ForeignKey(OutcomeReport, on_delete=models.CASCADE, related_name="positions")
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("person"), on_delete=models.PROTECT,
        related_name="+",
    )
    role = models.CharField(_("role"), max_length=30, choices=Role.choices)
    stance = models.CharField(_("position"), max_length=10, choices=Stance.choices)

    class Meta:
        verbose_name = _("position")
        verbose_name_plural = _("positions")
        constraints = [
            models.UniqueConstraint(fields=["report", "person"], name="position_unique_person")
        ]

    def __str__(self) -> str:
        return f"{self.person}: {self.get_stance_display()}"


class IsopAdvice(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="isop_requests")
    question = models.TextField(_("question"))
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    decision = models.CharField(_("advice"), max_length=10, choices=AdviceDecision.choices,
                                blank=True)
    rationale = models.TextField(_("rationale"), blank=True)
    given_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("given by"), on_delete=models.PROTECT,
        null=True, blank=True, related_name="+",
    )
    given_at = models.DateTimeField(_("given at"), null=True, blank=True)
    # The office gave it on the ISOP owner's behalf (the owner was away).
    given_on_behalf = models.BooleanField(
        _("given by the office on behalf of the ISOP owner"), default=False
    )

    class Meta:
        verbose_name = _("ISOP advice")
        verbose_name_plural = _("ISOP advice")
        ordering = ["requested_at", "pk"]

    def __str__(self) -> str:
        return f"ISOP {self.case_id} {self.requested_at:%Y-%m-%d}"


class OfficeDecision(models.Model):
    """What the internship office decided after the ISOP advice: it may depart from it, with a
    reason (the steering report counts how often the decision followed the advice)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="office_decisions")
    advice = models.OneToOneField(
        IsopAdvice, on_delete=models.CASCADE, related_name="office_decision"
    )
    decision = models.CharField(_("decision"), max_length=10, choices=AdviceDecision.choices)
    reason = models.TextField(_("reason"), blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("decided by"), on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), default=timezone.now)

    class Meta:
        verbose_name = _("decision of the internship office")
        verbose_name_plural = _("decisions of the internship office")
        ordering = ["decided_at", "pk"]

    def __str__(self) -> str:
        return self.get_decision_display()

    @property
    def follows_advice(self) -> bool:
        return self.decision == self.advice.decision


class WrapUp(models.Model):
    """What school trainer and student agreed about ending the collaboration with the class."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="wrap_ups")
    last_day = models.DateField(_("last day at the school"))
    agreement = models.TextField(_("what was agreed (saying goodbye to the class)"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), on_delete=models.PROTECT,
        related_name="+",
    )
    recorded_at = models.DateTimeField(default=timezone.now)
    # Agreed by both: the one who did not record it confirms it, or the office on their behalf
    # (a wrap-up the office records is agreed at once, on behalf of both).
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("confirmed by"), on_delete=models.PROTECT,
        null=True, blank=True, related_name="+",
    )
    confirmed_at = models.DateTimeField(_("agreed at"), null=True, blank=True)
    confirmed_on_behalf = models.BooleanField(
        _("agreed by the office on behalf of the school trainer or the student"), default=False
    )

    class Meta:
        verbose_name = _("wrap-up with the class")
        verbose_name_plural = _("wrap-ups with the class")

    def __str__(self) -> str:
        return f"{self.case_id} {self.last_day}"


class Transfer(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="transfers")
    from_placement = models.ForeignKey(
        Placement, on_delete=models.PROTECT, related_name="transfers_out"
    )
    to_placement = models.ForeignKey(
        Placement, on_delete=models.PROTECT, related_name="transfers_in"
    )
    effective_date = models.DateField(_("effective date"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)
    applied_at = models.DateTimeField(null=True, blank=True)
    # What the student agreed to share with the new school: the new school's staff see this
    # (on their home page), never the old school's case file.
    shared_with_new_school = models.TextField(
        _("what the student agreed to share with the new school"), blank=True
    )
    # The student resumed after a temporary stop at another placement (not a transfer).
    on_resume = models.BooleanField(_("resumed at a new placement"), default=False)

    class Meta:
        verbose_name = _("transfer")
        verbose_name_plural = _("transfers")

    def __str__(self) -> str:
        return f"{self.from_placement} -> {self.to_placement}"

    @property
    def coach_changes(self) -> bool:
        return self.from_placement.study_coach_id != self.to_placement.study_coach_id


class Stop(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="stops")
    temporary = models.BooleanField(_("temporary"))
    expected_resume_date = models.DateField(_("expected resume date"), null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)
    reason = models.TextField(_("reason"), blank=True)
    # Recorded at once (illness, crisis), not at the end of the change path.
    acute = models.BooleanField(_("recorded at once"), default=False)
    resumed_at = models.DateTimeField(_("resumed at"), null=True, blank=True)
    # The resume date as entered (resumed_at is when it was recorded).
    resumed_on = models.DateField(_("resumed on"), null=True, blank=True)
    made_definitive_at = models.DateTimeField(_("made definitive at"), null=True, blank=True)

    class Meta:
        verbose_name = _("stop")
        verbose_name_plural = _("stops")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(temporary=False) | models.Q(expected_resume_date__isnull=False),
                name="stop_temporary_needs_resume_date",
            )
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {'temporary' if self.temporary else 'definitive'}"


class Handover(models.Model):
    """The warm handover from the old to the new study coach."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="handovers")
    transfer = models.OneToOneField(Transfer, on_delete=models.CASCADE, related_name="handover")
    old_coach = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("old study coach"), on_delete=models.PROTECT,
        related_name="handovers_given",
    )
    new_coach = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("new study coach"), on_delete=models.PROTECT,
        related_name="handovers_received",
    )
    informed_at = models.DateTimeField(_("student and coaches informed at"), default=timezone.now)
    contact_made_on = models.DateField(_("contact with the new coach made on"), null=True,
                                       blank=True)
    what_helped = models.TextField(_("what helped"), blank=True)
    student_needs = models.TextField(_("what the student needs"), blank=True)
    open_actions = models.TextField(_("open actions"), blank=True)
    confirmed_at = models.DateTimeField(_("handover recorded at"), null=True, blank=True)
    received_at = models.DateTimeField(_("receipt confirmed at"), null=True, blank=True)
    # Called off: the case was withdrawn during the handover.
    cancelled_at = models.DateTimeField(_("called off at"), null=True, blank=True)

    class Meta:
        verbose_name = _("warm handover")
        verbose_name_plural = _("warm handovers")

    def __str__(self) -> str:
        return f"{self.old_coach} -> {self.new_coach}"


class StudyStep(models.Model):
    """What a problem, its outcome or a stop means for the student's study, each a step with
    its date: a study delay expected, credits at stake, a referral to the study career coach,
    the student counsellor or the examination board."""

    class Kind(models.TextChoices):
        STUDY_DELAY = "study_delay", _("study delay expected")
        CREDITS_AT_STAKE = "credits_at_stake", _("credits at stake")
        CAREER_COACH = "career_coach", _("referred to the study career coach")
        STUDENT_COUNSELLOR = "student_counsellor", _("referred to the student counsellor")
        EXAMINATION_BOARD = "examination_board", _("referred to the examination board")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="study_steps")
    kind = models.CharField(_("what"), max_length=30, choices=Kind.choices)
    on = models.DateField(_("date"))
    note = models.TextField(_("note"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("consequence for the study")
        verbose_name_plural = _("consequences for the study")
        ordering = ["on", "pk"]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind} {self.on}"
