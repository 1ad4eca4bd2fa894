"""Delete recorded searches past their retention.

A recorded search holds no personal data by design, but what citizens type is
their own words, and the report only ever reads the last 90 days: rows older than
SEARCH_RECORD_RETENTION_DAYS serve no one. Run it daily (cron, a systemd timer),
next to purge_feedback.
"""

from django.core.management.base import BaseCommand, CommandError

from insights.searches import purge, retention_days


class Command(BaseCommand):
    help = (
        "Delete recorded searches made before the last --days days, today included "
        "(default: the SEARCH_RECORD_RETENTION_DAYS setting)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help="keep the searches of this many days, today included "
            f"(default {retention_days()})",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="only say how many searches would be deleted"
        )

    def handle(self, *args, days, dry_run, **options):
        days = retention_days() if days is None else days
        if days < 1:
            raise CommandError("--days must be at least 1.")
        first_kept, count = purge(days, dry_run=dry_run)
        verb = "Would delete" if dry_run else "Deleted"
        if options["verbosity"] >= 1:
            self.stdout.write(
                f"{verb} {count} recorded searches from before {first_kept:%Y-%m-%d} "
                f"(kept the last {days} days)."
            )
