"""Searches recorded before numbers separated by commas or underscores, and full-width
digits and ＠, were masked: masked now, as new ones are (insights.searches.normalise).

It imports normalise itself rather than a frozen copy: masking is a privacy rule, and a
later, stricter rule applied by this migration on an old database is what we want."""

from django.db import migrations

BATCH = 2000


def mask_again(apps, schema_editor):
    from insights.searches import normalise

    SearchRecord = apps.get_model("insights", "SearchRecord")
    changed = []
    for record in SearchRecord.objects.only("pk", "query").iterator(chunk_size=BATCH):
        masked = normalise(record.query)
        if masked != record.query:
            record.query = masked
            changed.append(record)
        if len(changed) >= BATCH:
            SearchRecord.objects.bulk_update(changed, ["query"])
            changed = []
    SearchRecord.objects.bulk_update(changed, ["query"])


class Migration(migrations.Migration):
    dependencies = [("insights", "0002_roles")]

    operations = [migrations.RunPython(mask_again, migrations.RunPython.noop)]
