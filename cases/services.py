"""Business rules of the case: signalling, running transitions with clear refusals, the timeline.

Every state change goes through `run_transition` on a row locked with `lock_case`, so a refusal
always has a translated reason and two people acting at once cannot both win.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .events import StepEvent, publish
from .models import (
    GLOBAL_ROLES,
    PLACEMENT_ROLE_FIELDS,
    Case,
    CaseCategory,
    CaseEvent,
    Deputy,
    GuardFailed,
    NotPermitted,
    Placement,
    Role,
    State,
    User,
    global_role_holders,
    step_declaration,
    step_event_name,
    transition_meta,
    transition_names,
)
from .rules import is_hidden, is_related

# While a confidential signal waits for the office, nothing moves but a withdrawal.
WHILE_CONFIDENTIAL = frozenset({"withdraw"})
CONFIDENTIAL_FIRST = gettext_lazy(
    "This signal is confidential: the internship office shares it with the people involved first."
)

ROLE_LABELS = {
    **{role.value: role.label for role in Role},
    "signaller": gettext_lazy("person who signalled the case"),
    "old_study_coach": gettext_lazy("previous study coach"),
}

# Whom a new signal tells (besides the one who signalled). Each transition declares its own
# ("tell") with the transition in cases/models.py.
SIGNAL_RECIPIENTS: tuple[str, ...] = (
    Role.STUDENT,
    Role.MENTOR,
    Role.SCHOOL_TRAINER,
    Role.STUDY_COACH,
)


class CaseChangedMeanwhile(Exception):
    """Someone else changed the case after this user loaded it."""

    def __init__(self) -> None:
        self.message = _("Someone else changed this case in the meantime.")
        super().__init__(self.message)


def what_changed_meanwhile(case: Case) -> str:
    """For the form that lost the race: the latest step on the case, who took it and when, and
    that the user's input is kept. (Only what the timeline shows everyone who sees the case.)"""
    event = case.events.select_related("actor").order_by("-at", "-pk").first()
    parts = [str(CaseChangedMeanwhile().message)]
    if event is not None:
        parts.append(
            _("Last step: “%(step)s” by %(who)s, %(when)s.")
            % {
                "step": event.label,
                "who": event.actor or _("the system"),
                "when": date_format(timezone.localtime(event.at), "DATETIME_FORMAT"),
            }
        )
    parts.append(_("Your input is below: check it against the case and submit again."))
    return " ".join(parts)


def lock_case(case_id: int, *, seen_version: int | None = None) -> Case:
    """Lock the case row for the rest of the transaction; refuse if it changed since it was seen."""
    case = (
        Case.objects.select_for_update(of=("self",))
        .select_related("placement", "new_placement")
        .get(pk=case_id)
    )
    if seen_version is not None and case.version != seen_version:
        raise CaseChangedMeanwhile()
    return case


def _join_roles(roles: Iterable[str]) -> str:
    labels = [str(ROLE_LABELS.get(r, r)) for r in roles]
    if len(labels) <= 1:
        return "".join(labels)
    return _("%(first)s or %(last)s") % {"first": ", ".join(labels[:-1]), "last": labels[-1]}


def check_permitted(case: Case, name: str, user) -> None:
    """Refuse (translated) when `name` is impossible in this state or not this user's to take.

    Services that write records before running the transition call this first, so nobody
    without the right writes records, and the guards are checked after the records exist.
    """
    meta = transition_meta(name)
    # "Not yours" before "not now": a step that is never this person's is refused (403) in
    # every state, so nobody learns the state of a part of the case that is not theirs.
    # (The previous study coach is one only during the handover: that step keeps "not now".)
    transitions = list(meta.transitions.values())
    state_bound = any("old_study_coach" in getattr(t.permission, "roles", ()) for t in transitions)
    if not state_bound and not any(t.has_perm(case, user) for t in transitions):
        _refuse(transitions[0], name)
    if is_hidden(case) and name not in WHILE_CONFIDENTIAL:
        raise GuardFailed(CONFIDENTIAL_FIRST)
    if not meta.has_transition(case.state):
        raise GuardFailed(
            _("“%(action)s” is not possible while the case is “%(state)s”.")
            % {"action": _label(name), "state": case.get_state_display()}
        )
    transition = meta.get_transition(case.state)
    if not transition.has_perm(case, user):
        _refuse(transition, name)


