"""Keeping the search index in step with content.

index_articles() is the one entry point: it rebuilds the search documents of
the given guides (dropping those that are no longer published), the engine's
index rows, and the "Did you mean" vocabulary counts, in one transaction.
articles.signals calls it once per changed guide when a transaction commits.
"""

from collections import Counter

from django.db import transaction
from django.db.models import F
from django.utils import translation

from ..markdown import html_to_text
from ..models import Article, SearchDocument, SearchTerm
from .backends import get_backend
from .text import cjk_index_text, vocabulary

BATCH = 500


def document_for(article: Article) -> SearchDocument:
    """Reads the guide's parts: prefetch them (Article.objects.with_parts()).

    Law names, provision labels and texts are read in the guide's own language
    (falling back to English where untranslated), as its page shows them.
    """
    citations = list(article.citations.all())
    tags = [tag.name for tag in article.tags.all()]
    with translation.override(article.language):
        keywords = " ".join(
            tags
            + [c.provision.law.name for c in citations]
            + [c.provision.law.short_name for c in citations]
            + [c.provision.label for c in citations]
        )
        provisions = [c.provision.text for c in citations]
    body = "\n".join(
        [f"{s.heading}\n{html_to_text(s.body_html)}" for s in article.sections.all()] + provisions
    )
    return SearchDocument(
        article=article,
        published_at=article.published_at,
        category_id=article.category_id,
        language=article.language,
        title=article.title,
        summary=article.summary,
        keywords=keywords,
        body=body,
        cjk=cjk_index_text(article.title, article.summary, keywords, body),
    )


def _words(document: SearchDocument) -> set[tuple[str, str]]:
    """(language, word) pairs: "Did you mean" proposes a language's own words."""
    words = vocabulary(document.title, document.summary, document.keywords, document.body)
    return {(document.language, word) for word in words}


def index_articles(article_ids) -> int:
    """Rebuild the search entries of these guides; returns how many are indexed.

    Published guides, including scheduled ones, are indexed; whether they show is
    decided at query time, so a scheduled guide appears exactly when it is due.
    """
    return _rebuild(article_ids, keep=True)


def unindex_articles(article_ids) -> None:
    """Drop these guides' search entries and their words from the vocabulary: for a
    guide about to be deleted, whose document would otherwise go by cascade and
    leave its words counted."""
    _rebuild(article_ids, keep=False)


def _rebuild(article_ids, keep: bool) -> int:
    article_ids = list(dict.fromkeys(article_ids))
    indexed = 0
    for start in range(0, len(article_ids), BATCH):
        chunk = article_ids[start : start + BATCH]
        with transaction.atomic():
            old = SearchDocument.objects.filter(pk__in=chunk)
            delta = Counter()
            for document in old:
                delta.subtract(_words(document))
            indexable = Article.objects.filter(pk__in=chunk).indexable().with_parts().order_by()
            new = [document_for(article) for article in indexable] if keep else []
            for document in new:
                delta.update(_words(document))
            old.delete()
            SearchDocument.objects.bulk_create(new)
            get_backend().write(chunk)
            _apply_vocabulary_delta(delta)
            indexed += len(new)
    return indexed


def rebuild_index(batch_size: int = 2000, progress=None) -> int:
    """Drop and rebuild every search entry from the guides. Returns the count indexed."""
    with transaction.atomic():
        SearchDocument.objects.all().delete()
        SearchTerm.objects.all().delete()
        get_backend().clear()
    ids = list(Article.objects.indexable().order_by("pk").values_list("pk", flat=True))
    done = 0
    for start in range(0, len(ids), batch_size):
        done += index_articles(ids[start : start + batch_size])
        if progress:
            progress(done, len(ids))
    get_backend().optimize()
    return done


def _apply_vocabulary_delta(delta: Counter) -> None:
    """Add the (language, word) count changes to the vocabulary; words no guide of
    a language uses any more leave that language's vocabulary."""
    changes = {key: count for key, count in delta.items() if count}
    if not changes:
        return
    SearchTerm.objects.bulk_create(
        [
            SearchTerm(language=language, word=word, length=len(word), documents=0)
            for language, word in changes
        ],
        ignore_conflicts=True,
        batch_size=500,
    )
    by_amount: dict[tuple[str, int], list[str]] = {}
    for (language, word), count in changes.items():
        by_amount.setdefault((language, count), []).append(word)
    for (language, amount), words in by_amount.items():
        for start in range(0, len(words), 500):
            SearchTerm.objects.filter(
                language=language, word__in=words[start : start + 500]
            ).update(documents=F("documents") + amount)
    by_language: dict[str, list[str]] = {}
    for language, word in changes:
        by_language.setdefault(language, []).append(word)
    for language, words in by_language.items():
        for start in range(0, len(words), 500):
            SearchTerm.objects.filter(
                language=language, word__in=words[start : start + 500], documents__lte=0
            ).delete()
