"""Sitemaps (django.contrib.sitemaps) of every public page in every language, with
each page's language versions as hreflang alternates, and nothing else.

Each section reads only the columns its URLs need, in one query per sitemap
page (at most 50,000 URLs each) plus one for the guides' other language versions,
so 100,000 guides cost no per-item queries.

Served like public pages (articles.caching.public_page: validators, the page cache,
surrogate keys): guides' addresses are written without get_absolute_url, so every
sitemap carries the listing key of every language and the law list's key.
"""

from functools import wraps
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.sitemaps import Sitemap
from django.contrib.sitemaps import views as sitemap_views
from django.db.models import Max
from django.urls import reverse
from django.utils.encoding import iri_to_uri
from taggit.models import Tag

from . import surrogate
from .caching import public_page
from .models import Article, Category, Law, language_codes, language_rank, published_q
from .seo import bcp47, default_version
from .signals import tag_path

# Translation groups looked up per query (well under SQLite's variable limit).
GROUP_BATCH = 5_000


class PublicSitemap(Sitemap):
    limit = 50_000

    def get_protocol(self, protocol=None):
        return urlsplit(settings.SITE_URL).scheme or "https"

    def _urls(self, page, protocol, domain):
        urls = super()._urls(page, protocol, domain)
        site = f"{protocol}://{domain}"
        items = [url["item"] for url in urls]
        for url, alternates in zip(urls, self.alternates(items), strict=True):
            url["alternates"] = [
                {"lang_code": lang, "location": site + path} for lang, path in alternates
            ]
        return urls

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


def guide_path(language, category_slug, slug) -> str:
    """The pattern of articles:article without a reverse() per guide, percent-encoded
    like reverse() (slugs may be Chinese)."""
    return iri_to_uri(f"/{language}/{category_slug}/{slug}/")


class GuideSitemap(PublicSitemap):
    changefreq = "monthly"
    priority = 0.8

    def items(self):
        # Only the site's languages have pages.
        return (
            Article.objects.published()
            .filter(language__in=language_codes())
            .select_related("category")
            .only("slug", "language", "translation_group", "updated_at", "category__slug")
            .order_by("pk")
        )

    def lastmod(self, article):
        return article.updated_at

    def get_latest_lastmod(self):
        # Django's default loads every guide to take the latest; one aggregate instead.
        return Article.objects.published().aggregate(latest=Max("updated_at"))["latest"]

    def location(self, article):
        return guide_path(article.language, article.category.slug, article.slug)

    def alternates(self, items):
        groups = list({article.translation_group for article in items})
        versions = {}
        for start in range(0, len(groups), GROUP_BATCH):
            batch = (
                Article.objects.published()
                .filter(
                    translation_group__in=groups[start : start + GROUP_BATCH],
                    language__in=language_codes(),
                )
                .select_related("category")
                .only("slug", "language", "translated_from", "translation_group", "category__slug")
            )
            for version in batch:
                versions.setdefault(version.translation_group, []).append(version)
        result = []
        for article in items:
            group = sorted(
                versions.get(article.translation_group, []),
                key=lambda version: language_rank(version.language),
            )
            if len(group) < 2:
                result.append([])
                continue
            pairs = [(bcp47(version.language), self.location(version)) for version in group]
            pairs.append(("x-default", self.location(default_version(group))))
            result.append(pairs)
        return result


class CategorySitemap(InEveryLanguage):
    changefreq = "weekly"
    priority = 0.6

    def items(self):
        return Category.objects.annotate(
            last_update=Max("articles__updated_at", filter=published_q("articles__")),
        ).order_by("pk")

    def lastmod(self, category):
        return category.last_update


class TagSitemap(PublicSitemap):
    """A tag's page exists in each language that has published guides with the tag."""

    changefreq = "weekly"
    priority = 0.4

    def items(self):
        pages = []
        for code in language_codes():
            public = Article.objects.published().filter(language=code).values("pk")
            tags = (
                Tag.objects.filter(
                    taggit_taggeditem_items__object_id__in=public,
                    taggit_taggeditem_items__content_type__model="article",
                )
                .distinct()
                .order_by("pk")
            )
            pages.extend((tag, code) for tag in tags)
        return pages

    def location(self, page):
        tag, code = page
        surrogate.note(surrogate.tag_key(tag.pk))
        return tag_path(tag.slug, code)


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


def _public_sitemap(view):
    @public_page
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        surrogate.note(
            *(surrogate.listing_key(code) for code in language_codes()), surrogate.LAW_LIST_KEY
        )
        return view(request, *args, **kwargs)

    return wrapper


# The views of django.contrib.sitemaps, as public pages.
index = _public_sitemap(sitemap_views.index)
sitemap = _public_sitemap(sitemap_views.sitemap)
