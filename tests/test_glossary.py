"""The glossary (docs/glossary.md) stays true: the catalogues use its terms and none of the
words it forbids."""

import re
from pathlib import Path

import polib
import pytest

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "stagebureau" / "locale"
GLOSSARY = ROOT / "docs" / "glossary.md"


def glossary() -> list[dict]:
    text = GLOSSARY.read_text(encoding="utf-8")
    table = text.split("<!-- glossary:start -->")[1].split("<!-- glossary:end -->")[0]
    rows = [line.strip().strip("|").split("|") for line in table.strip().splitlines()]
    header, _rule, *body = rows
    assert [cell.strip() for cell in header] == [
        "Nederlands",
        "English",
        "Definitie",
        "Niet gebruiken",
        "Not in English",
    ]

    def words(cell: str) -> list[str]:
        cell = cell.strip()
        return [] if cell in ("", "—") else [word.strip() for word in cell.split(";")]

    return [
        {
            "nl": nl.strip(),
            "en": en.strip(),
            "definition": definition.strip(),
            "not_nl": words(not_nl),
            "not_en": words(not_en),
        }
        for nl, en, definition, not_nl, not_en in body
    ]


def texts(language: str, *, msgids: bool) -> list[str]:
    po = polib.pofile(str(LOCALE / language / "LC_MESSAGES" / "django.po"))
    found = []
    for entry in po:
        if entry.obsolete:
            continue
        found.extend(entry.msgstr_plural.values() if entry.msgid_plural else [entry.msgstr])
        if msgids:
            found.extend([entry.msgid, entry.msgid_plural] if entry.msgid_plural else [entry.msgid])
    return found


def whole_word(word: str) -> re.Pattern:
    return re.compile(rf"(?<!\w){re.escape(word)}(?!\w)", re.IGNORECASE)


def stem(word: str) -> re.Pattern:
    return re.compile(rf"(?<!\w){re.escape(word)}", re.IGNORECASE)


ENTRIES = glossary()


def test_the_glossary_is_a_table_with_a_definition_for_every_term():
    assert len(ENTRIES) >= 15
    assert all(entry["nl"] and entry["en"] and entry["definition"] for entry in ENTRIES)
    # The policy's words are in it.
    terms = " ".join(entry["nl"] for entry in ENTRIES)
    for word in (
        "stageplek",
        "notitie",
        "wisseling van stageplek",
        "stopzetting",
        "signaleren",
        "bijpraten",
        "verbeteractie",
        "afronding",
    ):
        assert word in terms


@pytest.mark.parametrize(
    ("language", "term_key", "forbidden_key", "msgids"),
    [("nl", "nl", "not_nl", False), ("en", "en", "not_en", True)],
)
def test_the_catalogue_uses_no_forbidden_word(language, term_key, forbidden_key, msgids):
    catalogue = texts(language, msgids=msgids)
    found = {
        word: [text for text in catalogue if whole_word(word).search(text)][:3]
        for entry in ENTRIES
        for word in entry[forbidden_key]
    }
    assert {word: hits for word, hits in found.items() if hits} == {}


@pytest.mark.parametrize(
    ("language", "term_key", "msgids"), [("nl", "nl", False), ("en", "en", True)]
)
def test_every_glossary_term_is_used(language, term_key, msgids):
    catalogue = "\n".join(texts(language, msgids=msgids))
    unused = [entry[term_key] for entry in ENTRIES if not stem(entry[term_key]).search(catalogue)]
    assert unused == []


def test_the_dutch_catalogue_is_complete_and_uses_dutch_quotation_marks():
    po = polib.pofile(str(LOCALE / "nl" / "LC_MESSAGES" / "django.po"))
    assert [e.msgid for e in po.fuzzy_entries()] == []
    assert [e.msgid for e in po.untranslated_entries()] == []
    english_quotes = [e.msgstr for e in po if "“" in e.msgstr or '"' in e.msgstr]
    assert english_quotes == []


def test_the_office_is_het_stagebureau_and_the_application_stagebureau():
    """ "stagebureau" in lower case has its article in front of it, except as a role's name (alone
    or in a list of roles)."""
    bare = re.compile(r"(?<!het )(?<!, )\bstagebureau\b")
    dutch = texts("nl", msgids=False)
    assert [text for text in dutch if bare.search(text) and text != "stagebureau"] == []


@pytest.mark.django_db
def test_the_admin_names_the_sign_in_throttling_in_dutch(admin_client):
    html = admin_client.get("/admin/", HTTP_ACCEPT_LANGUAGE="nl").content.decode()
    assert "Beperking van inlogpogingen" in html
    assert "Mislukte inlogpogingen" in html and "Inlogpogingen" in html
    assert "Access attempts" not in html and "Axes" not in html
