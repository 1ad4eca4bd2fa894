"""Public pages. Every query starts from Article.objects.published()."""

import re

from django.core.paginator import InvalidPage, Paginator
from django.db.models import Count, Prefetch
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.generic import ListView
from taggit.models import Tag

from .models import Article, Category, Citation, Law, LegalProvision, published_q
from .search import did_you_mean, suggest
from .search import search as search_guides

LATEST_ON_HOME = 8


def home(request):
    """Categories with their count of published guides, and the latest guides."""
    categories = Category.objects.annotate(
        guide_count=Count("articles", filter=published_q("articles__"))
    )
    latest = Article.objects.published().for_listing()[:LATEST_ON_HOME]
    return render(request, "articles/home.html", {"categories": categories, "latest": latest})


def article_detail(request, category, slug):
    """One published guide at /<category>/<slug>/, template articles/article_detail.html.

    An address with an outdated category answers 301 to the current one.
    """
    article = get_object_or_404(Article.objects.published().for_page(), slug=slug)
    if article.category.slug != category:
        return redirect(article, permanent=True)
    context = {
        "article": article,
        "previous": article.get_previous(),
        "next": article.get_next(),
        "related": article.get_related(),
    }
    return render(request, "articles/article_detail.html", context)


class GuideListView(ListView):
    """A paginated list of published guides; bad page numbers give 404 (ListView)."""

    paginate_by = 20
    paginate_orphans = 3
    context_object_name = "articles"


class CategoryView(GuideListView):
    template_name = "articles/category_detail.html"

    def get_queryset(self):
        self.category = get_object_or_404(Category, slug=self.kwargs["slug"])
        return Article.objects.published().filter(category=self.category).for_listing()

    def get_context_data(self, **kwargs):
        return super().get_context_data(category=self.category, **kwargs)


class TagView(GuideListView):
    template_name = "articles/tag_detail.html"
    # A tag used only by drafts has no public page.
    allow_empty = False

    def get_queryset(self):
        self.tag = get_object_or_404(Tag, slug=self.kwargs["slug"])
        return Article.objects.published().filter(tags=self.tag).for_listing()

    def get_context_data(self, **kwargs):
        return super().get_context_data(tag=self.tag, **kwargs)


class LawListView(ListView):
    template_name = "articles/law_list.html"
    context_object_name = "laws"
    queryset = Law.objects.annotate(provision_count=Count("provisions"))


def law_detail(request, slug):
    """A law's provisions, each with the published guides that cite it."""
    citing = Citation.objects.filter(published_q("article__")).select_related("article__category")
    provisions = LegalProvision.objects.prefetch_related(
        Prefetch("citations", queryset=citing.order_by("article__title"))
    )
    law = get_object_or_404(
        Law.objects.prefetch_related(Prefetch("provisions", queryset=provisions)), slug=slug
    )
    return render(request, "articles/law_detail.html", {"law": law})


SEARCH_PAGE_SIZE = 10
SLUG = re.compile(r"[-\w]{1,100}")


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
        "categories": Category.objects.annotate(
            guide_count=Count("articles", filter=published_q("articles__"))
        ).filter(guide_count__gt=0),
    }
    if query.is_empty or results.count() == 0:
        context["popular"] = Article.objects.published().for_listing()[:LATEST_ON_HOME]
    response = render(request, "articles/search.html", context)
    response["X-Robots-Tag"] = "noindex"
    return response


def search_suggestions(request):
    """JSON titles for the search box as a citizen types: {"suggestions": [...]}."""
    prefix = request.GET.get("q", "")
    return JsonResponse({"suggestions": suggest(prefix)}, headers={"X-Robots-Tag": "noindex"})


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
