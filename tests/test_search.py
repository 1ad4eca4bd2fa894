"""Full-text search, the same behaviour on SQLite FTS5 and PostgreSQL."""

import re
import unicodedata
from datetime import timedelta
from http import HTTPStatus
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone
from taggit.models import Tag

from articles.models import Article, PromotedResult, SearchDocument, SearchTerm
from articles.search import MAX_RESULTS, backends, did_you_mean, parse_query, search, suggest
from articles.search.backends import Filters
from articles.search.text import MAX_QUERY_LENGTH, MAX_QUERY_TERMS
from articles.views import SEARCH_PAGE_SIZE
from tests.factories import (
    cite,
    make_article,
    make_category,
    make_draft,
    make_law,
    make_provision,
    make_section,
)
from tests.helpers import SEED_TITLE

pytestmark = pytest.mark.django_db


def titles(query, **filters):
    promoted, results = search(query, **filters)
    return [hit.article.title for hit in promoted + results[0:50]]


def result_titles(client, query, **params):
    response = client.get("/en/search/", {"q": query, **params})
    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    found = re.findall(r'class="search-result__title" href="[^"]+">(.*?)</a>', html)
    return [re.sub(r"</?mark>", "", title) for title in found], html


def test_title_beats_summary_beats_body():
    body_match = make_article(title="Guide three", summary="Other words.")
    make_section(body_match, heading="Notes", kind="text", body="Remember the pension rules.")
    make_article(title="Guide two", summary="All about your pension.")
    make_article(title="Pension guide", summary="Other words.")
    assert titles("pension") == ["Pension guide", "Guide two", "Guide three"]


def test_english_stemming_matches_word_forms():
    make_article(title="Card activation explained")
    make_article(title="Activating a new card")
    make_article(title="Activate the card today")
    assert len(titles("activate")) == 3
    assert len(titles("activation")) == 3
    assert len(titles("ACTIVATING!")) == 3


def test_case_accents_and_punctuation_do_not_matter():
    make_article(title="Café vouchers for pensioners")
    assert titles("cafe vouchers") == ["Café vouchers for pensioners"]
    assert titles("CAFÉ, VOUCHERS?!") == ["Café vouchers for pensioners"]


def test_chinese_text_is_found_by_two_characters():
    make_article(title="Activate 社保卡 online", summary="如何激活社保卡")
    make_article(title="Unrelated guide")
    assert titles("社保") == ["Activate 社保卡 online"]
    assert titles("激活") == ["Activate 社保卡 online"]
    assert titles("激活社保卡") == ["Activate 社保卡 online"]
    assert titles("医院") == []
    # No guide holds this exact sequence: guides holding its parts are offered instead.
    assert titles("社保卡激活") == ["Activate 社保卡 online"]


def test_the_search_page_ranks_and_highlights_the_seed_guide(client, demo):
    found, html = result_titles(client, "activate medical insurance card")
    assert found[0] == SEED_TITLE
    assert "<mark>activate</mark>" in html and "<mark>insurance</mark>" in html
    assert '<meta name="robots" content="noindex">' in html


def test_snippets_and_titles_escape_html(client):
    article = make_article(title="<script>alert(1)</script> pension", summary="<b>pension</b> & co")
    make_section(
        article, kind="text", heading="Body", body="pension `<img src=x onerror=alert(1)>`"
    )
    found, html = result_titles(client, "pension")
    assert len(found) == 1
    assert "<script>alert(1)" not in html and "<b>pension" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; <mark>pension</mark>" in html
    assert "onerror=alert(1)>" not in html


def test_filters_by_category_and_tag_combine_with_the_query(client):
    pensions, cards = make_category(slug="pensions"), make_category(slug="cards")
    make_article(title="Pension card A", category=pensions, tags=["urgent"])
    make_article(title="Pension card B", category=cards, tags=["urgent"])
    make_article(title="Pension card C", category=cards)
    assert sorted(titles("pension card", category=cards)) == ["Pension card B", "Pension card C"]
    urgent = Tag.objects.get(name="urgent")
    assert sorted(titles("pension", tag=urgent)) == ["Pension card A", "Pension card B"]
    assert titles("pension", category=cards, tag=urgent) == ["Pension card B"]
    found, _ = result_titles(client, "pension", category="cards", tag="urgent")
    assert found == ["Pension card B"]
    found, html = result_titles(client, "pension", category="no-such-topic")
    assert len(found) == 3 and "was ignored" in html


