"""Security plumbing that django-csp and Django's SecurityMiddleware leave to us:
two more response headers, the pages shown when sign-in is paused (django-axes)
or a form fails its CSRF check, and the real client address on every log line."""

import logging
import math

from django.conf import settings
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers

from .clientip import client_ip


class SecurityHeadersMiddleware:
    """Permissions-Policy (deny the features no page uses) and
    Cross-Origin-Resource-Policy: same-origin, on every response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        denied = settings.PERMISSIONS_POLICY_DENIED_FEATURES
        response.headers.setdefault("Permissions-Policy", ", ".join(f"{f}=()" for f in denied))
        response.headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        return response


def lockout_response(request, original_response, credentials):
    """django-axes' AXES_LOCKOUT_CALLABLE: 429 with the admin's look, a plain message
    and Retry-After, instead of the refused sign-in form."""
    # Imported here: LOGGING loads this module (ClientAddressFilter) before the apps
    # these need are ready.
    from axes.helpers import get_cool_off
    from django.contrib import admin

    cool_off_seconds = int(get_cool_off(request).total_seconds())
    context = {
        **admin.site.each_context(request),
        "title": "Sign-in paused",
        "cool_off_minutes": math.ceil(cool_off_seconds / 60),
    }
    response = render(request, "admin/locked_out.html", context, status=429)
    response["Retry-After"] = str(cool_off_seconds)
    add_never_cache_headers(response)
    return response


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: our 403 page with a plain explanation, instead of Django's
    built-in page, whose inline <style> the Content-Security-Policy would block."""
    return render(request, "403.html", {"csrf_failed": True}, status=403)


class ClientAddressFilter(logging.Filter):
    """Gives every log record a `client` field: the real client of the request it is
    about (Django attaches the request to django.request and django.security records),
    read through our trusted proxies; "-" when there is no request."""

    def filter(self, record):
        request = getattr(record, "request", None)
        record.client = client_ip(request) if hasattr(request, "META") else "-"
        return True
