"""People, schools, placements and the case with its state machine.

The case's transitions change database fields only; services (cases/services.py and the
services of the other apps) lock the row, check the permission, run the transition, save and
queue side effects for after the commit. Guards that need the records of other apps read them
through reverse relations, so this module imports none of the other apps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date

import django_fsm as fsm
from django.conf import settings
from django.contrib.auth.models import AbstractUser, Permission
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models.functions import Upper
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.formats import date_format
from django.utils.functional import cached_property
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

# --------------------------------------------------------------------------------------------
# Roles
# --------------------------------------------------------------------------------------------


class Role(models.TextChoices):
    STUDENT = "student", _("student")
    MENTOR = "mentor", _("mentor")
    SCHOOL_TRAINER = "school_trainer", _("school trainer")
    COORDINATING_TRAINER = "coordinating_trainer", _("coordinating school trainer")
    STUDY_COACH = "study_coach", _("study coach")
    OFFICE = "office", _("internship office")
    ISOP_OWNER = "isop_owner", _("ISOP process owner")


# Global roles are Django groups with these names.
GLOBAL_ROLES = (Role.OFFICE, Role.ISOP_OWNER)
# The privacy officer is whoever holds this permission (the privacy app's access log; named as a
# string so that the core imports nothing of that app; tests/privacy checks that it exists).
PRIVACY_OFFICER_PERMISSION = "privacy.view_accesslog"
# Roles a person holds on a placement, with the placement field that holds them.
PLACEMENT_ROLE_FIELDS = {
    Role.STUDENT: "student",
    Role.MENTOR: "mentor",
    Role.SCHOOL_TRAINER: "school_trainer",
    Role.COORDINATING_TRAINER: "coordinating_trainer",
    Role.STUDY_COACH: "study_coach",
}


class User(AbstractUser):
    """A person. What they may do on a case follows from their place on its placement."""

    class Language(models.TextChoices):
        DUTCH = "nl", _("Dutch")
        ENGLISH = "en", _("English")

    student_number = models.CharField(_("student number"), max_length=20, blank=True)
    language = models.CharField(
        _("language"), max_length=5, choices=Language.choices, default=Language.DUTCH
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["last_name", "first_name", "username"]
        # The office's search: an exact student number or username goes straight to its row.
        # On PostgreSQL names are found through trigram indexes (migration 0011).
        indexes = [
            models.Index(fields=["student_number"], name="user_student_number"),
            models.Index(Upper("username"), name="user_username_upper"),
        ]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @cached_property
    def global_roles(self) -> frozenset[str]:
        if not self.is_authenticated or not self.pk:
            return frozenset()
        flags = {role: self.__dict__.get(f"_has_global_role_{role}") for role in GLOBAL_ROLES}
        if None not in flags.values():  # loaded by stagebureau.backends.RequestUserBackend
            return frozenset(role for role, held in flags.items() if held)
        # One query: the groups held, and the roles held as an active deputy.
        held = self.groups.filter(name__in=GLOBAL_ROLES).order_by().values_list("name", flat=True)
        deputy = (
            Deputy.objects.active().filter(person=self).order_by().values_list("role", flat=True)
        )
        return frozenset(held.union(deputy))

    @property
    def is_office(self) -> bool:
        return Role.OFFICE in self.global_roles

    @property
    def is_isop_owner(self) -> bool:
        return Role.ISOP_OWNER in self.global_roles

    def has_mentor_to_assign(self) -> bool:
        """Is the school trainer of an active placement whose mentor is still to be assigned.
        The request's user comes with the flag (stagebureau.backends); any other user costs
        one query."""
        flag = self.__dict__.get("_has_mentor_to_assign")
        if flag is not None:
            return bool(flag)
        return Placement.objects.filter(
            school_trainer=self, mentor__isnull=True, status=Placement.Status.ACTIVE
        ).exists()

    @cached_property
    def is_privacy_officer(self) -> bool:
        """Reads the access log: holds PRIVACY_OFFICER_PERMISSION by a group or directly. NOT
        implied by being a superuser: the administrators of the application do not read the
        access log. The request's user comes with the flag (stagebureau.backends); any other
        user costs one query."""
        if not self.is_authenticated or not self.is_active:
            return False
        flag = self.__dict__.get("_is_privacy_officer")
        if flag is not None:
            return bool(flag)
        app_label, _dot, codename = PRIVACY_OFFICER_PERMISSION.partition(".")
        return (
            Permission.objects.filter(content_type__app_label=app_label, codename=codename)
            .filter(models.Q(group__user=self) | models.Q(user=self))
            .exists()
        )


class DeputyQuerySet(models.QuerySet):
    def active(self, on: date | None = None):
        """Deputyships that hold on `on` (today in the current time zone): from and until are
        both included."""
        on = on or timezone.localdate()
        return self.filter(starts_on__lte=on, ends_on__gte=on)


class Deputy(models.Model):
    """The office names a deputy for a global role (the ISOP process owner, office staff):
    while active, the person may act in that role (`User.global_roles`, so the lists, the
    rules and the request's user agree)."""

    ROLES = (Role.OFFICE, Role.ISOP_OWNER)

    role = models.CharField(_("role"), max_length=20, choices=[(r.value, r.label) for r in ROLES])
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("deputy"),
        on_delete=models.CASCADE,
        related_name="deputyships",
    )
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("until"))
    named_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("named by"),
        on_delete=models.PROTECT,
        related_name="deputies_named",
    )
    named_at = models.DateTimeField(_("named at"), default=timezone.now)

    objects = DeputyQuerySet.as_manager()

    class Meta:
        verbose_name = _("deputy")
        verbose_name_plural = _("deputies")
        ordering = ["-starts_on", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__gte=models.F("starts_on")),
                name="deputy_ends_after_it_starts",
            )
        ]

    def __str__(self) -> str:
        return f"{self.person} ({self.get_role_display()})"


def global_role_holders(roles: Iterable[str], on: date | None = None):
    """Active users who hold one of these global roles: by the group, or as a deputy active
    on `on` (today)."""
    roles = list(roles)
    deputies = Deputy.objects.active(on).filter(role__in=roles).values("person_id")
    return User.objects.filter(
        models.Q(groups__name__in=roles) | models.Q(pk__in=deputies), is_active=True
    ).distinct()


# --------------------------------------------------------------------------------------------
# Schools and placements
# --------------------------------------------------------------------------------------------