def test_results_are_paginated_and_bad_pages_are_404(client):
    for n in range(23):
        make_article(title=f"Pension guide {n}")
    first, html = result_titles(client, "pension")
    assert len(first) == 10 and "23 results" in html and "Page 1 of 3" in html
    second, _ = result_titles(client, "pension", page=2)
    assert not set(first) & set(second)
    for page in ["abc", "-1", "0", "999"]:
        response = client.get("/en/search/", {"q": "pension", "page": page})
        assert response.status_code == HTTPStatus.NOT_FOUND


def test_all_words_first_then_any_word_with_a_notice(client):
    make_article(title="Pension transfer")
    make_article(title="Pension rules")
    assert titles("pension transfer") == ["Pension transfer"]
    found, html = result_titles(client, "pension zebra")
    assert sorted(found) == ["Pension rules", "Pension transfer"]
    assert "contain some of them" in html


def test_empty_and_fruitless_queries_get_a_helpful_page(client):
    make_article(title="Pension transfer")
    for query in ["", "   ", "zzzqqq"]:
        response = client.get("/en/search/", {"q": query})
        html = response.content.decode()
        assert response.status_code == HTTPStatus.OK
        assert "Recently updated guides" in html and "Pension transfer" in html
        assert response["X-Robots-Tag"] == "noindex"


def test_a_very_long_query_is_cut_with_a_notice(client):
    make_article(title="Pension transfer")
    response = client.get("/en/search/", {"q": "pension " * 200})
    html = response.content.decode()
    assert response.status_code == HTTPStatus.OK
    assert "too long" in html and "<mark>Pension</mark> transfer" in html
    assert parse_query("word " * 500).truncated


def test_did_you_mean_offers_a_close_word_from_published_content(client):
    make_article(title="Medical insurance card")
    make_draft(title="Secret insurants draft")
    _, html = result_titles(client, "insurence card")
    assert 'Did you mean <a href="?q=insurance+card">insurance card</a>?' in html
    _, html = result_titles(client, "insurance card")
    assert "Did you mean" not in html


class TestDidYouMeanKeepsScheduledGuidesPrivate:
    """Scheduled guides are indexed early (so they appear on time), and so their words
    are in the vocabulary; none may be proposed before the guide is published."""

    def test_a_word_only_a_scheduled_guide_has_is_not_proposed(self, client):
        due = timezone.now() + timedelta(days=1)
        make_article(title="Quarantine allowance reform", published_at=due)
        make_article(title="Medical insurance card")
        assert did_you_mean(parse_query("quarantne")) is None
        # With a public word beside it, the any-word fallback would find something.
        assert did_you_mean(parse_query("quarantne card")) is None
        _, html = result_titles(client, "quarantne card")
        assert "Did you mean" not in html and "quarantine" not in html.lower()
        with time_machine.travel(due + timedelta(minutes=1)):
            assert did_you_mean(parse_query("quarantne")) == "quarantine"
            assert did_you_mean(parse_query("quarantne card")) == "quarantine card"

    def test_a_nearer_scheduled_word_gives_way_to_a_published_one(self):
        make_article(title="Passport removal notice", published_at=timezone.now() + timedelta(1))
        make_article(title="Passport renewal")
        # "remowal" is one edit from the scheduled "removal", two from "renewal".
        assert did_you_mean(parse_query("remowal")) == "renewal"

    def test_a_published_guide_is_proposed_as_before(self):
        make_article(title="Quarantine allowance")
        assert did_you_mean(parse_query("quarantne")) == "quarantine"


