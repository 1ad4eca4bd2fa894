"""'Was this page helpful?': who may vote how often, and counting votes exactly.

Guide pages are cached by shared caches, so they cannot carry a per-visitor CSRF
token. The feedback endpoints defend against cross-site requests the way OWASP
recommends for that case: the browser's Origin (or Referer) header must be this
site. A forged form on another site is refused with 403.

Limits, and what enforces each:

- One vote per visitor, guide and day: a FeedbackVote row under a unique
  constraint. The visitor is a keyed hash of the client's address (or IPv6 /64,
  articles.clientip), so no address is stored, in the database or in a cache key.
- A few votes and comments an hour per visitor: counters in caches["limits"]
  (Redis, or a database table), which every worker shares and which the busy
  default cache of search suggestions cannot evict.
- A cap on comments per guide and day, counted in the database.

A request only spends what it gets: a visitor over the hourly limit keeps the
day's vote for later, and a repeated vote costs nothing from the hourly budget.
"""

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import Enum
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.db import DatabaseCache
from django.db import IntegrityError, router, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.crypto import salted_hmac

from insights.helpfulness import count_day_vote

from .clientip import client_key
from .models import FeedbackComment, FeedbackVote, GuideFeedback

VOTES_PER_HOUR = 20
COMMENTS_PER_HOUR = 5
COMMENTS_PER_GUIDE_PER_DAY = 50
LIMIT_WINDOW_SECONDS = 3600
# Only today's rows decide whether a visitor has voted; yesterday's are a margin.
VOTE_DAYS_KEPT = 2
VISITOR_HASH_PURPOSE = "articles.feedback.visitor"


class Outcome(Enum):
    COUNTED = "counted"
    ALREADY_VOTED = "already voted today"
    OVER_HOURLY_LIMIT = "over the visitor's hourly limit"
    GUIDE_FULL_TODAY = "the guide has all the comments it takes today"


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    retry_after: int | None = None  # seconds, for a Retry-After header

    @property
    def counted(self) -> bool:
        return self.outcome is Outcome.COUNTED


def is_same_origin(request) -> bool:
    """True when the request comes from a page of this site."""
    source = request.META.get("HTTP_ORIGIN") or request.META.get("HTTP_REFERER")
    if not source or source == "null":
        return False
    parts = urlsplit(source)
    origin = f"{parts.scheme}://{parts.netloc}"
    site = urlsplit(settings.SITE_URL)
    return origin in {f"{request.scheme}://{request.get_host()}", f"{site.scheme}://{site.netloc}"}


def visitor_id(request) -> str:
    """64 hex characters that stand for the client's address. Keyed with a
    SECRET_KEY-derived key, so the 2**32 IPv4 addresses cannot be hashed and
    matched by whoever reads the table."""
    return salted_hmac(VISITOR_HASH_PURPOSE, client_key(request), algorithm="sha256").hexdigest()


