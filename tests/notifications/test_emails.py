"""The e-mails: wording per event in the recipient's language (plain text and HTML), the
calendar invitation attached to conversation e-mails, and nothing sensitive in any of them."""

from __future__ import annotations

import datetime as dt

import icalendar
import pytest
from django.core import mail
from django.utils import timezone, translation
from django.utils.html import escape

from cases import services as case_services
from cases.models import AdviceDecision, Outcome, State
from conversations import services as conversations
from conversations.models import Conversation
from deadlines import rules
from deadlines.scan import scan
from notifications import services
from notifications.emails import HEADER_ID, render_email
from notifications.models import Notification
from tests.cases.factories import CaseFactory, TrainingSchoolFactory, UserFactory
from tests.journeys import arrange, make_crew
from tests.notifications.factories import NotificationFactory
from transfers import services as transfers

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


@pytest.fixture
def no_queue(monkeypatch):
    monkeypatch.setattr(services, "queue_delivery", lambda ids: None)


def deliver_all(**filters) -> list:
    """Deliver every pending row (what the worker does) and return the e-mails sent."""
    before = len(mail.outbox)
    for pk in Notification.objects.filter(status="pending", **filters).values_list("pk", flat=True):
        services.deliver(pk)
    return mail.outbox[before:]


def mail_to(messages, person):
    found = [m for m in messages if m.to == [person.email]]
    assert len(found) == 1, f"{len(found)} e-mails to {person.email}"
    return found[0]


def html_of(message) -> str:
    (html, mimetype), *_rest = message.alternatives
    assert mimetype == "text/html"
    return html


def everything_in(message) -> str:
    parts = [message.subject, message.body, html_of(message)]
    parts += [str(content) for _name, content, _type in message.attachments]
    return "\n".join(parts)


def calendar_of(message) -> tuple[icalendar.Calendar, str]:
    (name, content, mimetype), *_rest = message.attachments
    assert name.endswith(".ics")
    return icalendar.Calendar.from_ical(content), mimetype


# --- the generic e-mail ------------------------------------------------------------------------


def test_every_e_mail_has_text_html_a_link_and_its_outbox_id(mailoutbox):
    row = NotificationFactory(event="resolve", recipient=UserFactory(language="en"))
    services.deliver(row.pk)
    (message,) = mailoutbox
    link = f"/cases/{row.case.pk}/"
    assert link in message.body
    assert 'href="http://' in html_of(message) and link in html_of(message)
    assert message.extra_headers[HEADER_ID] == str(row.pk)
    assert message.subject == f"[Stagebureau] Closed as resolved — case {row.case.number}"


def greeting_of(message) -> tuple[str, str]:
    """The first line of the text body and the first paragraph of the HTML."""
    first_paragraph = html_of(message).split("<p>", 1)[1].split("</p>", 1)[0]
    return message.body.lstrip().splitlines()[0], first_paragraph


def test_the_wording_follows_the_recipient_language_not_the_active_one():
    recipient = UserFactory(language="en")
    row = NotificationFactory(event="resolve", recipient=recipient)
    with translation.override("nl"):
        message = render_email(row)
    assert "There is a new step in case" in message.body
    assert greeting_of(message) == (
        f"Dear {recipient.first_name},",
        f"Dear {escape(recipient.first_name)},",
    )
    assert "Beste " not in message.body + html_of(message)


# --- handover ----------------------------------------------------------------------------------


def test_handover_started_tells_student_old_and_new_coach_each_what_to_do(crew, no_queue):
    case = arrange("place_student", crew)
    new_coach = UserFactory(first_name="Noor", last_name="Nieuw", language="en")
    old_coach = crew.study_coach
    old_coach.language = "en"
    old_coach.save()
    crew.student.language = "en"
    crew.student.save()
    transfers.place_student(
        case_id=case.pk,
        by=crew.office,
        school=TrainingSchoolFactory(),
        mentor=UserFactory(),
        school_trainer=UserFactory(),
        study_coach=new_coach,
        start_date=TODAY + dt.timedelta(days=7),  # after the agreed last day (in five days)
    )
    case.refresh_from_db()
    assert case.state == State.HANDOVER
    sent = deliver_all(event="handover_started")
    assert len(sent) == 3
    handover_page = f"/cases/{case.pk}/change/handover/"

    to_old = mail_to(sent, old_coach)
    assert "has a new study coach: Noor Nieuw" in to_old.body
    assert "record it on the handover page" in to_old.body
    assert handover_page in to_old.body and handover_page in html_of(to_old)

    to_new = mail_to(sent, new_coach)
    assert f"You are the new study coach of {crew.student}" in to_new.body
    assert str(old_coach) in to_new.body
    assert f"/cases/{case.pk}/#change-heading" in to_new.body

    to_student = mail_to(sent, crew.student)
    assert "You have a new study coach: Noor Nieuw" in to_student.body
    assert f"/cases/{case.pk}/#change-heading" in to_student.body
    for message in sent:
        assert message.subject.startswith("[Stagebureau] Warm handover to a new study coach")