def test_best_bets_pin_a_guide_to_the_top(client, admin_client):
    make_article(title="Pension transfer rules", summary="Pension pension pension transfer.")
    pinned = make_article(title="Moving between cities", summary="Take your pension along.")
    draft = make_draft(title="Draft pension transfer")
    PromotedResult.objects.create(article=pinned, queries="pension transfer\nmove pension")
    PromotedResult.objects.create(article=draft, queries="pension transfer")
    found, html = result_titles(client, "Transfer my PENSION")
    assert found[0] == "Moving between cities" and "Recommended" in html
    assert found.count("Moving between cities") == 1
    assert "Draft pension transfer" not in found
    found, _ = result_titles(client, "pension")
    assert "Recommended" not in _
    assert admin_client.get("/admin/articles/promotedresult/").status_code == HTTPStatus.OK


def test_best_bets_obey_the_tag_and_category_filters(client):
    urgent_topic = make_category(slug="urgent-topic")
    tagged = make_article(title="Pension abroad", category=urgent_topic, tags=["urgent"])
    untagged = make_article(title="Pension at home", category=urgent_topic, tags=["routine"])
    make_article(title="Pension reform urgent notes", tags=["urgent"])
    PromotedResult.objects.create(article=untagged, queries="pension")
    PromotedResult.objects.create(article=tagged, queries="pension", position=1)
    urgent = Tag.objects.get(name="urgent")
    promoted, _ = search("pension", tag=urgent)
    assert [hit.article for hit in promoted] == [tagged]
    assert "Pension at home" not in titles("pension", tag=urgent)
    found, html = result_titles(client, "pension", tag="urgent")
    assert "Pension at home" not in found and found[0] == "Pension abroad"
    assert html.count("Recommended") == 1
    promoted, _ = search("pension", category=make_category())
    assert promoted == []
    promoted, _ = search("pension", category=urgent_topic)
    assert [hit.article for hit in promoted] == [untagged, tagged]


class TestIndexFollowsContent:
    def test_publishing_and_unpublishing(self):
        article = make_draft(title="Pension transfer")
        assert titles("pension") == []
        article.status = Article.Status.PUBLISHED
        article.save()
        assert titles("pension") == ["Pension transfer"]
        article.status = Article.Status.DRAFT
        article.save()
        assert titles("pension") == []
        assert not SearchDocument.objects.exists()

    def test_editing_and_deleting(self):
        article = make_article(title="Pension transfer")
        article.title = "Card renewal"
        article.save()
        assert titles("pension") == [] and titles("renewal") == ["Card renewal"]
        article.delete()
        assert titles("renewal") == []
        assert not SearchDocument.objects.exists()

    def test_scheduled_guides_appear_when_due_without_a_job(self):
        due = timezone.now() + timedelta(days=1)
        make_article(title="Pension reform", published_at=due)
        assert titles("pension") == []
        with time_machine.travel(due + timedelta(minutes=1)):
            assert titles("pension") == ["Pension reform"]

    def test_sections_citations_tags_and_laws(self):
        article = make_article(title="Guide")
        section = make_section(article, heading="Steps", body="1. Bring your passport")
        assert titles("passport") == ["Guide"]
        section.body = "1. Bring your visa"
        section.save()
        assert titles("passport") == [] and titles("visa") == ["Guide"]
        section.delete()
        assert titles("visa") == []
        article.tags.add("retirement")
        assert titles("retirement") == ["Guide"]
        tag = Tag.objects.get(name="retirement")
        tag.name = "old-age"
        tag.save()
        assert titles("old-age") == ["Guide"]
        article.tags.remove(tag)
        assert titles("old-age") == []
        law = make_law(name="Social Insurance Law")
        provision = make_provision(law=law, label="Article 23", text="Employees participate.")
        cite(article, provision)
        assert titles("employees participate") == ["Guide"]
        provision.text = "Employers contribute."
        provision.save()
        assert titles("employers") == ["Guide"] and titles("participate") == []
        law.name = "Welfare Code"
        law.save()
        assert titles("welfare code") == ["Guide"]

    def test_rebuild_command_restores_the_index(self):
        make_article(title="Pension transfer")
        make_draft(title="Pension draft")
        SearchDocument.objects.all().delete()
        assert titles("pension") == []
        out = StringIO()
        call_command("rebuild_search_index", stdout=out)
        assert "Indexed 1 guides" in out.getvalue()
        assert titles("pension") == ["Pension transfer"]


