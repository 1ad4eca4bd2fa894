"""Public pages. Every query starts from Article.objects.published(); every page
gets its <head> from a PageMeta (articles.seo) and HTTP validators from
articles.caching.public_page."""

import functools
import re
from typing import NamedTuple

from django import forms
from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.paginator import InvalidPage, Paginator
from django.db.models import Count, F, Window, prefetch_related_objects
from django.db.models.functions import RowNumber
from django.http import Http404, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse, translate_url
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django.views.generic import ListView
from taggit.models import Tag, TaggedItem
from translated_fields import to_attribute

from insights.searches import record_search

from . import feedback as feedback_rules
from . import seo, surrogate
from .caching import content_etag, private, private_page, public_page, release
from .feeds import updates_feed_path
from .models import (
    Article,
    ArticleQuerySet,
    Category,
    Citation,
    FeedbackComment,
    Law,
    PreviewLink,
    published_q,
)
from .search import did_you_mean, suggest
from .search import search as search_guides

LATEST_ON_HOME = 8
# Previews must not be indexed, nor their links followed to unpublished pages.
PREVIEW_ROBOTS = "noindex, nofollow"


def site_feeds():
    return [
        ("application/rss+xml", _("Latest guides (RSS)"), reverse("articles:feed-rss")),
        ("application/atom+xml", _("Latest guides (Atom)"), reverse("articles:feed-atom")),
    ]


def topics_with_counts(request) -> list:
    """Every topic with its count of published guides in the page's language, kept
    under the content version: counting means reading every guide."""
    key = f"articles:topic-counts:{content_etag(request)}:{translation.get_language()}"
    topics = cache.get(key)
    if topics is None:
        topics = list(Category.objects.with_guide_counts())
        cache.set(key, topics, 60 * 60)  # a new content version uses a new key
    return topics


@public_page
def home(request):
    """Categories with their count of published guides, and the latest guides."""
    surrogate.note(surrogate.listing_key(translation.get_language()))
    categories = topics_with_counts(request)
    latest = Article.objects.published().in_language().for_listing()[:LATEST_ON_HOME]
    path = reverse("articles:home")
    meta = seo.PageMeta(
        title="",
        description=_(
            "Clear, step-by-step guides to public services: what to do, where to go, "
            "and what the law says."
        ),
        path=path,
        structured_data=seo.website_data(),
        feeds=site_feeds(),
        translations=seo.same_page_in_every_language(path),
        x_default=reverse("language-home"),
    )
    context = {"categories": categories, "latest": latest, "meta": meta}
    return render(request, "articles/home.html", context)


@public_page
def article_detail(request, category, slug):
    """One published guide at /<category>/<slug>/, template articles/article_detail.html.

    An address with an outdated category answers 301 to the current one.
    """
    article = get_object_or_404(Article.objects.published().for_page(), slug=slug)
    if article.category.slug != category or article.language != translation.get_language():
        return redirect(article, permanent=True)
    return render_guide(request, article)


def render_guide(request, article, preview=False):
    """The guide page; previews use the same template, marked noindex and uncached.
    The page is in the guide's language whatever the address (previews have none)."""
    with translation.override(article.language):
        response = _render_guide(request, article, preview)
    response["Content-Language"] = article.language
    return response


