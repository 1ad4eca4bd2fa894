"""Two nodes behind Varnish behave as one site (deploy/cluster.sh, deploy/varnish/).

Plain HTTP to 127.0.0.1: Varnish on the cluster's public port, each gunicorn node
on its own. The nodes share PostgreSQL (content, sessions, axes, feedback votes) and
Redis (caches and limits), and purge Varnish by surrogate key after a change
commits: the application tags each public page with an `xkey` header and sends
`PURGE` with `xkey-purge` (articles/surrogate.py, articles/purge.py).
"""

import http.client
import json
import random
import re
import secrets
import time
from dataclasses import dataclass
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from urllib.parse import urlencode

import pytest

pytestmark = pytest.mark.cluster

HOST = "127.0.0.1"
STAFF_USERNAME = "cluster-check"
# How long a purge may take to reach Varnish after the save's response: the
# application sends it from a background thread once the transaction commits.
PURGE_WAIT_SECONDS = 5
# deploy/cluster.sh's FRONT_CACHE_REPURGE_DELAY: every purge is sent again this long after.
REPURGE_DELAY_SECONDS = 2
YEAR = 365 * 24 * 60 * 60


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    text: str

    @property
    def cache(self) -> str | None:
        return self.headers.get("X-Cache")


def fetch(port, path, method="GET", headers=None, body=None, source=None) -> Response:
    """One request on a new connection, redirects not followed."""
    connection = http.client.HTTPConnection(
        HOST, port, timeout=30, source_address=(source, 0) if source else None
    )
    try:
        connection.request(method, path, body=body, headers=headers or {})
        answer = connection.getresponse()
        return Response(answer.status, answer.headers, answer.read().decode("utf-8", "replace"))
    finally:
        connection.close()


def xkeys(response: Response) -> set[str]:
    return set(re.split(r"[\s,]+", response.headers.get("xkey", "").strip())) - {""}


# The admin, as an editor's browser uses it: cookies, the CSRF token, form fields.


class FormFields(HTMLParser):
    """The fields a browser would submit from the form with id `form_id`."""

    def __init__(self, form_id):
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.inside = False
        self.fields: list[tuple[str, str]] = []
        self._textarea = None
        self._select = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.inside = attrs.get("id") == self.form_id
            return
        if not self.inside or "disabled" in attrs:
            return
        name = attrs.get("name")
        if tag == "input" and name:
            kind = attrs.get("type", "text").lower()
            if kind in {"submit", "button", "image", "reset", "file"}:
                return
            if kind in {"checkbox", "radio"}:
                if "checked" in attrs:
                    self.fields.append((name, attrs.get("value") or "on"))
                return
            self.fields.append((name, attrs.get("value") or ""))
        elif tag == "textarea" and name:
            self._textarea = [name, ""]
        elif tag == "select" and name:
            self._select = {"name": name, "multiple": "multiple" in attrs, "chosen": []}
            self._select["first"] = None
        elif tag == "option" and self._select is not None:
            value = attrs.get("value", "")
            if self._select["first"] is None:
                self._select["first"] = value
            if "selected" in attrs:
                self._select["chosen"].append(value)

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "textarea" and self._textarea is not None:
            name, text = self._textarea
            # A browser drops the newline right after <textarea>.
            self.fields.append((name, text[1:] if text.startswith("\n") else text))
            self._textarea = None
        elif tag == "select" and self._select is not None:
            select = self._select
            chosen = select["chosen"]
            if not chosen and not select["multiple"] and select["first"] is not None:
                chosen = [select["first"]]
            self.fields.extend((select["name"], value) for value in chosen)
            self._select = None


def form_fields(markup: str, form_id: str) -> list[tuple[str, str]]:
    parser = FormFields(form_id)
    parser.feed(markup)
    parser.close()
    return parser.fields


class Browser:
    """Cookies kept across requests, to whichever node they go."""

    def __init__(self):
        self.cookies: dict[str, str] = {}

    def request(self, port, path, method="GET", data=None) -> Response:
        headers = {}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if data is not None:
            body = urlencode(data)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        response = fetch(port, path, method, headers, body)
        for line in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(line).items():
                self.cookies[name] = morsel.value
        return response

    def csrf_token(self, markup: str) -> str:
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', markup)
        assert match, "no CSRF token in the form"
        return match.group(1)


@pytest.fixture(scope="session")
def staff(cluster):
    """A superuser of the cluster's database, signed in once through node A (axes
    counts failed sign-ins: one attempt, with a fresh password)."""
    password = secrets.token_urlsafe(24)
    cluster.manage_json(
        "import json, os\n"
        "from axes.utils import reset\n"
        "from django.contrib.auth import get_user_model\n"
        "user, _ = get_user_model().objects.get_or_create(username=os.environ['CHECK_USER'])\n"
        "user.is_active = user.is_staff = user.is_superuser = True\n"
        "user.set_password(os.environ['CHECK_PASSWORD'])\n"
        "user.save()\n"
        "reset(username=user.username)\n"
        "print(json.dumps(user.pk))",
        extra_env={"CHECK_USER": STAFF_USERNAME, "CHECK_PASSWORD": password},
    )
    browser = Browser()
    form = browser.request(cluster.node_a, "/admin/login/?next=/admin/")
    assert form.status == 200
    signed_in = browser.request(
        cluster.node_a,
        "/admin/login/?next=/admin/",
        "POST",
        [
            ("csrfmiddlewaretoken", browser.csrf_token(form.text)),
            ("username", STAFF_USERNAME),
            ("password", password),
            ("next", "/admin/"),
        ],
    )
    assert signed_in.status == 302, f"sign-in refused ({signed_in.status})"
    assert "sessionid" in browser.cookies
    return browser


