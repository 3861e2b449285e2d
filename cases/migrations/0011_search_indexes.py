"""The office's search (#17): an exact student number or username goes straight to its row;
on PostgreSQL the names are found through pg_trgm GIN indexes on UPPER(name), the expression
Django's icontains compares. SQLite keeps a plain scan: the trigram part does nothing there."""

import django.db.models.functions.text
from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations, models

TRIGRAM_INDEXES = {
    "user_first_name_trgm": "first_name",
    "user_last_name_trgm": "last_name",
}


def create_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, column in TRIGRAM_INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON cases_user "
            f"USING gin (UPPER({column}::text) gin_trgm_ops)"
        )


def drop_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in TRIGRAM_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0010_placement_is_final_lio"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="user",
            index=models.Index(fields=["student_number"], name="user_student_number"),
        ),
        migrations.AddIndex(
            model_name="user",
            index=models.Index(
                django.db.models.functions.text.Upper("username"), name="user_username_upper"
            ),
        ),
        TrigramExtension(),  # a no-op on any database but PostgreSQL
        migrations.RunPython(create_trigram_indexes, drop_trigram_indexes, elidable=False),
    ]
