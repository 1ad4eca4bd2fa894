"""Purging front caches (settings.FRONT_CACHES: Varnish with xkey, deploy/varnish/)
by surrogate key (articles.surrogate) after content changes commit.

What each change purges (the receivers are in articles.signals):

Change                                   Keys purged
---------------------------------------  -------------------------------------------
A guide saved, deleted, published,       its guide key; its topic's (old and new if
unpublished, archived; its sections,     moved); its tags' (removed ones too); the
citations, tags or related links         laws' it cites (before and after); its
changed (admin, bulk actions, imports,   language's listing keys; when it newly
a draft revision going live)             appears or changes language or translation
                                         group, its translations' guide keys (their
                                         language links). Only for a guide public
                                         before or after: drafts and draft revisions
                                         show on no public page.
A scheduled guide's time coming          the same, on the first request after it
                                         (purge_guides_gone_live)
A topic changed                          its topic key
A tag renamed or merged                  its tag key (a merge: each merged tag's and
                                         the target's)
A law or a provision changed, a          the law's key
provision added or deleted
A topic or law created or deleted, a     also every language's listing key (and the
tag deleted                              law list's, for a law): no page carries the
                                         key of what did not exist when it was made
                                         (a new tag is on no page until a guide gets
                                         it, which purges that guide's keys)

Each transaction purges once, when it commits, with the union of its keys (a
rolled-back transaction purges nothing). The requests go out from one background
thread per process, so a slow or unreachable front cache never slows an editor's
save, let alone fails it: each front cache gets up to ATTEMPTS tries of TIMEOUT
seconds, and one log line (INFO with the keys and objects purged, WARNING when it
failed). Keys queued while a purge is under way go out together in the next one.
With no FRONT_CACHES nothing happens: no query, no thread, no request.

Every purge is sent twice: at once, and again settings.FRONT_CACHE_REPURGE_DELAY
seconds (10 by default) after it went out. A front cache fetch that
started before the commit renders the old page; if it ends after the first purge,
the front cache stores that old page (for a day, s-maxage). The second purge drops
it, as long as no render takes longer than the delay (the slowest uncached page,
the guides' sitemap at 100,000 guides, takes about 7 s). Repeats coalesce: a key
purged again before its repeat is due is repeated once, the delay after its latest
purge (which covers every fetch the earlier one could have missed); a repeat waits
up to a fifth of the delay more for the keys due just after it, so that they go
out in one request. The thread lives until the last repeat is sent, so a command
that changed content (import_guides) exits up to that long after its commit; a
process stopped sooner leaves its repeats unsent. A delay of 0 sends each purge
once.

By hand: `manage.py purge_front_caches KEY [KEY ...]`.
"""

import logging
import math
import os
import re
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from taggit.models import TaggedItem

from . import surrogate
from .models import Article, Citation

logger = logging.getLogger(__name__)

TIMEOUT = 2  # seconds per request
ATTEMPTS = 3  # tries per front cache and batch of keys
BACKOFF = 0.25  # seconds before the second try, doubled before each next one
# Keys per request: the xkey-purge header stays far below Varnish's header limit
# (http_req_hdr_len, 8 KB by default) however many guides one transaction changes.
MAX_KEYS_PER_REQUEST = 500
# A repeat waits up to this share of the delay more for the keys due just after it.
REPEAT_GATHER = 0.2
PURGE_HEADER = "xkey-purge"
# Where a front cache may say how many objects it purged (else the status line or body).
COUNT_HEADERS = ("xkey-purged", "x-purged", "n-gone", "x-xkey-purged")


def enabled() -> bool:
    return bool(settings.FRONT_CACHES)


def repurge_delay() -> float:
    """Seconds after a purge before it is sent again (0: never)."""
    return settings.FRONT_CACHE_REPURGE_DELAY


# Keys of guides


def listing_keys(language) -> set[str]:
    """The keys of the collections a guide of this language is listed in."""
    return {surrogate.listing_key(language)}


def every_listing_key() -> set[str]:
    return {surrogate.listing_key(code) for code, _name in settings.LANGUAGES}


