"""The change path: request, contact with the office, outcome, ISOP advice and the office's
decision, placement, stop (at the end of the path or at once), warm handover, resume and the
wrap-up with the class. Each service is named after its transition, locks the case row
(`lock_case`) and runs the transition (`run_transition`), which checks who may take it."""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from cases.models import (
    AdviceDecision,
    Case,
    GuardFailed,
    NotPermitted,
    Outcome,
    Placement,
    Role,
    State,
    TrainingSchool,
    User,
)
from cases.rules import can
from cases.services import (
    case_log,
    case_touch,
    check_permitted,
    lock_case,
    notify_roles,
    run_transition,
    tell,
)
from conversations.models import Conversation
from conversations.services import cancel_planned

from .models import (
    ChangeRequest,
    Handover,
    IsopAdvice,
    OfficeDecision,
    OutcomeReport,
    Position,
    Stop,
    StudyStep,
    Transfer,
    WrapUp,
)

# Who is told that the wrap-up with the class was agreed: the mentor, whose class it is, and
# the two who agreed it.
WRAP_UP_TOLD = (Role.MENTOR, Role.STUDENT, Role.SCHOOL_TRAINER)


@transaction.atomic
def request_change(
    *, case_id: int, by, kind: str, reason: str, seen_version: int | None = None
) -> ChangeRequest:
    case = lock_case(case_id, seen_version=seen_version)
    check_permitted(case, "request_change", by)
    if kind not in ChangeRequest.Kind.values:
        raise GuardFailed(_("Choose what is requested: a change of placement or a stop."))
    if not reason.strip():
        raise GuardFailed(_("Give the reason for the request."))
    request = ChangeRequest.objects.create(
        case=case, kind=kind, reason=reason.strip(), requested_by=by
    )
    # Seed step 1: the request is made known to the other people involved.
    others = [
        p
        for p in case.people([Role.STUDENT, Role.MENTOR, Role.SCHOOL_TRAINER, Role.STUDY_COACH])
        if p.pk != by.pk
    ]
    request.made_known_to.set(others)
    run_transition(case, "request_change", by=by, kind=kind)
    return request


@transaction.atomic
def abandon_change(*, case_id: int, by, reason: str, seen_version: int | None = None) -> Case:
    """The request is withdrawn or the change abandoned (e.g. no new placement was found): back
    to the improvement actions, with a reason. A planned all-party conversation is cancelled."""
    case = lock_case(case_id, seen_version=seen_version)
    check_permitted(case, "abandon_change", by)
    if not reason.strip():
        raise GuardFailed(_("Give a reason for dropping the change."))
    kind = case.change_kind
    case.change_requests.filter(dropped_at__isnull=True).update(dropped_at=timezone.now())
    cancel_planned(case, by=by, reason=reason, kinds=[Conversation.Kind.CHANGE])
    return run_transition(case, "abandon_change", by=by, note=reason, data={"kind": kind})


@transaction.atomic
def inform_office(
    *, case_id: int, by, note: str = "", seen_version: int | None = None
) -> ChangeRequest:
    """The school trainer records contact with the office; the office may record it for them."""
    case = lock_case(case_id, seen_version=seen_version)
    check_permitted(case, "inform_office", by)
    request = case.change_requests.filter(office_informed_at__isnull=True).order_by("-pk").first()
    if request is None:
        raise GuardFailed(_("There is no open change request."))
    on_behalf = Role.SCHOOL_TRAINER not in case.roles_of(by)
    request.office_informed_at = timezone.now()
    request.office_informed_by = by
    request.office_contact_note = note.strip()
    request.recorded_by_office = on_behalf
    request.save()
    run_transition(
        case,
        "inform_office",
        by=by,
        note=note,
        on_behalf_of=case.placement.school_trainer if on_behalf else None,
    )
    return request


@transaction.atomic
def accept_change_conversation(
    *, case_id: int, by, reason: str, seen_version: int | None = None
) -> Case:
    """The office accepts an all-party conversation held without everyone (with a reason);
    the absentees are still briefed as after any conversation."""
    case = lock_case(case_id, seen_version=seen_version)
    check_permitted(case, "accept_change_conversation", by)
    return run_transition(case, "accept_change_conversation", by=by, note=reason)


