"""Save-time effects (articles/signals.py): each guide reindexed once per
transaction, when it commits, however many of its parts changed; the other effects
still follow every save."""

import logging
from collections import Counter
from http import HTTPStatus

import pytest
from django.db import transaction

from articles.models import Article, SearchTerm
from articles.search import indexing, search
from tests.factories import cite, make_article, make_category, make_provision, make_section
from tests.helpers import change_form

pytestmark = pytest.mark.django_db

SECTION_COUNT = 10


@pytest.fixture
def reindexed(monkeypatch):
    """How many times each guide went through indexing.index_articles."""
    counts = Counter()
    real_index_articles = indexing.index_articles

    def counting_index_articles(article_ids):
        article_ids = list(article_ids)
        counts.update(article_ids)
        return real_index_articles(article_ids)

    monkeypatch.setattr(indexing, "index_articles", counting_index_articles)
    return counts


def found(query) -> list[str]:
    promoted, results = search(query)
    return [hit.article.title for hit in promoted + results[0:50]]


def test_an_admin_save_with_ten_sections_reindexes_the_guide_once(admin_client, reindexed):
    guide = make_article(title="Pension transfer")
    for n in range(SECTION_COUNT):
        make_section(guide, heading=f"Part {n}")
    other = make_article(title="Unrelated guide")
    reindexed.clear()
    new_bodies = {
        f"sections-{n}-body": f"1. Bring form {n} to the quokka desk." for n in range(SECTION_COUNT)
    }

    response = admin_client.post(
        f"/admin/articles/article/{guide.pk}/change/", change_form(guide, **new_bodies)
    )

    assert response.status_code == HTTPStatus.FOUND, response.context["errors"]
    assert sorted(guide.sections.values_list("body", flat=True)) == sorted(new_bodies.values())
    assert reindexed[guide.pk] == 1
    assert reindexed[other.pk] == 0
    assert found("quokka desk") == ["Pension transfer"]


def test_changes_in_one_transaction_reindex_each_guide_once_when_it_commits(reindexed):
    first, second = make_article(title="First guide"), make_article(title="Second guide")
    reindexed.clear()
    with transaction.atomic():
        for guide in [first, second, first]:
            make_section(guide, body="1. Ask the wombat office.")
        assert not reindexed  # nothing before the commit
        assert found("wombat") == []
    assert reindexed == {first.pk: 1, second.pk: 1}
    assert sorted(found("wombat")) == ["First guide", "Second guide"]


def test_a_rolled_back_transaction_reindexes_nothing(reindexed):
    guide = make_article(title="Card guide")
    reindexed.clear()
    with pytest.raises(RuntimeError), transaction.atomic():
        make_section(guide, body="1. Feed the platypus.")
        raise RuntimeError("the save fails")
    assert not reindexed
    make_section(guide, body="1. Visit the office.")  # a later save is not held back
    assert reindexed == {guide.pk: 1}


def test_a_section_saved_outside_any_form_reindexes_and_touches_its_guide(reindexed):
    guide = make_article(title="Activate your card")
    updated_before = Article.objects.get(pk=guide.pk).updated_at
    reindexed.clear()
    make_section(guide, body="1. Show the kiwi stamp.")
    assert reindexed == {guide.pk: 1}
    assert found("kiwi stamp") == ["Activate your card"]
    assert Article.objects.get(pk=guide.pk).updated_at > updated_before


def test_a_failed_reindex_leaves_the_committed_save_and_logs(monkeypatch, caplog):
    guide = make_article(title="Card guide")

    def failing_index_articles(article_ids):
        raise RuntimeError("index unavailable")

    monkeypatch.setattr(indexing, "index_articles", failing_index_articles)
    with caplog.at_level(logging.ERROR, logger="articles.signals"):
        section = make_section(guide, body="1. Saved anyway.")
    assert guide.sections.get().pk == section.pk
    assert "search index was not updated" in caplog.text


def test_a_renamed_category_still_redirects_its_guides(client):
    category = make_category(slug="pensions")
    make_article(category=category, slug="transfer")
    category.slug = "retirement"
    category.save()
    for old, new in [
        ("/en/pensions/", "/en/retirement/"),
        ("/en/pensions/transfer/", "/en/retirement/transfer/"),
    ]:
        response = client.get(old)
        assert response.status_code == HTTPStatus.MOVED_PERMANENTLY
        assert response["Location"] == new


def test_a_changed_provision_text_flags_and_reindexes_citing_guides():
    provision = make_provision(text="Old wording.")
    public = make_article(title="Cites the law")
    cite(public, provision)
    provision.label = "Article 9"  # the same text flags nothing
    provision.save()
    assert not Article.objects.filter(needs_review=True).exists()
    provision.text = "Amended wording about the echidna fund."
    provision.save()
    assert list(Article.objects.filter(needs_review=True)) == [public]
    assert found("echidna") == ["Cites the law"]


def test_a_deleted_guide_takes_its_words_out_of_the_vocabulary():
    guide = make_article(title="Quuxification allowance")
    assert SearchTerm.objects.filter(word="quuxification").exists()
    guide.delete()
    assert not SearchTerm.objects.filter(word="quuxification").exists()
    assert found("quuxification") == []
