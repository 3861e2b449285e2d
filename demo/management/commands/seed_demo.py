"""Demo data: schools, placements, a login for every role and a case in every state.

The demo cases are made by walking the real services (signal, plan, record, request a change,
...) at moments in the past, so their timelines, records and notifications look like the real
thing. Running the command again changes nothing. `--cases N` adds synthetic cases in bulk until
there are N of them, for benchmarks; those are written directly (bulk inserts), not walked.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import deque
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import django_fsm as fsm
import time_machine
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from cases import services as case_services
from cases.models import (
    CLOSED_STATES,
    AdviceDecision,
    Board,
    Case,
    CaseCategory,
    CaseEvent,
    Category,
    Outcome,
    Partnership,
    Placement,
    Role,
    State,
    TrainingSchool,
    User,
)
from conversations import services as conversation_services
from conversations.models import Conversation, ImprovementAction
from privacy.models import PRIVACY_OFFICER_GROUP
from privacy.services import privacy_officer_group
from transfers import services as transfer_services
from transfers.models import ChangeRequest, Position

PASSWORD = "demo"
SYNTHETIC_PREFIX = "[synthetic] "
SYNTHETIC_USER_PREFIX = "bench-"
TZ = ZoneInfo(settings.TIME_ZONE)

# --------------------------------------------------------------------------------------------
# Who and where
# --------------------------------------------------------------------------------------------

PARTNERSHIP = "Samen Opleiden Midden-Nederland e.o."
BOARDS = {
    "noorderlicht": "Stichting Noorderlicht Onderwijs",
    "domstad": "Stichting Domstad Scholen",
    "brabant": "Stichting Brabantse Scholengroep",
}
# key: (name, board key, city, region)
SCHOOLS = {
    "baken": ("Het Baken College", "noorderlicht", "Leeuwarden", TrainingSchool.Region.NORTH),
    "domstad": ("Domstad Lyceum", "domstad", "Utrecht", TrainingSchool.Region.MIDDLE),
    "eemland": ("Eemland College", "domstad", "Amersfoort", TrainingSchool.Region.MIDDLE),
    "zuiderpoort": (
        "Zuiderpoort Scholengemeenschap",
        "brabant",
        "Eindhoven",
        TrainingSchool.Region.SOUTH,
    ),
}


@dataclass(frozen=True)
class Person:
    username: str
    first_name: str
    last_name: str
    role: str  # what the person is in the demo (for the printed table)
    groups: tuple[str, ...] = ()
    admin: bool = False


PEOPLE = [
    Person("student", "Sanne", "de Vries", "student"),
    Person("student2", "Daan", "Jansen", "student"),
    Person("student3", "Fleur", "Bakker", "student"),
    Person("student4", "Mohammed", "El Amrani", "student"),
    Person("student5", "Lotte", "Visser", "student"),
    Person("student6", "Bram", "Smit", "student"),
    Person("student7", "Noor", "Meijer", "student"),
    Person("student8", "Jesse", "de Boer", "student"),
    Person("student9", "Emma", "Mulder", "student"),
    Person("student10", "Thijs", "de Groot", "student"),
    Person("student11", "Yara", "Bos", "student"),
    Person("student12", "Luuk", "Vos", "student"),
    Person("student13", "Zoë", "Peters", "student"),
    Person("student14", "Sem", "Hendriks", "student"),
    Person("student15", "Iris", "Koster", "student"),
    Person("student16", "Finn", "Willemsen", "student"),
    Person("student17", "Sara", "Dijkstra", "student"),
    Person("student18", "Milan", "Verhoeven", "student"),
    Person("mentor", "Marieke", "van Dijk", "mentor"),
    Person("mentor2", "Kees", "Dekker", "mentor"),
    Person("mentor3", "Ingrid", "Brouwer", "mentor"),
    Person("schoolopleider", "Hans", "van den Berg", "school trainer (schoolopleider)"),
    Person("schoolopleider2", "Petra", "Willems", "school trainer (schoolopleider)"),
    Person("bovenschools", "Wim", "Kok", "coordinating trainer (bovenschools)"),
    Person("studiecoach", "Anouk", "Jacobs", "study coach (studiecoach)"),
    Person("studiecoach2", "Ruud", "de Haan", "study coach (studiecoach)"),
    Person(
        "stagebureau",
        "Els",
        "Schouten",
        "internship office (stagebureau), admin",
        groups=(Role.OFFICE,),
        admin=True,
    ),
    Person("isop", "Gerard", "van Leeuwen", "ISOP process owner", groups=(Role.ISOP_OWNER,)),
    Person("privacy", "Fatima", "El Amrani", "privacy officer", groups=(PRIVACY_OFFICER_GROUP,)),
]

# Who works where: school key -> (mentor, school trainer, study coach, coordinating trainer).
STAFF = {
    "domstad": ("mentor", "schoolopleider", "studiecoach", "bovenschools"),
    "eemland": ("mentor2", "schoolopleider", "studiecoach", "bovenschools"),
    "baken": ("mentor3", "schoolopleider2", "studiecoach2", None),
    "zuiderpoort": ("mentor3", "schoolopleider2", "studiecoach", None),
}

# --------------------------------------------------------------------------------------------
# The demo cases: one per state (and a second one for `student`), walked through the services
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    state: str
    student: str
    school: str
    path: tuple[str, ...]  # steps after "signal"
    description: str
    categories: tuple[str, ...]
    last_step_days_ago: int  # working days between the last step and today
    signalled_by: str = "student"  # a placement role
    options: dict = field(default_factory=dict)


TO_IMPROVING = ("plan", "record")
TO_OFFICE_INFORMED = (*TO_IMPROVING, "request_change", "inform_office")
TO_OUTCOME_PENDING = (*TO_OFFICE_INFORMED, "plan_change", "record_change")

SCENARIOS = [
    Scenario(
        State.CLOSED_RESOLVED,
        "student",
        "domstad",
        (*TO_IMPROVING, "evaluate", "resolve"),
        "Ik loop vast met orde houden in 2 havo: de les begint steeds tien minuten te laat en "
        "ik weet niet goed hoe ik de groep weer stil krijg.",
        (Category.CLASSROOM,),
        30,
    ),
    Scenario(
        State.IMPROVING,
        "student",
        "domstad",
        TO_IMPROVING,
        "Sinds de herfstvakantie krijg ik nauwelijks nog feedback van mijn mentor; nabesprekingen "
        "worden steeds afgezegd en ik weet niet waar ik sta.",
        (Category.MENTOR_RELATIONSHIP,),
        2,
    ),
    Scenario(
        State.SIGNALLED,
        "student2",
        "eemland",
        (),
        "Daan lijkt niet lekker in zijn vel te zitten: hij meldt zich vaker ziek en oogt moe in "
        "de lessen. Graag samen in gesprek.",
        (Category.WELLBEING,),
        1,
        signalled_by=Role.MENTOR,
    ),
    Scenario(
        State.CONVERSATION_PLANNED,
        "student3",
        "domstad",
        ("plan",),
        "Ik voel me niet welkom in de sectie: in de docentenkamer word ik genegeerd en ik word "
        "niet uitgenodigd voor het sectieoverleg.",
        (Category.ATMOSPHERE,),
        1,
    ),
    Scenario(
        State.CHANGE_REQUESTED,
        "student4",
        "eemland",
        (*TO_IMPROVING, "request_change"),
        "De samenwerking met de mentor loopt stroef; afspraken uit het eerste gesprek worden "
        "niet nagekomen.",
        (Category.MENTOR_RELATIONSHIP, Category.ATMOSPHERE),
        1,
    ),
    Scenario(
        State.OFFICE_INFORMED,
        "student5",
        "baken",
        TO_OFFICE_INFORMED,
        "Lotte combineert haar stage met mantelzorg en redt het rooster niet meer; de "
        "verbeterafspraken helpen onvoldoende.",
        (Category.WELLBEING,),
        2,
        signalled_by=Role.STUDY_COACH,
    ),
    Scenario(
        State.CHANGE_CONVERSATION_PLANNED,
        "student6",
        "zuiderpoort",
        (*TO_OFFICE_INFORMED, "plan_change"),
        "Bram voelt zich onveilig in een bovenbouwklas na een incident; de school en Bram "
        "denken verschillend over hoe verder.",
        (Category.CLASSROOM, Category.ATMOSPHERE),
        1,
        signalled_by=Role.SCHOOL_TRAINER,
    ),
    Scenario(
        State.OUTCOME_PENDING,
        "student7",
        "domstad",
        TO_OUTCOME_PENDING,
        "Ondanks twee verbetertrajecten blijft de relatie met de mentor gespannen; Noor wil "
        "graag verder op een andere school.",
        (Category.MENTOR_RELATIONSHIP,),
        1,
    ),
    Scenario(
        State.ISOP_ADVICE,
        "student8",
        "eemland",
        (*TO_OUTCOME_PENDING, "outcome_differ"),
        "Jesse wil wisselen van stageplek, de school wil hem liever houden en extra "
        "begeleiding bieden.",
        (Category.ATMOSPHERE, Category.OTHER),
        2,
    ),
    Scenario(
        State.TRANSFER_REQUESTED,
        "student9",
        "baken",
        (*TO_OUTCOME_PENDING, "outcome_transfer"),
        "De reisafstand naar de school blijkt na een verhuizing niet meer te doen; iedereen "
        "is het eens dat een andere stageplek beter is.",
        (Category.OTHER,),
        1,
    ),
    Scenario(
        State.HANDOVER,
        "student10",
        "zuiderpoort",
        (
            *TO_OUTCOME_PENDING,
            "outcome_differ",
            "advice_transfer",
            "decide_transfer",
            "wrap_up",
            "place_new_coach",
        ),
        "Thijs en zijn mentor verschillen sterk van inzicht over lesgeven; de gesprekken lopen "
        "vast.",
        (Category.MENTOR_RELATIONSHIP,),
        1,
    ),
    Scenario(
        State.CLOSED_TRANSFERRED,
        "student11",
        "eemland",
        (*TO_OUTCOME_PENDING, "outcome_transfer", "wrap_up", "place_same_coach"),
        "Yara krijgt op deze school geen lessen in haar eigen vak; wisselen is voor iedereen "
        "de beste oplossing.",
        (Category.OTHER,),
        10,
    ),
    Scenario(
        State.STOPPED,
        "student12",
        "domstad",
        (*TO_OUTCOME_PENDING, "outcome_stop", "wrap_up", "stop_temporary"),
        "Luuk is langdurig ziek; iedereen vindt het verstandig de stage tijdelijk te stoppen.",
        (Category.WELLBEING,),
        3,
        options={"change_kind": ChangeRequest.Kind.STOP_TEMPORARY},
    ),
    Scenario(
        State.CLOSED_RESUMED,
        "student13",
        "zuiderpoort",
        (*TO_OUTCOME_PENDING, "outcome_stop", "wrap_up", "stop_temporary", "resume"),
        "Zoë heeft een zware privésituatie en wil de stage even stilleggen; na overleg wordt "
        "tijdelijk gestopt.",
        (Category.WELLBEING,),
        5,
        options={"change_kind": ChangeRequest.Kind.STOP_TEMPORARY},
    ),
    # The acute route: the student stops at once right after signalling (illness); the office
    # later makes the stop definitive.
    Scenario(
        State.CLOSED_STOPPED,
        "student18",
        "baken",
        ("stop_now", "make_definitive"),
        "Milan is na een ongeluk langdurig uitgevallen; hij stopt direct met de stage.",
        (Category.WELLBEING,),
        4,
    ),
    # The ISOP owner advised; the office still has to decide.
    Scenario(
        State.DECISION_PENDING,
        "student16",
        "zuiderpoort",
        (*TO_OUTCOME_PENDING, "outcome_differ", "advice_stop"),
        "Finn twijfelt of het vak bij hem past; de school wil hem houden, hij wil stoppen.",
        (Category.WELLBEING, Category.CLASSROOM),
        1,
    ),
    # The all-party conversation was held without the study coach: on the office's monitor.
    Scenario(
        State.CHANGE_CONVERSATION_INCOMPLETE,
        "student17",
        "eemland",
        (*TO_OFFICE_INFORMED, "plan_change", "record_change_without_coach"),
        "Sara en haar mentor botsen over de lesaanpak; de afspraken werken niet.",
        (Category.MENTOR_RELATIONSHIP,),
        1,
    ),
    Scenario(
        State.CLOSED_WITHDRAWN,
        "student14",
        "baken",
        ("withdraw",),
        "Per abuis gemeld bij de verkeerde stageplek.",
        (Category.OTHER,),
        12,
    ),
    # A student's signal about her own mentor, "confidential to the internship office first":
    # only she and the office see it until the office opens it.
    Scenario(
        State.SIGNALLED,
        "student15",
        "domstad",
        (),
        "Mijn mentor maakt in de teamkamer opmerkingen over mijn uiterlijk waar anderen bij zijn. "
        "Ik wil eerst met het stagebureau overleggen voordat de school het hoort.",
        (Category.MENTOR_RELATIONSHIP,),
        1,
        options={"confidential": True},
    ),
]


def working_days_ago(days: int, *, hour: int, minute: int = 0) -> dt.datetime:
    """The moment `days` working days (Mon-Fri) before today, at the given local time."""
    day = timezone.localdate()
    while day.weekday() >= 5:
        day -= dt.timedelta(days=1)
    remaining = days
    while remaining > 0:
        day -= dt.timedelta(days=1)
        if day.weekday() < 5:
            remaining -= 1
    moment = dt.datetime.combine(day, dt.time(hour, minute), tzinfo=TZ)
    return min(moment, timezone.now() - dt.timedelta(minutes=5 * (days + 1)))


def future_working_day(days: int, *, hour: int) -> dt.datetime:
    day = timezone.localdate()
    remaining = days
    while remaining > 0:
        day += dt.timedelta(days=1)
        if day.weekday() < 5:
            remaining -= 1
    return dt.datetime.combine(day, dt.time(hour, 0), tzinfo=TZ)


class Walk:
    """Runs one scenario's steps through the services, each at its own moment."""

    GAP = 3  # working days between steps

    def __init__(self, scenario: Scenario, placement: Placement, people: dict[str, User]):
        self.scenario = scenario
        self.placement = placement
        self.people = people
        self.case: Case | None = None
        # A conversation that is planned but not yet held takes place soon after today.
        self.upcoming = future_working_day(3, hour=15)
        steps = ("signal", *scenario.path)
        last = scenario.last_step_days_ago
        count = len(steps)
        self.schedule = [
            (name, working_days_ago(last + (count - 1 - i) * self.GAP, hour=9 + (i * 2) % 7))
            for i, name in enumerate(steps)
        ]

    @property
    def p(self) -> Placement:
        return self.case.placement if self.case else self.placement

    def run(self) -> Case:
        for index, (name, moment) in enumerate(self.schedule):
            following = self.schedule[index + 1][1] if index + 1 < len(self.schedule) else None
            with time_machine.travel(moment, tick=False):
                getattr(self, f"step_{name}")(next_moment=following)
        self.case.refresh_from_db()
        return self.case

    # --- the steps ------------------------------------------------------------------------

    def _conversation_time(self, next_moment: dt.datetime | None) -> dt.datetime:
        if next_moment is not None:
            return next_moment - dt.timedelta(hours=2)
        return self.upcoming

    def step_signal(self, next_moment=None) -> None:
        by = self.placement.person(self.scenario.signalled_by)
        self.case = case_services.case_signal(
            placement=self.placement,
            by=by,
            categories=list(self.scenario.categories),
            description=self.scenario.description,
            confidential=self.scenario.options.get("confidential", False),
        )

    def step_plan(self, next_moment=None) -> None:
        conversation_services.plan_conversation(
            case_id=self.case.pk,
            by=self.p.school_trainer,
            starts_at=self._conversation_time(next_moment),
            location=f"{self.p.school}, kamer van de schoolopleider",
        )

    def step_record(self, next_moment=None) -> None:
        p = self.p
        conversation = self.case.conversations.get(kind=Conversation.Kind.PROBLEM, status="planned")
        # The mentor could not make it: recorded as absent, and briefed afterwards.
        attendance = {
            i.person_id: i.person_id != p.mentor_id for i in conversation.invitations.all()
        }
        today = timezone.localdate()
        conversation_services.record_conversation(
            case_id=self.case.pk,
            by=p.school_trainer,
            attendance=attendance,
            summary="Open gesprek over wat er speelt; iedereen herkent het beeld en wil verder.",
            actions=[
                conversation_services.ActionInput(
                    "Wekelijks een vast nabespreekmoment van 20 minuten inplannen",
                    p.mentor_id,
                    today + dt.timedelta(days=14),
                ),
                conversation_services.ActionInput(
                    "Twee lessen bij een collega observeren en de bevindingen bespreken",
                    p.student_id,
                    today + dt.timedelta(days=21),
                ),
            ],
        )
        absent = conversation.invitations.filter(attended=False).first()
        if absent is not None:
            conversation_services.briefing_record(
                invitation_id=absent.pk, by=p.school_trainer, note="Telefonisch bijgepraat."
            )
        conversation_services.note_save(
            conversation_id=conversation.pk,
            by=p.student,
            text="Fijn gesprek. Ik ga met mijn mentor vaste momenten afspreken en bij collega's "
            "kijken hoe zij de les starten.",
            submit=True,
        )

    def step_evaluate(self, next_moment=None) -> None:
        for action in ImprovementAction.objects.filter(case=self.case):
            conversation_services.action_evaluate(
                action_id=action.pk,
                by=self.p.school_trainer,
                evaluation=ImprovementAction.Evaluation.HELPED,
                comment="Merkbaar verschil in de lessen.",
            )

    def step_resolve(self, next_moment=None) -> None:
        case_services.resolve(
            case_id=self.case.pk, by=self.p.study_coach, note="Opgelost: de afspraken werken."
        )

    def step_request_change(self, next_moment=None) -> None:
        transfer_services.request_change(
            case_id=self.case.pk,
            by=self.p.student,
            kind=self.scenario.options.get("change_kind", ChangeRequest.Kind.TRANSFER),
            reason="De verbeteracties hebben onvoldoende geholpen.",
        )

    def step_inform_office(self, next_moment=None) -> None:
        transfer_services.inform_office(
            case_id=self.case.pk, by=self.p.school_trainer, note="Gebeld met het stagebureau."
        )

    def step_plan_change(self, next_moment=None) -> None:
        conversation_services.plan_conversation(
            case_id=self.case.pk,
            by=self.p.school_trainer,
            starts_at=self._conversation_time(next_moment),
            location="Online (Teams)",
            with_coordinating_trainer=self.p.coordinating_trainer_id is not None,
        )

    def step_record_change(self, next_moment=None, *, absent=()) -> None:
        conversation = self.case.conversations.get(kind=Conversation.Kind.CHANGE, status="planned")
        conversation_services.record_conversation(
            case_id=self.case.pk,
            by=self.p.school_trainer,
            attendance={
                i.person_id: i.person_id not in absent for i in conversation.invitations.all()
            },
            summary="Gesprek met alle betrokkenen over het vervolg van de stage.",
            answers={
                "problem": "De samenwerking op deze stageplek werkt niet meer.",
                "what_was_done": "Twee verbetertrajecten met vaste nabesprekingen.",
                "when_it_goes_well": "In kleine groepen en met duidelijke afspraken.",
                "student_needs": "Een mentor die tijd heeft voor begeleiding.",
                "school_offers": "Een andere mentor is op korte termijn niet beschikbaar.",
            },
        )

    def step_record_change_without_coach(self, next_moment=None) -> None:
        self.step_record_change(next_moment, absent=(self.p.study_coach_id,))

    def _report(self, outcome: str, disagree: bool) -> None:
        conversation = self.case.conversations.get(kind=Conversation.Kind.CHANGE, status="held")
        positions = {i.person_id: Position.Stance.AGREE for i in conversation.invitations.all()}
        if disagree:
            positions[self.p.school_trainer_id] = Position.Stance.DISAGREE
        transfer_services.report_outcome(
            case_id=self.case.pk,
            by=self.p.school_trainer,
            outcome=outcome,
            positions=positions,
            note="Zoals besproken in het gesprek met alle betrokkenen.",
        )

    def step_outcome_differ(self, next_moment=None) -> None:
        self._report(Outcome.OPINIONS_DIFFER, disagree=True)

    def step_outcome_transfer(self, next_moment=None) -> None:
        self._report(Outcome.AGREE_TRANSFER, disagree=False)

    def step_outcome_stop(self, next_moment=None) -> None:
        self._report(Outcome.AGREE_STOP, disagree=False)

    def step_advice_transfer(self, next_moment=None) -> None:
        transfer_services.give_advice(
            case_id=self.case.pk,
            by=self.people["isop"],
            decision=AdviceDecision.TRANSFER,
            rationale="Een frisse start op een andere school geeft de student de beste kans.",
        )

    def step_advice_stop(self, next_moment=None) -> None:
        transfer_services.give_advice(
            case_id=self.case.pk,
            by=self.people["isop"],
            decision=AdviceDecision.STOP,
            rationale="Stoppen en later op een andere plek opnieuw beginnen past het best.",
        )

    def step_decide_transfer(self, next_moment=None) -> None:
        transfer_services.decide(
            case_id=self.case.pk, by=self.people["stagebureau"], decision=AdviceDecision.TRANSFER
        )

    def step_wrap_up(self, next_moment=None) -> None:
        transfer_services.wrap_up_record(
            case_id=self.case.pk,
            by=self.p.school_trainer,
            last_day=timezone.localdate() + dt.timedelta(days=5),
            agreement="Laatste les op vrijdag; de student neemt afscheid van de klas met een "
            "korte terugblik.",
        )
        # The student, who did not record it, agrees; the mentor is told.
        transfer_services.wrap_up_confirm(case_id=self.case.pk, by=self.p.student)

    def _place(self, school_key: str, coach: str) -> None:
        mentor, trainer, _coach, coordinator = STAFF[school_key]
        transfer_services.place_student(
            case_id=self.case.pk,
            by=self.people["stagebureau"],
            school=TrainingSchool.objects.get(name=SCHOOLS[school_key][0]),
            mentor=self.people[mentor],
            school_trainer=self.people[trainer],
            study_coach=self.people[coach],
            coordinating_trainer=self.people[coordinator] if coordinator else None,
            start_date=timezone.localdate() + dt.timedelta(days=7),
        )

    def step_place_new_coach(self, next_moment=None) -> None:
        # The old coach (studiecoach) hands over to the coach of the new school (studiecoach2).
        self._place("baken", "studiecoach2")

    def step_place_same_coach(self, next_moment=None) -> None:
        self._place("domstad", "studiecoach")

    def step_stop_temporary(self, next_moment=None) -> None:
        transfer_services.stop_internship(
            case_id=self.case.pk,
            by=self.people["stagebureau"],
            temporary=True,
            expected_resume_date=timezone.localdate() + dt.timedelta(days=60),
        )

    def step_resume(self, next_moment=None) -> None:
        transfer_services.resume(
            case_id=self.case.pk,
            by=self.people["stagebureau"],
            resumed_on=timezone.localdate(),
        )

    def step_stop_now(self, next_moment=None) -> None:
        transfer_services.stop_now(
            case_id=self.case.pk,
            by=self.p.student,
            temporary=True,
            reason="Ik ben na een ongeluk voorlopig niet in staat les te geven.",
            expected_resume_date=timezone.localdate() + dt.timedelta(days=30),
        )

    def step_make_definitive(self, next_moment=None) -> None:
        transfer_services.make_definitive(
            case_id=self.case.pk,
            by=self.people["stagebureau"],
            ends_on=timezone.localdate(),
            note="Herstel duurt langer; de stage wordt volgend jaar opnieuw gestart.",
        )

    def step_withdraw(self, next_moment=None) -> None:
        case_services.withdraw(
            case_id=self.case.pk, by=self.p.student, reason="Per abuis aangemaakt."
        )