class HourlyLimit:
    """At most `limit` actions of one kind per visitor and clock hour.

    The key names the hour (fixed windows), so the counter's lifetime is known
    without reading it and a counter that outlives its hour is never read again.
    The price: a visitor can act up to twice the limit across an hour boundary.
    """

    def __init__(self, kind: str, visitor: str, limit: int):
        now = timezone.now().timestamp()
        window = int(now // LIMIT_WINDOW_SECONDS)
        self.key = f"feedback:{kind}:{visitor}:{window}"
        self.limit = limit
        self.seconds_left = max(1, math.ceil((window + 1) * LIMIT_WINDOW_SECONDS - now))

    def exhausted(self) -> bool:
        """Spends nothing."""
        return caches["limits"].get(self.key, 0) >= self.limit

    def spend(self) -> bool:
        """Count one action; False when that goes past the limit."""
        return _count(self.key, self.seconds_left) <= self.limit

    def refusal(self) -> Verdict:
        return Verdict(Outcome.OVER_HOURLY_LIMIT, retry_after=self.seconds_left)


def _count(key: str, lifetime: int) -> int:
    """Add one to a shared counter and return the new count, atomically."""
    limits = caches["limits"]
    if isinstance(limits, DatabaseCache):
        return _count_in_table(limits, key, lifetime)
    # A few rounds at most: each one lost only to an expiry or eviction in between.
    for _attempt in range(3):
        if limits.add(key, 1, lifetime):
            return 1
        try:
            count = limits.incr(key)
        except ValueError:  # expired or evicted between add() and incr()
            continue
        if count == 1:
            # Redis INCR re-creates a key that expired after incr()'s existence check,
            # without a lifetime: give it back its end of the hour.
            limits.touch(key, lifetime)
        return count
    # A cache that keeps losing the key cannot count; the day's vote still holds.
    return 1


def _count_in_table(limits: DatabaseCache, key: str, lifetime: int) -> int:
    """DatabaseCache has no atomic incr(): BaseCache's is a get() and a set(), and
    that set() also resets the lifetime to the cache's default timeout. Read and
    write in one transaction instead, after touch() has updated the row, so that
    concurrent counts of the same key wait for each other: touch() takes the row
    lock on PostgreSQL, and SQLite's IMMEDIATE transactions hold the write lock
    from the start."""
    with transaction.atomic(using=router.db_for_write(limits.cache_model_class)):
        if limits.add(key, 1, lifetime):
            return 1
        limits.touch(key, lifetime)
        count = limits.get(key, 0) + 1
        limits.set(key, count, lifetime)
    return count


def cast_vote(request, article, helpful: bool) -> Verdict:
    """Count a vote unless the visitor already voted on this guide today or is over
    the hourly limit. The hourly limit is looked at first without spending the
    day's vote; the day's row is written next, and the hourly budget is spent
    only when that row is new."""
    visitor = visitor_id(request)
    hourly = HourlyLimit("votes", visitor, VOTES_PER_HOUR)
    if hourly.exhausted():
        return hourly.refusal()
    with transaction.atomic():
        try:
            with transaction.atomic():  # a savepoint: a repeat undoes only its insert
                FeedbackVote.objects.create(
                    article=article, visitor=visitor, day=timezone.localdate(), helpful=helpful
                )
        except IntegrityError:
            return Verdict(Outcome.ALREADY_VOTED)
        if not hourly.spend():
            # Concurrent requests of one visitor passed exhausted() together:
            # undo the day's row so the vote can still be cast later.
            transaction.set_rollback(True)
            return hourly.refusal()
        record_vote(article, helpful)
    return Verdict(Outcome.COUNTED)


def record_vote(article, helpful: bool) -> None:
    """Counted in the database with F() + 1, so concurrent votes are never lost: in
    the guide's totals and, for trends, in its row for the day (insights.FeedbackDay)."""
    field = "helpful" if helpful else "not_helpful"
    with transaction.atomic():
        GuideFeedback.objects.get_or_create(article=article)
        GuideFeedback.objects.filter(article=article).update(**{field: F(field) + 1})
        count_day_vote(article, helpful)


def submit_comment(request, article, text: str) -> Verdict:
    """Store a comment within the visitor's hourly limit and the guide's daily cap.
    A refused comment spends nothing."""
    hourly = HourlyLimit("comments", visitor_id(request), COMMENTS_PER_HOUR)
    if hourly.exhausted():
        return hourly.refusal()
    with transaction.atomic():
        # Comments on one guide take turns here, so concurrent ones cannot all
        # pass the cap: a row lock on PostgreSQL (SQLite transactions take turns anyway).
        GuideFeedback.objects.select_for_update().get_or_create(article=article)
        received_today = FeedbackComment.objects.filter(
            article=article, created_at__gte=_start_of_today()
        ).count()
        if received_today >= COMMENTS_PER_GUIDE_PER_DAY:
            return Verdict(Outcome.GUIDE_FULL_TODAY, retry_after=_seconds_to_tomorrow())
        if not hourly.spend():
            return hourly.refusal()
        record_comment(article, text)
    return Verdict(Outcome.COUNTED)


def record_comment(article, text: str) -> FeedbackComment:
    cleaned = "".join(c for c in text if c.isprintable() or c in "\n\t").strip()
    return FeedbackComment.objects.create(
        article=article, text=cleaned[: FeedbackComment.MAX_LENGTH]
    )


def comment_retention_days() -> int:
    return settings.FEEDBACK_COMMENT_RETENTION_DAYS


@dataclass(frozen=True)
class Purge:
    comments_before: datetime
    comments_deleted: int
    votes_before: date
    votes_deleted: int


def purge_old_feedback(comment_days: int) -> Purge:
    """Delete comments received more than `comment_days` days ago, and vote rows
    no longer needed for the one-vote-a-day check (the counts stay)."""
    comments_before = timezone.now() - timedelta(days=comment_days)
    votes_before = timezone.localdate() - timedelta(days=VOTE_DAYS_KEPT - 1)
    comments_deleted, _ = FeedbackComment.objects.filter(created_at__lt=comments_before).delete()
    votes_deleted, _ = FeedbackVote.objects.filter(day__lt=votes_before).delete()
    return Purge(comments_before, comments_deleted, votes_before, votes_deleted)


def _start_of_day(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _start_of_today() -> datetime:
    return _start_of_day(timezone.localdate())


def _seconds_to_tomorrow() -> int:
    tomorrow = _start_of_day(timezone.localdate() + timedelta(days=1))
    return max(1, math.ceil((tomorrow - timezone.now()).total_seconds()))
