"""Sitemaps (django.contrib.sitemaps) of every public page in every language, with
each page's language versions as hreflang alternates, and nothing else.

Built to stay fast at 100,000 guides with the page cache off:

- Guides are listed GUIDES_PER_SITEMAP to a page, as plain rows (no model instances),
  in two queries per page: the page's guides, found by a range of primary keys (no
  OFFSET, which reads every guide before the page), and their other language versions.
- What needs every guide (the guides' count, page boundaries and latest change, each
  topic's latest change, the tags in use per language) is read once per content
  version and kept in the low-level cache (articles.caching.content_version: a save or
  a publish time that comes makes a new version, so new keys).
- Pages are written by UrlsetTemplate, the same bytes as django.contrib.sitemaps'
  sitemap.xml template without a template node per URL.

Served like public pages (articles.caching.public_page: validators, the page cache,
surrogate keys): guides' addresses are written without get_absolute_url, so every
sitemap carries the listing key of every language and the law list's key.
"""

import re
from datetime import datetime
from functools import cached_property, wraps
from html import escape
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.sitemaps import Sitemap
from django.contrib.sitemaps import views as sitemap_views
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db.models import CharField, Max
from django.db.models.functions import Cast
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import iri_to_uri
from taggit.models import TaggedItem

from . import surrogate
from .caching import content_version, public_page
from .models import Article, Category, Law, language_codes, language_rank, published_q
from .seo import bcp47, default_version
from .signals import tag_path

# URLs per page of the guides' sitemap. The protocol allows 50,000, but a page costs
# about 20 us per URL (rows, paths, alternates, XML): 1,000 a page is written in about
# 20 ms on SQLite and 25 ms on PostgreSQL at 100,000 guides (bench/pages.py).
GUIDES_PER_SITEMAP = 1_000
# Values read from every guide live as long as their content version (a new one uses
# new keys); this only bounds how long an unused one stays.
CACHE_TIMEOUT = 60 * 60


def kept_per_content_version(name: str, compute):
    """compute()'s value, kept in the low-level cache under the content version and
    the site's languages: for values that only change with the content."""
    moment, _valid_until = content_version()
    if moment is None:  # nothing published or saved yet: nothing costly to keep
        return compute()
    key = f"articles:sitemap:{name}:{','.join(language_codes())}:{moment.timestamp():.6f}"
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, CACHE_TIMEOUT)
    return value


class PublicSitemap(Sitemap):
    limit = 50_000

    def get_protocol(self, protocol=None):
        return urlsplit(settings.SITE_URL).scheme or "https"

    def _urls(self, page, protocol, domain):
        urls = super()._urls(page, protocol, domain)
        self.add_alternates(urls, f"{protocol}://{domain}")
        return urls

    def add_alternates(self, urls, site) -> None:
        items = [url["item"] for url in urls]
        # The language versions of one page share their alternates: made once.
        made = {}
        for url, alternates in zip(urls, self.alternates(items), strict=True):
            if id(alternates) not in made:
                made[id(alternates)] = [
                    {"lang_code": lang, "location": site + path} for lang, path in alternates
                ]
            url["alternates"] = made[id(alternates)]

    def alternates(self, items) -> list[list[tuple[str, str]]]:
        """Per item, its (hreflang, path) alternates: none by default."""
        return [[] for _item in items]


class InEveryLanguage(PublicSitemap):
    """Pages that exist in every language (topics, laws, the home page): one URL per
    language, each listing all of them and x-default (the default language's)."""

    i18n = True

    def alternates(self, items):
        result = []
        for item in items:
            pairs = [(bcp47(code), self._location(item, code)) for code in language_codes()]
            pairs.append(("x-default", self.x_default(item)))
            result.append(pairs)
        return result

    def x_default(self, item) -> str:
        """The page for visitors of other languages: the default language's, as the
        page's own <head> says (PageMeta.alternates)."""
        return self._location(item, settings.LANGUAGE_CODE)


# Paths made of these need no percent-encoding (urllib's always-safe characters).
SAFE_PATH = re.compile(r"[-\w/.~]*", re.ASCII)


class PercentEncoded(dict):
    """A str.translate table doing what iri_to_uri does, character by character: each
    character maps to its iri_to_uri, found on first use. (iri_to_uri loops over the
    UTF-8 bytes in Python, the larger part of a sitemap's time with Chinese slugs.)"""

    def __missing__(self, code):
        self[code] = encoded = iri_to_uri(chr(code))
        return encoded


PERCENT_ENCODED = PercentEncoded()


def guide_path(language, category_slug, slug) -> str:
    """The pattern of articles:article without a reverse() per guide, percent-encoded
    like reverse() (slugs may be Chinese)."""
    path = f"/{language}/{category_slug}/{slug}/"
    return path if SAFE_PATH.fullmatch(path) else path.translate(PERCENT_ENCODED)