@transaction.atomic
def report_outcome(
    *,
    case_id: int,
    by,
    outcome: str,
    positions: dict[int, str],
    note: str = "",
    seen_version: int | None = None,
) -> OutcomeReport:
    case = lock_case(case_id, seen_version=seen_version)
    check_permitted(case, "report_outcome", by)
    if outcome not in Outcome.values:
        raise GuardFailed(_("Choose one of the outcomes."))
    conversation = case.conversations.filter(kind="change", status="held").order_by("-pk").first()
    invited = {i.person_id: i for i in conversation.invitations.all()} if conversation else {}
    if set(positions) - set(invited):
        raise GuardFailed(_("Positions can only be given for people invited to the conversation."))
    if set(invited) - set(positions):
        raise GuardFailed(_("Record the position of every participant."))
    stances = set(positions.values())
    if not stances <= set(Position.Stance.values):
        raise GuardFailed(_("Choose agree, disagree or abstain for every participant."))
    if outcome in (Outcome.AGREE_TRANSFER, Outcome.AGREE_STOP) and Position.Stance.DISAGREE in (
        stances
    ):
        raise GuardFailed(
            _("Someone disagrees, so not everyone agrees: report “opinions differ” instead.")
        )
    if outcome == Outcome.OPINIONS_DIFFER and Position.Stance.DISAGREE not in stances:
        raise GuardFailed(_("“Opinions differ” needs at least one participant who disagrees."))
    on_behalf = Role.SCHOOL_TRAINER not in case.roles_of(by)
    report = OutcomeReport.objects.create(
        case=case,
        outcome=outcome,
        reported_by=by,
        on_behalf_of_school_trainer=on_behalf,
        note=note.strip(),
    )
    Position.objects.bulk_create(
        Position(report=report, person_id=pid, role=invited[pid].role, stance=stance)
        for pid, stance in positions.items()
    )
    if outcome == Outcome.OPINIONS_DIFFER:
        IsopAdvice.objects.create(case=case, question=note.strip() or report.get_outcome_display())
    run_transition(
        case,
        "report_outcome",
        by=by,
        outcome=outcome,
        data={"outcome": outcome},
        on_behalf_of=case.placement.school_trainer if on_behalf else None,
    )
    if outcome == Outcome.OPINIONS_DIFFER:
        notify_roles(case, event="isop_advice_requested", actor=by, roles=(Role.ISOP_OWNER,))
    return report


def _isop_owner() -> User | None:
    """The ISOP process owner the office acts for (the first active one)."""
    return (
        User.objects.filter(groups__name=Role.ISOP_OWNER, is_active=True).order_by("pk").first()
    )


@transaction.atomic
def give_advice(
    *, case_id: int, by, decision: str, rationale: str, seen_version: int | None = None
) -> IsopAdvice:
    """The ISOP owner advises transfer, stop or continue, with a rationale; the internship
    office then decides. When the owner is away the office records the advice on their behalf
    (marked on the timeline)."""
    case = lock_case(case_id, seen_version=seen_version)
    check_permitted(case, "give_advice", by)
    if decision not in AdviceDecision.values:
        raise GuardFailed(_("Choose what the advice recommends."))
    if not rationale.strip():
        raise GuardFailed(_("Explain the advice."))
    on_behalf = Role.ISOP_OWNER not in case.roles_of(by)
    advice = case.isop_requests.filter(given_at__isnull=True).order_by("-pk").first()
    if advice is None:
        advice = IsopAdvice.objects.create(case=case, question="")
    advice.decision = decision
    advice.rationale = rationale.strip()
    advice.given_by = by
    advice.given_at = timezone.now()
    advice.given_on_behalf = on_behalf
    advice.save()
    run_transition(
        case,
        "give_advice",
        by=by,
        decision=decision,
        data={"advice": decision},
        on_behalf_of=_isop_owner() if on_behalf else None,
    )
    return advice


