"""The one public endpoint of insights: which search result a citizen opened."""

from http import HTTPStatus

from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from articles.caching import private_page
from articles.feedback import is_same_origin

from . import searches


def _from_another_site(request) -> bool:
    """True when the browser says the request comes from another site's page.

    Pings and beacons name their origin in Origin (and Sec-Fetch-Site) but send no
    Referer, and an older browser may send neither: silence is let through, since
    the signed address already limits a request to one record of the sender's own
    search. Anything the browser does say must be this site."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site != "same-origin":
        return True
    if "Origin" in request.headers or "Referer" in request.headers:
        return not is_same_origin(request)
    return False


def _whole_number(value, highest: int) -> int | None:
    if not value or not value.isascii() or not value.isdigit() or len(value) > 12:
        return None
    number = int(value)
    return number if 1 <= number <= highest else None


@csrf_exempt  # a ping or beacon carries no token: the origin check and signed address do
@private_page
@require_POST
def search_opened(request, token):
    """POST /search-opened/<token>/?position=N&guide=ID from a result link's `ping`
    or static/js/search-opened.js: 204 whether or not this open counted (only the
    first open of a record from today or yesterday does, insights.searches
    .mark_opened); 403 from another site's page, 404 for a forged token, 400 for a
    missing or malformed position or guide."""
    if _from_another_site(request):
        return HttpResponse(status=HTTPStatus.FORBIDDEN)
    record_id = searches.record_id_from_token(token)
    if record_id is None:
        return HttpResponse(status=HTTPStatus.NOT_FOUND)
    position = _whole_number(request.GET.get("position"), searches.MAX_POSITION)
    guide = _whole_number(request.GET.get("guide"), 2**63 - 1)
    if position is None or guide is None:
        return HttpResponse(status=HTTPStatus.BAD_REQUEST)
    searches.mark_opened(record_id, position, guide)
    return HttpResponse(status=HTTPStatus.NO_CONTENT)
