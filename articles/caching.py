"""HTTP caching of public pages: validators that change the moment content does,
and rendered pages served from the cache.

Every public page shares one content version: the last change saved by an editor
(ContentRevision) or the latest publish time that has come, whichever is later.
So a save, or a scheduled guide going live, changes Last-Modified and ETag of
every page at once.

The version itself comes from the shared default cache, so a request in the steady
state makes no query: the cache holds (generation, version, valid_until), where
valid_until is the next publish time of a scheduled guide or revision (the version
changes exactly then, so it is read again from then on), and generation must equal the
cache's content generation. ContentRevision.bump() calls forget_content_version(), which
draws a new generation at once and again when the transaction commits: every worker and
node reads the version again on its next request, and an answer read before the
commit is never kept (it was stored under the old generation).

Rendered pages (public_page marks them, PageCacheMiddleware stores and serves them):
anonymous GET and HEAD requests are served from the page cache, keyed by content
version, language and address, so a new version never serves an old page. Never
stored: requests with a session cookie (staff may be signed in: the cookie is
checked without loading the session or the user), other
methods, any status but 200, responses that set cookies or say private/no-store,
and addresses with query parameters other than a page number (a crawl of made-up
query strings must not fill the cache).

Because the validators are site-wide, a match says nothing about whether the
address exists: a conditional request is answered 304 without rendering only for
an address that answered 200 at this same content version (its stored page, or a
mark remembered in the cache); any other address is rendered first, so a missing
page still answers 404 and a moved one still redirects. In the steady state a hit
and a 304 cost no query.

Surrogate keys (articles.surrogate) noted while the view runs go out in `xkey`.
"""

import functools
import hashlib
import re
import uuid
from datetime import datetime
from functools import wraps
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Subquery
from django.http import HttpResponse
from django.utils import timezone, translation
from django.utils.cache import (
    add_never_cache_headers,
    get_conditional_response,
    patch_cache_control,
    quote_etag,
)
from django.utils.http import http_date

from . import surrogate
from .models import Article, ContentRevision, published_or_scheduled_q

# Browsers revalidate every time (a 304 costs no query), so a citizen sees an
# editor's save at once. Shared caches that nobody purges may serve a page for a
# minute, and a stale one for 30 seconds more while they revalidate in the background.
PUBLIC_CACHE_CONTROL = {
    "public": True,
    "max_age": 0,
    "s_maxage": 60,
    "stale_while_revalidate": 30,
}
# With settings.FRONT_CACHES, our front caches are purged by surrogate key after
# every change, so they may keep a page for a day.
PURGED_CACHE_CONTROL = {"public": True, "max_age": 0, "s_maxage": 24 * 60 * 60}
# Longer xkey headers than this go beyond what a front cache accepts in one header
# (Varnish's http_resp_hdr_len is 8 KB): such a page is not sent without them, and
# falls back to the short lifetime of PUBLIC_CACHE_CONTROL.
MAX_XKEY_LENGTH = 6000

CONTENT_GENERATION_KEY = "articles:content-generation"
CONTENT_VERSION_KEY = "articles:content-version"
# A safety net only: the generation and valid_until keep the version exact.
CONTENT_VERSION_MAX_AGE = 24 * 60 * 60

# A content version rarely lives longer on a working day; a new version uses new keys.
SERVED_PAGE_TIMEOUT = 60 * 60
PAGE_CACHE_TIMEOUT = 60 * 60
CONDITIONAL_HEADERS = ("HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE")
# Query parameters a stored page may have, each with the form of its value: a list's
# page number, the sitemaps' p, a law page's provision (a made-up one answers 404,
# which is never stored).
STORED_QUERY_PARAMETERS = {
    "page": re.compile(r"[0-9]{1,6}"),
    "p": re.compile(r"[0-9]{1,6}"),
    "provision": re.compile(r"[-\w]{1,100}"),
}


# The content version


def forget_content_version() -> None:
    """Content changed: every worker and node reads the version again on its next
    request. Now, for this transaction's own requests, and again at the commit, so
    a version read meanwhile from the data before the commit is not kept.
    (Called by ContentRevision.bump().)"""
    _new_content_generation()
    transaction.on_commit(_new_content_generation, robust=True)


def _new_content_generation() -> None:
    cache.set(CONTENT_GENERATION_KEY, uuid.uuid4().hex, None)


def content_version() -> tuple[datetime | None, float | None]:
    """(version, valid_until): the content clock, and the timestamp until which it
    holds (None: until the next change). No query while the cache holds it."""
    now = timezone.now().timestamp()
    found = cache.get_many([CONTENT_GENERATION_KEY, CONTENT_VERSION_KEY])
    generation, entry = found.get(CONTENT_GENERATION_KEY), found.get(CONTENT_VERSION_KEY)
    if generation is not None and entry is not None and entry[0] == generation:
        _generation, moment, valid_until = entry
        if valid_until is None or now < valid_until:
            return moment, valid_until
    if generation is None:
        # First request, or the cache lost it: the generation comes first, so a change
        # committed from now on replaces it and what is read below is not kept.
        generation = uuid.uuid4().hex
        if not cache.add(CONTENT_GENERATION_KEY, generation, None):
            generation = cache.get(CONTENT_GENERATION_KEY) or generation
    moment, valid_until = _read_content_version()
    cache.set(CONTENT_VERSION_KEY, (generation, moment, valid_until), CONTENT_VERSION_MAX_AGE)
    return moment, valid_until


