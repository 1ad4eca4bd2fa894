"""Check the links of published guides and the official sources of laws, and keep
the results for the admin's link report (insights.links). Run it weekly (cron, a
systemd timer); it is a report, so it exits 0 unless --fail-on-broken.
"""

from django.core.management.base import BaseCommand, CommandError

from articles.models import Article, Law
from insights import links
from insights.models import LinkCheck

Status = LinkCheck.Status


class Command(BaseCommand):
    help = (
        "Check every link in published guides' sections and every law's official "
        "source; save the results for the admin's link report."
    )

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="check every guide, drafts included")
        parser.add_argument(
            "--guide",
            type=int,
            action="append",
            default=[],
            metavar="ID",
            help="check only this guide (any status); may be repeated",
        )
        parser.add_argument(
            "--law",
            type=int,
            action="append",
            default=[],
            metavar="ID",
            help="check only this law's source; may be repeated",
        )
        parser.add_argument(
            "--offline",
            action="store_true",
            help="do not fetch other sites: their links are saved as not checked",
        )
        parser.add_argument(
            "--deadline",
            type=int,
            default=None,
            metavar="SECONDS",
            help="time limit of the whole run (default: the LINK_CHECK_DEADLINE setting)",
        )
        parser.add_argument(
            "--fail-on-broken",
            action="store_true",
            help="exit with status 1 when a link is broken",
        )

    def handle(self, *args, **options):
        if options["deadline"] is not None and options["deadline"] < 1:
            raise CommandError("--deadline must be at least 1 second.")
        if options["guide"] or options["law"]:
            articles = Article.objects.filter(pk__in=options["guide"])
            laws = Law.objects.filter(pk__in=options["law"])
            missing = sorted(set(options["guide"]) - set(articles.values_list("pk", flat=True)))
            missing_laws = sorted(set(options["law"]) - set(laws.values_list("pk", flat=True)))
            if missing or missing_laws:
                unknown = [f"no guide {pk}" for pk in missing]
                unknown += [f"no law {pk}" for pk in missing_laws]
                raise CommandError("Nothing checked: " + ", ".join(unknown) + ".")
        else:
            articles = links.guides_to_check(include_drafts=options["all"])
            laws = Law.objects.all()

        report = links.check_links(
            articles,
            laws,
            external=False if options["offline"] else None,
            deadline_seconds=options["deadline"],
        )
        self._print(report)
        if options["fail_on_broken"] and report.counts[Status.BROKEN]:
            raise CommandError(f"{report.counts[Status.BROKEN]} broken links.")

    def _print(self, report: links.Report):
        self.stdout.write(
            f"Checked {counted(report.links, 'link')} ({counted(report.addresses, 'address')})"
            f" in {counted(report.guides, 'guide')} and {counted(report.laws, 'law')}."
        )
        for status in Status:
            self.stdout.write(f"  {status.label}: {report.counts[status]}")
        problems = report.problems
        if not problems:
            return
        self.stdout.write("Problems:")
        sources = {}
        for row in problems:
            sources.setdefault((row.article_id, row.law_id), []).append(row)
        titles = dict(
            Article.objects.filter(pk__in={a for a, _l in sources if a}).values_list("pk", "title")
        )
        names = {
            law.pk: str(law)
            for law in Law.objects.filter(pk__in={law for _a, law in sources if law})
        }
        for (article_id, law_id), rows in sources.items():
            if article_id:
                self.stdout.write(f"Guide {article_id}: {titles.get(article_id, '?')}")
            else:
                self.stdout.write(f"Law {law_id}: {names.get(law_id, '?')}")
            for row in rows:
                status = f"{row.status} {row.http_status}" if row.http_status else row.status
                line = f"  {status}  {row.url}"
                if row.final_url:
                    line += f" -> {row.final_url}"
                if row.message:
                    line += f"  ({row.message})"
                self.stdout.write(line)


def counted(number: int, noun: str) -> str:
    """ "1 law", "2 laws", "2 addresses": the command speaks English, as Django's do."""
    plural = noun + ("es" if noun.endswith("s") else "s")
    return f"{number} {noun if number == 1 else plural}"