def _render_guide(request, article, preview):
    """Outside previews, all the page shows but the guide's own row (its parts,
    neighbours, translations, related guides, structured data and the rendered body)
    is cached under the content version (caching.content_etag), which moves with every
    change: never stale. A hit costs no query; the surrogate keys noted while the
    parts were made are noted again on every use."""
    version = None if preview else content_etag(request)
    key = f"articles:guide-page:{release()}:{version}:{article.pk}"
    parts = cache.get(key) if version else None
    if parts is None:
        with surrogate.collecting() as noted:
            prefetch_related_objects([article], *ArticleQuerySet.part_lookups())
            sections, citations = article.sections.all(), article.citations.all()
            # Alphabetical, so the page does not depend on the order tags were added.
            tags = sorted(article.tags.all(), key=lambda tag: tag.name.casefold())
            surrogate.note(*(surrogate.tag_key(tag.pk) for tag in tags))
            previous, following = article.get_neighbours()  # reads the translations too
            versions = [article, *article.get_translations()]
            updates_feed = None if preview else updates_feed_path(article)
            context = {
                "preview": preview,
                "article": article,
                "sections": sections,
                "citations": citations,
                "tags": tags,
                "previous": previous,
                "next": following,
                "related": article.get_related(),
                # No query for a guide without notes (for_page() read that).
                "change_notes": article.get_change_notes(),
                "updates_feed": updates_feed,
            }
            feeds = site_feeds()
            if updates_feed:
                feeds.append(
                    ("application/atom+xml", _("Updates to this guide (Atom)"), updates_feed)
                )
            parts = {
                "body": render_to_string("includes/guide.html", context),
                "structured_data": None
                if preview
                else seo.json_ld(seo.guide_data(article, sections, citations, tags)),
                "feeds": feeds,
                "translations": {each.language: each.get_absolute_url() for each in versions},
                "x_default": seo.default_version(versions).get_absolute_url(),
            }
        parts["surrogate_keys"] = sorted(noted)
        if version:
            cache.set(key, parts, 60 * 60)  # a new content version uses a new key
    surrogate.note(*parts["surrogate_keys"])
    meta = seo.PageMeta(
        title=article.title,
        description=article.summary,
        path=article.get_absolute_url(),
        og_type="article",
        noindex=preview,
        structured_data=parts["structured_data"],
        feeds=parts["feeds"],
        translations=parts["translations"],
        x_default=parts["x_default"],
    )
    context = {"preview": preview, "article": article, "body": parts["body"], "meta": meta}
    response = render(request, "articles/article_detail.html", context)
    return private(response, PREVIEW_ROBOTS) if preview else response


@private_page(robots=PREVIEW_ROBOTS)
@staff_member_required
def preview(request, pk):
    """Any guide, whatever its status, as citizens would see it: for staff only."""
    if not request.user.has_perm("articles.view_article"):
        raise PermissionDenied
    return render_guide(request, get_object_or_404(Article.objects.for_page(), pk=pk), True)


@private_page(robots=PREVIEW_ROBOTS)
def shared_preview(request, token):
    """A guide through a signed, expiring, revocable preview link (no login)."""
    link = PreviewLink.objects.from_token(token)
    if link is None:
        raise Http404("No such preview")
    if not link.is_valid():
        return render(request, "articles/preview_expired.html", status=410)
    return render_guide(request, Article.objects.for_page().get(pk=link.article_id), True)


class GuideListView(ListView):
    """A paginated list of published guides; bad page numbers give 404 (ListView)."""

    paginate_by = 20
    paginate_orphans = 3
    context_object_name = "articles"

    def page_title(self, page_number):
        return seo.paged_title(self.list_title(), page_number)


class CategoryView(GuideListView):
    template_name = "articles/category_detail.html"

    def get_queryset(self):
        self.category = get_object_or_404(Category, slug=self.kwargs["slug"])
        surrogate.note(surrogate.topic_key(self.category.pk))
        return (
            Article.objects.published().in_language().filter(category=self.category).for_listing()
        )

    def list_title(self):
        return self.category.name

    def get_context_data(self, **kwargs):
        context = super().get_context_data(category=self.category, **kwargs)
        number = context["page_obj"].number
        first_page = self.category.get_absolute_url()
        path = seo.paged_path(first_page, number)
        name = self.category.name
        context["meta"] = seo.PageMeta(
            title=self.page_title(number),
            description=self.category.description or _("Guides about %(topic)s.") % {"topic": name},
            path=path,
            structured_data=seo.category_data(self.category, context["articles"], path),
            feeds=[
                *site_feeds(),
                (
                    "application/rss+xml",
                    _("%(topic)s (RSS)") % {"topic": name},
                    reverse("articles:category-feed-rss", args=[self.category.slug]),
                ),
                (
                    "application/atom+xml",
                    _("%(topic)s (Atom)") % {"topic": name},
                    reverse("articles:category-feed-atom", args=[self.category.slug]),
                ),
            ],
            # Later pages differ by language: the switcher leads to the topic's first page.
            translations=seo.same_page_in_every_language(first_page),
            alternates_are_exact=number == 1,
        )
        return context


