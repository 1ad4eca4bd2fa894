"""Pages that list many guides stay bounded: a law page shows the first guides per
provision with their count and a way to every one of them; sitemaps are paginated by
GuideSitemap.limit, written without a template node per URL, and cost a fixed number
of queries however many guides there are."""

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from http import HTTPStatus

import pytest
from django.core.cache import cache
from django.db import connection
from django.template.loader import get_template
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.encoding import iri_to_uri

from articles.caching import content_version
from articles.models import Article
from articles.sitemaps import GuideSitemap, UrlsetTemplate, guide_path
from articles.views import GUIDES_PER_PROVISION
from tests.factories import (
    cite,
    make_article,
    make_category,
    make_draft,
    make_provision,
    make_translation,
)
from tests.helpers import SITEMAP_NS, assert_good_page, sitemap_urls

pytestmark = pytest.mark.django_db

XHTML = "{http://www.w3.org/1999/xhtml}link"


@pytest.fixture(autouse=True)
def _no_page_cache(settings):
    settings.PAGE_CACHE = False


def _html(client, path) -> str:
    response = client.get(path)
    assert response.status_code == HTTPStatus.OK, path
    return response.content.decode()


def _links(html) -> list[str]:
    """The guides a law page lists (links in lists in <main>, after the heading)."""
    main = html[html.index("<h1>") : html.index("</main>")]
    return re.findall(r'<li><a href="([^"]+)">', main)


def _queries(client, path) -> int:
    client.get("/robots.txt")  # per-process caches filled after a change (next due)
    content_version()
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == HTTPStatus.OK
    return len(captured)


def _cited_by(provision, count, **fields):
    """`count` published English guides citing `provision`, titles in reverse order of
    creation so that the page's order by title is not the order of keys."""
    guides = [make_article(title=f"Guide {n:03d}", **fields) for n in reversed(range(count))]
    for guide in guides:
        cite(guide, provision)
    return sorted(guides, key=lambda guide: guide.title)


class TestLawPage:
    def test_lists_the_first_guides_by_title_with_the_count_and_a_link_to_all(self, client):
        provision = make_provision(label="Article 7")
        guides = _cited_by(provision, GUIDES_PER_PROVISION + 12)
        cite(make_draft(title="Draft citing"), provision)
        cite(
            make_article(title="Future citing", published_at=timezone.now().replace(year=2100)),
            provision,
        )
        cite(make_translation(guides[0], title="中文指南"), provision)
        html = _html(client, provision.law.get_absolute_url())
        assert_good_page(html)
        shown = [guide.get_absolute_url() for guide in guides[:GUIDES_PER_PROVISION]]
        assert _links(html) == shown
        assert "The first 50 of 62 guides that cite it, by title." in html
        everything = f"{provision.law.get_absolute_url()}?provision={provision.anchor}"
        assert f'<a href="{everything}">See all 62 guides that cite Article 7</a>' in html
        assert "Draft citing" not in html and "Future citing" not in html and "中文指南" not in html

    def test_the_list_of_all_guides_citing_a_provision_reaches_every_one(self, client):
        provision = make_provision(label="Article 8")
        guides = _cited_by(provision, GUIDES_PER_PROVISION + 12)
        cite(make_draft(title="Draft citing"), provision)
        first = f"{provision.law.get_absolute_url()}?provision={provision.anchor}"
        page_one, page_two = _html(client, first), _html(client, f"{first}&page=2")
        for html in (page_one, page_two):
            assert_good_page(html)
            assert "<h1>Guides that cite Article 8</h1>" in html
        assert _links(page_one) + _links(page_two) == [g.get_absolute_url() for g in guides]
        assert f'<link rel="canonical" href="http://testserver{first}">' in page_one
        law = provision.law.short_name
        assert f"<title>Guides that cite Article 8 of the {law} | " in page_one
        assert f"<title>Guides that cite Article 8 of the {law} (page 2) | " in page_two
        assert "Draft citing" not in page_two
        assert 'href="?provision=article-8&amp;page=2"' in page_one
        assert client.get(f"{first}&page=3").status_code == HTTPStatus.NOT_FOUND
        missing = f"{provision.law.get_absolute_url()}?provision=no-such-article"
        assert client.get(missing).status_code == HTTPStatus.NOT_FOUND

    def test_a_chinese_page_lists_the_chinese_versions(self, client):
        provision = make_provision(label="Article 9", label_zh_hans="第9条")
        english = make_article(title="Apply for a card")
        chinese = make_translation(english, title="申领卡片")
        for guide in (english, chinese):
            cite(guide, provision)
        chinese_page = provision.law.get_absolute_url().replace("/en/", "/zh-hans/")
        assert _links(_html(client, chinese_page)) == [chinese.get_absolute_url()]
        only_english = make_provision(law=provision.law, label="Article 10")
        cite(english, only_english)
        html = _html(client, f"{chinese_page}?provision={only_english.anchor}")
        assert_good_page(html)
        assert _links(html) == [] and "目前还没有已发布的指南引用此条款。" in html

    def test_costs_the_same_queries_however_many_guides_cite_it(self, client):
        few, many = make_provision(), make_provision()
        _cited_by(few, 2)
        _cited_by(many, GUIDES_PER_PROVISION + 30)
        first = [_queries(client, p.law.get_absolute_url()) for p in (few, many)]
        # The lists and counts are kept under the content version: no query for them.
        again = [_queries(client, p.law.get_absolute_url()) for p in (few, many)]
        assert first[0] == first[1] <= 3
        assert again[0] == again[1] == first[0] - 1
        # The list of all: the first page and the count are the law page's, kept; a
        # later page reads its guides.
        lists = [f"{p.law.get_absolute_url()}?provision={p.anchor}" for p in (few, many)]
        assert _queries(client, lists[0]) == _queries(client, lists[1]) == again[0]
        assert _queries(client, f"{lists[1]}&page=2") == again[0] + 1

    def test_a_change_shows_at_once(self, client):
        provision = make_provision()
        _cited_by(provision, GUIDES_PER_PROVISION + 1)
        path = provision.law.get_absolute_url()
        assert "The first 50 of 51 guides" in _html(client, path)
        cite(make_article(title="Aaa first by title"), provision)
        html = _html(client, path)
        assert "The first 50 of 52 guides" in html and "Aaa first by title" in html


