"""Link checks (insights.links): internal links answered by our own site in-process,
external ones fetched from a local HTTP server on 127.0.0.1, the check_links
command, the guides' "Check links" action and the admin's link report."""

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from articles.models import Law, Section
from insights import links
from insights.admin_links import MAX_GUIDES_PER_ACTION
from insights.models import LinkCheck
from tests.factories import make_article, make_category, make_draft, make_law, make_section

pytestmark = pytest.mark.django_db

Status = LinkCheck.Status
SITE = "http://testserver"
REPORT = "/admin/insights/linkcheck/"
GUIDES = "/admin/articles/article/"


# A local web server standing in for other sites.


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, *args):
        pass

    def do_HEAD(self):
        self._serve()

    def do_GET(self):
        self._serve()

    def _serve(self):
        server = self.server
        with server.lock:
            server.requests.append((self.command, self.path, self.headers.get("User-Agent", "")))
            server.in_flight += 1
            server.peak = max(server.peak, server.in_flight)
        try:
            status, headers = self._route(urlsplit(self.path).path)
        finally:
            # Before answering: once it has the answer, the checker may start its next
            # request while this thread has not yet run again.
            with server.lock:
                server.in_flight -= 1
        try:
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()
        except OSError:
            pass  # the checker gave up on this request (timeouts, deadline)

    def _route(self, path):
        if path == "/ok":
            return 200, []
        if path == "/moved":
            return 301, [("Location", "/ok")]
        if path == "/moved-away":
            return 302, [("Location", "/missing")]
        if path == "/loop":
            return 302, [("Location", "/loop")]
        if path == "/missing":
            return 404, []
        if path == "/error":
            return 500, []
        if path == "/no-head":
            return (405, [("Allow", "GET")]) if self.command == "HEAD" else (200, [])
        if path.startswith("/slow"):
            self.server.release.wait(5)
            return 200, []
        if path.startswith("/busy/"):
            time.sleep(0.3)
            return 200, []
        return 404, []


class LinkServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.release = threading.Event()
        self.reset()

    def reset(self):
        with self.lock:
            self.requests, self.in_flight, self.peak = [], 0, 0

    def handle_error(self, request, client_address):
        pass

    def url(self, path):
        return f"http://127.0.0.1:{self.server_port}{path}"

    def paths(self, method=None):
        return [path for verb, path, _agent in self.requests if method in (None, verb)]


@pytest.fixture(scope="module")
def server():
    httpd = LinkServer()
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.release.set()
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def link_settings(settings, server):
    server.reset()
    settings.LINK_CHECK_EXTERNAL = True
    # Tests fetch from 127.0.0.1 only; production refuses private addresses.
    settings.LINK_CHECK_ALLOW_PRIVATE = True
    settings.LINK_CHECK_TIMEOUT = 5
    settings.LINK_CHECK_CONCURRENCY = 4
    settings.LINK_CHECK_DEADLINE = 30
    settings.LINK_CHECK_ACTION_DEADLINE = 20
    return settings


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def guide_with(*hrefs, make=make_article, **fields):
    guide = make(**fields)
    body = "\n".join(f"- [link {n}]({href})" for n, href in enumerate(hrefs, start=1))
    make_section(guide, kind=Section.Kind.TEXT, body=body)
    return guide


def check(*guides, laws=(), **kwargs):
    from articles.models import Article

    return links.check_links(
        Article.objects.filter(pk__in=[g.pk for g in guides]),
        Law.objects.filter(pk__in=[law.pk for law in laws]),
        **kwargs,
    )


def results(source) -> dict[str, LinkCheck]:
    field = "law" if isinstance(source, Law) else "article"
    return {row.url: row for row in LinkCheck.objects.filter(**{field: source})}


# Finding links.


