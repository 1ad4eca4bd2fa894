"""Uncached page latency at scale: median and p95 of the listing pages (home, a topic,
a tag, a law and the list of every guide citing one of its provisions) in each
language and of every sitemap page, rendered with the page cache off, beside a hello
view measured in the same run.

Requests go through the Django test client: the whole middleware stack and URL
routing, no network, no conditional headers, PAGE_CACHE off (environment and
settings override), so every request renders its page and runs its queries. The
low-level cache (local memory) stays warm as in a running worker; --cold empties it
before every request. The topic and the tag are the ones with the most published
guides in each language (the synthetic tag on every guide excepted); the law is the
one cited most (the synthetic law: every provision cited by thousands of guides).

Usage (the database named by DATABASE_URL is filled up to --guides first, half in
English and half in Chinese: `generate_guides --both`, each guide in both languages;
about 3-4 minutes per backend):

    DATABASE_URL=sqlite:///bench.sqlite3 .venv/bin/python bench/pages.py --guides 100000
    createdb -h 127.0.0.1 -U postgres helpcentre_pages_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/helpcentre_pages_bench \
        .venv/bin/python bench/pages.py --guides 100000
    dropdb -h 127.0.0.1 -U postgres helpcentre_pages_bench

Target (issue "Speed and scale-out"): p95 <= 50 ms per page. For each page over it,
--explain prints the page's slowest queries (with EXPLAIN) and --profile a cProfile
top list. Prints figures; asserts nothing. Every loop is bounded by --repeat (by
--slow-repeat for a page whose first request takes over a second).
"""

import argparse
import cProfile
import io
import os
import pstats
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpcentre.settings.base")
os.environ.setdefault("SECRET_KEY", "benchmark-only-not-secret")
os.environ["PAGE_CACHE"] = "false"
os.environ["BENCH_HELLO"] = "true"
os.environ["DEBUG"] = "false"
os.environ["FRONT_CACHES"] = ""
os.environ.pop("REDIS_URL", None)  # one process: the local-memory cache
os.environ["ALLOWED_HOSTS"] = "testserver"
os.environ["SITE_URL"] = "http://testserver"

import django

django.setup()

from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count, Q  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from guides import ensure_guides  # noqa: E402  (bench/guides.py)
from taggit.models import Tag  # noqa: E402

from articles.models import Article, Category, Law  # noqa: E402
from articles.sitemaps import GuideSitemap  # noqa: E402

TARGET_MS = 50
LANGUAGE_CODES = ["en", "zh-hans"]


def choose_pages():
    """(label, address) of every page measured."""
    published = Article.objects.published()
    pages = []
    for code in LANGUAGE_CODES:
        in_language = published.filter(language=code)
        category = (
            Category.objects.annotate(n=Count("articles", filter=Q(articles__in=in_language)))
            .order_by("-n")
            .first()
        )
        tag = (
            Tag.objects.exclude(slug="synthetic")
            .annotate(
                n=Count(
                    "taggit_taggeditem_items",
                    filter=Q(
                        taggit_taggeditem_items__content_type__model="article",
                        taggit_taggeditem_items__object_id__in=in_language.values("pk"),
                    ),
                )
            )
            .order_by("-n")
            .first()
        )
        law = (
            Law.objects.annotate(
                n=Count(
                    "provisions__citations",
                    filter=Q(provisions__citations__article__in=in_language),
                )
            )
            .order_by("-n")
            .first()
        )
        provision = (
            law.provisions.annotate(
                n=Count("citations", filter=Q(citations__article__in=in_language))
            )
            .order_by("-n")
            .first()
        )
        every_guide = f"/{code}/laws/{law.slug}/?provision={provision.anchor}"
        pages += [
            (f"{code} home", f"/{code}/"),
            (f"{code} topic ({category.n})", f"/{code}/{category.slug}/"),
            (f"{code} tag ({tag.n})", f"/{code}/tags/{quote(tag.slug)}/"),
            (f"{code} law ({law.n} cites)", f"/{code}/laws/{law.slug}/"),
            (f"{code} provision ({provision.n})", every_guide),
            (f"{code} provision p2", f"{every_guide}&page=2"),
            (f"{code} laws", f"/{code}/laws/"),
        ]
    pages.append(("sitemap index", "/sitemap.xml"))
    for section in ["pages", "topics", "tags", "laws", "guides"]:
        pages.append((f"sitemap-{section}", f"/sitemap-{section}.xml"))
    # Every page of the guides' sitemap, as the index lists them.
    for number in range(2, GuideSitemap().paginator.num_pages + 1):
        pages.append((f"sitemap-guides p{number}", f"/sitemap-guides.xml?p={number}"))
    return pages


def get(client, address, cold):
    if cold:
        cache.clear()
    response = client.get(address)
    # A sitemap (TemplateResponse) renders here at the latest; content reads it all.
    size = len(response.content)
    return response.status_code, size


