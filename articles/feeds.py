"""RSS and Atom feeds of the latest guides in each language, site-wide and per topic
(django.contrib.syndication; the feed's language is the address's, /en/feeds/…), and
each guide's updates (Atom): its change notes and its first publication.

Served like public pages (articles.caching.public_page): validators, the page cache,
and surrogate keys: the language's listing key, the topic's, and each guide's
(noted by its link)."""

from datetime import UTC, datetime
from typing import NamedTuple
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib.redirects.models import Redirect
from django.contrib.syndication.views import Feed
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import Resolver404, resolve, reverse
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

    def author_name(self):
        # Atom requires an author (RFC 4287): the site, which writes every guide.
        return site_name()

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


class GuideUpdate(NamedTuple):
    """One entry of a guide's updates feed: a change note, or its first publication."""

    id: str  # its Atom id (guide_entry_id)
    title: str
    description: str | None
    moment: datetime
    path: str


class _Moved(Exception):
    """The feed asked for lives at `path` (the guide's address changed)."""

    def __init__(self, path):
        self.path = path


class GuideUpdatesFeed(Feed):
    """/<language>/feeds/<topic>/<guide>/updates.atom, beside the guide's page
    /<language>/<topic>/<guide>/: what changed in one published guide, newest first
    (its change notes), ending with its first publication.

    The feed follows its guide: when the guide's slug or topic changed, the feed at
    its old address answers 301 to the new one (the page's redirect row,
    articles.redirects, says where it went), as does an address with another topic
    or language. Anything else is 404. Three queries at most: the guide (or where
    its old address leads), its notes."""

    feed_type = Atom1Feed

    def author_name(self):
        # Atom requires an author (RFC 4287): the site, which writes every guide.
        return site_name()

    @method_decorator(public_page)
    def __call__(self, request, *args, **kwargs):
        try:
            return super().__call__(request, *args, **kwargs)
        except _Moved as moved:
            return redirect(moved.path, permanent=True)

    def get_object(self, request, category, slug):
        guide = Article.objects.published().select_related("category").filter(slug=slug).first()
        if guide is None:
            raise _Moved(_moved_feed(category, slug))
        if guide.category.slug != category or guide.language != translation.get_language():
            raise _Moved(updates_feed_path(guide))
        surrogate.note(surrogate.guide_key(guide.pk))
        return guide

    def title(self, guide):
        return _("%(site)s: updates to “%(title)s”") % {"site": site_name(), "title": guide.title}

    def subtitle(self, guide):
        return guide.summary

    def link(self, guide):
        return guide.get_absolute_url()

    def feed_guid(self, guide):
        return guide_entry_id(guide, "updates", guide.created_at)

    def items(self, guide):
        path = guide.get_absolute_url()
        updates = [
            GuideUpdate(
                guide_entry_id(guide, f"update/{_stamp(note.made_at)}", note.made_at),
                note.note,
                None,
                note.made_at,
                path,
            )
            for note in guide.change_notes.all()
        ]
        first = GuideUpdate(
            guide_entry_id(guide, "published", guide.published_at),
            _("First published"),
            guide.summary,
            guide.published_at,
            path,
        )
        return [*updates, first]

    def item_title(self, update):
        return update.title

    def item_description(self, update):
        return update.description

    def item_link(self, update):
        return update.path

    def item_guid(self, update):
        return update.id

    def item_pubdate(self, update):
        return update.moment

    def item_updateddate(self, update):
        return update.moment


def updates_feed_path(guide) -> str:
    """The address of a guide's updates feed, under the guide's language. Reads
    guide.category."""
    with translation.override(guide.language):
        return reverse(
            "articles:guide-updates-feed",
            kwargs={"category": guide.category.slug, "slug": guide.slug},
        )


def _moved_feed(category: str, slug: str) -> str:
    """Where the feed of the guide once at /<language>/<category>/<slug>/ is now: the
    updates feed of the guide that address leads to (one hop: articles.redirects
    keeps no chains). Http404 when it leads nowhere, or to what is not a guide."""
    page = reverse("articles:article", kwargs={"category": category, "slug": slug})
    target = (
        Redirect.objects.filter(site_id=settings.SITE_ID, old_path=page)
        .exclude(new_path="")
        .values_list("new_path", flat=True)
        .first()
    )
    language = translation.get_language_from_path(target) if target else None
    if language:
        with translation.override(language):
            try:
                match = resolve(unquote(urlsplit(target).path))  # rows hold it encoded
            except Resolver404:
                match = None
            if match is not None and match.view_name == "articles:article":
                return reverse("articles:guide-updates-feed", kwargs=match.kwargs)
    raise Http404("No such guide")


def guide_entry_id(guide, entry: str, moment) -> str:
    """An Atom id (a tag URI, RFC 4151) for an entry of a guide's feed. Made of the
    site's host and the guide's creation time, not its address or row id, so it
    stays the same when the guide gets a new slug or topic, when the site moves from
    http to https, and when the content is exported and imported again
    (export_guides keeps creation times)."""
    host = urlsplit(settings.SITE_URL).hostname or "localhost"
    return f"tag:{host},{moment.astimezone(UTC):%Y-%m-%d}:guide/{_stamp(guide.created_at)}/{entry}"


def _stamp(moment) -> str:
    """A moment to the microsecond, in UTC, as a compact name."""
    return f"{moment.astimezone(UTC):%Y%m%dT%H%M%S%fZ}"
