"""Public pages. Every query starts from Article.objects.published()."""

from django.db.models import Count, Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.views.generic import ListView
from taggit.models import Tag

from .models import Article, Category, Citation, Law, LegalProvision, published_q

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
