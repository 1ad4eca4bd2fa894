"""Helpers shared by the test modules: the demo content, strict HTML checks, admin
form data, feedback requests, and walking the site. Model factories live in
tests/factories.py, fixtures in tests/conftest.py; test modules import from here,
never from one another."""

import contextlib
import ipaddress
import itertools
import random
import re
import shutil
import socket
import subprocess
import time
import xml.etree.ElementTree as ET
from http import HTTPStatus
from urllib.parse import parse_qs, quote, urljoin, urlsplit

import html5lib
import pytest
from django.core.management import call_command

from articles.models import Article, GuideFeedback

# The demo content (fixtures/demo.json).

SEED_SLUG = "how-to-activate-alipay-medical-insurance-card"
SEED_TITLE = "How to activate Alipay medical insurance card"
SEED_URL = f"/en/social-security-inquiry/{SEED_SLUG}/"
# The seed guide's Chinese version (fixtures/demo-zh-hans.json), percent-encoded as in links.
SEED_ZH_SLUG = "支付宝医保卡激活"
SEED_ZH_TITLE = "支付宝医保卡怎么激活"
SEED_ZH_URL = "/zh-hans/social-security-inquiry/" + quote(SEED_ZH_SLUG) + "/"


def load_demo() -> Article:
    """Load fixtures/demo.json as `make run` does; returns the seed guide."""
    call_command("load_demo_content", verbosity=0)
    return Article.objects.get(slug=SEED_SLUG)


# Strict HTML5 checks used by the page tests: parse errors, one h1, heading order,
# valid datetime attributes. tests/test_nu_validator.py runs the W3C checker itself.

HEADING = re.compile(r"<h([1-6])\b", re.I)
DATETIME_ATTRIBUTE = re.compile(r'\bdatetime="([^"]*)"')
# What the site writes: a date, or a global date and time with at most three digits
# of fractional seconds, then Z or an offset (HTML Living Standard, "Dates and times").
DATE_OR_GLOBAL_DATETIME = re.compile(
    r"\d{4,}-\d{2}-\d{2}"
    r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:?\d{2}))?"
)


def assert_valid_html(markup: str) -> None:
    """Parse as the HTML5 spec says and fail on any parse error."""
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    try:
        parser.parse(markup)
    except html5lib.html5parser.ParseError as error:
        line = markup.splitlines()[parser.errors[-1][0][0] - 1] if parser.errors else ""
        raise AssertionError(f"HTML parse error: {error}\n{line}") from error


def assert_headings_well_ordered(markup: str) -> None:
    levels = [int(level) for level in HEADING.findall(markup)]
    assert levels.count(1) == 1, f"expected exactly one <h1>, found {levels.count(1)}"
    assert levels[0] == 1, f"the first heading is <h{levels[0]}>"
    for before, after in zip(levels, levels[1:], strict=False):
        assert after <= before + 1, f"heading order skips from <h{before}> to <h{after}>"


def assert_valid_datetimes(markup: str) -> None:
    for value in DATETIME_ATTRIBUTE.findall(markup):
        assert DATE_OR_GLOBAL_DATETIME.fullmatch(value), f"invalid datetime attribute: {value!r}"


def assert_good_page(markup: str) -> None:
    assert markup.lstrip().lower().startswith("<!doctype html>")
    assert re.search(r'<html lang="(en|zh-Hans)">', markup)
    assert_valid_html(markup)
    assert_headings_well_ordered(markup)
    assert_valid_datetimes(markup)


# Admin forms as a browser posts them back.


def inline_data(prefix, rows, initial=0) -> dict[str, str]:
    """The management form and rows of an admin inline formset."""
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(rows):
        data.update({f"{prefix}-{index}-{key}": value for key, value in row.items()})
    return data


def change_form(article, refresh=True, **overrides) -> dict[str, str]:
    """The admin change form of `article` as a browser would post it back."""
    if refresh:
        article.refresh_from_db()
    sections = [
        {
            "id": str(s.pk),
            "article": str(article.pk),
            "position": str(s.position),
            "kind": s.kind,
            "heading": s.heading,
            "body": s.body,
        }
        for s in article.sections.all()
    ]
    data = {
        "title": article.title,
        "slug": article.slug,
        "category": str(article.category_id),
        "summary": article.summary,
        "tags": ", ".join(article.tags.names()) if article.pk else "",
        "status": article.status,
        "published_at_0": "",
        "published_at_1": "",
        "previous_article": "",
        "next_article": "",
        "owner": "",
        "review_by": "",
        "edited_version": article.updated_at.isoformat() if article.updated_at else "",
    }
    if article.published_at:
        data["published_at_0"] = article.published_at.strftime("%Y-%m-%d")
        data["published_at_1"] = article.published_at.strftime("%H:%M:%S")
    data |= inline_data("sections", sections, initial=len(sections))
    data |= inline_data("citations", []) | inline_data("related_links", [])
    data.update(overrides)
    return data


