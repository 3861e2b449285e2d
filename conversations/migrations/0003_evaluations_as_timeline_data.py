"""The timeline's "action evaluated" notes held the evaluation's English code ("Weekly
feedback: helped", also in a Dutch timeline): the code becomes data, rendered in the reader's
language, and the note keeps the action's description. Evaluated actions get their
`evaluated_at` from that event."""

from django.db import migrations
from django.utils import timezone

CODES = ("helped", "partly", "not_helped")


def forwards(apps, schema_editor):
    CaseEvent = apps.get_model("cases", "CaseEvent")
    ImprovementAction = apps.get_model("conversations", "ImprovementAction")
    for event in CaseEvent.objects.filter(name="action_evaluated", data={}):
        description, sep, code = event.note.rpartition(": ")
        if sep and code in CODES:
            CaseEvent.objects.filter(pk=event.pk).update(
                note=description, data={"evaluation": code}
            )
            ImprovementAction.objects.filter(
                case_id=event.case_id,
                description=description,
                evaluation=code,
                evaluated_at__isnull=True,
            ).update(evaluated_at=event.at)
    ImprovementAction.objects.filter(evaluated_at__isnull=True).exclude(evaluation="").update(
        evaluated_at=timezone.now()
    )


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0007_issue12_states_and_timeline_data"),
        ("conversations", "0002_follow_ups_and_five_questions"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
