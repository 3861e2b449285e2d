#!/usr/bin/env python3
"""Re-apply the glossary's wording (docs/glossary.md) to the Dutch catalogue, e.g. after a merge
that took another branch's django.po. Idempotent. Then run `scripts/i18n_sync.py` and
`pytest tests/test_glossary.py`, which names whatever is still left.

    .venv/bin/python scripts/glossary_apply.py
"""

from __future__ import annotations

import re
from pathlib import Path

import polib

PO = Path(__file__).resolve().parent.parent / "stagebureau/locale/nl/LC_MESSAGES/django.po"

# msgid -> the Dutch the glossary asks for.
EXPLICIT = {
    "Confidential signal shared by the internship office": "Vertrouwelijke signalering door het "
    "stagebureau gedeeld met de "
    "betrokkenen",
    "This signal is confidential: the internship office shares it with the people involved first.": "Deze "  # noqa: E501
    "signalering "
    "is "
    "vertrouwelijk: "
    "het "
    "stagebureau "
    "deelt "
    "haar "
    "eerst "
    "met "
    "de "
    "betrokkenen.",
    "Only the internship office shares a confidential signal.": "Alleen het stagebureau deelt een "
    "vertrouwelijke signalering met "
    "de betrokkenen.",
    "The signal has been shared; the people on the placement are told.": "De signalering is "
    "gedeeld; de betrokkenen "
    "bij de stageplek "
    "krijgen bericht.",
    "Signalled confidentially; shared with the people involved by the internship office on %(when)s.": "Vertrouwelijk "  # noqa: E501
    "gesignaleerd; "
    "op "
    "%(when)s "
    "door "
    "het "
    "stagebureau "
    "gedeeld "
    "met "
    "de "
    "betrokkenen.",
    "Share the confidential signal": "Deel de vertrouwelijke signalering met de betrokkenen",
    "A closed case is not opened.": "Een gesloten casus wordt niet gedeeld.",
    "Summary read by the briefed person": "Samenvatting gelezen door wie is bijgepraat",
    "Working days waiting": "Wachttijd in werkdagen",
    "Cases over time": "Casussen per maand",
    "all-party change conversation": "gesprek met alle betrokkenen over wisseling",
    "Change request": "Verzoek tot wisseling",
    "Your note": "Jouw notitie",
    "warn 'due soon' this many working days before": "zoveel werkdagen vooraf waarschuwen "
    "„termijn verstrijkt binnenkort”",
    "overdue": "te laat",
    "due soon": "termijn verstrijkt binnenkort",
    "overdue, escalated to the office": "te laat, doorgezet naar het stagebureau",
    "[Stagebureau] Due soon: %(step)s — case %(number)s": "[Stagebureau] Termijn verstrijkt "
    "binnenkort: %(step)s — casus "
    "%(number)s",
    "[Stagebureau] Overdue: %(step)s — case %(number)s": "[Stagebureau] Te laat: %(step)s — casus "
    "%(number)s",
    "A step in case %(number)s is overdue: %(step)s.": "Een stap in casus %(number)s is te laat: "
    "%(step)s.",
    "A step in case %(number)s is due soon: %(step)s.": "De termijn van een stap in casus "
    "%(number)s verstrijkt binnenkort: "
    "%(step)s.",
    "Only with an overdue step": "Alleen met een stap die te laat is",
    "This upload is no longer available (confirmed, replaced or expired).": "Deze upload is niet "
    "meer beschikbaar "
    "(bevestigd, "
    "vervangen of niet "
    "meer geldig).",
    "Overdue and due soon, most urgent first": "Te laat en termijn verstrijkt binnenkort, meest "
    "urgent eerst",
    "All cases with an overdue step": "Alle casussen met een stap die te laat is",
    "Nothing is overdue or due soon.": "Niets is te laat en geen termijn verstrijkt binnenkort.",
    "expires at": "geldig tot",
    "awaiting new placement or stop": "wacht op nieuwe stageplek of stopzetting",
    "Record the stop first (temporary or definitive).": "Leg eerst de stopzetting vast "
    "(onderbreking of definitief).",
    "Request a change of placement or a stop": "Wisseling van stageplek of stopzetting aanvragen",
    "Record a (temporary) stop": "Stopzetting of onderbreking vastleggen",
    "New placement or stop recorded": "Nieuwe stageplek of stopzetting vastgelegd",
    "Awaiting a new placement or stop": "Wacht op een nieuwe stageplek of stopzetting",
    "Temporary stop": "Onderbreking",
    "Definitive stop": "Definitieve stopzetting",
    "Stop": "Stopzetting",
    "Kind of stop": "Soort stopzetting",
    "Required for a temporary stop.": "Verplicht bij een onderbreking.",
    "temporary stop": "onderbreking",
    "stop": "stopzetting",
    "A temporary stop needs an expected resume date.": "Een onderbreking heeft een verwachte "
    "hervattingsdatum nodig.",
    "The stop has been recorded.": "De stopzetting is vastgelegd.",
    "Record the stop": "Stopzetting vastleggen",
    "everyone agrees to stop": "iedereen is het eens met stopzetten",
    "change placement or stop": "wisselen van stageplek of stopzetten",
    "The wrap-up is recorded once a transfer or stop is decided.": "De afronding wordt vastgelegd "
    "zodra tot overplaatsing of "
    "stopzetting is besloten.",
    "Open actions": "Openstaande verbeteracties",
    "open actions": "openstaande verbeteracties",
    "Add the action": "Verbeteractie toevoegen",
    "Add another action": "Nog een verbeteractie toevoegen",
    "Share it with the people involved": "Delen met de betrokkenen",
    "internship office informed": "het stagebureau ingelicht",
    "office contacted at": "contact met het stagebureau op",
    "office contacted by": "contact met het stagebureau door",
}
# An empty msgstr filled (django-axes' strings, new msgids of the glossary branch).
FILL = {
    "Sign-in throttling": "Beperking van inlogpogingen",
    "access failure": "mislukte inlogpoging",
    "access failures": "mislukte inlogpogingen",
    "access attempt": "inlogpoging",
    "access attempts": "inlogpogingen",
    "Access Attempt": "Inlogpoging",
    "access attempt expiration": "vervallen van een inlogpoging",
    "access attempt expirations": "vervallen van inlogpogingen",
    "access log": "inloglog",
    "access logs": "inloglogs",
    "User Agent": "Browser (user agent)",
    "IP Address": "IP-adres",
    "Username": "Gebruikersnaam",
    "HTTP Accept": "HTTP Accept",
    "Path": "Pad",
    "Attempt Time": "Tijdstip van de poging",
    "Access lock out": "Geblokkeerd",
    "GET Data": "GET-gegevens",
    "POST Data": "POST-gegevens",
    "Failed Logins": "Mislukte inlogpogingen",
    "Expires At": "Geldig tot",
    "The time when access attempt expires and is no longer valid.": "Het tijdstip waarop de "
    "inlogpoging niet meer "
    "meetelt.",
    "Logout Time": "Tijdstip van uitloggen",
    "Session key hash (sha256)": "Hash van de sessiesleutel (sha256)",
    "Locked Out": "Geblokkeerd",
    "Form Data": "Formuliergegevens",
    "Meta Data": "Metagegevens",
    "Clean up expired attempts": "Inlogpogingen die niet meer meetellen opruimen",
    "Not set": "Niet ingesteld",
    "Attempt Remaining": "Poging(en) over",
    "closed with the case": "gesloten met de casus",
    "Open improvement actions closed with the case": "Openstaande verbeteracties gesloten met de "
    "casus",
    "“%(text)s”": "„%(text)s”",
}
# Word-level replacements in every msgstr.
GENERIC = [
    ("\\bstageplaatsen\\b", "stageplekken"),
    ("\\bStageplaatsen\\b", "Stageplekken"),
    ("\\bstageplaats\\b", "stageplek"),
    ("\\bStageplaats\\b", "Stageplek"),
    ("\\bgehouden\\b", "gevoerd"),
    ("\\bgemeld\\b", "gesignaleerd"),
    ("\\bcoördinerend schoolopleider\\b", "bovenschools schoolopleider"),
    ("\\bwijzigingsverzoek\\b", "verzoek tot wisseling"),
    ("“", "„"),
    ("\\bof stagebureau\\b", "of het stagebureau"),
    ("\\bstelt (\\w+) open\\b", "deelt \\1 met de betrokkenen"),
    ("\\bhaar openstelt voor\\b", "haar deelt met"),
]
# The semester import's column names are a file format: they keep "coördinerend".
KEEP_HEADER = {"Coordinating school trainer", "Coordinating school trainer e-mail"}