def test_links_are_read_from_the_rendered_sections():
    guide = make_article()
    make_section(
        guide,
        kind=Section.Kind.TEXT,
        body=(
            "See [the form](https://example.org/form#top), <https://example.org/auto>, "
            "[mail](mailto:help@example.org), [call](tel:+861234), [here](#steps) "
            "and [again](https://example.org/form#top).\n\n"
            "A bare https://example.org/not-a-link is plain text on the page too."
        ),
    )
    found = links.links_of_article(guide)
    assert [(link.url, link.address, link.internal) for link in found] == [
        ("https://example.org/form#top", "https://example.org/form", False),
        ("https://example.org/auto", "https://example.org/auto", False),
    ]


def test_relative_and_own_host_links_are_internal():
    base = SITE + "/en/topic/guide/"
    assert links.classify("/en/other/", base) == (SITE + "/en/other/", True)
    assert links.classify("../sibling/", base) == (SITE + "/en/topic/sibling/", True)
    assert links.classify("https://testserver/en/", base) == ("https://testserver/en/", True)
    assert links.classify("http://testserver:8080/en/", base)[1] is False
    assert links.classify("http://127.0.0.1/en/", base)[1] is False
    assert links.classify("mailto:a@example.org", base) is None


# External links.


def test_external_answers(server):
    guide = guide_with(
        server.url("/ok"),
        server.url("/moved"),
        server.url("/moved-away"),
        server.url("/missing"),
        server.url("/error"),
        server.url("/no-head"),
        server.url("/loop"),
        "mailto:help@example.org",
    )
    report = check(guide)
    rows = results(guide)
    assert set(rows) == {
        server.url(p)
        for p in ["/ok", "/moved", "/moved-away", "/missing", "/error", "/no-head", "/loop"]
    }
    ok = rows[server.url("/ok")]
    assert (ok.status, ok.http_status, ok.internal, ok.final_url) == (Status.OK, 200, False, "")
    moved = rows[server.url("/moved")]
    assert (moved.status, moved.http_status) == (Status.REDIRECTED, 200)
    assert moved.final_url == server.url("/ok")
    assert "Redirected once" in moved.message
    away = rows[server.url("/moved-away")]
    assert (away.status, away.http_status, away.final_url) == (
        Status.BROKEN,
        404,
        server.url("/missing"),
    )
    assert (rows[server.url("/missing")].status, rows[server.url("/missing")].http_status) == (
        Status.BROKEN,
        404,
    )
    assert rows[server.url("/missing")].message == "The server answered 404."
    assert (rows[server.url("/error")].status, rows[server.url("/error")].http_status) == (
        Status.BROKEN,
        500,
    )
    assert rows[server.url("/no-head")].status == Status.OK
    assert rows[server.url("/loop")].status == Status.BROKEN
    assert "redirects" in rows[server.url("/loop")].message
    # HEAD first; GET only where HEAD was refused.
    assert server.paths("GET") == ["/no-head"]
    assert server.paths("HEAD").count("/no-head") == 1
    # A polite User-Agent naming the site.
    assert {agent for _verb, _path, agent in server.requests} == {
        f"Citizens' Help Centre link checker (+{SITE})"
    }
    assert report.counts == {Status.OK: 2, Status.REDIRECTED: 1, Status.BROKEN: 4}


def test_a_slow_site_times_out(server, settings):
    settings.LINK_CHECK_TIMEOUT = 0.3
    guide = guide_with(server.url("/slow/timeout"), server.url("/ok"))
    started = time.monotonic()
    check(guide)
    assert time.monotonic() - started < 3
    slow = results(guide)[server.url("/slow/timeout")]
    assert (slow.status, slow.http_status) == (Status.TIMED_OUT, None)
    assert slow.message == "No answer within the time limit (0.3 s)."


def test_each_address_is_fetched_once_per_run(server):
    first = guide_with(server.url("/ok"), server.url("/ok#part"), server.url("/moved"))
    second = guide_with(server.url("/ok"))
    check(first, second)
    assert server.paths("HEAD").count("/ok") == 2  # once itself, once after /moved
    assert server.paths("HEAD").count("/moved") == 1
    assert len(results(first)) == 3
    assert results(second)[server.url("/ok")].status == Status.OK


