"""Load the demo guides: fixtures/demo.json (topics and the law in every language,
the English guides) and fixtures/demo-zh-hans.json (their Simplified Chinese versions).

`make run` calls it with --if-empty so a fresh clone shows a working site,
while a database that already holds guides is never touched. Both files load in one
transaction (loaddata's), so the save signals index every guide, in both languages,
once it commits.
"""

from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from articles.models import Article

FIXTURES_DIR = Path(settings.BASE_DIR) / "fixtures"
# Shared rows and the English guides first; each other language's guides after.
DEMO_FIXTURES = [FIXTURES_DIR / "demo.json", FIXTURES_DIR / "demo-zh-hans.json"]


class Command(BaseCommand):
    help = "Load the demo guides (English and Simplified Chinese), categories and laws."

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing when the database already holds a guide.",
        )

    def handle(self, *args, if_empty=False, verbosity=1, **options):
        if if_empty and Article.objects.exists():
            if verbosity:
                self.stdout.write("Guides already exist; demo content not loaded.")
            return
        call_command("loaddata", *map(str, DEMO_FIXTURES), verbosity=verbosity)
        if verbosity:
            self.stdout.write(self.style.SUCCESS("Demo content loaded."))