def test_the_old_coach_reminder_links_to_the_handover_page(crew, no_queue):
    case = arrange("place_student", crew)
    transfers.place_student(
        case_id=case.pk,
        by=crew.office,
        school=TrainingSchoolFactory(),
        mentor=UserFactory(),
        school_trainer=UserFactory(),
        study_coach=UserFactory(),
        start_date=TODAY + dt.timedelta(days=7),  # after the agreed last day (in five days)
    )
    crew.study_coach.language = "en"
    crew.study_coach.save()
    type(case).objects.filter(pk=case.pk).update(
        state_changed_at=timezone.now() - dt.timedelta(days=30)
    )
    scan()
    sent = deliver_all(event="deadline:handover:remind")
    message = mail_to(sent, crew.study_coach)
    assert message.subject.startswith("[Stagebureau] Overdue: Old study coach contacted")
    assert "You are responsible for this step." in message.body
    assert f"/cases/{case.pk}/change/handover/" in message.body


# --- deadline reminders ------------------------------------------------------------------------


@pytest.fixture
def overdue_signal():
    """A case signalled long ago: due-soon, reminders and the escalation are all past."""
    office = UserFactory(office=True, language="en")
    case = CaseFactory(state_changed_at=timezone.now() - dt.timedelta(days=40))
    for person in (case.placement.school_trainer, case.placement.study_coach):
        person.language = "en"
        person.save()
    return case, office


def test_a_reminder_says_which_step_and_that_you_are_responsible(overdue_signal, no_queue):
    case, _office = overdue_signal
    scan()
    sent = deliver_all(event="deadline:first_conversation:remind")
    assert len(sent) == 2
    message = mail_to(sent, case.placement.school_trainer)
    assert message.subject == (
        f"[Stagebureau] Overdue: First conversation planned — case {case.number}"
    )
    assert f"A step in case {case.number} is overdue: First conversation planned." in message.body
    assert "You are responsible for this step." in message.body
    assert "You are responsible for this step." in html_of(message)


def test_an_escalation_names_who_is_responsible(overdue_signal, no_queue):
    case, office = overdue_signal
    scan()
    message = mail_to(deliver_all(event="deadline:first_conversation:escalate"), office)
    assert "escalated to the internship office" in message.body
    assert "Responsible:" in message.body
    assert str(case.placement.school_trainer) in message.body
    assert str(case.placement.study_coach) in message.body


def test_due_soon_says_due_soon(no_queue):
    case = CaseFactory()
    trainer = case.placement.school_trainer
    trainer.language = "en"
    trainer.save()
    row = NotificationFactory(
        case=case,
        recipient=trainer,
        event=rules.event_name("first_conversation", rules.DUE_SOON),
        context={"responsible": [trainer.pk]},
    )
    message = render_email(row)
    assert message.subject.startswith("[Stagebureau] Due soon: First conversation planned")
    assert "is due soon" in message.body
    assert "You are responsible for this step." in message.body


def test_a_step_of_the_office_itself_says_so(no_queue):
    office = UserFactory(office=True, language="en")
    row = NotificationFactory(
        recipient=office,
        event=rules.event_name("change_conversation_planned", rules.ESCALATE),
        context={"responsible": []},
    )
    assert "Responsible: the internship office." in render_email(row).body