def guide_keys(article_ids, was_public=(), extra=None) -> set[str]:
    """The keys to purge for these guides as the database holds them now: only
    those public (published, live or scheduled, not draft revisions) or, for the
    ids in `was_public`, public before the change. `extra` maps a guide's id to
    keys noted earlier (a removed tag, the law of a deleted citation), purged with
    the guide's own."""
    article_ids, was_public, extra = set(article_ids), set(was_public), extra or {}
    if not article_ids:
        return set()
    rows = Article.objects.filter(pk__in=article_ids, draft_of__isnull=True).values_list(
        "pk", "status", "category_id", "language"
    )
    keys, shown = set(), set()
    for pk, status, category_id, language in rows:
        if status == Article.Status.PUBLISHED or pk in was_public:
            shown.add(pk)
            keys |= {surrogate.guide_key(pk), surrogate.topic_key(category_id)}
            keys |= listing_keys(language)
    # A guide deleted meanwhile: what was noted before its deletion.
    shown |= was_public - {pk for pk, *_ in rows}
    if not shown:
        return set()
    for pk in shown:
        keys |= extra.get(pk, set())
    article_type = ContentType.objects.get_for_model(Article)
    tag_ids = TaggedItem.objects.filter(content_type=article_type, object_id__in=shown)
    keys |= {surrogate.tag_key(pk) for pk in tag_ids.values_list("tag_id", flat=True)}
    law_ids = Citation.objects.filter(article_id__in=shown).values_list(
        "provision__law_id", flat=True
    )
    keys |= {surrogate.law_key(pk) for pk in law_ids}
    return keys


def saved_guide_state(pk) -> tuple | None:
    """(status, topic, language, translation group) of a guide as saved, None for a
    draft revision or a new one: what a save may change about where it is listed."""
    return (
        Article.objects.filter(pk=pk, draft_of__isnull=True)
        .values_list("status", "category_id", "language", "translation_group")
        .first()
    )


def keys_of_saved_state(pk, state) -> set[str]:
    """The keys a guide had before its save, if it was public then."""
    if state is None or state[0] != Article.Status.PUBLISHED:
        return set()
    _status, category_id, language, _group = state
    return {surrogate.guide_key(pk), surrogate.topic_key(category_id)} | listing_keys(language)


def translation_keys(article, state) -> set[str]:
    """A guide that appears (newly public) or changes language or translation group
    appears on its translations' pages (their language links), which do not carry
    its key yet: their guide keys, in its old group and its new one."""
    if article.draft_of_id is not None:
        return set()
    public_now = article.status == Article.Status.PUBLISHED
    if state is None or state[0] != Article.Status.PUBLISHED:
        groups = {article.translation_group} if public_now else set()
    elif (state[2], state[3]) != (article.language, article.translation_group):
        groups = {state[3], article.translation_group}
    else:
        return set()
    if not groups:
        return set()
    siblings = (
        Article.objects.filter(
            translation_group__in=groups, draft_of__isnull=True, status=Article.Status.PUBLISHED
        )
        .exclude(pk=article.pk)
        .values_list("pk", flat=True)
    )
    return {surrogate.guide_key(pk) for pk in siblings}


# One purge per transaction


class _PendingPurge:
    """One transaction's on_commit callback: purges, once, the union of the keys
    noted while it lasted (see articles.signals.once_on_commit)."""

    def __init__(self):
        self.keys: set[str] = set()
        self.guide_ids: set = set()
        self.was_public: set = set()
        self.extra: dict = {}

    def __call__(self):
        try:
            keys = self.keys | guide_keys(self.guide_ids, self.was_public, self.extra)
        except Exception:
            # After the commit: the change stands; its pages age out of the caches.
            logger.exception("The front cache keys of guides %s could not be read", self.guide_ids)
            return
        submit(keys)


def _pending() -> _PendingPurge:
    connection = transaction.get_connection()
    for _, callback, _ in connection.run_on_commit:
        if isinstance(callback, _PendingPurge):
            return callback
    return _PendingPurge()


def _register(pending: _PendingPurge) -> None:
    connection = transaction.get_connection()
    if not any(callback is pending for _, callback, _ in connection.run_on_commit):
        # Robust: nothing a purge does may fail the commit's caller.
        transaction.on_commit(pending, robust=True)


