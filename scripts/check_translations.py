#!/usr/bin/env python3
"""Fail when a committed .mo file is missing or does not match its .po file.

Compiles every locale/*/LC_MESSAGES/*.po with msgfmt (as `manage.py compilemessages` does) into
a temporary file and compares the two catalogs message by message, so a different gettext
version writing different bytes for the same messages is not a failure.
Fix a failure with `python manage.py compilemessages` and commit the .mo files.
"""

from __future__ import annotations

import gettext
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIP = {".venv", ".git", "node_modules", "var"}


def catalog(path: Path) -> dict:
    with path.open("rb") as fh:
        return dict(gettext.GNUTranslations(fh)._catalog)


def main() -> int:
    if shutil.which("msgfmt") is None:
        print("check_translations: msgfmt is missing (apt-get install gettext)", file=sys.stderr)
        return 2
    po_files = sorted(
        p for p in ROOT.rglob("locale/*/LC_MESSAGES/*.po") if not SKIP & set(p.parts)
    )
    if not po_files:
        print("check_translations: no .po files found", file=sys.stderr)
        return 1
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        for po in po_files:
            mo = po.with_suffix(".mo")
            fresh = Path(tmp) / "fresh.mo"
            result = subprocess.run(
                ["msgfmt", "--check-format", "-o", str(fresh), str(po)],
                capture_output=True,
                text=True,
            )
            relative = po.relative_to(ROOT)
            if result.returncode != 0:
                problems.append(f"{relative}: msgfmt failed:\n{result.stderr}")
            elif not mo.exists():
                problems.append(f"{mo.relative_to(ROOT)} is missing")
            elif catalog(mo) != catalog(fresh):
                problems.append(f"{mo.relative_to(ROOT)} is out of date with {relative}")
            else:
                print(f"check_translations: {mo.relative_to(ROOT)} is up to date")
    if problems:
        for problem in problems:
            print(f"check_translations: {problem}", file=sys.stderr)
        print(
            "check_translations: run `python manage.py compilemessages` and commit the .mo files",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