def test_reminders_are_in_dutch_for_a_dutch_recipient(overdue_signal, no_queue):
    case, _office = overdue_signal
    trainer = case.placement.school_trainer
    trainer.language = "nl"
    trainer.save()
    scan()
    message = mail_to(deliver_all(event="deadline:first_conversation:remind"), trainer)
    with translation.override("nl"):
        label = str(rules.RULES["first_conversation"].label)
    assert label in message.subject
    assert greeting_of(message) == (
        f"Beste {trainer.first_name},",
        f"Beste {escape(trainer.first_name)},",
    )
    assert "Dear " not in message.body + html_of(message)


# --- conversation invitations with the calendar file -------------------------------------------


def plan(crew, *, starts_at):
    case = arrange("plan_conversation", crew)
    conversation = conversations.plan_conversation(
        case_id=case.pk, by=crew.school_trainer, starts_at=starts_at, location="Lokaal 1.01"
    )
    return case, conversation


def event_of(calendar) -> icalendar.Event:
    (event,) = calendar.walk("VEVENT")
    return event


def test_the_invitation_e_mail_carries_the_calendar_invitation(crew, no_queue):
    starts_at = timezone.now().replace(microsecond=0) + dt.timedelta(days=3)
    crew.student.language = "en"
    crew.student.save()
    case, conversation = plan(crew, starts_at=starts_at)
    sent = deliver_all(case=case)
    invited = {i.person.email for i in conversation.invitations.all()}
    invitees = invited - {crew.school_trainer.email}
    assert {m.to[0] for m in sent} == invitees
    message = mail_to(sent, crew.student)
    assert "You are invited to a conversation about case" in message.body
    assert "The calendar invitation is attached." in message.body
    calendar, mimetype = calendar_of(message)
    assert mimetype.startswith("text/calendar")
    assert "method=REQUEST" in mimetype
    assert str(calendar["method"]) == "REQUEST"
    event = event_of(calendar)
    assert str(event["uid"]) == f"{conversation.ical_uid}@stagebureau"
    assert int(event["sequence"]) == 0
    assert event.decoded("dtstart") == starts_at
    # The raw MIME part is text/calendar with the method, so calendar clients act on it.
    raw = message.message().as_string()
    assert 'text/calendar; method="REQUEST"' in raw or "text/calendar; method=REQUEST" in raw


def test_reschedule_updates_and_cancel_cancels_the_same_event(crew, no_queue):
    starts_at = timezone.now().replace(microsecond=0) + dt.timedelta(days=3)
    crew.student.language = "en"
    crew.student.save()
    case, conversation = plan(crew, starts_at=starts_at)
    first = mail_to(deliver_all(case=case), crew.student)
    uid = str(event_of(calendar_of(first)[0])["uid"])

    later = starts_at + dt.timedelta(days=1)
    conversations.conversation_reschedule(
        conversation_id=conversation.pk, by=crew.school_trainer, starts_at=later, location="B.2"
    )
    moved = mail_to(deliver_all(case=case), crew.student)
    assert "is moved to" in moved.body
    calendar, mimetype = calendar_of(moved)
    event = event_of(calendar)
    assert str(calendar["method"]) == "REQUEST"
    assert str(event["uid"]) == uid
    assert int(event["sequence"]) == 1
    assert event.decoded("dtstart") == later

    conversations.conversation_cancel(
        conversation_id=conversation.pk, by=crew.school_trainer, reason="Ziek."
    )
    cancelled = mail_to(deliver_all(case=case), crew.student)
    assert "is cancelled" in cancelled.body
    calendar, mimetype = calendar_of(cancelled)
    event = event_of(calendar)
    assert "method=CANCEL" in mimetype
    assert str(calendar["method"]) == "CANCEL"
    assert str(event["uid"]) == uid
    assert int(event["sequence"]) == 2

    again = conversations.conversation_plan_again(
        case_id=case.pk, by=crew.school_trainer, starts_at=later, location="C.3"
    )
    replanned = mail_to(deliver_all(case=case), crew.student)
    event = event_of(calendar_of(replanned)[0])
    assert str(event["uid"]) == f"{again.ical_uid}@stagebureau" != uid


def test_only_invitees_get_the_calendar_file(crew, no_queue):
    """The all-party conversation notifies the coordinating trainer, who is only invited when
    asked for: without the invitation there is no calendar file."""
    case = arrange("plan_change_conversation", crew)
    conversations.plan_conversation(
        case_id=case.pk,
        by=crew.school_trainer,
        starts_at=timezone.now() + dt.timedelta(days=2),
        location="Online",
    )
    sent = deliver_all(case=case)
    coordinator = mail_to(sent, crew.placement.coordinating_trainer)
    assert coordinator.attachments == []
    assert mail_to(sent, crew.student).attachments


