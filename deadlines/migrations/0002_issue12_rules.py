"""The deadlines of issue #12 as rows the office edits in the admin (defaults; a missing row
means the default from deadlines.rules.RULES too)."""

from django.db import migrations

DEFAULTS = [
    ("improving_decision", 5, 10),
    ("plan_again", 2, 5),
    ("change_conversation_incomplete", None, 3),
    ("office_decision", 3, None),
]


def create(apps, schema_editor):
    DeadlineRule = apps.get_model("deadlines", "DeadlineRule")
    for key, remind, escalate in DEFAULTS:
        DeadlineRule.objects.get_or_create(
            key=key, defaults={"remind_after": remind, "escalate_after": escalate}
        )


def remove(apps, schema_editor):
    DeadlineRule = apps.get_model("deadlines", "DeadlineRule")
    DeadlineRule.objects.filter(key__in=[key for key, _r, _e in DEFAULTS]).delete()


class Migration(migrations.Migration):
    dependencies = [("deadlines", "0001_initial")]
    operations = [migrations.RunPython(create, remove)]