def _refuse(transition, name: str):
    refusal = getattr(transition.permission, "refusal", None)
    if refusal:
        raise NotPermitted(str(refusal))
    roles = getattr(transition.permission, "roles", ())
    raise NotPermitted(
        _("Only the %(roles)s may do this: “%(action)s”.")
        % {"roles": _join_roles(roles), "action": _label(name)}
    )


def check_transition(case: Case, name: str, user) -> None:
    """Raise GuardFailed or NotPermitted with a translated reason when `name` is refused."""
    check_permitted(case, name, user)
    for condition in transition_meta(name).get_transition(case.state).conditions:
        if not condition(case):
            raise GuardFailed(condition.message)


def _label(name: str) -> str:
    meta = transition_meta(name)
    any_transition = next(iter(meta.transitions.values()))
    return str(any_transition.custom.get("label", name))


@dataclass(frozen=True)
class AvailableStep:
    name: str
    label: str
    url_name: str
    # A guard that still fails and that the step's form cannot satisfy, shown by the button.
    blocked_reason: str | None


def available_steps(case: Case, user) -> list[AvailableStep]:
    """The steps this user may take on the case now (including ones still blocked by a guard)."""
    steps = []
    for name in transition_names():
        meta = transition_meta(name)
        if not meta.has_transition(case.state):
            continue
        if is_hidden(case) and name not in WHILE_CONFIDENTIAL:
            continue  # the office opens the signal first (its own button on the case page)
        transition = meta.get_transition(case.state)
        if not transition.has_perm(case, user):
            continue
        # Only what must exist before the step's form opens blocks it (e.g. the wrap-up);
        # what the form itself records is checked when the step is taken.
        failing = next(
            (
                c
                for c in transition.conditions
                if not getattr(c, "filled_by_step", False) and not c(case)
            ),
            None,
        )
        steps.append(
            AvailableStep(
                name=name,
                label=str(transition.custom.get("label", name)),
                url_name=transition.custom["url"],
                blocked_reason=str(failing.message) if failing else None,
            )
        )
    return steps


def run_transition(
    case: Case,
    name: str,
    *,
    by,
    context: dict | None = None,
    attachment=None,
    extra=(),
    **kwargs,
) -> Case:
    """Run one transition on a locked case, write the timeline and tell the people the step
    declares (and `extra` people; `context` and `attachment` go with their notifications, e.g.
    a calendar file). A stop request is told as a stop request (its own event name)."""
    check_transition(case, name, by)
    getattr(case, name)(by=by, **kwargs)
    case.version += 1
    case.state_changed_at = timezone.now()
    case.save()
    case.__dict__.pop("open_handover", None)
    notify_roles(
        case,
        event=step_event_name(name, case.change_kind),
        actor=by,
        roles=step_declaration(name)["tell"],
        extra=extra,
        context=context,
        attachment=attachment,
        transition=True,
    )
    return case


def recipients_for(case: Case, roles: Iterable[str]) -> list:
    roles = tuple(roles)
    people = case.people([r for r in roles if r not in GLOBAL_ROLES])
    global_roles = [r for r in roles if r in GLOBAL_ROLES]
    if global_roles:
        for person in global_role_holders(global_roles):
            if person not in people:
                people.append(person)
    return people


def tell(
    case: Case,
    *,
    event: str,
    actor,
    recipients: Iterable,
    step: str | None = None,
    context: dict | None = None,
    attachment=None,
    transition: bool = False,
) -> None:
    """Publish a step event to these people (not the actor). Need-to-know: nobody is told
    about a case they may not see (a confidential signal is for the student and the office
    until the office opens it)."""
    people = [p for p in recipients if p != actor]
    if is_hidden(case):
        people = [p for p in people if is_related(p, case)]
    publish(
        StepEvent(
            case=case,
            event=event,
            actor=actor,
            recipients=tuple(people),
            step=step,
            context=dict(context or {}),
            attachment=attachment,
            transition=transition,
        )
    )


