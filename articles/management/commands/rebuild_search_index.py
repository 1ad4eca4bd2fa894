"""Rebuild the full-text search index from the guides.

Day to day the index follows every save by itself (articles/signals.py); this
command is for recovery, after a bulk import, or after changing how guides are
indexed (after migration 0008, for instance: Chinese text is then indexed field by
field, so a Chinese title weighs as a title). Every language is rebuilt, each guide
with its own language's words and law names.
"""

from django.core.management.base import BaseCommand

from articles.search.indexing import rebuild_index


class Command(BaseCommand):
    help = "Drop and rebuild the search index of all published and scheduled guides."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=2000)

    def handle(self, *args, batch_size, verbosity=1, **options):
        def progress(done, total):
            if verbosity > 1:
                self.stdout.write(f"  {done}/{total}")

        indexed = rebuild_index(batch_size=batch_size, progress=progress)
        if verbosity:
            self.stdout.write(self.style.SUCCESS(f"Indexed {indexed} guides."))
