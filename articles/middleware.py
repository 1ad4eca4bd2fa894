"""Requests that never end badly: old and variant URLs lead to the current page,
scheduled revisions go live without a job, and a locked database answers 503."""

import logging
import sys

from django.conf import settings
from django.contrib.redirects.middleware import RedirectFallbackMiddleware
from django.contrib.redirects.models import Redirect
from django.db import OperationalError
from django.http import HttpResponse, HttpResponsePermanentRedirect
from django.middleware.locale import LocaleMiddleware
from django.shortcuts import render
from django.urls import Resolver404, resolve
from django.utils import translation
from django.utils.cache import add_never_cache_headers, patch_vary_headers
from django.utils.encoding import escape_uri_path
from django.views import defaults

logger = logging.getLogger(__name__)

# How long a client is told to wait when the database is busy.
RETRY_AFTER_SECONDS = 5


class GuideRedirectMiddleware(RedirectFallbackMiddleware):
    """django.contrib.redirects on a 404: 301 to where a guide moved, 410 with a
    readable page where it was removed. Rows are written by articles.redirects
    when editors change slugs or categories or delete guides, or by hand in the admin."""

    def process_response(self, request, response):
        response = super().process_response(request, response)
        if response.status_code == 410:
            return render(request, "410.html", status=410)
        return response


class LanguageMiddleware(LocaleMiddleware):
    """Django's LocaleMiddleware (the language from the address, else the cookie and
    the browser's Accept-Language) without its fallback that sends any unprefixed 404
    to the visitor's language: there an old English guide's slug does not exist, and
    the admin's own 404s would leave the admin. LegacyAddressMiddleware does that job."""

    def process_response(self, request, response):
        if not translation.get_language_from_path(request.path_info):
            # The page's language came from the cookie or the browser.
            patch_vary_headers(response, ("Accept-Language", "Cookie"))
        response.headers.setdefault("Content-Language", translation.get_language())
        return response


# Every address was English before the site had languages.
LEGACY_LANGUAGE = "en"


class LegacyAddressMiddleware:
    """Addresses from before the language prefix (/social-security-inquiry/…) answer
    301 to the English page (/en/social-security-inquiry/…), query string kept.

    Only for addresses that match no route of their own (so not the admin's 404s).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code != 404 or translation.get_language_from_path(request.path_info):
            return response
        try:
            resolve(request.path_info)
            return response  # a page of its own (the admin, /language/…) said 404
        except Resolver404:
            pass
        with translation.override(LEGACY_LANGUAGE):
            try:
                match = resolve(f"/{LEGACY_LANGUAGE}{request.path_info}")
            except Resolver404:
                return response
        if match.namespace != "articles":
            return response
        # Straight to where the English page moved since, if it did: one hop, not two.
        moved = (
            Redirect.objects.filter(
                site_id=settings.SITE_ID,
                old_path=f"/{LEGACY_LANGUAGE}{escape_uri_path(request.path_info)}",
            )
            .exclude(new_path="")
            .values_list("new_path", flat=True)
            .first()
        )
        if moved:
            return HttpResponsePermanentRedirect(moved)
        return HttpResponsePermanentRedirect(f"/{LEGACY_LANGUAGE}{request.get_full_path()}")


class LowercasePathMiddleware:
    """/Social-Security-Inquiry/ answers 301 to /social-security-inquiry/ when that exists.

    Only for the public pages addressed by slugs: elsewhere (previews' signed tokens,
    the admin) case carries meaning.
    """

    SLUG_PAGES = {"home", "category", "article", "tag", "law", "law-list"}

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        path = request.path_info
        if response.status_code != 404 or path == path.lower():
            return response
        try:
            match = resolve(path.lower())
        except Resolver404:
            return response
        if match.namespace != "articles" or match.url_name not in self.SLUG_PAGES:
            return response
        query = request.META.get("QUERY_STRING", "")
        target = request.path.lower() + (f"?{query}" if query else "")
        return HttpResponsePermanentRedirect(target)


class ScheduledRevisionMiddleware:
    """Before any page is served, put due draft revisions in place, so scheduled
    changes need no cron job or worker. No query while none is due (the next due
    time is cached, articles.workflow), and never an error: a revision that fails
    goes back to review, and a failure to check is logged and retried later."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from .workflow import apply_due_revisions_when_due

        try:
            apply_due_revisions_when_due()
        except Exception:
            # Publishing problems are the editors' to fix; they must not cost the page.
            logger.exception("Checking for due revisions failed")
        return self.get_response(request)


def is_database_busy(error) -> bool:
    """A lock that outlasted the wait: SQLite's "database is locked" after its busy
    timeout, or PostgreSQL's lock timeout. Trying again later succeeds."""
    if not isinstance(error, OperationalError):
        return False
    message = str(error).lower()
    return "locked" in message or "lock timeout" in message


def busy_response(request):
    """503 with Retry-After: the page says to try again in a few seconds."""
    try:
        response = render(request, "503.html", status=503)
    except Exception:
        # An error page must not fail in its turn (it is rendered from handler500).
        response = HttpResponse(
            "The service is busy. Try again in a few seconds.",
            status=503,
            content_type="text/plain; charset=utf-8",
        )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    add_never_cache_headers(response)
    return response


class DatabaseBusyMiddleware:
    """A database that stays locked past its timeout (SQLite under a long write)
    answers 503 with Retry-After, never a 500.

    This catches what views raise; what another middleware raises never reaches
    here as an exception (Django turns it into a response inside that middleware),
    so server_error() (handler500) covers that case.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if is_database_busy(exception):
            logger.warning("Database busy on %s: %s", request.path, exception)
            return busy_response(request)
        return None


def server_error(request, template_name=defaults.ERROR_500_TEMPLATE_NAME):
    """handler500: a locked database raised outside a view still answers 503;
    anything else gets the 500 page."""
    if is_database_busy(sys.exc_info()[1]):
        return busy_response(request)
    return defaults.server_error(request, template_name)
