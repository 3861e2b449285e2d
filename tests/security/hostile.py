"""Hostile data already in the database, as an import, the shell or an identity provider could
leave it (the forms refuse most of it): names, student numbers, schools and boards that a
spreadsheet would run as formulas, markup, and line breaks in names and e-mail addresses.

`hostile_world()` builds cases on such people through the real services (signalled, a
conversation planned, rescheduled and held with an action, the student's note submitted, one
case closed), so every page, e-mail, calendar file and export has hostile data to show.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from attachments import services as attachment_services
from cases import services as case_services
from cases.models import Case, Category, User
from conversations import services as conversation_services
from conversations.models import Conversation
from privacy.services import privacy_officer_group
from tests.cases.factories import (
    BoardFactory,
    PlacementFactory,
    TrainingSchoolFactory,
    UserFactory,
)

HYPERLINK = '=HYPERLINK("http://x.example/","klik")'
# Every formula trigger of OWASP's CSV-injection guidance, and the variants cases.exports adds.
FORMULAS = [
    HYPERLINK,
    "+1+1",
    "-1+1",
    "@SUM(A1)",
    "\t=1+1",
    "\r=2+2",
    "\n=3+3",
    "\uff1d4+4",
    " =5+5",
]
SCRIPT = "<script>alert(1)</script>"
ATTACHMENT_PDF = b"%PDF-1.4\n% a hostile name, a harmless file\n%%EOF\n"
IMG = '"><img src=x onerror=alert(1)>'
MARKUP = [SCRIPT, IMG, '<a href="javascript:alert(1)">klik</a>']
CRLF_NAME = "Jan\r\nATTENDEE:mailto:evil@x.example"
CONTROLS = "\x1b[31mrood\x07\x0b"  # storable (no NUL), but no worksheet may hold it
CRLF_EMAIL = "hostile-{}@example.org\r\nBcc: evil@x.example"
LOCATION = f"{HYPERLINK}\r\n# Kop\r\n[klik](javascript:alert(1)) {SCRIPT}"
NOTE = f"Mijn verslag {SCRIPT} {IMG}"


@dataclass
class HostileWorld:
    cases: list[Case]
    closed: Case
    conversation: Conversation
    office: User
    people: dict[str, User] = field(default_factory=dict)
    objects: dict = field(default_factory=dict)

    @property
    def case(self) -> Case:
        return self.cases[0]


def _person(index: int, role: str, **values) -> User:
    return UserFactory(username=f"hostile-{role}-{index}", **values)


def hostile_world() -> HostileWorld:
    cases = []
    for index, formula in enumerate(FORMULAS):
        markup = MARKUP[index % len(MARKUP)]
        board = BoardFactory(name=f"{formula} bestuur {index}")
        school = TrainingSchoolFactory(name=f"{formula} {markup}", board=board, city=formula)
        placement = PlacementFactory(
            school=school,
            student=_person(
                index, "student", first_name=formula, last_name=markup, student_number=formula[:20]
            ),
            mentor=_person(
                index,
                "mentor",
                first_name=CRLF_NAME if index == 0 else formula,
                last_name=markup,
                email=CRLF_EMAIL.format(index) if index == 0 else f"mentor{index}@example.org",
            ),
            school_trainer=_person(index, "trainer", first_name=formula, last_name=CRLF_NAME),
            study_coach=_person(
                index, "coach", first_name=f"{markup}{CONTROLS}", last_name=formula
            ),
        )
        cases.append(
            case_services.case_signal(
                placement=placement,
                by=placement.mentor,
                categories=[Category.WELLBEING],
                description=f"{formula} {markup}",
            )
        )
    case = cases[0]
    trainer = case.placement.school_trainer
    student = case.placement.student
    conversation = conversation_services.plan_conversation(
        case_id=case.pk, by=trainer, starts_at=timezone.now(), location=LOCATION
    )
    # Rescheduled to when it actually took place: a conversation is recorded once held.
    conversation_services.conversation_reschedule(
        conversation_id=conversation.pk,
        by=trainer,
        starts_at=timezone.now() - dt.timedelta(hours=2),
        location=LOCATION,
    )
    conversation_services.record_conversation(
        case_id=case.pk,
        by=trainer,
        attendance={i.person_id: True for i in conversation.invitations.all()},
        summary=f"{HYPERLINK} {SCRIPT}",
        actions=[
            conversation_services.ActionInput(
                f"{HYPERLINK} {IMG}", student.pk, timezone.localdate() + dt.timedelta(days=7)
            )
        ],
    )
    conversation_services.note_save(
        conversation_id=conversation.pk, by=student, text=NOTE, submit=True
    )
    closed = cases[1]
    case_services.withdraw(case_id=closed.pk, by=closed.placement.mentor, reason=HYPERLINK)
    office = UserFactory(
        username="hostile-office", office=True, first_name=HYPERLINK, last_name=SCRIPT
    )
    office.groups.add(privacy_officer_group())
    # A file whose name is a formula, markup and a path: stored under a random name, offered
    # for download under a cleaned one.
    attachment = attachment_services.attachment_add(
        case_id=case.pk,
        by=student,
        kind="improvement_plan",
        upload=SimpleUploadedFile(f"../{HYPERLINK}{SCRIPT}.pdf", ATTACHMENT_PDF),
        conversation_id=conversation.pk,
    )
    for item in cases:
        item.refresh_from_db()
    conversation.refresh_from_db()
    return HostileWorld(
        cases=cases,
        closed=closed,
        conversation=conversation,
        office=office,
        people={
            "student": student,
            "mentor": case.placement.mentor,
            "school_trainer": trainer,
            "study_coach": case.placement.study_coach,
        },
        objects={
            "invitation": conversation.invitations.get(person=case.placement.mentor),
            "action": case.actions.get(),
            "attachment": attachment,
        },
    )


def url_kwargs(world: HostileWorld) -> dict:
    """An object of the world for every URL parameter of the project."""
    return {
        "pk": world.case.pk,
        "conversation_pk": world.conversation.pk,
        "invitation_pk": world.objects["invitation"].pk,
        "action_pk": world.objects["action"].pk,
        "student_pk": world.people["student"].pk,
        "handover_pk": 999_999,  # none in this world (a 404)
        "attachment_pk": world.objects["attachment"].pk,
    }


def all_patterns() -> list[tuple[str, URLPattern]]:
    """Every named URL pattern of the project (Django's admin left out), with its namespace."""
    found = []

    def walk(patterns, namespace: str) -> None:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                if entry.namespace == "admin":  # Django's own forms, staff only
                    continue
                inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
                walk(entry.url_patterns, inner)
            elif isinstance(entry, URLPattern):
                found.append((f"{namespace}{entry.name}", entry))

    walk(get_resolver().url_patterns, "")
    return found