def test_concurrency_is_bounded(server, settings):
    settings.LINK_CHECK_CONCURRENCY = 2
    guide = guide_with(*[server.url(f"/busy/{n}") for n in range(8)])
    check(guide)
    assert {row.status for row in results(guide).values()} == {Status.OK}
    assert len(server.paths()) == 8
    assert server.peak == 2


def test_the_run_keeps_its_deadline(server, settings):
    settings.LINK_CHECK_CONCURRENCY = 2
    settings.LINK_CHECK_TIMEOUT = 10
    guide = guide_with(*[server.url(f"/slow/{n}") for n in range(5)], "/en/nowhere/")
    started = time.monotonic()
    check(guide, deadline_seconds=1)
    assert time.monotonic() - started < 3
    rows = results(guide)
    assert rows["/en/nowhere/"].status == Status.BROKEN  # ours was answered meanwhile
    slow = [row for url, row in rows.items() if "/slow/" in url]
    assert {row.status for row in slow} == {Status.UNCHECKED}
    assert {row.message for row in slow} == {"Not checked: the run's time limit was reached."}
    assert len(server.paths()) == 2  # the others never started


def test_offline_external_links_are_unchecked_not_broken(server, settings):
    guide = guide_with(server.url("/missing"), "/en/nowhere/")
    check(guide, external=False)
    rows = results(guide)
    assert rows[server.url("/missing")].status == Status.UNCHECKED
    assert rows[server.url("/missing")].message == (
        "Not checked: checking other sites is turned off."
    )
    assert rows["/en/nowhere/"].status == Status.BROKEN  # internal: no network needed
    assert server.requests == []

    settings.LINK_CHECK_EXTERNAL = False
    check(guide)
    assert results(guide)[server.url("/missing")].status == Status.UNCHECKED
    assert server.requests == []


def test_no_reachable_host_means_unchecked(server):
    port = closed_port()
    alone = guide_with(f"http://127.0.0.1:{port}/page", f"http://localhost:{port}/other")
    check(alone)
    rows = results(alone)
    assert {row.status for row in rows.values()} == {Status.UNCHECKED}
    assert all(row.message.startswith("Not checked: no other site") for row in rows.values())

    # When another site answers, the network works: the refused one is broken.
    together = guide_with(f"http://127.0.0.1:{port}/page", server.url("/ok"))
    check(together)
    rows = results(together)
    assert rows[f"http://127.0.0.1:{port}/page"].status == Status.BROKEN
    assert rows[server.url("/ok")].status == Status.OK


def test_private_addresses_are_not_fetched_by_default(server, settings):
    settings.LINK_CHECK_ALLOW_PRIVATE = False
    guide = guide_with(server.url("/ok"), f"http://localhost:{server.server_port}/ok")
    check(guide)
    rows = results(guide)
    assert {row.status for row in rows.values()} == {Status.UNCHECKED}
    assert all("private network" in row.message for row in rows.values())
    assert server.requests == []


# Internal links.


