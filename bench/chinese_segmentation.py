"""Chinese search quality: character bigrams against jieba word segmentation.

Builds a set of Chinese guides (`generate_guides --language zh-hans`, whose titles
name an action, a thing and a place from known lists, so what each guide is about
is known), then runs a labelled set of Chinese queries, typed the way people type
them (questions, particles, other word orders, abbreviations), through:

- bigram        overlapping character pairs on both sides, as before this change;
- bigram+stop   the same index; queries lose their question words and particles
                (如何, 怎么, 在, 吗 …) first: what articles.search.text does now;
- jieba         jieba's cut_for_search for the index, its cut for queries, the same
                question words dropped (and one-character words, when others remain).

For each: precision@5, mean reciprocal rank, recall@20 (relevant guides in the first
20 / all relevant guides), how often every word matched, index size and query time
(ratios to the bigram variant, measured in the same run), and the time to index.

A guide is relevant to a query when its title has the query's labelled action and
thing (and place, where the query names one). The real search runs (tiered ranking,
all words then any word) on the database of DATABASE_URL, by default a new SQLite
file in a temporary directory:

    .venv/bin/python bench/chinese_segmentation.py [--guides 10000] [--repeat 3]

Needs jieba (installed with the test extra). Prints figures; asserts nothing.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpcentre.settings.base")
os.environ.setdefault("SECRET_KEY", "benchmark-only-not-secret")
_TMP = tempfile.mkdtemp(prefix="helpcentre-segmentation-")
os.environ.setdefault("DATABASE_URL", f"sqlite:///{_TMP}/segmentation.sqlite3")

import django  # noqa: E402

django.setup()

import jieba  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from articles.management.commands.generate_guides import (  # noqa: E402
    ACTIONS_ZH,
    PLACES_ZH,
    THINGS_ZH,
)
from articles.models import Article, Category, SearchDocument, Section  # noqa: E402
from articles.search import search, text  # noqa: E402
from articles.search.indexing import index_articles, rebuild_index  # noqa: E402

LANGUAGE = "zh-hans"
# (query, labels): a guide is relevant when its title has every labelled slot.
QUERIES = [
    ("社保卡", {"thing": "社保卡"}),
    ("电子健康卡", {"thing": "电子健康卡"}),
    ("医保卡激活", {"action": "激活", "thing": "医保卡"}),
    ("怎么激活医保卡", {"action": "激活", "thing": "医保卡"}),
    ("如何补办社保卡", {"action": "补办", "thing": "社保卡"}),
    ("社保卡丢了怎么挂失", {"action": "挂失", "thing": "社保卡"}),
    ("在上海怎么办居住证", {"thing": "居住证", "place": "上海"}),
    ("网上申请失业保险金", {"action": "申请", "thing": "失业保险金"}),
    ("失业金怎么领取", {"action": "领取", "thing": "失业保险金"}),
    ("生育津贴申领条件", {"action": "申领", "thing": "生育津贴"}),
    ("公积金贷款怎么查询", {"action": "查询", "thing": "公积金贷款"}),
    ("住房公积金账户转移", {"action": "转移", "thing": "住房公积金账户"}),
    ("驾驶证换领", {"action": "换领", "thing": "驾驶证"}),
    ("护照过期了如何续办", {"action": "续办", "thing": "护照"}),
    ("出生医学证明补办", {"action": "补办", "thing": "出生医学证明"}),
    ("结婚证在哪里登记", {"action": "登记", "thing": "结婚证"}),
    ("门诊报销", {"thing": "门诊费用报销"}),
    ("个税汇算", {"thing": "个人所得税汇算"}),
    ("营业执照注销流程", {"action": "注销", "thing": "营业执照"}),
    ("长期护理保险怎么参加", {"action": "参加", "thing": "长期护理保险"}),
    ("残疾人补贴申请", {"action": "申请", "thing": "残疾人补贴"}),
    ("工伤认定申诉", {"action": "申诉", "thing": "工伤认定"}),
    ("养老金领取", {"action": "领取", "thing": "养老金"}),
    ("在境外怎么领取养老金", {"thing": "养老金", "place": "境外"}),
]

# Hand-written guides in ordinary prose (what generated titles cannot show: words
# running into each other), each with queries for which it is the one relevant guide.
HAND_WRITTEN = [
    (
        "异地就医直接结算备案",
        "在外省长期居住或工作的参保人员，出发前办好异地就医备案，看病费用可以直接结算。",
        "参保人员在外省长期居住、工作，或者因病需要转往外地治疗的，可以在出发前通过国家医保"
        "服务平台App或参保地医保经办机构办理异地就医备案。备案成功后，在就医地的定点医疗机构"
        "住院或者治疗门诊慢特病，医疗费用可以直接结算，不需要先垫付全部费用再回参保地报销。"
        "临时外出就医的，也可以先备案再就医。",
        ["在外省住院能直接结算吗", "异地就医备案"],
    ),
    (
        "新生儿出生后怎样办理户口登记",
        "孩子出生一个月内，父母一方带上出生医学证明和户口簿到派出所给孩子上户口。",
        "婴儿出生后一个月以内，由父母或其他监护人到常住户口所在地的派出所申报出生登记。"
        "需要携带出生医学证明、父母双方的居民户口簿和居民身份证、结婚证。随父落户或随母落户"
        "都可以，由父母协商决定。部分城市已经开通新生儿入户网上办理，在政务服务App中提交材料"
        "后，户口簿会邮寄到家。",
        ["新生儿上户口要带什么", "孩子出生登记去哪个派出所"],
    ),
    (
        "租房提取住房公积金",
        "在本市没有住房、租房居住的职工，可以按年提取住房公积金支付房租。",
        "职工本人及配偶在缴存城市名下无房，并且租房自住的，可以申请提取住房公积金用于支付"
        "房租。每年可以提取一次，提取额度按当地规定的月租金标准计算，一般不超过实际支付的"
        "房租。申请时需要提供身份证、租房合同和房租发票，也可以通过公积金中心的网上业务大厅"
        "或手机App办理，审核通过后资金转入本人银行卡。",
        ["租房提取公积金", "没有房子可以取公积金交房租吗"],
    ),
    (
        "老年人优待证的办理",
        "年满六十周岁的老年人可以申领老年人优待证，乘坐公交、游览公园享受优待。",
        "凡年满六十周岁的老年人，无论户籍是否在本地，都可以到居住地的社区服务中心申请办理"
        "老年人优待证。办理时带上本人身份证和一张近期免冠照片，当场即可领取。持证老人乘坐"
        "市内公交车、进入公园和博物馆可以免费或者半价。",
        ["老人优待证在哪办", "六十岁以上坐公交免费"],
    ),
    (
        "身份证丢了怎么补办",
        "居民身份证遗失后，先挂失，再到户籍地或居住地的派出所补领，可以同时办理临时身份证。",
        "居民身份证丢失的，应当尽快到派出所挂失，并可以在全国任意一个派出所申请补领。补领"
        "需要现场采集照片和指纹，收取工本费二十元，一般二十个工作日内制作完成。急需使用身份"
        "证乘坐火车或者飞机的，可以在补领的同时申请临时居民身份证，有效期三个月。",
        ["身份证掉了怎么办", "临时身份证"],
    ),
    (
        "护照加急办理",
        "因出国奔丧、探望危重病人或紧急商务等原因，可以申请加急办理护照。",
        "一般情况下，普通护照在受理后七个工作日内签发。因出国奔丧、探望危重病人、紧急商务"
        "或出国留学时间紧迫等原因需要尽快出境的，可以在出入境管理机构申请加急，并提交相关"
        "证明材料，加急的护照一般在五个工作日内签发。",
        ["护照加急要几天", "急着出国怎么快速办护照"],
    ),
]

# Question words and particles the bigram+stop and jieba variants drop from queries.
QUESTION_WORDS = text.CJK_QUERY_STOP_WORDS


def longest(items, title):
    found = [item for item in items if item in title]
    return max(found, key=len) if found else None


def labels_of(title):
    return {
        "action": longest(ACTIONS_ZH, title),
        "thing": longest(THINGS_ZH, title),
        "place": longest(PLACES_ZH, title),
    }


def jieba_index_tokens(run):
    return [word for word in jieba.cut_for_search(run) if word.strip()]


def jieba_query_tokens(run):
    words = [word for word in jieba.cut(run) if word.strip() and word not in QUESTION_WORDS]
    longer = [word for word in words if len(word) > 1]
    return longer or words or [run]


VARIANTS = {
    "bigram": (text.cjk_bigrams, text.cjk_bigrams),
    "bigram+stop": (text.cjk_bigrams, text.cjk_query_bigrams),
    "jieba": (jieba_index_tokens, jieba_query_tokens),
}


def use(variant):
    text.index_tokens, text.query_tokens = VARIANTS[variant]


def index_size() -> int:
    """Bytes of the full-text index (FTS5 data on SQLite, the tsvectors on PostgreSQL)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            # Merged into one segment first, so sizes compare whatever the insert order.
            cursor.execute(
                "INSERT INTO articles_search_fts(articles_search_fts) VALUES ('optimize')"
            )
            cursor.execute("SELECT SUM(LENGTH(block)) FROM articles_search_fts_data")
        else:
            cursor.execute(
                "SELECT SUM(pg_column_size(vector) + pg_column_size(title_vector)) "
                "FROM articles_searchdocument"
            )
        return cursor.fetchone()[0] or 0