def measure(client, address, repeat, cold, slow_repeat=None):
    """Median and p95 in milliseconds, the status and the size, and the first request
    as after a change (the low-level cache emptied: what is kept per content version
    is made again); a page whose second request takes over a second is timed
    slow_repeat times only (a bounded run)."""
    started = time.perf_counter()
    get(client, address, cold=True)
    first = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    status, size = get(client, address, cold)  # warm once (connections, templates)
    if slow_repeat is not None and time.perf_counter() - started > 1:
        repeat = min(repeat, slow_repeat)
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        get(client, address, cold)
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    p95 = timings[max(0, int(len(timings) * 0.95) - 1)]
    return statistics.median(timings), p95, status, size, first


def explain(sql, params):
    with connection.cursor() as cursor:
        prefix = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN ANALYZE "
        cursor.execute(prefix + sql, params)
        return [" | ".join(str(column) for column in row) for row in cursor.fetchall()]


def slow_queries(client, address, top=3):
    """The page's query count and time in the database, its slowest queries, and the
    plan of the slowest (EXPLAIN QUERY PLAN on SQLite, EXPLAIN ANALYZE on PostgreSQL)."""
    cache.clear()
    executed = []

    def record(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            executed.append(((time.perf_counter() - started) * 1000, sql, params))

    started = time.perf_counter()
    with connection.execute_wrapper(record):
        client.get(address)
    elapsed = (time.perf_counter() - started) * 1000
    executed.sort(key=lambda item: item[0], reverse=True)
    total = sum(item[0] for item in executed)
    print(
        f"  {address}: {elapsed:.0f} ms, {len(executed)} queries, "
        f"{total:.0f} ms of it in the database"
    )
    for milliseconds, sql, _params in executed[:top]:
        print(f"    {milliseconds:7.1f} ms  {sql[:400]}")
    if executed:
        _milliseconds, sql, params = executed[0]
        print("    plan of the slowest:")
        try:
            for line in explain(sql, params):
                print(f"      {line}")
        except Exception as error:
            print(f"      (EXPLAIN failed: {error})")


def profile(client, address, top=15):
    profiler = cProfile.Profile()
    profiler.enable()
    client.get(address)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[:4000])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guides", type=int, default=100_000, help="in all languages")
    parser.add_argument("--repeat", type=int, default=20, help="timed requests per page")
    parser.add_argument(
        "--slow-repeat", type=int, default=5, help="timed requests of a page over 1 s"
    )
    parser.add_argument("--cold", action="store_true", help="empty the cache before each request")
    parser.add_argument("--explain", action="store_true", help="slowest queries of slow pages")
    parser.add_argument("--profile", action="store_true", help="cProfile of slow pages")
    parser.add_argument("--only", default="", help="measure the pages whose label has this")
    args = parser.parse_args()

    description = ensure_guides(args.guides)
    call_command("createcachetable", verbosity=0)
    # Pages look their static files up in the manifest, as deployed (DEBUG off): collect
    # them into a temporary directory, not the project's.
    static_root = tempfile.mkdtemp(prefix="pages-static-")
    try:
        with override_settings(STATIC_ROOT=static_root):
            call_command("collectstatic", interactive=False, verbosity=0)
            run(args, description)
    finally:
        shutil.rmtree(static_root, ignore_errors=True)


def run(args, description):
    print(
        f"{description}, "
        f"{'cold' if args.cold else 'warm'} low-level cache, PAGE_CACHE off, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        flush=True,
    )

    client = Client()
    with override_settings(PAGE_CACHE=False):
        hello_median, hello_p95, _status, _size, _first = measure(
            client, "/bench/hello/", args.repeat * 5, args.cold
        )
        print(
            f"{'page':26} {'HTTP':>4} {'KB':>6} {'median':>9} {'p95':>9} "
            f"{'x hello median / p95':>20}  target p95 <= {TARGET_MS} ms  {'first':>9}"
        )
        print(
            f"{'hello':26} {200:>4} {0:>6} {hello_median:6.2f} ms {hello_p95:6.2f} ms {'1 / 1':>20}"
        )
        over = []
        for label, address in choose_pages():
            if args.only not in label:
                continue
            median, p95, status, size, first = measure(
                client, address, args.repeat, args.cold, args.slow_repeat
            )
            ok = p95 <= TARGET_MS and status == 200
            if not ok:
                over.append((label, address))
            print(
                f"{label:26} {status:>4} {size / 1024:6.0f} {median:6.1f} ms {p95:6.1f} ms "
                f"{f'{median / hello_median:.0f} / {p95 / hello_p95:.0f}':>20}  "
                f"{'ok' if ok else 'OVER':19}  {first:6.0f} ms",
                flush=True,
            )
        if over and (args.explain or args.profile):
            print(f"\nPages over {TARGET_MS} ms:")
            for _label, address in over:
                if args.explain:
                    slow_queries(client, address)
                if args.profile:
                    profile(client, address)


if __name__ == "__main__":
    main()
