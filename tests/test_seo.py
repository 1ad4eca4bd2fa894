"""What search engines see: sitemaps, robots.txt, <head>, structured data, feeds."""

import json
import re
import struct
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from http import HTTPStatus
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.html import escape

from articles.models import ChangeNote
from articles.seo import ARTICLE_IMAGES, SHARE_IMAGE, SITE_LOGO
from tests.factories import make_article, make_category, make_draft, make_section
from tests.helpers import SEED_URL, assert_good_page, sitemap_urls

pytestmark = pytest.mark.django_db


def structured_data(html):
    blocks = re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    assert len(blocks) == 1
    return json.loads(blocks[0])


def graph(data, kind):
    return [node for node in data.get("@graph", [data]) if node["@type"] == kind]


def served_static_file(url):
    """The file a static address is served from (the test client has no static view)."""
    return finders.find(url.removeprefix("http://testserver/static/"))


def meta_content(html, name):
    found = re.findall(rf'<meta (?:property|name)="{re.escape(name)}" content="([^"]*)">', html)
    assert len(found) == 1, (name, found)
    return found[0]


class TestSitemaps:
    def test_index_lists_sections_of_public_pages_only(self, client, demo):
        make_draft(title="Draft guide", slug="draft-guide")
        make_article(slug="future-guide", published_at=timezone.now() + timedelta(days=1))
        urls = sitemap_urls(client)
        assert f"http://testserver{SEED_URL}" in urls
        assert "http://testserver/en/social-security-inquiry/" in urls
        assert "http://testserver/en/tags/alipay/" in urls
        assert "http://testserver/en/laws/social-insurance-law/" in urls
        assert "http://testserver/en/" in urls
        assert not [u for u in urls if "draft-guide" in u or "future-guide" in u]
        assert len(urls) == len(set(urls))

    def test_guides_carry_lastmod(self, client, demo):
        xml = client.get("/sitemap-guides.xml").content.decode()
        assert "<lastmod>" in xml

    def test_tags_of_drafts_only_are_left_out(self, client):
        make_draft(tags=["secret-plans"])
        make_article(tags=["public-topic"])
        urls = sitemap_urls(client)
        assert "http://testserver/en/tags/public-topic/" in urls
        assert not [u for u in urls if "secret-plans" in u]

    def test_cost_does_not_grow_with_guides(self, client):
        category = make_category()
        make_article(category=category)

        def queries():
            with CaptureQueriesContext(connection) as captured:
                assert client.get("/sitemap-guides.xml").status_code == HTTPStatus.OK
            return len(captured)

        queries()  # the first request also caches the Site row
        few = queries()
        for _ in range(30):
            make_article(category=category)
        queries()  # saves empty per-process caches (the next due revision): refill them
        assert queries() == few


def test_robots_txt_points_to_the_sitemap_and_keeps_crawlers_out(client):
    response = client.get("/robots.txt")
    assert response.status_code == HTTPStatus.OK
    text = response.content.decode()
    assert "Sitemap: http://testserver/sitemap.xml" in text
    for path in ["/admin/", "/en/search/", "/preview/"]:
        assert f"Disallow: {path}" in text


class TestHead:
    def test_guide_page_head(self, client, demo):
        html = client.get(SEED_URL).content.decode()
        assert "<title>How to activate Alipay medical insurance card | " in html
        assert html.count('<link rel="canonical"') == 1
        assert f'<link rel="canonical" href="http://testserver{SEED_URL}">' in html
        assert '<meta property="og:type" content="article">' in html
        assert '<meta property="og:title" content="How to activate Alipay' in html
        assert '<meta name="twitter:card" content="summary_large_image">' in html
        assert '<meta name="description" content="Activate your medical insurance card' in html
        assert 'type="application/rss+xml"' in html and 'type="application/atom+xml"' in html

    def test_titles_are_unique_across_pages(self, client, demo):
        paths = [
            "/en/",
            "/en/social-security-inquiry/",
            SEED_URL,
            "/en/tags/alipay/",
            "/en/laws/",
            "/en/laws/social-insurance-law/",
        ]
        titles = [
            re.search(r"<title>(.*?)</title>", client.get(p).content.decode()).group(1)
            for p in paths
        ]
        assert len(set(titles)) == len(titles)

    def test_paginated_pages_have_their_own_canonical(self, client):
        category = make_category(slug="many")
        for _ in range(30):
            make_article(category=category)
        first = client.get("/en/many/").content.decode()
        second = client.get("/en/many/?page=2&utm_source=x").content.decode()
        assert '<link rel="canonical" href="http://testserver/en/many/">' in first
        assert '<link rel="canonical" href="http://testserver/en/many/?page=2">' in second
        assert "(page 2)" in re.search(r"<title>(.*?)</title>", second).group(1)

    def test_search_pages_are_noindex(self, client):
        html = client.get("/en/search/", {"q": "card"}).content.decode()
        assert '<meta name="robots" content="noindex">' in html


