"""The access log moves to the privacy app (issue #14): removed from this app's state only.

The table `cases_accesslog` stays where it is; privacy/migrations/0001 takes the model over
(state only as well) and renames the content type, so its permissions and the privacy officer's
group grant follow."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0005_privacy_officer_group"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="AccessLog")],
            database_operations=[],
        ),
    ]
