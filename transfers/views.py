"""The change path's step pages: request, inform the office, outcome, ISOP advice, place, stop,
resume, warm handover (and its receipt) and the wrap-up with the class."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from cases.models import FIVE_ANSWERS, Case, GuardFailed, NotPermitted, Role
from cases.views import check_step, forbidden, get_case_for_user, step_page

from . import services
from .forms import (
    AdviceForm,
    HandoverForm,
    HandoverReceivedForm,
    InformForm,
    OutcomeForm,
    PlaceForm,
    RequestForm,
    ResumeForm,
    StopForm,
    WrapUpForm,
)
from .models import Handover

WRAP_UP_ROLES = {Role.SCHOOL_TRAINER, Role.STUDENT, Role.OFFICE}


def _held_change_conversation(case: Case):
    return (
        case.conversations.filter(kind="change", status="held")
        .prefetch_related("invitations__person")
        .order_by("-pk")
        .first()
    )


@login_required
@require_http_methods(["GET", "POST"])
def request_change(request: HttpRequest, pk: int) -> HttpResponse:
    case = get_case_for_user(request, pk)
    if refusal := check_step(request, case, "request_change"):
        return refusal

    def build(data=None):
        return RequestForm(data, case=case)

    return step_page(
        request,
        case,
        form_factory=build,
        template="cases/step_form.html",
        title=_("Request a change of placement or a stop"),
        success=_("The request has been recorded and made known to the people on the case."),
        perform=lambda d: services.change_request_create(
            case_id=case.pk,
            by=request.user,
            kind=d["kind"],
            reason=d["reason"],
            seen_version=d["seen_version"],
        ),
        context={
            "intro": _(
                "The school trainer then contacts the internship office, which makes sure an "
                "all-party conversation takes place."
            ),
            "submit_label": _("Submit the request"),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def inform(request: HttpRequest, pk: int) -> HttpResponse:
    case = get_case_for_user(request, pk)
    if refusal := check_step(request, case, "inform_office"):
        return refusal

    def build(data=None):
        return InformForm(data, case=case)

    on_behalf = Role.SCHOOL_TRAINER not in case.roles_of(request.user)
    intro = (
        _("You record this on behalf of the school trainer, %(name)s; it is marked as such.")
        % {"name": case.placement.school_trainer}
        if on_behalf
        else _("Record that you have contacted the internship office about the request.")
    )
    return step_page(
        request,
        case,
        form_factory=build,
        template="cases/step_form.html",
        title=_("Record contact with the internship office"),
        success=_("The contact with the internship office has been recorded."),
        perform=lambda d: services.change_request_inform_office(
            case_id=case.pk, by=request.user, note=d["note"], seen_version=d["seen_version"]
        ),
        context={"intro": intro, "submit_label": _("Record the contact")},
    )


@login_required
@require_http_methods(["GET", "POST"])
def outcome(request: HttpRequest, pk: int) -> HttpResponse:
    case = get_case_for_user(request, pk)
    if refusal := check_step(request, case, "report_outcome"):
        return refusal
    conversation = _held_change_conversation(case)
    invitations = list(conversation.invitations.all()) if conversation else []

    def build(data=None):
        return OutcomeForm(data, case=case, invitations=invitations)

    on_behalf = Role.SCHOOL_TRAINER not in case.roles_of(request.user)
    return step_page(
        request,
        case,
        form_factory=build,
        template="cases/step_form.html",
        title=_("Report the outcome to the office"),
        success=_("The outcome has been reported."),
        perform=lambda d: services.outcome_report(
            case_id=case.pk,
            by=request.user,
            outcome=d["outcome"],
            positions=build_positions(d, invitations),
            note=d["note"],
            seen_version=d["seen_version"],
        ),
        context={
            "intro": _(
                "Give the outcome and the position of every participant of the all-party "
                "conversation, so that differing opinions are visible."
            )
            + (
                " "
                + _("You report on behalf of the school trainer, %(name)s.")
                % {"name": case.placement.school_trainer}
                if on_behalf
                else ""
            ),
            "submit_label": _("Report the outcome"),
        },
    )


def build_positions(data: dict[str, Any], invitations) -> dict[int, str]:
    return {i.person_id: data[f"position_{i.person_id}"] for i in invitations}


@login_required
@require_http_methods(["GET", "POST"])
def advice(request: HttpRequest, pk: int) -> HttpResponse:
    case = get_case_for_user(request, pk)
    if refusal := check_step(request, case, "give_advice"):
        return refusal
    conversation = _held_change_conversation(case)
    report = case.outcome_reports.prefetch_related("positions__person").order_by("-pk").first()
    question = case.isop_requests.filter(given_at__isnull=True).order_by("-pk").first()
    answers = []
    if conversation is not None:
        answers = [
            (conversation._meta.get_field(name).verbose_name, getattr(conversation, name))
            for name in FIVE_ANSWERS
        ]

    def build(data=None):
        return AdviceForm(data, case=case)

    return step_page(
        request,
        case,
        form_factory=build,
        template="transfers/advice.html",
        title=_("Give ISOP advice"),
        success=_("The advice has been recorded; the case moves on."),
        perform=lambda d: services.advice_give(
            case_id=case.pk,
            by=request.user,
            decision=d["decision"],
            rationale=d["rationale"],
            seen_version=d["seen_version"],
        ),
        context={
            "answers": answers,
            "report": report,
            "question": question,
            "conversation": conversation,
            "submit_label": _("Give the advice"),
        },
    )


def _wrap_up_then(request: HttpRequest, case: Case, data: dict[str, Any], then):
    """Record the wrap-up (when its fields were on the form) and the step in one transaction,
    so a refusal of the step loses nothing stored and the typed wrap-up stays on the form."""
    with transaction.atomic():
        if data.get("agreement") is not None and "last_day" in data:
            services.wrap_up_record(
                case_id=case.pk,
                by=request.user,
                last_day=data["last_day"],
                agreement=data["agreement"],
                seen_version=data["seen_version"],
            )
        return then()


@login_required
@require_http_methods(["GET", "POST"])
def place(request: HttpRequest, pk: int) -> HttpResponse:
    case = get_case_for_user(request, pk)
    if refusal := check_step(request, case, "place_student"):
        return refusal
    with_wrap_up = not case.wrap_ups.exists()

    def build(data=None):
        return PlaceForm(data, case=case, with_wrap_up=with_wrap_up)

    def perform(d):
        return _wrap_up_then(
            request,
            case,
            d,
            lambda: services.student_place(
                case_id=case.pk,
                by=request.user,
                school=d["school"],
                mentor=d["mentor"],
                school_trainer=d["school_trainer"],
                study_coach=d["study_coach"],
                coordinating_trainer=d["coordinating_trainer"],
                start_date=d["start_date"],
                seen_version=d["seen_version"],
            ),
        )

    return step_page(
        request,
        case,
        form_factory=build,
        template="transfers/wrap_up_step.html",
        title=_("Place the student at a new placement"),
        success=_("The new placement has been recorded."),
        perform=perform,
        context={
            "intro": _(
                "The current placement ends as transferred and the new one starts. If the study "
                "coach changes, the current coach hands over to the new one."
            ),
            "with_wrap_up": with_wrap_up,
            "submit_label": _("Record the new placement"),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def stop(request: HttpRequest, pk: int) -> HttpResponse:
    case = get_case_for_user(request, pk)
    if refusal := check_step(request, case, "stop_internship"):
        return refusal
    with_wrap_up = not case.wrap_ups.exists()

    def build(data=None):
        return StopForm(data, case=case, with_wrap_up=with_wrap_up)

    def perform(d):
        return _wrap_up_then(
            request,
            case,
            d,
            lambda: services.internship_stop(
                case_id=case.pk,
                by=request.user,
                temporary=d["temporary"],
                expected_resume_date=d["expected_resume_date"],
                seen_version=d["seen_version"],
            ),
        )

    return step_page(
        request,
        case,
        form_factory=build,
        template="transfers/wrap_up_step.html",
        title=_("Record a (temporary) stop"),
        success=_("The stop has been recorded."),
        perform=perform,
        context={"with_wrap_up": with_wrap_up, "submit_label": _("Record the stop")},
    )


@login_required
@require_http_methods(["GET", "POST"])
def resume(request: HttpRequest, pk: int) -> HttpResponse:
    case = get_case_for_user(request, pk)
    if refusal := check_step(request, case, "resume"):
        return refusal

    def build(data=None):
        return ResumeForm(data, case=case)

    return step_page(
        request,
        case,
        form_factory=build,
        template="transfers/resume.html",
        title=_("Resume the internship"),
        success=_("The internship has been resumed; the case is closed."),
        perform=lambda d: services.internship_resume(
            case_id=case.pk,
            by=request.user,
            seen_version=d["seen_version"],
            **ResumeForm.new_placement(d),
        ),
        context={
            "intro": _(
                "The student resumes on the current placement, which becomes active again, or "
                "on a new placement; the paused placement then ends as transferred. The case "
                "is closed as stopped."
            ),
            "submit_label": _("Resume the internship"),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def handover(request: HttpRequest, pk: int) -> HttpResponse:
    case = get_case_for_user(request, pk)
    if refusal := check_step(request, case, "confirm_handover"):
        return refusal

    def build(data=None):
        return HandoverForm(data, case=case)

    return step_page(
        request,
        case,
        form_factory=build,
        template="cases/step_form.html",
        title=_("Record the warm handover"),
        success=_("The warm handover has been recorded; the case is closed as transferred."),
        perform=lambda d: services.handover_confirm(
            case_id=case.pk,
            by=request.user,
            contact_made_on=d["contact_made_on"],
            what_helped=d["what_helped"],
            student_needs=d["student_needs"],
            open_actions=d["open_actions"],
            seen_version=d["seen_version"],
        ),
        context={
            "intro": _("Contact the new study coach, %(name)s, and record what you handed over.")
            % {"name": case.open_handover.new_coach if case.open_handover else "—"},
            "submit_label": _("Record the handover"),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def wrap_up(request: HttpRequest, pk: int) -> HttpResponse:
    case = get_case_for_user(request, pk)
    if not case.roles_of(request.user) & WRAP_UP_ROLES:
        return forbidden(
            request,
            _("Only the school trainer, the student or the office record the wrap-up."),
            case=case,
        )

    def build(data=None):
        return WrapUpForm(data, case=case)

    return step_page(
        request,
        case,
        form_factory=build,
        template="cases/step_form.html",
        title=_("Record the wrap-up with the class"),
        success=_("The wrap-up with the class has been recorded."),
        perform=lambda d: services.wrap_up_record(
            case_id=case.pk,
            by=request.user,
            last_day=d["last_day"],
            agreement=d["agreement"],
            seen_version=d["seen_version"],
        ),
        context={
            "intro": _(
                "What the school trainer and the student agreed about ending the collaboration "
                "with the class: the last day and how to say goodbye."
            ),
            "submit_label": _("Record the wrap-up"),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def handover_received(request: HttpRequest, handover_pk: int) -> HttpResponse:
    handover_case_id = get_object_or_404(Handover.objects.only("case_id"), pk=handover_pk).case_id
    case = get_case_for_user(request, handover_case_id)
    handover_obj = Handover.objects.select_related("old_coach", "new_coach").get(pk=handover_pk)
    if handover_obj.new_coach_id != request.user.pk:
        return forbidden(
            request, _("Only the new study coach confirms receipt of the handover."), case=case
        )
    form = HandoverReceivedForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.handover_acknowledge(handover_id=handover_obj.pk, by=request.user)
        except NotPermitted as exc:
            return forbidden(request, exc.message, case=case)
        except GuardFailed as exc:
            messages.warning(request, exc.message)
        else:
            messages.success(request, _("You have confirmed receipt of the handover."))
        return redirect(case)
    return render(
        request,
        "transfers/handover_received.html",
        {
            "case": case,
            "handover": handover_obj,
            "form": form,
            "title": _("Confirm receipt of the handover"),
        },
    )