def melding(match: re.Match, notification: bool) -> str:
    first, plural = match.group(1), match.group(2) or ""
    if notification:
        return ("B" if first == "M" else "b") + "ericht" + plural
    return ("S" if first == "M" else "s") + "ignalering" + plural


def main() -> int:
    po = polib.pofile(str(PO), wrapwidth=0)
    changed = 0
    for entry in po:
        if entry.obsolete:
            continue
        forms = [None] if not entry.msgid_plural else sorted(entry.msgstr_plural)
        for key in forms:
            old = entry.msgstr if key is None else entry.msgstr_plural[key]
            new = old
            if key is None and entry.msgid in EXPLICIT:
                new = EXPLICIT[entry.msgid]
            if key is None and not new and entry.msgid in FILL:
                new = FILL[entry.msgid]
            for pattern, replacement in GENERIC:
                if entry.msgid in KEEP_HEADER and "coördinerend" in pattern:
                    continue
                new = re.sub(pattern, replacement, new)
            notification = "otification" in entry.msgid or entry.msgid == "Inbox"
            new = re.sub(r"\b([Mm])elding(en)?\b", lambda m, n=notification: melding(m, n), new)
            new = re.sub(r"\b(een|de) stop\b", r"\1 stopzetting", new)
            if new != old:
                changed += 1
                if key is None:
                    entry.msgstr = new
                else:
                    entry.msgstr_plural[key] = new
    po.save(str(PO))
    print(f"glossary_apply: {changed} Dutch entries changed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
