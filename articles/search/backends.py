"""The two full-text engines behind one small interface.

Both receive a ParsedQuery (plain words only), filter on the published rules
of the articles table, rank title over summary over keywords over body, and
return article ids. Highlighting and snippets are done in Python (text.py),
so they look the same on both.
"""

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.models import F
from django.utils import timezone
from taggit.models import TaggedItem

from ..models import Article, SearchDocument
from .text import CJK_RUN, ParsedQuery, is_cjk, without_cjk

ALL, ANY = "all", "any"
FTS_TABLE = "articles_search_fts"


class Filters:
    """What narrows a search besides the words: a language (None: every language),
    a category, a tag, guides to leave out."""

    def __init__(self, category_id=None, tag_id=None, exclude_ids=(), language=None):
        self.category_id = category_id
        self.tag_id = tag_id
        self.exclude_ids = tuple(exclude_ids)
        self.language = language


TITLE, REST = "title", "rest"
# Matches of a tier ranked at most (_ranked of each backend): more than the 1000
# results a search pages through (articles.search.MAX_RESULTS), far fewer than the
# guides a word common to nearly all of them finds.
RANK_CANDIDATES = 2000


class TieredRanking:
    """Ranking in two tiers: guides whose title matches come first, then the rest.

    Besides putting title matches strictly first, as citizens expect, this keeps
    search fast for common words: a page inside the title tier ranks only the
    title matches, not every guide that mentions the word somewhere.
    """

    def ids(self, query, mode, filters, offset, limit) -> list[int]:
        needed = offset + limit
        title_ids = self._ranked(query, mode, filters, TITLE, 0, needed)
        if len(title_ids) == needed:
            return title_ids[offset:]
        # The title tier is complete and shorter than needed: continue with the rest.
        rest_offset = max(0, offset - len(title_ids))
        rest_limit = needed - max(offset, len(title_ids))
        return title_ids[offset:] + self._ranked(
            query, mode, filters, REST, rest_offset, rest_limit
        )


