"""Search latency at scale: median and p95 over 30 fixed queries, for the ranked
full-text search and for a naive icontains search over the same guides.

Usage (the database named by DATABASE_URL is filled up to --guides first):

    DATABASE_URL=sqlite:///bench.sqlite3 .venv/bin/python bench/search.py --guides 100000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/helpcentre_bench \
        .venv/bin/python bench/search.py --guides 100000

Prints figures; asserts nothing. Every loop is bounded by --repeat.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpcentre.settings.base")
os.environ.setdefault("SECRET_KEY", "benchmark-only-not-secret")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Q  # noqa: E402

from articles.models import Article  # noqa: E402
from articles.search import parse_query, search  # noqa: E402

QUERIES = [
    "activate medical insurance card",
    "social security card",
    "pension transfer",
    "how to apply for a passport",
    "maternity allowance",
    "renew residence permit in Shanghai",
    "unemployment benefit online",
    "housing fund loan",
    "work injury claim",
    "tax refund",
    "replace lost driving licence",
    "electronic health card",
    "disability allowance eligibility",
    "outpatient reimbursement Chengdu",
    "childcare subsidy documents",
    "funeral subsidy",
    "business licence register",
    "student loan appeal",
    "marriage certificate copy",
    "old-age pension from abroad",
    "provident fund",
    "birth certificate Beijing",
    "long-term care insurance",
    "hospital referral by phone",
    "cancel flexible employment record",
    "verify bank details",
    "insurence",
    "社保",
    "Article 23",
    "what do I need to collect",
]


def ranked(query):
    promoted, results = search(query)
    hits = results[0:10]
    return len(promoted) + len(hits) + results.count()


def naive(query):
    found = Article.objects.published()
    for term in parse_query(query).terms:
        found = found.filter(
            Q(title__icontains=term)
            | Q(summary__icontains=term)
            | Q(sections__body__icontains=term)
        )
    found = found.distinct()
    return len(found.select_related("category").order_by("-published_at")[:10]) + found.count()


def measure(function, repeat):
    timings = []
    for query in QUERIES:
        function(query)  # warm the caches once
        for _ in range(repeat):
            started = time.perf_counter()
            function(query)
            timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return statistics.median(timings), timings[int(len(timings) * 0.95) - 1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guides", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per query")
    parser.add_argument("--naive-repeat", type=int, default=1)
    args = parser.parse_args()

    missing = args.guides - Article.objects.published().count()
    if missing > 0:
        print(f"Generating {missing} guides…", flush=True)
        call_command("generate_guides", missing, verbosity=0)
    total = Article.objects.published().count()
    print(f"Backend: {connection.vendor}, published guides: {total}, queries: {len(QUERIES)}")
    median, p95 = measure(ranked, args.repeat)
    print(f"ranked search  median {median:8.1f} ms   p95 {p95:8.1f} ms")
    naive_median, naive_p95 = measure(naive, args.naive_repeat)
    print(f"naive icontains median {naive_median:8.1f} ms   p95 {naive_p95:8.1f} ms")
    print(f"speed-up       median {naive_median / median:8.0f}x    p95 {naive_p95 / p95:8.0f}x")


if __name__ == "__main__":
    main()