class Partnership(models.Model):
    """The partnership (opleidingsschool-samenwerkingsverband) of institute and schools."""

    name = models.CharField(_("name"), max_length=200, unique=True)

    class Meta:
        verbose_name = _("partnership")
        verbose_name_plural = _("partnerships")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Board(models.Model):
    """A school board (bestuur); a coordinating trainer works across its schools."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    partnership = models.ForeignKey(
        Partnership,
        verbose_name=_("partnership"),
        on_delete=models.PROTECT,
        related_name="boards",
    )

    class Meta:
        verbose_name = _("board")
        verbose_name_plural = _("boards")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TrainingSchool(models.Model):
    class Region(models.TextChoices):
        NORTH = "noord", _("north")
        MIDDLE = "midden", _("middle")
        SOUTH = "zuid", _("south")

    name = models.CharField(_("name"), max_length=200)
    board = models.ForeignKey(
        Board, verbose_name=_("board"), on_delete=models.PROTECT, related_name="schools"
    )
    city = models.CharField(_("city"), max_length=100, blank=True)
    region = models.CharField(
        _("school holiday region"), max_length=10, choices=Region.choices, default=Region.MIDDLE
    )
    coordinating_trainer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("coordinating school trainer"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="coordinated_schools",
    )
    # How the student administration and the placement matching name the school (the import
    # matches on these first): the BRIN number (with the branch number when given) and the
    # institute's own school code. Unique when set.
    brin = models.CharField(_("BRIN number"), max_length=6, blank=True)
    code = models.CharField(_("school code"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("training school")
        verbose_name_plural = _("training schools")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["board", "name"], name="school_unique_name_per_board"),
            models.UniqueConstraint(
                fields=["brin"], condition=~models.Q(brin=""), name="school_unique_brin"
            ),
            models.UniqueConstraint(
                fields=["code"], condition=~models.Q(code=""), name="school_unique_code"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Placement(models.Model):
    """A student at a training school for a period, with the people around them."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        PAUSED = "paused", _("paused")
        ENDED = "ended", _("ended")
        TRANSFERRED = "transferred", _("transferred")

    student = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("student"),
        on_delete=models.PROTECT,
        related_name="placements_as_student",
    )
    school = models.ForeignKey(
        TrainingSchool,
        verbose_name=_("training school"),
        on_delete=models.PROTECT,
        related_name="placements",
    )
    # Empty: "to be assigned" (placing or resuming before the school has chosen the mentor);
    # the placement's school trainer fills it in later (cases.services.placement_assign_mentor).
    mentor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("mentor"),
        on_delete=models.PROTECT,
        related_name="placements_as_mentor",
        null=True,
        blank=True,
    )
    school_trainer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("school trainer"),
        on_delete=models.PROTECT,
        related_name="placements_as_school_trainer",
    )
    study_coach = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("study coach"),
        on_delete=models.PROTECT,
        related_name="placements_as_study_coach",
    )
    coordinating_trainer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("coordinating school trainer"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="placements_as_coordinating_trainer",
    )
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.ACTIVE
    )
    # The internship period as the student administration has it, and the study it belongs to.
    block = models.CharField(_("block"), max_length=20, blank=True)
    days_per_week = models.DecimalField(
        _("days per week"), max_digits=2, decimal_places=1, null=True, blank=True
    )
    programme = models.CharField(_("programme"), max_length=100, blank=True)
    study_year = models.PositiveSmallIntegerField(_("study year"), null=True, blank=True)
    is_final_lio = models.BooleanField(
        _("final internship (LIO)"),
        default=False,
        help_text=_("The student's final internship as a teacher in training (LIO)."),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("placement")
        verbose_name_plural = _("placements")
        ordering = ["-start_date"]
        indexes = [
            # A school's placements in id order: the office's list filtered on a school joins
            # its cases to them by merging two indexes (see `case_state_placement`).
            models.Index(fields=["school", "id"], name="placement_school"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_date__isnull=True)
                | models.Q(end_date__gte=models.F("start_date")),
                name="placement_end_after_start",
            ),
            models.CheckConstraint(
                condition=models.Q(days_per_week__isnull=True)
                | models.Q(days_per_week__gte=0.5, days_per_week__lte=5),
                name="placement_days_per_week_range",
            ),
            models.CheckConstraint(
                condition=models.Q(study_year__isnull=True)
                | models.Q(study_year__gte=1, study_year__lte=6),
                name="placement_study_year_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.student} @ {self.school} ({self.start_date:%Y-%m-%d})"

    def roles_of(self, user) -> set[str]:
        return {
            role
            for role, field in PLACEMENT_ROLE_FIELDS.items()
            if user.pk is not None and getattr(self, f"{field}_id") == user.pk
        }

    def person_id(self, role: str) -> int | None:
        """The id of who holds a placement role on the case now (see `person`), read from the
        placements' foreign keys without loading the people."""
        field = PLACEMENT_ROLE_FIELDS.get(role)
        if field is None:
            return None
        if self.new_placement_id is None:
            return getattr(self.placement, f"{field}_id")
        if role == Role.STUDENT:
            return self.placement.student_id
        if role == Role.STUDY_COACH:
            return self.new_placement.study_coach_id
        return None

    def person(self, role: str):
        field = PLACEMENT_ROLE_FIELDS.get(role)
        return getattr(self, field) if field else None


# --------------------------------------------------------------------------------------------
# The case and its state machine
# --------------------------------------------------------------------------------------------


class State(models.TextChoices):
    SIGNALLED = "signalled", _("signalled")
    CONVERSATION_PLANNED = "conversation_planned", _("conversation planned")
    IMPROVING = "improving", _("improvement actions running")
    CHANGE_REQUESTED = "change_requested", _("change of placement requested")
    OFFICE_INFORMED = "office_informed", _("internship office informed")
    CHANGE_CONVERSATION_PLANNED = (
        "change_conversation_planned",
        _("all-party conversation planned"),
    )
    # Recorded with the student, the school trainer or the study coach absent: it stays on the
    # office's monitor until the office accepts it (with a reason) or a new one is planned.
    CHANGE_CONVERSATION_INCOMPLETE = (
        "change_conversation_incomplete",
        _("all-party conversation held without everyone"),
    )
    OUTCOME_PENDING = "outcome_pending", _("awaiting outcome")
    ISOP_ADVICE = "isop_advice", _("awaiting ISOP advice")
    # The ISOP owner advises; the internship office decides (it may depart from the advice).
    DECISION_PENDING = "decision_pending", _("awaiting the internship office's decision")
    TRANSFER_REQUESTED = "transfer_requested", _("awaiting new placement or stop")
    HANDOVER = "handover", _("warm handover between study coaches")
    STOPPED = "stopped", _("internship stopped temporarily")
    CLOSED_RESOLVED = "closed_resolved", _("closed: resolved")
    CLOSED_TRANSFERRED = "closed_transferred", _("closed: transferred")
    CLOSED_STOPPED = "closed_stopped", _("closed: stopped")
    CLOSED_RESUMED = "closed_resumed", _("closed: resumed")
    CLOSED_WITHDRAWN = "closed_withdrawn", _("closed: withdrawn")


CLOSED_STATES = (
    State.CLOSED_RESOLVED,
    State.CLOSED_TRANSFERRED,
    State.CLOSED_STOPPED,
    State.CLOSED_RESUMED,
    State.CLOSED_WITHDRAWN,
)
OPEN_STATES = tuple(s for s in State if s not in CLOSED_STATES)
# Before the change path: the person who signalled may still withdraw the case.
EARLY_STATES = (State.SIGNALLED, State.CONVERSATION_PLANNED, State.IMPROVING)
# Where a request for a change (or a stop) can be dropped and the case returns to "improving".
ABANDONABLE_STATES = (
    State.CHANGE_REQUESTED,
    State.OFFICE_INFORMED,
    State.CHANGE_CONVERSATION_PLANNED,
    State.CHANGE_CONVERSATION_INCOMPLETE,
    State.TRANSFER_REQUESTED,
)
# The acute stop: from any open state but a stop itself and the warm handover (the student is
# already at the new placement then: a stop there is a new case about that placement).
STOP_NOW_STATES = tuple(s for s in OPEN_STATES if s not in (State.STOPPED, State.HANDOVER))

# The kind of change a case is on (Case.change_kind): a stop request reads as a stop request.
TRANSFER_KIND, STOP_TEMPORARY_KIND, STOP_KIND = "transfer", "stop_temporary", "stop"
STOP_KINDS = (STOP_TEMPORARY_KIND, STOP_KIND)
STATE_VARIANTS: dict[str, dict[str, str]] = {
    State.CHANGE_REQUESTED: {
        STOP_TEMPORARY_KIND: _("temporary stop requested"),
        STOP_KIND: _("stop of the internship requested"),
    },
    State.TRANSFER_REQUESTED: {
        TRANSFER_KIND: _("awaiting a new placement"),
        STOP_TEMPORARY_KIND: _("awaiting the temporary stop"),
        STOP_KIND: _("awaiting the stop"),
    },
}


def state_label(state: str, kind: str = "") -> str:
    """The state's words, for a stop request as a stop (not as a change of placement)."""
    variant = STATE_VARIANTS.get(state, {}).get(kind or "")
    if variant is not None:
        return str(variant)
    try:
        return str(State(state).label)
    except ValueError:
        return state


class Category(models.TextChoices):
    WELLBEING = "wellbeing", _("personal wellbeing")
    ATMOSPHERE = "atmosphere", _("atmosphere at the training school")
    MENTOR_RELATIONSHIP = "mentor_relationship", _("relationship with the mentor")
    CLASSROOM = "classroom", _("functioning in the classroom")
    OTHER = "other", _("other")


class Evaluation(models.TextChoices):
    """Whether an improvement action helped (conversations.ImprovementAction.evaluation); in the
    core because the timeline renders it in the reader's language."""

    HELPED = "helped", _("helped")
    PARTLY = "partly", _("helped partly")
    NOT_HELPED = "not_helped", _("did not help")


class Outcome(models.TextChoices):
    """The outcome of the change conversation, as the school trainer reports it."""

    AGREE_TRANSFER = "agree_transfer", _("everyone agrees to transfer")
    AGREE_STOP = "agree_stop", _("everyone agrees to stop")
    CONTINUE = "continue", _("continue at this placement")
    OPINIONS_DIFFER = "opinions_differ", _("opinions differ")


class AdviceDecision(models.TextChoices):
    """What the ISOP owner advises, and what the internship office then decides."""

    TRANSFER = "transfer", _("change of placement")
    STOP = "stop", _("stop the internship")
    CONTINUE = "continue", _("continue at this placement")


OUTCOME_TARGET = {
    Outcome.AGREE_TRANSFER: State.TRANSFER_REQUESTED,
    Outcome.AGREE_STOP: State.TRANSFER_REQUESTED,
    Outcome.CONTINUE: State.IMPROVING,
    Outcome.OPINIONS_DIFFER: State.ISOP_ADVICE,
}
DECISION_TARGET = {
    AdviceDecision.TRANSFER: State.TRANSFER_REQUESTED,
    AdviceDecision.STOP: State.TRANSFER_REQUESTED,
    AdviceDecision.CONTINUE: State.IMPROVING,
}


class GuardFailed(Exception):
    """A transition's precondition is not met; the message says which, in the user's language."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


class NotPermitted(PermissionDenied):
    """The user's role on the case does not allow this transition."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


def guard(message, *, filled_by_step: bool = False) -> Callable[[Callable], Callable]:
    """Attach a translated refusal message to a transition condition.

    `filled_by_step`: the step's own form records what the guard checks (the service writes
    the record, then runs the transition), so the step is not "blocked" before it is taken.
    """

    def decorate(func: Callable) -> Callable:
        func.message = message
        func.filled_by_step = filled_by_step
        return func

    return decorate


def roles_may(*roles: str, refusal=None) -> Callable:
    """A transition's permission: one of these roles on the case. `refusal` replaces the
    generic "Only the ... may do this" when the rule is more than a list of roles."""

    def permission(case: Case, user) -> bool:
        return bool(case.roles_of(user) & set(roles))

    permission.roles = roles
    permission.refusal = refusal
    return permission


# Guards. They read records of the other apps through reverse relations
# (conversations, actions, change_requests, wrap_ups, transfers, handovers).

PROBLEM = "problem"
CHANGE = "change"
FIVE_ANSWERS = ("problem", "what_was_done", "when_it_goes_well", "student_needs", "school_offers")


def _latest_conversation(case: Case, kind: str):
    return (
        case.conversations.filter(kind=kind)
        .exclude(status="cancelled")
        .order_by("-created_at", "-pk")
        .first()
    )


@guard(
    _("Plan the conversation first: a date, a place and the invited people."),
    filled_by_step=True,
)
def has_planned_problem_conversation(case: Case) -> bool:
    conv = _latest_conversation(case, PROBLEM)
    return conv is not None and conv.status == "planned"


@guard(_("Record for every invited person whether they attended."), filled_by_step=True)
def problem_attendance_complete(case: Case) -> bool:
    conv = _latest_conversation(case, PROBLEM)
    return conv is not None and not conv.invitations.filter(attended__isnull=True).exists()


@guard(_("Agree at least one improvement action."), filled_by_step=True)
def has_improvement_action(case: Case) -> bool:
    return case.actions.exists()


@guard(_("Evaluate every improvement action before closing the case as resolved."))
def all_actions_evaluated(case: Case) -> bool:
    # Through .all(), so a page that prefetched the actions asks the database nothing more.
    actions = case.actions.all()
    return bool(actions) and all(action.evaluation for action in actions)


@guard(_("Describe the change request (kind and reason) first."), filled_by_step=True)
def has_open_change_request(case: Case) -> bool:
    return case.change_requests.filter(office_informed_at__isnull=True).exists()


@guard(_("Record when and how the internship office was contacted."), filled_by_step=True)
def office_contact_recorded(case: Case) -> bool:
    latest = case.change_requests.order_by("-created_at", "-pk").first()
    return latest is not None and latest.office_informed_at is not None


@guard(
    _("Plan the all-party conversation first, with the student, school trainer and coach."),
    filled_by_step=True,
)
def has_planned_change_conversation(case: Case) -> bool:
    conv = _latest_conversation(case, CHANGE)
    return conv is not None and conv.status == "planned"


def _required_invited(conv) -> bool:
    invited = set(conv.invitations.values_list("role", flat=True))
    return {Role.STUDENT, Role.SCHOOL_TRAINER, Role.STUDY_COACH} <= invited


@guard(
    _("The student, the school trainer and the study coach must all be invited."),
    filled_by_step=True,
)
def change_conversation_has_required_people(case: Case) -> bool:
    conv = _latest_conversation(case, CHANGE)
    return conv is not None and _required_invited(conv)


@guard(_("Record for every invited person whether they attended."), filled_by_step=True)
def change_attendance_complete(case: Case) -> bool:
    conv = _latest_conversation(case, CHANGE)
    return conv is not None and not conv.invitations.filter(attended__isnull=True).exists()


@guard(
    _(
        "Record all five answers: the problem, what has been done, when it goes well, "
        "what the student needs and what the school can offer."
    ),
    filled_by_step=True,
)
def five_answers_recorded(case: Case) -> bool:
    conv = _latest_conversation(case, CHANGE)
    return conv is not None and all((getattr(conv, f) or "").strip() for f in FIVE_ANSWERS)


@guard(
    _(
        "The conversation has not taken place yet: record it once it has (or reschedule it to "
        "when it actually took place)."
    ),
    filled_by_step=True,
)
def problem_conversation_has_taken_place(case: Case) -> bool:
    conv = _latest_conversation(case, PROBLEM)
    return conv is not None and conv.starts_at <= timezone.now()


@guard(problem_conversation_has_taken_place.message, filled_by_step=True)
def change_conversation_has_taken_place(case: Case) -> bool:
    conv = _latest_conversation(case, CHANGE)
    return conv is not None and conv.starts_at <= timezone.now()


# The all-party conversation counts as held with everyone only when these attended.
ALL_PARTIES = (Role.STUDENT, Role.SCHOOL_TRAINER, Role.STUDY_COACH)


def all_parties_attended(case: Case) -> bool:
    conv = _latest_conversation(case, CHANGE)
    if conv is None:
        return False
    present = {i.role for i in conv.invitations.all() if i.attended}
    return set(ALL_PARTIES) <= present


def _latest_wrap_up(case: Case):
    # Through .all(), so a page that prefetched the wrap-ups asks the database nothing more.
    return max(case.wrap_ups.all(), key=lambda w: (w.recorded_at, w.pk), default=None)


@guard(
    _(
        "The wrap-up with the class must be recorded and agreed by the school trainer and the "
        "student (or by the internship office on their behalf) first."
    )
)
def wrap_up_agreed(case: Case) -> bool:
    wrap_up = _latest_wrap_up(case)
    return wrap_up is not None and wrap_up.confirmed_at is not None


@guard(
    _(
        "The student has left this placement: signal a new problem on the current placement, "
        "linked to this case, instead."
    )
)
def placement_still_current(case: Case) -> bool:
    return case.new_placement_id is None and case.placement.status in (
        Placement.Status.ACTIVE,
        Placement.Status.PAUSED,
    )


@guard(_("Another case on this placement is open: continue that one."))
def no_other_open_case(case: Case) -> bool:
    return not (
        Case.objects.open().filter(placement_id=case.placement_id).exclude(pk=case.pk).exists()
    )


@guard(_("Record the new placement first."), filled_by_step=True)
def new_placement_recorded(case: Case) -> bool:
    return case.transfers.filter(applied_at__isnull=True).exists()


@guard(_("Record the stop first (temporary or definitive)."), filled_by_step=True)
def stop_recorded(case: Case) -> bool:
    return case.stops.filter(resumed_at__isnull=True).exists()


@guard(
    _("The new study coach must be known and the contact with them recorded."),
    filled_by_step=True,
)
def handover_contact_recorded(case: Case) -> bool:
    handover = case.open_handover
    return (
        handover is not None
        and handover.new_coach_id is not None
        and handover.contact_made_on is not None
    )


def is_old_coach(case: Case, user) -> bool:
    handover = case.open_handover
    return handover is not None and user.pk is not None and handover.old_coach_id == user.pk


is_old_coach.roles = ("old_study_coach",)


def may_confirm_handover(case: Case, user) -> bool:
    """The previous study coach; the office on their behalf (left, ill, past escalation)."""
    return is_old_coach(case, user) or Role.OFFICE in case.roles_of(user)


may_confirm_handover.roles = ("old_study_coach", Role.OFFICE)
may_confirm_handover.refusal = None


def may_withdraw(case: Case, user) -> bool:
    """The school trainer and the office always; whoever signalled only before the change path."""
    roles = case.roles_of(user)
    if roles & {Role.SCHOOL_TRAINER, Role.OFFICE}:
        return True
    return "signaller" in roles and case.state in EARLY_STATES


may_withdraw.roles = (Role.SCHOOL_TRAINER, Role.OFFICE, "signaller")
may_withdraw.refusal = _(
    "Only the school trainer or the internship office may withdraw the case (and the person "
    "who signalled it, before a change or a stop is requested)."
)


def may_abandon_change(case: Case, user) -> bool:
    """The school trainer and the office; while the request is new (the office not yet
    informed), also the student and the study coach, who may have asked for it. By role, so
    that no list of cases asks the database who asked."""
    roles = case.roles_of(user)
    if roles & {Role.SCHOOL_TRAINER, Role.OFFICE}:
        return True
    return case.state == State.CHANGE_REQUESTED and bool(roles & {Role.STUDENT, Role.STUDY_COACH})


may_abandon_change.roles = (Role.SCHOOL_TRAINER, Role.OFFICE, Role.STUDENT, Role.STUDY_COACH)
may_abandon_change.refusal = _(
    "Only the school trainer or the internship office may drop the change (and the student or "
    "the study coach, until the office has been informed)."
)


class CaseQuerySet(models.QuerySet):
    def open(self):
        return self.filter(state__in=OPEN_STATES)

    def related_to(self, user):
        """Cases the user is related to: their role on the placement, or old coach in handover."""
        if not user.is_authenticated:
            return self.none()
        if user.is_office:
            return self
        # The people on the case's placement; once the student continues elsewhere (a
        # transfer, a resume at another school), only the student and the new placement's study
        # coach: the old school's staff lose access and the new school's never had it.
        stayed = models.Q(new_placement__isnull=True)
        q = models.Q(placement__student=user) | models.Q(new_placement__study_coach=user)
        for role, field in PLACEMENT_ROLE_FIELDS.items():
            if role != Role.STUDENT:
                q |= stayed & models.Q(**{f"placement__{field}": user})
        if user.is_isop_owner:
            q |= models.Q(isop_requests__isnull=False)
        q |= models.Q(state=State.HANDOVER, handovers__old_coach=user, handovers__confirmed_at=None)
        # Confidential to the office first: until released only the student sees it (and the
        # office, above). The same rule as cases.rules.is_related.
        shown = models.Q(confidential=False) | models.Q(confidential_released_at__isnull=False)
        q = (q & shown) | models.Q(placement__student=user)
        return self.filter(q).distinct()


class Case(fsm.ConcurrentTransitionMixin, models.Model):
    """One problem situation on one placement (a probleemsituatie / dossier)."""

    # The placement the problem is about; it stays so after a transfer (the statistics, the
    # old school's records and its need-to-know follow it).
    placement = models.ForeignKey(
        Placement, verbose_name=_("placement"), on_delete=models.PROTECT, related_name="cases"
    )
    # Where the student continues after a transfer or a resume at another school.
    new_placement = models.ForeignKey(
        Placement,
        verbose_name=_("new placement"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="continued_cases",
    )
    # The kind of change the case is on ("transfer", "stop_temporary", "stop"; empty before the
    # change path and after it was dropped): the state's words follow it (STATE_VARIANTS).
    change_kind = models.CharField(_("kind of change"), max_length=20, blank=True)
    # A new case may follow up on an earlier, closed one of the same student.
    follows = models.ForeignKey(
        "self",
        verbose_name=_("follows up on"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="followed_by",
    )
    state = fsm.FSMField(
        _("state"),
        max_length=40,
        choices=State.choices,
        default=State.SIGNALLED,
        protected=True,
        db_index=True,
    )
    description = models.TextField(_("description"))
    signalled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("signalled by"),
        on_delete=models.PROTECT,
        related_name="signalled_cases",
    )
    signalled_at = models.DateTimeField(_("signalled at"), default=timezone.now, db_index=True)
    state_changed_at = models.DateTimeField(_("state changed at"), default=timezone.now)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    version = models.PositiveIntegerField(default=1, editable=False)
    # "Confidential to the internship office first": the student's signal about their mentor or
    # school trainer. Until the office releases it, only the student, the office (and the
    # signaller) see the case.
    confidential = models.BooleanField(
        _("confidential to the internship office first"),
        default=False,
        help_text=_(
            "Only the internship office sees this signal until it has talked to you. "
            "Use this when the problem is your mentor or school trainer."
        ),
    )
    confidential_released_at = models.DateTimeField(
        _("released by the office at"), null=True, blank=True
    )
    confidential_released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("released by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # Set by the retention task once the closed case's personal data has been removed.
    anonymised_at = models.DateTimeField(_("anonymised at"), null=True, blank=True)

    objects = CaseQuerySet.as_manager()

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        ordering = ["-signalled_at"]
        indexes = [
            # The dashboard and the reminder scan: cases in a state, waiting longest first.
            models.Index(fields=["state", "state_changed_at"], name="case_state_since"),
            # The office's list: one state, newest signal first.
            models.Index(fields=["state", "-signalled_at"], name="case_state_signalled"),
            # The office's list across states, longest waiting first: the "overdue" filter is
            # checked row by row along this index and stops after a page (and at the count cap).
            models.Index(fields=["state_changed_at", "id"], name="case_waiting"),
            # The office's list filtered on a state and a school: with `placement_school`, the
            # capped count merges the two indexes alone and stops at the cap (at 1M cases
            # 32 -> 2 ms; without them it read the school's every placement or the cases'
            # every placement id, growing with the table).
            models.Index(fields=["state", "placement"], name="case_state_placement"),
            # Outcomes per period (the pictures and the steering group's report).
            # With the state: the dashboard's outcomes of the last 30 days count from the index
            # alone (index-only scan: 344 -> 30 ms for a month's 63,000 closures at 1M cases).
            models.Index(
                fields=["closed_at", "state"],
                name="case_closed_at_state",
                condition=models.Q(closed_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return _("Case %(number)s") % {"number": self.number}

    def get_absolute_url(self) -> str:
        return reverse("portal:case", args=[self.pk])

    @property
    def number(self) -> str:
        return f"SB-{self.pk:05d}" if self.pk else "SB-new"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def student(self):
        return self.placement.student

    @property
    def current_placement(self) -> Placement:
        """Where the student is now for this case: the new placement after a transfer."""
        return self.new_placement if self.new_placement_id else self.placement

    def get_state_display(self) -> str:
        return state_label(self.state, self.change_kind)

    @property
    def is_stop(self) -> bool:
        return self.change_kind in STOP_KINDS

    @cached_property
    def open_handover(self):
        """The warm handover still to be recorded (the latest), read through `handovers.all()`
        so that a page that prefetched the handovers asks the database nothing more."""
        open_ones = [h for h in self.handovers.all() if h.confirmed_at is None]
        return max(open_ones, key=lambda h: h.pk, default=None)

    def roles_of(self, user) -> set[str]:
        if not getattr(user, "is_authenticated", False):
            return set()
        roles = set(user.global_roles)
        if user.pk is not None:
            roles |= {r for r in PLACEMENT_ROLE_FIELDS if self.person_id(r) == user.pk}
        if self.state == State.HANDOVER and is_old_coach(self, user):
            roles.add("old_study_coach")
        # "signaller" is a pseudo-role: whoever signalled the case may withdraw it.
        if self.signalled_by_id == user.pk:
            roles.add("signaller")
        return roles

    def person_id(self, role: str) -> int | None:
        """The id of who holds a placement role on the case now (see `person`), read from the
        placements' foreign keys without loading the people."""
        field = PLACEMENT_ROLE_FIELDS.get(role)
        if field is None:
            return None
        if self.new_placement_id is None:
            return getattr(self.placement, f"{field}_id")
        if role == Role.STUDENT:
            return self.placement.student_id
        if role == Role.STUDY_COACH:
            return self.new_placement.study_coach_id
        return None

    def person(self, role: str):
        """Who holds a placement role on the case now. After the student moved on (a transfer,
        a resume at another school) only the student and the new placement's study coach are
        on it: the old school's staff lost access, the new school's staff never had it."""
        if self.new_placement_id is None:
            return self.placement.person(role)
        if role == Role.STUDENT:
            return self.placement.student
        if role == Role.STUDY_COACH:
            return self.new_placement.study_coach
        return None

    def people(self, roles: Iterable[str]) -> list:
        """The people on this case holding any of the given placement roles."""
        found = []
        for role in roles:
            person = self.person(role)
            if person is not None and person not in found:
                found.append(person)
        return found

    # --- the machine -----------------------------------------------------------------------
    # Every transition takes the actor as `by` (the timeline receiver reads it), an optional
    # `note` (free text, stored as typed) and optional `data` (codes, dates, names: rendered in
    # the reader's language by CaseEvent.detail). Permission is checked by services through
    # has_transition_perm.

    @fsm.transition(
        field=state,
        source=State.SIGNALLED,
        target=State.CONVERSATION_PLANNED,
        conditions=[has_planned_problem_conversation],
        permission=roles_may(Role.SCHOOL_TRAINER, Role.STUDY_COACH, Role.MENTOR, Role.OFFICE),
        custom={
            "label": _("Plan the conversation"),
            "done": _("Conversation planned"),
            "tell": (Role.STUDENT, Role.MENTOR, Role.SCHOOL_TRAINER, Role.STUDY_COACH),
            "url": "conversations:plan",
        },
    )
    def plan_conversation(self, *, by, note: str = "", data=None) -> None:
        pass

    @fsm.transition(
        field=state,
        source=State.CONVERSATION_PLANNED,
        target=State.IMPROVING,
        conditions=[
            problem_conversation_has_taken_place,
            problem_attendance_complete,
            has_improvement_action,
        ],
        permission=roles_may(Role.SCHOOL_TRAINER, Role.STUDY_COACH, Role.MENTOR, Role.OFFICE),
        custom={
            "label": _("Record the conversation as held"),
            "done": _("Conversation recorded as held"),
            "tell": (Role.STUDENT, Role.MENTOR, Role.SCHOOL_TRAINER, Role.STUDY_COACH),
            "url": "conversations:record",
        },
    )
    def record_conversation(self, *, by, note: str = "", data=None) -> None:
        pass

    @fsm.transition(
        field=state,
        source=State.IMPROVING,
        target=State.CLOSED_RESOLVED,
        conditions=[all_actions_evaluated],
        permission=roles_may(Role.SCHOOL_TRAINER, Role.STUDY_COACH, Role.OFFICE),
        custom={
            "label": _("Close as resolved"),
            "done": _("Closed as resolved"),
            "tell": (Role.STUDENT, Role.MENTOR, Role.SCHOOL_TRAINER, Role.STUDY_COACH),
            "url": "cases:resolve",
        },
    )
    def resolve(self, *, by, note: str = "", data=None) -> None:
        self.closed_at = timezone.now()

    @fsm.transition(
        field=state,
        source=State.IMPROVING,
        target=State.CHANGE_REQUESTED,
        conditions=[has_open_change_request],
        # The office may start the (advised) stop route too.
        permission=roles_may(Role.STUDENT, Role.SCHOOL_TRAINER, Role.STUDY_COACH, Role.OFFICE),
        custom={
            "label": _("Request a change of placement or a stop"),
            "done": _("Change of placement requested"),
            "tell": (Role.STUDENT, Role.MENTOR, Role.SCHOOL_TRAINER, Role.STUDY_COACH),
            "url": "transfers:request",
        },
    )
    def request_change(self, *, by, kind: str = TRANSFER_KIND, note: str = "", data=None) -> None:
        self.change_kind = kind

    @fsm.transition(
        field=state,
        source=list(ABANDONABLE_STATES),
        target=State.IMPROVING,
        permission=may_abandon_change,
        custom={
            "label": _("Drop the change and continue improving"),
            "done": _("Change dropped; back to improvement actions"),
            "tell": (
                Role.OFFICE,
                Role.STUDENT,
                Role.MENTOR,
                Role.SCHOOL_TRAINER,
                Role.STUDY_COACH,
            ),
            "url": "transfers:abandon",
        },
    )
    def abandon_change(self, *, by, note: str = "", data=None) -> None:
        if not note.strip():
            raise GuardFailed(_("Give a reason for dropping the change."))
        self.change_kind = ""

    @fsm.transition(
        field=state,
        source=State.CHANGE_REQUESTED,
        target=State.OFFICE_INFORMED,
        conditions=[office_contact_recorded],
        permission=roles_may(Role.SCHOOL_TRAINER, Role.OFFICE),
        custom={
            "label": _("Record contact with the internship office"),
            "done": _("Internship office informed"),
            "tell": (Role.OFFICE,),
            "url": "transfers:inform",
        },
    )
    def inform_office(self, *, by, note: str = "", data=None, on_behalf_of=None) -> None:
        pass

    @fsm.transition(
        field=state,
        source=[State.OFFICE_INFORMED, State.CHANGE_CONVERSATION_INCOMPLETE],
        target=State.CHANGE_CONVERSATION_PLANNED,
        conditions=[has_planned_change_conversation, change_conversation_has_required_people],
        permission=roles_may(Role.SCHOOL_TRAINER, Role.STUDY_COACH, Role.OFFICE),
        custom={
            "label": _("Plan the all-party conversation"),
            "done": _("All-party conversation planned"),
            "tell": (
                Role.STUDENT,
                Role.SCHOOL_TRAINER,
                Role.STUDY_COACH,
                Role.COORDINATING_TRAINER,
            ),
            "url": "conversations:plan",
        },
    )
    def plan_change_conversation(self, *, by, note: str = "", data=None) -> None:
        pass

    @fsm.transition(
        field=state,
        source=State.CHANGE_CONVERSATION_PLANNED,
        target=fsm.RETURN_VALUE(State.OUTCOME_PENDING, State.CHANGE_CONVERSATION_INCOMPLETE),
        conditions=[
            change_conversation_has_taken_place,
            change_conversation_has_required_people,
            change_attendance_complete,
            five_answers_recorded,
        ],
        permission=roles_may(Role.SCHOOL_TRAINER, Role.STUDY_COACH, Role.OFFICE),
        custom={
            "label": _("Record the all-party conversation"),
            "done": _("All-party conversation recorded"),
            # The office monitors that the conversation takes place with everyone.
            "tell": (Role.OFFICE, Role.STUDENT, Role.SCHOOL_TRAINER, Role.STUDY_COACH),
            "url": "conversations:record",
        },
    )
    def record_change_conversation(self, *, by, note: str = "", data=None) -> str:
        if all_parties_attended(self):
            return State.OUTCOME_PENDING
        return State.CHANGE_CONVERSATION_INCOMPLETE

    @fsm.transition(
        field=state,
        source=State.CHANGE_CONVERSATION_INCOMPLETE,
        target=State.OUTCOME_PENDING,
        permission=roles_may(Role.OFFICE),
        custom={
            "label": _("Accept the conversation without everyone"),
            "done": _("All-party conversation accepted without everyone"),
            "tell": (Role.STUDENT, Role.SCHOOL_TRAINER, Role.STUDY_COACH),
            "url": "transfers:accept_conversation",
        },
    )
    def accept_change_conversation(self, *, by, note: str = "", data=None) -> None:
        if not note.strip():
            raise GuardFailed(_("Give a reason for accepting the conversation without everyone."))

    @fsm.transition(
        field=state,
        source=State.OUTCOME_PENDING,
        target=fsm.RETURN_VALUE(*set(OUTCOME_TARGET.values())),
        permission=roles_may(Role.SCHOOL_TRAINER, Role.OFFICE),
        custom={
            "label": _("Report the outcome to the office"),
            "done": _("Outcome reported"),
            "tell": (Role.OFFICE, Role.STUDENT, Role.STUDY_COACH),
            "url": "transfers:outcome",
        },
    )
    def report_outcome(
        self, *, by, outcome: str, note: str = "", data=None, on_behalf_of=None
    ) -> str:
        if outcome not in OUTCOME_TARGET:
            raise GuardFailed(_("Choose one of the outcomes."))
        if outcome == Outcome.AGREE_TRANSFER:
            self.change_kind = TRANSFER_KIND
        elif outcome == Outcome.AGREE_STOP and self.change_kind not in STOP_KINDS:
            self.change_kind = STOP_KIND
        elif outcome == Outcome.CONTINUE:
            self.change_kind = ""
        return OUTCOME_TARGET[outcome]

    @fsm.transition(
        field=state,
        source=State.ISOP_ADVICE,
        target=State.DECISION_PENDING,
        # The office gives it on the ISOP owner's behalf when they are away (marked).
        permission=roles_may(Role.ISOP_OWNER, Role.OFFICE),
        custom={
            "label": _("Give advice"),
            "done": _("ISOP advice given"),
            "tell": (Role.OFFICE, Role.STUDENT, Role.SCHOOL_TRAINER, Role.STUDY_COACH),
            "url": "transfers:advice",
        },
    )
    def give_advice(
        self, *, by, decision: str, note: str = "", data=None, on_behalf_of=None
    ) -> None:
        if decision not in AdviceDecision.values:
            raise GuardFailed(_("Choose what the advice recommends."))

    @fsm.transition(
        field=state,
        source=State.DECISION_PENDING,
        target=fsm.RETURN_VALUE(*set(DECISION_TARGET.values())),
        permission=roles_may(Role.OFFICE),
        custom={
            "label": _("Decide after the advice"),
            "done": _("Internship office decided"),
            "tell": (
                Role.STUDENT,
                Role.SCHOOL_TRAINER,
                Role.STUDY_COACH,
                Role.ISOP_OWNER,
            ),
            "url": "transfers:decide",
        },
    )
    def decide(self, *, by, decision: str, note: str = "", data=None) -> str:
        if decision not in DECISION_TARGET:
            raise GuardFailed(_("Choose what the internship office decides."))
        if decision == AdviceDecision.TRANSFER:
            self.change_kind = TRANSFER_KIND
        elif decision == AdviceDecision.STOP:
            if self.change_kind not in STOP_KINDS:
                self.change_kind = STOP_KIND
        else:
            self.change_kind = ""
        return DECISION_TARGET[decision]

    @fsm.transition(
        field=state,
        source=State.TRANSFER_REQUESTED,
        target=fsm.RETURN_VALUE(State.HANDOVER, State.CLOSED_TRANSFERRED),
        conditions=[wrap_up_agreed, new_placement_recorded],
        permission=roles_may(Role.OFFICE),
        custom={
            "label": _("Place the student at a new placement"),
            "done": _("Student placed at a new placement"),
            "tell": (Role.STUDENT, Role.SCHOOL_TRAINER, Role.STUDY_COACH),
            "url": "transfers:place",
        },
    )
    def place_student(self, *, by, new_placement: Placement, note: str = "", data=None) -> str:
        coach_changes = new_placement.study_coach_id != self.current_placement.study_coach_id
        self.new_placement = new_placement
        self.change_kind = TRANSFER_KIND
        if coach_changes:
            return State.HANDOVER
        self.closed_at = timezone.now()
        return State.CLOSED_TRANSFERRED

    @fsm.transition(
        field=state,
        source=State.TRANSFER_REQUESTED,
        target=fsm.RETURN_VALUE(State.STOPPED, State.CLOSED_STOPPED),
        conditions=[wrap_up_agreed, stop_recorded],
        permission=roles_may(Role.OFFICE),
        custom={
            "label": _("Record a (temporary) stop"),
            "done": _("Internship stopped"),
            "tell": (Role.STUDENT, Role.MENTOR, Role.SCHOOL_TRAINER, Role.STUDY_COACH),
            "url": "transfers:stop",
        },
    )
    def stop_internship(self, *, by, temporary: bool, note: str = "", data=None) -> str:
        self.change_kind = STOP_TEMPORARY_KIND if temporary else STOP_KIND
        if temporary:
            return State.STOPPED
        self.closed_at = timezone.now()
        return State.CLOSED_STOPPED

    @fsm.transition(
        field=state,
        source=list(STOP_NOW_STATES),
        target=fsm.RETURN_VALUE(State.STOPPED, State.CLOSED_STOPPED),
        conditions=[stop_recorded],
        # The stop route is advised, not compulsory (the seed: "raadzaam"): after an illness
        # or a crisis the student or the office records the stop at once.
        permission=roles_may(Role.STUDENT, Role.OFFICE),
        custom={
            "label": _("Stop the internship now"),
            "done": _("Internship stopped at once"),
            "tell": (
                Role.OFFICE,
                Role.STUDENT,
                Role.MENTOR,
                Role.SCHOOL_TRAINER,
                Role.STUDY_COACH,
            ),
            "url": "transfers:stop_now",
        },
    )
    def stop_now(self, *, by, temporary: bool, note: str = "", data=None) -> str:
        if not note.strip():
            raise GuardFailed(_("Give the reason for the stop."))
        self.change_kind = STOP_TEMPORARY_KIND if temporary else STOP_KIND
        if temporary:
            return State.STOPPED
        self.closed_at = timezone.now()
        return State.CLOSED_STOPPED

    @fsm.transition(
        field=state,
        source=State.STOPPED,
        target=State.CLOSED_STOPPED,
        permission=roles_may(Role.OFFICE),
        custom={
            "label": _("Make the stop definitive"),
            "done": _("Temporary stop made definitive"),
            "tell": (Role.STUDENT, Role.MENTOR, Role.SCHOOL_TRAINER, Role.STUDY_COACH),
            "url": "transfers:make_definitive",
        },
    )
    def make_definitive(self, *, by, note: str = "", data=None) -> None:
        self.change_kind = STOP_KIND
        self.closed_at = timezone.now()

    @fsm.transition(
        field=state,
        source=State.HANDOVER,
        target=fsm.RETURN_VALUE(State.CLOSED_TRANSFERRED, State.CLOSED_RESUMED),
        conditions=[handover_contact_recorded],
        permission=may_confirm_handover,
        custom={
            "label": _("Record the warm handover"),
            "done": _("Warm handover recorded"),
            "tell": (Role.OFFICE, Role.STUDENT, Role.STUDY_COACH),
            "url": "transfers:handover",
        },
    )
    def confirm_handover(self, *, by, note: str = "", data=None, on_behalf_of=None) -> str:
        self.closed_at = timezone.now()
        # A resume at another school with a new coach ends as "resumed", a transfer as such.
        if self.change_kind in STOP_KINDS:
            return State.CLOSED_RESUMED
        return State.CLOSED_TRANSFERRED

    @fsm.transition(
        field=state,
        source=State.STOPPED,
        target=fsm.RETURN_VALUE(State.CLOSED_RESUMED, State.HANDOVER),
        permission=roles_may(Role.OFFICE),
        custom={
            "label": _("Resume the internship"),
            "done": _("Internship resumed"),
            "tell": (Role.STUDENT, Role.SCHOOL_TRAINER, Role.STUDY_COACH),
            "url": "transfers:resume",
        },
    )
    def resume(self, *, by, placement: Placement | None = None, note: str = "", data=None) -> str:
        if placement is not None:
            coach_changes = placement.study_coach_id != self.current_placement.study_coach_id
            self.new_placement = placement
            if coach_changes:
                # As for a transfer: the previous coach hands over to the new one first.
                return State.HANDOVER
        self.closed_at = timezone.now()
        return State.CLOSED_RESUMED

    @fsm.transition(
        field=state,
        source=list(OPEN_STATES),
        target=State.CLOSED_WITHDRAWN,
        permission=may_withdraw,
        custom={
            "label": _("Withdraw the case"),
            "done": _("Case withdrawn"),
            "tell": (
                Role.OFFICE,
                Role.STUDENT,
                Role.MENTOR,
                Role.SCHOOL_TRAINER,
                Role.STUDY_COACH,
            ),
            "url": "cases:withdraw",
        },
    )
    def withdraw(self, *, by, note: str = "", data=None) -> None:
        if not note.strip():
            raise GuardFailed(_("Give a reason for withdrawing the case."))
        self.closed_at = timezone.now()

    @fsm.transition(
        field=state,
        source=list(CLOSED_STATES),
        target=State.IMPROVING,
        conditions=[placement_still_current, no_other_open_case],
        permission=roles_may(Role.OFFICE),
        custom={
            "label": _("Reopen the case"),
            "done": _("Case reopened"),
            "tell": (Role.STUDENT, Role.MENTOR, Role.SCHOOL_TRAINER, Role.STUDY_COACH),
            "url": "cases:reopen",
        },
    )
    def reopen(self, *, by, note: str = "", data=None) -> None:
        if not note.strip():
            raise GuardFailed(_("Give a reason for reopening the case."))
        self.closed_at = None
        self.change_kind = ""


class CaseStateCount(models.Model):
    """The number of cases in each state, kept by the database itself: triggers on the case
    table (migration 0012, on PostgreSQL and SQLite) add and subtract in the transaction that
    inserts, deletes or moves a case, whichever way it does (a transition, a bulk insert, the
    admin), so the counts are consistent under concurrency (the counter rows are locked until
    commit, an old and a new state always in the same order, so two moves cannot deadlock).
    The dashboard reads its counts per state here instead of counting every open case."""

    state = models.CharField(_("state"), max_length=40, choices=State.choices, primary_key=True)
    count = models.BigIntegerField(_("number of cases"), default=0)

    class Meta:
        verbose_name = _("number of cases in a state")
        verbose_name_plural = _("numbers of cases per state")
        ordering = ["state"]

    def __str__(self) -> str:
        return f"{self.state}: {self.count}"


class CaseClosureCount(models.Model):
    """The number of cases closed per day (UTC) and state, kept by the database itself like
    `CaseStateCount` (triggers of migration 0015, PostgreSQL and SQLite): a case counts on the
    day of its `closed_at`, in its state, while it has one; whichever way a case is written
    (a transition, a bulk insert, the admin, a deletion), the counters follow in the same
    transaction. The dashboard's "closed in the last 30 days" reads 30 of these days instead
    of one index entry per closed case (#17); the day the window starts in is counted from the
    cases themselves, so the window stays exact to the second."""

    day = models.DateField(_("day (UTC)"))
    state = models.CharField(_("state"), max_length=40, choices=State.choices)
    count = models.BigIntegerField(_("number of cases"), default=0)

    class Meta:
        verbose_name = _("number of cases closed on a day")
        verbose_name_plural = _("numbers of cases closed per day")
        ordering = ["-day", "state"]
        constraints = [
            models.UniqueConstraint(fields=["day", "state"], name="case_closure_count_day_state")
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.state}: {self.count}"


class CaseCategory(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="categories")
    category = models.CharField(_("category"), max_length=30, choices=Category.choices)

    class Meta:
        verbose_name = _("case category")
        verbose_name_plural = _("case categories")
        constraints = [
            models.UniqueConstraint(fields=["case", "category"], name="case_category_unique")
        ]
        indexes = [models.Index(fields=["category"], name="case_category_idx")]

    def __str__(self) -> str:
        return self.get_category_display()


class AppendOnlyQuerySet(models.QuerySet):
    """Append-only in bulk too: a queryset can add rows, never change or remove them."""

    refusal = "These records are append-only."

    def update(self, **kwargs):
        raise PermissionDenied(self.refusal)

    def delete(self):
        raise PermissionDenied(self.refusal)


class AppendOnlyModel(models.Model):
    """A row is written once: saving it again or deleting it is refused (its queryset too)."""

    refusal = "These records are append-only."

    class Meta:
        abstract = True

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None and not self._state.adding:
            raise PermissionDenied(self.refusal)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionDenied(self.refusal)


class CaseEventQuerySet(AppendOnlyQuerySet):
    refusal = "Timeline events are append-only."


class CaseEvent(AppendOnlyModel):
    """The case's timeline: every transition and every record, with actor and time. Append-only."""

    refusal = "Timeline events are append-only."

    class Kind(models.TextChoices):
        TRANSITION = "transition", _("step")
        RECORD = "record", _("record")

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="events")
    at = models.DateTimeField(_("time"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("on behalf of"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    name = models.CharField(_("what"), max_length=60)
    from_state = models.CharField(_("from"), max_length=40, blank=True, choices=State.choices)
    to_state = models.CharField(_("to"), max_length=40, blank=True, choices=State.choices)
    note = models.TextField(_("note"), blank=True)
    # What happened, as codes, dates and names (never words of one language): rendered in the
    # reader's language by `detail` (event_detail below).
    data = models.JSONField(_("details"), default=dict, blank=True)

    objects = CaseEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("timeline event")
        verbose_name_plural = _("timeline events")
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["case", "at"], name="case_event_case_at")]

    def __str__(self) -> str:
        return f"{self.case_id} {self.name} {self.at:%Y-%m-%d %H:%M}"

    @property
    def label(self) -> str:
        return event_label(self.name, (self.data or {}).get("kind", ""))

    @property
    def detail(self) -> str:
        return event_detail(self.name, self.data or {})

    def get_from_state_display(self) -> str:
        return state_label(self.from_state, (self.data or {}).get("kind", ""))

    def get_to_state_display(self) -> str:
        return state_label(self.to_state, (self.data or {}).get("kind", ""))


def transition_names() -> list[str]:
    return sorted({t.name for t in Case._meta.get_field("state").get_all_transitions(Case)})


def transition_meta(name: str):
    """The fsm Transition objects (one per source state) for a method name."""
    return getattr(Case, name)._django_fsm


# The timeline's words for what is not a transition (the signal and the records); each
# transition declares its own ("done") with the transition above.
RECORD_LABELS: dict[str, str] = {
    "signal": _("Problem signalled"),
    "signal_added": _("Further signal added to the open case"),
    "action_added": _("Improvement action added"),
    "action_evaluated": _("Improvement action evaluated"),
    "actions_closed_with_case": _("Open improvement actions closed with the case"),
    "wrap_up_recorded": _("Wrap-up with the class recorded"),
    "wrap_up_agreed": _("Wrap-up with the class agreed"),
    "isop_advice_requested": _("ISOP advice requested"),
    "handover_started": _("New study coach: warm handover started"),
    "handover_received": _("Handover receipt confirmed by the new coach"),
    "conversation_rescheduled": _("Conversation rescheduled"),
    "conversation_cancelled": _("Conversation cancelled"),
    "conversation_planned_again": _("New conversation planned"),
    "conversation_follow_up_planned": _("Follow-up conversation planned"),
    "follow_up_recorded": _("Follow-up conversation recorded as held"),
    "briefing_recorded": _("Absent participant briefed"),
    "summary_read": _("Summary read by the briefed person"),
    "student_note_submitted": _("Student note submitted"),
    "confidential_released": _("Confidential signal shared by the internship office"),
    # cases.services.placement_reassign: someone else takes a role on the case's placement.
    "mentor_reassigned": _("New mentor assigned"),
    "school_trainer_reassigned": _("New school trainer assigned"),
    "study_coach_reassigned": _("New study coach assigned"),
    "coordinating_trainer_reassigned": _("New coordinating school trainer assigned"),
    # transfers.services.study_step_record: a consequence for the student's study.
    "study_step_recorded": _("Consequence for the study recorded"),
    # attachments.services.attachment_add: a file on the case (its name is the note); a
    # doctor's note without its name, and only the student and the office see that event.
    "attachment_added": _("Attachment added"),
    "medical_attachment_added": _("Medical attachment added"),
    # cases.services.case_reassign: a new study coach while the case is open.
    "handover_needed": _("Study coach changed: warm handover from the previous coach needed"),
}

# A step that reads differently by the kind of change: a stop request as a stop request, on
# the timeline (the event's data holds the kind) and in the inbox and e-mails (their own event
# names, see step_event_name).
STEP_VARIANTS: dict[str, dict[str, str]] = {
    "request_change": {
        STOP_TEMPORARY_KIND: _("Temporary stop requested"),
        STOP_KIND: _("Stop of the internship requested"),
    },
}
VARIANT_EVENTS: dict[tuple[str, str], str] = {
    ("request_change", STOP_TEMPORARY_KIND): "request_stop_temporary",
    ("request_change", STOP_KIND): "request_stop",
}


def step_declaration(name: str) -> dict:
    """What the transition `name` declares: label, done, tell (roles told), url."""
    return next(iter(transition_meta(name).transitions.values())).custom


def step_event_name(name: str, kind: str = "") -> str:
    """The outbox's event name of a step: its own for a variant (a stop request)."""
    return VARIANT_EVENTS.get((name, kind or ""), name)


EVENT_LABELS: dict[str, str] = {
    **{name: step_declaration(name)["done"] for name in transition_names()},
    **RECORD_LABELS,
    **{event: STEP_VARIANTS[name][kind] for (name, kind), event in VARIANT_EVENTS.items()},
}


def event_label(name: str, kind: str = "") -> str:
    """The translated label of a timeline or notification event of the core, else the name."""
    variant = STEP_VARIANTS.get(name, {}).get(kind or "")
    if variant is not None:
        return variant
    return EVENT_LABELS.get(name, name)


def _day(value) -> str:
    moment = parse_datetime(value) if "T" in str(value) else None
    if moment is not None:
        return date_format(timezone.localtime(moment), "j F Y H:i")
    day = parse_date(str(value))
    return date_format(day, "j F Y") if day else str(value)


def _choice(choices, code) -> str:
    try:
        return str(choices(code).label)
    except ValueError:
        return str(code)


def event_detail(name: str, data: dict) -> str:
    """What the event's data say, in the active language ("" when there is nothing to add).
    Timeline notes are stored as data, so a Dutch reader never sees an English code."""
    parts: list[str] = []
    if "evaluation" in data:
        parts.append(
            gettext("Evaluation: %(evaluation)s")
            % {"evaluation": _choice(Evaluation, data["evaluation"])}
        )
    if "outcome" in data:
        outcome = _choice(Outcome, data["outcome"])
        parts.append(gettext("Outcome: %(outcome)s") % {"outcome": outcome})
    if "advice" in data and "decision" not in data:
        advice = _choice(AdviceDecision, data["advice"])
        parts.append(gettext("Advice: %(advice)s") % {"advice": advice})
    if "decision" in data:
        parts.append(
            gettext("Decision: %(decision)s")
            % {"decision": _choice(AdviceDecision, data["decision"])}
        )
        if data.get("advice") and data["advice"] != data["decision"]:
            parts.append(
                gettext("This departs from the ISOP advice (%(advice)s).")
                % {"advice": _choice(AdviceDecision, data["advice"])}
            )
    if "temporary" in data:
        if data["temporary"]:
            parts.append(
                gettext("Temporary; expected back on %(date)s.") % {"date": _day(data["resume_on"])}
                if data.get("resume_on")
                else gettext("Temporary.")
            )
        else:
            parts.append(gettext("Definitive."))
    if "school" in data:
        parts.append(
            gettext("At %(school)s from %(date)s.")
            % {"school": data["school"], "date": _day(data.get("from", ""))}
        )
    elif "resumed_on" in data:
        parts.append(gettext("Resumed on %(date)s.") % {"date": _day(data["resumed_on"])})
    if data.get("coach_from") and data.get("coach_to"):
        parts.append(
            gettext("The study coach changes from %(old)s to %(new)s.")
            % {"old": data["coach_from"], "new": data["coach_to"]}
        )
    if "was" in data:
        parts.append(
            gettext("Was: %(when)s, %(place)s.")
            % {"when": _day(data["was"]), "place": data.get("was_location", "")}
        )
    if "person" in data:
        parts.append(gettext("Briefed: %(person)s.") % {"person": data["person"]})
    if "last_day" in data:
        last_day = _day(data["last_day"])
        parts.append(gettext("Last day at the school: %(date)s.") % {"date": last_day})
    if "ends_on" in data:
        parts.append(gettext("The placement ends on %(date)s.") % {"date": _day(data["ends_on"])})
    if "starts_at" in data:
        parts.append(gettext("On %(when)s.") % {"when": _day(data["starts_at"])})
    if "categories" in data:
        parts.append(", ".join(_choice(Category, c) for c in data["categories"]))
    if "action" in data:
        parts.insert(0, f"{data['action']}:")
    return " ".join(parts)
