"""The access log, moved here from the cases app (issue #14) with its table.

State only: the table `cases_accesslog` (with its rows and indexes) is the one cases/0003 made;
`db_table` keeps its name. The content type row `cases.accesslog` becomes `privacy.accesslog`,
so the permissions stay the same rows, the group "Privacyfunctionaris" (cases/0005) keeps its
grant, and the permission is now `privacy.view_accesslog`.

Works on a fresh database (cases/0005 has just made the row) and on one migrated before the
move (the row exists since then). Should a `privacy.accesslog` row exist already (e.g. made by
a post_migrate run in between), the old row's permissions and grants are merged into it."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def _rename(apps, schema_editor, old_label, new_label):
    db = schema_editor.connection.alias
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    old = ContentType.objects.using(db).filter(app_label=old_label, model="accesslog").first()
    if old is None:
        return  # nothing to carry over; post_migrate makes the row and the permissions
    new = ContentType.objects.using(db).filter(app_label=new_label, model="accesslog").first()
    if new is None:
        old.app_label = new_label
        old.save(update_fields=["app_label"])
        return
    for permission in Permission.objects.using(db).filter(content_type=old):
        twin = Permission.objects.using(db).filter(
            content_type=new, codename=permission.codename
        ).first()
        if twin is None:
            permission.content_type = new
            permission.save(update_fields=["content_type"])
            continue
        twin.group_set.add(*permission.group_set.all())
        twin.user_set.add(*permission.user_set.all())
        permission.delete()
    old.delete()


def to_privacy(apps, schema_editor):
    _rename(apps, schema_editor, "cases", "privacy")


def to_cases(apps, schema_editor):
    _rename(apps, schema_editor, "privacy", "cases")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        # cases/0005 made the content type row and the group; 0006 let go of the model.
        ("cases", "0006_accesslog_to_privacy"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="AccessLog",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("at", models.DateTimeField(db_index=True, default=django.utils.timezone.now, verbose_name="time")),
                        ("username", models.CharField(blank=True, max_length=150, verbose_name="username")),
                        ("kind", models.CharField(choices=[("view", "viewed"), ("export", "exported or downloaded"), ("change", "submitted a form"), ("refused", "refused (security event)")], max_length=20, verbose_name="kind")),
                        ("page", models.CharField(blank=True, max_length=100, verbose_name="page")),
                        ("path", models.CharField(blank=True, max_length=300, verbose_name="address")),
                        ("method", models.CharField(blank=True, max_length=10)),
                        ("status", models.PositiveSmallIntegerField(blank=True, null=True, verbose_name="response status")),
                        ("case", models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name="+", to="cases.case", verbose_name="case")),
                        ("student", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL, verbose_name="student")),
                        ("user", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL, verbose_name="user")),
                    ],
                    options={
                        "verbose_name": "access log entry",
                        "verbose_name_plural": "access log",
                        "db_table": "cases_accesslog",
                        "ordering": ["-at", "-pk"],
                        "indexes": [
                            models.Index(fields=["student", "-at"], name="access_log_student_at"),
                            models.Index(fields=["case", "-at"], name="access_log_case_at"),
                            models.Index(condition=models.Q(("kind", "refused")), fields=["-at"], name="access_log_refused_at"),
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(to_privacy, to_cases),
    ]
