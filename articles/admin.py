from django.contrib import admin
from django.db import models
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from .models import (
    Article,
    Category,
    Citation,
    Law,
    LegalProvision,
    PromotedResult,
    RelatedLink,
    Section,
)


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "position", "guide_count"]
    list_editable = ["position"]
    search_fields = ["name", "description"]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(guide_count=Count("articles"))

    @admin.display(description=_("guides"), ordering="guide_count")
    def guide_count(self, category):
        return category.guide_count


class SectionInline(admin.StackedInline):
    model = Section
    extra = 0
    fields = ["position", "kind", "heading", "body"]


class CitationInline(admin.TabularInline):
    model = Citation
    extra = 0
    autocomplete_fields = ["provision"]


class RelatedLinkInline(admin.TabularInline):
    model = RelatedLink
    fk_name = "from_article"
    extra = 0
    autocomplete_fields = ["to_article"]
    verbose_name_plural = _("related guides (shown first, then guides sharing tags)")


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ["title", "category", "status", "published_at", "updated_at"]
    list_filter = ["status", "category", "tags"]
    list_select_related = ["category"]
    search_fields = ["title", "summary", "slug"]
    prepopulated_fields = {"slug": ["title"]}
    autocomplete_fields = ["category", "previous_article", "next_article"]
    date_hierarchy = "published_at"
    readonly_fields = ["created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["title", "slug", "category", "summary", "tags"]}),
        (_("Publishing"), {"fields": ["status", "published_at", "created_at", "updated_at"]}),
        (_("Previous and next"), {"fields": ["previous_article", "next_article"]}),
    ]
    inlines = [SectionInline, CitationInline, RelatedLinkInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("tags")


class LegalProvisionInline(admin.StackedInline):
    model = LegalProvision
    extra = 0
    fields = ["position", "label", "text"]


@admin.register(Law)
class LawAdmin(admin.ModelAdmin):
    list_display = ["name", "short_name", "slug"]
    search_fields = ["name", "short_name"]
    prepopulated_fields = {"slug": ["short_name"]}
    inlines = [LegalProvisionInline]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


@admin.register(LegalProvision)
class LegalProvisionAdmin(admin.ModelAdmin):
    """Registered so citations can pick provisions with autocomplete."""

    list_display = ["label", "law"]
    list_filter = ["law"]
    list_select_related = ["law"]
    search_fields = ["label", "text", "law__name", "law__short_name"]


@admin.register(PromotedResult)
class PromotedResultAdmin(admin.ModelAdmin):
    """Best bets: editors pin a guide to the top of search results for given queries."""

    list_display = ["article", "query_lines", "position"]
    list_editable = ["position"]
    list_select_related = ["article"]
    search_fields = ["queries", "article__title"]
    autocomplete_fields = ["article"]

    @admin.display(description=_("queries"))
    def query_lines(self, promotion):
        return ", ".join(promotion.queries.splitlines())
