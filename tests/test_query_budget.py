"""The guide page costs the same fixed number of queries, however rich the guide."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import (
    cite,
    link_related,
    make_article,
    make_category,
    make_provision,
    make_section,
)

pytestmark = pytest.mark.django_db

BUDGET = 7


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
    # (articles.workflow caches it); pages are budgeted in the steady state.
    client.get("/robots.txt")


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