def after_commit(keys) -> None:
    """Purge these keys when the current transaction commits (at once outside one)."""
    if not enabled() or not keys:
        return
    pending = _pending()
    pending.keys |= set(keys)
    _register(pending)


def guide_changed(pk, *, was_public: bool = False, keys=()) -> None:
    """A guide (or one of its parts) changed: purge its keys, as the database holds
    them when the transaction commits, when it commits. `was_public`: it was public
    before the change (so it is purged even if it is not any more); `keys`: more
    keys it had before (an old topic, a removed tag, a law it no longer cites)."""
    if not enabled() or pk is None:
        return
    pending = _pending()
    pending.guide_ids.add(pk)
    if was_public:
        pending.was_public.add(pk)
    if keys:
        pending.extra.setdefault(pk, set()).update(keys)
    _register(pending)


# Scheduled guides going live: no save happens then, so the first request after
# their time purges them.

NEXT_LIVE_CACHE_KEY = "articles:purge:next-live"
LIVE_MARK_CACHE_KEY = "articles:purge:live-mark"
NEXT_LIVE_MAX_AGE = 60 * 60
# With no mark (a cleared or new cache), guides gone live this recently are purged.
MARK_FALLBACK = timedelta(minutes=10)


def _scheduled_originals():
    return Article.objects.filter(draft_of__isnull=True, status=Article.Status.PUBLISHED)


def purge_guides_gone_live() -> int:
    """Purge the guides whose publish time came since the last check; how many.

    No query while none is due: the next publish time is kept in the cache, and
    forgotten on every guide save (forget_next_live)."""
    if not enabled():
        return 0
    now = timezone.now()
    next_live = cache.get(NEXT_LIVE_CACHE_KEY)
    if next_live is not None and next_live > now.timestamp():
        return 0
    mark = cache.get(LIVE_MARK_CACHE_KEY)
    since = datetime.fromtimestamp(mark, tz=UTC) if mark is not None else now - MARK_FALLBACK
    gone_live = list(
        _scheduled_originals()
        .filter(published_at__gt=since, published_at__lte=now)
        .values_list("pk", flat=True)
    )
    upcoming = (
        _scheduled_originals()
        .filter(published_at__gt=now)
        .order_by("published_at")
        .values_list("published_at", flat=True)
        .first()
    )
    cache.set(LIVE_MARK_CACHE_KEY, now.timestamp(), None)
    cache.set(
        NEXT_LIVE_CACHE_KEY, upcoming.timestamp() if upcoming else math.inf, NEXT_LIVE_MAX_AGE
    )
    if gone_live:
        submit(guide_keys(gone_live))
    return len(gone_live)


def forget_next_live() -> None:
    """A guide was saved: its publish time may be the next one (read again after
    the commit)."""
    if enabled():
        transaction.on_commit(lambda: cache.delete(NEXT_LIVE_CACHE_KEY), robust=True)


# Sending


@dataclass
class Result:
    front_cache: str
    keys: int
    purged: int | None = None  # objects, when the front cache says
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error


def _purged_count(response, body: bytes) -> int | None:
    for name in COUNT_HEADERS:
        value = response.headers.get(name)
        if value and value.strip().isdigit():
            return int(value.strip())
    text = f"{response.reason or ''} {body[:2000].decode('utf-8', 'replace')}"
    found = re.search(r"\d+", text)
    return int(found.group()) if found else None


def _purge_request(url: str, keys: list[str]) -> int | None:
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"{url!r} is not an http(s) address")
    request = urllib.request.Request(  # noqa: S310 (an http(s) address, checked above)
        url, method="PURGE", headers={PURGE_HEADER: " ".join(keys)}
    )
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
        return _purged_count(response, response.read())


def _retryable(error: Exception) -> bool:
    # A refusal (4xx: not allowed from here, no such method) stays a refusal.
    return not (isinstance(error, urllib.error.HTTPError) and 400 <= error.code < 500)


