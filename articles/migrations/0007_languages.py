"""Languages: existing content becomes the English version.

Names and texts of topics, laws and provisions move to their English columns (the
other languages' columns are added empty), and every guide gets its own translation
group, of which it is the only version.
"""

import uuid

from django.conf import settings
from django.db import migrations, models

import articles.models


def give_each_guide_a_group(apps, schema_editor):
    Article = apps.get_model("articles", "Article")
    for pk in Article.objects.values_list("pk", flat=True).iterator():
        Article.objects.filter(pk=pk).update(translation_group=uuid.uuid4())


def move_redirects_under_english(apps, schema_editor):
    """Old public addresses recorded before the language prefix now lead straight to
    the English page, and the same addresses under /en/ lead there too."""
    Redirect = apps.get_model("redirects", "Redirect")
    private = ("/admin/", "/static/", "/preview/", "/.well-known/", "/en/", "/zh-hans/")
    for row in Redirect.objects.all():
        if row.old_path.startswith(private):
            continue
        new_path = f"/en{row.new_path}" if row.new_path.startswith("/") else row.new_path
        if new_path != row.new_path:
            Redirect.objects.filter(pk=row.pk).update(new_path=new_path)
        prefixed = f"/en{row.old_path}"
        if len(prefixed) <= 200:
            Redirect.objects.get_or_create(
                site_id=row.site_id, old_path=prefixed, defaults={"new_path": new_path}
            )


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0006_safety"),
        ("redirects", "0002_alter_redirect_new_path_help_text"),
        ("taggit", "0006_rename_taggeditem_content_type_object_id_taggit_tagg_content_8fc721_idx"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="legalprovision", name="provision_label_unique_per_law"
        ),
        migrations.RenameField("category", "name", "name_en"),
        migrations.RenameField("category", "description", "description_en"),
        migrations.RenameField("law", "name", "name_en"),
        migrations.RenameField("law", "short_name", "short_name_en"),
        migrations.RenameField("legalprovision", "label", "label_en"),
        migrations.RenameField("legalprovision", "text", "text_en"),
        migrations.AddField(
            model_name="article",
            name="translation_group",
            field=models.UUIDField(null=True, editable=False),
        ),
        migrations.RunPython(give_each_guide_a_group, migrations.RunPython.noop),
        migrations.RunPython(move_redirects_under_english, migrations.RunPython.noop),
        migrations.AlterModelOptions(
            name="category",
            options={
                "ordering": ["position", "name_en"],
                "verbose_name": "category",
                "verbose_name_plural": "categories",
            },
        ),
        migrations.AlterModelOptions(
            name="law",
            options={"ordering": ["name_en"], "verbose_name": "law", "verbose_name_plural": "laws"},
        ),
        migrations.AddField(
            model_name="article",
            name="language",
            field=models.CharField(
                choices=articles.models.language_choices,
                default="en",
                help_text="The language this version is written in.",
                max_length=10,
                verbose_name="language",
            ),
        ),
        migrations.AddField(
            model_name="article",
            name="major_change_at",
            field=models.DateTimeField(
                blank=True,
                editable=False,
                help_text="When the content last changed in a way translations must follow.",
                null=True,
                verbose_name="last major change",
            ),
        ),
        migrations.AddField(
            model_name="article",
            name="source_change_followed",
            field=models.DateTimeField(
                blank=True,
                editable=False,
                help_text="For a translation: the source's last major change that this text reflects. An older value means the translation is out of date.",
                null=True,
                verbose_name="source change followed",
            ),
        ),
        migrations.AddField(
            model_name="article",
            name="translated_from",
            field=models.CharField(
                blank=True,
                choices=articles.models.language_choices,
                help_text="The language of the version this one translates; empty for an original.",
                max_length=10,
                verbose_name="translated from",
            ),
        ),
        migrations.AddField(
            model_name="category",
            name="description_zh_hans",
            field=models.TextField(blank=True, verbose_name="description"),
        ),
        migrations.AddField(
            model_name="category",
            name="name_zh_hans",
            field=models.CharField(blank=True, max_length=100, verbose_name="name"),
        ),
        migrations.AddField(
            model_name="law",
            name="authoritative_language",
            field=models.CharField(
                blank=True,
                choices=articles.models.language_choices,
                help_text="The language whose text of the provisions is the official one; the others are translations for reference.",
                max_length=10,
                verbose_name="authoritative text",
            ),
        ),
        migrations.AddField(
            model_name="law",
            name="name_zh_hans",
            field=models.CharField(blank=True, max_length=200, verbose_name="name"),
        ),
        migrations.AddField(
            model_name="law",
            name="short_name_zh_hans",
            field=models.CharField(blank=True, max_length=100, verbose_name="short name"),
        ),
        migrations.AddField(
            model_name="legalprovision",
            name="label_zh_hans",
            field=models.CharField(
                blank=True,
                help_text="For example “Article 23”.",
                max_length=100,
                verbose_name="label",
            ),
        ),
        migrations.AddField(
            model_name="legalprovision",
            name="text_zh_hans",
            field=models.TextField(
                blank=True, help_text="The provision's wording, as plain text.", verbose_name="text"
            ),
        ),
        migrations.AddField(
            model_name="searchdocument",
            name="language",
            field=models.CharField(default="en", max_length=10),
        ),
        migrations.AlterField(
            model_name="article",
            name="slug",
            field=models.SlugField(
                allow_unicode=True,
                help_text="Part of the address, in any script (a Chinese slug is fine). Changing it later is safe: the old address redirects.",
                max_length=150,
                unique=True,
                verbose_name="slug",
            ),
        ),
        migrations.AlterField(
            model_name="article",
            name="translation_group",
            field=models.UUIDField(
                default=uuid.uuid4,
                editable=False,
                help_text="Shared by the language versions of one guide.",
                verbose_name="translation group",
            ),
        ),
        migrations.AddIndex(
            model_name="article",
            index=models.Index(
                fields=["language", "status", "published_at"], name="article_lang_status_pub_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="article",
            index=models.Index(fields=["translation_group"], name="article_translation_group_idx"),
        ),
        migrations.AddConstraint(
            model_name="article",
            constraint=models.UniqueConstraint(
                condition=models.Q(("draft_of__isnull", True)),
                fields=("translation_group", "language"),
                name="article_one_version_per_language",
            ),
        ),
        migrations.AddConstraint(
            model_name="article",
            constraint=models.CheckConstraint(
                condition=models.Q(("translated_from", models.F("language")), _negated=True),
                name="article_not_translated_from_itself",
            ),
        ),
        migrations.AddConstraint(
            model_name="legalprovision",
            constraint=models.UniqueConstraint(
                fields=("law", "label_en"), name="provision_label_unique_per_law"
            ),
        ),
        migrations.AlterField(
            model_name="category",
            name="slug",
            field=models.SlugField(
                help_text="The end of the topic's address, as in /en/pensions/. "
                "Lower case letters, digits and hyphens.",
                max_length=40,
                unique=True,
                validators=[articles.models.validate_not_reserved],
                verbose_name="slug",
            ),
        ),
    ]
