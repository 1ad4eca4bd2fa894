"""Search latency at scale: median and p95 over 30 fixed English queries and 30 fixed
Chinese ones, each searched in its own language as the site's pages do, for the ranked
full-text search and for a naive icontains search over the same guides (the reference,
measured in the same run); then both sets across every language (?lang=all).

Usage (the database named by DATABASE_URL is filled up to --guides first, half in
English and half in Chinese: `generate_guides --both`, each guide in both languages):

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

from django.db.models import Q  # noqa: E402
from guides import ensure_guides  # noqa: E402  (bench/guides.py)

from articles.models import Article  # noqa: E402
from articles.search import parse_query, search  # noqa: E402

EN_QUERIES = [
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
# As people type them: words of titles, questions, other word orders, words common to
# most guides (身份证, 办理步骤), Latin and Chinese mixed, a provision.
ZH_QUERIES = [
    "社保卡",
    "医保卡怎么激活",
    "如何补办社保卡",
    "养老金领取",
    "网上申请失业保险金",
    "生育津贴",
    "住房公积金账户转移",
    "公积金贷款",
    "在上海怎么办居住证",
    "工伤认定申诉",
    "育儿补贴申领条件",
    "残疾人补贴",
    "助学贷款",
    "营业执照注销流程",
    "退税",
    "出生医学证明",
    "结婚证在哪里登记",
    "驾驶证换领",
    "护照过期了如何续办",
    "长期护理保险",
    "门诊报销",
    "丧葬补助金",
    "个人所得税汇算",
    "身份证",
    "办理步骤",
    "支付宝 app",
    "微信预约",
    "需要准备什么材料",
    "第3条",
    "通过电话挂失电子健康卡",
]
QUERIES = {"en": EN_QUERIES, "zh-hans": ZH_QUERIES}


def ranked(query, language):
    promoted, results = search(query, language=language)
    hits = results[0:10]
    return len(promoted) + len(hits) + results.count()


def naive(query, language):
    found = Article.objects.published()
    if language:
        found = found.filter(language=language)
    for term in parse_query(query).terms:
        found = found.filter(
            Q(title__icontains=term)
            | Q(summary__icontains=term)
            | Q(sections__body__icontains=term)
        )
    found = found.distinct()
    return len(found.select_related("category").order_by("-published_at")[:10]) + found.count()


def measure(function, queries, language, repeat):
    timings = []
    for query in queries:
        function(query, language)  # warm the caches once
        for _ in range(repeat):
            started = time.perf_counter()
            function(query, language)
            timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return statistics.median(timings), timings[int(len(timings) * 0.95) - 1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guides", type=int, default=100_000, help="in all languages")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per query")
    parser.add_argument("--naive-repeat", type=int, default=1)
    args = parser.parse_args()

    print(ensure_guides(args.guides))
    print(
        f"{'language':10} {'queries':>7}  {'ranked median':>13} {'p95':>8}  "
        f"{'naive median':>12} {'p95':>8}  {'speed-up median / p95':>21}"
    )
    for language, queries in QUERIES.items():
        median, p95 = measure(ranked, queries, language, args.repeat)
        naive_median, naive_p95 = measure(naive, queries, language, args.naive_repeat)
        print(
            f"{language:10} {len(queries):>7}  {median:10.1f} ms {p95:5.1f} ms  "
            f"{naive_median:9.0f} ms {naive_p95:5.0f} ms  "
            f"{naive_median / median:13.0f}x / {naive_p95 / p95:.0f}x",
            flush=True,
        )
    every = EN_QUERIES + ZH_QUERIES
    median, p95 = measure(ranked, every, None, args.repeat)
    print(f"{'all':10} {len(every):>7}  {median:10.1f} ms {p95:5.1f} ms  (?lang=all)")


if __name__ == "__main__":
    main()
