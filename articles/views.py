"""Public pages. Every query starts from Article.objects.published(); every page
gets its <head> from a PageMeta (articles.seo) and HTTP validators from
articles.caching.public_page."""

import re

from django import forms
from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import InvalidPage, Paginator
from django.db.models import Count, Prefetch
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django.views.generic import ListView
from taggit.models import Tag

from . import feedback as feedback_rules
from . import seo
from .caching import private, private_page, public_page
from .models import (
    Article,
    Category,
    Citation,
    FeedbackComment,
    Law,
    LegalProvision,
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
        ("application/rss+xml", "Latest guides (RSS)", reverse("articles:feed-rss")),
        ("application/atom+xml", "Latest guides (Atom)", reverse("articles:feed-atom")),
    ]


@public_page
def home(request):
    """Categories with their count of published guides, and the latest guides."""
    categories = Category.objects.with_guide_counts()
    latest = Article.objects.published().for_listing()[:LATEST_ON_HOME]
    meta = seo.PageMeta(
        title="",
        description="Clear, step-by-step guides to public services: what to do, where to go, "
        "and what the law says.",
        path="/",
        structured_data=seo.website_data(),
        feeds=site_feeds(),
    )
    context = {"categories": categories, "latest": latest, "meta": meta}
    return render(request, "articles/home.html", context)


@public_page
def article_detail(request, category, slug):
    """One published guide at /<category>/<slug>/, template articles/article_detail.html.

    An address with an outdated category answers 301 to the current one.
    """
    article = get_object_or_404(Article.objects.published().for_page(), slug=slug)
    if article.category.slug != category:
        return redirect(article, permanent=True)
    return render_guide(request, article)


def render_guide(request, article, preview=False):
    """The guide page; previews use the same template, marked noindex and uncached."""
    sections, citations = article.sections.all(), article.citations.all()
    # Alphabetical, so the page does not depend on the order tags were added.
    tags = sorted(article.tags.all(), key=lambda tag: tag.name.casefold())
    meta = seo.PageMeta(
        title=article.title,
        description=article.summary,
        path=article.get_absolute_url(),
        og_type="article",
        noindex=preview,
        structured_data=None if preview else seo.guide_data(article, sections, citations, tags),
        feeds=site_feeds(),
    )
    previous, following = article.get_neighbours()
    context = {
        "preview": preview,
        "article": article,
        "sections": sections,
        "citations": citations,
        "tags": tags,
        "previous": previous,
        "next": following,
        "related": article.get_related(),
        "meta": meta,
    }
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
        title = self.list_title()
        return title if page_number == 1 else f"{title} (page {page_number})"


class CategoryView(GuideListView):
    template_name = "articles/category_detail.html"

    def get_queryset(self):
        self.category = get_object_or_404(Category, slug=self.kwargs["slug"])
        return Article.objects.published().filter(category=self.category).for_listing()

    def list_title(self):
        return self.category.name

    def get_context_data(self, **kwargs):
        context = super().get_context_data(category=self.category, **kwargs)
        number = context["page_obj"].number
        path = seo.paged_path(self.category.get_absolute_url(), number)
        context["meta"] = seo.PageMeta(
            title=self.page_title(number),
            description=self.category.description or f"Guides about {self.category.name}.",
            path=path,
            structured_data=seo.category_data(self.category, context["articles"], path),
            feeds=[
                *site_feeds(),
                (
                    "application/rss+xml",
                    f"{self.category.name} (RSS)",
                    reverse("articles:category-feed-rss", args=[self.category.slug]),
                ),
                (
                    "application/atom+xml",
                    f"{self.category.name} (Atom)",
                    reverse("articles:category-feed-atom", args=[self.category.slug]),
                ),
            ],
        )
        return context


class TagView(GuideListView):
    template_name = "articles/tag_detail.html"
    # A tag used only by drafts has no public page.
    allow_empty = False

    def get_queryset(self):
        self.tag = get_object_or_404(Tag, slug=self.kwargs["slug"])
        return Article.objects.published().filter(tags=self.tag).for_listing()

    def list_title(self):
        return f"Guides tagged “{self.tag.name}”"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(tag=self.tag, **kwargs)
        number = context["page_obj"].number
        path = seo.paged_path(reverse("articles:tag", args=[self.tag.slug]), number)
        context["meta"] = seo.PageMeta(
            title=self.page_title(number),
            description=f"Guides about {self.tag.name}.",
            path=path,
            structured_data={
                "@context": "https://schema.org",
                **seo.breadcrumb_list(("Home", "/"), (self.tag.name, path)),
            },
            feeds=site_feeds(),
        )
        return context


