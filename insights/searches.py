"""What citizens search for, recorded for the editors' report without personal data.

A search is one SearchRecord row: the query as search reads it (lower-case, spaces
collapsed, numbers and e-mail addresses masked), the page's language, the topic
and tag filters, whether every language was searched, the number of results, the
day (no time), and later the first result opened. No address, no cookie, no user
agent, no session: nothing ties a row to a person or to another row.

- Recorded by articles.views.search (record_search) for a GET of the first page of
  a non-empty query: not for type-ahead (search_suggestions), further pages of the
  same results (any `page` parameter: "Previous page" links to page=1), a browser's
  speculative prefetch, or a signed-in staff member (editors checking a query
  from the report must not count). One INSERT; a failure is logged, the page served.
- Opened: each result link keeps the guide's own address as href and carries
  ping="<opened_url>?position=N&guide=ID", which Chrome and Safari send by
  themselves (also without JavaScript); static/js/search-opened.js sends the same
  with navigator.sendBeacon elsewhere (Firefox keeps `ping` but never sends it).
  The address holds a signed token of the record's id (opened_token), so no one
  can mark a record other than their own; insights.views.search_opened counts the
  first open of a record from today or yesterday (mark_opened). Only the first
  page of results carries these links.
- Kept SEARCH_RECORD_RETENTION_DAYS days: `manage.py purge_search_records` (purge).
- Read by the admin report (insights.admin_searches) through report(): each table
  one aggregate query over the period, at most REPORT_ROWS rows.
"""

import contextlib
import logging
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import Avg, Count, Exists, Q, QuerySet
from django.urls import reverse
from django.utils import timezone, translation

from articles.models import Article
from articles.search import ParsedQuery

from .models import SearchRecord

logger = logging.getLogger(__name__)

OPENED_SALT = "insights.searches.opened"
# Positions are those of the results' first page (best bets, then up to a page of
# results and its orphans); a larger one is malformed, whatever the record says.
MAX_POSITION = 100
# The report: periods offered (days, today included), rows per table, and how many
# searches with results but no open make a query "nobody opens".
PERIODS = (7, 30, 90)
DEFAULT_PERIOD = 30
REPORT_ROWS = 50
UNOPENED_MIN_SEARCHES = 3

MASK = "***"
# Identifiers citizens type into a search box (an e-mail address; an ID card, phone,
# passport or case number): masked before anything is stored. A number is a run of
# digit characters holding at least MIN_DIGITS of them, whatever separates its
# groups: up to four characters that are neither letters nor digits ("138 1234 5678",
# "138–1234–5678", "138。1234。5678"). A digit character is any the Unicode database
# gives a digit value (١٢٣, ❶, ①) or a Chinese numeral, spoken or financial
# (一三八, 幺, 壹), so mixed scripts count together ("138一二三四5678"). Full-width
# forms (１３８, ＠) are read as their plain ones first (NFKC). Not masked: years and
# ranges of years ("2023-2024"), and lists or amounts written with commas between
# groups of at most three digits ("articles 12, 13, 14", "100,000 yuan").
MIN_DIGITS = 6
_EMAIL = re.compile(r"[^\s@]+\s*(?:@|%40|\(at\)|\[at\])\s*[^\s@]+")
_CHINESE_NUMERALS = "〇零一二三四五六七八九幺两壹贰叁肆伍陆柒捌玖"
# On the text with every digit character read as "0" (same length, same places).
_NUMBER = re.compile(r"0(?:(?:[^\w]|_){0,4}0)*")
_YEARS = re.compile(r"(?:19|20)\d\d(?:\W{1,4}(?:19|20)\d\d)*")
_COMMA_GROUPS = re.compile(r"\d{1,3}(?:,\s?\d{1,3})+")


def _is_digit(char: str) -> bool:
    return char in _CHINESE_NUMERALS or unicodedata.digit(char, None) is not None


def _mask_numbers(text: str) -> str:
    digits_as_zero = "".join("0" if _is_digit(char) else char for char in text)
    pieces, kept_until = [], 0
    for match in _NUMBER.finditer(digits_as_zero):
        found = text[match.start() : match.end()]
        count = match.group().count("0")
        if count < MIN_DIGITS or _YEARS.fullmatch(found) or _COMMA_GROUPS.fullmatch(found):
            continue
        pieces += [text[kept_until : match.start()], MASK]
        kept_until = match.end()
    return "".join([*pieces, text[kept_until:]])


def normalise(text: str) -> str:
    """A query's text (ParsedQuery.text: no control characters, spaces collapsed) as
    recorded: lower-case, identifiers masked, at most SearchRecord.MAX_QUERY_LENGTH."""
    text = _EMAIL.sub(MASK, unicodedata.normalize("NFKC", text).lower())
    text = _mask_numbers(text)
    return " ".join(text.split())[: SearchRecord.MAX_QUERY_LENGTH].rstrip()


# Recording


def not_counted(request):
    """Mark a request the site makes of itself (the link checker) as no citizen's."""
    request.not_a_citizen = True
    return request


