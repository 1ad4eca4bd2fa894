"""Chinese and English: language-prefixed addresses, "/" by the visitor's language,
old addresses by 301, the switcher, hreflang, and each language's own listings."""

import json
import re
from http import HTTPStatus
from urllib.parse import quote, unquote

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from articles.models import Article
from tests.factories import make_article, make_category, make_draft, make_translation
from tests.helpers import assert_good_page, sitemap_urls

pytestmark = pytest.mark.django_db

CHINESE_SLUG = "激活医保卡"


@pytest.fixture
def pair():
    """A published guide in English and its Chinese translation, one group."""
    category = make_category(slug="cards", name_en="Cards", name_zh_hans="卡片")
    english = make_article(category=category, title="Activate your card", slug="activate-card")
    chinese = make_translation(
        english, title="激活您的医保卡", slug=CHINESE_SLUG, summary="如何激活医保卡。"
    )
    return english, chinese


def alternates(html: str) -> dict[str, str]:
    return dict(re.findall(r'<link rel="alternate" hreflang="([^"]+)" href="([^"]+)">', html))


def switcher_links(html: str) -> list[str]:
    nav = re.search(r'<nav class="language-switcher".*?</nav>', html, re.S).group(0)
    return [href.replace("&amp;", "&") for href in re.findall(r'href="([^"]+)"', nav)]


class TestRootAddress:
    def test_follows_the_cookie_then_the_browser_then_the_default(self, client):
        response = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
        assert (response.status_code, response["Location"]) == (HTTPStatus.FOUND, "/zh-hans/")
        response = client.get("/", HTTP_ACCEPT_LANGUAGE="fr-FR")
        assert response["Location"] == f"/{settings.LANGUAGE_CODE}/"
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        response = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
        assert response["Location"] == "/en/"

    def test_keeps_the_query_string(self, client):
        response = client.get("/?utm_source=poster", HTTP_ACCEPT_LANGUAGE="zh-CN")
        assert response["Location"] == "/zh-hans/?utm_source=poster"

    def test_is_never_kept_by_a_shared_cache(self, client):
        response = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-CN")
        assert "private" in response["Cache-Control"] or "no-store" in response["Cache-Control"]
        vary = {part.strip().lower() for part in response["Vary"].split(",")}
        assert {"cookie", "accept-language"} <= vary

    def test_both_home_pages_answer_in_their_language(self, client):
        for code, lang in [("en", "en"), ("zh-hans", "zh-Hans")]:
            response = client.get(f"/{code}/")
            assert response.status_code == HTTPStatus.OK
            html = response.content.decode()
            assert f'<html lang="{lang}">' in html
            assert_good_page(html)


class TestOldAddresses:
    @pytest.mark.parametrize(
        "old",
        [
            "/cards/activate-card/",
            "/cards/",
            "/laws/",
            "/search/?q=card&page=1",
            "/tags/alipay/",
        ],
    )
    def test_answer_301_to_the_english_page(self, client, pair, old):
        response = client.get(old, HTTP_ACCEPT_LANGUAGE="zh-CN")
        assert response.status_code == HTTPStatus.MOVED_PERMANENTLY
        assert response["Location"] == f"/en{old}"

    def test_a_topic_renamed_since_is_one_hop_away(self, client, pair):
        english, _ = pair
        category = english.category
        category.slug = "health-cards"
        category.save()
        response = client.get("/cards/activate-card/")
        assert response.status_code == HTTPStatus.MOVED_PERMANENTLY
        assert response["Location"] == "/en/health-cards/activate-card/"

    def test_other_site_paths_are_left_alone(self, client):
        assert client.get("/robots.txt").status_code == HTTPStatus.OK
        assert client.get("/admin/login/").status_code == HTTPStatus.OK
        assert client.get("/no/such/deep/path/").status_code == HTTPStatus.NOT_FOUND

    def test_a_guide_under_the_wrong_language_goes_to_its_own(self, client, pair):
        english, chinese = pair
        response = client.get(f"/zh-hans/cards/{english.slug}/")
        assert response.status_code == HTTPStatus.MOVED_PERMANENTLY
        assert response["Location"] == english.get_absolute_url()
        response = client.get(f"/en/cards/{quote(CHINESE_SLUG)}/")
        assert response["Location"] == chinese.get_absolute_url()


