from django.db import migrations

# The defaults of process.md ("Deadlines the office monitors"); the office edits them in the admin.
DEFAULTS = [
    ("first_conversation", 3, 5),
    ("conversation_held", 1, 3),
    ("briefing", 2, 5),
    ("student_note", 3, None),
    ("action_done", 0, 5),
    ("office_contact", 2, 3),
    ("change_conversation_planned", None, 5),
    ("change_conversation_held", None, 15),
    ("outcome", 2, 5),
    ("isop_advice", 5, 10),
    ("placement", 10, None),
    ("handover", 3, 5),
    ("resume", -10, None),
]


def create(apps, schema_editor):
    DeadlineRule = apps.get_model("notifications", "DeadlineRule")
    for key, remind, escalate in DEFAULTS:
        DeadlineRule.objects.get_or_create(
            key=key, defaults={"remind_after": remind, "escalate_after": escalate}
        )


class Migration(migrations.Migration):
    dependencies = [("notifications", "0002_deadlines")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
