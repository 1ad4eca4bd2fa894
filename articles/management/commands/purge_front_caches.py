"""Purge surrogate keys from the front caches (settings.FRONT_CACHES) by hand.

Saves purge what they change by themselves (articles.purge); this is for pages
that went stale another way, or after a purge that failed (its WARNING names the
keys). Keys: g<guide>, c<topic>, t<tag>, l<law> and the collection keys of
articles.surrogate.
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from articles import purge

# No surrogate key is carried by every public response (articles.surrogate), so
# emptying a front cache is a ban, made on the cache's host.
BAN_EVERYTHING = "varnishadm ban req.url '~' ."


class Command(BaseCommand):
    help = "Purge surrogate keys (g12 c3 t7 l2 …) from every front cache in FRONT_CACHES."

    def add_arguments(self, parser):
        parser.add_argument("keys", nargs="*", metavar="KEY", help="surrogate keys to purge")
        parser.add_argument(
            "--all",
            action="store_true",
            dest="everything",
            help=f"every public page: no key is carried by all, so this says how to ban "
            f"them on each front cache's host ({BAN_EVERYTHING})",
        )

    def handle(self, *args, keys, everything, **options):
        keys = set(keys)
        if everything:
            raise CommandError(
                "No surrogate key is carried by every public response, so there is "
                "nothing to purge them all by. To empty a front cache, ban every "
                f"object on its host: {BAN_EVERYTHING} (the listing keys, "
                "list-<language>, reach every list, feed and sitemap)."
            )
        if not keys:
            raise CommandError("Name at least one key, or --all.")
        if not settings.FRONT_CACHES:
            raise CommandError("No front caches are configured (FRONT_CACHES is empty).")
        failed = 0
        for result in purge.purge_now(keys):
            if result.ok:
                purged = "an unknown number of" if result.purged is None else result.purged
                self.stdout.write(
                    f"{result.front_cache}: purged {result.keys} keys, {purged} objects"
                )
            else:
                failed += 1
                self.stderr.write(f"{result.front_cache}: FAILED ({result.error})")
        if failed:
            raise CommandError(f"{failed} of {len(settings.FRONT_CACHES)} front caches failed.")
