"""Change notes citizens can see (ChangeNote) and the date a guide was last reviewed
(Article.reviewed_at).

Both groups may see, reword and delete a guide's notes (the change form's "Updates
shown to citizens") where they may change the guide itself (articles.workflow.
check_edit: an Editor only on drafts). Nobody adds one there: a note is written with
the edit it describes (the change form's "Public change note")."""

import django.db.models.deletion
import django.utils.timezone
from django.apps import apps as django_apps
from django.db import migrations, models

NOTE_PERMISSIONS = ["view_changenote", "change_changenote", "delete_changenote"]
PERMISSIONS = {"Editor": NOTE_PERMISSIONS, "Publisher": NOTE_PERMISSIONS}


def grant(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after all migrations; the groups need them now.
    app_config = django_apps.get_app_config("articles")
    original, app_config.models_module = app_config.models_module, True
    create_permissions(app_config, verbosity=0, apps=apps)
    app_config.models_module = original
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group in Group.objects.filter(name__in=list(PERMISSIONS)):
        group.permissions.add(
            *Permission.objects.filter(
                content_type__app_label="articles", codename__in=PERMISSIONS[group.name]
            )
        )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    codenames = {codename for wanted in PERMISSIONS.values() for codename in wanted}
    for group in Group.objects.filter(name__in=list(PERMISSIONS)):
        group.permissions.remove(
            *Permission.objects.filter(content_type__app_label="articles", codename__in=codenames)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0009_revision_schedule_index"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.AddField(
            model_name="article",
            name="reviewed_at",
            field=models.DateField(
                blank=True,
                editable=False,
                help_text="When someone last checked that the guide is still true; shown to citizens.",
                null=True,
                verbose_name="last reviewed",
            ),
        ),
        migrations.CreateModel(
            name="ChangeNote",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "note",
                    models.CharField(
                        help_text="Plain words for citizens, for example “New fees from 1 July”.",
                        max_length=250,
                        verbose_name="what changed",
                    ),
                ),
                (
                    "made_at",
                    models.DateTimeField(default=django.utils.timezone.now, verbose_name="date"),
                ),
                (
                    "article",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="change_notes",
                        to="articles.article",
                        verbose_name="guide",
                    ),
                ),
            ],
            options={
                "verbose_name": "change note",
                "verbose_name_plural": "updates shown to citizens",
                "ordering": ["-made_at", "-pk"],
                "get_latest_by": "made_at",
                "indexes": [
                    models.Index(fields=["article", "-made_at"], name="change_note_recent_idx")
                ],
            },
        ),
        migrations.RunPython(grant, revoke),
    ]