class TestChineseAddresses:
    def test_a_chinese_slug_is_percent_encoded_in_links_and_served(self, client, pair):
        _, chinese = pair
        url = chinese.get_absolute_url()
        assert url == f"/zh-hans/cards/{quote(CHINESE_SLUG)}/"
        response = client.get(url)
        assert response.status_code == HTTPStatus.OK
        html = response.content.decode()
        assert f'<link rel="canonical" href="http://testserver{url}">' in html
        assert CHINESE_SLUG in unquote(url)

    def test_a_changed_chinese_slug_redirects_from_the_old_address(self, client, pair):
        _, chinese = pair
        old = chinese.get_absolute_url()
        chinese.slug = "医保卡激活"
        chinese.save()
        response = client.get(old)
        assert response.status_code == HTTPStatus.MOVED_PERMANENTLY
        assert response["Location"] == chinese.get_absolute_url()

    def test_an_address_too_long_once_encoded_is_refused(self):
        guide = make_draft(language="zh-hans", slug="社" * 40)
        with pytest.raises(ValidationError) as error:
            guide.full_clean()
        assert "slug" in error.value.message_dict

    def test_a_group_holds_one_version_per_language(self, pair):
        english, _ = pair
        with pytest.raises(IntegrityError), transaction.atomic():
            make_article(language="zh-hans", translation_group=english.translation_group)

    def test_a_version_is_not_translated_from_its_own_language(self):
        guide = make_draft(language="zh-hans")
        guide.translated_from = "zh-hans"
        with pytest.raises(ValidationError):
            guide.full_clean()


class TestSwitcherAndAlternates:
    def test_a_guide_links_to_its_translation_both_ways(self, client, pair):
        english, chinese = pair
        en_html = client.get(english.get_absolute_url()).content.decode()
        zh_html = client.get(chinese.get_absolute_url()).content.decode()
        expected = {
            "en": f"http://testserver{english.get_absolute_url()}",
            "zh-Hans": f"http://testserver{chinese.get_absolute_url()}",
            "x-default": f"http://testserver{english.get_absolute_url()}",
        }
        assert alternates(en_html) == expected
        assert alternates(zh_html) == expected
        assert switcher_links(en_html) == [
            f"/language/zh-hans/?next={quote(chinese.get_absolute_url())}"
        ]
        assert switcher_links(zh_html) == [
            f"/language/en/?next={quote(english.get_absolute_url())}"
        ]
        assert '<html lang="zh-Hans">' in zh_html

    def test_without_a_translation_the_switcher_goes_home_and_says_so(self, client):
        guide = make_article()
        html = client.get(guide.get_absolute_url()).content.decode()
        assert alternates(html) == {}
        assert switcher_links(html) == ["/language/zh-hans/?next=/zh-hans/"]
        nav = re.search(r'<nav class="language-switcher".*?</nav>', html, re.S).group(0)
        assert "language-switcher__note" in nav

    def test_an_unpublished_translation_is_not_offered(self, client, pair):
        english, chinese = pair
        chinese.status = Article.Status.DRAFT
        chinese.save()
        html = client.get(english.get_absolute_url()).content.decode()
        assert alternates(html) == {}
        assert switcher_links(html) == ["/language/zh-hans/?next=/zh-hans/"]

    @pytest.mark.parametrize("path", ["/en/", "/en/cards/", "/en/laws/"])
    def test_pages_in_every_language_list_each_other(self, client, pair, path):
        html = client.get(path).content.decode()
        found = alternates(html)
        assert set(found) == {"en", "zh-Hans", "x-default"}
        assert found["zh-Hans"] == "http://testserver/zh-hans/" + path.removeprefix("/en/")

    def test_choosing_a_language_remembers_it_and_goes_to_the_page(self, client, pair):
        _, chinese = pair
        target = chinese.get_absolute_url()
        response = client.get(f"/language/zh-hans/?next={quote(target)}")
        assert (response.status_code, response["Location"]) == (HTTPStatus.FOUND, target)
        assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"
        assert "no-store" in response["Cache-Control"] or "private" in response["Cache-Control"]
        assert client.get("/", HTTP_ACCEPT_LANGUAGE="en")["Location"] == "/zh-hans/"

    @pytest.mark.parametrize(
        "target",
        ["//evil.example/", "https://evil.example/zh-hans/", "/en/laws/", "/\\evil.example", ""],
    )
    def test_choosing_a_language_never_leaves_the_site_or_the_language(self, client, target):
        response = client.get("/language/zh-hans/", {"next": target})
        assert response["Location"] == "/zh-hans/"

    def test_an_unknown_language_is_a_404(self, client):
        assert client.get("/language/fr/?next=/fr/").status_code == HTTPStatus.NOT_FOUND