# --- nothing sensitive -------------------------------------------------------------------------

MARKER = "ZZSECRET-7f3a"


def test_no_e_mail_ever_contains_what_was_written_in_the_case(no_queue):
    """Plant a marker in every free text along the whole change path; deliver every
    notification; the marker is in no subject, body, HTML or attachment."""
    crew = make_crew()
    p = crew.placement
    isop = crew.isop_owner
    case = case_services.case_signal(
        placement=p, by=p.student, categories=["wellbeing"], description=f"{MARKER} description"
    )
    first = conversations.plan_conversation(
        case_id=case.pk, by=p.school_trainer, starts_at=timezone.now(), location="Lokaal 1"
    )
    conversations.record_conversation(
        case_id=case.pk,
        by=p.school_trainer,
        attendance={i.person_id: i.person_id != p.mentor_id for i in first.invitations.all()},
        summary=f"{MARKER} summary",
        actions=[conversations.ActionInput(f"{MARKER} action", p.student.pk, TODAY)],
    )
    mentor_invitation = first.invitations.get(person=p.mentor)
    conversations.briefing_record(
        invitation_id=mentor_invitation.pk, by=p.school_trainer, note=f"{MARKER} briefing"
    )
    conversations.note_save(
        conversation_id=first.pk, by=p.student, text=f"{MARKER} note", submit=True
    )
    transfers.request_change(
        case_id=case.pk, by=p.student, kind="transfer", reason=f"{MARKER} reason"
    )
    transfers.inform_office(case_id=case.pk, by=p.school_trainer, note=f"{MARKER} office note")
    change = conversations.plan_conversation(
        case_id=case.pk, by=p.school_trainer, starts_at=timezone.now(), location="Online"
    )
    conversations.record_conversation(
        case_id=case.pk,
        by=p.school_trainer,
        attendance={i.person_id: True for i in change.invitations.all()},
        summary=f"{MARKER} change summary",
        answers={
            key: f"{MARKER} {key}"
            for key in (
                "problem",
                "what_was_done",
                "when_it_goes_well",
                "student_needs",
                "school_offers",
            )
        },
    )
    positions = {i.person_id: "agree" for i in change.invitations.all()}
    positions[p.student.pk] = "disagree"
    transfers.report_outcome(
        case_id=case.pk,
        by=p.school_trainer,
        outcome=Outcome.OPINIONS_DIFFER,
        positions=positions,
        note=f"{MARKER} outcome",
    )
    transfers.give_advice(
        case_id=case.pk, by=isop, decision=AdviceDecision.STOP, rationale=f"{MARKER} advice"
    )
    transfers.decide(
        case_id=case.pk,
        by=crew.office,
        decision=AdviceDecision.TRANSFER,
        reason=f"{MARKER} decision",
    )
    transfers.wrap_up_record(
        case_id=case.pk, by=p.school_trainer, last_day=TODAY, agreement=f"{MARKER} wrap-up"
    )
    transfers.wrap_up_confirm(case_id=case.pk, by=p.student)
    transfers.place_student(
        case_id=case.pk,
        by=crew.office,
        school=TrainingSchoolFactory(),
        mentor=UserFactory(),
        school_trainer=UserFactory(),
        study_coach=UserFactory(),
        start_date=TODAY,
    )
    transfers.confirm_handover(
        case_id=case.pk,
        by=p.study_coach,
        contact_made_on=TODAY,
        what_helped=f"{MARKER} helped",
        student_needs=f"{MARKER} needs",
        open_actions=f"{MARKER} open",
    )
    case.refresh_from_db()
    assert case.state == State.CLOSED_TRANSFERRED
    # Reminders and escalations for whatever is still open, as late as can be.
    Conversation.objects.filter(case=case).update(held_at=timezone.now() - dt.timedelta(days=60))
    scan(TODAY + dt.timedelta(days=60))

    for language in ("nl", "en"):
        type(p.student).objects.update(language=language)
        Notification.objects.update(status="pending", attempts=0)
        sent = deliver_all()
        assert len(sent) >= 20
        for message in sent:
            assert MARKER not in everything_in(message), message.subject
            assert MARKER not in message.message().as_string()
