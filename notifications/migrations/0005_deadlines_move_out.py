"""DeadlineRule and SchoolHoliday now belong to the deadlines app (deadlines 0001, which
renames their content types): removed from this app's state only, their tables stay."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0004_context_and_attachment"),
        ("deadlines", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="DeadlineRule"),
                migrations.DeleteModel(name="SchoolHoliday"),
            ],
            database_operations=[],
        ),
    ]
