"""'Was this page helpful?': who may vote how often, and counting votes exactly.

Guide pages are cached by shared caches, so they cannot carry a per-visitor CSRF
token. The feedback endpoints defend against cross-site requests the way OWASP
recommends for that case: the browser's Origin (or Referer) header must be this
site. A forged form on another site is refused with 403.
"""

import hashlib
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F

from .models import FeedbackComment, GuideFeedback

VOTES_PER_HOUR = 20
COMMENTS_PER_HOUR = 5
ONE_VOTE_PER_GUIDE_SECONDS = 24 * 3600


def is_same_origin(request) -> bool:
    """True when the request comes from a page of this site."""
    source = request.META.get("HTTP_ORIGIN") or request.META.get("HTTP_REFERER")
    if not source or source == "null":
        return False
    parts = urlsplit(source)
    origin = f"{parts.scheme}://{parts.netloc}"
    site = urlsplit(settings.SITE_URL)
    return origin in {f"{request.scheme}://{request.get_host()}", f"{site.scheme}://{site.netloc}"}


def _client(request) -> str:
    # A hash, so the cache never holds visitors' addresses.
    address = request.META.get("REMOTE_ADDR", "")
    return hashlib.sha256(f"{settings.SECRET_KEY}:{address}".encode()).hexdigest()[:32]


def _within_hourly_limit(request, kind: str, limit: int) -> bool:
    key = f"feedback:{kind}:{_client(request)}"
    cache.add(key, 0, 3600)
    try:
        return cache.incr(key) <= limit
    except ValueError:  # expired between add and incr
        cache.set(key, 1, 3600)
        return True


def may_vote(request, article_id) -> bool:
    """One vote per visitor and guide a day, and a few votes an hour in all."""
    if not cache.add(
        f"feedback:voted:{_client(request)}:{article_id}", 1, ONE_VOTE_PER_GUIDE_SECONDS
    ):
        return False
    return _within_hourly_limit(request, "votes", VOTES_PER_HOUR)


def may_comment(request) -> bool:
    return _within_hourly_limit(request, "comments", COMMENTS_PER_HOUR)


def record_vote(article, helpful: bool) -> None:
    """Counted in the database with F() + 1, so concurrent votes are never lost."""
    field = "helpful" if helpful else "not_helpful"
    with transaction.atomic():
        GuideFeedback.objects.get_or_create(article=article)
        GuideFeedback.objects.filter(article=article).update(**{field: F(field) + 1})


def record_comment(article, text: str) -> FeedbackComment:
    cleaned = "".join(c for c in text if c.isprintable() or c in "\n\t").strip()
    return FeedbackComment.objects.create(
        article=article, text=cleaned[: FeedbackComment.MAX_LENGTH]
    )
