"""`manage.py bench_import`: the placement import (semester app) at 1,000 and 5,000 rows.

For each size it generates a placement file as Dutch Excel saves it (semicolons, a BOM, Dutch
headers): every row a new student, at a few hundred new schools of fifty known boards, with
mentors and school trainers per school and a study coach per 25 students. It then measures,
in one transaction that is rolled back at the end (the database is left as it was):

- preview: reading the file and planning every row (what the office's preview does);
- commit: planning again and writing it all (accounts, schools, placements);
- repeat: the preview of the same file once it is imported (every row unchanged);

each with its time, its number of queries and its peak Python memory (tracemalloc, on a second
run of the same work, because tracing slows Python down). The growth is the time per row at
the largest size over the time per row at the smallest: 1.0 is linear, less is better.

`make bench` runs it after `bench` (PostgreSQL); it runs on SQLite as well.
"""

from __future__ import annotations

import csv
import io
import json
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from cases.models import Board, Partnership
from semester.reader import read_table
from semester.services import import_commit, import_preview

HEADERS = [
    "Studentnummer",
    "Voornaam",
    "Achternaam",
    "E-mailadres",
    "Opleiding",
    "Studiejaar",
    "Stageschool",
    "BRIN",
    "Bestuur",
    "Regio",
    "Mentor",
    "E-mail mentor",
    "Schoolopleider",
    "E-mail schoolopleider",
    "Studiecoach",
    "E-mail studiecoach",
    "Startdatum",
    "Einddatum",
    "Blok",
    "Dagen per week",
]
BOARDS = 50
STUDENTS_PER_SCHOOL = 20
STUDENTS_PER_COACH = 25
GOAL_GROWTH = 1.5
PHASES = ("preview", "commit", "repeat")


class _Rollback(Exception):
    pass


def synthetic_file(size: int, run: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADERS)
    regions = ("noord", "midden", "zuid")
    for i in range(size):
        school = i // STUDENTS_PER_SCHOOL
        mentor = i // 3
        coach = i // STUDENTS_PER_COACH
        writer.writerow(
            [
                f"9{run}{i:06d}",
                "Bench",
                f"Student {i}",
                f"bench.{run}.{i}@student.example.org",
                "Leraar Engels",
                1 + i % 4,
                f"Benchschool {run}-{school}",
                "",
                f"Benchbestuur {school % BOARDS}",
                regions[school % 3],
                f"Mentor {run}-{mentor}",
                f"mentor.{run}.{mentor}@school.example.org",
                f"Opleider {run}-{school}",
                f"opleider.{run}.{school}@school.example.org",
                f"Coach {run}-{coach}",
                f"coach.{run}.{coach}@hogeschool.example.org",
                "01-09-2026",
                "29-01-2027",
                "1",
                "2,5",
            ]
        )
    return out.getvalue().encode("utf-8-sig")


def measure(work: Callable[[], Any]) -> dict[str, Any]:
    """Time and queries of one run, peak memory of a second (rolled back when it writes)."""
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        result = rolled_back(work)
        seconds = time.perf_counter() - started
    tracemalloc.start()
    rolled_back(work)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "seconds": round(seconds, 3),
        "queries": len(queries.captured_queries),
        "peak_mib": round(peak / 2**20, 1),
        "result": result,
    }


def rolled_back(work: Callable[[], Any]) -> Any:
    try:
        with transaction.atomic():
            raise _Rollback(work())
    except _Rollback as done:
        return done.args[0]


class Command(BaseCommand):
    help = "Benchmark the placement import (preview and commit) at 1,000 and 5,000 rows."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 5_000])
        parser.add_argument("--json", default=str(Path(settings.VAR_DIR) / "bench-import.json"))

    def handle(self, *args, sizes: list[int], json: str, **opts) -> None:
        settings.DEBUG = False
        sizes = sorted(sizes)
        limit = max(sizes)
        results: dict[str, Any] = {"database": connection.vendor, "sizes": {}}
        try:
            with transaction.atomic():
                self._boards()
                for size in sizes:
                    results["sizes"][str(size)] = self._measure_size(size, limit)
                raise _Rollback
        except _Rollback:
            pass
        first, last = str(sizes[0]), str(sizes[-1])
        results["growth"] = {
            phase: round(
                (results["sizes"][last][phase]["seconds"] / int(last))
                / max(results["sizes"][first][phase]["seconds"] / int(first), 1e-9),
                2,
            )
            for phase in PHASES
        }
        self._print(results, sizes)
        path = Path(json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_dumps(results))
        self.stdout.write(f"JSON written to {path}.")

    @staticmethod
    def _boards() -> None:
        """Fifty known boards (new schools need a known board when there are several
        partnerships); rolled back with the rest."""
        partnership = Partnership.objects.order_by("pk").first() or Partnership.objects.create(
            name="Benchverband"
        )
        for n in range(BOARDS):
            Board.objects.get_or_create(
                name=f"Benchbestuur {n}", defaults={"partnership": partnership}
            )

    def _measure_size(self, size: int, limit: int) -> dict[str, Any]:
        data = synthetic_file(size, run=str(size))
        self.stdout.write(f"\n{size:,} rows ({len(data) / 1e6:.1f} MB)...")

        def preview():
            table = read_table(data, max_rows=limit, max_bytes=len(data))
            report = import_preview(table.rows, table.columns)
            assert report.counts["new"] == size, report.counts
            return report.counts

        def commit():
            table = read_table(data, max_rows=limit, max_bytes=len(data))
            outcome = import_commit(table.rows, table.columns, by=None, source="bench.csv")
            assert outcome.created == size
            return {"created": outcome.created, "people": outcome.report.new_people}

        measured = {"preview": measure(preview), "commit": measure(commit)}
        self.stdout.write(
            f"  preview {measured['preview']['seconds']} s, "
            f"commit {measured['commit']['seconds']} s"
        )

        def repeat():
            table = read_table(data, max_rows=limit, max_bytes=len(data))
            report = import_preview(table.rows, table.columns)
            assert report.counts["unchanged"] == size, report.counts
            return report.counts

        def commit_then_repeat():
            commit()
            return measure(repeat)

        measured["repeat"] = rolled_back(commit_then_repeat)
        return measured

    def _print(self, results: dict[str, Any], sizes: list[int]) -> None:
        self.stdout.write(
            f"\nPlacement import ({results['database']}): time, queries and peak Python memory"
        )
        self.stdout.write(
            f"{'rows':>6}  {'phase':<8} {'seconds':>8} {'ms/row':>7} {'queries':>8} {'peak MiB':>9}"
        )
        for size in sizes:
            for phase in PHASES:
                m = results["sizes"][str(size)][phase]
                per_row = 1000 * m["seconds"] / size
                self.stdout.write(
                    f"{size:>6,}  {phase:<8} {m['seconds']:>8.2f} {per_row:>7.2f}"
                    f" {m['queries']:>8} {m['peak_mib']:>9.1f}"
                )
        growth = results["growth"]
        verdict = "linear or better" if max(growth.values()) <= GOAL_GROWTH else "NOT LINEAR"
        self.stdout.write(
            f"Growth of the time per row {sizes[0]:,} → {sizes[-1]:,}: "
            + ", ".join(f"{phase} {growth[phase]:.2f}×" for phase in PHASES)
            + f" (goal ≤ {GOAL_GROWTH}×: {verdict})"
        )


def _dumps(results: dict[str, Any]) -> str:
    return json.dumps(results, indent=2, default=str)