HOSTILE_QUERIES = [
    '"',
    '""',
    '"""',
    "'",
    "''",
    "\\",
    "*",
    "**",
    "^",
    "^pension",
    "pension*",
    "pen*sion",
    "NEAR",
    "NEAR(pension card)",
    "NEAR(pension card, 2)",
    "AND",
    "OR",
    "NOT",
    "pension AND",
    "OR pension",
    "NOT pension",
    "pension NOT card",
    "title:pension",
    "title : pension",
    "{title}: pension",
    "(",
    ")",
    "((pension",
    "pension)",
    "-pension",
    "+pension",
    "pension & card",
    "pension | card",
    "!pension",
    "pension:*",
    "pension:A",
    "<->",
    "pension <-> card",
    "pension <2> card",
    "\x00",
    "pen\x00sion",
    "\x1b[31mpension",
    "\r\n\t",
    "\u202epension",
    "\u200bpension\u200b",
    "😀",
    "pension 😀 card",
    "مرحبا بالعالم",
    "שלום",
    '社保 "卡',
    "' OR 1=1 --",
    "'; DROP TABLE articles_article; --",
    "%",
    "_",
    "%_%",
    "<script>alert(1)</script>",
    "javascript:alert(1)",
    "a" * 5000,
    "pension " * 1000,
    "\uffff",
    "０１２３",
    "ＡＢＣ",
    "ß",
    "İstanbul",
    "…",
    "—",
    "pension\u0301",
    # Chinese: operators, quotes and punctuation of the full-width kind, lone particles.
    "社保 OR 卡",
    "社保*",
    "“社保卡”",
    "社保\x00卡",
    "\u3000社保\u3000",
    "？？",
    "怎么",
    "的的的的的",
    "社保卡" * 100,
    "支付宝 card NEAR(社保",
    "ｓｏｃｉａｌ　社保",
    "\U00020000\U0002a700",
    "\uf900\uf901",
]
# What may reach the engine: words (letters and digits, or a CJK pair), nothing else.
PLAIN_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")


def test_hostile_queries_reach_the_engine_as_plain_words_only():
    assert len(HOSTILE_QUERIES) >= 50
    for query in HOSTILE_QUERIES:
        parsed = parse_query(query)
        assert len(parsed.text) <= MAX_QUERY_LENGTH, query
        assert not any(unicodedata.category(c)[0] == "C" for c in parsed.text), query
        assert len(parsed.terms) <= MAX_QUERY_TERMS, query
        for token in parsed.tokens():
            assert PLAIN_TOKEN.fullmatch(token), (query, token)
    # Operators are read as the words they are made of, never as syntax.
    assert parse_query("NEAR(pension card, 2)").terms == ["near", "pension", "card", "2"]
    assert parse_query("'; DROP TABLE articles_article; --").terms == [
        "drop",
        "table",
        "articles",
        "article",
    ]


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("query", HOSTILE_QUERIES)
def test_hostile_queries_never_break_search(client, query, language, caplog):
    make_article(title="Pension card guide")
    make_article(title="社保卡 pension 指南", language="zh-hans")
    for lang in ["", "all"]:
        response = client.get(
            f"/{language}/search/",
            {"q": query, "category": query[:50], "tag": query[:50], "lang": lang},
        )
        assert response.status_code == HTTPStatus.OK
        suggestions = client.get(f"/{language}/search/suggest/", {"q": query, "lang": lang})
        assert suggestions.status_code == HTTPStatus.OK
    assert not [r for r in caplog.records if r.levelname in {"ERROR", "CRITICAL"}]


@pytest.mark.parametrize("raw", ["%ED%A0%80", "%FF%FE", "%C0%AF", "%", "%%%", "%00", "%E2%80"])
def test_undecodable_query_strings_are_harmless(client, raw):
    for language in ["en", "zh-hans"]:
        response = client.get(f"/{language}/search/?q={raw}&category={raw}&lang={raw}")
        assert response.status_code == HTTPStatus.OK
        suggest_url = f"/{language}/search/suggest/?q={raw}&lang={raw}"
        assert client.get(suggest_url).status_code == HTTPStatus.OK


