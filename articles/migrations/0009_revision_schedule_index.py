"""An index of draft revisions by status and publish time, for the schedule of
revisions (workflow.next_revision_due): partial, so it holds only draft revisions
and costs nothing for the guides themselves."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0008_search_languages"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="article",
            index=models.Index(
                condition=models.Q(("draft_of__isnull", False)),
                fields=["status", "published_at"],
                name="article_revision_due_idx",
            ),
        ),
    ]
