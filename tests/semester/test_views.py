"""The office's import pages: upload → preview → confirm (semester/views.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cases.models import Placement
from semester.models import ImportBatch
from tests.cases.factories import UserFactory

from .helpers import SAMPLE_CSV, SAMPLE_ROWS, SAMPLE_XLSX, counts, csv_bytes, partnership, row

pytestmark = pytest.mark.django_db

UPLOAD = reverse("semester:import")
PREVIEW = reverse("semester:import_preview")
CONFIRM = reverse("semester:import_confirm")


@pytest.fixture
def office() -> Client:
    partnership()
    client = Client()
    client.force_login(UserFactory(office=True))
    return client


def upload(client: Client, data: bytes, name: str = "plaatsingen.csv"):
    return client.post(UPLOAD, {"file": SimpleUploadedFile(name, data)})


def test_it_shows_the_upload_form_with_the_columns(office):
    response = office.get(UPLOAD)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Stageplekken importeren" in html
    assert 'enctype="multipart/form-data"' in html
    assert "E-mail mentor" in html and "studentnummer, studentnr" in html.lower()


@pytest.mark.parametrize("path", [SAMPLE_CSV, SAMPLE_XLSX])
def test_the_office_uploads_reads_the_preview_and_confirms(office, path):
    before = counts()
    response = upload(office, path.read_bytes(), path.name)
    assert response.status_code == 302
    assert response["Location"].startswith(PREVIEW + "?batch=")
    page = office.get(response["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert "Nothing is imported" not in html and "Er wordt niets geïmporteerd" in html
    assert html.count('class="import-row import-new') == SAMPLE_ROWS
    assert "Nieuw account: Anna Jansen" in html
    assert counts() == before  # the preview wrote nothing
    batch = ImportBatch.objects.get()
    assert batch.filename == path.name and len(batch.table_rows) == SAMPLE_ROWS
    assert page.context["form"].initial["batch"] == batch.token

    done = office.post(
        CONFIRM, {"batch": batch.token, "digest": page.context["report"].digest}, follow=True
    )
    assert done.redirect_chain[-1][0] == UPLOAD
    assert "Geïmporteerd: 30 nieuwe en 0 gewijzigde stageplekken" in done.content.decode()
    assert Placement.objects.count() == SAMPLE_ROWS
    assert not ImportBatch.objects.exists()

    again = office.get(
        office.post(UPLOAD, {"file": SimpleUploadedFile(path.name, path.read_bytes())})["Location"]
    )
    assert "Niets te importeren" in again.content.decode()
    assert "Import bevestigen" not in again.content.decode()


def test_a_file_problem_shows_the_form_again_with_the_reason(office):
    response = upload(office, b"Naam;Adres\r\nJan;Straat 1\r\n")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Verplichte kolommen ontbreken" in html
    assert "invalid-feedback" in html
    assert not ImportBatch.objects.exists()


def test_a_wrong_extension_and_a_missing_file_are_refused(office):
    assert "invalid-feedback" in upload(office, b"x", "plaatsingen.pdf").content.decode()
    response = office.post(UPLOAD, {})
    assert response.status_code == 200 and "invalid-feedback" in response.content.decode()


def test_a_file_over_the_limit_is_stopped_while_it_arrives(office, settings):
    settings.IMPORT_MAX_BYTES = 2_000
    response = upload(office, csv_bytes([row(n) for n in range(1, 30)]))
    assert response.status_code == 200
    assert "Het bestand is groter dan 0,002 MB" in response.content.decode()


def test_rows_with_errors_cannot_be_confirmed(office):
    response = upload(office, csv_bytes([row(1), row(2, Achternaam="=1+1")]))
    html = office.get(response["Location"]).content.decode()
    assert "1 rij heeft een fout" in html
    assert "begint met „=”" in html
    assert "Import bevestigen" not in html


def test_hostile_cells_come_back_escaped(office):
    response = upload(office, csv_bytes([row(1, Achternaam="<script>alert(1)</script>")]))
    html = office.get(response["Location"]).content.decode()
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)" in html


def test_an_error_at_confirm_time_shows_the_new_preview_and_writes_nothing(office):
    response = upload(office, csv_bytes([row(1), row(2)]))
    page = office.get(response["Location"])
    UserFactory(first_name="Iemand", last_name="Anders", email="student2@student.example.org")
    before = counts()
    batch = ImportBatch.objects.get()
    refused = office.post(CONFIRM, {"batch": batch.token, "digest": page.context["report"].digest})
    assert refused.status_code == 409
    html = refused.content.decode()
    assert "Er is niets geïmporteerd" in html and "hoort bij „Iemand Anders”" in html
    assert counts() == before
    assert ImportBatch.objects.exists()


def test_a_stale_digest_asks_to_look_again(office):
    response = upload(office, csv_bytes([row(1)]))
    batch = ImportBatch.objects.get()
    refused = office.post(CONFIRM, {"batch": batch.token, "digest": "0" * 64})
    assert refused.status_code == 409
    assert "sinds het voorbeeld gewijzigd" in refused.content.decode()
    assert not Placement.objects.exists()
    # The new preview carries the new digest: confirming it imports.
    digest = refused.context["report"].digest
    assert office.post(CONFIRM, {"batch": batch.token, "digest": digest}).status_code == 302
    assert Placement.objects.count() == 1
    assert response.status_code == 302


def test_another_office_member_cannot_see_or_confirm_my_upload(office):
    upload(office, csv_bytes([row(1)]))
    batch = ImportBatch.objects.get()
    other = Client()
    other.force_login(UserFactory(office=True))
    seen = other.get(PREVIEW, {"batch": str(batch.token)}, follow=True)
    assert "niet meer beschikbaar" in seen.content.decode()
    digest = "0" * 64
    confirmed = other.post(CONFIRM, {"batch": batch.token, "digest": digest}, follow=True)
    assert "niet meer beschikbaar" in confirmed.content.decode()
    assert not Placement.objects.exists()


def test_an_expired_or_confirmed_upload_is_gone(office):
    upload(office, csv_bytes([row(1)]))
    batch = ImportBatch.objects.get()
    ImportBatch.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    response = office.get(PREVIEW, {"batch": str(batch.token)}, follow=True)
    assert "niet meer beschikbaar" in response.content.decode()
    for junk in ("", "niet-een-uuid", "\x00", "1" * 500):
        assert office.get(PREVIEW, {"batch": junk}).status_code == 302
    assert ImportBatch.objects.purge() == 1


def test_a_new_upload_replaces_my_previous_one(office):
    upload(office, csv_bytes([row(1)]))
    first = ImportBatch.objects.get()
    upload(office, csv_bytes([row(2)]))
    assert list(ImportBatch.objects.values_list("pk", flat=True)) != [first.pk]
    assert ImportBatch.objects.count() == 1


def test_only_the_office(client):
    partnership()
    client.force_login(UserFactory())
    assert client.get(UPLOAD).status_code == 403
    assert client.post(UPLOAD, {"file": SimpleUploadedFile("a.csv", b"x")}).status_code == 403
    assert client.get(PREVIEW).status_code == 403
    assert client.post(CONFIRM, {}).status_code == 403
    anonymous = Client()
    for url in (UPLOAD, PREVIEW, CONFIRM):
        assert anonymous.get(url)["Location"].startswith(reverse("login"))


def test_a_nul_in_a_cell_is_kept_until_the_preview_reports_it(office):
    # PostgreSQL stores no NUL in text or jsonb: the batch keeps its rows as escaped JSON text.
    response = upload(office, csv_bytes([row(1, Achternaam="nul\x00teken")]), "a\x00b.csv")
    assert response.status_code == 302
    html = office.get(response["Location"]).content.decode()
    assert "„Achternaam” bevat een null-teken" in html
    assert ImportBatch.objects.get().filename == "ab.csv"