def test_hostile_queries_still_search_the_words_typed(client):
    make_article(title="Pension card guide")
    for query in ['"pension', "pension*", "NEAR(pension card)", "pension AND card", "(pension"]:
        found, _ = result_titles(client, query)
        assert found == ["Pension card guide"], query


def test_repeated_parameters_use_the_last_value(client):
    make_article(title="Pension card guide")
    response = client.get("/en/search/?q=zebra&q=pension&page=1&page=1")
    assert response.status_code == HTTPStatus.OK
    assert "<mark>Pension</mark> card guide" in response.content.decode()


class TestSuggestions:
    def test_titles_for_a_prefix(self, client):
        make_article(title="How to activate a medical insurance card")
        make_article(title="Insurance for students")
        make_draft(title="Insurance draft")
        response = client.get("/en/search/suggest/", {"q": "insur"})
        assert response.status_code == HTTPStatus.OK
        found = [s["title"] for s in response.json()["suggestions"]]
        assert sorted(found) == [
            "How to activate a medical insurance card",
            "Insurance for students",
        ]
        first = response.json()["suggestions"][0]
        assert first["url"].startswith("/") and "<mark>" in first["title_html"]

    def test_earlier_words_narrow_the_prefix(self):
        make_article(title="Medical insurance card")
        make_article(title="Car insurance")
        assert [s["title"] for s in suggest("medical insu")] == ["Medical insurance card"]

    def test_suggestions_are_cached(self, django_assert_num_queries):
        make_article(title="Pension transfer")
        assert suggest("pens")
        with django_assert_num_queries(0):
            assert suggest("pens")[0]["title"] == "Pension transfer"

    def test_nothing_for_empty_input(self, client):
        assert client.get("/en/search/suggest/", {"q": ""}).json() == {"suggestions": []}
        assert client.get("/en/search/suggest/").json() == {"suggestions": []}


def test_search_box_is_on_every_page_and_works_without_javascript(client):
    article = make_article(title="Pension transfer")
    for url in [
        "/en/",
        article.get_absolute_url(),
        article.category.get_absolute_url(),
        "/en/laws/",
    ]:
        html = client.get(url).content.decode()
        assert 'role="search" action="/en/search/" method="get"' in html
        assert '<label for="site-search"' in html


# Languages: each page searches its own language's guides; ?lang=all (language=None)
# searches every language. Chinese text is found by any two or more of its characters.


def zh(**fields):
    return make_article(language="zh-hans", **fields)


def chinese_titles(query, **filters):
    return titles(query, language="zh-hans", **filters)


