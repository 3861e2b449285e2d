"""The change path: request, contact with the office, outcome, ISOP advice, placement, stop,
warm handover, resume and the wrap-up with the class."""

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
)
from cases.rules import can
from cases.services import (
    case_log,
    case_touch,
    check_permitted,
    lock_case,
    notify_roles,
    run_transition,
)

from .models import (
    ChangeRequest,
    Handover,
    IsopAdvice,
    OutcomeReport,
    Position,
    Stop,
    StudyStep,
    Transfer,
    WrapUp,
)


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
    run_transition(case, "request_change", by=by, note=request.get_kind_display())
    return request


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
        note=str(report.get_outcome_display()),
        on_behalf_of=case.placement.school_trainer if on_behalf else None,
    )
    if outcome == Outcome.OPINIONS_DIFFER:
        notify_roles(case, event="isop_advice_requested", actor=by, roles=(Role.ISOP_OWNER,))
    return report


@transaction.atomic
def give_advice(
    *, case_id: int, by, decision: str, rationale: str, seen_version: int | None = None
) -> IsopAdvice:
    case = lock_case(case_id, seen_version=seen_version)
    check_permitted(case, "give_advice", by)
    if decision not in AdviceDecision.values:
        raise GuardFailed(_("Choose what the advice recommends."))
    if not rationale.strip():
        raise GuardFailed(_("Explain the advice."))
    advice = case.isop_requests.filter(given_at__isnull=True).order_by("-pk").first()
    if advice is None:
        advice = IsopAdvice.objects.create(case=case, question="")
    advice.decision = decision
    advice.rationale = rationale.strip()
    advice.given_by = by
    advice.given_at = timezone.now()
    advice.save()
    run_transition(
        case, "give_advice", by=by, decision=decision, note=str(advice.get_decision_display())
    )
    return advice


@transaction.atomic
def wrap_up_record(
    *, case_id: int, by, last_day: date, agreement: str, seen_version: int | None = None
) -> WrapUp:
    case = lock_case(case_id, seen_version=seen_version)
    if not can(by, "cases.record_wrap_up", case):
        raise NotPermitted(
            _("Only the school trainer, the student or the office record the wrap-up.")
        )
    if case.state != State.TRANSFER_REQUESTED:
        raise GuardFailed(_("The wrap-up is recorded once a transfer or stop is decided."))
    if not agreement.strip():
        raise GuardFailed(_("Describe what was agreed with the class."))
    wrap_up = WrapUp.objects.create(
        case=case, last_day=last_day, agreement=agreement.strip(), recorded_by=by
    )
    case_log(case, by=by, name="wrap_up_recorded", note=agreement.strip())
    return wrap_up


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
    seen_version: int | None = None,
) -> Transfer:
    """The office records the new placement; the old one ends as transferred."""
    case = lock_case(case_id, seen_version=seen_version)
    check_permitted(case, "place_student", by)
    old = case.placement
    if not case.wrap_ups.exists():
        raise GuardFailed(_("Record the wrap-up with the class (last day, saying goodbye) first."))
    new = Placement.objects.create(
        student=old.student,
        school=school,
        mentor=mentor,
        school_trainer=school_trainer,
        study_coach=study_coach,
        coordinating_trainer=coordinating_trainer,
        start_date=start_date,
    )
    transfer = Transfer.objects.create(
        case=case,
        from_placement=old,
        to_placement=new,
        effective_date=start_date,
        recorded_by=by,
    )
    run_transition(case, "place_student", by=by, new_placement=new, note=str(school))
    old.status = Placement.Status.TRANSFERRED
    old.end_date = max(start_date, old.start_date)
    old.save(update_fields=["status", "end_date"])
    transfer.applied_at = timezone.now()
    transfer.save(update_fields=["applied_at"])
    if case.state == State.HANDOVER:
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
    run_transition(case, "stop_internship", by=by, temporary=temporary)
    placement = case.placement
    placement.status = Placement.Status.PAUSED if temporary else Placement.Status.ENDED
    placement.save(update_fields=["status"])
    return stop


@transaction.atomic
def resume(
    *,
    case_id: int,
    by,
    seen_version: int | None = None,
    school: TrainingSchool | None = None,
    mentor=None,
    school_trainer=None,
    study_coach=None,
    start_date: date | None = None,
    coordinating_trainer=None,
) -> Case:
    """The office resumes a temporary stop, on the same placement or (with `school` and the
    people of the new placement) on a new one.

    On a new placement the paused one ends as transferred and a Transfer is recorded, as for
    `place_student`. The case closes on resume (process.md), so a change of study coach gets
    no warm-handover step: the old coach is told and the new coach reads the whole case file.
    """
    case = lock_case(case_id, seen_version=seen_version)
    check_permitted(case, "resume", by)
    new_placement_asked = school is not None
    if new_placement_asked and not all((mentor, school_trainer, study_coach, start_date)):
        raise GuardFailed(
            _("A new placement needs a mentor, a school trainer, a study coach and a start date.")
        )
    now = timezone.now()
    case.stops.filter(resumed_at__isnull=True).update(resumed_at=now)
    old = case.placement
    if not new_placement_asked:
        old.status = Placement.Status.ACTIVE
        old.save(update_fields=["status"])
        return run_transition(case, "resume", by=by)

    new = Placement.objects.create(
        student=old.student,
        school=school,
        mentor=mentor,
        school_trainer=school_trainer,
        study_coach=study_coach,
        coordinating_trainer=coordinating_trainer,
        start_date=start_date,
    )
    Transfer.objects.create(
        case=case,
        from_placement=old,
        to_placement=new,
        effective_date=start_date,
        recorded_by=by,
        applied_at=now,
    )
    old.status = Placement.Status.TRANSFERRED
    old.end_date = max(start_date, old.start_date)
    old.save(update_fields=["status", "end_date"])
    coach_changes = new.study_coach_id != old.study_coach_id
    note = _("Resumed at %(school)s from %(date)s.") % {
        "school": school,
        "date": date_format(start_date, "j F Y"),
    }
    if coach_changes:
        note += " " + _("The study coach changes from %(old)s to %(new)s.") % {
            "old": old.study_coach,
            "new": new.study_coach,
        }
    run_transition(case, "resume", by=by, placement=new, note=note)
    if coach_changes:
        # The resume step notifies the new placement's people; the old coach is told as well.
        notify_roles(case, event="resume", actor=by, roles=(), extra=[old.study_coach])
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
    """The old study coach records the warm handover to the new coach."""
    case = lock_case(case_id, seen_version=seen_version)
    check_permitted(case, "confirm_handover", by)
    handover = case.open_handover
    handover.contact_made_on = contact_made_on
    handover.what_helped = what_helped.strip()
    handover.student_needs = student_needs.strip()
    handover.open_actions = open_actions.strip()
    handover.save()
    run_transition(case, "confirm_handover", by=by)
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
    if not (by.is_office or Role.STUDY_COACH in case.placement.roles_of(by)):
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