class TestImages:
    """Link previews and Google's Article rules: absolute, crawlable PNG addresses whose
    stated sizes are the files' own."""

    @pytest.mark.parametrize("image", [SITE_LOGO, SHARE_IMAGE, *ARTICLE_IMAGES])
    def test_each_site_image_is_a_small_png_of_the_stated_size(self, image):
        data = Path(finders.find(image.path)).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert struct.unpack(">II", data[16:24]) == (image.width, image.height)
        assert len(data) < 40 * 1024, "keep the PNGs optimised"

    def test_article_images_cover_googles_aspect_ratios(self):
        ratios = {Fraction(image.width, image.height) for image in ARTICLE_IMAGES}
        assert ratios == {Fraction(16, 9), Fraction(4, 3), Fraction(1)}
        assert all(image.width * image.height >= 50_000 for image in ARTICLE_IMAGES)
        assert SITE_LOGO.width >= 112 and SITE_LOGO.height >= 112

    @pytest.mark.parametrize(
        "path", ["/en/", "/en/social-security-inquiry/", SEED_URL, "/en/laws/"]
    )
    def test_pages_carry_a_large_share_image(self, client, demo, path):
        response = client.get(path)
        assert response.status_code == HTTPStatus.OK
        html = response.content.decode()
        image = meta_content(html, "og:image")
        assert image == f"http://testserver/static/{SHARE_IMAGE.path}"
        assert meta_content(html, "og:image:width") == "1200"
        assert meta_content(html, "og:image:height") == "630"
        alt = meta_content(html, "og:image:alt")
        assert alt == escape(f"{django_settings.SITE_NAME}: {SHARE_IMAGE.description}")
        assert meta_content(html, "twitter:image") == image
        assert meta_content(html, "twitter:image:alt") == alt
        assert served_static_file(image)

    def test_the_guide_names_its_images_and_its_publishers_logo(self, client, demo):
        article = graph(structured_data(client.get(SEED_URL).content.decode()), "Article")[0]
        images = article["image"]
        assert len(images) == 3
        for image in images:
            assert image["@type"] == "ImageObject"
            assert image["url"].startswith("http://testserver/static/img/share-")
            assert served_static_file(image["url"])
        logo = article["publisher"]["logo"]
        assert logo == {
            "@type": "ImageObject",
            "url": "http://testserver/static/img/logo-512.png",
            "width": 512,
            "height": 512,
        }
        assert article["publisher"]["@type"] == "Organization"
        home = structured_data(client.get("/en/").content.decode())
        assert home["publisher"]["logo"] == logo

    def test_a_static_url_on_another_host_is_kept(self, settings):
        settings.STATIC_URL = "https://cdn.example.org/static/"
        assert SHARE_IMAGE.url == f"https://cdn.example.org/static/{SHARE_IMAGE.path}"
        settings.STATIC_URL = "//cdn.example.org/static/"
        # Protocol-relative: the site's own scheme (SITE_URL is http://testserver).
        assert SITE_LOGO.url == f"http://cdn.example.org/static/{SITE_LOGO.path}"

    def test_fingerprinted_names_are_used_when_static_files_are_collected(self, tmp_path, settings):
        settings.STATIC_ROOT = tmp_path
        settings.STORAGES = {
            **settings.STORAGES,
            "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
        }
        call_command("collectstatic", interactive=False, verbosity=0)
        assert re.fullmatch(
            r"http://testserver/static/img/logo-512\.[0-9a-f]{12}\.png", SITE_LOGO.url
        )


class TestDates:
    def test_html_times_have_whole_seconds(self, client, demo):
        for path in ["/en/", SEED_URL, "/en/search/?q=card"]:
            html = client.get(path).content.decode()
            values = re.findall(r'<time datetime="([^"]+)"', html)
            assert values, path
            for value in values:
                assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", value), value

    def test_the_time_is_utc_whatever_the_display_zone(self, client, settings):
        settings.TIME_ZONE = "Asia/Shanghai"
        article = make_article(title="Late evening guide")
        moment = datetime(2026, 11, 30, 20, 3, 1, 258600, tzinfo=UTC)
        ChangeNote.objects.create(article=article, note="Office moved", made_at=moment)
        html = client.get(article.get_absolute_url()).content.decode()
        assert '<time datetime="2026-11-30T20:03:01Z">1 December 2026</time>' in html

    def test_structured_data_dates_have_whole_seconds(self, client, demo):
        article = graph(structured_data(client.get(SEED_URL).content.decode()), "Article")[0]
        for key in ["datePublished", "dateModified"]:
            assert "." not in article[key]
            assert datetime.fromisoformat(article[key]).tzinfo is not None


def modified(client, article) -> datetime:
    page = client.get(article.get_absolute_url()).content.decode()
    return datetime.fromisoformat(graph(structured_data(page), "Article")[0]["dateModified"])