class TagView(GuideListView):
    template_name = "articles/tag_detail.html"
    # A tag used only by drafts has no public page.
    allow_empty = False

    def get_queryset(self):
        self.tag = get_object_or_404(Tag, slug=self.kwargs["slug"])
        surrogate.note(surrogate.tag_key(self.tag.pk))
        # The tag's guides by id (a semi-join PostgreSQL plans through the primary key,
        # 4 ms instead of 19 ms at 3,000 guides a tag, bench/pages.py).
        return (
            Article.objects.published().in_language().filter(pk__in=self.tagged_ids()).for_listing()
        )

    def tagged_ids(self):
        return TaggedItem.objects.filter(
            tag=self.tag, content_type=ContentType.objects.get_for_model(Article)
        ).values("object_id")

    def counts_by_language(self) -> dict[str, int]:
        """{language: its published guides with this tag}, in one query kept under the
        content version: counting reads every guide with the tag (40 ms on PostgreSQL
        at 3,000 a tag), for the page count and the switcher alike."""
        key = f"articles:tag-counts:{content_etag(self.request)}:{self.tag.pk}"
        counts = cache.get(key)
        if counts is None:
            counts = dict(
                Article.objects.published()
                .filter(pk__in=self.tagged_ids())
                .order_by()
                .values_list("language")
                .annotate(count=Count("pk"))
            )
            cache.set(key, counts, 60 * 60)  # a new content version uses a new key
        return counts

    def get_paginator(self, queryset, *args, **kwargs):
        paginator = super().get_paginator(queryset, *args, **kwargs)
        paginator.count = self.counts_by_language().get(translation.get_language(), 0)
        return paginator

    def list_title(self):
        return _("Guides tagged “%(tag)s”") % {"tag": self.tag.name}

    def tag_in_every_language(self):
        """This tag's page in each language that has published guides with it."""
        languages = self.counts_by_language()
        path = reverse("articles:tag", args=[self.tag.slug])
        translations = seo.same_page_in_every_language(path)
        own = translation.get_language()
        return {code: url for code, url in translations.items() if code in {own, *languages}}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(tag=self.tag, **kwargs)
        number = context["page_obj"].number
        path = seo.paged_path(reverse("articles:tag", args=[self.tag.slug]), number)
        context["meta"] = seo.PageMeta(
            title=self.page_title(number),
            description=_("Guides about %(topic)s.") % {"topic": self.tag.name},
            path=path,
            structured_data={
                "@context": "https://schema.org",
                **seo.breadcrumb_list(seo.home_crumb(), (self.tag.name, path)),
            },
            feeds=site_feeds(),
            translations=self.tag_in_every_language(),
            alternates_are_exact=number == 1,
        )
        return context


class LawListView(ListView):
    template_name = "articles/law_list.html"
    context_object_name = "laws"

    def get_queryset(self):
        surrogate.note(surrogate.LAW_LIST_KEY)
        # By name in the page's language (the first language's where none is given).
        return Law.objects.annotate(provision_count=Count("provisions")).order_by(
            to_attribute("name"), "pk"
        )

    def get_context_data(self, **kwargs):
        path = reverse("articles:law-list")
        return super().get_context_data(
            meta=seo.PageMeta(
                title=_("Laws cited in our guides"),
                description=_("The laws and provisions our guides are based on."),
                path=path,
                feeds=site_feeds(),
                translations=seo.same_page_in_every_language(path),
            ),
            **kwargs,
        )


# A law page lists this many citing guides per provision, by title, and links to a
# paginated list of all of them (law_detail with ?provision=<anchor>). The template's
# "The first 50 of …" text says the same number.
GUIDES_PER_PROVISION = 50


class CitingGuide(NamedTuple):
    pk: int
    title: str
    path: str


def _citing_guides(request, law) -> dict[int, tuple[int, list[CitingGuide]]]:
    """{provision pk: (its citing published guides in the page's language, the first
    GUIDES_PER_PROVISION of them by title)}, in one query, kept under the content
    version: ordering by title and counting read every citing guide (0.4 s on SQLite,
    0.2 s on PostgreSQL for a law cited by 50,000 guides a language, bench/pages.py)."""
    language = translation.get_language()
    key = f"articles:law-guides:{content_etag(request)}:{language}:{law.pk}"
    found = cache.get(key)
    if found is not None:
        return found
    by_title = [F("article__title").asc(), F("article_id").asc()]
    rows = (
        Citation.objects.filter(
            published_q("article__"), article__language=language, provision__law=law
        )
        .annotate(
            rank=Window(RowNumber(), partition_by=F("provision_id"), order_by=by_title),
            total=Window(Count("pk"), partition_by=F("provision_id")),
        )
        .filter(rank__lte=GUIDES_PER_PROVISION)
        .order_by("provision_id", "rank")
        .values_list(
            "provision_id", "total", "article_id", "article__title", "article__slug",
            "article__category__slug",
        )
    )  # fmt: skip
    found = {}
    for provision_id, total, *guide in rows:
        found.setdefault(provision_id, (total, []))[1].append(_citing_guide(language, *guide))
    cache.set(key, found, 60 * 60)  # a new content version uses a new key
    return found


