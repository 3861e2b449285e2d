"""`manage.py import_placements <file> [--commit]`: the office's import, for a nightly job.

Without --commit it reports what the import would do (the preview) and writes nothing. With
--commit it writes everything in one transaction, or nothing when any row has an error. The
report is the one the office's preview shows: per row "new / changed / unchanged / error" with
the problem. Exit code 0: fine (or nothing to do); 1: the file or a row has an error (nothing
was written).
"""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError
from django.utils.translation import gettext as _

from cases.models import User
from semester import services
from semester.models import ImportBatch
from semester.reader import FileProblem, read_table


class Command(BaseCommand):
    help = "Import a semester's placements from a CSV or XLSX file (preview unless --commit)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="the CSV or XLSX file")
        parser.add_argument(
            "--commit", action="store_true", help="write the import (all or nothing)"
        )
        parser.add_argument(
            "--by",
            default="",
            help="username of the office member the timeline names as the one who reassigned "
            "(default: nobody, the import itself)",
        )
        parser.add_argument("--all-rows", action="store_true", help="list the unchanged rows too")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args, file: str, commit: bool, by: str, all_rows: bool, **opts) -> None:
        ImportBatch.objects.purge()
        actor = None
        if by:
            actor = User.objects.filter(username=by, is_active=True).first()
            if actor is None or not actor.is_office:
                raise CommandError(
                    _("--by %(user)s: no active member of the internship office.") % {"user": by}
                )
        path = Path(file)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"{file}: {exc.strerror or exc}") from exc
        try:
            table = read_table(
                data, max_rows=settings.IMPORT_MAX_ROWS, max_bytes=settings.IMPORT_MAX_BYTES
            )
        except FileProblem as problem:
            raise CommandError(f"{path.name}: {problem.message}") from problem
        outcome = None
        try:
            if commit:
                outcome = services.import_commit(
                    table.rows, table.columns, by=actor, source=path.name
                )
                report = outcome.report
            else:
                report = services.import_preview(table.rows, table.columns)
        except services.ImportRefused as refused:
            report = refused.report
        except DatabaseError as exc:
            raise CommandError(
                _("%(file)s: the import failed and nothing was written: %(error)s")
                % {"file": path.name, "error": exc}
            ) from exc
        if opts["json"]:
            self.stdout.write(json.dumps(self._json(path, table, report, outcome), indent=2))
        else:
            self._print(path, table, report, outcome, all_rows=all_rows)
        if report.has_errors:
            raise CommandError(
                _("%(file)s: %(count)s row(s) with an error; nothing was written.")
                % {"file": path.name, "count": report.counts["error"]}
            )

    def _print(self, path, table, report, outcome, *, all_rows: bool) -> None:
        self.stdout.write(f"{path.name} ({table.source})")
        for row in report.rows:
            if row.status == services.UNCHANGED and not all_rows and not row.notes:
                continue
            self.stdout.write(
                f"  {row.number:>5}  {row.status_label:<10} {row.student} · {row.school}"
            )
            for line in row.errors:
                self.stdout.write(f"         ! {line}")
            for line in row.changes:
                self.stdout.write(f"         - {line}")
            for line in row.notes:
                self.stdout.write(f"         ~ {line}")
        self.stdout.write(report.summary())
        if outcome is not None:
            self.stdout.write(self.style.SUCCESS(outcome.summary()))
        elif not report.has_errors:
            self.stdout.write(_("Preview only: nothing was written (use --commit)."))

    def _json(self, path, table, report, outcome) -> dict:
        return {
            "file": path.name,
            "source": table.source,
            "committed": outcome is not None,
            "counts": report.counts,
            "new_people": report.new_people,
            "new_schools": report.new_schools,
            "reassigned": outcome.reassigned if outcome else 0,
            "rows": [
                {
                    "row": row.number,
                    "status": row.status,
                    "student": row.student,
                    "school": row.school,
                    "errors": row.errors,
                    "changes": row.changes,
                    "notes": row.notes,
                }
                for row in report.rows
            ],
        }