class LawListView(ListView):
    template_name = "articles/law_list.html"
    context_object_name = "laws"
    queryset = Law.objects.annotate(provision_count=Count("provisions")).order_by("name")

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            meta=seo.PageMeta(
                title="Laws cited in our guides",
                description="The laws and provisions our guides are based on.",
                path=reverse("articles:law-list"),
                feeds=site_feeds(),
            ),
            **kwargs,
        )


@public_page
def law_detail(request, slug):
    """A law's provisions, each with the published guides that cite it."""
    citing = Citation.objects.filter(published_q("article__")).select_related("article__category")
    provisions = LegalProvision.objects.prefetch_related(
        Prefetch("citations", queryset=citing.order_by("article__title"))
    )
    law = get_object_or_404(
        Law.objects.prefetch_related(Prefetch("provisions", queryset=provisions)), slug=slug
    )
    meta = seo.PageMeta(
        title=law.name,
        description=f"The provisions of the {law.name} cited in our guides, "
        "and the guides that rely on them.",
        path=law.get_absolute_url(),
        structured_data={
            "@context": "https://schema.org",
            "@type": "Legislation",
            "name": law.name,
            "alternateName": law.short_name,
            "url": seo.absolute(law.get_absolute_url()),
            "hasPart": [seo.legislation(p) for p in law.provisions.all()],
        },
        feeds=site_feeds(),
    )
    return render(request, "articles/law_detail.html", {"law": law, "meta": meta})


category = public_page(CategoryView.as_view())
tag = public_page(TagView.as_view())
law_list = public_page(LawListView.as_view())


def robots_txt(request):
    """Crawlers: everything public, not the admin, search results or previews."""
    lines = [
        "User-agent: *",
        "Disallow: /admin/",
        "Disallow: /search/",
        "Disallow: /preview/",
        f"Sitemap: {seo.absolute(reverse('sitemap-index'))}",
    ]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")


SEARCH_PAGE_SIZE = 10
SLUG = re.compile(r"[-\w]{1,100}")


@private_page
def search(request):
    """/search/?q=…&category=…&tag=…: ranked, highlighted results, template
    articles/search.html. Any input is read as plain words; bad filters are ignored
    with a message, bad page numbers give 404."""
    raw_query = request.GET.get("q", "")
    category = _optional(Category.objects.all(), request.GET.get("category"))
    tag = _optional(Tag.objects.all(), request.GET.get("tag"))
    promoted, results = search_guides(raw_query, category=category, tag=tag)
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
        "did_you_mean": did_you_mean(query),
        "categories": Category.objects.with_guide_counts().filter(guide_count__gt=0),
    }
    if query.is_empty or results.count() == 0:
        context["popular"] = Article.objects.published().for_listing()[:LATEST_ON_HOME]
    title = f"Search results for “{query.text}”" if not query.is_empty else "Search guides"
    context["meta"] = seo.PageMeta(
        title=title if page.number == 1 else f"{title} (page {page.number})",
        description=f"Search the guides of {settings.SITE_NAME}.",
        path=reverse("articles:search"),
        noindex=True,
    )
    return render(request, "articles/search.html", context)


@private_page
def search_suggestions(request):
    """JSON titles for the search box as a citizen types: {"suggestions": [...]}."""
    return JsonResponse({"suggestions": suggest(request.GET.get("q", ""))})


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
        label="What were you looking for? (optional, do not include personal details)",
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
    feedback_rules.Outcome.OVER_HOURLY_LIMIT: "You have sent a lot of feedback in the last hour. "
    "Please try again later.",
}
COMMENT_REFUSALS = {
    feedback_rules.Outcome.OVER_HOURLY_LIMIT: "You have sent several comments in the last hour. "
    "Please try again later.",
    feedback_rules.Outcome.GUIDE_FULL_TODAY: "This guide has received all the comments we can "
    "read today. Please try again tomorrow.",
}


def _feedback_refusal(request, article, verdict, messages):
    """429 Too Many Requests, saying which limit was reached and when to come back."""
    message = messages[verdict.outcome]
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
            {"error": "Choose Yes or No."},
            {"error": "Choose yes or no."},
        )
    verdict = feedback_rules.cast_vote(request, article, helpful=answer == "yes")
    if verdict.outcome is feedback_rules.Outcome.ALREADY_VOTED:
        return _feedback_response(
            request,
            article,
            429,
            {"already": True},
            {"error": "You have already told us about this page today. Thank you."},
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