class TestEachLanguageItsOwnLists:
    def test_listings_and_feeds_show_only_their_language(self, client, pair):
        english, chinese = pair
        for path, present, absent in [
            ("/en/", english, chinese),
            ("/zh-hans/", chinese, english),
            ("/en/cards/", english, chinese),
            ("/zh-hans/cards/", chinese, english),
            ("/en/feeds/latest.atom", english, chinese),
            ("/zh-hans/feeds/latest.atom", chinese, english),
        ]:
            body = client.get(path).content.decode()
            assert present.title in body, path
            assert present.title != absent.title and absent.title not in body, path

    def test_topic_names_follow_the_language(self, client, pair):
        assert "卡片" in client.get("/zh-hans/cards/").content.decode()
        assert "卡片" not in client.get("/en/cards/").content.decode()

    def test_a_tag_page_exists_where_the_tag_has_guides(self, client, pair):
        english, chinese = pair
        chinese.tags.add("医保卡")
        assert client.get(f"/zh-hans/tags/{quote('医保卡')}/").status_code == HTTPStatus.OK
        assert client.get(f"/en/tags/{quote('医保卡')}/").status_code == HTTPStatus.NOT_FOUND

    def test_structured_data_names_the_language(self, client, pair):
        _, chinese = pair
        html = client.get(chinese.get_absolute_url()).content.decode()
        data = json.loads(re.search(r'ld\+json">(.*?)</script>', html, re.S).group(1))
        article = next(item for item in data["@graph"] if item["@type"] == "Article")
        assert article["inLanguage"] == "zh-Hans"


def test_sitemaps_list_both_versions_with_alternates(client, pair):
    english, chinese = pair
    urls = sitemap_urls(client)
    for guide in pair:
        assert f"http://testserver{guide.get_absolute_url()}" in urls
    xml = client.get("/sitemap-guides.xml").content.decode()
    assert (
        f'<xhtml:link rel="alternate" hreflang="zh-Hans" '
        f'href="http://testserver{chinese.get_absolute_url()}"/>' in xml
    )
    assert 'hreflang="x-default"' in xml
    topics = client.get("/sitemap-topics.xml").content.decode()
    assert "http://testserver/zh-hans/cards/" in topics


def test_the_home_pages_x_default_is_the_same_in_head_and_sitemap(client):
    head = alternates(client.get("/zh-hans/").content.decode())["x-default"]
    pages = client.get("/sitemap-pages.xml").content.decode()
    assert head == "http://testserver/"
    assert f'hreflang="x-default" href="{head}"' in pages


def test_robots_keep_crawlers_out_of_every_languages_search(client):
    robots = client.get("/robots.txt").content.decode()
    assert "Disallow: /en/search/" in robots and "Disallow: /zh-hans/search/" in robots
    assert "Disallow: /language/" in robots


def test_the_admin_follows_the_editors_language(client):
    chinese = client.get("/admin/login/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    assert '<html lang="zh-hans"' in chinese.content.decode()
    assert "登录" in chinese.content.decode()
    english = client.get("/admin/login/", HTTP_ACCEPT_LANGUAGE="en-GB")
    assert "Log in" in english.content.decode()
    assert "Accept-Language" in chinese["Vary"]


def test_the_sitemap_index_does_not_load_every_guide(client):
    for _ in range(5):
        make_article()
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/sitemap.xml").status_code == HTTPStatus.OK
    # The guides' latest change is one aggregate, not a read of every guide's row.
    rows = [q["sql"] for q in queries if '"articles_article"."updated_at"' in q["sql"]]
    assert rows and all("MAX(" in sql for sql in rows), rows


def test_a_version_in_a_language_no_longer_configured_breaks_nothing(client, pair):
    """One bad record (a language since removed from LANGUAGES) must not turn the
    other versions' pages or the sitemap into a 500, nor be linked."""
    english, _ = pair
    make_translation(english, language="fr", slug="activer-la-carte")
    response = client.get(english.get_absolute_url())
    assert response.status_code == HTTPStatus.OK
    assert "/fr/" not in response.content.decode()
    sitemap = client.get("/sitemap-guides.xml")
    assert sitemap.status_code == HTTPStatus.OK
    assert "activer-la-carte" not in sitemap.content.decode()