def change_summary(cluster, browser, port, guide, summary) -> None:
    """Save a guide's summary through the admin of the node on `port`, as a minor
    change (its translations are not marked outdated)."""
    path = f"/admin/articles/article/{guide['pk']}/change/"
    page = browser.request(port, path)
    assert page.status == 200, f"change form: {page.status}"
    fields = [
        (name, value)
        for name, value in form_fields(page.text, "article_form")
        if name not in {"summary", "major_change"}
    ]
    fields.append(("summary", summary))
    saved = browser.request(port, path, "POST", fields)
    errors = re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', saved.text, re.S)
    assert saved.status == 302, f"admin save refused ({saved.status}): {errors}"


def fetch_until(port, path, want, seconds=PURGE_WAIT_SECONDS) -> tuple[Response, float]:
    """Request `path` until want(response) or the time is up; the last response and
    how long it took."""
    started = time.monotonic()
    while True:
        response = fetch(port, path)
        waited = time.monotonic() - started
        if want(response) or waited > seconds:
            return response, waited
        time.sleep(0.1)


def warm(port, path) -> Response:
    """Request `path` through Varnish until it is a HIT (at most a few times)."""
    for _attempt in range(3):
        response = fetch(port, path)
        if response.cache == "HIT":
            return response
    raise AssertionError(f"{path} never became a Varnish HIT: {response.headers}")


# The guides the tests use, chosen from the cluster's demo content.


@dataclass
class Guides:
    changed_in_admin: dict  # (a) saved through node A; also voted on in (d)
    purged: dict  # (b) MISS, HIT, then changed through node B
    unrelated: dict  # (c) shows nothing of `purged`: must stay cached


@pytest.fixture(scope="session")
def guides(cluster) -> Guides:
    listed = cluster.manage_json(
        "import json\n"
        "from articles.models import Article, Citation\n"
        "rows = []\n"
        "for a in Article.objects.published().filter(language='en').order_by('pk'):\n"
        "    laws = Citation.objects.filter(article=a).values_list(\n"
        "        'provision__law_id', flat=True)\n"
        "    rows.append({'pk': a.pk, 'url': a.get_absolute_url(), 'slug': a.slug,\n"
        "        'keys': [f'g{a.pk}', f'c{a.category_id}']\n"
        "        + [f't{t.pk}' for t in a.tags.all()] + [f'l{pk}' for pk in laws]})\n"
        "print(json.dumps(rows))"
    )
    # The keys each guide's page carries, asked of a node (Varnish keeps them to itself).
    for guide in listed:
        guide["page_keys"] = xkeys(fetch(cluster.node_a, guide["url"]))
    # The guide whose change touches the fewest other pages, and one that shows none
    # of what that change purges.
    by_reach = sorted(
        listed, key=lambda g: sum(bool(set(g["keys"]) & other["page_keys"]) for other in listed)
    )
    for purged in by_reach:
        for unrelated in listed:
            if unrelated is not purged and not set(purged["keys"]) & unrelated["page_keys"]:
                others = [g for g in listed if g is not purged and g is not unrelated]
                return Guides(others[0], purged, unrelated)
    pytest.fail("No two demo guides whose pages share no surrogate key", pytrace=False)


# The tests.


def test_varnish_protocol(cluster):
    """The VCL alone: what is passed, what is cached, who may purge."""
    varnish = cluster.varnish
    # "/" answers each visitor's language: never stored.
    assert [fetch(varnish, "/").cache for _ in range(2)] == ["MISS", "MISS"]
    for _ in range(2):
        login = fetch(varnish, "/admin/login/")
        assert login.cache == "MISS"
        assert "csrftoken" in (login.headers.get("Set-Cookie") or "")
    # Public pages ignore cookies: a visitor with Django's cookies still gets the cache.
    cookies = {"Cookie": "sessionid=abc; csrftoken=def; django_language=en"}
    fetch(varnish, "/en/laws/", headers=cookies)
    cached = fetch(varnish, "/en/laws/", headers=cookies)
    assert cached.cache == "HIT"
    assert "xkey" not in cached.headers
    # Personal answers are never stored.
    assert [fetch(varnish, "/en/search/?q=card").cache for _ in range(2)] == ["MISS", "MISS"]
    # Purging: loopback only, with keys, and PURGE is the only extra method.
    nothing = fetch(varnish, "/", "PURGE", {"xkey-purge": "no-such-key"})
    assert (nothing.status, nothing.headers.get("X-Purged")) == (200, "0")
    assert fetch(varnish, "/", "PURGE").status == 400
    assert fetch(varnish, "/", "PURGE", {"xkey-purge": "g1"}, source="127.0.0.2").status == 403
    assert fetch(varnish, "/", "BAN").status == 405