def public_guides():
    """Published guides in the site's languages: only those have pages."""
    return Article.objects.published().filter(language__in=language_codes())


def latest_change_per_topic() -> dict:
    """{topic pk: the latest change of its public guides}: the topics' lastmod, and
    the guides' latest (their maximum). Read from every guide, once per content version."""

    def compute():
        latest = (
            public_guides()
            .order_by()
            .values("category")
            .annotate(latest=Max("updated_at"))
            .values_list("category", "latest")
        )
        return dict(latest)

    return kept_per_content_version("topic-changes", compute)


def guide_rows(guides, *fields):
    """A guide as its sitemap URL needs it: values_list(named=True) rows, no model
    instances, the translation group as text (only compared, never made a UUID)."""
    group = Cast("translation_group", output_field=CharField())
    return guides.annotate(group=group).values_list(
        "pk", "language", "slug", "category__slug", "group", "translated_from", *fields,
        named=True,
    )  # fmt: skip


class GuidePages(Paginator):
    """Pages of guides by ranges of primary keys: `starts` holds the first key of each
    page, so a page reads its own guides only, with no COUNT and no OFFSET (which
    reads every guide before the page)."""

    def __init__(self, object_list, per_page, count, starts):
        super().__init__(object_list, per_page)
        self.count = count  # instead of the cached_property's COUNT query
        self.starts = starts

    def page(self, number):
        number = self.validate_number(number)
        if not self.starts:
            return self._get_page(self.object_list.none(), number, self)
        guides = self.object_list.filter(pk__gte=self.starts[number - 1])
        if number < len(self.starts):
            guides = guides.filter(pk__lt=self.starts[number])
        return self._get_page(guides, number, self)


class GuideSitemap(PublicSitemap):
    limit = GUIDES_PER_SITEMAP
    changefreq = "monthly"
    priority = 0.8

    def items(self):
        return guide_rows(public_guides().order_by("pk"), "updated_at")

    @cached_property
    def stats(self) -> dict:
        """The guides' count and the first key of each page, read from every guide
        once per content version."""

        def compute():
            keys = list(public_guides().order_by("pk").values_list("pk", flat=True))
            return {"count": len(keys), "starts": keys[:: self.limit]}

        return kept_per_content_version(f"guides:{self.limit}", compute)

    @property
    def paginator(self):
        return GuidePages(self.items(), self.limit, self.stats["count"], self.stats["starts"])

    def lastmod(self, guide):
        return guide.updated_at

    def _urls(self, page, protocol, domain):
        """Sitemap._urls's dicts, without its lookup of each attribute per URL (a
        third of the time at thousands of URLs): changefreq and priority are fixed."""
        site = f"{protocol}://{domain}"
        changefreq, priority = self.changefreq, str(self.priority)
        urls = [
            {
                "item": guide,
                "location": site + self.location(guide),
                "lastmod": self.lastmod(guide),
                "changefreq": changefreq,
                "priority": priority,
            }
            for guide in self.paginator.page(page).object_list
        ]
        if urls:
            self.latest_lastmod = max(url["lastmod"] for url in urls)
        self.add_alternates(urls, site)
        return urls

    def get_latest_lastmod(self):
        # Django's default reads every guide to take the latest.
        return max(latest_change_per_topic().values(), default=None)

    @cached_property
    def paths(self) -> dict:
        """Paths made so far: a page writes each guide's up to three times (its URL, its
        versions' alternates, x-default). Per request, like everything measured."""
        return {}

    def location(self, guide):
        key = (guide.language, guide.category__slug, guide.slug)
        if key not in self.paths:
            self.paths[key] = guide_path(*key)
        return self.paths[key]

    def alternates(self, items):
        """Each guide's language versions: those on the page, and the others read in
        one more query (by translation group, an index lookup: the default ordering
        would make SQLite read every published guide through the status index)."""
        if not items:
            return []
        first, last = items[0].pk, items[-1].pk
        elsewhere = guide_rows(
            public_guides()
            .filter(translation_group__in={guide.group for guide in items})
            .exclude(pk__gte=first, pk__lte=last)
            .order_by()
        )
        versions = {}
        for version in [*items, *elsewhere]:
            versions.setdefault(version.group, []).append(version)
        # language_rank and bcp47 once per language, not per guide (settings lookups).
        codes = {version.language for found in versions.values() for version in found}
        rank = {code: language_rank(code) for code in codes}
        hreflang = {code: bcp47(code) for code in codes}
        pairs_of_group = {}
        for group, found in versions.items():
            if len(found) < 2:
                continue
            found.sort(key=lambda version: rank[version.language])
            pairs = [(hreflang[version.language], self.location(version)) for version in found]
            pairs.append(("x-default", self.location(default_version(found))))
            pairs_of_group[group] = pairs
        return [pairs_of_group.get(guide.group, []) for guide in items]


