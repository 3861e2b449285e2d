"""The change path's step pages: request, inform the office, outcome, ISOP advice, place, stop,
resume, warm handover (and its receipt) and the wrap-up with the class.

Each page is declared once as a `cases.views.StepView`: the transition (title, who may, when),
the form, the page text and the service named after the transition."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from cases.models import FIVE_ANSWERS, Case, GuardFailed, NotPermitted, Role
from cases.rules import can
from cases.views import StepView, forbidden, get_case_for_user

from . import services
from .forms import (
    AdviceForm,
    ConfirmForm,
    DecideForm,
    HandoverForm,
    HandoverReceivedForm,
    InformForm,
    MakeDefinitiveForm,
    OutcomeForm,
    PlaceForm,
    ReasonForm,
    RequestForm,
    ResumeForm,
    StopForm,
    StopNowForm,
    StudyStepForm,
    WrapUpForm,
)
from .models import Handover


def _held_change_conversation(case: Case):
    return (
        case.conversations.filter(kind="change", status="held")
        .prefetch_related("invitations__person")
        .order_by("-pk")
        .first()
    )


class RequestChangeStep(StepView):
    transition = "request_change"
    form_class = RequestForm
    intro = gettext_lazy(
        "The school trainer then contacts the internship office, which makes sure an all-party "
        "conversation takes place."
    )
    success = gettext_lazy(
        "The request has been recorded and made known to the people on the case."
    )
    submit_label = gettext_lazy("Submit the request")

    def perform(self, data: dict[str, Any]) -> object:
        return services.request_change(
            case_id=self.case.pk,
            by=self.request.user,
            kind=data["kind"],
            reason=data["reason"],
            seen_version=data["seen_version"],
        )


class AbandonChangeStep(StepView):
    transition = "abandon_change"
    form_class = ReasonForm
    intro = gettext_lazy(
        "The request is withdrawn or the change is abandoned (for example: no new placement was "
        "found). The case returns to the improvement actions; everyone involved is told, with "
        "your reason. A planned all-party conversation is cancelled."
    )
    success = gettext_lazy("The change has been dropped; the improvement actions continue.")
    submit_label = gettext_lazy("Drop the change")
    submit_class = "btn-warning"

    def perform(self, data: dict[str, Any]) -> object:
        return services.abandon_change(
            case_id=self.case.pk,
            by=self.request.user,
            reason=data["reason"],
            seen_version=data["seen_version"],
        )


class OnBehalfMixin:
    """Steps of the school trainer that the office may take on their behalf (marked)."""

    case: Case
    request: HttpRequest

    def on_behalf(self) -> bool:
        return Role.SCHOOL_TRAINER not in self.case.roles_of(self.request.user)


class InformOfficeStep(OnBehalfMixin, StepView):
    transition = "inform_office"
    form_class = InformForm
    success = gettext_lazy("The contact with the internship office has been recorded.")
    submit_label = gettext_lazy("Record the contact")

    def get_intro(self) -> str:
        if self.on_behalf():
            return _(
                "You record this on behalf of the school trainer, %(name)s; it is marked as such."
            ) % {"name": self.case.placement.school_trainer}
        return _("Record that you have contacted the internship office about the request.")

    def perform(self, data: dict[str, Any]) -> object:
        return services.inform_office(
            case_id=self.case.pk,
            by=self.request.user,
            note=data["note"],
            seen_version=data["seen_version"],
        )


class ReportOutcomeStep(OnBehalfMixin, StepView):
    transition = "report_outcome"
    success = gettext_lazy("The outcome has been reported.")
    submit_label = gettext_lazy("Report the outcome")

    def prepare(self) -> None:
        conversation = _held_change_conversation(self.case)
        self.invitations = list(conversation.invitations.all()) if conversation else []

    def get_form(self, data):
        return OutcomeForm(data, case=self.case, invitations=self.invitations)

    def get_intro(self) -> str:
        intro = _(
            "Give the outcome and the position of every participant of the all-party "
            "conversation, so that differing opinions are visible."
        )
        if self.on_behalf():
            intro += " " + _("You report on behalf of the school trainer, %(name)s.") % {
                "name": self.case.placement.school_trainer
            }
        return intro

    def perform(self, data: dict[str, Any]) -> object:
        return services.report_outcome(
            case_id=self.case.pk,
            by=self.request.user,
            outcome=data["outcome"],
            positions=self.form.positions(),
            note=data["note"],
            seen_version=data["seen_version"],
        )


class AcceptConversationStep(StepView):
    transition = "accept_change_conversation"
    form_class = ReasonForm
    template_name = "transfers/accept_conversation.html"
    intro = gettext_lazy(
        "The all-party conversation counts as held with everyone only when the student, the "
        "school trainer and the study coach attended. Accept it anyway, with a reason, or plan "
        "a new conversation instead. Absent people are briefed either way."
    )
    success = gettext_lazy("The conversation has been accepted; the outcome can be reported.")
    submit_label = gettext_lazy("Accept without everyone")

    def get_context(self) -> dict[str, Any]:
        conversation = (
            self.case.conversations.filter(kind="change", status="held")
            .prefetch_related("invitations__person")
            .order_by("-pk")
            .first()
        )
        return {"conversation": conversation}

    def perform(self, data: dict[str, Any]) -> object:
        return services.accept_change_conversation(
            case_id=self.case.pk,
            by=self.request.user,
            reason=data["reason"],
            seen_version=data["seen_version"],
        )


class GiveAdviceStep(StepView):
    transition = "give_advice"
    form_class = AdviceForm
    template_name = "transfers/advice.html"
    title = gettext_lazy("Give ISOP advice")
    success = gettext_lazy("The advice has been recorded; the internship office decides next.")
    submit_label = gettext_lazy("Give the advice")

    def get_intro(self) -> str:
        if Role.ISOP_OWNER not in self.case.roles_of(self.request.user):
            return _(
                "You record the advice on behalf of the ISOP process owner (who is away); it "
                "is marked as such."
            )
        return ""

    def get_context(self) -> dict[str, Any]:
        case = self.case
        conversation = _held_change_conversation(case)
        report = case.outcome_reports.prefetch_related("positions__person").order_by("-pk").first()
        question = case.isop_requests.filter(given_at__isnull=True).order_by("-pk").first()
        answers = []
        if conversation is not None:
            answers = [
                (conversation._meta.get_field(name).verbose_name, getattr(conversation, name))
                for name in FIVE_ANSWERS
            ]
        return {
            "answers": answers,
            "report": report,
            "question": question,
            "conversation": conversation,
        }

    def perform(self, data: dict[str, Any]) -> object:
        return services.give_advice(
            case_id=self.case.pk,
            by=self.request.user,
            decision=data["decision"],
            rationale=data["rationale"],
            seen_version=data["seen_version"],
        )


class DecideStep(StepView):
    transition = "decide"
    form_class = DecideForm
    template_name = "transfers/decide.html"
    intro = gettext_lazy(
        "The ISOP owner advises; the internship office decides. A decision that departs from "
        "the advice needs a reason. Both are on the timeline."
    )
    success = gettext_lazy("The decision has been recorded.")
    submit_label = gettext_lazy("Record the decision")

    def prepare(self) -> None:
        self.advice = (
            self.case.isop_requests.filter(given_at__isnull=False)
            .select_related("given_by")
            .order_by("-given_at", "-pk")
            .first()
        )

    def get_form(self, data):
        return DecideForm(data, case=self.case, advice=self.advice)

    def get_context(self) -> dict[str, Any]:
        return {"advice": self.advice}

    def perform(self, data: dict[str, Any]) -> object:
        return services.decide(
            case_id=self.case.pk,
            by=self.request.user,
            decision=data["decision"],
            reason=data["reason"],
            seen_version=data["seen_version"],
        )


class WrapUpFirstStep(StepView):
    """A placement or a stop: when no wrap-up with the class exists yet, the same form records
    it, in the step's transaction, so a refusal of the step loses nothing stored and the typed
    wrap-up stays on the form. A wrap-up the other party has not agreed yet the office marks
    as agreed on their behalf on the same form."""

    template_name = "transfers/wrap_up_step.html"

    def prepare(self) -> None:
        wrap_ups = list(self.case.wrap_ups.order_by("recorded_at", "pk"))
        self.with_wrap_up = not wrap_ups
        latest = wrap_ups[-1] if wrap_ups else None
        self.unconfirmed = latest if latest is not None and latest.confirmed_at is None else None

    def get_context(self) -> dict[str, Any]:
        return {"with_wrap_up": self.with_wrap_up}

    def perform(self, data: dict[str, Any]) -> object:
        with transaction.atomic():
            if data.get("agreement") is not None and "last_day" in data:
                services.wrap_up_record(
                    case_id=self.case.pk,
                    by=self.request.user,
                    last_day=data["last_day"],
                    agreement=data["agreement"],
                    seen_version=data["seen_version"],
                )
            if data.get("agree_wrap_up"):
                services.wrap_up_confirm(
                    case_id=self.case.pk, by=self.request.user, seen_version=data["seen_version"]
                )
            return self.perform_step(data)

    def perform_step(self, data: dict[str, Any]) -> object:
        raise NotImplementedError


def person_search(request: HttpRequest) -> str:
    """The pickers' search by name or e-mail (?q=), cleaned: the people it finds join the
    lists of those who hold the role."""
    return " ".join(request.GET.get("q", "").replace("\x00", "").split())[:100]


class PlaceStudentStep(WrapUpFirstStep):
    transition = "place_student"
    intro = gettext_lazy(
        "The current placement ends as transferred and the new one starts. If the study coach "
        "changes, the current coach hands over to the new one."
    )
    success = gettext_lazy("The new placement has been recorded.")
    submit_label = gettext_lazy("Record the new placement")

    template_name = "transfers/place.html"

    def get_form(self, data):
        return PlaceForm(
            data,
            case=self.case,
            with_wrap_up=self.with_wrap_up,
            unconfirmed=self.unconfirmed,
            search=person_search(self.request),
        )

    def get_context(self) -> dict[str, Any]:
        return {**super().get_context(), "search": person_search(self.request)}

    def perform_step(self, data: dict[str, Any]) -> object:
        return services.place_student(
            case_id=self.case.pk,
            by=self.request.user,
            school=data["school"],
            mentor=data["mentor"],
            school_trainer=data["school_trainer"],
            study_coach=data["study_coach"],
            coordinating_trainer=data["coordinating_trainer"],
            start_date=data["start_date"],
            shared_with_new_school=data["shared_with_new_school"],
            seen_version=data["seen_version"],
        )


class StopInternshipStep(WrapUpFirstStep):
    transition = "stop_internship"
    success = gettext_lazy("The stop has been recorded.")
    submit_label = gettext_lazy("Record the stop")

    def get_form(self, data):
        return StopForm(
            data, case=self.case, with_wrap_up=self.with_wrap_up, unconfirmed=self.unconfirmed
        )

    def perform_step(self, data: dict[str, Any]) -> object:
        return services.stop_internship(
            case_id=self.case.pk,
            by=self.request.user,
            temporary=data["temporary"],
            expected_resume_date=data["expected_resume_date"],
            seen_version=data["seen_version"],
        )


class StopNowStep(StepView):
    """The acute stop, from any open state: the stop route is advised, not compulsory."""

    transition = "stop_now"
    form_class = StopNowForm
    intro = gettext_lazy(
        "Stop the internship at once, for example after an illness or in a crisis. Everyone "
        "on the case and the internship office are told; planned conversations are cancelled. "
        "A temporary stop can be resumed or made definitive later by the internship office."
    )
    success = gettext_lazy("The stop has been recorded; everyone involved is told.")
    submit_label = gettext_lazy("Stop the internship now")
    submit_class = "btn-danger"

    def perform(self, data: dict[str, Any]) -> object:
        return services.stop_now(
            case_id=self.case.pk,
            by=self.request.user,
            temporary=data["temporary"],
            reason=data["reason"],
            expected_resume_date=data["expected_resume_date"],
            last_day=data["last_day"],
            agreement=data["agreement"],
            seen_version=data["seen_version"],
        )


class MakeDefinitiveStep(StepView):
    transition = "make_definitive"
    form_class = MakeDefinitiveForm
    intro = gettext_lazy(
        "The temporary stop becomes definitive: the placement ends on the date below and the "
        "case is closed as stopped."
    )
    success = gettext_lazy("The stop is definitive; the case is closed.")
    submit_label = gettext_lazy("Make the stop definitive")
    submit_class = "btn-danger"

    def perform(self, data: dict[str, Any]) -> object:
        return services.make_definitive(
            case_id=self.case.pk,
            by=self.request.user,
            ends_on=data["ends_on"],
            note=data["note"],
            seen_version=data["seen_version"],
        )


class ResumeStep(StepView):
    transition = "resume"
    form_class = ResumeForm
    template_name = "transfers/resume.html"
    intro = gettext_lazy(
        "The student resumes on the current placement, which becomes active again, or on a new "
        "placement; the paused placement then ends as transferred. The case is closed as "
        "resumed (with a new study coach after the warm handover)."
    )
    success = gettext_lazy("The internship has been resumed.")
    submit_label = gettext_lazy("Resume the internship")

    def get_form(self, data):
        return ResumeForm(data, case=self.case, search=person_search(self.request))

    def get_context(self) -> dict[str, Any]:
        return {"search": person_search(self.request)}

    def perform(self, data: dict[str, Any]) -> object:
        return services.resume(
            case_id=self.case.pk,
            by=self.request.user,
            resumed_on=data["resumed_on"],
            seen_version=data["seen_version"],
            **ResumeForm.new_placement(data),
        )


class ConfirmHandoverStep(StepView):
    transition = "confirm_handover"
    form_class = HandoverForm
    success = gettext_lazy(
        "The warm handover has been recorded; the case is closed as transferred."
    )
    submit_label = gettext_lazy("Record the handover")

    def get_intro(self) -> str:
        handover = self.case.open_handover
        values = {
            "name": handover.new_coach if handover else "—",
            "old": handover.old_coach if handover else "—",
        }
        if handover is not None and handover.old_coach_id != self.request.user.pk:
            return (
                _(
                    "You record the warm handover on behalf of the previous study coach, "
                    "%(old)s (who left or is away); it is marked as such. The new study coach "
                    "is %(name)s."
                )
                % values
            )
        return _("Contact the new study coach, %(name)s, and record what you handed over.") % (
            values
        )

    def perform(self, data: dict[str, Any]) -> object:
        return services.confirm_handover(
            case_id=self.case.pk,
            by=self.request.user,
            contact_made_on=data["contact_made_on"],
            what_helped=data["what_helped"],
            student_needs=data["student_needs"],
            open_actions=data["open_actions"],
            seen_version=data["seen_version"],
        )


class WrapUpStep(StepView):
    """A record, not a transition: who may record it is the rule `cases.record_wrap_up`."""

    form_class = WrapUpForm
    title = gettext_lazy("Record the wrap-up with the class")
    intro = gettext_lazy(
        "What the school trainer and the student agreed about ending the collaboration with "
        "the class: the last day and how to say goodbye."
    )
    success = gettext_lazy("The wrap-up with the class has been recorded.")
    submit_label = gettext_lazy("Record the wrap-up")

    def refuse(self) -> HttpResponse | None:
        if not can(self.request.user, "cases.record_wrap_up", self.case):
            return forbidden(
                self.request,
                _("Only the school trainer, the student or the office record the wrap-up."),
                case=self.case,
            )
        return None

    def perform(self, data: dict[str, Any]) -> object:
        return services.wrap_up_record(
            case_id=self.case.pk,
            by=self.request.user,
            last_day=data["last_day"],
            agreement=data["agreement"],
            seen_version=data["seen_version"],
        )


class ConfirmWrapUpStep(StepView):
    """A record: the one who did not record the wrap-up confirms it (the rule
    `cases.confirm_wrap_up`), or the office on their behalf."""

    form_class = ConfirmForm
    template_name = "transfers/wrap_up_confirm.html"
    title = gettext_lazy("Agree the wrap-up with the class")
    success = gettext_lazy("The wrap-up has been agreed; the mentor is told.")
    submit_label = gettext_lazy("Agree the wrap-up")

    def refuse(self) -> HttpResponse | None:
        self.wrap_up = (
            self.case.wrap_ups.select_related("recorded_by")
            .order_by("-recorded_at", "-pk")
            .first()
        )
        refusal = _(
            "The wrap-up is confirmed by the one who did not record it (the school trainer or "
            "the student), or by the internship office on their behalf."
        )
        if not (self.case.roles_of(self.request.user) & {Role.STUDENT, Role.SCHOOL_TRAINER,
                                                         Role.OFFICE}):
            return forbidden(self.request, refusal, case=self.case)
        if self.wrap_up is None or self.wrap_up.confirmed_at is not None:
            if self.request.method == "GET":
                messages.info(self.request, _("There is no wrap-up waiting to be agreed."))
                return redirect(self.case)
            return None
        self.wrap_up.case = self.case
        if not can(self.request.user, "cases.confirm_wrap_up", self.wrap_up):
            return forbidden(self.request, refusal, case=self.case)
        return None

    def get_context(self) -> dict[str, Any]:
        return {"wrap_up": self.wrap_up}

    def perform(self, data: dict[str, Any]) -> object:
        return services.wrap_up_confirm(
            case_id=self.case.pk, by=self.request.user, seen_version=data["seen_version"]
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


class StudyStepView(StepView):
    """A record, not a transition: a consequence for the student's study, with its date."""

    form_class = StudyStepForm
    template_name = "transfers/study_step.html"
    title = gettext_lazy("Record a consequence for the study")
    intro = gettext_lazy(
        "What the problem, its outcome or a stop means for the student's study: a study delay "
        "expected, credits at stake, or a referral to the study career coach, the student "
        "counsellor or the examination board. Each is a step with its date on the timeline."
    )
    success = gettext_lazy("The consequence for the study has been recorded.")
    submit_label = gettext_lazy("Record")

    def refuse(self) -> HttpResponse | None:
        user = self.request.user
        if not self.case.roles_of(user) & {Role.OFFICE, Role.STUDY_COACH}:
            return forbidden(
                self.request,
                _("Only the study coach or the office record a consequence for the study."),
                case=self.case,
            )
        return None

    def get_context(self) -> dict[str, Any]:
        return {"steps": self.case.study_steps.select_related("recorded_by")}

    def perform(self, data: dict[str, Any]) -> object:
        return services.study_step_record(
            case_id=self.case.pk,
            by=self.request.user,
            kind=data["kind"],
            on=data["on"],
            note=data["note"],
            seen_version=data["seen_version"],
        )
