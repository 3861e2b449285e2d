"""Existing records into the machine of issue #12 (data only).

- A transferred case is about its old placement again: `placement` is the first transfer's
  origin and `new_placement` the last transfer's destination (before, the case moved to the new
  placement, so the new school's staff saw the old school's case file).
- The kind of change each case is on (`change_kind`), from its latest change request, so a stop
  request reads as a stop request.
- A temporary stop that was resumed closed as "stopped": it is "resumed" now, with the resume
  date it was recorded on.
- Wrap-ups recorded before they had to be agreed by both count as agreed when recorded.
- The timeline's notes that were words of one language ("change of placement", an outcome, an
  advice) become data rendered in the reader's language; the notes are emptied when they hold
  nothing else.
"""

from django.db import migrations
from django.utils import translation

CHANGE_PATH_STATES = (
    "change_requested",
    "office_informed",
    "change_conversation_planned",
    "change_conversation_incomplete",
    "outcome_pending",
    "isop_advice",
    "decision_pending",
    "transfer_requested",
    "handover",
    "stopped",
    "closed_transferred",
    "closed_stopped",
    "closed_resumed",
)
KIND_WORDS = {
    "transfer": ("change of placement", "wisseling van stageplek", "wisseling van stageplaats"),
    "stop_temporary": ("temporary stop", "tijdelijke stop"),
    "stop": ("stop",),
}


def _words(text: str) -> set[str]:
    found = {text}
    for language in ("en", "nl"):
        with translation.override(language):
            found.add(str(translation.gettext(text)))
    return {w.strip().lower() for w in found}


def forwards(apps, schema_editor):
    Case = apps.get_model("cases", "Case")
    CaseEvent = apps.get_model("cases", "CaseEvent")
    Transfer = apps.get_model("transfers", "Transfer")
    ChangeRequest = apps.get_model("transfers", "ChangeRequest")
    Stop = apps.get_model("transfers", "Stop")
    WrapUp = apps.get_model("transfers", "WrapUp")
    OutcomeReport = apps.get_model("transfers", "OutcomeReport")
    IsopAdvice = apps.get_model("transfers", "IsopAdvice")

    by_case: dict[int, list] = {}
    for transfer in Transfer.objects.filter(applied_at__isnull=False).order_by("recorded_at", "pk"):
        by_case.setdefault(transfer.case_id, []).append(transfer)
    for case_id, transfers in by_case.items():
        Case.objects.filter(pk=case_id).update(
            placement_id=transfers[0].from_placement_id,
            new_placement_id=transfers[-1].to_placement_id,
        )

    for case in Case.objects.filter(state__in=CHANGE_PATH_STATES, change_kind=""):
        latest = ChangeRequest.objects.filter(case_id=case.pk).order_by("-created_at", "-pk").first()
        kind = latest.kind if latest else ""
        if case.state in ("stopped", "closed_stopped", "closed_resumed") and kind not in (
            "stop_temporary",
            "stop",
        ):
            kind = "stop_temporary" if case.state == "stopped" else "stop"
        if kind:
            Case.objects.filter(pk=case.pk).update(change_kind=kind)

    resumed = Stop.objects.filter(resumed_at__isnull=False)
    for stop in resumed:
        if stop.resumed_on is None:
            Stop.objects.filter(pk=stop.pk).update(resumed_on=stop.resumed_at.date())
    Case.objects.filter(state="closed_stopped", stops__resumed_at__isnull=False).update(
        state="closed_resumed", change_kind="stop_temporary"
    )

    for wrap_up in WrapUp.objects.filter(confirmed_at__isnull=True):
        WrapUp.objects.filter(pk=wrap_up.pk).update(confirmed_at=wrap_up.recorded_at)

    kind_words = {w: kind for kind, words in KIND_WORDS.items() for t in words for w in _words(t)}
    outcome_words = {}
    for code, text in (
        ("agree_transfer", "everyone agrees to transfer"),
        ("agree_stop", "everyone agrees to stop"),
        ("continue", "continue at this placement"),
        ("opinions_differ", "opinions differ"),
    ):
        outcome_words.update(dict.fromkeys(_words(text), code))
    advice_words = {}
    for code, text in (
        ("transfer", "change placement or stop"),
        ("continue", "continue at this placement"),
    ):
        advice_words.update(dict.fromkeys(_words(text), code))

    for event in CaseEvent.objects.filter(
        name__in=("request_change", "report_outcome", "give_advice"), data={}
    ):
        note = event.note.strip().lower()
        data, clear = {}, False
        if event.name == "request_change":
            request = (
                ChangeRequest.objects.filter(case_id=event.case_id, created_at__lte=event.at)
                .order_by("-created_at", "-pk")
                .first()
            )
            kind = request.kind if request else kind_words.get(note)
            if kind:
                data, clear = {"kind": kind}, note in kind_words
        elif event.name == "report_outcome":
            report = (
                OutcomeReport.objects.filter(case_id=event.case_id, reported_at__lte=event.at)
                .order_by("-reported_at", "-pk")
                .first()
            )
            outcome = report.outcome if report else outcome_words.get(note)
            if outcome:
                data, clear = {"outcome": outcome}, note in outcome_words
        else:
            advice = (
                IsopAdvice.objects.filter(case_id=event.case_id, given_at__lte=event.at)
                .exclude(decision="")
                .order_by("-given_at", "-pk")
                .first()
            )
            code = advice.decision if advice else advice_words.get(note)
            if code:
                data, clear = {"advice": code}, note in advice_words
        if data:
            values = {"data": data}
            if clear:
                values["note"] = ""
            CaseEvent.objects.filter(pk=event.pk).update(**values)


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0007_issue12_states_and_timeline_data"),
        ("transfers", "0002_decisions_wrap_up_agreement_stops"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
