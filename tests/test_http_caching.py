"""HTTP semantics: validators, 304s, HEAD, and who may cache what."""

from datetime import timedelta
from http import HTTPStatus

import pytest
import time_machine
from django.core.cache import cache
from django.utils import timezone

from articles.caching import _served_page_key
from tests.factories import cite, make_article, make_category, make_provision, make_section

pytestmark = pytest.mark.django_db


@pytest.fixture
def guide():
    article = make_article(category=make_category(slug="cards"), tags=["card"])
    make_section(article, heading="Steps")
    cite(article, make_provision())
    return article


def public_paths(guide):
    provision = guide.provisions.get()
    return [
        "/en/",
        "/en/cards/",
        guide.get_absolute_url(),
        "/en/tags/card/",
        "/en/laws/",
        provision.law.get_absolute_url(),
    ]


def test_public_pages_send_validators_and_shared_cache_headers(client, guide):
    for path in public_paths(guide):
        response = client.get(path)
        assert response.status_code == HTTPStatus.OK, path
        assert response["ETag"] and response["Last-Modified"], path
        cache_control = response["Cache-Control"]
        for part in ["public", "max-age=", "s-maxage=", "stale-while-revalidate="]:
            assert part in cache_control, (path, cache_control)


def test_repeated_requests_get_304(client, guide):
    for path in public_paths(guide):
        first = client.get(path)
        by_etag = client.get(path, headers={"If-None-Match": first["ETag"]})
        assert by_etag.status_code == HTTPStatus.NOT_MODIFIED, path
        assert by_etag.content == b""
        by_date = client.get(path, headers={"If-Modified-Since": first["Last-Modified"]})
        assert by_date.status_code == HTTPStatus.NOT_MODIFIED, path


def test_a_304_costs_no_query(client, guide, django_assert_num_queries):
    # The content version and the due revisions are read from the cache
    # (articles.caching, articles.workflow), and the page is known to exist at this
    # content version from the first answer to a revalidating client (one holding an
    # older version).
    etag = client.get(guide.get_absolute_url(), headers={"If-None-Match": '"c0"'})["ETag"]
    with django_assert_num_queries(0):
        response = client.get(guide.get_absolute_url(), headers={"If-None-Match": etag})
    assert response.status_code == HTTPStatus.NOT_MODIFIED
    assert response["ETag"] == etag and response["Last-Modified"]
    assert "s-maxage=60" in response["Cache-Control"]


def test_plain_requests_leave_no_trace_in_the_cache(client, guide):
    response = client.get(guide.get_absolute_url() + "?made-up=1")
    assert response.status_code == HTTPStatus.OK
    request = response.wsgi_request
    assert cache.get(_served_page_key(request, response["ETag"])) is None


def conditional_headers(client):
    """If-None-Match and If-Modified-Since that match the current content version."""
    current = client.get("/en/")
    return [
        {"If-None-Match": current["ETag"]},
        {"If-Modified-Since": current["Last-Modified"]},
    ]


def test_missing_pages_answer_404_to_a_conditional_request(client, guide):
    missing = [
        "/en/no-such-topic/no-such-guide/",
        "/en/cards/no-such-guide/",
        "/en/no-such-topic/",
        "/en/tags/no-such-tag/",
        "/en/laws/no-such-law/",
        "/en/cards/?page=9",
    ]
    for headers in conditional_headers(client):
        for path in missing:
            response = client.get(path, headers=headers)
            assert response.status_code == HTTPStatus.NOT_FOUND, (path, headers)
            assert "ETag" not in response, path


def test_moved_pages_still_redirect_on_a_conditional_request(client, guide):
    old_url = guide.get_absolute_url()
    guide.slug = "renamed-guide"
    guide.save()
    wrong_topic = f"/en/{make_category(slug='other').slug}/{guide.slug}/"
    for headers in conditional_headers(client):
        for path, target in [
            (old_url, guide.get_absolute_url()),  # a recorded move (django.contrib.redirects)
            (wrong_topic, guide.get_absolute_url()),  # the view's own redirect
            ("/en/CARDS/", "/en/cards/"),  # the lower-case form
        ]:
            response = client.get(path, headers=headers)
            assert response.status_code == HTTPStatus.MOVED_PERMANENTLY, (path, headers)
            assert response["Location"] == target


def test_an_address_not_yet_served_at_this_version_is_rendered_then_answers_304(client, guide):
    # As on another worker, or after the cache evicted it: rendered to know it exists.
    etag = client.get(guide.get_absolute_url())["ETag"]
    unseen = guide.get_absolute_url() + "?from=newsletter"
    response = client.get(unseen, headers={"If-None-Match": etag})
    assert response.status_code == HTTPStatus.NOT_MODIFIED
    assert response.content == b""


def test_validators_change_the_moment_an_editor_saves(client, guide):
    before = client.get(guide.get_absolute_url())
    section = guide.sections.get()
    section.body = "1. A new first step"
    section.save()
    after = client.get(guide.get_absolute_url(), headers={"If-None-Match": before["ETag"]})
    assert after.status_code == HTTPStatus.OK
    assert after["ETag"] != before["ETag"]
    assert "A new first step" in after.content.decode()


def test_validators_change_when_a_scheduled_guide_goes_live(client, guide):
    due = timezone.now() + timedelta(hours=2)
    make_article(category=guide.category, title="Scheduled guide", published_at=due)
    before = client.get("/en/cards/")
    with time_machine.travel(due + timedelta(seconds=1)):
        after = client.get("/en/cards/", headers={"If-None-Match": before["ETag"]})
        assert after.status_code == HTTPStatus.OK
        assert "Scheduled guide" in after.content.decode()


def test_head_works_without_a_body(client, guide):
    response = client.head(guide.get_absolute_url())
    assert response.status_code == HTTPStatus.OK
    assert response.content == b""
    assert response["ETag"]


def test_admin_and_search_are_never_cached(admin_client, client, guide):
    admin = admin_client.get(f"/admin/articles/article/{guide.pk}/change/")
    assert "no-store" in admin["Cache-Control"] or "private" in admin["Cache-Control"]
    search = client.get("/en/search/", {"q": "guide"})
    assert "no-store" in search["Cache-Control"] or "private" in search["Cache-Control"]
    assert "public" not in search["Cache-Control"]
