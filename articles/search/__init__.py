"""Search as citizens use it: ranked, highlighted results, editor best bets,
"Did you mean", and title suggestions as they type.

Views call search(), suggest() and nothing below them.
"""

import hashlib
from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.utils.safestring import SafeString
from taggit.models import TaggedItem

from ..models import Article, PromotedResult, SearchDocument, SearchTerm
from .backends import ALL, ANY, Filters, get_backend
from .text import ParsedQuery, fold, highlight, is_cjk, parse_query, snippet, words

__all__ = ["ParsedQuery", "SearchResults", "parse_query", "search", "suggest", "did_you_mean"]

SUGGESTION_LIMIT = 8
# Results counted (and so paged) at most; past it the page says "more than".
MAX_RESULTS = 1000
SUGGESTION_CACHE_SECONDS = 60


@dataclass
class Hit:
    article: Article
    title_html: SafeString
    snippet_html: SafeString
    promoted: bool = False


class SearchResults:
    """A lazy, sliceable sequence of Hits, so Django's Paginator can page it.

    Matching every word comes first; when nothing matches all of them, results
    that match any word are shown instead (`matched_all_words` tells which).
    """

    def __init__(self, query: ParsedQuery, filters: Filters):
        self.query = query
        self.filters = filters
        self.backend = get_backend()
        self.mode = ALL
        self._count = None
        self.more_than_counted = False

    @property
    def matched_all_words(self) -> bool:
        return self.mode == ALL

    def count(self) -> int:
        if self._count is None:
            if self.query.is_empty:
                self._count = 0
                return 0
            self._count = self.backend.count(self.query, ALL, self.filters, MAX_RESULTS + 1)
            if self._count == 0 and len(self.query.tokens()) > 1:
                self.mode = ANY
                self._count = self.backend.count(self.query, ANY, self.filters, MAX_RESULTS + 1)
            self.more_than_counted = self._count > MAX_RESULTS
            self._count = min(self._count, MAX_RESULTS)
        return self._count

    def __len__(self):
        return self.count()

    def __getitem__(self, window: slice) -> list[Hit]:
        if self.count() == 0:
            return []
        ids = self.backend.ids(
            self.query, self.mode, self.filters, window.start, window.stop - window.start
        )
        return hits_for(ids, self.query)


def hits_for(article_ids, query: ParsedQuery, promoted=False) -> list[Hit]:
    """Hits in the given order, with highlighted title and snippet (one query)."""
    documents = SearchDocument.objects.select_related("article__category").in_bulk(article_ids)
    hits = []
    for article_id in article_ids:
        document = documents.get(article_id)
        if document is None:
            continue
        excerpt = (
            snippet(document.summary, query)
            or snippet(document.body, query)
            or snippet(document.keywords, query)
            or highlight(document.summary, query)
        )
        hits.append(
            Hit(document.article, highlight(document.title, query), excerpt, promoted=promoted)
        )
    return hits


def _line_matches(line_words: set[str], query: ParsedQuery) -> bool:
    """Every word of a promotion's line is in the query; a CJK word may be part of a
    longer CJK term, since Chinese is typed without spaces (社保卡 in 激活社保卡)."""
    query_words = set(query.terms)
    cjk_terms = [term for term in query.terms if is_cjk(term)]
    return bool(line_words) and all(
        word in query_words or (is_cjk(word) and any(word in term for term in cjk_terms))
        for word in line_words
    )


def promoted_ids(query: ParsedQuery, filters: Filters) -> list[int]:
    """Published guides an editor pinned for this query (every word of one of the
    promotion's lines is in the query) that pass the language, category and tag
    filters."""
    if query.is_empty:
        return []
    # Promotions are few: read them, then only their guides, and apply the published
    # rule in Python; a join would let the planner start from the large articles table.
    promotions = list(PromotedResult.objects.all())
    if not promotions:
        return []
    articles = Article.objects.in_bulk({promotion.article_id for promotion in promotions})
    chosen = []
    for promotion in promotions:
        article = articles.get(promotion.article_id)
        if article is None or not article.is_published():
            continue
        if filters.category_id and article.category_id != filters.category_id:
            continue
        if filters.language and article.language != filters.language:
            continue
        for line in promotion.queries.splitlines():
            if _line_matches(set(words(line)), query) and article.pk not in chosen:
                chosen.append(article.pk)
                break
    if filters.tag_id and chosen:
        # One query for all pinned guides: keep those carrying the tag, in order.
        tagged = set(
            TaggedItem.objects.filter(
                tag_id=filters.tag_id,
                content_type=ContentType.objects.get_for_model(Article),
                object_id__in=chosen,
            ).values_list("object_id", flat=True)
        )
        chosen = [pk for pk in chosen if pk in tagged]
    return chosen


def search(raw_query, category=None, tag=None, language=None):
    """(promoted hits, SearchResults) for a raw query string and optional filters.
    `language` keeps guides of that language only; None searches every language."""
    query = parse_query(raw_query)
    category_id = category.pk if category else None
    tag_id = tag.pk if tag else None
    pinned = promoted_ids(query, Filters(category_id=category_id, tag_id=tag_id, language=language))
    filters = Filters(category_id=category_id, tag_id=tag_id, exclude_ids=pinned, language=language)
    return hits_for(pinned, query, promoted=True), SearchResults(query, filters)


