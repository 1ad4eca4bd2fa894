"""Delete old feedback: comments past their retention, and one-vote-a-day rows
that no longer decide anything. The helpful / not helpful counts stay.

Comments are citizens' own words and may hold personal details despite the
form's advice, so they are kept only as long as editors need them. Run it daily
(cron, a systemd timer).
"""

from django.core.management.base import BaseCommand, CommandError

from articles.feedback import comment_retention_days, purge_old_feedback


class Command(BaseCommand):
    help = (
        "Delete feedback comments older than --days days (default: the "
        "FEEDBACK_COMMENT_RETENTION_DAYS setting) and vote rows older than yesterday."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help="delete comments received more than this many days ago "
            f"(default {comment_retention_days()})",
        )

    def handle(self, *args, days, **options):
        days = comment_retention_days() if days is None else days
        if days < 1:
            raise CommandError("--days must be at least 1.")
        purge = purge_old_feedback(comment_days=days)
        self.stdout.write(
            f"Deleted {purge.comments_deleted} comments received before "
            f"{purge.comments_before:%Y-%m-%d %H:%M %Z} (older than {days} days)."
        )
        self.stdout.write(
            f"Deleted {purge.votes_deleted} vote records from before {purge.votes_before:%Y-%m-%d}."
        )
