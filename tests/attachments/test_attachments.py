"""Attachments: content sniffed (not the name), size limited, need-to-know (a doctor's note only
for the student and the office), downloaded as an attachment, in the student's data export,
removed with their files by retention."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
import time_machine
from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from attachments import services, sniffing
from attachments.models import Attachment
from cases.models import Case, CaseEvent, NotPermitted
from privacy import tasks
from privacy.models import AccessLog
from privacy.selectors import student_data
from tests.cases.factories import CaseFactory, UserFactory
from tests.conversations.factories import ConversationFactory

from . import files
from .factories import AttachmentFactory

pytestmark = pytest.mark.django_db


def post(client, case, name="plan.pdf", content=None, **data):
    payload = {"kind": "improvement_plan", "conversation": "", **data}
    payload["file"] = files.upload(name, files.pdf() if content is None else content)
    return client.post(reverse("attachments:add", args=[case.pk]), payload)


# --- sniffing ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("plan.pdf", files.pdf(), "application/pdf"),
        ("pop.docx", files.docx(), sniffing.DOCX.content_type),
        ("afspraken.odt", files.odt(), sniffing.ODT.content_type),
        ("foto.png", files.png(), "image/png"),
        ("foto.JPG", files.jpeg(), "image/jpeg"),
        ("foto.jpeg", files.jpeg(), "image/jpeg"),
        ("foto.gif", files.gif(), "image/gif"),
        ("foto.webp", files.webp(), "image/webp"),
    ],
)
def test_it_accepts_the_allowed_kinds_by_their_content(name, content, content_type):
    assert services.check_upload(files.upload(name, content)).content_type == content_type


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("plan.pdf", files.HTML, "kind"),  # a .pdf that is really HTML
        ("plan.pdf", files.EXE, "kind"),  # ... or a Windows program
        ("plan.pdf", files.SVG, "kind"),
        ("plan.docx", files.plain_zip(), "kind"),  # a ZIP that is no Word document
        ("plan.docx", b"PK\x03\x04broken", "kind"),
        ("plan.pdf", files.png(), "extension"),  # a real PNG named .pdf
        ("plan.exe", files.pdf(), "extension"),  # a real PDF named .exe
        ("plan", files.pdf(), "extension"),
        ("plan.pdf", b"", "empty"),
    ],
)
def test_it_refuses_what_the_content_is_not(name, content, code):
    with pytest.raises(ValidationError) as refused:
        services.check_upload(files.upload(name, content))
    assert refused.value.code == code


def test_a_file_over_the_limit_is_refused_on_the_form(client, settings):
    settings.ATTACHMENT_MAX_BYTES = 1000
    case = CaseFactory(improving=True)
    client.force_login(case.placement.mentor)
    response = post(client, case, content=files.pdf("x" * 2000))
    assert response.status_code == 200
    assert "groter dan" in response.content.decode()
    assert not Attachment.objects.exists()


def test_file_names_are_cleaned_for_the_download():
    kind = sniffing.PDF
    assert services.clean_filename("../../etc/passwd.pdf", kind) == "passwd.pdf"
    assert services.clean_filename("C:\\Users\\x\\plan.pdf", kind) == "plan.pdf"
    assert services.clean_filename("fdp\u202e.exe.pdf", kind) == "fdp.exe.pdf"
    assert services.clean_filename('a<b>"c".pdf', kind) == "a_b_c_.pdf"
    assert services.clean_filename("plan.PDF", kind) == "plan.PDF"
    assert services.clean_filename("<>.pdf", kind) == "_.pdf"
    assert services.clean_filename(" . ", kind) == "bijlage.pdf"
    long = services.clean_filename("x" * 300 + ".pdf", kind)
    assert len(long) == 150 and long.endswith(".pdf")


# --- adding --------------------------------------------------------------------------------


def test_the_mentor_adds_an_improvement_plan_stored_under_a_random_name(client):
    case = CaseFactory(improving=True)
    client.force_login(case.placement.mentor)
    assert (
        reverse("attachments:add", args=[case.pk])
        in client.get(case.get_absolute_url()).content.decode()
    )
    response = post(client, case, name="Verbeterplan Jan.pdf")
    assert response.status_code == 302
    attachment = Attachment.objects.get()
    assert attachment.original_name == "Verbeterplan Jan.pdf"
    assert attachment.content_type == "application/pdf"
    assert "Jan" not in attachment.file.name and attachment.file.name.endswith(".pdf")
    assert len(attachment.file.name) == 36
    assert attachment.file.storage.exists(attachment.file.name)
    event = CaseEvent.objects.get(case=case, name="attachment_added")
    assert event.note == "Verbeterplan Jan.pdf"
    for person in (case.placement.student, case.placement.school_trainer):
        client.force_login(person)
        assert "Verbeterplan Jan.pdf" in client.get(case.get_absolute_url()).content.decode()


def test_only_the_student_and_the_office_add_a_doctors_note(client):
    case = CaseFactory(improving=True)
    for person in (case.placement.mentor, case.placement.study_coach):
        client.force_login(person)
        response = post(client, case, kind="medical")
        assert response.status_code == 200  # not a choice on their form
        with pytest.raises(NotPermitted):
            services.attachment_add(
                case_id=case.pk,
                by=person,
                kind="medical",
                upload=files.upload("a.pdf", files.pdf()),
            )
    assert not Attachment.objects.exists()
    client.force_login(case.placement.student)
    assert post(client, case, name="verklaring.pdf", kind="medical").status_code == 302
    assert Attachment.objects.get().is_medical


def test_outsiders_and_closed_cases_take_no_attachment(client):
    case = CaseFactory(improving=True)
    client.force_login(UserFactory())
    assert post(client, case).status_code == 404
    client.force_login(UserFactory(isop_owner=True))
    assert post(client, case).status_code == 404
    closed = CaseFactory(closed_resolved=True)
    client.force_login(closed.placement.mentor)
    assert post(client, closed).status_code == 403
    assert not Attachment.objects.exists()


def test_a_conversation_of_another_case_is_refused():
    case = CaseFactory(improving=True)
    other = ConversationFactory()
    with pytest.raises(NotPermitted):
        services.attachment_add(
            case_id=case.pk,
            by=case.placement.mentor,
            kind="other",
            upload=files.upload("a.pdf", files.pdf()),
            conversation_id=other.pk,
        )


# --- seeing and downloading ----------------------------------------------------------------


def test_a_doctors_note_is_seen_by_the_student_and_the_office_only(client):
    case = CaseFactory(improving=True)
    services.attachment_add(
        case_id=case.pk,
        by=case.placement.student,
        kind="medical",
        upload=files.upload("verklaring-huisarts.pdf", files.pdf()),
    )
    attachment = Attachment.objects.get()
    url = reverse("attachments:download", args=[attachment.pk])
    for person in (case.placement.student, UserFactory(office=True)):
        client.force_login(person)
        page = client.get(case.get_absolute_url()).content.decode()
        assert "verklaring-huisarts.pdf" in page
        assert "Medische bijlage toegevoegd" in page
        assert client.get(url).status_code == 200
    placement = case.placement
    for person in (placement.mentor, placement.school_trainer, placement.study_coach):
        client.force_login(person)
        page = client.get(case.get_absolute_url()).content.decode()
        assert "verklaring-huisarts.pdf" not in page
        assert "Medische bijlage" not in page  # not even that there is one
        assert client.get(url).status_code == 403
    client.force_login(UserFactory())
    assert client.get(url).status_code == 404


def test_the_download_is_an_attachment_with_its_sniffed_type_and_is_logged(client):
    attachment = AttachmentFactory(original_name='plan "1".pdf')
    client.force_login(attachment.case.placement.school_trainer)
    response = client.get(reverse("attachments:download", args=[attachment.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "plan" in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == files.pdf()
    log = AccessLog.objects.get(case=attachment.case, path__contains="/attachments/")
    assert log.kind == AccessLog.Kind.EXPORT


def test_anonymous_users_are_sent_to_login(client):
    attachment = AttachmentFactory()
    response = client.get(reverse("attachments:download", args=[attachment.pk]))
    assert response.status_code == 302 and "/login/" in response["Location"]


# --- the student's data, retention ---------------------------------------------------------


def test_the_students_data_export_holds_every_attachment_with_its_file(client):
    plan = AttachmentFactory()
    note = AttachmentFactory(case=plan.case, medical=True)
    student = plan.case.placement.student
    exported = student_data(student, file_contents=True)["cases"][0]["attachments"]
    assert [a["file_name"] for a in exported] == [plan.original_name, note.original_name]
    assert base64.b64decode(exported[1]["content_base64"]) == files.pdf()
    assert exported[1]["kind"] == "medical" and exported[1]["uploaded_by"] == "student"
    client.force_login(student)
    page = client.get(reverse("privacy:my_data")).content.decode()
    assert "verklaring.pdf" in page


def test_retention_deletes_the_attachments_and_their_files(django_capture_on_commit_callbacks):
    attachment = AttachmentFactory(case=CaseFactory(closed_resolved=True))
    Case.objects.filter(pk=attachment.case.pk).update(closed_at=timezone.now())
    kept = AttachmentFactory()  # an open case keeps its files
    storage = attachment.file.storage
    name = attachment.file.name
    later = timezone.now() + dt.timedelta(days=settings.CASE_RETENTION_DAYS + 1)
    with (
        time_machine.travel(later, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert tasks.anonymise_expired_cases() == 1
    assert not Attachment.objects.filter(pk=attachment.pk).exists()
    assert not storage.exists(name)
    assert storage.exists(kept.file.name)


def test_a_file_of_a_conversation_is_added_from_and_shown_with_that_conversation(client):
    conversation = ConversationFactory()
    case = conversation.case
    client.force_login(case.placement.school_trainer)
    page = client.get(case.get_absolute_url()).content.decode()
    link = reverse("attachments:add", args=[case.pk]) + f"?conversation={conversation.pk}"
    assert link in page
    form = client.get(link).content.decode()
    assert f'<option value="{conversation.pk}" selected>' in form
    response = post(
        client, case, name="afspraken.pdf", kind="agreement", conversation=conversation.pk
    )
    assert response.status_code == 302
    assert Attachment.objects.get().conversation == conversation
    page = client.get(case.get_absolute_url()).content.decode()
    card = page[page.index(f'id="conversation-{conversation.pk}"') :]
    assert "afspraken.pdf" in card[: card.index("</article>")]
