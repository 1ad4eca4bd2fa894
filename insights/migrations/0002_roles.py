"""Editors and Publishers read every report and may check links."""

from django.apps import apps as django_apps
from django.db import migrations

PERMISSIONS = [
    ("insights", "view_searchrecord"),
    ("insights", "view_helpfulnessreport"),
    ("insights", "view_linkcheck"),
    ("insights", "check_links"),
]


def grant(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after all migrations; the groups need them now.
    app_config = django_apps.get_app_config("insights")
    original, app_config.models_module = app_config.models_module, True
    create_permissions(app_config, verbosity=0, apps=apps)
    app_config.models_module = original
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    wanted = Permission.objects.filter(
        content_type__app_label="insights", codename__in=[code for _app, code in PERMISSIONS]
    )
    for group in Group.objects.filter(name__in=["Editor", "Publisher"]):
        group.permissions.add(*wanted)


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    wanted = Permission.objects.filter(content_type__app_label="insights")
    for group in Group.objects.filter(name__in=["Editor", "Publisher"]):
        group.permissions.remove(*wanted)


class Migration(migrations.Migration):
    dependencies = [
        ("insights", "0001_records"),
        ("articles", "0004_editorial_workflow"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