def test_fingerprinted_static_files_are_cached_for_a_year(cluster):
    home = fetch(cluster.varnish, "/en/")
    stylesheet = re.search(r'href="(/static/[^"]+\.[0-9a-f]{12}\.css)"', home.text)
    assert stylesheet, "no fingerprinted stylesheet on the home page"
    first = fetch(cluster.varnish, stylesheet.group(1))
    control = first.headers.get("Cache-Control", "")
    max_age = re.search(r"max-age=(\d+)", control)
    assert max_age and int(max_age.group(1)) >= YEAR and "immutable" in control, control
    assert fetch(cluster.varnish, stylesheet.group(1)).cache == "HIT"


def test_public_pages_carry_surrogate_keys(cluster, guides):
    """The application's side of the protocol (articles/surrogate.py)."""
    page = fetch(cluster.node_a, guides.purged["url"])
    assert f"g{guides.purged['pk']}" in xkeys(page)
    assert "s-maxage" in page.headers.get("Cache-Control", "")


def test_admin_save_through_one_node_is_visible_everywhere_at_once(cluster, staff, guides):
    guide = guides.changed_in_admin
    warm(cluster.varnish, guide["url"])
    summary = f"Checked on the cluster {secrets.token_hex(6)}"
    change_summary(cluster, staff, cluster.node_a, guide, summary)

    assert summary in fetch(cluster.node_b, guide["url"]).text, "node B shows the old guide"
    assert summary in fetch(cluster.node_a, guide["url"]).text, "node A shows the old guide"
    through_varnish, waited = fetch_until(
        cluster.varnish, guide["url"], lambda response: summary in response.text
    )
    assert summary in through_varnish.text, (
        f"Varnish still serves the old guide {PURGE_WAIT_SECONDS}s after the save (no purge?)"
    )
    assert through_varnish.cache == "MISS"


@pytest.fixture(scope="session")
def change_through_node_b(cluster, staff, guides):
    """(b) and (c): a guide fetched twice through Varnish, an unrelated one cached,
    then the first guide changed through node B's admin (the session began on
    node A: sessions are in the shared database)."""
    purged, unrelated = guides.purged, guides.unrelated
    # Earlier tests' saves are purged a second time: let those go out first, so only
    # this change can evict what is checked below.
    time.sleep(REPURGE_DELAY_SECONDS + 1)
    before = [fetch(cluster.varnish, purged["url"]).cache for _ in range(2)]
    warm(cluster.varnish, unrelated["url"])
    summary = f"Changed through node B {secrets.token_hex(6)}"
    change_summary(cluster, staff, cluster.node_b, purged, summary)
    after, waited = fetch_until(
        cluster.varnish, purged["url"], lambda response: response.cache == "MISS"
    )
    return {
        "before": before,
        "after": after,
        "waited": waited,
        "summary": summary,
        "again": fetch(cluster.varnish, purged["url"]),
        "unrelated": fetch(cluster.varnish, unrelated["url"]),
    }


def test_a_guide_is_a_miss_then_a_hit_then_a_miss_after_it_changes(change_through_node_b):
    change = change_through_node_b
    assert change["before"] == ["MISS", "HIT"]
    assert change["after"].cache == "MISS", (
        f"still a Varnish HIT {PURGE_WAIT_SECONDS}s after the save: no purge arrived"
    )
    assert change["summary"] in change["after"].text
    assert change["again"].cache == "HIT"
    assert change["summary"] in change["again"].text


def test_an_unrelated_guide_stays_cached_after_a_change(change_through_node_b):
    assert change_through_node_b["unrelated"].cache == "HIT"


def test_a_vote_through_both_nodes_counts_once(cluster, guides):
    """The same client (as Varnish reports it in X-Forwarded-For) votes through node A,
    then through node B: the second is refused, and the guide has one vote more."""
    guide = guides.changed_in_admin
    client = f"198.18.{random.randrange(256)}.{random.randrange(1, 255)}"
    count = (
        "import json\n"
        "from articles.models import GuideFeedback\n"
        f"row = GuideFeedback.objects.filter(article_id={guide['pk']})\n"
        "print(json.dumps(list(row.values_list('helpful', 'not_helpful').first() or [0, 0])))"
    )
    before = cluster.manage_json(count)
    headers = {
        "Origin": cluster.site_origin,
        "X-Forwarded-For": client,
        "Accept": "application/json",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    path = f"/en/feedback/{guide['slug']}/"
    first = fetch(cluster.node_a, path, "POST", headers, "helpful=yes")
    second = fetch(cluster.node_b, path, "POST", headers, "helpful=yes")
    assert first.status == 200, first.text
    assert json.loads(first.text).get("thanks") is True
    assert second.status == 429, second.text
    assert "already" in json.loads(second.text).get("error", "")
    after = cluster.manage_json(count)
    assert after == [before[0] + 1, before[1]]