def _read_content_version() -> tuple[datetime | None, float | None]:
    """One query: the last editor change, the latest publish time that has come, and
    the next one to come (of a guide or of a draft revision)."""
    now = timezone.now()
    latest_due = (
        Article.objects.filter(published_or_scheduled_q(), published_at__lte=now)
        .order_by("-published_at")
        .values("published_at")[:1]
    )
    next_due = (
        Article.objects.filter(status=Article.Status.PUBLISHED, published_at__gt=now)
        .order_by("published_at")
        .values("published_at")[:1]
    )
    row = (
        ContentRevision.objects.annotate(
            latest_due=Subquery(latest_due), next_due=Subquery(next_due)
        )
        .values_list("changed_at", "latest_due", "next_due")
        .first()
    )
    if row is None:  # no editor change recorded yet
        row = (
            None,
            latest_due.values_list("published_at", flat=True).first(),
            next_due.values_list("published_at", flat=True).first(),
        )
    changed_at, latest, following = row
    moments = [moment for moment in (changed_at, latest) if moment is not None]
    return (max(moments) if moments else None), (following.timestamp() if following else None)


def _request_content_version(request) -> tuple[datetime | None, float | None]:
    if not hasattr(request, "_content_version"):
        request._content_version = content_version()
    return request._content_version


def content_last_modified(request, *args, **kwargs):
    return _request_content_version(request)[0]


def content_etag(request, *args, **kwargs):
    moment = content_last_modified(request)
    return f"c{moment.timestamp():.6f}" if moment else None


# Public pages


def _served_page_key(request, etag: str) -> str:
    address = hashlib.sha256(request.get_full_path().encode()).hexdigest()
    return f"articles:served-page:{etag}:{address}"


