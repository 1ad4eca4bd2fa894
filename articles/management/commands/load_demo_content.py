"""Load the demo guides from fixtures/demo.json.

`make run` calls it with --if-empty so a fresh clone shows a working site,
while a database that already holds guides is never touched.
"""

from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from articles.models import Article

DEMO_FIXTURE = Path(settings.BASE_DIR) / "fixtures" / "demo.json"


class Command(BaseCommand):
    help = "Load the demo guides, categories and laws from fixtures/demo.json."

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
        call_command("loaddata", str(DEMO_FIXTURE), verbosity=verbosity)
        if verbosity:
            self.stdout.write(self.style.SUCCESS("Demo content loaded."))