# --------------------------------------------------------------------------------------------
# Synthetic cases for benchmarks
# --------------------------------------------------------------------------------------------

PADDING_EVENTS = (
    "action_added",
    "briefing_recorded",
    "student_note_submitted",
    "action_evaluated",
    "conversation_rescheduled",
    "summary_read",
)
# Who takes a transition in the synthetic timelines (a placement role or a global role).
ACTOR_ROLE = {
    "plan_conversation": Role.SCHOOL_TRAINER,
    "record_conversation": Role.SCHOOL_TRAINER,
    "resolve": Role.STUDY_COACH,
    "request_change": Role.STUDENT,
    "inform_office": Role.SCHOOL_TRAINER,
    "plan_change_conversation": Role.SCHOOL_TRAINER,
    "record_change_conversation": Role.SCHOOL_TRAINER,
    "report_outcome": Role.SCHOOL_TRAINER,
    "give_advice": Role.ISOP_OWNER,
    "decide": Role.OFFICE,
    "accept_change_conversation": Role.OFFICE,
    "abandon_change": Role.SCHOOL_TRAINER,
    "stop_now": Role.STUDENT,
    "make_definitive": Role.OFFICE,
    "reopen": Role.OFFICE,
    "place_student": Role.OFFICE,
    "stop_internship": Role.OFFICE,
    "confirm_handover": Role.STUDY_COACH,
    "resume": Role.OFFICE,
    "withdraw": Role.STUDENT,
}


