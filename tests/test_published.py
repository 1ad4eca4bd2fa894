"""published() is the one gate between saved content and the public."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from articles.models import Article
from tests.factories import make_article, make_draft

pytestmark = pytest.mark.django_db


def test_published_includes_only_public_articles():
    public = make_article()
    make_draft()
    make_article(published_at=timezone.now() + timedelta(minutes=5))
    draft_with_past_time = make_article(status=Article.Status.DRAFT)
    assert list(Article.objects.published()) == [public]
    assert public.is_published()
    assert not draft_with_past_time.is_published()


def test_a_scheduled_article_appears_when_its_time_comes_without_any_job():
    at = timezone.now() + timedelta(days=2)
    scheduled = make_article(published_at=at)
    assert not Article.objects.published().exists()
    with time_machine.travel(at + timedelta(seconds=1)):
        assert list(Article.objects.published()) == [scheduled]
        assert scheduled.is_published()


def test_is_published_agrees_with_the_queryset():
    articles = [
        make_article(),
        make_draft(),
        make_article(published_at=timezone.now() + timedelta(hours=1)),
    ]
    public = set(Article.objects.published())
    for article in articles:
        assert article.is_published() == (article in public)
