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
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
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
    mentor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("mentor"),
        on_delete=models.PROTECT,
        related_name="placements_as_mentor",
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
    OUTCOME_PENDING = "outcome_pending", _("awaiting outcome")
    ISOP_ADVICE = "isop_advice", _("awaiting ISOP advice")
    TRANSFER_REQUESTED = "transfer_requested", _("awaiting new placement or stop")
    HANDOVER = "handover", _("warm handover between study coaches")
    STOPPED = "stopped", _("internship stopped temporarily")
    CLOSED_RESOLVED = "closed_resolved", _("closed: resolved")
    CLOSED_TRANSFERRED = "closed_transferred", _("closed: transferred")
    CLOSED_STOPPED = "closed_stopped", _("closed: stopped")
    CLOSED_WITHDRAWN = "closed_withdrawn", _("closed: withdrawn")


CLOSED_STATES = (
    State.CLOSED_RESOLVED,
    State.CLOSED_TRANSFERRED,
    State.CLOSED_STOPPED,
    State.CLOSED_WITHDRAWN,
)
OPEN_STATES = tuple(s for s in State if s not in CLOSED_STATES)


class Category(models.TextChoices):
    WELLBEING = "wellbeing", _("personal wellbeing")
    ATMOSPHERE = "atmosphere", _("atmosphere at the training school")
    MENTOR_RELATIONSHIP = "mentor_relationship", _("relationship with the mentor")
    CLASSROOM = "classroom", _("functioning in the classroom")
    OTHER = "other", _("other")


class Outcome(models.TextChoices):
    """The outcome of the change conversation, as the school trainer reports it."""

    AGREE_TRANSFER = "agree_transfer", _("everyone agrees to transfer")
    AGREE_STOP = "agree_stop", _("everyone agrees to stop")
    CONTINUE = "continue", _("continue at this placement")
    OPINIONS_DIFFER = "opinions_differ", _("opinions differ")


class AdviceDecision(models.TextChoices):
    TRANSFER = "transfer", _("change placement or stop")
    CONTINUE = "continue", _("continue at this placement")