def state_paths() -> dict[str, list[tuple[str, str, str]]]:
    """The shortest path of (transition, from, to) from `signalled` to every state."""
    edges: dict[str, list[tuple[str, str]]] = {}
    for transition in Case._meta.get_field("state").get_all_transitions(Case):
        target = transition.target
        targets = target.allowed_states if isinstance(target, fsm.RETURN_VALUE) else [target]
        for to_state in targets or ():
            edges.setdefault(transition.source, []).append((transition.name, to_state))
    paths: dict[str, list[tuple[str, str, str]]] = {State.SIGNALLED: []}
    queue = deque([State.SIGNALLED])
    while queue:
        state = queue.popleft()
        for name, to_state in sorted(edges.get(state, [])):
            if to_state not in paths:
                paths[to_state] = [*paths[state], (name, state, to_state)]
                queue.append(to_state)
    return paths


LOREM = (
    "De student geeft aan dat de begeleiding op de stageschool tekortschiet. Er zijn afspraken "
    "gemaakt over nabesprekingen, observaties en het lesrooster, maar die worden niet altijd "
    "nagekomen. De schoolopleider en de studiecoach volgen de situatie en bespreken met de "
    "student wat er nodig is om de stage goed af te ronden. "
)


FIRST_NAMES = (
    "Anna",
    "Bram",
    "Chloë",
    "Daan",
    "Eva",
    "Finn",
    "Gijs",
    "Hanna",
    "Isa",
    "Jesse",
    "Kim",
    "Lars",
    "Mila",
    "Noah",
    "Olivia",
    "Pieter",
    "Roos",
    "Sem",
    "Tess",
    "Vera",
    "Wout",
    "Yara",
)
SYLLABLES = (
    "ba",
    "de",
    "ho",
    "ka",
    "le",
    "mo",
    "ni",
    "po",
    "ra",
    "se",
    "ti",
    "vo",
    "wa",
    "ze",
    "bri",
    "dro",
    "gel",
    "han",
    "ker",
    "lin",
    "mer",
    "nol",
    "ster",
    "ver",
    "wij",
    "zan",
)


