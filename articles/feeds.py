"""RSS and Atom feeds of the latest guides in each language, site-wide and per topic
(django.contrib.syndication; the feed's language is the address's, /en/feeds/…).

Served like public pages (articles.caching.public_page): validators, the page cache,
and surrogate keys: the language's listing key, the topic's, and each guide's
(noted by its link)."""

from django.contrib.syndication.views import Feed
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import translation
from django.utils.decorators import method_decorator
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import surrogate
from .caching import public_page
from .models import Article, Category
from .seo import site_name

FEED_LENGTH = 30


class LatestGuidesFeed(Feed):
    description = gettext_lazy("The latest guides published.")

    def title(self):
        return _("%(site)s: latest guides") % {"site": site_name()}

    def link(self):
        return reverse("articles:home")

    @method_decorator(public_page)
    def __call__(self, request, *args, **kwargs):
        return super().__call__(request, *args, **kwargs)

    def items(self):
        surrogate.note(surrogate.listing_key(translation.get_language()))
        return Article.objects.published().in_language().for_listing()[:FEED_LENGTH]

    def item_title(self, article):
        return article.title

    def item_description(self, article):
        return article.summary

    def item_pubdate(self, article):
        return article.published_at

    def item_updateddate(self, article):
        return article.updated_at

    def item_categories(self, article):
        return [article.category.name]


class LatestGuidesAtomFeed(LatestGuidesFeed):
    feed_type = Atom1Feed
    subtitle = LatestGuidesFeed.description


class CategoryFeed(LatestGuidesFeed):
    def get_object(self, request, slug):
        return get_object_or_404(Category, slug=slug)

    def title(self, category):
        return f"{site_name()}: {category.name}"

    def link(self, category):
        return category.get_absolute_url()

    def description(self, category):
        return category.description or _("The latest guides about %(topic)s.") % {
            "topic": category.name
        }

    def items(self, category):
        surrogate.note(surrogate.topic_key(category.pk))
        guides = Article.objects.published().in_language().filter(category=category)
        return guides.for_listing()[:FEED_LENGTH]


class CategoryAtomFeed(CategoryFeed):
    feed_type = Atom1Feed

    def subtitle(self, category):
        return self.description(category)