class TestLanguages:
    def test_each_language_finds_its_own_guides_and_none_finds_all(self):
        make_article(title="Pension card")
        zh(title="养老金 pension 领取指南")
        assert titles("pension", language="en") == ["Pension card"]
        assert titles("pension", language="zh-hans") == ["养老金 pension 领取指南"]
        assert sorted(titles("pension")) == ["Pension card", "养老金 pension 领取指南"]
        assert titles("养老金", language="en") == []
        assert titles("养老金") == ["养老金 pension 领取指南"]

    def test_counts_pages_and_the_any_word_fallback_stay_within_the_language(self):
        for n in range(12):
            make_article(title=f"Pension transfer {n}")
        zh(title="养老金转移 pension")
        _, results = search("pension zebra", language="zh-hans")
        assert results.count() == 1 and not results.matched_all_words
        _, results = search("pension", language="en")
        assert results.count() == 12
        assert {hit.article.language for hit in results[0:12]} == {"en"}
        _, results = search("pension", language=None)
        assert results.count() == 13

    def test_best_bets_are_pinned_in_their_own_language_only(self):
        english = make_article(title="Card guide")
        chinese = zh(title="社保卡指南")
        PromotedResult.objects.create(article=english, queries="pension")
        PromotedResult.objects.create(article=chinese, queries="pension\n社保卡")
        promoted, _ = search("pension", language="en")
        assert [hit.article for hit in promoted] == [english]
        promoted, _ = search("pension", language="zh-hans")
        assert [hit.article for hit in promoted] == [chinese]
        promoted, _ = search("pension", language=None)
        assert [hit.article for hit in promoted] == [english, chinese]
        # A Chinese line is found inside a longer Chinese query typed without spaces.
        promoted, _ = search("怎么激活社保卡", language="zh-hans")
        assert [hit.article for hit in promoted] == [chinese]

    def test_category_and_tag_filters_combine_with_the_language(self):
        topic = make_category()
        zh(title="社保卡 A", category=topic, tags=["社保"])
        zh(title="社保卡 B", tags=["社保"])
        make_article(title="社保卡 C", category=topic, tags=["社保"])
        tag = Tag.objects.get(name="社保")
        assert chinese_titles("社保卡", category=topic) == ["社保卡 A"]
        assert sorted(chinese_titles("社保卡", tag=tag)) == ["社保卡 A", "社保卡 B"]
        assert sorted(titles("社保卡", category=topic, tag=tag)) == ["社保卡 A", "社保卡 C"]

    def test_the_index_records_the_language_and_words_per_language(self):
        article = zh(title="支付宝 Alipay 激活")
        assert SearchDocument.objects.get(pk=article.pk).language == "zh-hans"
        assert SearchTerm.objects.filter(word="alipay").get().language == "zh-hans"
        article.language = "en"
        article.save()
        assert SearchDocument.objects.get(pk=article.pk).language == "en"
        assert list(SearchTerm.objects.filter(word="alipay").values_list("language")) == [("en",)]
        assert titles("alipay", language="zh-hans") == []

    def test_the_search_page_searches_its_language_and_lang_all_every_language(self, client):
        make_article(title="Pension card")
        zh(title="养老金 pension 指南")
        response = client.get("/zh-hans/search/", {"q": "pension"})
        html = response.content.decode()
        assert response.status_code == HTTPStatus.OK
        assert "养老金 <mark>pension</mark> 指南" in html and "Pension card" not in html
        html = client.get("/zh-hans/search/", {"q": "pension", "lang": "all"}).content.decode()
        assert "<mark>Pension</mark> card" in html and "养老金 <mark>pension</mark> 指南" in html
        html = client.get("/en/search/", {"q": "养老金"}).content.decode()
        assert "养老金 pension 指南" not in html


