"""The access matrix: every URL pattern of the project, walked for every role.

One world, built through the real services: case A went the whole change path (problem
conversation with actions, change request, all-party conversation, outcome with positions,
ISOP advice and the office's decision, wrap-up, transfer to a new school with a new study
coach) and waits for the warm handover, so every kind of record exists; case B is a student's
signal "confidential to the internship office first" that the office has not opened; case C is
a new problem at the new school (the student's new placement after A's transfer), with a first
and an all-party conversation. A is about the old placement: the new school's mentor, school
trainer and coordinating trainer get 404 on all of it (its conversations, its change path),
while they see C, and see A's transfer only as an arrival on their home page. Unique markers
are planted in the sensitive texts. Then, for every URL pattern (read from the resolver, so a
new page is walked the day it is added, and an unknown one fails until it has a row in the
matrix):

- anonymous: every non-public page sends to the login page (GET and POST);
- every case-scoped page, for every person: unrelated → 404, related without the right → 403,
  allowed → the page (or a redirect back to the case); the expected sets are written out below;
- lists, searches, counts and exports contain exactly the cases the person may see;
- no marker ever reaches a person who may not see it: not in a page, a download, an export,
  nor any e-mail;
- no GET changes data; no POST goes through without a CSRF token.

The numbers of checks are printed (`-s`) and must stay above a floor, so the walk cannot
shrink without someone noticing.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from dataclasses import dataclass, field

import openpyxl
import pytest
from django.apps import apps
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from attachments import services as attachment_services
from cases import services as case_services
from cases.models import AdviceDecision, Case, Category, Outcome
from conversations import services as conversation_services
from conversations.models import Conversation
from notifications.models import Notification
from notifications.services import deliver
from privacy.selectors import is_privacy_officer
from privacy.services import privacy_officer_group
from tests.attachments import files as attachment_files
from tests.cases.factories import PlacementFactory, TrainingSchoolFactory, UserFactory
from transfers import services as transfer_services

pytestmark = pytest.mark.django_db

# --------------------------------------------------------------------------------------------
# The markers and who may read them
# --------------------------------------------------------------------------------------------

MARK_DESCRIPTION = "MARK-7f3a-description-of-case-a"
MARK_REASON = "MARK-7f3a-change-request-reason"
MARK_INFORM = "MARK-7f3a-office-contact-note"
MARK_CHANGE_SUMMARY = "MARK-7f3a-change-conversation-summary"
MARK_ANSWER = "MARK-7f3a-five-answers"
MARK_OUTCOME = "MARK-7f3a-outcome-and-positions-note"
MARK_ISOP = "MARK-7f3a-isop-advice-rationale"
MARK_NOTE_DRAFT = "MARK-7f3a-student-note-draft"
MARK_CONFIDENTIAL = "MARK-7f3a-confidential-description"
MARK_C_REASON = "MARK-7f3a-case-c-change-request-reason"
MARK_C_SUMMARY = "MARK-7f3a-case-c-change-conversation-summary"
# Attachments (planted in the file's content and name): case A's improvement plan (everyone on
# A), its doctor's note (the student and the office only), a file of A's all-party
# conversation (the change path), and case C's doctor's note (the student and the office only:
# not C's mentor, trainer or coach, who see C).
MARK_FILE = "MARK-7f3a-attachment-of-case-a"
MARK_MEDICAL = "MARK-7f3a-doctors-note-of-case-a"
MARK_CHANGE_FILE = "MARK-7f3a-attachment-of-the-all-party-conversation"
MARK_MEDICAL_C = "MARK-7f3a-doctors-note-of-case-c"
MEDICAL_MARKERS = (MARK_MEDICAL, MARK_MEDICAL_C)
SEES_MEDICAL = {"student", "office"}
# What the student agreed to share with the new school: the new school's staff see it.
MARK_SHARED = "MARK-7f3a-shared-with-the-new-school"
ALL_MARKERS = (
    MARK_DESCRIPTION,
    MARK_REASON,
    MARK_INFORM,
    MARK_CHANGE_SUMMARY,
    MARK_ANSWER,
    MARK_OUTCOME,
    MARK_ISOP,
    MARK_NOTE_DRAFT,
    MARK_CONFIDENTIAL,
    MARK_C_REASON,
    MARK_C_SUMMARY,
    MARK_FILE,
    MARK_MEDICAL,
    MARK_CHANGE_FILE,
    MARK_MEDICAL_C,
)
CHANGE_PATH_MARKERS_C = (MARK_C_REASON, MARK_C_SUMMARY)
CHANGE_PATH_MARKERS = (
    MARK_REASON,
    MARK_INFORM,
    MARK_CHANGE_SUMMARY,
    MARK_ANSWER,
    MARK_OUTCOME,
    MARK_ISOP,
    MARK_CHANGE_FILE,
)

# --------------------------------------------------------------------------------------------
# The people. Each person's role ("kind") on case A and on case B; None = unrelated.
# --------------------------------------------------------------------------------------------

PEOPLE = (
    "student",
    "mentor",
    "school_trainer",
    "study_coach",
    "coordinating_trainer",
    "old_study_coach",
    "old_mentor",
    "old_school_trainer",
    "office",
    "isop",
    "outsider",
    "student_b",
    "mentor_b",
    "school_trainer_b",
    "study_coach_b",
    "privacy_officer",
)
# After the transfer the old school's mentor and trainer are no longer on the case; the old
# coach is, until the handover is recorded; the new coach is. The new school's mentor, school
# trainer and coordinating trainer never are: the case is about the old placement. The ISOP
# owner is, because advice was asked.
KIND_ON_A = {
    "student": "student",
    "study_coach": "study_coach",
    "old_study_coach": "old_study_coach",
    "office": "office",
    "isop": "isop",
}
# The new school's own case: its staff in their roles.
KIND_ON_C = {
    "student": "student",
    "mentor": "mentor",
    "school_trainer": "school_trainer",
    "study_coach": "study_coach",
    "coordinating_trainer": "coordinating_trainer",
    "office": "office",
}
KIND_ON = {"A": KIND_ON_A, "B": None, "C": KIND_ON_C}
# The new school's staff: A's pages are not theirs (404), its markers never reach them.
NEW_SCHOOL = ("mentor", "school_trainer", "coordinating_trainer")
# Confidential and not opened: the mentor, trainer and coach of B get a 404, like strangers.
KIND_ON_B = {"student_b": "student", "office": "office"}

SEES_CHANGE_PATH = {
    "student",
    "school_trainer",
    "study_coach",
    "coordinating_trainer",
    "old_study_coach",
    "office",
    "isop",
}
ALL_KINDS = SEES_CHANGE_PATH | {"mentor"}


def markers_hidden_from(person: str) -> set[str]:
    """The markers this person must never receive."""
    hidden = set()
    kind = KIND_ON_A.get(person)
    if kind is None:
        hidden |= {MARK_DESCRIPTION, MARK_FILE, *CHANGE_PATH_MARKERS}
    elif kind not in SEES_CHANGE_PATH:
        hidden |= set(CHANGE_PATH_MARKERS)
    if kind != "student":
        hidden.add(MARK_NOTE_DRAFT)
    if person not in KIND_ON_B:
        hidden.add(MARK_CONFIDENTIAL)
    if person not in SEES_MEDICAL:
        hidden |= set(MEDICAL_MARKERS)
    kind_c = KIND_ON_C.get(person)
    if kind_c is None or kind_c not in SEES_CHANGE_PATH:
        hidden |= set(CHANGE_PATH_MARKERS_C)
    return hidden


# --------------------------------------------------------------------------------------------
# The expected matrix: who (by kind on the case) gets the page; related others get 403.
# Keyed by URL name and, for the conversation's objects, the conversation: P(roblem) or
# C(hange). Steps are the person's by role whatever the state ("not yours" before "not now").
# --------------------------------------------------------------------------------------------

PLANNERS = {"mentor", "school_trainer", "study_coach", "office"}
CHANGE_PLANNERS = {"school_trainer", "study_coach", "office"}
CASE_PAGES: dict[str, set[str]] = {
    "portal:case": ALL_KINDS,
    "cases:resolve": {"school_trainer", "study_coach", "office"},
    # The signaller only before the change path (see WITHDRAW_SIGNALLER).
    "cases:withdraw": {"school_trainer", "office"},
    "cases:reopen": {"office"},
    "cases:release_confidential": {"office"},
    # The office changes a person on the placement (cases.views.ReassignStep).
    "cases:reassign": {"office"},
    "conversations:plan": PLANNERS,  # the plan step of the case's state (problem here)
    "conversations:plan_again": PLANNERS,
    "conversations:record": PLANNERS,
    "conversations:plan_follow_up": PLANNERS,
    "conversations:add_action": PLANNERS,
    "transfers:request": {"student", "school_trainer", "study_coach", "office"},
    "transfers:abandon": {"school_trainer", "office"},
    "transfers:inform": {"school_trainer", "office"},
    "transfers:accept_conversation": {"office"},
    "transfers:outcome": {"school_trainer", "office"},
    "transfers:advice": {"isop", "office"},
    "transfers:decide": {"office"},
    "transfers:place": {"office"},
    "transfers:stop": {"office"},
    "transfers:stop_now": {"student", "office"},
    "transfers:make_definitive": {"office"},
    "transfers:resume": {"office"},
    "transfers:handover": {"old_study_coach", "office"},
    "transfers:wrap_up": {"school_trainer", "student", "office"},
    "transfers:study_step": {"study_coach", "office"},
    "transfers:wrap_up_confirm": {"school_trainer", "student", "office"},
    # The people on the placement and the office add files (attachments/rules.py).
    "attachments:add": {
        "student",
        "mentor",
        "school_trainer",
        "study_coach",
        "coordinating_trainer",
        "office",
    },
}
# Whoever signalled may withdraw before the change path: case B (signalled) by its student.
WITHDRAW_SIGNALLER = {("B", "student")}
OBJECT_PAGES: dict[tuple[str, str], set[str]] = {
    ("conversations:calendar", "P"): ALL_KINDS,
    ("conversations:calendar", "C"): SEES_CHANGE_PATH,
    ("conversations:reschedule", "P"): PLANNERS,
    ("conversations:reschedule", "C"): CHANGE_PLANNERS,
    ("conversations:cancel", "P"): PLANNERS,
    ("conversations:cancel", "C"): CHANGE_PLANNERS,
    ("conversations:note", "P"): {"student"},
    ("conversations:note", "C"): {"student"},
    # P has the student's draft: only the student downloads it. C has no note: a redirect
    # back for whoever sees the conversation.
    ("conversations:note_download", "P"): {"student"},
    ("conversations:note_download", "C"): SEES_CHANGE_PATH,
    ("conversations:brief", "P"): PLANNERS,
    ("conversations:brief", "C"): PLANNERS - {"mentor"},
    # The invited person only (here the student's invitation); a POST.
    ("conversations:confirm_read", "P"): {"student"},
    ("conversations:confirm_read", "C"): {"student"},
    # The owner (the student) or the trainer, coach or office.
    ("conversations:evaluate_action", "P"): {"student", "school_trainer", "study_coach", "office"},
    # A follow-up is recorded by the planners; "not now" (a redirect) outside a follow-up.
    ("conversations:record_follow_up", "P"): PLANNERS,
    ("conversations:record_follow_up", "C"): PLANNERS - {"mentor"},
    # The new study coach confirms receipt.
    ("transfers:handover_received", "C"): {"study_coach"},
    # Case C's first conversation has no note: a redirect back for whoever sees it.
    ("conversations:note_download", "P2"): ALL_KINDS,
    ("conversations:note_download", "C2"): SEES_CHANGE_PATH,
    # Attachments: (N)ot medical, (M)edical, on the (C)hange conversation; "2": case C.
    ("attachments:download", "N"): ALL_KINDS,
    ("attachments:download", "M"): SEES_MEDICAL,
    ("attachments:download", "C"): SEES_CHANGE_PATH,
    ("attachments:download", "B"): ALL_KINDS,
}
# Pages without a case: who gets them (by kind "office", "isop" or "user"). A POST-only page
# is checked for anonymous users and CSRF only.
ANYONE = {"office", "isop", "privacy", "user"}
GLOBAL_PAGES: dict[str, set[str]] = {
    "portal:home": ANYONE,
    "cases:my_cases": ANYONE,
    "cases:signal": ANYONE,
    "notifications:inbox": ANYONE,
    "office:dashboard": {"office"},
    "office:office_list": {"office"},
    "office:office_export": {"office"},
    "office:report": {"office"},
    "office:steering_report": {"office"},
    "office:worklist": {"office"},
    "office:isop_queue": {"isop"},
    "office:deputies": {"office"},
    # The import of a semester's placements (semester/views.py): the office's alone.
    "semester:import": {"office"},
    "semester:import_preview": {"office"},
    "semester:import_confirm": {"office"},
    # The access log (privacy/views.py): the privacy officer's alone; a person's own
    # data for everyone; a student's data for the office and the privacy officer.
    "privacy:access_log": {"privacy"},
    "privacy:my_data": ANYONE,
    "privacy:my_data_json": ANYONE,
}
# Pages about a student (kwarg student_pk; student A's pk): who gets them.
STUDENT_PAGES: dict[str, set[str]] = {
    "privacy:student_log": {"privacy"},
    "privacy:student_data": {"office", "privacy"},
    "privacy:student_data_json": {"office", "privacy"},
}
# A student's data export made on their request (AVG/GDPR) holds their whole file, their note
# drafts included: the office and the privacy officer hand it to the student.
EXPORTS_FOR_THE_STUDENT = set(STUDENT_PAGES) - {"privacy:student_log"}
POST_ONLY = {
    "notifications:mark_all_read",
    "notifications:mark_read",
    "logout",
    "set_language",
    "cases:release_confidential",
    "conversations:confirm_read",
    "semester:import_confirm",
}
PUBLIC = {
    "login",
    "logout",
    "set_language",
    "health",
    "sign_in_link",
    "sign_in_link_sent",
    "sign_in_with_link",
    "oidc_authentication_init",
    "oidc_authentication_callback",
}
SKIPPED_NAMESPACES = {"admin"}  # Django's admin has its own staff check and tests
FORMATS = {"office:office_export": ("csv", "xlsx"), "office:steering_report": ("csv", "html")}

LOGS = {"privacy:access_log", "privacy:student_log"}
# cases:assign_mentor, for a placement at the new school whose mentor is to be assigned.
PLACEMENT_PAGE = {"school_trainer", "office"}

# Floors: the walk may grow, never shrink unnoticed.
MIN_PATTERNS = 63
MIN_CHECKS = 30000


# --------------------------------------------------------------------------------------------
# The world
# --------------------------------------------------------------------------------------------


@dataclass
class World:
    people: dict
    case_a: Case
    case_b: Case
    case_c: Case
    problem: Conversation
    change: Conversation
    change_c: Conversation
    # URL argument -> {variant: (pk, case letter)}; the variant's first letter is the
    # conversation's kind (P)roblem or (C)hange, the digit says which case ("2": case C).
    objects: dict = field(default_factory=dict)


def _hold(case, by, *, summary, answers=None, actions=()):
    conversation = conversation_services.plan_conversation(
        case_id=case.pk, by=by, starts_at=timezone.now(), location="Lokaal 1"
    )
    conversation_services.record_conversation(
        case_id=case.pk,
        by=by,
        attendance={i.person_id: True for i in conversation.invitations.all()},
        summary=summary,
        actions=list(actions),
        answers=answers,
    )
    return conversation


def build_world() -> World:
    old = PlacementFactory(coordinating_trainer=UserFactory())
    office, isop = UserFactory(office=True), UserFactory(isop_owner=True)
    trainer = old.school_trainer
    case_a = case_services.case_signal(
        placement=old,
        by=old.student,
        categories=[Category.WELLBEING],
        description=f"Het gaat niet goed. {MARK_DESCRIPTION}",
    )
    problem = _hold(
        case_a,
        trainer,
        summary="Eerste gesprek gevoerd.",
        actions=[
            conversation_services.ActionInput(
                "Lesvoorbereiding", old.student.pk, timezone.localdate()
            )
        ],
    )
    conversation_services.note_save(
        conversation_id=problem.pk, by=old.student, text=f"Concept {MARK_NOTE_DRAFT}"
    )
    transfer_services.request_change(
        case_id=case_a.pk, by=old.student, kind="transfer", reason=f"Andere school. {MARK_REASON}"
    )
    transfer_services.inform_office(case_id=case_a.pk, by=trainer, note=f"Gebeld. {MARK_INFORM}")
    answers = {
        name: f"{name} {MARK_ANSWER}"
        for name in ("problem", "what_was_done", "when_it_goes_well", "student_needs")
    }
    answers["school_offers"] = f"school {MARK_ANSWER}"
    conversation = conversation_services.plan_conversation(
        case_id=case_a.pk,
        by=trainer,
        starts_at=timezone.now(),
        location="Lokaal 2",
        with_coordinating_trainer=True,
    )
    # The coordinating trainer was absent and is still to be briefed: the briefing shows on
    # the home pages of those who may brief it, never on the mentor's.
    attendance = {i.person_id: True for i in conversation.invitations.all()}
    attendance[old.coordinating_trainer.pk] = False
    conversation_services.record_conversation(
        case_id=case_a.pk,
        by=trainer,
        attendance=attendance,
        summary=f"Alle partijen. {MARK_CHANGE_SUMMARY}",
        answers=answers,
    )
    change = Conversation.objects.get(pk=conversation.pk)
    positions = {i.person_id: "agree" for i in change.invitations.all()}
    positions[old.student.pk] = "disagree"
    transfer_services.report_outcome(
        case_id=case_a.pk,
        by=trainer,
        outcome=Outcome.OPINIONS_DIFFER,
        positions=positions,
        note=f"Verschil van mening. {MARK_OUTCOME}",
    )
    transfer_services.give_advice(
        case_id=case_a.pk,
        by=isop,
        decision=AdviceDecision.TRANSFER,
        rationale=f"Wisselen. {MARK_ISOP}",
    )
    transfer_services.decide(case_id=case_a.pk, by=office, decision=AdviceDecision.TRANSFER)
    transfer_services.wrap_up_record(
        case_id=case_a.pk,
        by=trainer,
        last_day=timezone.localdate(),
        agreement="Afscheid van de klas.",
    )
    transfer_services.wrap_up_confirm(case_id=case_a.pk, by=old.student)
    new_people = {
        "mentor": UserFactory(),
        "school_trainer": UserFactory(),
        "study_coach": UserFactory(),
        "coordinating_trainer": UserFactory(),
    }
    transfer = transfer_services.place_student(
        case_id=case_a.pk,
        by=office,
        school=TrainingSchoolFactory(),
        start_date=timezone.localdate(),
        shared_with_new_school=f"Wil graag veel feedback. {MARK_SHARED}",
        **new_people,
    )
    case_a.refresh_from_db()

    # Case C: a new problem at the new school, as far as the outcome.
    new = transfer.to_placement
    case_c = case_services.case_signal(
        placement=new,
        by=new.mentor,
        categories=[Category.CLASSROOM],
        description="Ordeproblemen in de nieuwe klas.",
    )
    problem_c = _hold(
        case_c,
        new.school_trainer,
        summary="Eerste gesprek op de nieuwe school.",
        actions=[
            conversation_services.ActionInput("Observeren", new.student.pk, timezone.localdate())
        ],
    )
    transfer_services.request_change(
        case_id=case_c.pk, by=new.student, kind="stop_temporary", reason=f"Rust. {MARK_C_REASON}"
    )
    transfer_services.inform_office(case_id=case_c.pk, by=new.school_trainer)
    change_c = _hold(
        case_c,
        new.school_trainer,
        summary=f"Alle partijen op de nieuwe school. {MARK_C_SUMMARY}",
        answers=dict.fromkeys(ANSWERS, "Antwoord."),
    )
    case_c.refresh_from_db()

    other = PlacementFactory()
    case_b = case_services.case_signal(
        placement=other,
        by=other.student,
        categories=[Category.MENTOR_RELATIONSHIP],
        description=f"Over mijn mentor. {MARK_CONFIDENTIAL}",
        confidential=True,
    )
    people = {
        "student": old.student,
        **new_people,
        "old_study_coach": old.study_coach,
        "old_mentor": old.mentor,
        "old_school_trainer": old.school_trainer,
        "office": office,
        "isop": isop,
        "outsider": UserFactory(),
        "student_b": other.student,
        "mentor_b": other.mentor,
        "school_trainer_b": other.school_trainer,
        "study_coach_b": other.study_coach,
        "privacy_officer": UserFactory(),
    }
    people["privacy_officer"].groups.add(privacy_officer_group())
    assert set(people) == set(PEOPLE)
    world = World(people, case_a, case_b, case_c, problem, change, change_c)
    world.objects = {
        "conversation_pk": {
            "P": (problem.pk, "A"),
            "C": (change.pk, "A"),
            "P2": (problem_c.pk, "C"),
            "C2": (change_c.pk, "C"),
        },
        "invitation_pk": {
            "P": (problem.invitations.get(person=old.student).pk, "A"),
            "C": (change.invitations.get(person=old.student).pk, "A"),
            "P2": (problem_c.invitations.get(person=new.student).pk, "C"),
            "C2": (change_c.invitations.get(person=new.student).pk, "C"),
        },
        "action_pk": {
            "P": (case_a.actions.get().pk, "A"),
            "P2": (case_c.actions.get().pk, "C"),
        },
        "handover_pk": {"C": (case_a.handovers.get().pk, "A")},
        "attachment_pk": _attachments(world, old, new, problem_c),
    }
    # Another student at the new school, placed with the mentor still to be assigned.
    world.objects["placement_pk"] = PlacementFactory(
        school=new.school, school_trainer=new.school_trainer, mentor=None
    )
    return world


def _attachments(world: World, old, new, problem_c) -> dict:
    """The files of the world, each with its marker in its content and name."""
    office = world.people["office"]

    def add(case, by, kind, marker, conversation=None):
        return attachment_services.attachment_add(
            case_id=case.pk,
            by=by,
            kind=kind,
            upload=SimpleUploadedFile(f"{marker}.pdf", attachment_files.pdf(marker)),
            conversation_id=conversation.pk if conversation else None,
        ).pk

    return {
        "N": (add(world.case_a, office, "improvement_plan", MARK_FILE, world.problem), "A"),
        "M": (add(world.case_a, old.student, "medical", MARK_MEDICAL), "A"),
        "C": (add(world.case_a, office, "agreement", MARK_CHANGE_FILE, world.change), "A"),
        "N2": (add(world.case_c, new.mentor, "pop", "pop-van-case-c", problem_c), "C"),
        "M2": (add(world.case_c, new.student, "medical", MARK_MEDICAL_C), "C"),
        "B": (add(world.case_b, world.case_b.placement.student, "other", "brief-b"), "B"),
    }


ANSWERS = ("problem", "what_was_done", "when_it_goes_well", "student_needs", "school_offers")


# --------------------------------------------------------------------------------------------
# Walking the URL patterns
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pattern:
    name: str  # namespaced
    kwargs: tuple[str, ...]


def all_patterns() -> list[Pattern]:
    found: list[Pattern] = []

    def walk(patterns, namespace: str) -> None:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                if entry.namespace in SKIPPED_NAMESPACES:
                    continue
                inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
                walk(entry.url_patterns, inner)
            elif isinstance(entry, URLPattern):
                assert entry.name, f"every page has a name (for the matrix): {entry.pattern}"
                kwargs = tuple(sorted(entry.pattern.regex.groupindex))
                found.append(Pattern(f"{namespace}{entry.name}", kwargs))

    walk(get_resolver().url_patterns, "")
    return found


CASE_KWARGS = {"pk"}
OBJECT_KWARGS = {"conversation_pk", "invitation_pk", "action_pk", "handover_pk", "attachment_pk"}


def classify(pattern: Pattern) -> str:
    kwargs = set(pattern.kwargs)
    if pattern.name == "notifications:mark_read":
        return "notification"
    if kwargs == CASE_KWARGS:
        return "case"
    if len(kwargs) == 1 and kwargs <= OBJECT_KWARGS:
        return "object"
    if kwargs <= {"fmt"}:
        return "global"
    if kwargs == {"student_pk"}:
        return "student"
    if kwargs == {"placement_pk"}:
        return "placement"
    raise AssertionError(f"{pattern.name}: no row in the access matrix for kwargs {kwargs}")


def urls_of(pattern: Pattern, world: World) -> list[tuple[str, str, str]]:
    """(url, variant, case) for the pattern: each conversation, each case, each format."""
    kind = classify(pattern)
    if kind == "case":
        return [
            (reverse(pattern.name, kwargs={"pk": world.case_a.pk}), "", "A"),
            (reverse(pattern.name, kwargs={"pk": world.case_b.pk}), "", "B"),
            (reverse(pattern.name, kwargs={"pk": world.case_c.pk}), "", "C"),
        ]
    if kind == "object":
        (kwarg,) = pattern.kwargs
        return [
            (reverse(pattern.name, kwargs={kwarg: pk}), variant, which)
            for variant, (pk, which) in world.objects[kwarg].items()
        ]
    if kind == "student":
        student = world.people["student"]
        return [(reverse(pattern.name, kwargs={"student_pk": student.pk}), "", "")]
    if kind == "placement":
        placement = world.objects["placement_pk"]
        return [(reverse(pattern.name, kwargs={"placement_pk": placement.pk}), "", "")]
    if kind == "notification":
        mine = Notification.objects.filter(recipient=world.people["student"]).first()
        return [(reverse(pattern.name, kwargs={"pk": mine.pk}), "", "student")]
    if pattern.kwargs:
        return [
            (reverse(pattern.name, kwargs={"fmt": fmt}), fmt, "") for fmt in FORMATS[pattern.name]
        ]
    return [(reverse(pattern.name), "", "")]


def allowed_kinds(pattern: Pattern, variant: str) -> set[str]:
    kind = classify(pattern)
    if kind == "case":
        return CASE_PAGES[pattern.name]
    if kind == "object":
        return OBJECT_PAGES.get((pattern.name, variant)) or OBJECT_PAGES[(pattern.name, variant[0])]
    raise AssertionError(pattern)


def global_kind(user) -> str:
    if user.is_office:
        return "office"
    if user.is_isop_owner:
        return "isop"
    return "privacy" if is_privacy_officer(user) else "user"


def body(response) -> str:
    if getattr(response, "streaming", False):
        raw = b"".join(response.streaming_content)
    else:
        raw = response.content
    if response.get("Content-Type", "").startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml"
    ):
        book = openpyxl.load_workbook(io.BytesIO(raw), read_only=True)
        return "\n".join(
            " ".join(str(c) for c in row if c is not None)
            for sheet in book.worksheets
            for row in sheet.iter_rows(values_only=True)
        )
    return raw.decode("utf-8", errors="replace")


def outcome_of(response) -> str:
    """ok / 403 / 404 / login / 405 / other-<code>."""
    code = response.status_code
    if code in (200, 409):
        return "ok"
    if code == 302:
        location = response["Location"]
        return "login" if location.startswith(reverse("login")) else "ok"
    if code in (403, 404, 405):
        return str(code)
    return f"other-{code}"


def snapshot() -> dict:
    """Row counts of every model of the project, and each case's version and state."""
    counts = {}
    apps_with_rows = (
        "cases",
        "conversations",
        "transfers",
        "notifications",
        "deadlines",
        "privacy",
        "attachments",
        "auth",
    )
    for app in apps_with_rows:
        for model in apps.get_app_config(app).get_models():
            if model._meta.label == "privacy.AccessLog":
                continue  # viewing a case is meant to write the access log
            counts[model._meta.label] = model._default_manager.count()
    counts["cases"] = sorted(Case.objects.values_list("pk", "version", "state"))
    counts["read"] = sorted(
        Notification.objects.filter(read_at__isnull=False).values_list("pk", flat=True)
    )
    return counts


