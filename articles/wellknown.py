"""/.well-known/security.txt (RFC 9116): where to report a vulnerability."""

from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.http import Http404, HttpResponse
from django.views.decorators.http import require_safe

# RFC 9116 wants Expires less than a year ahead; without a fixed date the file is
# always this far from expiring.
DEFAULT_VALIDITY = timedelta(days=180)


@require_safe
def security_txt(request):
    if not settings.SECURITY_CONTACT:
        # Publishing no contact is better than publishing a made-up one.
        raise Http404("SECURITY_CONTACT is not set")
    expires = settings.SECURITY_TXT_EXPIRES
    if expires is None:
        # Whole days, so every request of the day answers the same file.
        today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        expires = today + DEFAULT_VALIDITY
    lines = [
        f"Contact: {settings.SECURITY_CONTACT}",
        f"Expires: {expires.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}",
        "Preferred-Languages: en, zh",
        f"Canonical: {settings.SITE_URL}/.well-known/security.txt",
    ]
    response = HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")
    response["Cache-Control"] = "public, max-age=86400"
    return response