def _citing_guide(language, pk, title, slug, category_slug) -> CitingGuide:
    guide = Article(pk=pk, language=language, slug=slug, category=Category(slug=category_slug))
    return CitingGuide(pk, title, guide.get_absolute_url())


@public_page
def law_detail(request, slug):
    """A law's provisions, each with the first GUIDES_PER_PROVISION published guides
    that cite it and their count; ?provision=<anchor>: all the guides citing that
    provision, paginated. A fixed number of queries, however many guides cite it."""
    law = get_object_or_404(Law.objects.prefetch_related("provisions"), slug=slug)
    # The law's key alone: saving a guide purges the keys of the laws it cites, so the
    # guides listed need no keys of their own (thousands would overflow xkey).
    surrogate.note(surrogate.law_key(law.pk))
    provisions = law.provisions.all()
    anchor = request.GET.get("provision")
    if anchor is not None:
        return _provision_guides(request, law, provisions, anchor)
    citing = _citing_guides(request, law)
    for provision in provisions:
        provision.guide_count, provision.guides = citing.get(provision.pk, (0, []))
    path = law.get_absolute_url()
    meta = seo.PageMeta(
        title=law.name,
        description=_(
            "The provisions of the %(law)s cited in our guides, and the guides that rely on them."
        )
        % {"law": law.name},
        path=path,
        structured_data={
            "@context": "https://schema.org",
            "@type": "Legislation",
            "name": law.name,
            "alternateName": law.short_name,
            "url": seo.absolute(law.get_absolute_url()),
            "hasPart": [seo.legislation(p) for p in provisions],
            "inLanguage": seo.bcp47(translation.get_language()),
        },
        feeds=site_feeds(),
        translations=seo.same_page_in_every_language(path),
    )
    context = {"law": law, "provisions": provisions, "meta": meta}
    return render(request, "articles/law_detail.html", context)


def _provision_guides(request, law, provisions, anchor):
    """law_detail?provision=<anchor>: every published guide in the page's language
    that cites the provision, by title, GUIDES_PER_PROVISION to a page. The count and
    the first page are the law page's (_citing_guides); a later page is one query."""
    provision = next((p for p in provisions if p.anchor == anchor), None)
    if provision is None:
        raise Http404("No such provision")
    total, first_guides = _citing_guides(request, law).get(provision.pk, (0, []))
    rows = (
        Article.objects.published()
        .in_language()
        .filter(citations__provision=provision)
        .order_by("title", "pk")
        .values_list("pk", "title", "slug", "category__slug")
    )
    paginator = Paginator(rows, GUIDES_PER_PROVISION)
    paginator.count = total  # instead of a COUNT reading every citing guide again
    page = _page_or_404(paginator, request.GET.get("page"))
    if page.number == 1:
        guides = first_guides
    else:
        guides = [_citing_guide(translation.get_language(), *row) for row in page.object_list]
    law_path = law.get_absolute_url()
    first_page = f"{law_path}?provision={provision.anchor}"
    path = first_page if page.number == 1 else f"{first_page}&page={page.number}"
    names = {"provision": provision.label, "law": law.short_name or law.name}
    title = _("Guides that cite %(provision)s of the %(law)s") % names
    meta = seo.PageMeta(
        title=seo.paged_title(title, page.number),
        description=_("All our guides that cite %(provision)s of the %(law)s, by title.") % names,
        path=path,
        structured_data={
            "@context": "https://schema.org",
            **seo.breadcrumb_list(seo.home_crumb(), (law.name, law_path), (title, first_page)),
        },
        feeds=site_feeds(),
        # Later pages differ by language: the switcher leads to the first page.
        translations=seo.same_page_in_every_language(first_page),
        alternates_are_exact=page.number == 1,
    )
    context = {"law": law, "cited": provision, "guides": guides, "page_obj": page, "meta": meta}
    return render(request, "articles/law_detail.html", context)


category = public_page(CategoryView.as_view())
tag = public_page(TagView.as_view())
law_list = public_page(LawListView.as_view())