def ranked_ids(query, depth):
    _, results = search(query, language=LANGUAGE)
    return [hit.article.pk for hit in results[0:depth]], results.matched_all_words


def hand_written_guides() -> dict[int, list[str]]:
    """Create the hand-written guides once; {article id: its queries}."""
    category = Category.objects.order_by("pk").first()
    found = {}
    for title, summary, body, queries in HAND_WRITTEN:
        article = Article.objects.filter(title=title, language=LANGUAGE).first()
        if article is None:
            article = Article.objects.create(
                title=title,
                slug=f"hand-written-{len(found) + 1}",
                language=LANGUAGE,
                category=category,
                summary=summary,
                status=Article.Status.PUBLISHED,
                published_at=timezone.now() - timedelta(days=1),
            )
            Section.objects.create(
                article=article, position=1, kind="text", heading="说明", body=body
            )
        found[article.pk] = queries
    index_articles(list(found))
    return found


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def quality(relevant_by_query):
    """Means over the queries of precision@5 (relevant among the first five, out of as
    many as there are relevant guides, at most five), reciprocal rank and recall@20,
    with how many queries matched all their words and each query's reciprocal rank."""
    precision, reciprocal, recall, all_words = [], [], [], 0
    for query, relevant in relevant_by_query:
        ids, matched_all = ranked_ids(query, 20)
        all_words += matched_all
        precision.append(sum(pk in relevant for pk in ids[:5]) / min(5, len(relevant)))
        rank = next((i for i, pk in enumerate(ids, 1) if pk in relevant), None)
        reciprocal.append(1 / rank if rank else 0)
        recall.append(sum(pk in relevant for pk in ids) / max(1, min(len(relevant), 20)))
    return (
        statistics.mean(precision),
        statistics.mean(reciprocal),
        statistics.mean(recall),
        all_words,
        reciprocal,
    )