def _is_counted(request, query: ParsedQuery) -> bool:
    if getattr(request, "not_a_citizen", False):
        return False
    if query.is_empty or request.method != "GET" or "page" in request.GET:
        return False
    purpose = request.headers.get("Sec-Purpose", "") + request.headers.get("Purpose", "")
    if "prefetch" in purpose:
        return False  # a browser guessing the next page; the citizen may never see it
    user = getattr(request, "user", None)
    return not (user is not None and user.is_authenticated and user.is_staff)


def record_search(
    request, query: ParsedQuery, *, category, tag, every_language: bool, result_count: int
) -> str:
    """Record this search page's search if it counts (see the module docstring).
    Returns the address result links ping when one is opened (absolute, on the
    page's origin), "" when not recorded."""
    if not _is_counted(request, query):
        return ""
    # Inside a caller's transaction a failed INSERT must not spoil it: a savepoint.
    # Otherwise (the usual case) the INSERT is a transaction of its own.
    in_transaction = transaction.get_connection().in_atomic_block
    try:
        with transaction.atomic() if in_transaction else contextlib.nullcontext():
            record = SearchRecord.objects.create(
                day=timezone.localdate(),
                language=translation.get_language(),
                query=normalise(query.text),
                category=category.slug[:100] if category else "",
                tag=tag.slug[:100] if tag else "",
                every_language=every_language,
                result_count=result_count,
            )
    except Exception as error:
        # The class only: a database's message may quote the row, and log lines carry
        # the client's address, which must never sit beside what they searched for.
        logger.error("A search was not recorded: %s", type(error).__name__)
        return ""
    # Absolute: `ping` takes only http(s) URLs. The request's own origin, the page's.
    return request.build_absolute_uri(
        reverse("insights:search-opened", args=[opened_token(record.pk)])
    )


def opened_token(record_id: int) -> str:
    return signing.Signer(salt=OPENED_SALT).sign(str(record_id))


def record_id_from_token(token: str) -> int | None:
    """The record id signed in a token, None for a forged or malformed one."""
    try:
        return int(signing.Signer(salt=OPENED_SALT).unsign(token))
    except (signing.BadSignature, ValueError):
        return None


def mark_opened(record_id: int, position: int, article_id: int) -> bool:
    """Note the result a citizen opened: the first open of a record made today or
    yesterday (a search page left open overnight), at a position it had, of a
    published guide. One UPDATE, so two opens at once cannot both count. True if
    this open counted."""
    yesterday = timezone.localdate() - timedelta(days=1)
    guide = Article.objects.published().filter(pk=article_id)
    updated = (
        SearchRecord.objects.filter(
            pk=record_id,
            day__gte=yesterday,
            opened_position__isnull=True,
            result_count__gte=position,
        )
        .filter(Exists(guide))
        .update(opened_position=position, opened_article_id=article_id)
    )
    return updated == 1


# Retention


def retention_days() -> int:
    return settings.SEARCH_RECORD_RETENTION_DAYS


def purge(days: int, dry_run: bool = False) -> tuple[date, int]:
    """Delete (or, dry, count) the searches made before the last `days` days, today
    included. Returns (the first day kept, how many)."""
    first_kept = timezone.localdate() - timedelta(days=days - 1)
    old = SearchRecord.objects.filter(day__lt=first_kept)
    if dry_run:
        return first_kept, old.count()
    deleted, _ = old.delete()
    return first_kept, deleted


# The report


@dataclass
class Report:
    since: date
    searches: int
    without_results: int
    opened: int
    top: list[dict] = field(default_factory=list)
    no_results: list[dict] = field(default_factory=list)
    unopened: list[dict] = field(default_factory=list)


def records_in(days: int, language: str = "") -> QuerySet:
    """The searches of the last `days` days, today included, in one page language
    (all when empty). Served by the (language, day) and day indexes."""
    since = timezone.localdate() - timedelta(days=days - 1)
    records = SearchRecord.objects.filter(day__gte=since)
    return records.filter(language=language) if language else records


def report(days: int, language: str = "", rows: int = REPORT_ROWS) -> Report:
    """Four queries, whatever the number of searches: the totals, then the top
    queries (searches, average results, opened), the queries with no results, and
    the queries whose results nobody opened (at least UNOPENED_MIN_SEARCHES searches
    with results, none opened). A query is grouped per page language."""
    records = records_in(days, language)
    totals = records.aggregate(
        searches=Count("pk"),
        without_results=Count("pk", filter=Q(result_count=0)),
        opened=Count("opened_position"),
    )
    by_query = ("query", "language")
    top = (
        records.values(*by_query)
        .annotate(
            searches=Count("pk"),
            average_results=Avg("result_count"),
            opened=Count("opened_position"),
        )
        .order_by("-searches", "query", "language")[:rows]
    )
    no_results = (
        records.filter(result_count=0)
        .values(*by_query)
        .annotate(searches=Count("pk"))
        .order_by("-searches", "query", "language")[:rows]
    )
    unopened = (
        records.filter(result_count__gt=0)
        .values(*by_query)
        .annotate(
            searches=Count("pk"),
            average_results=Avg("result_count"),
            opened=Count("opened_position"),
        )
        .filter(opened=0, searches__gte=UNOPENED_MIN_SEARCHES)
        .order_by("-searches", "query", "language")[:rows]
    )
    return Report(
        since=timezone.localdate() - timedelta(days=days - 1),
        top=list(top),
        no_results=list(no_results),
        unopened=list(unopened),
        **totals,
    )