class TestChinese:
    def test_two_characters_find_chinese_guides(self):
        zh(title="如何激活社保卡", summary="在支付宝或银行网点激活社会保障卡。")
        zh(title="医保报销指南", summary="门诊费用怎么报销。")
        make_article(title="Social security card")
        assert chinese_titles("社保") == ["如何激活社保卡"]
        assert chinese_titles("激活") == ["如何激活社保卡"]
        assert chinese_titles("保卡") == ["如何激活社保卡"]
        assert chinese_titles("银行网点") == ["如何激活社保卡"]
        assert chinese_titles("报销") == ["医保报销指南"]
        assert chinese_titles("医院") == []

    def test_questions_are_read_without_their_question_words(self):
        zh(title="社保卡激活指南", summary="带上身份证到银行网点激活。")
        zh(title="如何补办护照", summary="护照丢失后的补办步骤。")
        for query in ["社保卡如何激活？", "社保卡激活吗", "在哪里社保卡激活呢", "社保卡怎么激活"]:
            _, results = search(query, language="zh-hans")
            assert results.count() == 1 and results.matched_all_words, query
            assert results[0:1][0].article.title == "社保卡激活指南", query
        # Words in another order than the guide's: bigrams across them (活社) are in no
        # guide, so the guides with some of the words are offered, the best first.
        _, results = search("怎么激活社保卡", language="zh-hans")
        assert results.count() == 1 and not results.matched_all_words
        assert results[0:1][0].article.title == "社保卡激活指南"
        # A query made only of question words still searches for them.
        assert chinese_titles("如何") == ["如何补办护照"]

    def test_a_chinese_title_ranks_before_chinese_body_text(self):
        body_match = zh(title="办事指南一", summary="其他内容。")
        make_section(body_match, heading="说明", kind="text", body="办理居住证需要住址证明。")
        zh(title="办事指南二", summary="关于居住证的说明。")
        zh(title="居住证办理", summary="其他内容。")
        assert chinese_titles("居住证") == ["居住证办理", "办事指南二", "办事指南一"]

    def test_chinese_words_are_highlighted_not_whole_sentences_and_escaped(self):
        zh(title="<b>如何激活社保卡</b>", summary="激活社保卡后<script>即可</script>看病。")
        promoted, results = search("社保卡", language="zh-hans")
        hit = results[0:1][0]
        assert hit.title_html == "&lt;b&gt;如何激活<mark>社保卡</mark>&lt;/b&gt;"
        assert hit.snippet_html == (
            "激活<mark>社保卡</mark>后&lt;script&gt;即可&lt;/script&gt;看病"
        )
        hit = search("怎么激活社保卡", language="zh-hans")[1][0:1][0]
        assert hit.title_html == "&lt;b&gt;如何<mark>激活社保卡</mark>&lt;/b&gt;"

    def test_only_query_words_found_whole_are_highlighted(self):
        zh(title="支付宝医保卡怎么激活", summary="第二十四条规定了社保卡。")
        hit = search("社保卡怎么激活", language="zh-hans")[1][0:1][0]
        # 医保卡 shares the bigram 保卡 with 社保卡 but is not the word asked for.
        assert hit.title_html == "支付宝医保卡怎么<mark>激活</mark>"
        hit = search("第二十三条 社保卡", language="zh-hans")[1][0:1][0]
        assert "<mark>第二十" not in hit.snippet_html

    def test_snippets_of_long_chinese_text_are_cut_around_the_match(self):
        article = zh(title="指南", summary="简介。")
        filler = "这是一段很长的说明文字，" * 20
        make_section(
            article, heading="说明", kind="text", body=f"{filler}办理居住证需要住址证明。{filler}"
        )
        hit = search("居住证", language="zh-hans")[1][0:1][0]
        text = str(hit.snippet_html)
        assert text.startswith("…") and text.endswith("…")
        assert "办理<mark>居住证</mark>需要住址证明" in text
        assert len(re.sub(r"</?mark>", "", text)) < 80

    def test_the_search_page_highlights_chinese(self, client):
        zh(title="如何激活社保卡", summary="在银行网点激活社保卡。")
        response = client.get("/zh-hans/search/", {"q": "社保卡"})
        html = response.content.decode()
        assert response.status_code == HTTPStatus.OK
        assert "如何激活<mark>社保卡</mark>" in html

    def test_mixed_chinese_and_latin_queries(self):
        zh(title="支付宝激活医保卡", summary="打开支付宝App。")
        zh(title="银行卡绑定", summary="绑定 card 到账户。")
        make_article(title="Activate your card", summary="Card activation.")
        # Every word in one guide: that guide; else guides with some of the words.
        assert chinese_titles("支付宝 app") == ["支付宝激活医保卡"]
        _, results = search("支付宝 card", language="zh-hans")
        assert results.count() == 2 and not results.matched_all_words
        assert sorted(hit.article.title for hit in results[0:10]) == [
            "支付宝激活医保卡",
            "银行卡绑定",
        ]
        assert sorted(titles("支付宝 card")) == [
            "Activate your card",
            "支付宝激活医保卡",
            "银行卡绑定",
        ]

    def test_law_names_and_provisions_are_indexed_in_the_guides_language(self):
        law = make_law(name="Social Insurance Law", name_zh_hans="社会保险法")
        provision = make_provision(
            law=law,
            label="Article 23",
            label_zh_hans="第二十三条",
            text="Employees participate.",
            text_zh_hans="职工应当参加基本养老保险。",
        )
        chinese, english = zh(title="指南甲"), make_article(title="Guide A")
        cite(chinese, provision)
        cite(english, provision)
        assert chinese_titles("社会保险法") == ["指南甲"]
        assert chinese_titles("第二十三条") == ["指南甲"]
        assert chinese_titles("基本养老保险") == ["指南甲"]
        assert chinese_titles("employees") == []
        assert titles("employees participate", language="en") == ["Guide A"]
        # A law without a Chinese name is found by its English name from Chinese guides.
        untranslated = make_provision(law=make_law(name="Welfare Code"), text="Benefits.")
        cite(chinese, untranslated)
        assert chinese_titles("welfare code") == ["指南甲"]