@transaction.atomic
def decide(
    *, case_id: int, by, decision: str, reason: str = "", seen_version: int | None = None
) -> OfficeDecision:
    """The internship office decides after the ISOP advice: transfer, stop or continue here.
    A decision that departs from the advice needs a reason; both are on the timeline."""
    case = lock_case(case_id, seen_version=seen_version)
    check_permitted(case, "decide", by)
    if decision not in AdviceDecision.values:
        raise GuardFailed(_("Choose what the internship office decides."))
    advice = (
        case.isop_requests.filter(given_at__isnull=False, office_decision__isnull=True)
        .order_by("-given_at", "-pk")
        .first()
    )
    if advice is None:
        raise GuardFailed(_("There is no ISOP advice to decide on."))
    if decision != advice.decision and not reason.strip():
        raise GuardFailed(_("The decision departs from the advice: give the reason."))
    record = OfficeDecision.objects.create(
        case=case, advice=advice, decision=decision, reason=reason.strip(), decided_by=by
    )
    run_transition(
        case,
        "decide",
        by=by,
        decision=decision,
        note=reason,
        data={"decision": decision, "advice": advice.decision},
    )
    return record


# --------------------------------------------------------------------------------------------
# The wrap-up with the class
# --------------------------------------------------------------------------------------------


def _other_party(case: Case, recorder) -> User | None:
    """Who confirms a wrap-up: the student when the school trainer recorded it, and the other
    way round (None when the office recorded it: agreed at once)."""
    if recorder.pk == case.placement.student_id:
        return case.placement.school_trainer
    if recorder.pk == case.placement.school_trainer_id:
        return case.placement.student
    return None


def _record_wrap_up(case: Case, *, by, last_day: date, agreement: str) -> WrapUp:
    if not agreement.strip():
        raise GuardFailed(_("Describe what was agreed with the class."))
    if last_day < case.placement.start_date:
        raise GuardFailed(_("The last day cannot be before the placement started."))
    by_office = Role.OFFICE in case.roles_of(by) and not (
        case.roles_of(by) & {Role.STUDENT, Role.SCHOOL_TRAINER}
    )
    wrap_up = WrapUp.objects.create(
        case=case, last_day=last_day, agreement=agreement.strip(), recorded_by=by
    )
    case_log(
        case,
        by=by,
        name="wrap_up_recorded",
        note=agreement.strip(),
        data={"last_day": last_day.isoformat()},
    )
    other = _other_party(case, by)
    if by_office or other is None:
        # Recorded by the office: agreed on behalf of the school trainer and the student.
        _agree(case, wrap_up, by=by, on_behalf=True, on_behalf_of=None)
    else:
        # The other one is asked to confirm it.
        tell(case, event="wrap_up_recorded", actor=by, recipients=[other], step=f"w{wrap_up.pk}")
    return wrap_up


def _agree(case: Case, wrap_up: WrapUp, *, by, on_behalf: bool, on_behalf_of) -> None:
    wrap_up.confirmed_by = by
    wrap_up.confirmed_at = timezone.now()
    wrap_up.confirmed_on_behalf = on_behalf
    wrap_up.save(update_fields=["confirmed_by", "confirmed_at", "confirmed_on_behalf"])
    case_log(
        case,
        by=by,
        name="wrap_up_agreed",
        on_behalf_of=on_behalf_of,
        data={"last_day": wrap_up.last_day.isoformat()},
    )
    # The mentor, whose class it is, is told (and the two who agreed it).
    tell(
        case,
        event="wrap_up_agreed",
        actor=by,
        recipients=case.people(WRAP_UP_TOLD),
        step=f"w{wrap_up.pk}",
    )


@transaction.atomic
def wrap_up_record(
    *, case_id: int, by, last_day: date, agreement: str, seen_version: int | None = None
) -> WrapUp:
    """The school trainer or the student records what they agreed about ending the
    collaboration with the class; the other one confirms it (the office may record it, agreed
    at once on behalf of both)."""
    case = lock_case(case_id, seen_version=seen_version)
    if not can(by, "cases.record_wrap_up", case):
        raise NotPermitted(
            _("Only the school trainer, the student or the office record the wrap-up.")
        )
    if case.state != State.TRANSFER_REQUESTED:
        raise GuardFailed(_("The wrap-up is recorded once a transfer or stop is decided."))
    return _record_wrap_up(case, by=by, last_day=last_day, agreement=agreement)


