"""HTTP caching of public pages: validators that change the moment content does.

Every public page shares one content clock: the last change saved by an editor
(ContentRevision) or the latest publish time that has come, whichever is later.
So a save, or a scheduled guide going live, changes Last-Modified and ETag of
every page at once, and a conditional request costs one query and no rendering.
"""

from functools import wraps

from django.db.models import Subquery
from django.utils.cache import patch_cache_control
from django.views.decorators.http import condition

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


def public_page(view):
    """Conditional GET (304) by Last-Modified and ETag, and Cache-Control for shared caches."""
    conditional_view = condition(etag_func=content_etag, last_modified_func=content_last_modified)(
        view
    )

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        response = conditional_view(request, *args, **kwargs)
        if response.status_code in {200, 304}:
            patch_cache_control(response, **PUBLIC_CACHE_CONTROL)
        return response

    return wrapper
