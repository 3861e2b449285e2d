#!/usr/bin/env python3
"""Refresh the Dutch and English catalogs after code changes: extract, fill, compile.

    .venv/bin/python scripts/i18n_sync.py [translations.json ...]

1. `makemessages` for nl and en (the project's ignore list);
2. English: every empty msgstr becomes its msgid (the source language is English);
3. Dutch: empty or fuzzy entries are filled from the JSON files given ({"msgid": "Dutch"}; for a
   plural msgid the value is a list [singular, plural]);
4. `compilemessages`; prints the Dutch entries still untranslated (tests/test_translations.py
   fails on any). Serialised with a lock file, so parallel runs don't clobber each other.
"""

from __future__ import annotations

import fcntl
import json
import subprocess
import sys
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "stagebureau" / "locale"
IGNORE = [".venv", "var", "tests", "node_modules", "test-artifacts", "test-results"]


def manage(*args: str) -> None:
    subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], cwd=ROOT, check=True)


def fill(po_path: Path, translations: dict, *, english: bool) -> list[str]:
    po = polib.pofile(str(po_path), wrapwidth=0)
    missing = []
    for entry in po:
        if entry.obsolete:
            continue
        fuzzy = "fuzzy" in entry.flags
        if entry.msgid_plural:
            done = all(entry.msgstr_plural.values()) and not fuzzy
            if english and not done:
                entry.msgstr_plural = {0: entry.msgid, 1: entry.msgid_plural}
            elif not done and entry.msgid in translations:
                one, many = translations[entry.msgid]
                entry.msgstr_plural = {0: one, 1: many}
            elif not done:
                missing.append(entry.msgid)
                continue
        else:
            done = bool(entry.msgstr) and not fuzzy
            if english and not done:
                entry.msgstr = entry.msgid
            elif not done and entry.msgid in translations:
                entry.msgstr = translations[entry.msgid]
            elif not done:
                missing.append(entry.msgid)
                continue
        if fuzzy:
            entry.flags.remove("fuzzy")
            entry.previous_msgid = None
            entry.previous_msgid_plural = None
    po.save()
    return missing


def main(paths: list[str]) -> int:
    translations: dict = {}
    for path in paths:
        translations.update(json.loads(Path(path).read_text(encoding="utf-8")))
    lock_path = Path("/tmp") / ".stagebureau-i18n.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        ignores = [f"--ignore={name}" for name in IGNORE]
        manage("makemessages", "-l", "nl", "-l", "en", "--no-location", *ignores)
        fill(LOCALE / "en" / "LC_MESSAGES" / "django.po", {}, english=True)
        missing = fill(LOCALE / "nl" / "LC_MESSAGES" / "django.po", translations, english=False)
        manage("compilemessages", "--ignore=.venv")
    for msgid in missing:
        print(f"untranslated (nl): {msgid!r}")
    print(f"i18n_sync: {len(missing)} Dutch entries untranslated")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