def _guides_sitemap(client) -> tuple[dict[str, dict[str, str]], list[str]]:
    """{guide URL: {hreflang: URL}} over every page of the guides' sitemap (checking
    that no URL is listed twice), and the pages as the index lists them."""
    index = ET.fromstring(client.get("/sitemap.xml").content)
    pages = [
        loc.text.removeprefix("http://testserver")
        for loc in index.findall("sm:sitemap/sm:loc", SITEMAP_NS)
        if "sitemap-guides" in loc.text
    ]
    found = {}
    for page in pages:
        urlset = ET.fromstring(client.get(page).content)
        for url in urlset.findall("sm:url", SITEMAP_NS):
            loc = url.find("sm:loc", SITEMAP_NS).text
            assert loc not in found
            found[loc] = {link.get("hreflang"): link.get("href") for link in url.iter(XHTML)}
    return found, pages


class TestGuidesSitemap:
    def test_pages_at_the_limit_list_every_public_guide_once_with_its_versions(
        self, client, monkeypatch
    ):
        monkeypatch.setattr(GuideSitemap, "limit", 3)
        category = make_category(slug="cards")
        # Translated after every other guide: its versions are on different pages.
        early = make_article(category=category, slug="translated-late")
        pairs = []
        for n in range(4):
            english = make_article(category=category, slug=f"card-{n}")
            make_draft(category=category, slug=f"draft-{n}")
            pairs.append((english, make_translation(english, slug=f"卡片-{n}")))
        alone = make_article(category=category, slug="english-only")
        pairs.append((early, make_translation(early, slug="后来")))
        found, pages = _guides_sitemap(client)
        # 11 public guides, 3 a page.
        assert pages == ["/sitemap-guides.xml", *(f"/sitemap-guides.xml?p={n}" for n in (2, 3, 4))]
        public = Article.objects.published()
        assert set(found) == {f"http://testserver{g.get_absolute_url()}" for g in public}
        for english, chinese in pairs:
            expected = {
                "en": f"http://testserver{english.get_absolute_url()}",
                "zh-Hans": f"http://testserver{chinese.get_absolute_url()}",
                "x-default": f"http://testserver{english.get_absolute_url()}",
            }
            assert found[expected["en"]] == found[expected["zh-Hans"]] == expected
        assert found[f"http://testserver{alone.get_absolute_url()}"] == {}
        assert client.get("/sitemap-guides.xml?p=5").status_code == HTTPStatus.NOT_FOUND

    def test_a_new_guide_is_listed_at_once(self, client, monkeypatch):
        monkeypatch.setattr(GuideSitemap, "limit", 2)
        for _ in range(3):
            make_article()
        assert len(_guides_sitemap(client)[0]) == 3
        make_article()
        make_article()
        found, pages = _guides_sitemap(client)
        assert len(found) == 5 and len(pages) == 3

    def test_written_as_djangos_template_writes_it(self, client, settings):
        settings.TIME_ZONE = "Asia/Shanghai"  # lastmod is a date in the current time zone
        english = make_article(slug="late-evening")
        Article.objects.filter(pk=english.pk).update(
            updated_at=datetime(2025, 3, 1, 20, 30, tzinfo=UTC)
        )
        make_translation(english, slug="深夜")
        make_article(slug="alone")
        response = client.get("/sitemap-guides.xml")
        sitemap = GuideSitemap()
        urls = sitemap.get_urls(protocol="http", site=type("Site", (), {"domain": "testserver"}))
        assert response.content.decode() == get_template("sitemap.xml").render({"urlset": urls})
        assert "<lastmod>2025-03-02</lastmod>" in response.content.decode()

    def test_escapes_as_the_template_does(self):
        odd = {
            "location": "http://testserver/a?b=1&c='d'<e>\"",
            "lastmod": None,
            "changefreq": "weekly&",
            "priority": "",
            "alternates": [{"lang_code": "x<", "location": "http://testserver/&"}],
        }
        plain = {**odd, "lastmod": datetime(2025, 1, 1, tzinfo=UTC), "alternates": []}
        for urlset in ([], [odd], [odd, plain, odd]):
            expected = get_template("sitemap.xml").render({"urlset": urlset})
            assert UrlsetTemplate().render({"urlset": urlset}) == expected

    def test_query_counts_do_not_grow_with_guides_or_pages(self, client, monkeypatch):
        monkeypatch.setattr(GuideSitemap, "limit", 2)
        category = make_category()
        for _ in range(3):
            make_translation(make_article(category=category, tags=["card"]))
        paths = ["/sitemap.xml", "/sitemap-guides.xml", "/sitemap-topics.xml", "/sitemap-tags.xml"]
        client.get("/sitemap.xml")  # the Site row, cached for the process

        def counts():
            """Queries of each sitemap, first after a change (nothing kept for this
            content version yet), then with what is kept."""
            first = []
            for path in paths:
                cache.clear()
                first.append(_queries(client, path))
            for path in paths:
                client.get(path)
            return first, [_queries(client, path) for path in paths]

        few = counts()
        for _ in range(10):
            make_translation(make_article(category=category, tags=["card"]))
        assert counts() == few
        # A first request reads every guide's key once (the pages' bounds), then a
        # page reads its guides and their other versions.
        assert few == ([5, 3, 2, 1], [2, 2, 1, 0])
        assert _queries(client, "/sitemap-guides.xml?p=13") == few[1][1]