@public_page
def robots_txt(request):
    """Crawlers: everything public, not the admin, search results, previews or the
    language switcher's redirects. Made once per process (and site address): it
    depends on the settings only; served like a public page (from the page cache)."""
    text = _robots_text(settings.SITE_URL)
    return HttpResponse(text, content_type="text/plain; charset=utf-8")


@functools.cache
def _robots_text(site_url):
    searches = []
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            searches.append(f"Disallow: {reverse('articles:search')}")
    lines = [
        "User-agent: *",
        "Disallow: /admin/",
        *searches,
        "Disallow: /preview/",
        "Disallow: /language/",
        f"Sitemap: {seo.absolute(reverse('sitemap-index'))}",
    ]
    return "\n".join(lines) + "\n"


def language_home(request):
    """/ : the home page in the visitor's language (the switcher's cookie, then the
    browser's Accept-Language, then the site default). The answer depends on the
    visitor, so no cache may keep it."""
    language = translation.get_language_from_request(request)
    with translation.override(language):
        target = reverse("articles:home")
    query = request.META.get("QUERY_STRING", "")
    response = HttpResponseRedirect(f"{target}?{query}" if query else target)
    patch_vary_headers(response, ["Cookie", "Accept-Language"])
    return private(response)


def choose_language(request, code):
    """The switcher's links: remember the visitor's language for "/" and go to `next`,
    the page in that language (a path of this site under /<code>/), else its home."""
    if code not in dict(settings.LANGUAGES):
        raise Http404("No such language")
    with translation.override(code):
        home_page = reverse("articles:home")
    target = request.GET.get("next", "")
    safe = url_has_allowed_host_and_scheme(target, allowed_hosts=None) and target.startswith(
        home_page
    )
    response = HttpResponseRedirect(target if safe else home_page)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        code,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )
    return private(response)


SEARCH_PAGE_SIZE = 10
SLUG = re.compile(r"[-\w]{1,100}")


@private_page(history=True)  # Back to results must not count the search again
def search(request):
    """/search/?q=…&category=…&tag=…: ranked, highlighted results, template
    articles/search.html. Any input is read as plain words; bad filters are ignored
    with a message, bad page numbers give 404."""
    raw_query = request.GET.get("q", "")
    category = _optional(Category.objects.all(), request.GET.get("category"))
    tag = _optional(Tag.objects.all(), request.GET.get("tag"))
    # ?lang=all searches the guides of every language; by default, the page's.
    every_language = request.GET.get("lang") == "all"
    language = None if every_language else translation.get_language()
    promoted, results = search_guides(raw_query, category=category, tag=tag, language=language)
    paginator = Paginator(results, SEARCH_PAGE_SIZE, orphans=2)
    page = _page_or_404(paginator, request.GET.get("page"))
    query = results.query
    context = {
        "query": query,
        "promoted": promoted if page.number == 1 else [],
        "page_obj": page,
        "hits": page.object_list,
        "results": results,
        "total": results.count() + len(promoted),
        "category": category,
        "tag": tag,
        "unknown_filter": bool(request.GET.get("category"))
        and category is None
        or bool(request.GET.get("tag"))
        and tag is None,
        "every_language": every_language,
        "did_you_mean": did_you_mean(query, language=language),
        "categories": [topic for topic in topics_with_counts(request) if topic.guide_count],
    }
    if query.is_empty or results.count() == 0:
        context["popular"] = (
            Article.objects.published().in_language().for_listing()[:LATEST_ON_HOME]
        )
    if query.is_empty:
        title = _("Search guides")
    else:
        title = _("Search results for “%(query)s”") % {"query": query.text}
    context["meta"] = seo.PageMeta(
        title=seo.paged_title(title, page.number),
        description=_("Search the guides of %(site)s.") % {"site": seo.site_name()},
        path=reverse("articles:search"),
        noindex=True,
        translations={
            code: translate_url(request.get_full_path(), code) for code, _name in settings.LANGUAGES
        },
    )
    # The editors' search report: one row for a first page, the address result links ping.
    context["opened_url"] = record_search(
        request,
        query,
        category=category,
        tag=tag,
        every_language=every_language,
        result_count=context["total"],
    )
    return render(request, "articles/search.html", context)