def test_internal_links_are_answered_by_our_own_site(server):
    category = make_category(slug="benefits")
    published = make_article(category=category, slug="published-guide")
    draft = make_draft(category=category, slug="draft-guide")
    moving = make_article(category=category, slug="old-slug")
    old_address = moving.get_absolute_url()
    moving.slug = "new-slug"
    moving.save()
    chinese = make_article(category=category, slug="社保卡激活")
    guide = guide_with(
        published.get_absolute_url(),
        SITE + published.get_absolute_url(),
        chinese.get_absolute_url(),  # percent-encoded
        "/en/benefits/社保卡激活/",  # as typed
        draft.get_absolute_url(),
        old_address,
        "/en/no-such-topic/no-such-guide/",
        "/en/laws",  # no trailing slash: redirected to /en/laws/
    )
    check(guide)
    rows = results(guide)
    assert all(row.internal for row in rows.values())
    ok = rows[published.get_absolute_url()]
    assert (ok.status, ok.http_status) == (Status.OK, 200)
    assert rows[SITE + published.get_absolute_url()].status == Status.OK
    assert rows[chinese.get_absolute_url()].status == Status.OK
    assert rows["/en/benefits/社保卡激活/"].status == Status.OK
    assert (rows[draft.get_absolute_url()].status, rows[draft.get_absolute_url()].http_status) == (
        Status.BROKEN,
        404,
    )
    moved = rows[old_address]
    assert (moved.status, moved.http_status) == (Status.REDIRECTED, 200)
    assert moved.final_url == SITE + "/en/benefits/new-slug/"
    assert rows["/en/no-such-topic/no-such-guide/"].status == Status.BROKEN
    assert rows["/en/laws"].status == Status.REDIRECTED
    assert rows["/en/laws"].final_url == SITE + "/en/laws/"
    assert server.requests == []  # no network for our own pages


def test_a_link_to_a_search_is_no_citizens_search():
    from insights.models import SearchRecord

    make_article(title="Pension transfer")
    guide = guide_with("/en/search/?q=pension+transfer")
    check(guide)
    assert results(guide)["/en/search/?q=pension+transfer"].status == Status.OK
    assert not SearchRecord.objects.exists()


def test_checking_leaves_the_language_alone():
    from django.utils import translation

    guide = guide_with("/zh-hans/")
    with translation.override("en"):
        check(guide)
        assert translation.get_language() == "en"
    assert results(guide)["/zh-hans/"].status == Status.OK


def test_law_source_addresses_are_checked(server):
    broken = make_law(source_url=server.url("/missing"))
    working = make_law(source_url=server.url("/ok"))
    without = make_law(source_url="")
    report = check(laws=[broken, working, without])
    assert report.laws == 3
    assert results(broken)[server.url("/missing")].status == Status.BROKEN
    assert results(working)[server.url("/ok")].status == Status.OK
    assert results(without) == {}


def test_latest_results_replace_earlier_ones(server):
    guide = guide_with(server.url("/ok"), server.url("/missing"))
    other = guide_with(server.url("/missing"))
    check(guide, other)
    first = LinkCheck.objects.filter(article=guide).values_list("pk", flat=True)
    first = set(first)
    section = guide.sections.get()
    section.body = f"[only]({server.url('/ok')})"
    section.save()
    check(guide)
    assert set(results(guide)) == {server.url("/ok")}
    assert not first & set(LinkCheck.objects.values_list("pk", flat=True))
    assert set(results(other)) == {server.url("/missing")}  # not checked: kept


# The command.


def run(*args) -> str:
    out = StringIO()
    call_command("check_links", *args, stdout=out)
    return out.getvalue()


def test_command_checks_published_guides_and_laws(server):
    public = guide_with(server.url("/ok"), "/en/nowhere/", title="Public guide")
    draft = guide_with(server.url("/ok"), make=make_draft)
    law = make_law(source_url=server.url("/moved"))
    output = run()
    assert set(results(public)) == {server.url("/ok"), "/en/nowhere/"}
    assert results(draft) == {}
    assert results(law)[server.url("/moved")].status == Status.REDIRECTED
    assert "Checked 3 links (3 addresses) in 1 guide and 1 law." in output
    assert "  Broken: 1" in output
    assert f"Guide {public.pk}: Public guide" in output
    assert "  broken 404  /en/nowhere/" in output
    assert f"  redirected 200  {server.url('/moved')} -> {server.url('/ok')}" in output

    run("--all")
    assert set(results(draft)) == {server.url("/ok")}