def purge_front_cache(base_url: str, keys) -> Result:
    """Purge these keys on one front cache, with retries; never raises."""
    keys = sorted(keys)
    url = base_url.rstrip("/") + "/"
    result = Result(base_url, len(keys))
    for start in range(0, len(keys), MAX_KEYS_PER_REQUEST):
        chunk = keys[start : start + MAX_KEYS_PER_REQUEST]
        for attempt in range(1, ATTEMPTS + 1):
            try:
                purged = _purge_request(url, chunk)
            except Exception as error:
                if attempt == ATTEMPTS or not _retryable(error):
                    result.error = f"{type(error).__name__}: {error} (attempt {attempt})"
                    return result
                time.sleep(BACKOFF * 2 ** (attempt - 1))
                continue
            if purged is not None:
                result.purged = (result.purged or 0) + purged
            break
    return result


def purge_now(keys, *, again: bool = False) -> list[Result]:
    """Purge these keys on every front cache now, logging one line per front cache
    (`again`: the second purge of these keys)."""
    keys = set(keys)
    if not enabled() or not keys:
        return []
    results = []
    which = "again " if again else ""
    for base_url in settings.FRONT_CACHES:
        result = purge_front_cache(base_url, keys)
        results.append(result)
        if result.ok:
            logger.info(
                "Front cache %s purged %s%s keys: %s objects",
                base_url,
                which,
                result.keys,
                "?" if result.purged is None else result.purged,
            )
        else:
            logger.warning(
                "Front cache %s was not purged %sof %s keys (%s): its pages of them may be "
                "stale until they expire or `manage.py purge_front_caches %s`",
                base_url,
                which,
                result.keys,
                result.error,
                " ".join(sorted(keys)[:20]) + (" …" if len(keys) > 20 else ""),
            )
    return results


class _Sender:
    """The process's background purger: one thread while there is work, which sends
    every key queued meanwhile in one purge, then each purged key again once its
    repeat is due (and ends when there is nothing left to send or repeat)."""

    def __init__(self):
        self._reset()
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self):
        self.condition = threading.Condition()
        self.queued: set[str] = set()
        self.repeats: dict[str, float] = {}  # key: when to purge it again (monotonic)
        self.busy = False
        self.thread = None

    def submit(self, keys) -> None:
        with self.condition:
            self.queued |= set(keys)
            self.condition.notify_all()  # a thread waiting for a repeat sends these first
            if self.thread is None or not self.thread.is_alive():
                self.busy = True
                # Not a daemon: a command (import_guides) exits only once it has purged.
                self.thread = threading.Thread(target=self._run, name="front-cache-purge")
                self.thread.start()

    def _next(self) -> tuple[set[str], bool]:
        """The keys to send next and whether they are a repeat; waits for a repeat's
        time (or new keys); no keys: nothing left. Called holding the condition."""
        while True:
            if self.queued:
                keys, self.queued = self.queued, set()
                return keys, False
            if not self.repeats:
                return set(), False
            # A repeat may go out late, never early: the first due waits a little
            # for the keys due right after it, so that they go out in one request.
            now = time.monotonic()
            send_at = min(self.repeats.values()) + repurge_delay() * REPEAT_GATHER
            if send_at <= now:
                due = {key for key, moment in self.repeats.items() if moment <= now}
                for key in due:
                    del self.repeats[key]
                return due, True
            self.condition.wait(send_at - now)

    def _run(self):
        while True:
            with self.condition:
                keys, again = self._next()
                if not keys:
                    self.busy = False
                    self.thread = None
                    self.condition.notify_all()
                    return
            try:
                purge_now(keys, again=again)
            except Exception:  # purge_now never raises; this thread must not die silently
                logger.exception("Purging the front caches failed")
            delay = 0 if again else repurge_delay()
            if delay > 0:
                with self.condition:
                    # After the latest purge of each key: a later one replaces an earlier.
                    due = time.monotonic() + delay
                    self.repeats.update(dict.fromkeys(keys, due))

    def wait(self, timeout=None) -> bool:
        """Wait until every queued key is sent, and sent again (tests); whether it
        was in time."""
        with self.condition:
            return self.condition.wait_for(lambda: not self.busy, timeout)


_sender = _Sender()


def submit(keys) -> None:
    """Purge these keys on every front cache soon, in the background, and again
    after the repeat delay."""
    if enabled() and keys:
        _sender.submit(keys)


def wait(timeout=None) -> bool:
    return _sender.wait(timeout)
