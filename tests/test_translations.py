"""Dutch first, English second: complete catalogues, intact placeholders, Dutch really shown."""

import re
from pathlib import Path

import polib
import pytest
from django.utils import translation

LOCALE = Path(__file__).resolve().parent.parent / "stagebureau" / "locale"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


@pytest.mark.parametrize("language", ["nl", "en"])
def test_the_catalogue_has_no_untranslated_or_fuzzy_entries(language):
    po = polib.pofile(str(LOCALE / language / "LC_MESSAGES" / "django.po"))
    assert len(po) > 400
    assert [e.msgid for e in po.untranslated_entries()] == []
    assert [e.msgid for e in po.fuzzy_entries()] == []


def test_dutch_keeps_every_placeholder():
    po = polib.pofile(str(LOCALE / "nl" / "LC_MESSAGES" / "django.po"))
    for entry in po:
        translations = entry.msgstr_plural.values() if entry.msgid_plural else [entry.msgstr]
        for text in translations:
            assert set(PLACEHOLDER.findall(text)) == set(PLACEHOLDER.findall(entry.msgid)), (
                entry.msgid
            )


def test_refusals_are_dutch_by_default():
    from cases.models import has_improvement_action

    with translation.override("nl"):
        assert str(has_improvement_action.message) == "Spreek minstens één verbeteractie af."