def notify_roles(
    case: Case,
    *,
    event: str,
    actor,
    roles: Iterable[str],
    extra=(),
    context: dict | None = None,
    attachment=None,
    transition: bool = False,
) -> None:
    """Tell the people holding these roles on the case (and `extra` people)."""
    tell(
        case,
        event=event,
        actor=actor,
        recipients=[*recipients_for(case, roles), *extra],
        context=context,
        attachment=attachment,
        transition=transition,
    )


def case_touch(case: Case) -> None:
    """A record changed the case without a transition: bump the version, so forms opened
    before it report "changed meanwhile" instead of acting on what the user did not see."""
    case.version += 1
    Case.objects.filter(pk=case.pk).update(version=case.version)


def case_log(
    case: Case, *, by, name: str, note: str = "", on_behalf_of=None, data: dict | None = None
) -> CaseEvent:
    """Write a record event (not a transition) on the case's timeline: `note` is free text as
    typed, `data` codes, dates and names (rendered in the reader's language)."""
    return CaseEvent.objects.create(
        case=case,
        actor=by,
        on_behalf_of=on_behalf_of,
        kind=CaseEvent.Kind.RECORD,
        name=name,
        note=note,
        data=dict(data or {}),
    )


@transaction.atomic
def case_signal(
    *,
    placement: Placement,
    by,
    categories: Iterable[str],
    description: str,
    confidential: bool = False,
    follows: Case | None = None,
) -> Case:
    """Open a case on a placement. Anyone on the placement, or the office, may signal.

    The student may mark it "confidential to the internship office first" (when the problem
    is the mentor or the school trainer): until the office opens it, only they and the office
    see it and nobody else is told.

    One open case per placement: a second signal joins the open case (its text and categories
    are added to it, its people told; the returned case has `joined` set). Confidentiality wins
    over that rule: a confidential signal, or one beside an unopened confidential case the
    signaller does not see, opens a case of its own (the office combines them if need be).

    `follows`: an earlier, closed case of the same student that this one follows up on.
    """
    if (
        not (
            placement.roles_of(by)
            & {
                Role.STUDENT,
                Role.MENTOR,
                Role.SCHOOL_TRAINER,
                Role.STUDY_COACH,
                Role.COORDINATING_TRAINER,
            }
        )
        and not by.is_office
    ):
        raise NotPermitted(_("You can only signal a problem on a placement you are part of."))
    categories = list(dict.fromkeys(categories))
    if not categories:
        raise GuardFailed(_("Choose at least one category."))
    if not description.strip():
        raise GuardFailed(_("Describe the problem."))
    if confidential and placement.student_id != by.pk:
        raise GuardFailed(_("Only the student can mark a signal confidential."))
    if follows is not None and (
        follows.is_open
        or follows.placement.student_id != placement.student_id
        or not is_related(by, follows)
    ):
        raise GuardFailed(_("A new case can only follow up on a closed case of the same student."))
    if not confidential:
        open_case = (
            Case.objects.open()
            .filter(placement=placement)
            .select_related("placement")
            .order_by("signalled_at", "pk")
            .first()
        )
        if open_case is not None and not (is_hidden(open_case) and not is_related(by, open_case)):
            return _join(open_case, by=by, categories=categories, description=description)
    case = Case.objects.create(
        placement=placement,
        description=description,
        signalled_by=by,
        confidential=confidential,
        follows=follows,
    )
    CaseCategory.objects.bulk_create(CaseCategory(case=case, category=c) for c in categories)
    CaseEvent.objects.create(
        case=case,
        actor=by,
        kind=CaseEvent.Kind.TRANSITION,
        name="signal",
        to_state=State.SIGNALLED,
    )
    # A confidential signal goes to the office alone (notify_roles keeps the others out).
    roles = (Role.OFFICE,) if confidential else SIGNAL_RECIPIENTS
    notify_roles(case, event="signal", actor=by, roles=roles)
    case.joined = False
    return case


def _join(case: Case, *, by, categories: list[str], description: str) -> Case:
    """A second signal on a placement with an open case: added to that case."""
    case = lock_case(case.pk)
    have = set(case.categories.values_list("category", flat=True))
    added = [c for c in categories if c not in have]
    CaseCategory.objects.bulk_create(CaseCategory(case=case, category=c) for c in added)
    case_log(
        case,
        by=by,
        name="signal_added",
        note=description.strip(),
        data={"categories": categories},
    )
    case_touch(case)
    notify_roles(case, event="signal_added", actor=by, roles=(*SIGNAL_RECIPIENTS, Role.OFFICE))
    case.joined = True
    return case


