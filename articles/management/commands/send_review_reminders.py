"""E-mail each guide owner one digest of their guides due for review: published guides
whose review date has come (today included) or that a change in a law they cite
flagged (Article.objects.due_for_review, the list the admin index shows each owner).
Each guide is listed with the reason and an absolute link to its change form
(SITE_URL), in the site's default language (the project stores no language per user).

Safe to run daily from cron or a systemd timer: it changes nothing, it only reads
the guides and sends one message per owner, so a daily run sends each owner at most
one reminder a day, and a run that failed half-way can simply be run again. Owners
without an e-mail address, or no longer active, get nothing and are reported; a
message the mail server refused is reported and makes the command exit non-zero
(cron mails that). For example, every morning at 7:

    0 7 * * *  cd /srv/helpcentre && .venv/bin/python manage.py send_review_reminders

E-mail goes through Django's e-mail framework: printed to standard output by default
(EMAIL_BACKEND=console), sent with EMAIL_BACKEND=smtp and EMAIL_HOST (see settings).
"""

from dataclasses import dataclass, field
from smtplib import SMTPException

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

from articles.models import Article
from articles.seo import site_name


@dataclass
class Digest:
    owner: object
    guides: list = field(default_factory=list)


class Command(BaseCommand):
    help = (
        "E-mail each owner of guides due for review (review date come, or a cited law "
        "changed) one message listing them with links to the admin. Run it daily."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="say who would get a reminder and about how many guides; send nothing",
        )

    def handle(self, *args, dry_run=False, verbosity=1, **options):
        today = timezone.localdate()
        digests, unowned = self.due_by_owner(today)
        ready, skipped = [], []
        for digest in digests:
            if not digest.owner.is_active:
                skipped.append((digest, "no longer active"))
            elif not digest.owner.email:
                skipped.append((digest, "no e-mail address"))
            else:
                ready.append(digest)

        failed = [] if dry_run else self.send(ready, today)
        sent = [digest for digest in ready if all(digest is not d for d, _e in failed)]

        verb = "Would send" if dry_run else "Sent"
        guide_count = sum(len(digest.guides) for digest in sent)
        self.stdout.write(
            f"{verb} {len(sent)} review reminder(s) about {guide_count} guide(s) due "
            f"for review on {today:%Y-%m-%d}."
        )
        if verbosity >= 2 or (dry_run and verbosity >= 1):
            for digest in sent:
                self.stdout.write(
                    f"  {digest.owner.get_username()} <{digest.owner.email}>: "
                    f"{len(digest.guides)} guide(s)"
                )
        for digest, reason in skipped:
            self.stdout.write(
                self.style.WARNING(
                    f"Skipped {digest.owner.get_username()} ({reason}): "
                    f"{len(digest.guides)} guide(s) due for review."
                )
            )
        if unowned:
            self.stdout.write(
                self.style.WARNING(
                    f"{unowned} guide(s) due for review have no owner: give them one in the admin."
                )
            )
        for digest, error in failed:
            self.stderr.write(
                self.style.ERROR(f"Not sent to {digest.owner.get_username()}: {error}")
            )
        if failed:
            raise CommandError(f"{len(failed)} review reminder(s) could not be sent.")

    def due_by_owner(self, today) -> tuple[list[Digest], int]:
        """The due guides grouped by owner (owners by user name), in one query; and how
        many due guides have no owner."""
        due = Article.objects.due_for_review(today).select_related("owner")
        by_owner, unowned = {}, 0
        for guide in due.only("pk", "title", "review_by", "needs_review", "owner"):
            if guide.owner is None:
                unowned += 1
                continue
            by_owner.setdefault(guide.owner.pk, Digest(guide.owner)).guides.append(guide)
        digests = sorted(by_owner.values(), key=lambda digest: digest.owner.get_username())
        return digests, unowned

    def send(self, digests, today) -> list[tuple[Digest, Exception]]:
        """Send each digest over one connection; the ones that failed, with why."""
        if not digests:
            return []
        failed = []
        connection = get_connection()
        try:
            connection.open()
        except (SMTPException, OSError) as error:
            return [(digest, error) for digest in digests]
        try:
            for digest in digests:
                try:
                    self.message(digest, today, connection).send()
                except (SMTPException, OSError) as error:
                    failed.append((digest, error))
        finally:
            connection.close()
        return failed

    def message(self, digest, today, connection) -> EmailMessage:
        with translation.override(settings.LANGUAGE_CODE):
            subject, body = reminder_text(digest, today)
        return EmailMessage(
            subject=subject,
            body=body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[digest.owner.email],
            connection=connection,
        )


def reminder_text(digest: Digest, today) -> tuple[str, str]:
    """The subject and plain-text body of one owner's reminder, in the active language."""
    count = len(digest.guides)
    date_format = pgettext("date format: PHP-style letters of Django's date filter", "j F Y")
    subject = ngettext(
        "%(site)s: %(count)d guide of yours is due for review",
        "%(site)s: %(count)d guides of yours are due for review",
        count,
    ) % {"site": site_name(), "count": count}
    name = digest.owner.get_full_name() or digest.owner.get_username()
    lines = [
        _("Hello %(name)s,") % {"name": name},
        "",
        ngettext(
            "This guide of yours is due for review. Check that it is still true, then "
            "use the action “Mark as reviewed” in the guide list, or change the guide.",
            "These %(count)d guides of yours are due for review. Check that each is still "
            "true, then use the action “Mark as reviewed” in the guide list, or change it.",
            count,
        )
        % {"count": count},
        "",
    ]
    for guide in digest.guides:
        lines.append(f"- {guide.title}")
        if guide.needs_review:
            lines.append(
                "  "
                + _("A law it cites changed: a Publisher checks it and uses “Confirm reviewed”.")
            )
        if guide.review_by is not None and guide.review_by <= today:
            day = formats.date_format(guide.review_by, date_format)
            lines.append("  " + _("Review date: %(day)s.") % {"day": day})
        path = reverse("admin:articles_article_change", args=[guide.pk])
        lines.extend([f"  {settings.SITE_URL}{path}", ""])
    lines.append(
        _("You get this message because you are the owner of these guides in %(site)s.")
        % {"site": site_name()}
    )
    return subject, "\n".join(lines) + "\n"
