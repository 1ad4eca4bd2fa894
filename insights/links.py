"""Checking the links citizens follow: every `<a href>` of a guide's sections, as
rendered and sanitised for the page (articles.markdown; a guide's summary and
headings are plain text), and every law's official source address.

- Internal links (relative, or on SITE_URL's host) are answered in-process by our
  own middleware and views, with no network: a draft or missing guide answers 404
  (broken), a moved one 301 to its new address (articles.redirects: redirected), a
  missing trailing slash or an address from before languages redirects too. That is
  exactly what a citizen following the link gets.
- External links (http and https; mailto: and tel: are skipped) get HEAD, then GET
  when HEAD is refused (403, 405, 501). Redirects are followed by hand, at most
  MAX_REDIRECTS; a 2xx at the end is "redirected" with the final address, 4xx and
  5xx are broken. Each distinct address is fetched once per run, at most
  LINK_CHECK_CONCURRENCY at a time, each request within LINK_CHECK_TIMEOUT seconds
  and the whole run within a deadline; what the deadline leaves is "not checked".
- With no network (no external host answered at all, `--offline`, or
  LINK_CHECK_EXTERNAL=False) external links are saved as "not checked" with the
  reason, never as broken.
- An editor's link must not make the server probe our own network (SSRF): a host
  that resolves to a private, loopback, link-local or reserved address is not
  fetched unless LINK_CHECK_ALLOW_PRIVATE, and the connection goes to the address
  that was vetted, not to a second DNS answer.

Each run replaces the earlier results of the guides and laws it checked
(insights.models.LinkCheck). Only the calling thread touches the database; the
worker threads only fetch.
"""

from __future__ import annotations

import errno
import http.client
import ipaddress
import socket
import ssl
import time
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit, urlunsplit

from django.conf import settings
from django.core.handlers.base import BaseHandler
from django.core.signals import request_finished
from django.db import close_old_connections, transaction
from django.db.models import Prefetch
from django.http.request import split_domain_port, validate_host
from django.test.client import RequestFactory
from django.urls import get_urlconf, set_urlconf
from django.utils import timezone, translation
from django.utils.encoding import iri_to_uri
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from articles.markdown import render_markdown
from articles.models import Article, Law, Section

from .models import LinkCheck
from .searches import not_counted

Status = LinkCheck.Status

CHECKED_SCHEMES = frozenset({"http", "https"})
DEFAULT_PORTS = {"http": 80, "https": 443}
REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
# Answers to HEAD from servers that only refuse the method: GET is tried instead.
HEAD_REFUSED = frozenset({403, 405, 501})
MAX_REDIRECTS = 5
# After the deadline, how long to wait for requests already under way (their own
# timeouts are cut to the deadline, so they end within it).
DEADLINE_GRACE_SECONDS = 1.0
# Failures that say nothing about the link when no host at all could be reached.
UNREACHABLE_ERRNOS = frozenset(
    {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN, errno.ECONNREFUSED}
)
SAVE_BATCH = 500
URL_LENGTH = LinkCheck._meta.get_field("url").max_length
MESSAGE_LENGTH = LinkCheck._meta.get_field("message").max_length


@dataclass
class Result:
    """What one address answered. `reason` % `params` becomes the saved message, in
    the calling thread's language (workers have none of their own)."""

    status: str
    http_status: int | None = None
    final_url: str = ""
    reason: object = ""
    params: dict = field(default_factory=dict)
    # True: a server answered (HTTP or TLS). False: none did (DNS, refused or
    # unreachable network), which is broken only if some other host did answer.
    # None: no telling (not fetched, timed out).
    reached: bool | None = None

    def message(self) -> str:
        text = self.reason % self.params if self.params else str(self.reason)
        return text[:MESSAGE_LENGTH]


@dataclass(frozen=True)
class Link:
    """One link as written in one guide (or a law's source)."""

    url: str  # as written, for editors to find it
    address: str  # absolute, without fragment: what is checked, once per run
    internal: bool
    article_id: int | None = None
    law_id: int | None = None