@transaction.atomic
def release_confidential(*, case_id: int, by, seen_version: int | None = None) -> Case:
    """The office opens a confidential signal: from now on the people on the placement see the
    case, and they are told about it as about any new signal."""
    case = lock_case(case_id, seen_version=seen_version)
    if not by.is_office:
        raise NotPermitted(_("Only the internship office shares a confidential signal."))
    if not is_hidden(case):
        raise GuardFailed(_("This signal is not confidential (any more)."))
    if not case.is_open:
        raise GuardFailed(_("A closed case is not opened."))
    case.confidential_released_at = timezone.now()
    case.confidential_released_by = by
    case.version += 1
    Case.objects.filter(pk=case.pk).update(
        confidential_released_at=case.confidential_released_at,
        confidential_released_by=by,
        version=case.version,
    )
    case_log(case, by=by, name="confidential_released")
    notify_roles(case, event="signal", actor=by, roles=SIGNAL_RECIPIENTS)
    return case


@transaction.atomic
def resolve(*, case_id: int, by, note: str = "", seen_version: int | None = None) -> Case:
    case = lock_case(case_id, seen_version=seen_version)
    return run_transition(case, "resolve", by=by, note=note)


@transaction.atomic
def withdraw(*, case_id: int, by, reason: str, seen_version: int | None = None) -> Case:
    """Withdraw the case, with a reason; the office is always told. From a temporary stop the
    placement becomes active again; from a warm handover the open handover is called off (the
    previous coach is no longer expected to record it)."""
    case = lock_case(case_id, seen_version=seen_version)
    source = case.state
    run_transition(case, "withdraw", by=by, note=reason)
    if source == State.STOPPED and case.placement.status == Placement.Status.PAUSED:
        case.placement.status = Placement.Status.ACTIVE
        case.placement.save(update_fields=["status"])
    if source == State.HANDOVER:
        # The handover is the transfers app's record; the core already reads its fields
        # through the reverse relation (open_handover, is_old_coach) and closes it the same way.
        case.handovers.filter(confirmed_at__isnull=True, cancelled_at__isnull=True).update(
            cancelled_at=timezone.now()
        )
    return case


@transaction.atomic
def reopen(*, case_id: int, by, reason: str, seen_version: int | None = None) -> Case:
    """The office reopens a closed case (same number, the timeline continues) when the student
    is still on its placement; otherwise a new case follows up on it (case_signal(follows=))."""
    case = lock_case(case_id, seen_version=seen_version)
    return run_transition(case, "reopen", by=by, note=reason)


# Roles a person can be moved into or out of on a placement (the student's place is the
# placement itself), with the timeline event that records it (cases.models.RECORD_LABELS).
REASSIGNABLE_ROLES = {
    Role.MENTOR: "mentor_reassigned",
    Role.SCHOOL_TRAINER: "school_trainer_reassigned",
    Role.STUDY_COACH: "study_coach_reassigned",
    Role.COORDINATING_TRAINER: "coordinating_trainer_reassigned",
}


@transaction.atomic
def placement_reassign(
    *, placement: Placement, role: str, person: User, by, reason: str = ""
) -> list[CaseEvent]:
    """Put `person` in `role` on the placement (mentor ill, coach leaves, a corrected import).

    Who sees a case follows from its placement, so from now on the newcomer sees the placement's
    cases and the one who left no longer does (their own records stay attributed to them).
    Every open case of the placement records the change on its timeline ("old → new", and the
    reason) and tells the newcomer; a confidential signal the office has not opened tells
    nobody (`tell` keeps need-to-know). Returns the timeline events written (none when nothing
    changes or the placement has no open case). Who may reassign is the caller's check.
    """
    if role not in REASSIGNABLE_ROLES:
        raise GuardFailed(_("This role cannot be reassigned on a placement."))
    if person.pk == placement.student_id:
        raise GuardFailed(_("The student cannot hold another role on their own placement."))
    field = PLACEMENT_ROLE_FIELDS[role]
    previous = getattr(placement, field)
    if previous is not None and previous.pk == person.pk:
        return []
    setattr(placement, field, person)
    placement.save(update_fields=[field, "updated_at"])
    event_name = REASSIGNABLE_ROLES[role]
    note = f"{previous or '—'} → {person}"
    if reason.strip():
        note = f"{note}. {reason.strip()}"
    events = []
    for case in Case.objects.open().filter(placement=placement).select_for_update(of=("self",)):
        case.placement = placement
        event = case_log(case, by=by, name=event_name, note=note)
        case_touch(case)
        tell(case, event=event_name, actor=by, recipients=[person], step=f"event{event.pk}")
        events.append(event)
    return events