class SQLiteBackend(TieredRanking):
    """SQLite FTS5: porter stemming, bm25 ranking with per-column weights."""

    # bm25 weights for the FTS5 columns: title, summary, keywords, body, cjk.
    WEIGHTS = "10.0, 5.0, 3.0, 1.0, 2.0"

    def _match(self, query: ParsedQuery, mode: str, tier=None) -> str:
        # Every token is double-quoted, so FTS5 reads it as a string, never as syntax;
        # tokens come from text.WORD and never contain a double quote.
        expression = (" AND " if mode == ALL else " OR ").join(f'"{t}"' for t in query.tokens())
        if tier == TITLE:
            return f"title : ({expression})"
        if tier == REST:
            return f"({expression}) NOT (title : ({expression}))"
        return expression

    def _where(self, query, mode, filters, tier=None):
        # Only published guides have documents; the publish time decides the rest.
        sql = [f"{FTS_TABLE} MATCH %s", "d.published_at <= %s"]
        params = [self._match(query, mode, tier), timezone.now()]
        if filters.language:
            # Read from the covering index of migration 0008, like the publish time.
            sql.append("d.language = %s")
            params.append(filters.language)
        if filters.category_id:
            sql.append("d.category_id = %s")
            params.append(filters.category_id)
        if filters.tag_id:
            sql.append(
                "EXISTS (SELECT 1 FROM taggit_taggeditem t WHERE t.object_id = d.article_id "
                "AND t.content_type_id = %s AND t.tag_id = %s)"
            )
            params += [_article_content_type_id(), filters.tag_id]
        if filters.exclude_ids:
            sql.append(f"d.article_id NOT IN ({', '.join(['%s'] * len(filters.exclude_ids))})")
            params += list(filters.exclude_ids)
        # CROSS JOIN makes SQLite read the FTS matches first and look each document up
        # by id; left to itself the planner may scan documents and re-run MATCH per row.
        return (
            f"FROM {FTS_TABLE} f CROSS JOIN articles_searchdocument d "
            "ON d.article_id = f.rowid WHERE " + " AND ".join(sql),
            params,
        )

    def count(self, query, mode, filters, limit) -> int:
        """Matches counted up to `limit`: counting every match of a common word costs
        as much as ranking them, and nobody pages past the first thousand."""
        where, params = self._where(query, mode, filters)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT COUNT(*) FROM (SELECT 1 {where} LIMIT %s)",  # noqa: S608 (no user text)
                [*params, limit],
            )
            return cursor.fetchone()[0]

    def _ranked(self, query, mode, filters, tier, offset, limit) -> list[int]:
        """One tier's page, ranked among its RANK_CANDIDATES newest matches at most.

        Ranking every guide holding a word nearly all guides hold (办理, "steps")
        would look up each one's document; FTS5 reads matches newest first (by id)
        and stops at RANK_CANDIDATES. A tier with fewer matches is ranked whole.
        """
        where, params = self._where(query, mode, filters, tier)
        sql = (
            "SELECT article_id FROM ("  # noqa: S608 (no user text: words go in params)
            f"SELECT d.article_id, bm25({FTS_TABLE}, {self.WEIGHTS}) AS rank, d.published_at "
            f"{where} ORDER BY f.rowid DESC LIMIT %s) "
            "ORDER BY rank, published_at DESC, article_id DESC LIMIT %s OFFSET %s"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, RANK_CANDIDATES, limit, offset])
            return [row[0] for row in cursor.fetchall()]

    def write(self, article_ids) -> None:
        """Make the FTS rows of these guides match their search documents.

        Each column holds its text with the CJK runs replaced by their tokens (the
        document's `cjk` lines), so a Chinese title is weighed as a title and
        unicode61 never sees a whole Chinese sentence as one word.
        """
        with connection.cursor() as cursor:
            for chunk in _chunks(list(article_ids), 500):
                marks = ", ".join(["%s"] * len(chunk))
                cursor.execute(f"DELETE FROM {FTS_TABLE} WHERE rowid IN ({marks})", chunk)  # noqa: S608
                cursor.execute(
                    "SELECT article_id, title, summary, keywords, body, cjk "  # noqa: S608
                    f"FROM articles_searchdocument WHERE article_id IN ({marks})",
                    chunk,
                )
                rows = [
                    (pk, *_with_cjk_tokens([title, summary, keywords, body], cjk), "")
                    for pk, title, summary, keywords, body, cjk in cursor.fetchall()
                ]
                cursor.executemany(
                    f"INSERT INTO {FTS_TABLE} (rowid, title, summary, keywords, body, cjk) "  # noqa: S608
                    "VALUES (%s, %s, %s, %s, %s, %s)",
                    rows,
                )

    def clear(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {FTS_TABLE}")  # noqa: S608

    def optimize(self) -> None:
        """Merge the FTS index into one segment, as after a full rebuild: searches then
        read one list per word instead of one per batch written."""
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('optimize')")  # noqa: S608


class PostgresBackend(TieredRanking):
    """PostgreSQL full-text search: weighted tsvectors with GIN indexes, ts_rank.

    `vector` holds the whole guide (title A, summary B, keywords C, body D);
    `title_vector` the title alone, so the title tier is found by its own index.
    """

    CONFIG = "english"
    # Rank weights for D (body), C (keywords), B (summary), A (title).
    WEIGHTS = [0.1, 0.3, 0.6, 1.0]

    def _tsquery(self, query: ParsedQuery, mode: str) -> SearchQuery:
        # CJK tokens are indexed through the 'simple' config (write()): looked up so too.
        parts = [
            SearchQuery(
                token, search_type="plain", config="simple" if is_cjk(token) else self.CONFIG
            )
            for token in query.tokens()
        ]
        combined = parts[0]
        for part in parts[1:]:
            combined = combined & part if mode == ALL else combined | part
        return combined

    def _queryset(self, query, mode, filters, tier=None):
        tsquery = self._tsquery(query, mode)
        # Only published guides have documents; the publish time decides the rest.
        documents = SearchDocument.objects.filter(published_at__lte=timezone.now())
        if filters.language:
            documents = documents.filter(language=filters.language)
        if tier == TITLE:
            documents = documents.filter(title_vector=tsquery)
            rank = SearchRank(F("title_vector"), tsquery)
        else:
            documents = documents.filter(vector=tsquery)
            rank = SearchRank(F("vector"), tsquery, weights=self.WEIGHTS)
            if tier == REST:
                documents = documents.exclude(title_vector=tsquery)
        if filters.category_id:
            documents = documents.filter(category_id=filters.category_id)
        if filters.tag_id:
            tagged = TaggedItem.objects.filter(
                tag_id=filters.tag_id, content_type_id=_article_content_type_id()
            )
            documents = documents.filter(article_id__in=tagged.values("object_id"))
        if filters.exclude_ids:
            documents = documents.exclude(article_id__in=filters.exclude_ids)
        return documents, rank

    def count(self, query, mode, filters, limit) -> int:
        documents, _ = self._queryset(query, mode, filters)
        return documents[:limit].count()

    def _ranked(self, query, mode, filters, tier, offset, limit) -> list[int]:
        """One tier's page, ranked among RANK_CANDIDATES of its matches at most.

        ts_rank reads each candidate's whole vector, which is stored out of line
        (migration 0002): ranking every guide holding a word nearly all guides hold
        (办理, "steps") would read tens of thousands. The inner LIMIT stops the scan
        at RANK_CANDIDATES matches (in storage order: an index cannot give the
        newest first, as FTS5 does) and ranks those; a tier with fewer matches is
        ranked whole.
        """
        documents, rank = self._queryset(query, mode, filters, tier)
        candidates = documents.annotate(rank=rank).values_list(
            "article_id", "rank", "published_at"
        )[:RANK_CANDIDATES]
        sql, params = candidates.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT article_id FROM ({sql}) AS candidates "  # noqa: S608 (the ORM's SQL)
                "ORDER BY rank DESC, published_at DESC, article_id DESC LIMIT %s OFFSET %s",
                [*params, limit, offset],
            )
            return [row[0] for row in cursor.fetchall()]

    def write(self, article_ids) -> None:
        # unaccent() folds accents as SQLite's remove_diacritics does. CJK runs are
        # blanked out of the English text and their tokens (the document's `cjk`
        # lines: title, summary, keywords, body) go through the 'simple' config, kept
        # exactly and weighted as the field they come from.
        def field(column, line):
            return (
                f"to_tsvector('english', unaccent(regexp_replace({column}, %(cjk)s, ' ', 'g')))"
                f" || to_tsvector('simple', split_part(cjk, E'\\n', {line}))"
            )

        sql = f"""
            UPDATE articles_searchdocument SET
                title_vector = {field("title", 1)},
                vector =
                    setweight({field("title", 1)}, 'A')
                    || setweight({field("summary", 2)}, 'B')
                    || setweight({field("keywords", 3)}, 'C')
                    || setweight({field("body", 4)}, 'D')
            WHERE article_id = ANY(%(ids)s)
        """  # noqa: S608 (no user text)
        with connection.cursor() as cursor:
            for chunk in _chunks(list(article_ids), 2000):
                cursor.execute(sql, {"ids": chunk, "cjk": CJK_RUN.pattern})

    def clear(self) -> None:
        """Documents hold the vectors; deleting them (indexing.py) clears the index."""

    def optimize(self) -> None:
        """GIN indexes merge their pending lists by themselves (autovacuum)."""


def _with_cjk_tokens(texts, cjk) -> list[str]:
    """Each text without its CJK runs, followed by its line of CJK tokens."""
    lines = cjk.split("\n") if cjk else []
    return [
        f"{without_cjk(text)}\n{lines[i]}" if i < len(lines) and lines[i] else text
        for i, text in enumerate(texts)
    ]


def _chunks(items, size):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _article_content_type_id() -> int:
    from django.contrib.contenttypes.models import ContentType

    return ContentType.objects.get_for_model(Article).pk


def get_backend():
    """The engine for the database in use."""
    vendor = connection.vendor
    if vendor == "sqlite":
        return SQLiteBackend()
    if vendor == "postgresql":
        return PostgresBackend()
    raise ImproperlyConfigured(f"Search supports SQLite and PostgreSQL, not {vendor}.")