# "Was this page helpful?" requests.

SAME_SITE = {"Origin": "http://testserver"}
JSON = {**SAME_SITE, "Accept": "application/json"}

# Every test votes from addresses of its own, so no result depends on the hourly
# counters an earlier test (or a transactional test's leftover rows) left behind.
_unused_addresses = itertools.count(random.randrange(2**24))


def new_address() -> str:
    """An IPv4 address in 10.0.0.0/8 that no earlier test of this run has used."""
    return str(ipaddress.IPv4Address(0x0A000000 + next(_unused_addresses) % 2**24))


def vote(client, article, answer, headers=SAME_SITE, address=None):
    return client.post(
        f"/en/feedback/{article.slug}/",
        {"helpful": answer},
        headers=headers,
        REMOTE_ADDR=address or new_address(),
    )


def send_comment(client, article, text, headers=SAME_SITE, address=None):
    return client.post(
        f"/en/feedback/{article.slug}/comment/",
        {"comment": text},
        headers=headers,
        REMOTE_ADDR=address or new_address(),
    )


def counts(article) -> tuple[int, int]:
    """(helpful, not helpful) votes counted for `article`."""
    feedback = GuideFeedback.objects.get(article=article)
    return feedback.helpful, feedback.not_helpful


# Walking the site as a crawler does.

SITEMAP_NS = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9"}
LINK = re.compile(r'<a [^>]*href="([^"#]*)')
CRAWL_SKIPS = re.compile(r"/(admin|static)/|/[-a-z]+/(feeds|search)/")
# The language switcher's links set a cookie and redirect to ?next=: crawl where they lead.
SWITCHER = "/language/"


def sitemap_urls(client) -> list[str]:
    """Every URL of every sitemap the sitemap index lists."""
    index = ET.fromstring(client.get("/sitemap.xml").content)
    urls = []
    for loc in index.findall("sm:sitemap/sm:loc", SITEMAP_NS):
        section = client.get(loc.text.removeprefix("http://testserver"))
        assert section.status_code == HTTPStatus.OK
        found = ET.fromstring(section.content).findall("sm:url/sm:loc", SITEMAP_NS)
        urls += [url.text for url in found]
    return urls


def crawl(client, start="/en/") -> dict[str, int]:
    """Every internal page reachable from `start`, with its status."""
    seen, queue, found = set(), [start], {}
    while queue and len(seen) < 500:
        path = queue.pop()
        if path in seen:
            continue
        seen.add(path)
        response = client.get(path)
        found[path] = response.status_code
        if response.status_code != HTTPStatus.OK or "text/html" not in response["Content-Type"]:
            continue
        for href in LINK.findall(response.content.decode()):
            target = urlsplit(urljoin("http://testserver" + path, href.replace("&amp;", "&")))
            if target.path.startswith(SWITCHER):
                target = urlsplit(parse_qs(target.query)["next"][0])
            if target.netloc not in {"", "testserver"} or CRAWL_SKIPS.match(target.path):
                continue
            queue.append(target.path + (f"?{target.query}" if target.query else ""))
    return found


# Servers of our own started by a test (gunicorn, Varnish), on a loopback port.

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def answers(port: int) -> bool:
    try:
        with socket.create_connection((LOOPBACK, port), timeout=1):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def serving(command: list[str], port: int, *, seconds: int = 120, **popen):
    """Runs `command` (which listens on `port`) under `timeout seconds`, until it
    answers or fails (the test fails with its output); stops it afterwards."""
    server = subprocess.Popen(  # noqa: S603 (a test's own command line)
        [shutil.which("timeout"), str(seconds), *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **popen,
    )
    try:
        deadline = time.monotonic() + 30
        while not answers(port):
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"{command[0]} did not start:\n{server.communicate()[0]}")
            time.sleep(0.2)
        yield server
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
