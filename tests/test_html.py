"""Every public page type is valid HTML5 with a sound outline; a crawl from / finds
no broken link, and the sitemap and the site agree."""

from datetime import timedelta
from http import HTTPStatus
from urllib.parse import urljoin, urlsplit

import pytest
from django.core.management import call_command
from django.utils import timezone

from articles.models import Article, PreviewLink
from tests.html_checks import assert_good_page
from tests.test_seo import sitemap_urls

pytestmark = pytest.mark.django_db

LINK = __import__("re").compile(r'<a [^>]*href="([^"#]*)')
SKIP_PREFIXES = ("/admin/", "/static/", "/feeds/", "/search/")


@pytest.fixture
def demo():
    call_command("load_demo_content", verbosity=0)


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/social-security-inquiry/",
        "/social-security-inquiry/how-to-activate-alipay-medical-insurance-card/",
        "/tags/alipay/",
        "/laws/",
        "/laws/social-insurance-law/",
        "/search/?q=card",
        "/search/?q=",
        "/search/?q=zzzzqqq",
        "/no-such-page/",
    ],
)
def test_page_types_are_valid_html_with_one_h1_and_ordered_headings(client, demo, path):
    response = client.get(path)
    assert response.status_code in {HTTPStatus.OK, HTTPStatus.NOT_FOUND}
    assert_good_page(response.content.decode())


def test_removed_guide_and_expired_preview_pages_are_valid_html(client, demo):
    guide = Article.objects.get(slug="how-to-activate-alipay-medical-insurance-card")
    link = PreviewLink.objects.create(article=guide, expires_at=timezone.now() - timedelta(1))
    expired = client.get(link.get_absolute_url())
    assert expired.status_code == HTTPStatus.GONE
    assert_good_page(expired.content.decode())
    path = guide.get_absolute_url()
    guide.delete()
    gone = client.get(path)
    assert gone.status_code == HTTPStatus.GONE
    assert_good_page(gone.content.decode())


def crawl(client, start="/"):
    """Every internal page reachable from `start`, with its status."""
    seen, queue, found = set(), [start], {}
    while queue and len(seen) < 500:
        path = queue.pop()
        if path in seen:
            continue
        seen.add(path)
        response = client.get(path)
        found[path] = response.status_code
        if response.status_code != HTTPStatus.OK or "text/html" not in response["Content-Type"]:
            continue
        for href in LINK.findall(response.content.decode()):
            target = urlsplit(urljoin("http://testserver" + path, href.replace("&amp;", "&")))
            if target.netloc != "testserver" or target.path.startswith(SKIP_PREFIXES):
                continue
            queue.append(target.path + (f"?{target.query}" if target.query else ""))
    return found


def test_crawl_finds_no_broken_link_and_matches_the_sitemap(client, demo):
    found = crawl(client)
    broken = {path: status for path, status in found.items() if status != HTTPStatus.OK}
    assert not broken
    public_pages = {path for path in found if "?" not in path}
    in_sitemap = {url.removeprefix("http://testserver") for url in sitemap_urls(client)}
    assert public_pages <= in_sitemap, public_pages - in_sitemap
    for path in in_sitemap:
        assert client.get(path).status_code == HTTPStatus.OK, path
    assert len(public_pages) > 20