class TestStructuredData:
    def test_date_modified_is_the_last_update_the_page_shows(self, client):
        published = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
        article = make_article(title="Pension transfer", published_at=published)
        assert modified(client, article) == published
        # A minor edit moves updated_at, not what citizens are told.
        article.summary = "Transfer your pension between cities."
        article.save()
        assert modified(client, article) == published
        noted = datetime(2026, 11, 30, 20, 3, 1, tzinfo=UTC)
        ChangeNote.objects.create(article=article, note="New form", made_at=noted)
        assert modified(client, article) == noted
        page = client.get(article.get_absolute_url()).content.decode()
        assert '<time datetime="2026-11-30T20:03:01Z">' in page  # as shown

    def test_seed_guide_describes_steps_questions_and_law(self, client, demo):
        data = structured_data(client.get(SEED_URL).content.decode())
        article = graph(data, "Article")[0]
        assert article["headline"] == "How to activate Alipay medical insurance card"
        assert article["datePublished"] and article["dateModified"]
        assert article["publisher"]["name"]
        assert "alipay" in article["keywords"].lower()
        laws = article["citation"]
        assert [c["legislationIdentifier"] for c in laws] == ["Article 23", "Article 24"]
        assert all(c["@type"] == "Legislation" for c in laws)
        assert "Social Insurance Law" in laws[0]["isPartOf"]["name"]
        howto = graph(data, "HowTo")
        assert len(howto) == 1 and len(howto[0]["step"]) == 8
        assert howto[0]["step"][0]["@type"] == "HowToStep"
        assert "Alipay" in howto[0]["step"][0]["text"]
        faq = {
            q["name"]: q["acceptedAnswer"]["text"] for q in graph(data, "FAQPage")[0]["mainEntity"]
        }
        answer = faq["How to handle the medical insurance card?"]
        assert "county medical insurance center" in answer and "<" not in answer

    def test_breadcrumb_matches_the_visible_one(self, client, demo):
        html = client.get(SEED_URL).content.decode()
        crumbs = graph(structured_data(html), "BreadcrumbList")[0]["itemListElement"]
        assert [c["name"] for c in crumbs] == [
            "Home",
            "Social security inquiry",
            "How to activate Alipay medical insurance card",
        ]
        visible = re.search(r'<nav class="breadcrumb wrap".*?</nav>', html, re.S).group(0)
        for crumb in crumbs:
            assert crumb["name"] in visible

    def test_a_hostile_title_cannot_break_out_of_the_script(self, client):
        article = make_article(title="</script><script>alert(1)</script> & <!--")
        make_section(article, heading="Steps", body="1. </script><b>x</b>")
        html = client.get(article.get_absolute_url()).content.decode()
        block = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
        data = json.loads(block.group(1))
        assert graph(data, "Article")[0]["headline"].startswith("</script>")
        assert "<script>alert(1)" not in html
        assert_good_page(html)

    def test_category_and_home_pages(self, client, demo):
        category = structured_data(client.get("/en/social-security-inquiry/").content.decode())
        assert graph(category, "BreadcrumbList") and graph(category, "CollectionPage")
        items = graph(category, "CollectionPage")[0]["mainEntity"]["itemListElement"]
        assert f"http://testserver{SEED_URL}" in [item["url"] for item in items]
        home = structured_data(client.get("/en/").content.decode())
        assert home["@type"] == "WebSite"
        target = home["potentialAction"]["target"]["urlTemplate"]
        assert target == "http://testserver/en/search/?q={search_term_string}"


class TestFeeds:
    @pytest.mark.parametrize("path", ["/en/feeds/latest.rss", "/en/feeds/latest.atom"])
    def test_site_feeds_list_public_guides(self, client, demo, path):
        make_draft(title="Secret draft")
        response = client.get(path)
        assert response.status_code == HTTPStatus.OK
        body = response.content.decode()
        ET.fromstring(response.content)
        assert "How to activate Alipay medical insurance card" in body
        assert "Secret draft" not in body

    def test_category_feeds(self, client, demo):
        make_article(title="Elsewhere")
        for path in [
            "/en/feeds/social-security-inquiry.rss",
            "/en/feeds/social-security-inquiry.atom",
        ]:
            body = client.get(path).content.decode()
            assert "How to activate Alipay" in body and "Elsewhere" not in body
        assert client.get("/en/feeds/no-such-topic.rss").status_code == HTTPStatus.NOT_FOUND

    def test_atom_feeds_name_an_author(self, client, demo):
        """RFC 4287: an Atom feed without an author in every entry needs one itself."""
        updates = client.get(SEED_URL).content.decode()
        feed_path = re.search(r'href="([^"]+/updates\.atom)"', updates).group(1)
        for path in ["/en/feeds/latest.atom", "/en/feeds/social-security-inquiry.atom", feed_path]:
            root = ET.fromstring(client.get(path).content)
            author = "{http://www.w3.org/2005/Atom}author/{http://www.w3.org/2005/Atom}name"
            names = [name.text for name in root.findall(author)]
            assert names == [django_settings.SITE_NAME], path

    def test_pages_link_their_feeds(self, client, demo):
        html = client.get("/en/social-security-inquiry/").content.decode()
        assert 'href="/en/feeds/social-security-inquiry.rss"' in html
        assert 'href="/en/feeds/latest.atom"' in html
