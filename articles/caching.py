"""HTTP caching of public pages: validators that change the moment content does.

Every public page shares one content clock: the last change saved by an editor
(ContentRevision) or the latest publish time that has come, whichever is later.
So a save, or a scheduled guide going live, changes Last-Modified and ETag of
every page at once.

Because the validators are site-wide, a match says nothing about whether the
address exists: a conditional request is answered 304 without rendering only
for an address that answered 200 at this same content version (remembered in the
cache); any other address is rendered first, so a missing page still answers 404
and a moved one still redirects. In the steady state a 304 costs one query.
"""

import hashlib
from functools import wraps

from django.core.cache import cache
from django.db.models import Subquery
from django.utils.cache import (
    add_never_cache_headers,
    get_conditional_response,
    patch_cache_control,
    quote_etag,
)
from django.utils.http import http_date

from .models import Article, ContentRevision

# Browsers revalidate every time (a 304 costs one query), so a citizen sees an
# editor's save at once; shared caches may serve a page for a minute, and a stale
# one for 30 seconds more while they revalidate in the background.
PUBLIC_CACHE_CONTROL = {
    "public": True,
    "max_age": 0,
    "s_maxage": 60,
    "stale_while_revalidate": 30,
}


def content_last_modified(request, *args, **kwargs):
    if not hasattr(request, "_content_last_modified"):
        latest_due = Article.objects.published().order_by("-published_at").values("published_at")
        row = (
            ContentRevision.objects.annotate(latest_due=Subquery(latest_due[:1]))
            .values_list("changed_at", "latest_due")
            .first()
        )
        if row is None:  # no editor change recorded yet
            row = (None, latest_due.values_list("published_at", flat=True).first())
        moments = [moment for moment in row if moment is not None]
        request._content_last_modified = max(moments) if moments else None
    return request._content_last_modified


def content_etag(request, *args, **kwargs):
    moment = content_last_modified(request)
    return f"c{moment.timestamp():.6f}" if moment else None


# A content version rarely lives longer on a working day; a new version uses new keys.
SERVED_PAGE_TIMEOUT = 60 * 60
CONDITIONAL_HEADERS = ("HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE")


def _served_page_key(request, etag: str) -> str:
    address = hashlib.sha256(request.get_full_path().encode()).hexdigest()
    return f"articles:served-page:{etag}:{address}"


def public_page(view):
    """Conditional GET (304) by Last-Modified and ETag, and Cache-Control for shared caches."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        moment = content_last_modified(request)
        if moment is None or request.method not in {"GET", "HEAD"}:
            response = view(request, *args, **kwargs)
        else:
            response = _conditional_response(request, moment, view, args, kwargs)
        if response.status_code in {200, 304}:
            patch_cache_control(response, **PUBLIC_CACHE_CONTROL)
        return response

    return wrapper


def _conditional_response(request, moment, view, args, kwargs):
    validators = {
        "etag": quote_etag(content_etag(request)),
        "last_modified": int(moment.timestamp()),
    }
    served_key = _served_page_key(request, validators["etag"])
    response = None
    if cache.get(served_key):
        # This address answered 200 at this content version: a match needs no rendering.
        response = get_conditional_response(request, **validators)
    if response is None:
        response = view(request, *args, **kwargs)
        if response.status_code != 200:
            return response  # a 404, a redirect: never a 304 for it
        if any(header in request.META for header in CONDITIONAL_HEADERS):
            # Remembered only for clients that revalidate, so a crawl of made-up
            # query strings does not fill the cache.
            cache.set(served_key, True, SERVED_PAGE_TIMEOUT)
        response = get_conditional_response(request, response=response, **validators)
    if response.status_code in {200, 304}:
        response.headers.setdefault("ETag", validators["etag"])
        response.headers.setdefault("Last-Modified", http_date(validators["last_modified"]))
    return response


def private(response, robots: str = "noindex"):
    """A response for one person or one moment (search, previews, feedback answers):
    never stored by any cache, never indexed."""
    add_never_cache_headers(response)
    response["X-Robots-Tag"] = robots
    return response


def private_page(view=None, *, robots: str = "noindex"):
    """Decorator form of private(): @private_page or @private_page(robots=...)."""

    def decorate(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            return private(view(request, *args, **kwargs), robots)

        return wrapper

    return decorate(view) if view is not None else decorate
