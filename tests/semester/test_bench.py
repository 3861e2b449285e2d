"""`manage.py bench_import` (make bench): it measures and leaves the database as it was."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from .helpers import counts

pytestmark = pytest.mark.django_db


def test_it_measures_preview_commit_and_repeat_and_rolls_everything_back(tmp_path):
    before = counts()
    out = io.StringIO()
    path = tmp_path / "bench.json"
    call_command("bench_import", sizes=[40, 20], json=str(path), stdout=out)
    assert counts() == before
    text = out.getvalue()
    assert "Growth of the time per row 20 → 40" in text
    results = json.loads(path.read_text())
    for size in ("20", "40"):
        for phase in ("preview", "commit", "repeat"):
            measured = results["sizes"][size][phase]
            assert measured["seconds"] > 0 and measured["peak_mib"] > 0
    assert results["sizes"]["40"]["commit"]["result"] == {"created": 40, "people": 40 + 14 + 2 + 2}
    assert set(results["growth"]) == {"preview", "commit", "repeat"}
