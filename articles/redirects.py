"""Old addresses of guides, categories and tags keep working (django.contrib.redirects rows).

Every move is written so that each old path points straight at the current one:
no chains, no loops, and a live page always wins over a redirect.
"""

from django.conf import settings
from django.contrib.redirects.models import Redirect
from django.db import transaction

GONE = ""  # RedirectFallbackMiddleware answers 410 Gone for an empty target.


def record_move(old_path: str, new_path: str) -> None:
    """old_path now lives at new_path (or is gone, with GONE)."""
    if old_path == new_path:
        return
    site_id = settings.SITE_ID
    with transaction.atomic():
        # Anything that led to the old path now leads straight to the new one.
        Redirect.objects.filter(site_id=site_id, new_path=old_path).update(new_path=new_path)
        Redirect.objects.update_or_create(
            site_id=site_id, old_path=old_path, defaults={"new_path": new_path}
        )
        if new_path:
            clear_path(new_path)


def clear_path(path: str) -> None:
    """A page is live at path again: drop any redirect or 410 from it."""
    Redirect.objects.filter(site_id=settings.SITE_ID, old_path=path).delete()


def drop_redirects_to(path: str) -> None:
    """The page at path is gone for good: old addresses stop leading to it (they
    answer 404 rather than a redirect to a 404)."""
    Redirect.objects.filter(site_id=settings.SITE_ID, new_path=path).delete()