@dataclass
class Report:
    guides: int = 0
    laws: int = 0
    addresses: int = 0
    counts: Counter = field(default_factory=Counter)
    rows: list[LinkCheck] = field(default_factory=list)

    @property
    def links(self) -> int:
        return len(self.rows)

    @property
    def problems(self) -> list[LinkCheck]:
        return [row for row in self.rows if row.status != Status.OK]


# Finding links.


class _Anchors(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.hrefs.extend(value.strip() for name, value in attrs if name == "href" and value)


def hrefs_in(html: str) -> list[str]:
    """The href of every <a> in rendered HTML, in order."""
    parser = _Anchors()
    parser.feed(html or "")
    parser.close()
    return parser.hrefs


def section_html(section: Section) -> str:
    """The body as citizens see it: the HTML rendered at save, or rendered now."""
    if section.body_html or not section.body:
        return section.body_html
    return render_markdown(section.body)


def _port(parts) -> int | None:
    try:
        return parts.port
    except ValueError:
        return None


def _site_parts():
    return urlsplit(settings.SITE_URL)


def is_internal(parts, site=None) -> bool:
    """On SITE_URL's host: the same host name, and the same port where either gives
    one (http://host and https://host are both ours)."""
    site = site or _site_parts()
    if (parts.hostname or "").lower() != (site.hostname or "").lower():
        return False
    port, site_port = _port(parts), _port(site)
    if port is None and site_port is None:
        return True
    return (port or DEFAULT_PORTS.get(parts.scheme.lower())) == (
        site_port or DEFAULT_PORTS.get(site.scheme.lower())
    )


def classify(href: str, base_url: str, site=None) -> tuple[str, bool] | None:
    """(absolute address without fragment, internal?) of a link found on the page at
    base_url; None for what is not checked (mailto:, tel:, a fragment of the page)."""
    href = href.strip()
    if not href or href.startswith("#"):
        return None
    try:
        absolute = urljoin(base_url, href)
        parts = urlsplit(absolute)
    except ValueError:
        # An address even the parser refuses: checked, and reported broken.
        return href, False
    if parts.scheme.lower() not in CHECKED_SCHEMES:
        return None
    return urlunsplit(parts._replace(fragment="")), is_internal(parts, site)


def links_of_article(article: Article, site=None) -> list[Link]:
    """Distinct links of a guide's sections. Reads article.category and
    article.sections (prefetch them)."""
    base = settings.SITE_URL + article.get_absolute_url()
    found: dict[str, Link] = {}
    for section in article.sections.all():
        for href in hrefs_in(section_html(section)):
            kind = classify(href, base, site)
            if kind is not None and href not in found:
                found[href] = Link(href[:URL_LENGTH], kind[0], kind[1], article_id=article.pk)
    return list(found.values())


def link_of_law(law: Law, site=None) -> Link | None:
    if not law.source_url:
        return None
    kind = classify(law.source_url, settings.SITE_URL + "/", site)
    if kind is None:
        return None
    return Link(law.source_url[:URL_LENGTH], kind[0], kind[1], law_id=law.pk)


# Internal links: our own site, answered in-process.


def _request_host(netloc: str) -> str | None:
    """The Host header for in-process requests: SITE_URL's, when ALLOWED_HOSTS lets
    it in, else the first plain name of ALLOWED_HOSTS."""
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    domain, _port_ = split_domain_port(netloc)
    if domain and validate_host(domain, allowed):
        return netloc
    for pattern in allowed:
        if pattern != "*":
            return pattern.lstrip(".")
    return None


class OwnSite:
    """Answers addresses of this site through the full middleware stack and views,
    in-process and anonymously, as a citizen's browser would get them."""

    def __init__(self):
        self.parts = _site_parts()
        self.host = _request_host(self.parts.netloc)
        self._handler = None
        self._factory = RequestFactory()

    def _answer(self, address: str) -> tuple[int, str]:
        if self._handler is None:
            self._handler = BaseHandler()
            self._handler.load_middleware()
        parts = urlsplit(address)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        # A link to a search must not count as a citizen's search.
        request = not_counted(
            self._factory.get(path, secure=parts.scheme == "https", headers={"host": self.host})
        )
        response = self._handler.get_response(request)
        try:
            return response.status_code, response.get("Location", "")
        finally:
            # Release what the response holds (a static file) without closing the
            # database connection, as request_finished would (Django's test client
            # does the same).
            connected = request_finished.disconnect(close_old_connections)
            try:
                response.close()
            finally:
                if connected:
                    request_finished.connect(close_old_connections)

    def check(self, address: str) -> Result:
        if self.host is None:
            return Result(
                Status.UNCHECKED, reason=_("Not checked: SITE_URL's host is not allowed.")
            )
        current, hops = address, 0
        try:
            while True:
                status, location = self._answer(current)
                if status not in REDIRECT_CODES or not location:
                    break
                hops += 1
                if hops > MAX_REDIRECTS:
                    return _too_many_redirects(current)
                current = urljoin(current, location)
                if not is_internal(urlsplit(current), self.parts):
                    return Result(
                        Status.REDIRECTED,
                        status,
                        current[:URL_LENGTH],
                        _("Leads to another site, not checked further."),
                    )
        except Exception as error:  # a page of ours that fails is a broken link
            return Result(Status.BROKEN, 500, reason=_("Error: %(error)s"), params=_err(error))
        return _final(status, current, hops)

    def check_all(self, addresses: Iterable[str], deadline: float) -> dict[str, Result]:
        """Each address once; the language and URLconf in force are kept (a request
        activates its page's language and leaves it)."""
        results = {}
        previous_urlconf = get_urlconf()
        try:
            with translation.override(translation.get_language()):
                for address in addresses:
                    if time.monotonic() >= deadline:
                        results[address] = _out_of_time()
                    else:
                        results[address] = self.check(address)
        finally:
            set_urlconf(previous_urlconf)
        return results


# External links.


class _Refused(Exception):
    """The host resolves to an address we do not fetch from."""


class _OutOfTime(Exception):
    """The run's deadline came before an answer."""


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the address vetted by _vetted_address, not to a second DNS answer
    (which could point somewhere else: DNS rebinding)."""

    def __init__(self, host, port, ip, **kwargs):
        super().__init__(host, port, **kwargs)
        self.ip = ip

    def connect(self):
        self.sock = socket.create_connection((self.ip, self.port), self.timeout)


_tls = ssl.create_default_context()


class _PinnedHTTPSConnection(_PinnedHTTPConnection):
    default_port = 443

    def connect(self):
        super().connect()
        # The certificate is checked against the host name of the link.
        self.sock = _tls.wrap_socket(self.sock, server_hostname=self.host)


def _vetted_address(host: str, port: int, allow_private: bool) -> str:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    for *_rest, sockaddr in infos:
        ip = ipaddress.ip_address(sockaddr[0].split("%")[0])
        if ip.version == 6 and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        if not ip.is_global and not allow_private:
            raise _Refused(str(ip))
    return infos[0][4][0]


@dataclass(frozen=True)
class Limits:
    timeout: float
    deadline: float  # time.monotonic()
    allow_private: bool
    user_agent: str


def user_agent() -> str:
    name = f"{settings.SITE_NAME} link checker (+{settings.SITE_URL})"
    return name.encode("ascii", "ignore").decode()


def _fetch(address: str, method: str, limits: Limits) -> tuple[int, str]:
    """One request, no redirect followed: (status, Location)."""
    parts = urlsplit(address)
    scheme = parts.scheme.lower()
    if scheme not in CHECKED_SCHEMES or not parts.hostname:
        raise ValueError("not an http or https address")
    port = parts.port or DEFAULT_PORTS[scheme]
    remaining = limits.deadline - time.monotonic()
    if remaining <= 0:
        raise _OutOfTime
    timeout = min(limits.timeout, remaining)
    ip = _vetted_address(parts.hostname, port, limits.allow_private)
    connection_class = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(parts.hostname, port, ip, timeout=timeout)
    target = iri_to_uri((parts.path or "/") + (f"?{parts.query}" if parts.query else ""))
    try:
        connection.request(
            method, target, headers={"User-Agent": limits.user_agent, "Accept": "*/*"}
        )
        response = connection.getresponse()
        return response.status, response.getheader("Location") or ""
    except TimeoutError:
        if timeout < limits.timeout:
            raise _OutOfTime from None
        raise
    finally:
        connection.close()


def _err(error: BaseException) -> dict:
    return {"error": (str(error) or error.__class__.__name__)[:300]}


def _out_of_time() -> Result:
    return Result(Status.UNCHECKED, reason=_("Not checked: the run's time limit was reached."))


def _too_many_redirects(address: str) -> Result:
    return Result(
        Status.BROKEN,
        final_url=address[:URL_LENGTH],
        reason=_("More than %(count)d redirects."),
        params={"count": MAX_REDIRECTS},
        reached=True,
    )


def _final(status: int, address: str, hops: int) -> Result:
    final_url = address[:URL_LENGTH] if hops else ""
    if status >= 400:
        return Result(
            Status.BROKEN,
            status,
            final_url,
            _("The server answered %(status)d."),
            {"status": status},
            reached=True,
        )
    if hops:
        return Result(
            Status.REDIRECTED,
            status,
            final_url,
            ngettext_lazy(
                "Redirected once: update the link to its new address.",
                "Redirected %(count)d times: update the link to its new address.",
                "count",
            ),
            {"count": hops},
            reached=True,
        )
    return Result(Status.OK, status, reached=True)


def check_external(address: str, limits: Limits) -> Result:
    """HEAD (GET when HEAD is refused), redirects followed by hand. Never raises."""
    current, hops = address, 0
    try:
        while True:
            status, location = _fetch(current, "HEAD", limits)
            if status in HEAD_REFUSED:
                status, location = _fetch(current, "GET", limits)
            if status not in REDIRECT_CODES or not location:
                return _final(status, current, hops)
            hops += 1
            if hops > MAX_REDIRECTS:
                return _too_many_redirects(current)
            current = urljoin(current, location)
    except _OutOfTime:
        return _out_of_time()
    except _Refused as refused:
        return Result(
            Status.UNCHECKED,
            reason=_("Not checked: the host is on a private network (%(error)s)."),
            params=_err(refused),
        )
    except TimeoutError:
        return Result(
            Status.TIMED_OUT,
            reason=_("No answer within the time limit (%(seconds)s s)."),
            params={"seconds": f"{limits.timeout:g}"},
        )
    except ssl.SSLError as error:
        return Result(
            Status.BROKEN,
            reason=_("The secure connection failed: %(error)s"),
            params=_err(error),
            reached=True,
        )
    except http.client.HTTPException as error:
        return Result(
            Status.BROKEN,
            reason=_("The answer could not be read: %(error)s"),
            params=_err(error),
            reached=True,
        )
    except socket.gaierror as error:
        return Result(
            Status.BROKEN,
            reason=_("The host name could not be found: %(error)s"),
            params=_err(error),
            reached=False,
        )
    except OSError as error:
        reached = error.errno not in UNREACHABLE_ERRNOS
        return Result(
            Status.BROKEN,
            reason=_("The connection failed: %(error)s"),
            params=_err(error),
            reached=reached,
        )
    except (ValueError, UnicodeError) as error:
        return Result(Status.BROKEN, reason=_("Not a valid address: %(error)s"), params=_err(error))


class ExternalChecks:
    """Fetches each address once, at most `concurrency` at a time, in worker threads
    started at once; results() waits for them until the deadline. When no host
    answered at all, the network is taken to be down: failures to connect become
    "not checked", not broken."""

    def __init__(self, addresses: list[str], limits: Limits, concurrency: int):
        self.limits = limits
        self.executor = ThreadPoolExecutor(
            max_workers=max(1, concurrency), thread_name_prefix="links"
        )
        self.futures = {
            self.executor.submit(check_external, address, limits): address
            for address in dict.fromkeys(addresses)
        }

    def results(self) -> dict[str, Result]:
        try:
            budget = max(0.0, self.limits.deadline - time.monotonic()) + DEADLINE_GRACE_SECONDS
            done, _pending = wait(self.futures, timeout=budget)
        finally:
            # Requests not started are dropped; those under way end within their timeout.
            self.executor.shutdown(wait=False, cancel_futures=True)
        results = {
            address: (future.result() if future in done else _out_of_time())
            for future, address in self.futures.items()
        }
        if not any(result.reached for result in results.values()):
            for result in results.values():
                if result.reached is False:
                    result.status = Status.UNCHECKED
                    result.reason = _("Not checked: no other site could be reached (%(error)s).")
        return results


def _external_off() -> Result:
    return Result(Status.UNCHECKED, reason=_("Not checked: checking other sites is turned off."))


# A run.


def guides_to_check(include_drafts: bool = False):
    """Published guides (every guide with include_drafts)."""
    return Article.objects.all() if include_drafts else Article.objects.published()


def _chunks(values: list, size: int = SAVE_BATCH):
    for start in range(0, len(values), size):
        yield values[start : start + size]


def check_links(
    articles=None,
    laws=None,
    *,
    external: bool | None = None,
    deadline_seconds: float | None = None,
) -> Report:
    """Check the links of `articles` and the sources of `laws` (querysets; None for
    none), save the results in place of their earlier ones and return the report.

    external=False (or LINK_CHECK_EXTERNAL=False) leaves other sites unchecked;
    deadline_seconds defaults to LINK_CHECK_DEADLINE.
    """
    started = time.monotonic()
    deadline = started + (
        settings.LINK_CHECK_DEADLINE if deadline_seconds is None else deadline_seconds
    )
    external = settings.LINK_CHECK_EXTERNAL if external is None else external
    site = _site_parts()
    report = Report()

    found: list[Link] = []
    article_ids: list[int] = []
    if articles is not None:
        sections = Prefetch(
            "sections", queryset=Section.objects.only("article", "body", "body_html")
        )
        for article in (
            articles.select_related("category").prefetch_related(sections).iterator(chunk_size=200)
        ):
            article_ids.append(article.pk)
            found.extend(links_of_article(article, site))
    law_ids: list[int] = []
    if laws is not None:
        for law in laws.only("pk", "source_url"):
            law_ids.append(law.pk)
            link = link_of_law(law, site)
            if link is not None:
                found.append(link)
    report.guides, report.laws = len(article_ids), len(law_ids)

    internal = list(dict.fromkeys(link.address for link in found if link.internal))
    outside = list(dict.fromkeys(link.address for link in found if not link.internal))
    report.addresses = len(internal) + len(outside)

    limits = Limits(
        timeout=float(settings.LINK_CHECK_TIMEOUT),
        deadline=deadline,
        allow_private=settings.LINK_CHECK_ALLOW_PRIVATE,
        user_agent=user_agent(),
    )
    results: dict[str, Result] = {}
    if external:
        # Other sites in worker threads while our own pages are answered here.
        checks = ExternalChecks(outside, limits, settings.LINK_CHECK_CONCURRENCY)
        results.update(OwnSite().check_all(internal, deadline))
        results.update(checks.results())
    else:
        results.update(OwnSite().check_all(internal, deadline))
        results.update({address: _external_off() for address in outside})

    now = timezone.now()
    for link in found:
        result = results[link.address]
        report.rows.append(
            LinkCheck(
                article_id=link.article_id,
                law_id=link.law_id,
                url=link.url,
                internal=link.internal,
                status=result.status,
                http_status=result.http_status,
                final_url=result.final_url,
                message=result.message(),
                checked_at=now,
            )
        )
        report.counts[result.status] += 1

    with transaction.atomic():
        for ids in _chunks(article_ids):
            LinkCheck.objects.filter(article_id__in=ids).delete()
        for ids in _chunks(law_ids):
            LinkCheck.objects.filter(law_id__in=ids).delete()
        LinkCheck.objects.bulk_create(report.rows, batch_size=SAVE_BATCH)
    return report
