"""The import's preview and commit (semester/services.py): nothing written by a preview, all or
nothing on a commit, idempotent, an update of a person on a placement is a reassignment, and
every problem of a row is named in Dutch."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from unittest import mock

import pytest
from django.db import DatabaseError
from django.utils import translation

from cases.models import Case, CaseEvent, Placement, TrainingSchool, User
from notifications.models import Notification
from semester import services
from semester.services import ImportRefused, import_commit, import_preview
from tests.cases.factories import (
    BoardFactory,
    CaseFactory,
    PlacementFactory,
    TrainingSchoolFactory,
    UserFactory,
)

from .helpers import SAMPLE_ROWS, counts, csv_bytes, partnership, row, sample_table, stamps, table

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _nl():
    partnership()
    with translation.override("nl"):
        yield


def preview(*rows):
    t = table(csv_bytes(list(rows)))
    return import_preview(t.rows, t.columns)


def commit(*rows, by=None):
    t = table(csv_bytes(list(rows)))
    return import_commit(t.rows, t.columns, by=by, source="test.csv")


def errors_of(report) -> list[str]:
    return [e for r in report.rows for e in r.errors]


# --- preview and commit of the sample -------------------------------------------------------


def test_the_preview_writes_nothing(django_assert_max_num_queries):
    before = counts()
    sample = sample_table()
    with django_assert_max_num_queries(8):  # schools, boards, partnerships; people per chunk
        report = import_preview(sample.rows, sample.columns)
    assert counts() == before
    assert report.counts == {"new": SAMPLE_ROWS, "changed": 0, "unchanged": 0, "error": 0}
    assert report.new_schools == 6 and report.new_boards == 4
    assert report.new_people == 68
    first = report.rows[0]
    assert first.status_label == "nieuw"
    assert "Nieuw account: Anna Jansen" in first.changes
    assert "Nieuwe school: OBS De Regenboog" in first.changes


def test_the_commit_writes_the_sample_people_without_a_password_never_twice():
    office = UserFactory(office=True)
    sample = sample_table()
    outcome = import_commit(sample.rows, sample.columns, by=office, source="sample.csv")
    assert outcome.created == SAMPLE_ROWS and outcome.updated == 0
    assert Placement.objects.count() == SAMPLE_ROWS
    anna = User.objects.get(email="anna.jansen@student.example.org")
    assert anna.student_number == "1840100"
    assert (anna.first_name, anna.last_name) == ("Anna", "Jansen")
    assert anna.username == "anna.jansen@student.example.org"
    assert not anna.has_usable_password()
    sophie = User.objects.get(student_number="1840114")
    assert sophie.last_name == "van den Berg"  # the prefix column
    placement = anna.placements_as_student.get()
    assert placement.start_date == dt.date(2027, 2, 1)
    assert placement.end_date == dt.date(2027, 6, 25)
    assert (placement.block, placement.days_per_week) == ("2", Decimal("2.0"))
    assert (placement.programme, placement.study_year) == ("Leraar Basisonderwijs (Pabo)", 1)
    assert placement.school.brin == "91XA" and placement.school.region == "midden"
    assert placement.mentor.email == "k.hofman@91xa.example.org"
    assert placement.coordinating_trainer is None  # the sample leaves it empty on row 2
    assert Placement.objects.filter(coordinating_trainer__isnull=False).count() == 24
    # People on several rows are one account each.
    assert User.objects.filter(email="h.verhoeven@soov.example.org").count() == 1
    assert User.objects.filter(username__startswith="a.vos").count() == 1
    assert TrainingSchool.objects.count() == 6


def test_importing_the_same_file_twice_changes_nothing():
    sample = sample_table()
    import_commit(sample.rows, sample.columns, by=None)
    before, fields = counts(), stamps()
    outcome = import_commit(sample.rows, sample.columns, by=None)
    assert outcome.report.counts["unchanged"] == SAMPLE_ROWS
    assert outcome.created == outcome.updated == outcome.reassigned == 0
    assert counts() == before
    assert stamps() == fields  # updated_at untouched, no account touched


def test_the_xlsx_after_the_csv_changes_nothing():
    from .helpers import SAMPLE_XLSX

    sample = sample_table()
    import_commit(sample.rows, sample.columns, by=None)
    fields = stamps()
    workbook = table(SAMPLE_XLSX.read_bytes())
    assert import_preview(workbook.rows, workbook.columns).counts["unchanged"] == SAMPLE_ROWS
    import_commit(workbook.rows, workbook.columns, by=None)
    assert stamps() == fields


def test_people_match_on_e_mail_in_any_case_and_student_number():
    student = UserFactory(
        first_name="Student", last_name="Nummer1", email="Student1@Student.Example.org"
    )
    mentor = UserFactory(
        first_name="Mia", last_name="Mentor", email="MENTOR@testschool.example.org"
    )
    report = commit(row(1, **{"E-mailadres": "  student1@student.example.org "})).report
    assert report.rows[0].changes[0] == "Studentnummer 2000001 vastgelegd bij het account"
    student.refresh_from_db()
    assert student.student_number == "2000001"
    assert Placement.objects.get().mentor == mentor
    assert User.objects.filter(email__iexact=mentor.email).count() == 1


def test_a_new_username_is_unique_even_when_the_address_is_someones_username():
    UserFactory(username="mentor@testschool.example.org", email="other@example.org")
    commit(row(1))
    mentor = User.objects.get(email="mentor@testschool.example.org")
    assert mentor.username == "mentor@testschool.example.org-2"


# --- changes ------------------------------------------------------------------------------


def test_a_changed_row_updates_only_its_placement():
    commit(row(1), row(2))
    before = stamps()
    outcome = commit(row(1, Einddatum="05-02-2027", **{"Dagen per week": "3"}), row(2))
    (changed, unchanged) = outcome.report.rows
    assert changed.status == "changed" and unchanged.status == "unchanged"
    assert "Einddatum: 29-01-2027 → 05-02-2027" in changed.changes
    assert "Dagen per week: 2,5 → 3" in changed.changes
    assert outcome.updated == 1
    one = Placement.objects.get(student__student_number="2000001")
    two = Placement.objects.get(student__student_number="2000002")
    assert one.end_date == dt.date(2027, 2, 5) and one.days_per_week == 3
    assert one.updated_at > before["placements"][one.pk][0]
    assert two.updated_at == before["placements"][two.pk][0]


def test_an_empty_optional_cell_leaves_what_is_stored():
    commit(row(1))
    report = commit(row(1, Einddatum="", Blok="", **{"Dagen per week": ""})).report
    assert report.rows[0].status == "unchanged"
    placement = Placement.objects.get()
    assert placement.end_date == dt.date(2027, 1, 29) and placement.block == "1"


def test_a_new_mentor_on_a_placement_with_an_open_case_is_a_reassignment():
    office = UserFactory(office=True)
    commit(row(1))
    placement = Placement.objects.get()
    old_mentor = placement.mentor
    case = CaseFactory(placement=placement, improving=True)
    closed = CaseFactory(placement=placement, closed_resolved=True)
    version = case.version
    outcome = commit(
        row(1, Mentor="Nora Nieuw", **{"E-mail mentor": "nieuw@testschool.example.org"}),
        by=office,
    )
    assert "Mentor: Mia Mentor → Nora Nieuw (nieuw account)" in outcome.report.rows[0].changes
    assert outcome.reassigned == 1
    newcomer = User.objects.get(email="nieuw@testschool.example.org")
    placement.refresh_from_db()
    assert placement.mentor == newcomer
    (event,) = CaseEvent.objects.filter(case=case, name="mentor_reassigned")
    assert event.actor == office
    assert event.note == "Mia Mentor → Nora Nieuw. Import van test.csv"
    assert event.label == "Nieuwe mentor toegewezen"
    assert not CaseEvent.objects.filter(case=closed, name="mentor_reassigned").exists()
    told = Notification.objects.filter(case=case, event="mentor_reassigned")
    assert list(told.values_list("recipient", flat=True)) == [newcomer.pk]
    case.refresh_from_db()
    assert case.version == version + 1
    # The newcomer sees the case from now on, the one who left no longer does.
    assert Case.objects.related_to(newcomer).filter(pk=case.pk).exists()
    assert not Case.objects.related_to(old_mentor).filter(pk=case.pk).exists()
    # Idempotent: the same file again is no second reassignment.
    again = commit(
        row(1, Mentor="Nora Nieuw", **{"E-mail mentor": "nieuw@testschool.example.org"}),
        by=office,
    )
    assert again.report.rows[0].status == "unchanged"
    assert CaseEvent.objects.filter(name="mentor_reassigned").count() == 1


def test_a_new_study_coach_without_an_open_case_only_updates_the_placement():
    commit(row(1))
    coach = UserFactory(first_name="Kees", last_name="Coach", email="kees@hogeschool.example.org")
    outcome = commit(row(1, Studiecoach="Kees Coach", **{"E-mail studiecoach": coach.email}))
    assert outcome.reassigned == 0 and outcome.updated == 1
    assert Placement.objects.get().study_coach == coach
    assert not CaseEvent.objects.exists()


def test_a_transferred_placement_is_left_as_it_is():
    commit(row(1))
    Placement.objects.update(status=Placement.Status.TRANSFERRED)
    report = preview(row(1, Einddatum="05-02-2027"))
    (only,) = report.rows
    assert only.status == "unchanged"
    assert only.notes == [
        "Deze stageplek is „overgeplaatst” in de applicatie; de import laat haar zoals ze is."
    ]


def test_a_known_school_without_brin_gets_it_and_is_matched_on_it_next_time():
    board = BoardFactory(name="Stichting Test")
    school = TrainingSchoolFactory(name="Testschool", board=board, region="midden")
    report = commit(row(1)).report
    assert "BRIN 99TS vastgelegd bij de school" in report.rows[0].changes
    school.refresh_from_db()
    assert school.brin == "99TS"
    renamed = preview(row(2, Stageschool="", Bestuur="", Regio=""))
    assert renamed.rows[0].status == "new" and renamed.rows[0].school == "Testschool"


# --- all or nothing -------------------------------------------------------------------------


def test_an_error_found_at_confirm_time_writes_nothing():
    t = table(csv_bytes([row(1), row(2)]))
    report = import_preview(t.rows, t.columns)
    assert not report.has_errors
    # Meanwhile someone else got the address of row 2's student, with another name.
    UserFactory(first_name="Iemand", last_name="Anders", email="student2@student.example.org")
    before = counts()
    with pytest.raises(ImportRefused) as refused:
        import_commit(t.rows, t.columns, by=None, expected_digest=report.digest)
    assert counts() == before
    assert "Er is niets geïmporteerd" in refused.value.message
    assert refused.value.report.rows[1].status == "error"


def test_a_change_since_the_preview_asks_for_a_new_look():
    commit(row(1))
    t = table(csv_bytes([row(1, Einddatum="05-02-2027")]))
    report = import_preview(t.rows, t.columns)
    Placement.objects.update(end_date=dt.date(2027, 3, 1))  # someone edited it meanwhile
    with pytest.raises(ImportRefused) as refused:
        import_commit(t.rows, t.columns, by=None, expected_digest=report.digest)
    assert "sinds het voorbeeld gewijzigd" in refused.value.message
    assert Placement.objects.get().end_date == dt.date(2027, 3, 1)


def test_a_failure_halfway_rolls_everything_back():
    commit(row(1))
    placement = Placement.objects.get()
    CaseFactory(placement=placement, improving=True)
    before = counts()
    rows = [
        row(1, Mentor="Nora Nieuw", **{"E-mail mentor": "nieuw@testschool.example.org"}),
        *(row(n) for n in range(2, 6)),
    ]
    with (
        mock.patch.object(services, "placement_reassign", side_effect=DatabaseError("kapot")),
        pytest.raises(DatabaseError),
    ):
        commit(*rows)
    # The accounts, schools and placements written before the failure are gone too.
    assert counts() == before
    assert Placement.objects.get().mentor == placement.mentor


def test_a_file_with_an_error_row_writes_nothing():
    before = counts()
    with pytest.raises(ImportRefused):
        commit(row(1), row(2, **{"E-mailadres": ""}))
    assert counts() == before


# --- the problems of a row, in Dutch --------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"E-mailadres": ""}, "„E-mailadres” is leeg."),
        ({"E-mail mentor": "geen-adres"}, "„E-mail mentor”: „geen-adres” is geen e-mailadres."),
        (
            {"Einddatum": "01-08-2026"},
            "De einddatum 01-08-2026 ligt vóór de startdatum 01-09-2026.",
        ),
        (
            {"Startdatum": "31-02-2026"},
            "„Startdatum”: „31-02-2026” is geen datum van 2000 tot en met 2099; schrijf hem als "
            "01-09-2026.",
        ),
        ({"Startdatum": "01-09-1999"}, "is geen datum van 2000 tot en met 2099"),
        (
            {"Dagen per week": "7"},
            "„Dagen per week”: „7” is geen aantal dagen van 0,5 tot en met 5.",
        ),
        ({"Dagen per week": "2,25"}, "is geen aantal dagen"),
        ({"Studiejaar": "tweede"}, "„Studiejaar”: „tweede” is geen studiejaar van 1 tot en met 6."),
        ({"Regio": "west"}, "„Regio”: „west” is geen regio (noord, midden of zuid)."),
        ({"BRIN": "123"}, "„BRIN”: „123” is geen BRIN-nummer"),
        ({"Studentnummer": "'2000001"}, "„Studentnummer”: „'2000001” is geen studentnummer."),
        (
            {"Bestuur": "", "Regio": ""},
            "Onbekende school „Testschool”. Voeg haar toe in het beheer, of vul in het bestand het "
            "bestuur en de regio in om haar aan te maken.",
        ),
        (
            {"E-mail mentor": "student1@student.example.org"},
            "De student kan niet ook de mentor zijn op de eigen stageplek.",
        ),
        (
            {"Stageschool": "", "BRIN": "", "Bestuur": ""},
            "De stageschool ontbreekt (naam, BRIN-nummer of schoolcode).",
        ),
    ],
)
def test_a_row_error_names_the_problem(changes, message):
    report = preview(row(1, **changes))
    (only,) = report.rows
    assert only.status == "error"
    assert only.status_label == "fout"
    assert any(message in error for error in only.errors), only.errors


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('=HYPERLINK("http://evil.example")', "begint met „=”: formules worden nooit geïmporteerd"),
        ("+31 6 1234", "begint met „+”"),
        ("@SUM(A1)", "begint met „@”"),
        ("-2+3", "begint met „-”"),
        ("Regel\r\nbreuk", "bevat een regeleinde"),
        ("Regel\nbreuk", "bevat een regeleinde"),
        ("nul\x00teken", "bevat een null-teken"),
        ("tab\tteken", "bevat een onzichtbaar stuurteken"),
        ("bel\x07", "bevat een onzichtbaar stuurteken"),
        ("x" * 10_000, "is te lang: 10.000 tekens, hoogstens 150"),
    ],
)
def test_hostile_cells_are_a_clear_row_error(value, message):
    report = preview(row(1, Achternaam=value))
    (only,) = report.rows
    assert only.status == "error"
    assert any(e.startswith("„Achternaam”") and message in e for e in only.errors), only.errors


def test_duplicates_and_people_with_another_name():
    UserFactory(first_name="Piet", last_name="Puk", email="mentor@testschool.example.org")
    report = preview(
        row(1, Mentor="Mia Mentor"),
        row(2, Studentnummer="2000001"),  # the student number of row 2 again
        row(3, Schoolopleider="Sam Anders"),  # row 2 named the school trainer "Sam Opleider"
    )
    assert any(
        "Het e-mailadres mentor@testschool.example.org hoort bij „Piet Puk”, niet bij "
        "„Mia Mentor”." in e
        for e in report.rows[0].errors
    )
    assert any(
        "Studentnummer 2000001 staat al in rij 2, voor een overlappende periode." in e
        for e in report.rows[1].errors
    )
    assert any(
        "Rij 2 geeft het e-mailadres opleider@testschool.example.org aan „Sam Opleider”, deze "
        "rij aan „Sam Anders”." in e
        for e in report.rows[2].errors
    )


def test_a_student_number_of_another_address_is_an_error():
    UserFactory(
        first_name="Student",
        last_name="Nummer1",
        email="ander@example.org",
        student_number="2000001",
    )
    (only,) = preview(row(1)).rows
    assert only.errors == [
        "Studentnummer 2000001 hoort bij Student Nummer1 met e-mailadres ander@example.org, niet "
        "student1@student.example.org."
    ]


def test_the_same_student_in_two_blocks_is_two_placements():
    rows = [
        row(1),
        row(1, Startdatum="01-02-2027", Einddatum="25-06-2027", Blok="2"),
    ]
    report = preview(*rows)
    assert report.counts["new"] == 2


def test_an_excel_date_number_and_dotted_dates_are_dates():
    report = preview(row(1, Startdatum="46266", Einddatum="29.01.2027"))
    assert report.rows[0].status == "new"
    commit(row(1, Startdatum="46266", Einddatum="29.01.2027"))
    assert Placement.objects.get().start_date == dt.date(2026, 9, 1)


def test_an_unknown_board_needs_a_single_partnership():
    from cases.models import Partnership

    Partnership.objects.create(name="Tweede verband")
    (only,) = preview(row(1)).rows
    assert only.errors == [
        "Het bestuur „Stichting Test” is onbekend en er zijn meerdere samenwerkingsverbanden; "
        "voeg het bestuur eerst toe in het beheer."
    ]


def test_a_school_is_checked_against_what_the_application_knows():
    board = BoardFactory(name="Stichting Echt")
    TrainingSchoolFactory(name="Echte School", brin="99TS", board=board, region="zuid")
    (only,) = preview(row(1)).rows
    assert only.errors == [
        "99TS is „Echte School” in de applicatie, het bestand zegt „Testschool”.",
        "„Echte School” hoort bij het bestuur „Stichting Echt”, het bestand zegt „Stichting Test”.",
        "„Echte School” ligt in regio zuid, het bestand zegt midden.",
    ]


def test_the_planner_reads_people_in_one_query_per_chunk(django_assert_max_num_queries):
    rows = [row(n) for n in range(1, 1201)]  # three chunks of at most 500 rows
    t = table(csv_bytes(rows))
    with django_assert_max_num_queries(3 + 3 * 2):
        report = import_preview(t.rows, t.columns)
    assert report.counts["new"] == 1200


def test_existing_people_and_placements_are_read_in_bulk(django_assert_max_num_queries):
    placements = [PlacementFactory() for _ in range(3)]
    rows = []
    for n, placement in enumerate(placements, start=1):
        student = placement.student
        student.student_number = f"{3_000_000 + n}"
        student.save()
        school = placement.school
        rows.append(
            row(
                n,
                Studentnummer=student.student_number,
                Voornaam=student.first_name,
                Achternaam=student.last_name,
                **{"E-mailadres": student.email},
                Stageschool=school.name,
                BRIN="",
                Bestuur=school.board.name,
                Regio=school.region,
                Mentor=str(placement.mentor),
                **{"E-mail mentor": placement.mentor.email},
                Schoolopleider=str(placement.school_trainer),
                **{"E-mail schoolopleider": placement.school_trainer.email},
                Studiecoach=str(placement.study_coach),
                **{"E-mail studiecoach": placement.study_coach.email},
                Startdatum=placement.start_date.strftime("%d-%m-%Y"),
                Einddatum="",
                Blok="",
                **{"Dagen per week": ""},
                Studiejaar="",
                Opleiding="",
            )
        )
    t = table(csv_bytes(rows))
    with django_assert_max_num_queries(5):  # schools, boards, partnerships, people, placements
        report = import_preview(t.rows, t.columns)
    assert report.counts["unchanged"] == 3, [r.errors for r in report.rows]


def test_a_student_number_given_to_two_addresses_in_one_file_is_an_error():
    UserFactory(first_name="Student", last_name="Nummer1", email="student1@student.example.org")
    report = preview(
        row(1), row(2, Studentnummer="2000001", Startdatum="01-02-2027", Einddatum="25-06-2027")
    )
    assert report.rows[0].status == "new"
    assert report.rows[1].errors == [
        "Rij 2 geeft studentnummer 2000001 aan student1@student.example.org."
    ]
