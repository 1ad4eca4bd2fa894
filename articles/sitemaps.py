"""Sitemaps (django.contrib.sitemaps) of every public page, and nothing else.

Each section reads only the columns its URLs need, in one query per sitemap
page (at most 50,000 URLs each), so 100,000 guides cost no per-item queries.
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.sitemaps import Sitemap
from django.db.models import Count, Max
from django.urls import reverse
from taggit.models import Tag

from .models import Article, Category, Law, published_q


class PublicSitemap(Sitemap):
    limit = 50_000

    def get_protocol(self, protocol=None):
        return urlsplit(settings.SITE_URL).scheme or "https"


class GuideSitemap(PublicSitemap):
    changefreq = "monthly"
    priority = 0.8

    def items(self):
        return (
            Article.objects.published()
            .select_related("category")
            .only("slug", "updated_at", "category__slug")
            .order_by("pk")
        )

    def lastmod(self, article):
        return article.updated_at

    def location(self, article):
        # The pattern of articles:article, without a reverse() per guide.
        return f"/{article.category.slug}/{article.slug}/"


class CategorySitemap(PublicSitemap):
    changefreq = "weekly"
    priority = 0.6

    def items(self):
        return Category.objects.annotate(
            guide_count=Count("articles", filter=published_q("articles__")),
            last_update=Max("articles__updated_at", filter=published_q("articles__")),
        ).order_by("pk")

    def lastmod(self, category):
        return category.last_update


class TagSitemap(PublicSitemap):
    changefreq = "weekly"
    priority = 0.4

    def items(self):
        # Only tags of published guides have a page (articles.views.TagView).
        public = Article.objects.published().values("pk")
        return (
            Tag.objects.filter(
                taggit_taggeditem_items__object_id__in=public,
                taggit_taggeditem_items__content_type__model="article",
            )
            .distinct()
            .order_by("pk")
        )

    def location(self, tag):
        return reverse("articles:tag", kwargs={"slug": tag.slug})


class LawSitemap(PublicSitemap):
    changefreq = "monthly"
    priority = 0.5

    def items(self):
        return Law.objects.order_by("pk")


class PageSitemap(PublicSitemap):
    changefreq = "daily"
    priority = 1.0

    def items(self):
        return ["articles:home", "articles:law-list"]

    def location(self, name):
        return reverse(name)


SITEMAPS = {
    "pages": PageSitemap,
    "guides": GuideSitemap,
    "topics": CategorySitemap,
    "tags": TagSitemap,
    "laws": LawSitemap,
}