def test_command_checks_one_guide_or_law(server):
    draft = guide_with("/en/nowhere/", make=make_draft)
    other = guide_with("/en/nowhere/")
    law = make_law(source_url=server.url("/missing"))
    run("--guide", str(draft.pk))
    assert results(draft)["/en/nowhere/"].status == Status.BROKEN
    assert results(other) == {} and results(law) == {}
    run("--law", str(law.pk))
    assert results(law)[server.url("/missing")].status == Status.BROKEN
    assert results(other) == {}
    with pytest.raises(CommandError, match="Nothing checked: no guide 987654."):
        run("--guide", "987654")


def test_command_offline_and_fail_on_broken(server):
    guide = guide_with(server.url("/missing"))
    run("--offline")
    assert results(guide)[server.url("/missing")].status == Status.UNCHECKED
    assert server.requests == []
    run("--offline", "--fail-on-broken")  # nothing broken: exit 0
    with pytest.raises(CommandError, match="1 broken links"):
        run("--fail-on-broken")
    with pytest.raises(CommandError):
        run("--deadline", "0")


# The guides' action and the one-guide check.


def action(client, guides, name="check_links_of_guides"):
    return client.post(
        GUIDES,
        {"action": name, "_selected_action": [g.pk for g in guides], "index": "0"},
        follow=True,
    )


@pytest.fixture
def staff_without_permission(db):
    """A staff member who may see and edit guides but not check links."""
    user = User.objects.create_user("plainstaff", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="articles", codename__in=["view_article", "change_article"]
        )
    )
    client = Client()
    client.force_login(user)
    return client


def test_editor_checks_guides_from_the_list(editor, server):
    guide = guide_with(server.url("/ok"), "/en/nowhere/")
    assert "check_links_of_guides" in editor.client.get(GUIDES).content.decode()
    response = action(editor.client, [guide])
    assert response.status_code == 200
    assert set(results(guide)) == {server.url("/ok"), "/en/nowhere/"}
    text = response.content.decode()
    assert "2 links checked: 1 working, 0 redirected, 1 broken" in text
    assert f"{REPORT}?article__id__exact={guide.pk}" in text


def test_the_action_is_bounded(editor, server):
    guides = [guide_with(server.url("/ok")) for _ in range(MAX_GUIDES_PER_ACTION + 1)]
    response = action(editor.client, guides)
    assert "Choose at most 10 guides at a time" in response.content.decode()
    assert not LinkCheck.objects.exists()
    assert server.requests == []


def test_the_action_is_not_offered_without_the_permission(staff_without_permission, server):
    guide = guide_with(server.url("/ok"))
    page = staff_without_permission.get(GUIDES)
    assert page.status_code == 200
    assert "check_links_of_guides" not in page.content.decode()
    action(staff_without_permission, [guide])
    assert not LinkCheck.objects.exists()
    assert server.requests == []


def test_one_guide_check(editor, staff_without_permission, server):
    guide = guide_with(server.url("/missing"))
    url = reverse("admin:insights_linkcheck_check_guide", args=[guide.pk])
    assert editor.client.get(url).status_code == 405
    assert staff_without_permission.post(url).status_code == 403
    assert not LinkCheck.objects.exists()
    assert (
        editor.client.post(
            reverse("admin:insights_linkcheck_check_guide", args=[987654])
        ).status_code
        == 404
    )
    response = editor.client.post(url)
    assert response.status_code == 302
    assert response["Location"] == f"{REPORT}?article__id__exact={guide.pk}&show=all"
    assert results(guide)[server.url("/missing")].status == Status.BROKEN
    page = editor.client.get(response["Location"])
    assert server.url("/missing") in page.content.decode()


def test_the_change_form_offers_the_check_to_those_allowed(editor, staff_without_permission):
    guide = guide_with("/en/")
    form = reverse("admin:articles_article_change", args=[guide.pk])
    button = reverse("admin:insights_linkcheck_check_guide", args=[guide.pk])
    assert button in editor.client.get(form).content.decode()
    page = staff_without_permission.get(form)
    assert page.status_code in {200, 403}
    assert button not in page.content.decode()


# The report.