@functools.cache
def release() -> str:
    """What this deploy renders with: a digest of the templates, the message
    catalogues and the static files' manifest (their fingerprinted names), read
    once per process. Part of every key of rendered HTML, so a deploy that changes
    any of them never serves pages rendered by the one before from a shared cache."""
    digest = hashlib.sha256()
    roots = [Path(directory) for directory in settings.TEMPLATES[0]["DIRS"]]
    roots += [Path(directory) for directory in settings.LOCALE_PATHS]
    files = sorted(path for root in roots for path in root.rglob("*") if path.is_file())
    manifest = Path(settings.STATIC_ROOT) / "staticfiles.json"
    for path in [*files, manifest]:
        if path.is_file():
            # Names relative to the project, so nodes in other folders agree.
            name = (
                path.relative_to(settings.BASE_DIR)
                if path.is_relative_to(settings.BASE_DIR)
                else path
            )
            digest.update(str(name).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _page_key(request) -> str:
    """The page's key: release, content version, language (from the address, else as
    LocaleMiddleware will choose it: cookie, Accept-Language) and full address."""
    address = hashlib.sha256(request.build_absolute_uri().encode()).hexdigest()
    language = translation.get_language_from_request(request, check_path=True)
    return f"articles:page:{release()}:{content_etag(request)}:{language}:{address}"


def _may_store_address(request) -> bool:
    return all(
        name in STORED_QUERY_PARAMETERS
        and len(values) == 1
        and STORED_QUERY_PARAMETERS[name].fullmatch(values[0])
        for name, values in request.GET.lists()
    )


def _is_anonymous(request) -> bool:
    """No session cookie: nobody is signed in (checked without a query)."""
    return settings.SESSION_COOKIE_NAME not in request.COOKIES


def _may_store_response(request, response) -> bool:
    if response.status_code != 200 or response.streaming or response.cookies:
        return False
    cache_control = response.get("Cache-Control", "").lower()
    if any(word in cache_control for word in ("private", "no-store", "no-cache")):
        return False
    if request.META.get("CSRF_COOKIE_NEEDS_UPDATE"):
        return False  # CsrfViewMiddleware will set a cookie
    session = getattr(request, "session", None)
    return not getattr(session, "modified", False)


def cache_control(valid_until: float | None, xkey_sent: bool = True) -> dict:
    """Cache-Control of a public page: browsers revalidate; shared caches keep it a day
    when purged (FRONT_CACHES), else a minute, never past the next scheduled publish
    time (when the version changes without a save, so without a purge)."""
    purged = bool(settings.FRONT_CACHES) and xkey_sent
    directives = dict(PURGED_CACHE_CONTROL if purged else PUBLIC_CACHE_CONTROL)
    if valid_until is not None:
        remaining = int(valid_until - timezone.now().timestamp())
        directives["s_maxage"] = max(0, min(directives["s_maxage"], remaining))
    return directives


def _set_cache_control(response, valid_until) -> None:
    xkey_sent = "xkey" in response or response.status_code == 304
    if "Cache-Control" in response:
        del response["Cache-Control"]
    patch_cache_control(response, **cache_control(valid_until, xkey_sent))


def _render(view, request, args, kwargs):
    """The view's response, rendered, with the surrogate keys it noted in `xkey`."""
    with surrogate.collecting() as keys:
        response = view(request, *args, **kwargs)
        if callable(getattr(response, "render", None)) and not response.is_rendered:
            response.render()  # a TemplateResponse notes its links' keys as it renders
    header = " ".join(sorted(keys))
    if header and len(header) <= MAX_XKEY_LENGTH:
        response["xkey"] = header
    return response


def _stored(response) -> tuple[bytes, list[tuple[str, str]]]:
    return response.content, list(response.items())


def _from_stored(stored) -> HttpResponse:
    content, headers = stored
    return HttpResponse(content, headers=dict(headers))


def public_page(view):
    """Conditional GET (304) by Last-Modified and ETag, Cache-Control for shared caches,
    surrogate keys, and the page cache for anonymous visitors."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method not in {"GET", "HEAD"}:
            return _render(view, request, args, kwargs)
        moment, valid_until = _request_content_version(request)
        if moment is None:
            response = _render(view, request, args, kwargs)
        else:
            response = _conditional_response(request, moment, view, args, kwargs)
        if response.status_code in {200, 304}:
            _set_cache_control(response, valid_until)
        return response

    return wrapper


def _validators(request) -> dict:
    moment = _request_content_version(request)[0]
    return {"etag": quote_etag(content_etag(request)), "last_modified": int(moment.timestamp())}


def _conditional_response(request, moment, view, args, kwargs):
    validators = _validators(request)
    conditional = any(header in request.META for header in CONDITIONAL_HEADERS)
    served_key = _served_page_key(request, validators["etag"])
    response = None
    if conditional and cache.get(served_key):
        # This address answered 200 at this content version: a match needs no rendering.
        response = get_conditional_response(request, **validators)
    if response is None:
        response = _render(view, request, args, kwargs)
        if response.status_code != 200:
            return response  # a 404, a redirect: never a 304 for it, never stored
        response.headers.setdefault("ETag", validators["etag"])
        response.headers.setdefault("Last-Modified", http_date(validators["last_modified"]))
        if request.method == "GET" and _may_store_response(request, response):
            # PageCacheMiddleware stores it once the middleware inside it are done.
            response.page_cacheable = True
        if conditional:
            # Remembered only for clients that revalidate, so a crawl of made-up
            # query strings does not fill the cache.
            cache.set(served_key, True, SERVED_PAGE_TIMEOUT)
        response = get_conditional_response(request, response=response, **validators)
    if response.status_code in {200, 304}:
        response.headers.setdefault("ETag", validators["etag"])
        response.headers.setdefault("Last-Modified", http_date(validators["last_modified"]))
    return response


class PageCacheMiddleware:
    """The page cache: an anonymous visitor's GET or HEAD of a public page is answered
    from the cache before the middleware below this one run (sessions, language,
    CSRF, authentication, messages), so a hit costs less than the simplest view.

    A page is stored after those middleware have added their headers (Vary,
    Content-Language, X-Frame-Options) and only when the view marked it storable
    (public_page: a plain 200 of a public page) and nothing below set a cookie. The
    key holds the release, the content version, the language and the full address:
    a save or a publish time coming changes the version, so the next request renders.
    Placed below ScheduledRevisionMiddleware, so a revision falling due is put in
    place before any page is served from the cache.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        key = _page_key(request) if _may_serve_from_cache(request) else None
        if key is not None:
            stored = cache.get(key)
            if stored is not None:
                response = _from_stored(stored)
                _set_cache_control(response, _request_content_version(request)[1])
                return get_conditional_response(request, response=response, **_validators(request))
        response = self.get_response(request)
        if key is not None and getattr(response, "page_cacheable", False):
            if request.method == "GET" and _may_store_response(request, response):
                cache.set(key, _stored(response), PAGE_CACHE_TIMEOUT)
        return response


def _may_serve_from_cache(request) -> bool:
    return (
        settings.PAGE_CACHE
        and request.method in {"GET", "HEAD"}
        and _is_anonymous(request)
        and _may_store_address(request)
        and _request_content_version(request)[0] is not None
    )


def private(response, robots: str = "noindex", *, history: bool = False):
    """A response for one person or one moment (search, previews, feedback answers):
    never stored by a shared cache, never indexed. Browsers store none either, except
    with `history`: they may keep the page for Back and Forward (private, no-cache),
    so going back to search results shows them again without asking the server (which
    would count the search twice), while every new visit still asks."""
    if history:
        patch_cache_control(response, private=True, no_cache=True, max_age=0)
    else:
        add_never_cache_headers(response)
    response["X-Robots-Tag"] = robots
    return response


def private_page(view=None, *, robots: str = "noindex", history: bool = False):
    """Decorator form of private(): @private_page or @private_page(robots=..., ...)."""

    def decorate(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            return private(view(request, *args, **kwargs), robots, history=history)

        return wrapper

    return decorate(view) if view is not None else decorate