def surname(number: int) -> str:
    """A surname unique to the number: its digits in base 26 as syllables ("Bahoster")."""
    parts = []
    for _i in range(5):
        number, digit = divmod(number, len(SYLLABLES))
        parts.append(SYLLABLES[digit])
    return "".join(reversed(parts)).capitalize()


class Synthetic:
    """Bulk-inserts synthetic students, placements, cases, categories and timeline events."""

    BATCH = 1000
    CHUNK = 5000  # cases built in memory at a time
    STAFF_SIZE = 12

    def __init__(self, *, wanted: int, people: dict[str, User], stdout) -> None:
        self.wanted = wanted
        self.people = people
        self.stdout = stdout
        self.rng = random.Random(wanted)

    def run(self) -> int:
        """Insert the missing cases a chunk at a time, each chunk in its own transaction: the
        memory stays that of one chunk at any size (100,000 cases built at once took 1.4 GiB)."""
        existing = Case.objects.filter(description__startswith=SYNTHETIC_PREFIX).count()
        missing = self.wanted - existing
        if missing <= 0:
            return 0
        password = make_password(PASSWORD)
        start_index = User.objects.filter(
            username__startswith=f"{SYNTHETIC_USER_PREFIX}student"
        ).count()
        staff = self._staff(password)
        schools = list(TrainingSchool.objects.all())
        paths = state_paths()
        states = [s for s in State if s in paths]
        added = 0
        for offset in range(0, missing, self.CHUNK):
            size = min(self.CHUNK, missing - offset)
            with transaction.atomic():
                added += self._chunk(
                    start_index + offset, size, password, staff, schools, paths, states
                )
            if missing > self.CHUNK:
                self.stdout.write(f"  {added} of {missing} synthetic cases", ending="\r")
        if missing > self.CHUNK:
            self.stdout.write("")
        return added

    def _chunk(self, first, size, password, staff, schools, paths, states) -> int:
        students = self._users(
            [f"{SYNTHETIC_USER_PREFIX}student{first + i:06d}" for i in range(size)],
            password,
            named=True,
        )
        today = timezone.localdate()
        placements = Placement.objects.bulk_create(
            [
                Placement(
                    student=student,
                    school=self.rng.choice(schools),
                    mentor=self.rng.choice(staff["mentor"]),
                    school_trainer=self.rng.choice(staff["trainer"]),
                    study_coach=self.rng.choice(staff["coach"]),
                    start_date=today - dt.timedelta(days=self.rng.randint(60, 300)),
                )
                for student in students
            ],
            batch_size=self.BATCH,
        )
        now = timezone.now()
        cases: list[Case] = []
        timelines: list[list[tuple[str, str, str, dt.datetime]]] = []
        for index, placement in enumerate(placements):
            state = states[(first + index) % len(states)]
            timeline = self._timeline(paths[state], now)
            signalled_at = timeline[0][4]
            last_at = timeline[-1][4]
            cases.append(
                Case(
                    placement=placement,
                    state=state,
                    description=SYNTHETIC_PREFIX + LOREM * self.rng.randint(3, 8),
                    signalled_by=placement.student,
                    signalled_at=signalled_at,
                    state_changed_at=last_at,
                    closed_at=last_at if state in CLOSED_STATES else None,
                    version=sum(1 for kind, *_ in timeline if kind == "transition"),  # signal = 1
                )
            )
            timelines.append(timeline)
        cases = Case.objects.bulk_create(cases, batch_size=self.BATCH)
        categories = list(Category.values)
        CaseCategory.objects.bulk_create(
            [
                CaseCategory(case=case, category=category)
                for case in cases
                for category in self.rng.sample(categories, self.rng.randint(1, 2))
            ],
            batch_size=self.BATCH,
        )
        events = []
        for case, timeline in zip(cases, timelines, strict=True):
            for kind, name, from_state, to_state, at in timeline:
                events.append(
                    CaseEvent(
                        case=case,
                        at=at,
                        actor=self._actor(case.placement, name),
                        kind=kind,
                        name=name,
                        from_state=from_state,
                        to_state=to_state,
                        note="" if kind == CaseEvent.Kind.TRANSITION else LOREM[:120],
                    )
                )
        CaseEvent.objects.bulk_create(events, batch_size=self.BATCH)
        return len(cases)

    def _timeline(self, path, now: dt.datetime) -> list[tuple[str, str, str, dt.datetime]]:
        """About ten events: the transitions of the path with record events in between."""
        transitions = [("signal", "", State.SIGNALLED), *path]
        padding = max(0, 10 - len(transitions) + self.rng.randint(-1, 2))
        items: list[tuple[str, str, str, str]] = [
            (CaseEvent.Kind.TRANSITION, name, f, t) for name, f, t in transitions
        ]
        for _i in range(padding):
            position = self.rng.randint(1, len(items))
            items.insert(position, (CaseEvent.Kind.RECORD, self.rng.choice(PADDING_EVENTS), "", ""))
        at = now - dt.timedelta(days=self.rng.randint(5, 200), hours=self.rng.randint(0, 8))
        out = []
        for kind, name, from_state, to_state in items:
            out.append((kind, name, from_state, to_state, at))
            at = min(at + dt.timedelta(hours=self.rng.randint(2, 96)), now)
        return out

    def _actor(self, placement: Placement, name: str) -> User:
        role = ACTOR_ROLE.get(name, Role.SCHOOL_TRAINER if name != "signal" else Role.STUDENT)
        if role == Role.OFFICE:
            return self.people["stagebureau"]
        if role == Role.ISOP_OWNER:
            return self.people["isop"]
        return placement.person(role)

    def _staff(self, password: str) -> dict[str, list[User]]:
        staff = {}
        for kind in ("mentor", "trainer", "coach"):
            names = [f"{SYNTHETIC_USER_PREFIX}{kind}{i:02d}" for i in range(self.STAFF_SIZE)]
            self._users(names, password)
            staff[kind] = list(User.objects.filter(username__in=names))
        return staff

    def _users(self, usernames: list[str], password: str, named: bool = False) -> list[User]:
        """Staff are named after their username; students (`named`) get a first name and a
        surname of their own, made from their number, so that searching for one student's name
        finds one student, as in real life."""
        existing = set(
            User.objects.filter(username__in=usernames).values_list("username", flat=True)
        )
        User.objects.bulk_create(
            [
                User(
                    username=name,
                    first_name=(
                        FIRST_NAMES[int(name[-6:]) % len(FIRST_NAMES)]
                        if named
                        else name.removeprefix(SYNTHETIC_USER_PREFIX).rstrip("0123456789")
                    ),
                    last_name=surname(int(name[-6:])) if named else name[-6:],
                    email=f"{name}@example.org",
                    password=password,
                )
                for name in usernames
                if name not in existing
            ],
            batch_size=self.BATCH,
        )
        by_name = User.objects.in_bulk(usernames, field_name="username")
        return [by_name[name] for name in usernames]