@transaction.atomic
def wrap_up_confirm(*, case_id: int, by, seen_version: int | None = None) -> WrapUp:
    """The one who did not record the wrap-up confirms it; the office may mark it agreed on
    their behalf (marked on the timeline). The mentor is told."""
    case = lock_case(case_id, seen_version=seen_version)
    wrap_up = (
        case.wrap_ups.filter(confirmed_at__isnull=True).order_by("-recorded_at", "-pk").first()
    )
    if wrap_up is None:
        raise GuardFailed(_("There is no wrap-up waiting to be agreed."))
    wrap_up.case = case
    if not can(by, "cases.confirm_wrap_up", wrap_up):
        raise NotPermitted(
            _(
                "The wrap-up is confirmed by the one who did not record it (the school trainer "
                "or the student), or by the internship office on their behalf."
            )
        )
    roles = case.roles_of(by)
    on_behalf = not (roles & {Role.STUDENT, Role.SCHOOL_TRAINER})
    other = _other_party(case, wrap_up.recorded_by)
    _agree(case, wrap_up, by=by, on_behalf=on_behalf, on_behalf_of=other if on_behalf else None)
    return wrap_up


def _agreed_last_day(case: Case) -> date | None:
    wrap_up = (
        case.wrap_ups.filter(confirmed_at__isnull=False).order_by("-recorded_at", "-pk").first()
    )
    return wrap_up.last_day if wrap_up else None


def _end(placement: Placement, *, status: str, on: date) -> None:
    placement.status = status
    placement.end_date = max(on, placement.start_date)
    placement.save(update_fields=["status", "end_date"])


# --------------------------------------------------------------------------------------------
# A new placement, a stop, a resume
# --------------------------------------------------------------------------------------------


def _new_placement(
    old: Placement, *, school, mentor, school_trainer, study_coach, coordinating_trainer, start
) -> Placement:
    return Placement.objects.create(
        student=old.student,
        school=school,
        mentor=mentor,
        school_trainer=school_trainer,
        study_coach=study_coach,
        coordinating_trainer=coordinating_trainer,
        start_date=start,
    )


def _start_handover(case: Case, transfer: Transfer, old: Placement, new: Placement, by) -> None:
    Handover.objects.create(
        case=case,
        transfer=transfer,
        old_coach_id=old.study_coach_id,
        new_coach_id=new.study_coach_id,
    )
    # Seed step 5: the office informs the student, the old and the new study coach.
    notify_roles(
        case,
        event="handover_started",
        actor=by,
        roles=(Role.STUDENT, Role.STUDY_COACH),
        extra=[old.study_coach],
    )


@transaction.atomic
def place_student(
    *,
    case_id: int,
    by,
    school: TrainingSchool,
    mentor,
    school_trainer,
    study_coach,
    start_date: date,
    coordinating_trainer=None,
    shared_with_new_school: str = "",
    seen_version: int | None = None,
) -> Transfer:
    """The office records the new placement. The case stays about the old placement, which ends
    as transferred on the agreed last day; the new school's staff see that the student arrives
    and what the student agreed to share, not the case file."""
    case = lock_case(case_id, seen_version=seen_version)
    check_permitted(case, "place_student", by)
    old = case.current_placement
    last_day = _agreed_last_day(case)
    if last_day is not None and start_date < last_day:
        raise GuardFailed(
            _("The new placement cannot start before the last day at the current school.")
        )
    new = _new_placement(
        old,
        school=school,
        mentor=mentor,
        school_trainer=school_trainer,
        study_coach=study_coach,
        coordinating_trainer=coordinating_trainer,
        start=start_date,
    )
    transfer = Transfer.objects.create(
        case=case,
        from_placement=old,
        to_placement=new,
        effective_date=start_date,
        recorded_by=by,
        shared_with_new_school=shared_with_new_school.strip(),
    )
    run_transition(
        case,
        "place_student",
        by=by,
        new_placement=new,
        data={"school": str(school), "from": start_date.isoformat()},
    )
    _end(old, status=Placement.Status.TRANSFERRED, on=last_day or start_date)
    transfer.applied_at = timezone.now()
    transfer.save(update_fields=["applied_at"])
    if case.state == State.HANDOVER:
        _start_handover(case, transfer, old, new, by)
    return transfer