def _terms(language):
    """The "Did you mean" vocabulary of one language, or of all (None)."""
    terms = SearchTerm.objects.all()
    return terms.filter(language=language) if language else terms


def did_you_mean(query: ParsedQuery, language=None) -> str | None:
    """The query with misspelled words replaced by close words of published guides
    (of `language`, or of any language for None), when that corrected query finds
    something there; else None."""
    if query.is_empty:
        return None
    known = set(_terms(language).filter(word__in=query.terms).values_list("word", flat=True))
    corrected, changed = [], False
    for term in query.terms:
        replacement = term
        if term not in known and term.isalpha() and term.isascii() and len(term) >= 4:
            replacement = _closest_word(term, language) or term
        changed |= replacement != term
        corrected.append(replacement)
    if not changed:
        return None
    suggestion = " ".join(corrected)
    if SearchResults(parse_query(suggestion), Filters(language=language)).count() == 0:
        return None
    return suggestion


# Close words checked against published guides at most, nearest first.
PUBLIC_CHECKS = 5


def _closest_word(term: str, language=None) -> str | None:
    """The nearest (then most used) indexed word within a small edit distance of
    `term` that finds a published guide now.

    The vocabulary also counts guides scheduled for later, indexed early so they
    appear on time; checking each proposal against what is public keeps their
    words out of "Did you mean" until they are published.
    """
    allowed = 1 if len(term) <= 5 else 2
    candidates = (
        _terms(language)
        .filter(
            length__gte=len(term) - allowed,
            length__lte=len(term) + allowed,
            word__startswith=term[0],
        )
        .order_by("-documents", "word")
        .values_list("word", flat=True)[:5000]
    )
    near = {}
    for usage_rank, word in enumerate(candidates):
        distance = edit_distance(term, word, allowed)
        if distance <= allowed and word not in near:  # a word of several languages once
            near[word] = (distance, usage_rank, word)
    backend = get_backend()
    public = Filters(language=language)
    for _, _, word in sorted(near.values())[:PUBLIC_CHECKS]:
        if backend.count(ParsedQuery(raw=word, text=word, terms=[word]), ALL, public, 1):
            return word
    return None


def edit_distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance with adjacent swaps, giving up (limit + 1) past `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous_previous, previous = None, list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, char_b in enumerate(b, start=1):
            current[j] = min(
                previous[j] + 1,
                current[j - 1] + 1,
                previous[j - 1] + (char_a != char_b),
            )
            if (
                previous_previous is not None
                and i > 1
                and j > 1
                and char_a == b[j - 2]
                and a[i - 2] == char_b
            ):
                current[j] = min(current[j], previous_previous[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous_previous, previous = previous, current
    return previous[-1]


def _suggestion_cache_key(text: str, language) -> str:
    digest = hashlib.sha256(fold(text).encode("utf-8", "surrogatepass")).hexdigest()
    return f"search-suggest:{language or 'all'}:{digest}"


def suggest(raw_prefix: str, language=None) -> list[dict]:
    """Up to 8 published guide titles (of `language`, or of any for None) for what
    has been typed so far, cached briefly."""
    query = parse_query(raw_prefix)
    if query.is_empty:
        return []
    key = _suggestion_cache_key(query.text + ("_" if raw_prefix.endswith(" ") else ""), language)
    cached = cache.get(key)
    if cached is not None:
        return cached
    last = query.terms[-1]
    complete = query.terms[:-1]
    if raw_prefix.endswith(" ") or is_cjk(last):
        completions = [last]
    else:
        completions = list(
            dict.fromkeys(
                _terms(language)
                .filter(word__startswith=last)
                .order_by("-documents")
                .values_list("word", flat=True)[:6]
            )
        )[:3] or [last]
    backend = get_backend()
    found: dict[int, ParsedQuery] = {}
    public = Filters(language=language)
    for word in completions:
        candidate = ParsedQuery(raw=raw_prefix, text=raw_prefix, terms=[*complete, word])
        for article_id in backend.ids(candidate, ALL, public, 0, SUGGESTION_LIMIT):
            found.setdefault(article_id, candidate)
    articles = Article.objects.select_related("category").in_bulk(list(found))
    suggestions = []
    for pk, candidate in found.items():
        if pk in articles:
            title_html = str(highlight(articles[pk].title, candidate))
            suggestions.append(
                {
                    "title": articles[pk].title,
                    "url": articles[pk].get_absolute_url(),
                    "title_html": title_html,
                }
            )
    # Titles that contain the words first; the engine already ranked within each group.
    suggestions.sort(key=lambda s: "<mark>" not in s["title_html"])
    suggestions = suggestions[:SUGGESTION_LIMIT]
    cache.set(key, suggestions, SUGGESTION_CACHE_SECONDS)
    return suggestions