def timed(queries, repeat):
    timings = []
    for query in queries:
        ranked_ids(query, 10)
        for _ in range(repeat):
            started = time.perf_counter()
            ranked_ids(query, 10)
            timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings), sorted(timings)[int(len(timings) * 0.95) - 1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guides", type=int, default=10_000, help="Chinese guides to search")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per query")
    parser.add_argument("--show", action="store_true", help="print each query's top 5")
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    jieba.setLogLevel(60)
    started, memory = time.perf_counter(), rss_mb()
    jieba.initialize()
    jieba_load, jieba_memory = time.perf_counter() - started, rss_mb() - memory
    have = Article.objects.published().filter(language=LANGUAGE).count()
    if have < args.guides:
        print(f"Generating {args.guides - have} Chinese guides…", flush=True)
        call_command("generate_guides", args.guides - have, language=LANGUAGE, verbosity=0)
    hand_written = hand_written_guides()
    titles = dict(
        SearchDocument.objects.filter(language=LANGUAGE).values_list("article_id", "title")
    )
    labels = {pk: labels_of(title) for pk, title in titles.items() if pk not in hand_written}
    relevant_by_query = []
    for query, wanted in QUERIES:
        relevant = {
            pk
            for pk, found in labels.items()
            if all(found[slot] == value for slot, value in wanted.items())
        }
        relevant_by_query.append((query, relevant))
    hand_queries = [(query, {pk}) for pk, queries in hand_written.items() for query in queries]
    sizes = [len(relevant) for _, relevant in relevant_by_query]
    print(
        f"Backend: {connection.vendor}, Chinese guides: {len(titles)} "
        f"({len(hand_written)} hand-written); jieba dictionary: {jieba_load:.2f} s to load, "
        f"{jieba_memory:.0f} MB of memory\n"
        f"Generated-guide queries: {len(relevant_by_query)}, relevant guides per query "
        f"{min(sizes)} to {max(sizes)} (median {statistics.median(sizes):.0f}); "
        f"hand-written-guide queries: {len(hand_queries)}, one relevant guide each"
    )
    every_query = [query for query, _ in relevant_by_query + hand_queries]
    rows = {}
    for variant in VARIANTS:
        use(variant)
        started = time.perf_counter()
        rebuild_index()
        build = time.perf_counter() - started
        generated, hand = quality(relevant_by_query), quality(hand_queries)
        median, p95 = timed(every_query, args.repeat)
        rows[variant] = (generated, hand, index_size(), median, p95, build)
        if args.show:
            for query, relevant in relevant_by_query + hand_queries:
                ids, _ = ranked_ids(query, 5)
                marks = "".join("+" if pk in relevant else "-" for pk in ids)
                print(
                    f"  {variant:12} {query:12} {len(relevant):4} {marks:5} "
                    + " | ".join(titles[i] for i in ids)
                )
    use("bigram+stop")
    rebuild_index()  # leave the database as the site indexes it

    base = rows["bigram"]
    print(
        f"\n{'':12} {'generated-guide queries':^27} {'hand-written queries':^27}\n"
        f"{'variant':12} {'P@5':>6} {'MRR':>6} {'R@20':>6} {'all':>6}  "
        f"{'P@5':>6} {'MRR':>6} {'R@20':>6} {'all':>6}  "
        f"{'index':>8} {'ratio':>6} {'median':>8} {'p95':>8} {'ratio':>6} {'indexing':>9}"
        f"  {'RR vs bigram':>14}"
    )
    for variant, (generated, hand, size, median, p95, build) in rows.items():
        figures = ""
        for group, count in ((generated, len(relevant_by_query)), (hand, len(hand_queries))):
            precision, mrr, recall, all_words, _ = group
            figures += f"{precision:6.3f} {mrr:6.3f} {recall:6.3f} {all_words:>3}/{count:<2}  "
        pairs = list(zip(generated[4] + hand[4], base[0][4] + base[1][4], strict=True))
        better = sum(mine > theirs for mine, theirs in pairs)
        worse = sum(mine < theirs for mine, theirs in pairs)
        print(
            f"{variant:12} {figures}{size / 1e6:6.1f}MB {size / base[2]:5.2f}x "
            f"{median:6.1f}ms {p95:6.1f}ms {median / base[3]:5.2f}x {build / base[5]:8.2f}x"
            f"  +{better:<2} -{worse:<2} ={len(pairs) - better - worse}"
        )
    print(
        "P@5: relevant among the first 5 (out of min(5, relevant)); MRR: mean 1/rank of the "
        "first relevant; R@20: relevant in the first 20 out of min(20, relevant); all: "
        "queries whose every word matched; ratios: to bigram (index size, median query "
        "time, time to rebuild the index); RR vs bigram: queries ranked better, worse, "
        "the same as by bigram (reciprocal rank of the first relevant guide)."
    )


if __name__ == "__main__":
    main()
