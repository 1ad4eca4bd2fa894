"""Search per language.

- The "Did you mean" vocabulary (SearchTerm) counts words per language, so a page
  proposes only words its own language's guides use. The table is made anew (its
  primary key was the word alone) and filled from the search documents.
- On SQLite, a covering index lets a search check each full-text match's language,
  publish time and topic without reading the document's row (whose long texts come
  first, and whose language column, added last, sits after them). PostgreSQL reads
  those columns from the narrow heap row it fetches anyway (migration 0002 moved the
  long texts out of line).

After upgrading, `manage.py rebuild_search_index` also re-indexes Chinese text per
field (a Chinese title then weighs as a title); search works before it is run.
"""

from collections import Counter

from django.db import migrations, models

SQLITE_LOOKUP_INDEX = "articles_searchdocument_lookup"


def fill_vocabulary(apps, schema_editor):
    from articles.search.text import vocabulary

    SearchDocument = apps.get_model("articles", "SearchDocument")
    SearchTerm = apps.get_model("articles", "SearchTerm")
    counts = Counter()
    documents = SearchDocument.objects.values_list(
        "language", "title", "summary", "keywords", "body"
    )
    for language, *texts in documents.iterator(chunk_size=2000):
        counts.update((language, word) for word in vocabulary(*texts))
    SearchTerm.objects.bulk_create(
        [
            SearchTerm(language=language, word=word, length=len(word), documents=count)
            for (language, word), count in counts.items()
        ],
        batch_size=500,
    )


def create_lookup_index(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {SQLITE_LOOKUP_INDEX} ON articles_searchdocument "
            "(article_id, language, published_at, category_id)"
        )


def drop_lookup_index(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(f"DROP INDEX IF EXISTS {SQLITE_LOOKUP_INDEX}")


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0007_languages"),
    ]

    operations = [
        migrations.DeleteModel(name="SearchTerm"),
        migrations.CreateModel(
            name="SearchTerm",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("language", models.CharField(default="en", max_length=10)),
                ("word", models.CharField(max_length=30)),
                ("length", models.PositiveSmallIntegerField()),
                ("documents", models.IntegerField(default=0)),
            ],
            options={
                "indexes": [
                    models.Index(
                        fields=["language", "length", "-documents"],
                        name="searchterm_lang_length_idx",
                    )
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("language", "word"), name="searchterm_language_word"
                    )
                ],
            },
        ),
        migrations.RunPython(fill_vocabulary, migrations.RunPython.noop),
        migrations.RunPython(create_lookup_index, drop_lookup_index),
        migrations.AlterField(
            model_name="searchdocument",
            name="cjk",
            field=models.TextField(
                blank=True,
                help_text="Bigrams of the CJK text of each field: one line each for title, "
                "summary, keywords and body.",
            ),
        ),
    ]
