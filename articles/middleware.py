"""Stable addresses: old and variant URLs lead to the current page, never a dead end."""

from django.contrib.redirects.middleware import RedirectFallbackMiddleware
from django.http import HttpResponsePermanentRedirect
from django.shortcuts import render
from django.urls import Resolver404, resolve


class GuideRedirectMiddleware(RedirectFallbackMiddleware):
    """django.contrib.redirects on a 404: 301 to where a guide moved, 410 with a
    readable page where it was removed. Rows are written by articles.redirects
    when editors change slugs or categories or delete guides, or by hand in the admin."""

    def process_response(self, request, response):
        response = super().process_response(request, response)
        if response.status_code == 410:
            return render(request, "410.html", status=410)
        return response


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
    """Before any page is served, put due draft revisions in place (one cheap query
    when none is due), so scheduled changes need no cron job or worker."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from .workflow import apply_due_revisions, due_revisions

        if due_revisions().exists():
            apply_due_revisions()
        return self.get_response(request)


class DatabaseBusyMiddleware:
    """A database that stays locked past its timeout (SQLite under a long write)
    answers 503 with Retry-After, a page that says to try again, never a 500."""

    RETRY_AFTER_SECONDS = 5

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        from django.db import OperationalError

        message = str(exception).lower()
        if isinstance(exception, OperationalError) and ("locked" in message or "busy" in message):
            response = render(request, "503.html", status=503)
            response["Retry-After"] = str(self.RETRY_AFTER_SECONDS)
            return response
        return None