class TestDidYouMeanAndSuggestionsPerLanguage:
    def test_a_misspelling_on_a_chinese_page_is_corrected_with_chinese_guides_words(self):
        make_article(title="Medical insurance card")
        zh(title="支付宝 Alipay 激活医保卡")
        assert did_you_mean(parse_query("insurence"), language="zh-hans") is None
        assert did_you_mean(parse_query("insurence"), language="en") == "insurance"
        assert did_you_mean(parse_query("insurence")) == "insurance"
        assert did_you_mean(parse_query("alipy"), language="zh-hans") == "alipay"
        assert did_you_mean(parse_query("alipy"), language="en") is None

    def test_the_chinese_search_page_proposes_chinese_guides_words_only(self, client):
        make_article(title="Medical insurance card")
        zh(title="支付宝 Alipay 激活医保卡")
        html = client.get("/zh-hans/search/", {"q": "insurence"}).content.decode()
        assert "insurance" not in html
        html = client.get("/zh-hans/search/", {"q": "alipy"}).content.decode()
        assert "alipay" in html
        html = client.get("/zh-hans/search/", {"q": "insurence", "lang": "all"}).content.decode()
        assert "insurance" in html

    def test_suggestions_are_titles_of_the_language(self):
        make_article(title="Insurance for students")
        zh(title="学生医保 insurance 指南")
        assert [s["title"] for s in suggest("insur", language="en")] == ["Insurance for students"]
        assert [s["title"] for s in suggest("insur", language="zh-hans")] == [
            "学生医保 insurance 指南"
        ]
        assert sorted(s["title"] for s in suggest("insur")) == [
            "Insurance for students",
            "学生医保 insurance 指南",
        ]

    def test_chinese_suggestions_complete_on_two_characters_and_highlight(self):
        zh(title="如何激活社保卡")
        make_article(title="Social security card 社保卡")
        found = suggest("社保", language="zh-hans")
        assert [s["title"] for s in found] == ["如何激活社保卡"]
        assert found[0]["title_html"] == "如何激活<mark>社保</mark>卡"
        assert found[0]["url"].startswith("/zh-hans/")
        assert suggest("怎么激活社保", language="zh-hans")[0]["title"] == "如何激活社保卡"

    def test_each_language_has_its_own_cached_suggestions(self, client):
        make_article(title="Pension transfer")
        assert suggest("pens", language="zh-hans") == []
        assert [s["title"] for s in suggest("pens", language="en")] == ["Pension transfer"]
        response = client.get("/zh-hans/search/suggest/", {"q": "pens"})
        assert response.json() == {"suggestions": []}
        response = client.get("/zh-hans/search/suggest/", {"q": "pens", "lang": "all"})
        assert [s["title"] for s in response.json()["suggestions"]] == ["Pension transfer"]


def test_a_tier_is_ranked_among_a_bounded_number_of_matches(monkeypatch):
    """A word nearly every guide holds would otherwise rank them all (the engines read
    each match's document); pages never go past MAX_RESULTS, so they never run out."""
    assert backends.RANK_CANDIDATES >= MAX_RESULTS + 2 * SEARCH_PAGE_SIZE
    body_matches = []
    for n in range(5):
        article = make_article(title=f"Guide {n}", summary="Other words.")
        make_section(article, heading="Notes", kind="text", body="Common words here.")
        body_matches.append(article.pk)
    monkeypatch.setattr(backends, "RANK_CANDIDATES", 3)
    found = backends.get_backend().ids(parse_query("common"), backends.ALL, Filters(), 0, 10)
    assert len(found) == 3 and set(found) <= set(body_matches)
    _, results = search("common")
    assert results.count() == 5