class CategorySitemap(InEveryLanguage):
    changefreq = "weekly"
    priority = 0.6

    def items(self):
        return Category.objects.order_by("pk")

    @cached_property
    def last_updates(self) -> dict:
        return latest_change_per_topic()

    def lastmod(self, category):
        return self.last_updates.get(category.pk)

    def get_latest_lastmod(self):
        return max(self.last_updates.values(), default=None)


class TagSitemap(PublicSitemap):
    """A tag's page exists in each language that has published guides with the tag."""

    changefreq = "weekly"
    priority = 0.4

    def items(self):
        """(tag pk, slug, language) per page, by language then tag. Which tags have
        public guides in which language is one pass over the tag links (a DISTINCT
        of tag and language), once per content version. (One EXISTS per tag and
        language costs more: tags are mostly of one language, and the EXISTS of a
        language a tag is not used in reads every link of the tag.)"""

        def compute():
            codes = language_codes()
            used = (
                TaggedItem.objects.filter(published_q("article__"), article__language__in=codes)
                .order_by()
                .values_list("tag_id", "tag__slug", "article__language")
                .distinct()
            )
            return sorted(used, key=lambda page: (codes.index(page[2]), page[0]))

        return kept_per_content_version("tags", compute)

    def location(self, page):
        pk, slug, code = page
        surrogate.note(surrogate.tag_key(pk))
        return tag_path(slug, code)


class LawSitemap(InEveryLanguage):
    changefreq = "monthly"
    priority = 0.5

    def items(self):
        return Law.objects.order_by("pk")


class PageSitemap(InEveryLanguage):
    changefreq = "daily"
    priority = 1.0

    def items(self):
        return ["articles:home", "articles:law-list"]

    def location(self, name):
        return reverse(name)

    def x_default(self, item):
        name, _language = item
        # "/" picks the visitor's language, as the home page's <head> says.
        return reverse("language-home") if name == "articles:home" else super().x_default(item)


SITEMAPS = {
    "pages": PageSitemap,
    "guides": GuideSitemap,
    "topics": CategorySitemap,
    "tags": TagSitemap,
    "laws": LawSitemap,
}


class UrlsetTemplate:
    """django.contrib.sitemaps' sitemap.xml, written in Python: the same bytes (the
    template's {% spaceless %} output, values HTML-escaped, lastmod as a date in the
    current time zone) without a template node per value, 10 times faster. A template
    object for the sitemap view's TemplateResponse; tests compare it with Django's."""

    HEAD = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        'xmlns:xhtml="http://www.w3.org/1999/xhtml">\n'
    )
    TAIL = "\n</urlset>\n"

    def render(self, context=None, request=None):
        zone = timezone.get_current_timezone()
        written = {}  # changefreq, priority and alternates repeat: written once each
        parts = []
        for url in context["urlset"]:
            lastmod = url["lastmod"]
            if lastmod:
                if isinstance(lastmod, datetime) and timezone.is_aware(lastmod):
                    lastmod = lastmod.astimezone(zone)
                day = f"<lastmod>{lastmod.year:04d}-{lastmod.month:02d}-{lastmod.day:02d}</lastmod>"
            else:
                day = ""
            changefreq, priority, alternates = url["changefreq"], url["priority"], url["alternates"]
            key = (changefreq, priority, id(alternates))
            if key not in written:
                written[key] = self.tail(changefreq, priority, alternates)
            parts.append(f"<url><loc>{xml(url['location'])}</loc>{day}{written[key]}</url>")
        return self.HEAD + "".join(parts) + self.TAIL

    @staticmethod
    def tail(changefreq, priority, alternates) -> str:
        """What follows <lastmod> in a <url>."""
        parts = []
        if changefreq:
            parts.append(f"<changefreq>{xml(str(changefreq))}</changefreq>")
        if priority:
            parts.append(f"<priority>{xml(str(priority))}</priority>")
        for alternate in alternates:
            parts.append(
                f'<xhtml:link rel="alternate" hreflang="{xml(alternate["lang_code"])}" '
                f'href="{xml(alternate["location"])}"/>'
            )
        return "".join(parts)


_MARKUP = re.compile("[&<>\"']")


def xml(text: str) -> str:
    """The template's autoescaping (html.escape), skipped for text that needs none
    (a percent-encoded address nearly always): a search instead of five replaces."""
    return escape(text) if _MARKUP.search(text) else text


def _public_sitemap(view, **options):
    @public_page
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        surrogate.note(
            *(surrogate.listing_key(code) for code in language_codes()), surrogate.LAW_LIST_KEY
        )
        return view(request, *args, **options, **kwargs)

    return wrapper


# The views of django.contrib.sitemaps, as public pages.
index = _public_sitemap(sitemap_views.index)
sitemap = _public_sitemap(sitemap_views.sitemap, template_name=UrlsetTemplate())