# --------------------------------------------------------------------------------------------
# The tests
# --------------------------------------------------------------------------------------------


@pytest.fixture
def world() -> World:
    return build_world()


def test_the_fixture_has_every_record_and_the_expected_relations(world):
    a, b, c = world.case_a, world.case_b, world.case_c
    assert a.state == "handover" and b.state == "signalled" and c.state == "outcome_pending"
    for name in ("conversations", "actions", "change_requests", "outcome_reports"):
        assert getattr(a, name).exists(), name
    assert a.isop_requests.exists() and a.wrap_ups.exists() and a.handovers.exists()
    assert a.office_decisions.exists()
    # A is about the old placement; C is on the new one, where the student now is.
    assert c.placement == a.new_placement != a.placement
    cases = ((a, KIND_ON_A), (b, KIND_ON_B), (c, KIND_ON_C))
    for person, user in world.people.items():
        related = set(Case.objects.related_to(user).filter(pk__in=[a.pk, b.pk, c.pk]))
        expected = {case for case, kinds in cases if person in kinds}
        assert related == expected, person
        for case, _kinds in cases:
            assert user.has_perm("cases.view_case", case) == (case in expected), (person, case)


def test_the_new_schools_staff_get_404_on_the_old_case_and_see_only_the_arrival(world):
    """Issue #12: after a transfer the new school's mentor, school trainer and coordinating
    trainer do not see the old school's conversations, actions, positions or change path."""
    a = world.case_a
    urls = [
        reverse("portal:case", args=[a.pk]),
        reverse("conversations:calendar", args=[world.problem.pk]),
        reverse("conversations:calendar", args=[world.change.pk]),
        reverse("conversations:note", args=[world.problem.pk]),
        reverse("conversations:evaluate_action", args=[a.actions.get().pk]),
        reverse("transfers:outcome", args=[a.pk]),
        reverse("transfers:advice", args=[a.pk]),
        reverse("transfers:decide", args=[a.pk]),
        reverse("transfers:inform", args=[a.pk]),
        reverse("transfers:handover_received", args=[a.handovers.get().pk]),
    ]
    for person in NEW_SCHOOL:
        client = Client()
        client.force_login(world.people[person])
        for url in urls:
            response = client.get(url)
            assert response.status_code == 404, (person, url)
            for marker in (MARK_DESCRIPTION, *CHANGE_PATH_MARKERS, MARK_NOTE_DRAFT):
                assert marker not in body(response), (person, url, marker)
        home = body(client.get(reverse("portal:home")))
        assert MARK_SHARED in home, person
        assert a.number not in home
        for marker in (MARK_DESCRIPTION, *CHANGE_PATH_MARKERS, MARK_NOTE_DRAFT):
            assert marker not in home


