"""DeadlineRule and SchoolHoliday move from notifications to deadlines: state only.

The tables keep their names (db_table), so no row moves. Their content types are renamed to
the new app label, so the permissions, the groups' grants and the admin's history follow.
notifications 0005 then removes the models from its own state (after this one), and the data
migration notifications 0003 (the default rules) stays where it is: it runs before this one.
"""

from django.db import migrations, models

MODELS = ["deadlinerule", "schoolholiday"]


def relabel(old: str, new: str):
    def run(apps, schema_editor):
        ContentType = apps.get_model("contenttypes", "ContentType")
        db = schema_editor.connection.alias
        types = ContentType.objects.using(db)
        for model in MODELS:
            if not types.filter(app_label=old, model=model).exists():
                continue
            # A content type of the new label made in between (post_migrate after a migration
            # back and forth) holds only the default permissions: the old one, with the grants
            # and the admin's history, takes its place.
            types.filter(app_label=new, model=model).delete()
            types.filter(app_label=old, model=model).update(app_label=new)

    return run


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("notifications", "0004_context_and_attachment"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="DeadlineRule",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "key",
                            models.CharField(max_length=40, unique=True, verbose_name="deadline"),
                        ),
                        (
                            "remind_after",
                            models.SmallIntegerField(
                                blank=True,
                                help_text=(
                                    "Negative: that many working days before the date "
                                    "(resume). Empty: no reminder."
                                ),
                                null=True,
                                verbose_name="remind after (working days)",
                            ),
                        ),
                        (
                            "escalate_after",
                            models.SmallIntegerField(
                                blank=True,
                                help_text="Empty: no escalation.",
                                null=True,
                                verbose_name="escalate to the office after (working days)",
                            ),
                        ),
                        (
                            "due_soon_before",
                            models.PositiveSmallIntegerField(
                                default=1,
                                verbose_name="warn 'due soon' this many working days before",
                            ),
                        ),
                        ("active", models.BooleanField(default=True, verbose_name="active")),
                    ],
                    options={
                        "verbose_name": "deadline rule",
                        "verbose_name_plural": "deadline rules",
                        "db_table": "notifications_deadlinerule",
                        "ordering": ["key"],
                    },
                ),
                migrations.CreateModel(
                    name="SchoolHoliday",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "region",
                            models.CharField(
                                choices=[("noord", "north"), ("midden", "middle"), ("zuid", "south")],
                                max_length=10,
                                verbose_name="region",
                            ),
                        ),
                        ("name", models.CharField(max_length=100, verbose_name="name")),
                        ("start_date", models.DateField(verbose_name="first day")),
                        ("end_date", models.DateField(verbose_name="last day")),
                    ],
                    options={
                        "verbose_name": "school holiday",
                        "verbose_name_plural": "school holidays",
                        "db_table": "notifications_schoolholiday",
                        "ordering": ["start_date", "region"],
                        "constraints": [
                            models.CheckConstraint(
                                condition=models.Q(("end_date__gte", models.F("start_date"))),
                                name="school_holiday_end_after_start",
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(
            relabel("notifications", "deadlines"), relabel("deadlines", "notifications")
        ),
    ]