@transaction.atomic
def stop_internship(
    *,
    case_id: int,
    by,
    temporary: bool,
    expected_resume_date: date | None = None,
    seen_version: int | None = None,
) -> Stop:
    """The stop at the end of the change path (the route the seed calls advisable)."""
    case = lock_case(case_id, seen_version=seen_version)
    check_permitted(case, "stop_internship", by)
    if temporary and expected_resume_date is None:
        raise GuardFailed(_("A temporary stop needs an expected resume date."))
    stop = Stop.objects.create(
        case=case,
        temporary=temporary,
        expected_resume_date=expected_resume_date if temporary else None,
        recorded_by=by,
    )
    run_transition(
        case,
        "stop_internship",
        by=by,
        temporary=temporary,
        data=_stop_data(temporary, expected_resume_date),
    )
    _pause_or_end(case, temporary)
    return stop


def _stop_data(temporary: bool, resume_on: date | None) -> dict:
    data: dict = {"temporary": temporary}
    if temporary and resume_on is not None:
        data["resume_on"] = resume_on.isoformat()
    return data


def _pause_or_end(case: Case, temporary: bool) -> None:
    placement = case.current_placement
    if temporary:
        placement.status = Placement.Status.PAUSED
        placement.save(update_fields=["status"])
    else:
        # A definitive stop ends the placement on the agreed last day (else today).
        _end(
            placement,
            status=Placement.Status.ENDED,
            on=_agreed_last_day(case) or timezone.localdate(),
        )


@transaction.atomic
def stop_now(
    *,
    case_id: int,
    by,
    temporary: bool,
    reason: str,
    expected_resume_date: date | None = None,
    last_day: date | None = None,
    agreement: str = "",
    seen_version: int | None = None,
) -> Stop:
    """The acute route: the student or the office records a (temporary) stop from any open
    state (illness, crisis), with a reason and the wrap-up agreement when there is one. The
    people on the case are told as for a stop at the end of the change path; planned
    conversations are cancelled."""
    case = lock_case(case_id, seen_version=seen_version)
    check_permitted(case, "stop_now", by)
    if not reason.strip():
        raise GuardFailed(_("Give the reason for the stop."))
    if temporary and expected_resume_date is None:
        raise GuardFailed(_("A temporary stop needs an expected resume date."))
    if agreement.strip() or last_day is not None:
        if last_day is None or not agreement.strip():
            raise GuardFailed(
                _("For a wrap-up with the class give both the last day and what was agreed.")
            )
        _record_wrap_up(case, by=by, last_day=last_day, agreement=agreement)
    stop = Stop.objects.create(
        case=case,
        temporary=temporary,
        expected_resume_date=expected_resume_date if temporary else None,
        recorded_by=by,
        reason=reason.strip(),
        acute=True,
    )
    cancel_planned(case, by=by, reason=reason)
    run_transition(
        case,
        "stop_now",
        by=by,
        temporary=temporary,
        note=reason,
        data=_stop_data(temporary, expected_resume_date),
    )
    _pause_or_end(case, temporary)
    return stop


@transaction.atomic
def make_definitive(
    *, case_id: int, by, ends_on: date, note: str = "", seen_version: int | None = None
) -> Stop:
    """A temporary stop becomes definitive: the placement ends on the given date."""
    case = lock_case(case_id, seen_version=seen_version)
    check_permitted(case, "make_definitive", by)
    stop = case.stops.filter(resumed_at__isnull=True).order_by("-pk").first()
    if stop is None:
        raise GuardFailed(_("There is no temporary stop to make definitive."))
    stop.made_definitive_at = timezone.now()
    stop.save(update_fields=["made_definitive_at"])
    run_transition(
        case, "make_definitive", by=by, note=note, data={"ends_on": ends_on.isoformat()}
    )
    _end(case.current_placement, status=Placement.Status.ENDED, on=ends_on)
    return stop