def test_tags_sitemap_lists_a_tag_in_each_language_it_has_public_guides_in(client):
    english = make_article(tags=["both", "english"])
    make_translation(english, tags=["both"])
    make_draft(language="zh-hans", tags=["english", "draft-only"])
    urls = {url.removeprefix("http://testserver") for url in sitemap_urls(client)}
    tags = {url for url in urls if "/tags/" in url}
    assert tags == {"/en/tags/both/", "/zh-hans/tags/both/", "/en/tags/english/"}


def test_topics_sitemap_lastmod_is_the_latest_public_change(client):
    category = make_category(slug="money")
    older, newer = make_article(category=category), make_article(category=category)
    draft = make_draft(category=category)
    changes = [(older, datetime(2024, 5, 1, tzinfo=UTC)), (newer, datetime(2024, 6, 2, tzinfo=UTC))]
    for guide, moment in [*changes, (draft, datetime(2025, 1, 1, tzinfo=UTC))]:
        Article.objects.filter(pk=guide.pk).update(updated_at=moment)
    xml = client.get("/sitemap-topics.xml").content.decode()
    entry = re.search(r"<url><loc>http://testserver/en/money/</loc>(.*?)</url>", xml).group(1)
    assert entry.startswith("<lastmod>2024-06-02</lastmod>")


@pytest.mark.parametrize("slug", ["plain-slug", "激活医保卡", "café_2", "a b", "x%41~y", "𝔘"])
def test_guide_paths_are_encoded_as_reverse_encodes_them(slug):
    path = f"/zh-hans/cards/{slug}/"
    assert guide_path("zh-hans", "cards", slug) == iri_to_uri(path)