OUTCOME_TARGET = {
    Outcome.AGREE_TRANSFER: State.TRANSFER_REQUESTED,
    Outcome.AGREE_STOP: State.TRANSFER_REQUESTED,
    Outcome.CONTINUE: State.IMPROVING,
    Outcome.OPINIONS_DIFFER: State.ISOP_ADVICE,
}
ADVICE_TARGET = {
    AdviceDecision.TRANSFER: State.TRANSFER_REQUESTED,
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


def roles_may(*roles: str) -> Callable:
    def permission(case: Case, user) -> bool:
        return bool(case.roles_of(user) & set(roles))

    permission.roles = roles
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


@guard(_("Record the wrap-up with the class (last day, saying goodbye) first."))
def wrap_up_recorded(case: Case) -> bool:
    return case.wrap_ups.exists()


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


class CaseQuerySet(models.QuerySet):
    def open(self):
        return self.filter(state__in=OPEN_STATES)

    def related_to(self, user):
        """Cases the user is related to: their role on the placement, or old coach in handover."""
        if not user.is_authenticated:
            return self.none()
        if user.is_office:
            return self
        q = models.Q()
        for field in PLACEMENT_ROLE_FIELDS.values():
            q |= models.Q(**{f"placement__{field}": user})
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

    placement = models.ForeignKey(
        Placement, verbose_name=_("placement"), on_delete=models.PROTECT, related_name="cases"
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
            # Outcomes per period (the pictures and the steering group's report).
            models.Index(
                fields=["closed_at"],
                name="case_closed_at",
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

    @cached_property
    def open_handover(self):
        """The warm handover still to be recorded (the latest), read through `handovers.all()`
        so that a page that prefetched the handovers asks the database nothing more."""
        open_ones = [h for h in self.handovers.all() if h.confirmed_at is None]
        return max(open_ones, key=lambda h: h.pk, default=None)

    def roles_of(self, user) -> set[str]:
        if not getattr(user, "is_authenticated", False):
            return set()
        roles = set(self.placement.roles_of(user)) | set(user.global_roles)
        if self.state == State.HANDOVER and is_old_coach(self, user):
            roles.add("old_study_coach")
        # "signaller" is a pseudo-role: whoever signalled the case may withdraw it.
        if self.signalled_by_id == user.pk:
            roles.add("signaller")
        return roles

    def people(self, roles: Iterable[str]) -> list:
        """The people on this case's placement holding any of the given placement roles."""
        found = []
        for role in roles:
            person = self.placement.person(role)
            if person is not None and person not in found:
                found.append(person)
        return found

    # --- the machine -----------------------------------------------------------------------
    # Every transition takes the actor as `by` (the timeline receiver reads it) and an
    # optional `note`. Permission is checked by services through has_transition_perm.

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
    def plan_conversation(self, *, by, note: str = "") -> None:
        pass

    @fsm.transition(
        field=state,
        source=State.CONVERSATION_PLANNED,
        target=State.IMPROVING,
        conditions=[problem_attendance_complete, has_improvement_action],
        permission=roles_may(Role.SCHOOL_TRAINER, Role.STUDY_COACH, Role.MENTOR, Role.OFFICE),
        custom={
            "label": _("Record the conversation as held"),
            "done": _("Conversation recorded as held"),
            "tell": (Role.STUDENT, Role.MENTOR, Role.SCHOOL_TRAINER, Role.STUDY_COACH),
            "url": "conversations:record",
        },
    )
    def record_conversation(self, *, by, note: str = "") -> None:
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
    def resolve(self, *, by, note: str = "") -> None:
        self.closed_at = timezone.now()

    @fsm.transition(
        field=state,
        source=State.IMPROVING,
        target=State.CHANGE_REQUESTED,
        conditions=[has_open_change_request],
        permission=roles_may(Role.STUDENT, Role.SCHOOL_TRAINER, Role.STUDY_COACH),
        custom={
            "label": _("Request a change of placement or a stop"),
            "done": _("Change of placement requested"),
            "tell": (Role.STUDENT, Role.MENTOR, Role.SCHOOL_TRAINER, Role.STUDY_COACH),
            "url": "transfers:request",
        },
    )
    def request_change(self, *, by, note: str = "") -> None:
        pass

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
    def inform_office(self, *, by, note: str = "", on_behalf_of=None) -> None:
        pass

    @fsm.transition(
        field=state,
        source=State.OFFICE_INFORMED,
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
    def plan_change_conversation(self, *, by, note: str = "") -> None:
        pass

    @fsm.transition(
        field=state,
        source=State.CHANGE_CONVERSATION_PLANNED,
        target=State.OUTCOME_PENDING,
        conditions=[
            change_conversation_has_required_people,
            change_attendance_complete,
            five_answers_recorded,
        ],
        permission=roles_may(Role.SCHOOL_TRAINER, Role.STUDY_COACH, Role.OFFICE),
        custom={
            "label": _("Record the all-party conversation"),
            "done": _("All-party conversation recorded"),
            "tell": (Role.STUDENT, Role.SCHOOL_TRAINER, Role.STUDY_COACH),
            "url": "conversations:record",
        },
    )
    def record_change_conversation(self, *, by, note: str = "") -> None:
        pass

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
    def report_outcome(self, *, by, outcome: str, note: str = "", on_behalf_of=None) -> str:
        if outcome not in OUTCOME_TARGET:
            raise GuardFailed(_("Choose one of the outcomes."))
        return OUTCOME_TARGET[outcome]

    @fsm.transition(
        field=state,
        source=State.ISOP_ADVICE,
        target=fsm.RETURN_VALUE(*set(ADVICE_TARGET.values())),
        permission=roles_may(Role.ISOP_OWNER),
        custom={
            "label": _("Give advice"),
            "done": _("ISOP advice given"),
            "tell": (Role.OFFICE, Role.STUDENT, Role.SCHOOL_TRAINER, Role.STUDY_COACH),
            "url": "transfers:advice",
        },
    )
    def give_advice(self, *, by, decision: str, note: str = "") -> str:
        if decision not in ADVICE_TARGET:
            raise GuardFailed(_("Choose what the advice recommends."))
        return ADVICE_TARGET[decision]

    @fsm.transition(
        field=state,
        source=State.TRANSFER_REQUESTED,
        target=fsm.RETURN_VALUE(State.HANDOVER, State.CLOSED_TRANSFERRED),
        conditions=[wrap_up_recorded, new_placement_recorded],
        permission=roles_may(Role.OFFICE),
        custom={
            "label": _("Place the student at a new placement"),
            "done": _("Student placed at a new placement"),
            "tell": (Role.STUDENT, Role.SCHOOL_TRAINER, Role.STUDY_COACH),
            "url": "transfers:place",
        },
    )
    def place_student(self, *, by, new_placement: Placement, note: str = "") -> str:
        coach_changes = new_placement.study_coach_id != self.placement.study_coach_id
        self.placement = new_placement
        if coach_changes:
            return State.HANDOVER
        self.closed_at = timezone.now()
        return State.CLOSED_TRANSFERRED

    @fsm.transition(
        field=state,
        source=State.TRANSFER_REQUESTED,
        target=fsm.RETURN_VALUE(State.STOPPED, State.CLOSED_STOPPED),
        conditions=[wrap_up_recorded, stop_recorded],
        permission=roles_may(Role.OFFICE),
        custom={
            "label": _("Record a (temporary) stop"),
            "done": _("Internship stopped"),
            "tell": (Role.STUDENT, Role.MENTOR, Role.SCHOOL_TRAINER, Role.STUDY_COACH),
            "url": "transfers:stop",
        },
    )
    def stop_internship(self, *, by, temporary: bool, note: str = "") -> str:
        if temporary:
            return State.STOPPED
        self.closed_at = timezone.now()
        return State.CLOSED_STOPPED

    @fsm.transition(
        field=state,
        source=State.HANDOVER,
        target=State.CLOSED_TRANSFERRED,
        conditions=[handover_contact_recorded],
        permission=is_old_coach,
        custom={
            "label": _("Record the warm handover"),
            "done": _("Warm handover recorded"),
            "tell": (Role.OFFICE, Role.STUDENT, Role.STUDY_COACH),
            "url": "transfers:handover",
        },
    )
    def confirm_handover(self, *, by, note: str = "") -> None:
        self.closed_at = timezone.now()

    @fsm.transition(
        field=state,
        source=State.STOPPED,
        target=State.CLOSED_STOPPED,
        permission=roles_may(Role.OFFICE),
        custom={
            "label": _("Resume the internship"),
            "done": _("Internship resumed"),
            "tell": (Role.STUDENT, Role.SCHOOL_TRAINER, Role.STUDY_COACH),
            "url": "transfers:resume",
        },
    )
    def resume(self, *, by, placement: Placement | None = None, note: str = "") -> None:
        if placement is not None:
            self.placement = placement
        self.closed_at = timezone.now()

    @fsm.transition(
        field=state,
        source=list(OPEN_STATES),
        target=State.CLOSED_WITHDRAWN,
        permission=roles_may(Role.SCHOOL_TRAINER, Role.STUDY_COACH, Role.OFFICE, "signaller"),
        custom={
            "label": _("Withdraw the case"),
            "done": _("Case withdrawn"),
            "tell": (Role.STUDENT, Role.MENTOR, Role.SCHOOL_TRAINER, Role.STUDY_COACH),
            "url": "cases:withdraw",
        },
    )
    def withdraw(self, *, by, note: str = "") -> None:
        if not note.strip():
            raise GuardFailed(_("Give a reason for withdrawing the case."))
        self.closed_at = timezone.now()


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
        return event_label(self.name)


def transition_names() -> list[str]:
    return sorted({t.name for t in Case._meta.get_field("state").get_all_transitions(Case)})


def transition_meta(name: str):
    """The fsm Transition objects (one per source state) for a method name."""
    return getattr(Case, name)._django_fsm


# The timeline's words for what is not a transition (the signal and the records); each
# transition declares its own ("done") with the transition above.
RECORD_LABELS: dict[str, str] = {
    "signal": _("Problem signalled"),
    "action_added": _("Improvement action added"),
    "action_evaluated": _("Improvement action evaluated"),
    "wrap_up_recorded": _("Wrap-up with the class recorded"),
    "isop_advice_requested": _("ISOP advice requested"),
    "handover_started": _("New study coach: warm handover started"),
    "handover_received": _("Handover receipt confirmed by the new coach"),
    "conversation_rescheduled": _("Conversation rescheduled"),
    "conversation_cancelled": _("Conversation cancelled"),
    "conversation_planned_again": _("New conversation planned"),
    "briefing_recorded": _("Absent participant briefed"),
    "summary_read": _("Summary read by the briefed person"),
    "student_note_submitted": _("Student note submitted"),
    "confidential_released": _("Confidential signal opened by the internship office"),
    # cases.services.placement_reassign: someone else takes a role on the case's placement.
    "mentor_reassigned": _("New mentor assigned"),
    "school_trainer_reassigned": _("New school trainer assigned"),
    "study_coach_reassigned": _("New study coach assigned"),
    "coordinating_trainer_reassigned": _("New coordinating school trainer assigned"),
    # transfers.services.study_step_record: a consequence for the student's study.
    "study_step_recorded": _("Consequence for the study recorded"),
    # cases.services.case_reassign: a new study coach while the case is open.
    "handover_needed": _("Study coach changed: warm handover from the previous coach needed"),
}


def step_declaration(name: str) -> dict:
    """What the transition `name` declares: label, done, tell (roles told), url."""
    return next(iter(transition_meta(name).transitions.values())).custom


EVENT_LABELS: dict[str, str] = {
    **{name: step_declaration(name)["done"] for name in transition_names()},
    **RECORD_LABELS,
}


def event_label(name: str) -> str:
    """The translated label of a timeline or notification event of the core, else the name."""
    return EVENT_LABELS.get(name, name)