# --------------------------------------------------------------------------------------------
# The command
# --------------------------------------------------------------------------------------------


class Command(BaseCommand):
    help = (
        "Create demo schools, placements, a login for every role (password 'demo') and a case in "
        "every state. Idempotent. --cases N adds synthetic cases (bulk) until there are N."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--cases",
            type=int,
            default=0,
            metavar="N",
            help="Make sure N synthetic cases exist (bulk inserts, for benchmarks).",
        )
        parser.add_argument(
            "--quiet-logins", action="store_true", help="Do not print the table of logins."
        )

    def handle(self, *args, cases: int = 0, quiet_logins: bool = False, **options) -> None:
        if cases < 0:
            raise CommandError("--cases must be zero or more.")
        with transaction.atomic():
            people = self._people()
            placements = self._schools_and_placements(people)
            created = self._cases(people, placements)
        self.stdout.write(f"Demo cases created: {created} (of {len(SCENARIOS)}).")
        if cases:
            # In chunks, each in its own transaction (Synthetic.run).
            added = Synthetic(wanted=cases, people=people, stdout=self.stdout).run()
            total = Case.objects.filter(description__startswith=SYNTHETIC_PREFIX).count()
            self.stdout.write(f"Synthetic cases added: {added} (now {total}).")
        if not quiet_logins:
            self._print_logins()

    # --- parts -----------------------------------------------------------------------------

    def _people(self) -> dict[str, User]:
        groups = {
            role: Group.objects.get_or_create(name=role)[0]
            for role in (Role.OFFICE, Role.ISOP_OWNER)
        }
        groups[PRIVACY_OFFICER_GROUP] = privacy_officer_group()
        people = {}
        password = None
        for person in PEOPLE:
            user = User.objects.filter(username=person.username).first()
            if user is None:
                password = password or make_password(PASSWORD)
                user = User.objects.create(
                    username=person.username,
                    first_name=person.first_name,
                    last_name=person.last_name,
                    email=f"{person.username}@example.org",
                    password=password,
                    is_staff=person.admin,
                    is_superuser=person.admin,
                )
                for role in person.groups:
                    user.groups.add(groups[role])
            people[person.username] = user
        return people

    def _schools_and_placements(self, people: dict[str, User]) -> dict[tuple[str, str], Placement]:
        partnership, _created = Partnership.objects.get_or_create(name=PARTNERSHIP)
        boards = {
            key: Board.objects.get_or_create(name=name, defaults={"partnership": partnership})[0]
            for key, name in BOARDS.items()
        }
        schools = {}
        for key, (name, board, city, region) in SCHOOLS.items():
            coordinator = STAFF[key][3]
            schools[key], _created = TrainingSchool.objects.get_or_create(
                board=boards[board],
                name=name,
                defaults={
                    "city": city,
                    "region": region,
                    "coordinating_trainer": people[coordinator] if coordinator else None,
                },
            )
        start = dt.date(timezone.localdate().year - (timezone.localdate().month < 9), 9, 1)
        placements = {}
        for scenario in SCENARIOS:
            key = (scenario.student, scenario.school)
            if key in placements:
                continue
            mentor, trainer, coach, coordinator = STAFF[scenario.school]
            placements[key], _created = Placement.objects.get_or_create(
                student=people[scenario.student],
                school=schools[scenario.school],
                start_date=start,
                defaults={
                    "mentor": people[mentor],
                    "school_trainer": people[trainer],
                    "study_coach": people[coach],
                    "coordinating_trainer": people[coordinator] if coordinator else None,
                },
            )
        return placements

    def _cases(self, people: dict[str, User], placements) -> int:
        created = 0
        for scenario in SCENARIOS:
            placement = placements[(scenario.student, scenario.school)]
            exists = Case.objects.filter(
                placement__student=placement.student, description=scenario.description
            ).exists()
            if exists:
                continue
            case = Walk(scenario, placement, people).run()
            if case.state != scenario.state:
                raise CommandError(
                    f"Demo case for {scenario.student} ended in {case.state}, "
                    f"expected {scenario.state}."
                )
            created += 1
        return created

    def _print_logins(self) -> None:
        self.stdout.write("")
        self.stdout.write(f"Demo logins (password for all: {PASSWORD}):")
        for person in PEOPLE:
            self.stdout.write(
                f"  {person.username:<16} {person.first_name + ' ' + person.last_name:<22} "
                f"{person.role}"
            )
