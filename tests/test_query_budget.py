"""The guide page costs the same fixed number of queries, however rich the guide:
BUDGET when its parts are made (the first request at a content version), one query
(the guide's row) when they come from the cache. The whole-page cache is off here
(PAGE_CACHE), so every request reaches the view."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from articles.caching import content_version, forget_content_version
from tests.factories import (
    cite,
    link_related,
    make_article,
    make_category,
    make_provision,
    make_section,
)

pytestmark = pytest.mark.django_db

# The guide, its sections, tags and citations, neighbours with translations, related
# guides (it was 7 with the content version, which is now read once and cached).
BUDGET = 6
# The guide's row: everything else is cached under the content version.
CACHED_BUDGET = 1
# A cold start: the content version too.
COLD_BUDGET = BUDGET + 1


@pytest.fixture(autouse=True)
def _no_page_cache(settings):
    settings.PAGE_CACHE = False


def _guide(size, picks=None):
    category = make_category()
    # Neighbours exist on both sides, so both lookups run.
    make_article(category=category, published_at=make_article().published_at.replace(year=2000))
    tags = [f"tag-{n}" for n in range(size)]
    article = make_article(category=category, tags=tags)
    make_article(category=category, published_at=article.published_at.replace(year=2100))
    for n in range(size):
        make_section(article, heading=f"Part {n}")
        cite(article, make_provision())
        make_article(tags=[tags[n]])
    link_related(article, *[make_article() for _ in range(size if picks is None else picks)])
    return article


def _warm(client):
    # The first request after guides are saved reads the next due revision time once
    # (articles.workflow caches it), and the content version (articles.caching);
    # pages are budgeted in the steady state.
    client.get("/robots.txt")
    content_version()


def _queries(client, article):
    _warm(client)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(article.get_absolute_url())
    assert response.status_code == 200
    return len(captured)


def test_article_page_query_count_does_not_grow(client):
    small, large = _guide(1), _guide(20)
    assert _queries(client, small) == _queries(client, large) <= BUDGET


def test_related_picks_and_tag_fill_cost_the_same(client):
    assert _queries(client, _guide(20, picks=0)) == _queries(client, _guide(20, picks=9))


@pytest.mark.parametrize("size", [1, 20])
def test_article_page_stays_within_budget(client, django_assert_max_num_queries, size):
    article = _guide(size)
    _warm(client)
    with django_assert_max_num_queries(BUDGET):
        response = client.get(article.get_absolute_url())
    assert response.status_code == 200
    assert article.title in response.content.decode()


@pytest.mark.parametrize("size", [1, 20])
def test_article_page_parts_come_from_the_cache(client, django_assert_max_num_queries, size):
    article = _guide(size)
    _warm(client)
    first = client.get(article.get_absolute_url()).content
    with django_assert_max_num_queries(CACHED_BUDGET):
        response = client.get(article.get_absolute_url())
    assert response.status_code == 200
    assert response.content == first


def test_article_page_from_cold_caches(client, django_assert_max_num_queries):
    article = _guide(5)
    client.get("/robots.txt")
    forget_content_version()  # as after any change: read again on the next request
    with django_assert_max_num_queries(COLD_BUDGET):
        assert client.get(article.get_absolute_url()).status_code == 200


def test_editor_links_cost_no_extra_query(client):
    plain = _guide(3)
    linked = _guide(3)
    linked.previous_article, linked.next_article = make_article(), make_article()
    linked.save()
    assert _queries(client, linked) == _queries(client, plain)


def test_listing_pages_do_not_query_per_guide(client):
    category = make_category(slug="busy")
    for _ in range(3):
        make_article(category=category)
    few = _count(client, "/en/busy/")
    for _ in range(15):
        make_article(category=category)
    assert _count(client, "/en/busy/") == few
    home_few = _count(client, "/en/")
    for _ in range(5):
        make_article()
    assert _count(client, "/en/") == home_few


def _count(client, url):
    _warm(client)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)
