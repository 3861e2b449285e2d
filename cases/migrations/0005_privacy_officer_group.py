"""The privacy officer: a group "Privacyfunctionaris" holding `cases.view_accesslog`.

The permission is created here (get_or_create) because Django creates model permissions only
after all migrations have run (post_migrate)."""

from django.db import migrations

GROUP = "Privacyfunctionaris"


def create_group(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    content_type, _created = ContentType.objects.get_or_create(app_label="cases", model="accesslog")
    permission, _created = Permission.objects.get_or_create(
        content_type=content_type,
        codename="view_accesslog",
        defaults={"name": "Can view access log entry"},
    )
    group, _created = Group.objects.get_or_create(name=GROUP)
    group.permissions.add(permission)


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        # 0004 (an index) was added by the dashboard's work in parallel; one leaf, no merge.
        ("cases", "0004_case_waiting_index"),
    ]

    operations = [migrations.RunPython(create_group, remove_group)]