@transaction.atomic
def resume(
    *,
    case_id: int,
    by,
    resumed_on: date | None = None,
    seen_version: int | None = None,
    school: TrainingSchool | None = None,
    mentor=None,
    school_trainer=None,
    study_coach=None,
    coordinating_trainer=None,
    shared_with_new_school: str = "",
) -> Case:
    """The office resumes a temporary stop on the date entered, on the same placement or (with
    `school` and the people of the new placement) on a new one that starts that day.

    A resume closes as "resumed" (not as a stop). On a new placement the paused one ends as
    transferred and a Transfer is recorded; when the study coach changes, the case goes through
    the warm handover first, as a transfer does.
    """
    case = lock_case(case_id, seen_version=seen_version)
    check_permitted(case, "resume", by)
    resumed_on = resumed_on or timezone.localdate()
    new_placement_asked = school is not None
    # The mentor may be left to be assigned (the school trainer fills it in later).
    if new_placement_asked and not all((school_trainer, study_coach)):
        raise GuardFailed(_("A new placement needs a school trainer and a study coach."))
    case.stops.filter(resumed_at__isnull=True).update(
        resumed_at=timezone.now(), resumed_on=resumed_on
    )
    old = case.current_placement
    if not new_placement_asked:
        old.status = Placement.Status.ACTIVE
        old.save(update_fields=["status"])
        return run_transition(
            case, "resume", by=by, data={"resumed_on": resumed_on.isoformat()}
        )

    new = _new_placement(
        old,
        school=school,
        mentor=mentor,
        school_trainer=school_trainer,
        study_coach=study_coach,
        coordinating_trainer=coordinating_trainer,
        start=resumed_on,
    )
    transfer = Transfer.objects.create(
        case=case,
        from_placement=old,
        to_placement=new,
        effective_date=resumed_on,
        recorded_by=by,
        applied_at=timezone.now(),
        shared_with_new_school=shared_with_new_school.strip(),
        on_resume=True,
    )
    _end(old, status=Placement.Status.TRANSFERRED, on=resumed_on)
    data = {"school": str(school), "from": resumed_on.isoformat()}
    coach_changes = new.study_coach_id != old.study_coach_id
    if coach_changes:
        data.update(coach_from=str(old.study_coach), coach_to=str(new.study_coach))
    run_transition(case, "resume", by=by, placement=new, data=data)
    if case.state == State.HANDOVER:
        _start_handover(case, transfer, old, new, by)
    return case


@transaction.atomic
def confirm_handover(
    *,
    case_id: int,
    by,
    contact_made_on: date,
    what_helped: str,
    student_needs: str,
    open_actions: str = "",
    seen_version: int | None = None,
) -> Handover:
    """The old study coach records the warm handover to the new coach; the office may record it
    on their behalf (the coach left or is ill), marked on the timeline."""
    case = lock_case(case_id, seen_version=seen_version)
    check_permitted(case, "confirm_handover", by)
    handover = case.open_handover
    if handover is None:
        raise GuardFailed(_("There is no warm handover to record."))
    handover.contact_made_on = contact_made_on
    handover.what_helped = what_helped.strip()
    handover.student_needs = student_needs.strip()
    handover.open_actions = open_actions.strip()
    handover.save()
    on_behalf = handover.old_coach_id != by.pk
    run_transition(
        case,
        "confirm_handover",
        by=by,
        on_behalf_of=handover.old_coach if on_behalf else None,
    )
    handover.confirmed_at = timezone.now()
    handover.save(update_fields=["confirmed_at"])
    return handover


@transaction.atomic
def handover_acknowledge(*, handover_id: int, by) -> Handover:
    """The new coach confirms they received the handover."""
    handover = Handover.objects.select_for_update().get(pk=handover_id)
    if handover.new_coach_id != by.pk:
        raise NotPermitted(_("Only the new study coach confirms receipt of the handover."))
    if handover.confirmed_at is None:
        raise GuardFailed(_("The previous coach has not recorded the handover yet."))
    if handover.received_at is None:
        handover.received_at = timezone.now()
        handover.save(update_fields=["received_at"])
        case_log(handover.case, by=by, name="handover_received")
    return handover


@transaction.atomic
def study_step_record(
    *, case_id: int, by, kind: str, on: date, note: str = "", seen_version: int | None = None
) -> StudyStep:
    """The study coach or the office records a consequence for the student's study (a delay,
    credits at stake, a referral), with its date; the timeline shows it."""
    case = lock_case(case_id, seen_version=seen_version)
    if not case.roles_of(by) & {Role.OFFICE, Role.STUDY_COACH}:
        raise NotPermitted(
            _("Only the study coach or the office record a consequence for the study.")
        )
    step = StudyStep.objects.create(case=case, kind=kind, on=on, note=note, recorded_by=by)
    label = StudyStep.Kind(kind).label
    case_log(
        case,
        by=by,
        name="study_step_recorded",
        note=f"{label} ({date_format(on, 'SHORT_DATE_FORMAT')})",
    )
    case_touch(case)
    return step
