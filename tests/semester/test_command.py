"""`manage.py import_placements <file> [--commit]`: the same import for a nightly job."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from cases.models import CaseEvent, Placement
from tests.cases.factories import CaseFactory, UserFactory

from .helpers import SAMPLE_CSV, SAMPLE_ROWS, counts, csv_bytes, partnership, row

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _partnership():
    partnership()


def run(*args) -> str:
    out = io.StringIO()
    call_command("import_placements", *map(str, args), stdout=out)
    return out.getvalue()


def test_without_commit_it_reports_and_writes_nothing():
    before = counts()
    out = run(SAMPLE_CSV)
    assert counts() == before
    assert "30 rijen: 30 nieuw, 0 gewijzigd, 0 ongewijzigd, 0 met een fout." in out
    assert "nieuw" in out and "Nieuw account: Anna Jansen" in out
    assert "Alleen een voorbeeld: er is niets opgeslagen (gebruik --commit)." in out


def test_with_commit_it_imports_and_a_second_run_changes_nothing():
    out = run(SAMPLE_CSV, "--commit")
    assert "Geïmporteerd: 30 nieuwe en 0 gewijzigde stageplekken" in out
    assert Placement.objects.count() == SAMPLE_ROWS
    before = counts()
    again = run(SAMPLE_CSV, "--commit", "--json")
    report = json.loads(again)
    assert report["committed"] is True
    assert report["counts"] == {"new": 0, "changed": 0, "unchanged": SAMPLE_ROWS, "error": 0}
    assert counts() == before


def test_errors_make_it_fail_and_write_nothing(tmp_path):
    path = tmp_path / "fout.csv"
    path.write_bytes(csv_bytes([row(1), row(2, **{"E-mailadres": "=cmd|' /C calc'!A0"})]))
    before = counts()
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 rij\\(en\\) met een fout; er is niets opgeslagen"):
        call_command("import_placements", str(path), "--commit", stdout=out)
    assert counts() == before
    assert "begint met „=”" in out.getvalue()


def test_a_file_problem_or_a_missing_file_fails(tmp_path):
    path = tmp_path / "leeg.csv"
    path.write_bytes(b"")
    with pytest.raises(CommandError, match="Het bestand is leeg"):
        run(path)
    with pytest.raises(CommandError):
        run(tmp_path / "bestaat-niet.csv")


def test_by_names_the_office_member_on_the_timeline(tmp_path):
    office = UserFactory(office=True)
    path = tmp_path / "p.csv"
    path.write_bytes(csv_bytes([row(1)]))
    run(path, "--commit")
    CaseFactory(placement=Placement.objects.get(), improving=True)
    path.write_bytes(
        csv_bytes([row(1, Mentor="Nora Nieuw", **{"E-mail mentor": "nieuw@example.org"})])
    )
    with pytest.raises(CommandError, match="geen actieve medewerker"):
        run(path, "--commit", "--by", UserFactory().username)
    run(path, "--commit", "--by", office.username)
    assert CaseEvent.objects.get(name="mentor_reassigned").actor == office
