"""Previous/next and related guides: editor's choice first, then derived, never private."""

from datetime import timedelta

import pytest
from django.utils import timezone

from articles.models import RELATED_ARTICLES_LIMIT, Article
from tests.factories import link_related, make_article, make_category, make_draft

pytestmark = pytest.mark.django_db


def _days_ago(days):
    return timezone.now() - timedelta(days=days)


@pytest.fixture
def chain():
    """Three published guides in one category, oldest first, plus noise around them."""
    category = make_category()
    first = make_article(category=category, published_at=_days_ago(30))
    make_draft(category=category)
    middle = make_article(category=category, published_at=_days_ago(20))
    make_article(category=category, published_at=timezone.now() + timedelta(days=1))
    make_article(published_at=_days_ago(25))  # another category
    last = make_article(category=category, published_at=_days_ago(10))
    return first, middle, last


def _page(article):
    return Article.objects.for_page().get(pk=article.pk)


def test_neighbours_follow_publication_order_within_the_category(chain):
    first, middle, last = chain
    assert _page(first).get_neighbours()[0] is None
    assert _page(first).get_neighbours()[1] == middle
    assert _page(middle).get_neighbours()[0] == first
    assert _page(middle).get_neighbours()[1] == last
    assert _page(last).get_neighbours()[1] is None


def test_equal_publish_times_are_ordered_by_id():
    category = make_category()
    when = _days_ago(1)
    a = make_article(category=category, published_at=when)
    b = make_article(category=category, published_at=when)
    assert _page(a).get_neighbours()[1] == b
    assert _page(b).get_neighbours()[0] == a


def test_explicit_links_override_the_neighbours(chain):
    first, middle, last = chain
    elsewhere = make_article()
    middle.previous_article = elsewhere
    middle.next_article = first
    middle.save()
    assert _page(middle).get_neighbours()[0] == elsewhere
    assert _page(middle).get_neighbours()[1] == first


def test_an_explicit_link_to_a_private_guide_falls_back_to_the_neighbour(chain):
    first, middle, last = chain
    middle.previous_article = make_draft()
    middle.next_article = make_article(published_at=timezone.now() + timedelta(days=1))
    middle.save()
    assert _page(middle).get_neighbours()[0] == first
    assert _page(middle).get_neighbours()[1] == last


def test_related_puts_editor_picks_first_then_fills_by_shared_tags():
    article = make_article(tags=["card", "pension", "insurance"])
    pick_b, pick_a = make_article(), make_article()
    link_related(article, pick_b, pick_a)
    one_tag_old = make_article(tags=["card"], published_at=_days_ago(9))
    one_tag_new = make_article(tags=["pension"], published_at=_days_ago(2))
    three_tags = make_article(tags=["card", "pension", "insurance"], published_at=_days_ago(50))
    two_tags = make_article(tags=["card", "insurance"])
    make_article(tags=["unrelated"])
    related = _page(article).get_related()
    assert related == [pick_b, pick_a, three_tags, two_tags, one_tag_new, one_tag_old]


def test_related_never_shows_self_duplicates_or_private_guides():
    article = make_article(tags=["card"])
    picked = make_article(tags=["card"])
    draft_pick = make_draft(tags=["card"])
    future = make_article(tags=["card"], published_at=timezone.now() + timedelta(days=1))
    link_related(article, picked, draft_pick)
    related = _page(article).get_related()
    assert related == [picked]
    assert article not in related and future not in related


def test_related_stops_at_the_limit():
    article = make_article(tags=["card"])
    picks = [make_article() for _ in range(4)]
    link_related(article, *picks)
    for _ in range(RELATED_ARTICLES_LIMIT + 3):
        make_article(tags=["card"])
    related = _page(article).get_related()
    assert len(related) == RELATED_ARTICLES_LIMIT
    assert related[:4] == picks
    assert len({a.pk for a in related}) == RELATED_ARTICLES_LIMIT


def test_related_with_no_tags_and_no_picks_is_empty():
    make_article(tags=["card"])
    assert _page(make_article()).get_related() == []