def test_every_url_for_every_person(world):
    """GET (and POST for POST-only pages, refusals only) of every URL as every person."""
    patterns = [p for p in all_patterns() if p.name not in PUBLIC]
    mail.outbox.clear()
    before = snapshot()
    failures: list[str] = []
    checks: Counter = Counter()

    # Any link to an all-party conversation (of A, of C) or its invitations.
    def links_to(change) -> re.Pattern:
        invitations = "|".join(str(pk) for pk in change.invitations.values_list("pk", flat=True))
        return re.compile(rf"/conversations/{change.pk}/|/invitations/({invitations})/")

    change_links = {"A": links_to(world.change), "C": links_to(world.change_c)}
    seen_patterns = set()
    for person, user in world.people.items():
        client = Client()
        client.force_login(user)
        hidden = markers_hidden_from(person)
        for pattern in patterns:
            seen_patterns.add(pattern.name)
            kind = classify(pattern)
            if kind == "global" and pattern.name in POST_ONLY:
                continue  # anonymous and CSRF checks only
            for url, variant, which in urls_of(pattern, world):
                if kind == "global":
                    expected = "ok" if global_kind(user) in GLOBAL_PAGES[pattern.name] else "403"
                elif kind == "student":
                    expected = "ok" if global_kind(user) in STUDENT_PAGES[pattern.name] else "403"
                elif kind == "notification":
                    expected = "ok" if person == "student" else "404"
                elif kind == "placement":
                    # A placement whose mentor is to be assigned: its school trainer (the new
                    # school's) and the office fill it in; nobody else learns it exists.
                    expected = "ok" if person in PLACEMENT_PAGE else "404"
                else:
                    on = {"A": KIND_ON_A, "B": KIND_ON_B, "C": KIND_ON_C}[which]
                    role = on.get(person)
                    if role is None:
                        expected = "404"
                    elif which != "A" and pattern.name == "transfers:handover":
                        # The previous study coach exists only during a handover: outside
                        # one, "not now" (a redirect back to the case) for whoever sees it.
                        expected = "ok"
                    elif pattern.name == "cases:withdraw" and (which, role) in WITHDRAW_SIGNALLER:
                        expected = "ok"
                    else:
                        expected = "ok" if role in allowed_kinds(pattern, variant) else "403"
                if pattern.name in POST_ONLY:
                    if expected == "ok":
                        continue  # an allowed POST changes data: its own tests cover it
                    response = client.post(url)
                    checks["post"] += 1
                else:
                    response = client.get(url)
                    checks["get"] += 1
                got = outcome_of(response)
                if got != expected:
                    where = f"{pattern.name} {variant}".strip()
                    failures.append(f"{person} {url} ({where}): {got} ≠ {expected}")
                text = body(response)
                # The access log lists the paths people visited (records, not links).
                for letter, on in (("A", KIND_ON_A), ("C", KIND_ON_C)):
                    if on.get(person) in SEES_CHANGE_PATH or pattern.name in LOGS:
                        continue
                    checks["link"] += 1
                    # (A page names its own path, e.g. in the language switcher.)
                    own = text.replace(f'"{url}', '"').replace(f"={url}", "=")
                    if change_links[letter].search(own):
                        failures.append(
                            f"LINK to the all-party conversation of {letter} for {person} at {url}"
                        )
                if pattern.name in EXPORTS_FOR_THE_STUDENT and expected == "ok":
                    checks["export"] += 1
                    continue
                for marker in hidden:
                    checks["marker"] += 1
                    if marker in text:
                        failures.append(f"LEAK {marker} to {person} at {url}")
    # No GET changed anything (the refused POSTs neither).
    assert snapshot() == before
    assert not failures, "\n".join(failures)
    total = sum(checks.values())
    print(
        f"\naccess matrix: {len(seen_patterns)} URL patterns × {len(world.people)} people: "
        f"{checks['get']} GETs, {checks['post']} refused POSTs, {checks['marker']} marker checks, "
        f"{checks['link']} link checks, "
        f"{total} checks in all"
    )
    assert len(seen_patterns) >= MIN_PATTERNS
    assert total >= MIN_CHECKS