@transaction.atomic
def placement_assign_mentor(*, placement_id: int, person: User, by) -> Placement:
    """The placement's school trainer (or the office) fills in a mentor left "to be assigned"
    when the student was placed or resumed. Changing a mentor who is there is the office's
    reassignment (`case_reassign`), not this."""
    placement = Placement.objects.select_for_update().get(pk=placement_id)
    if not (by.is_office or placement.school_trainer_id == by.pk):
        raise NotPermitted(
            _("Only the school trainer of the placement or the office assign its mentor.")
        )
    if placement.mentor_id is not None:
        raise GuardFailed(_("This placement has a mentor already."))
    placement_reassign(placement=placement, role=Role.MENTOR, person=person, by=by)
    return placement


@transaction.atomic
def case_reassign(
    *, case_id: int, role: str, person: User, by, reason: str, seen_version: int | None = None
) -> list[CaseEvent]:
    """The office puts someone else in a role on the case's placement, from the case page.

    The placement changes (so every open case of it follows, `placement_reassign`); a study
    coach who changes while the case is open asks for the warm handover: the timeline records
    that it is needed and the new coach is told to ask the previous one (who no longer sees
    the case; a `transfers.Handover` with its own page belongs to a transfer to another
    school, here the placement stays)."""
    case = lock_case(case_id, seen_version=seen_version)
    if not by.is_office:
        raise NotPermitted(_("Only the internship office reassigns the people on a placement."))
    if not case.is_open:
        raise GuardFailed(_("The people of a closed case are not changed any more."))
    if case.new_placement_id is not None:
        raise GuardFailed(_("The student has moved to another placement: change the people there."))
    placement = Placement.objects.select_for_update().get(pk=case.placement_id)
    previous = placement.person(role)
    events = placement_reassign(placement=placement, role=role, person=person, by=by, reason=reason)
    if not events:
        raise GuardFailed(_("This person already holds this role on the placement."))
    if role == Role.STUDY_COACH and previous is not None:
        for event in events:
            other = Case.objects.get(pk=event.case_id)
            handover = case_log(
                other,
                by=by,
                name="handover_needed",
                note=_("%(old)s → %(new)s") % {"old": previous, "new": person},
            )
            tell(
                other,
                event="handover_needed",
                actor=by,
                recipients=[person],
                step=f"event{handover.pk}",
            )
    return events


@transaction.atomic
def deputy_name(*, role: str, person: User, starts_on, ends_on, by) -> Deputy:
    """The office names a deputy ISOP process owner or deputy office staff for a period; the
    deputy acts in that role from `starts_on` to `ends_on` (both included)."""
    if not by.is_office:
        raise NotPermitted(_("Only the internship office names deputies."))
    if role not in Deputy.ROLES:
        raise GuardFailed(_("Deputies are named for the internship office or the ISOP owner."))
    if ends_on < starts_on:
        raise GuardFailed(_("The end date is before the start date."))
    if ends_on < timezone.localdate():
        raise GuardFailed(_("The period is already over."))
    if not person.is_active:
        raise GuardFailed(_("This account is not active."))
    return Deputy.objects.create(
        role=role, person=person, starts_on=starts_on, ends_on=ends_on, named_by=by
    )


__all__ = [
    "REASSIGNABLE_ROLES",
    "AvailableStep",
    "CaseChangedMeanwhile",
    "available_steps",
    "case_log",
    "case_reassign",
    "deputy_name",
    "case_signal",
    "case_touch",
    "check_permitted",
    "check_transition",
    "lock_case",
    "notify_roles",
    "placement_reassign",
    "release_confidential",
    "reopen",
    "resolve",
    "run_transition",
    "tell",
    "what_changed_meanwhile",
    "withdraw",
]