def make_rows(count, article=None, law=None):
    from django.utils import timezone

    article = article or make_article(title="Guide with links")
    law = law or make_law(source_url="https://x.test/")
    rows = []
    for n in range(count):
        rows.append(
            LinkCheck(
                article=article if n % 3 else None,
                law=None if n % 3 else law,
                url=f"https://broken.test/{n}",
                status=Status.BROKEN,
                http_status=404,
                checked_at=timezone.now(),
            )
        )
    rows.append(
        LinkCheck(
            article=article, url="https://fine.test/", status=Status.OK, checked_at=timezone.now()
        )
    )
    rows.append(
        LinkCheck(
            article=article,
            url="/en/old/",
            internal=True,
            status=Status.REDIRECTED,
            final_url="http://testserver/en/new/",
            checked_at=timezone.now(),
        )
    )
    LinkCheck.objects.bulk_create(rows)
    return article, law


def test_report_lists_problems_per_guide(editor):
    article, law = make_rows(3)
    page = editor.client.get(REPORT)
    assert page.status_code == 200
    text = page.content.decode()
    assert "https://broken.test/1" in text
    assert "/en/old/" in text and "http://testserver/en/new/" in text
    assert "https://fine.test/" not in text  # problems only, by default
    assert reverse("admin:articles_article_change", args=[article.pk]) in text
    assert reverse("admin:articles_law_change", args=[law.pk]) in text

    assert "https://fine.test/" in editor.client.get(REPORT + "?show=all").content.decode()
    only_ok = editor.client.get(REPORT + "?status__exact=ok").content.decode()
    assert "https://fine.test/" in only_ok and "https://broken.test/1" not in only_ok
    internal = editor.client.get(REPORT + "?internal__exact=1").content.decode()
    assert "/en/old/" in internal and "https://broken.test/1" not in internal
    laws_only = editor.client.get(REPORT + "?source=law").content.decode()
    assert "https://broken.test/0" in laws_only and "https://broken.test/1" not in laws_only
    searched = editor.client.get(REPORT + "?q=broken.test/2").content.decode()
    assert "https://broken.test/2" in searched and "https://broken.test/1" not in searched
    one = editor.client.get(REPORT + f"?article__id__exact={article.pk}").content.decode()
    assert "https://broken.test/1" in one and "https://broken.test/0" not in one


@pytest.mark.parametrize(
    "query",
    [
        "?show=%3Cscript%3E",
        "?article__id__exact=abc",
        "?article__id__in=1,x",
        "?status__exact=nonsense",
        "?source=elsewhere",
        "?o=99",
        "?q=%00%27",
    ],
)
def test_report_survives_hostile_queries(editor, query):
    make_rows(2)
    assert editor.client.get(REPORT + query).status_code in (200, 302)


def test_report_costs_a_fixed_number_of_queries(editor, django_assert_max_num_queries):
    make_rows(3)
    editor.client.get(REPORT)
    with CaptureQueriesContext(connection) as few:
        assert editor.client.get(REPORT).status_code == 200
    budget = len(few.captured_queries)
    make_rows(40)
    editor.client.get(REPORT)  # new guides: the next due revision is read again once
    with django_assert_max_num_queries(budget):
        page = editor.client.get(REPORT)
    assert page.status_code == 200
    assert page.content.decode().count("https://broken.test/") >= 43


def test_nobody_edits_the_report(editor, admin_client):
    make_rows(1)
    row = LinkCheck.objects.first()
    for client in (editor.client, admin_client):
        assert client.get(REPORT + "add/").status_code == 403
        assert client.post(REPORT + f"{row.pk}/change/", {"url": "x"}).status_code == 403
        assert client.post(REPORT + f"{row.pk}/delete/", {"post": "yes"}).status_code == 403
    assert LinkCheck.objects.get(pk=row.pk).url == row.url


def test_report_needs_its_permission(staff_without_permission):
    assert staff_without_permission.get(REPORT).status_code == 403