def test_anonymous_users_are_sent_to_login_everywhere(world):
    client = Client()
    checked = 0
    for pattern in all_patterns():
        if pattern.name in PUBLIC:
            continue
        for url, _variant, _which in urls_of(pattern, world):
            for method in (client.get, client.post):
                response = method(url)
                assert response.status_code == 302, (url, method)
                assert response["Location"].startswith(reverse("login") + "?next="), url
                checked += 1
    print(f"\nanonymous: {checked} requests sent to the login page")
    assert checked >= 2 * MIN_PATTERNS


def test_no_post_without_a_csrf_token(world):
    before = snapshot()
    checked = 0
    for who in (None, "office", "student", "school_trainer"):
        client = Client(enforce_csrf_checks=True)
        if who:
            client.force_login(world.people[who])
        for pattern in all_patterns():
            for url, _variant, _which in urls_of(pattern, world):
                response = client.post(url, {"seen_version": world.case_a.version})
                assert response.status_code == 403, (who, url, response.status_code)
                checked += 1
    assert snapshot() == before
    print(f"\nCSRF: {checked} POSTs without a token refused")
    assert checked >= 4 * MIN_PATTERNS


NUMBER = re.compile(r"SB-\d{5}")


def test_lists_counts_and_exports_hold_exactly_the_cases_the_person_sees(world):
    a, b = world.case_a.number, world.case_b.number
    checked = 0
    for person, user in world.people.items():
        client = Client()
        client.force_login(user)
        visible = {
            case.number
            for case, kinds in (
                (world.case_a, KIND_ON_A),
                (world.case_b, KIND_ON_B),
                (world.case_c, KIND_ON_C),
            )
            if person in kinds
        }
        # "My cases" (open and all) and its count: exactly the visible ones.
        for query in ("", "?show=all"):
            response = client.get(reverse("cases:my_cases") + query)
            assert set(NUMBER.findall(response.content.decode())) == visible, (person, query)
            assert response.context["page"].paginator.count == len(visible), person
            checked += 2
        # Home, inbox and the ISOP queue: never a case the person does not see.
        for name in ("portal:home", "notifications:inbox", "office:isop_queue"):
            response = client.get(reverse(name))
            found = set(NUMBER.findall(body(response)))
            assert found <= visible, (person, name, found - visible)
            checked += 1
        if person == "office":
            for fmt in ("csv", "xlsx"):
                response = client.get(reverse("office:office_export", kwargs={"fmt": fmt}))
                assert {a, b} <= set(NUMBER.findall(body(response))), fmt
                checked += 1
            response = client.get(reverse("office:office_list"), {"q": ""})
            assert {a, b} <= set(NUMBER.findall(body(response)))
            checked += 1
    print(f"\nlists: {checked} list, count and export checks")


def test_no_e_mail_carries_a_marker_or_tells_anyone_of_a_confidential_signal(world):
    mail.outbox.clear()
    for pk in Notification.objects.order_by("pk").values_list("pk", flat=True):
        deliver(pk)
    assert len(mail.outbox) >= 20
    email_to_person = {u.email: p for p, u in world.people.items()}
    for message in mail.outbox:
        parts = [message.subject, message.body]
        parts += [content for content, _mime in getattr(message, "alternatives", [])]
        parts += [str(a[1]) for a in message.attachments]
        text = "\n".join(parts)
        for marker in ALL_MARKERS:
            assert marker not in text, (message.to, marker)
        (to,) = message.to
        person = email_to_person.get(to)
        if person is not None and person not in KIND_ON_B:
            assert world.case_b.number not in text, (person, message.subject)
        if person in NEW_SCHOOL:
            # The old school's case is not the new school's: not even its number.
            assert world.case_a.number not in text, (person, message.subject)
    told_of_b = set(
        Notification.objects.filter(case=world.case_b).values_list("recipient_id", flat=True)
    )
    assert told_of_b <= {world.people["student_b"].pk, world.people["office"].pk}
    assert world.people["office"].pk in told_of_b
