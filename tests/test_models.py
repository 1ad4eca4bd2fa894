"""Rules the models enforce, in the database where possible."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from articles.models import Article, Category, Citation, RelatedLink, Section
from tests.factories import (
    cite,
    make_article,
    make_category,
    make_draft,
    make_law,
    make_provision,
    make_section,
)

pytestmark = pytest.mark.django_db


def _violates(callable_):
    with pytest.raises(IntegrityError), transaction.atomic():
        callable_()


def test_slugs_must_be_lower_case():
    _violates(lambda: make_category(slug="Upper-Case"))
    _violates(lambda: make_article(slug="Upper-Case"))
    _violates(lambda: make_law(slug="Upper"))


def test_article_slugs_are_unique():
    make_article(slug="same")
    _violates(lambda: make_article(slug="same"))


def test_publishing_without_a_time_stamps_now():
    before = timezone.now()
    article = make_article(published_at=None)
    assert article.published_at >= before


def test_a_published_article_always_has_a_publish_time():
    article = make_article()
    _violates(lambda: Article.objects.filter(pk=article.pk).update(published_at=None))


def test_a_draft_may_have_no_publish_time():
    assert make_draft().published_at is None


def test_an_article_cannot_link_to_itself():
    article = make_article()
    _violates(lambda: Article.objects.filter(pk=article.pk).update(previous_article=article))
    _violates(lambda: Article.objects.filter(pk=article.pk).update(next_article=article))
    _violates(lambda: RelatedLink.objects.create(from_article=article, to_article=article))
    article.previous_article = article
    with pytest.raises(ValidationError):
        article.full_clean()


def test_related_links_are_unique():
    a, b = make_article(), make_article()
    RelatedLink.objects.create(from_article=a, to_article=b)
    _violates(lambda: RelatedLink.objects.create(from_article=a, to_article=b))


def test_a_provision_is_stored_once_and_cited_by_many():
    provision = make_provision(label="Article 23")
    first, second = make_article(), make_article()
    cite(first, provision)
    cite(second, provision)
    assert set(provision.articles.all()) == {first, second}
    _violates(lambda: cite(first, provision))
    _violates(lambda: make_provision(law=provision.law, label="Article 23"))


def test_a_cited_provision_cannot_be_deleted():
    provision = make_provision()
    cite(make_article(), provision)
    with pytest.raises(Exception, match="protected"):
        provision.delete()
    assert Citation.objects.count() == 1


def test_category_slugs_cannot_take_the_sites_own_paths():
    for slug in ["admin", "search", "tags", "laws"]:
        with pytest.raises(ValidationError):
            Category(name_en="X", slug=slug).full_clean()


def test_section_headings_are_unique_within_a_guide():
    article = make_article()
    make_section(article, heading="Steps")
    _violates(lambda: make_section(article, heading="Steps"))
    make_section(make_article(), heading="Steps")


def test_sections_keep_their_order():
    article = make_article()
    third = make_section(article, position=3, heading="C")
    first = make_section(article, position=1, heading="A")
    second = make_section(article, position=2, heading="B")
    assert list(article.sections.all()) == [first, second, third]


def test_section_anchor_comes_from_its_heading():
    section = make_section(make_article(), heading="How to handle the card?")
    assert section.anchor == "how-to-handle-the-card"


def test_string_forms_are_short_and_readable():
    law = make_law(name="Social Insurance Law of the PRC", short_name="Social Insurance Law")
    provision = make_provision(law=law, label="Article 23")
    assert str(provision) == "Article 23, Social Insurance Law"
    assert str(Category(name_en="Pensions")) == "Pensions"
    assert str(Section(heading="Steps")) == "Steps"


def test_deleting_a_category_with_guides_is_refused():
    article = make_article()
    with pytest.raises(Exception, match="protected"):
        article.category.delete()
    assert Category.objects.filter(pk=article.category_id).exists()


def test_future_publish_time_is_allowed():
    article = make_article(published_at=timezone.now() + timedelta(days=3))
    assert not article.is_published()