@private_page
def search_suggestions(request):
    """JSON titles for the search box as a citizen types: {"suggestions": [...]}."""
    language = None if request.GET.get("lang") == "all" else translation.get_language()
    return JsonResponse({"suggestions": suggest(request.GET.get("q", ""), language=language)})


def _optional(queryset, slug):
    """The object with this slug, or None for a missing or malformed one."""
    if not slug or not SLUG.fullmatch(slug):
        return None
    return queryset.filter(slug=slug).first()


def _page_or_404(paginator, number):
    try:
        return paginator.page(number or 1)
    except (InvalidPage, TypeError, ValueError) as exc:
        raise Http404("No such page of results") from exc


class FeedbackCommentForm(forms.Form):
    comment = forms.CharField(
        label=gettext_lazy(
            "What were you looking for? (optional, do not include personal details)"
        ),
        max_length=FeedbackComment.MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": FeedbackComment.MAX_LENGTH}),
    )


def _feedback_target(request, slug):
    """The published guide feedback is about, from a page of this site only."""
    article = get_object_or_404(Article.objects.published().select_related("category"), slug=slug)
    if not feedback_rules.is_same_origin(request):
        raise PermissionDenied("Feedback must be sent from this site's pages.")
    return article


def _feedback_response(request, article, status, context, json):
    """JSON for feedback.js, else the page articles/feedback.html; never cached."""
    if "application/json" in request.headers.get("Accept", ""):
        response = JsonResponse(json, status=status)
    else:
        context = {"article": article, **context}
        response = render(request, "articles/feedback.html", context, status=status)
    return private(response)


VOTE_REFUSALS = {
    feedback_rules.Outcome.OVER_HOURLY_LIMIT: gettext_lazy(
        "You have sent a lot of feedback in the last hour. Please try again later."
    ),
}
COMMENT_REFUSALS = {
    feedback_rules.Outcome.OVER_HOURLY_LIMIT: gettext_lazy(
        "You have sent several comments in the last hour. Please try again later."
    ),
    feedback_rules.Outcome.GUIDE_FULL_TODAY: gettext_lazy(
        "This guide has received all the comments we can read today. Please try again tomorrow."
    ),
}


def _feedback_refusal(request, article, verdict, messages):
    """429 Too Many Requests, saying which limit was reached and when to come back."""
    message = str(messages[verdict.outcome])
    response = _feedback_response(request, article, 429, {"error": message}, {"error": message})
    if verdict.retry_after:
        response["Retry-After"] = str(verdict.retry_after)
    return response


@csrf_exempt  # the page is shared-cacheable; articles.feedback checks the Origin instead
@require_POST
def feedback(request, slug):
    """A 'Was this page helpful?' vote: a plain form post, or JSON for the script."""
    article = _feedback_target(request, slug)
    answer = request.POST.get("helpful")
    if answer not in {"yes", "no"}:
        return _feedback_response(
            request,
            article,
            400,
            {"error": _("Choose Yes or No.")},
            {"error": _("Choose Yes or No.")},
        )
    verdict = feedback_rules.cast_vote(request, article, helpful=answer == "yes")
    if verdict.outcome is feedback_rules.Outcome.ALREADY_VOTED:
        return _feedback_response(
            request,
            article,
            429,
            {"already": True},
            {"error": _("You have already told us about this page today. Thank you.")},
        )
    if not verdict.counted:
        return _feedback_refusal(request, article, verdict, VOTE_REFUSALS)
    ask = answer == "no"
    return _feedback_response(
        request,
        article,
        200,
        {"ask_comment": ask, "form": FeedbackCommentForm()},
        {
            "thanks": True,
            "ask_comment": ask,
            "comment_url": reverse("articles:feedback-comment", args=[article.slug]),
        },
    )


@csrf_exempt  # see feedback()
@require_POST
def feedback_comment(request, slug):
    """The optional comment after 'No', stored as plain text."""
    article = _feedback_target(request, slug)
    form = FeedbackCommentForm(request.POST)
    if not form.is_valid():
        errors = [str(e) for e in form.errors.get("comment", [])]
        return _feedback_response(
            request,
            article,
            400,
            {"ask_comment": True, "form": form},
            {"error": " ".join(errors)},
        )
    verdict = feedback_rules.submit_comment(request, article, form.cleaned_data["comment"])
    if not verdict.counted:
        return _feedback_refusal(request, article, verdict, COMMENT_REFUSALS)
    return _feedback_response(request, article, 200, {"commented": True}, {"thanks": True})
