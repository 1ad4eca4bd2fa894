"""Every public page type is valid HTML5 with a sound outline; a crawl from / finds
no broken link, and the sitemap and the site agree."""

from datetime import timedelta
from http import HTTPStatus

import pytest
from django.utils import timezone

from articles.models import PreviewLink
from tests.helpers import SEED_URL, assert_good_page, crawl, sitemap_urls

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/en/", HTTPStatus.OK),
        ("/en/social-security-inquiry/", HTTPStatus.OK),
        (SEED_URL, HTTPStatus.OK),
        ("/en/tags/alipay/", HTTPStatus.OK),
        ("/en/laws/", HTTPStatus.OK),
        ("/en/laws/social-insurance-law/", HTTPStatus.OK),
        ("/en/search/?q=card", HTTPStatus.OK),
        ("/en/search/?q=", HTTPStatus.OK),
        ("/en/search/?q=zzzzqqq", HTTPStatus.OK),
        ("/en/no-such-page/", HTTPStatus.NOT_FOUND),
    ],
)
def test_page_types_are_valid_html_with_one_h1_and_ordered_headings(client, demo, path, status):
    response = client.get(path)
    assert response.status_code == status
    assert_good_page(response.content.decode())


def test_removed_guide_and_expired_preview_pages_are_valid_html(client, demo):
    guide = demo
    link = PreviewLink.objects.create(article=guide, expires_at=timezone.now() - timedelta(1))
    expired = client.get(link.get_absolute_url())
    assert expired.status_code == HTTPStatus.GONE
    assert_good_page(expired.content.decode())
    path = guide.get_absolute_url()
    guide.delete()
    gone = client.get(path)
    assert gone.status_code == HTTPStatus.GONE
    assert_good_page(gone.content.decode())


def test_crawl_finds_no_broken_link_and_matches_the_sitemap(client, demo):
    found = crawl(client)
    broken = {path: status for path, status in found.items() if status != HTTPStatus.OK}
    assert not broken
    assert SEED_URL in found
    public_pages = {path for path in found if "?" not in path}
    in_sitemap = {url.removeprefix("http://testserver") for url in sitemap_urls(client)}
    # Every page a crawler reaches is in the sitemap, and no sitemap page is an orphan.
    assert public_pages == in_sitemap, (public_pages - in_sitemap, in_sitemap - public_pages)
    for path in in_sitemap:
        assert client.get(path).status_code == HTTPStatus.OK, path
    assert len(public_pages) > 20
