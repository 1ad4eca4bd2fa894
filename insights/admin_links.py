"""The link report: the latest check of every link in guides' sections and laws'
official sources (insights.links), problems first, for editors to fix.

View only: rows are written by checks alone (`manage.py check_links`, the guides'
"Check links" action, or the one-guide check below), never edited by hand.
"""

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import quote
from django.core.exceptions import PermissionDenied
from django.db.models import F
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from articles.models import Article

from . import links
from .admin_base import ReportAdmin
from .models import LinkCheck

CHECK_PERMISSION = "insights.check_links"
# The action checks while the editor waits; more guides are for the command.
MAX_GUIDES_PER_ACTION = 10


def may_check_links(user) -> bool:
    return user.has_perm(CHECK_PERMISSION)


class ResultFilter(admin.SimpleListFilter):
    """Problems only unless asked otherwise (or a status is chosen)."""

    title = _("result")
    parameter_name = "show"

    def lookups(self, request, model_admin):
        return [("all", _("All links"))]

    def choices(self, changelist):
        yield {
            "selected": self.value() != "all",
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": _("Problems only"),
        }
        yield {
            "selected": self.value() == "all",
            "query_string": changelist.get_query_string({self.parameter_name: "all"}),
            "display": _("All links"),
        }

    def queryset(self, request, queryset):
        if self.value() == "all" or "status__exact" in request.GET:
            return queryset
        return queryset.exclude(status=LinkCheck.Status.OK)


class SourceFilter(admin.SimpleListFilter):
    title = _("found in")
    parameter_name = "source"

    def lookups(self, request, model_admin):
        return [("guide", _("Guides")), ("law", _("Laws"))]

    def queryset(self, request, queryset):
        if self.value() == "guide":
            return queryset.filter(article__isnull=False)
        if self.value() == "law":
            return queryset.filter(law__isnull=False)
        return queryset


@admin.register(LinkCheck)
class LinkCheckAdmin(ReportAdmin):
    change_list_template = "admin/insights/linkcheck/change_list.html"
    list_display = [
        "found_in",
        "url",
        "status",
        "http_status",
        "final_url",
        "internal",
        "message",
        "checked_at",
    ]
    list_display_links = None
    list_filter = [ResultFilter, "status", "internal", SourceFilter]
    list_select_related = ["article", "law"]
    search_fields = ["url", "final_url"]
    # Guide by guide (laws after them on every database), then by address.
    ordering = [F("article__title").asc(nulls_last=True), "law__slug", "url", "pk"]
    list_per_page = 100
    actions = None
    # The filters the checks link to (one guide, the guides of an action).
    EXTRA_LOOKUPS = frozenset({"article__id__exact", "article__id__in", "law__id__exact"})

    def lookup_allowed(self, lookup, value, request=None):
        return lookup in self.EXTRA_LOOKUPS or super().lookup_allowed(lookup, value, request)

    @admin.display(description=_("found in"), ordering="article__title")
    def found_in(self, check):
        """A link to the guide's (or law's) form. Reads check.article and check.law."""
        if check.article_id is not None:
            url = reverse("admin:articles_article_change", args=[quote(check.article_id)])
            return format_html('<a href="{}">{}</a>', url, check.article.title)
        url = reverse("admin:articles_law_change", args=[quote(check.law_id)])
        return format_html(
            '{} <a href="{}">{}</a>', gettext("Law:"), url, str(check.law) or check.law.slug
        )

    def get_urls(self):
        return [
            path(
                "check-guide/<int:pk>/",
                self.admin_site.admin_view(self.check_guide_view),
                name="insights_linkcheck_check_guide",
            ),
            *super().get_urls(),
        ]

    def check_guide_view(self, request, pk):
        """POST: check one guide's links now, then show them (the change form's button)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not may_check_links(request.user) or not request.user.has_perm("articles.view_article"):
            raise PermissionDenied
        article = get_object_or_404(Article, pk=pk)
        report = links.check_links(
            Article.objects.filter(pk=article.pk),
            deadline_seconds=settings.LINK_CHECK_ACTION_DEADLINE,
        )
        report_message(request, report)
        return redirect(report_url(article_ids=[article.pk], everything=True))


def report_url(article_ids=(), everything=False) -> str:
    query = {}
    if len(article_ids) == 1:
        query["article__id__exact"] = article_ids[0]
    elif article_ids:
        query["article__id__in"] = ",".join(str(pk) for pk in article_ids)
    if everything:
        query["show"] = "all"
    return reverse("admin:insights_linkcheck_changelist") + "?" + urlencode(query)


def report_message(request, report: links.Report, article_ids=()) -> None:
    """One message: what was found, with a link to the report of those guides."""
    counts = report.counts
    problems = report.links - counts[LinkCheck.Status.OK]
    summary = ngettext(
        "%(links)d link checked: %(ok)d working, %(redirected)d redirected, "
        "%(broken)d broken, %(timeout)d timed out, %(unchecked)d not checked.",
        "%(links)d links checked: %(ok)d working, %(redirected)d redirected, "
        "%(broken)d broken, %(timeout)d timed out, %(unchecked)d not checked.",
        report.links,
    ) % {
        "links": report.links,
        "ok": counts[LinkCheck.Status.OK],
        "redirected": counts[LinkCheck.Status.REDIRECTED],
        "broken": counts[LinkCheck.Status.BROKEN],
        "timeout": counts[LinkCheck.Status.TIMED_OUT],
        "unchecked": counts[LinkCheck.Status.UNCHECKED],
    }
    if article_ids and problems:
        summary = format_html(
            '{} <a href="{}">{}</a>', summary, report_url(article_ids), gettext("See the problems.")
        )
    messages.add_message(request, messages.WARNING if problems else messages.SUCCESS, summary)


@admin.action(description=_("Check links"), permissions=["check_links"])
def check_links_of_guides(modeladmin, request, queryset):
    """The guides' bulk action (articles.admin): checks at most MAX_GUIDES_PER_ACTION
    guides while the editor waits. The model admin must define
    has_check_links_permission (may_check_links)."""
    if not may_check_links(request.user):
        raise PermissionDenied
    ids = list(queryset.values_list("pk", flat=True)[: MAX_GUIDES_PER_ACTION + 1])
    if len(ids) > MAX_GUIDES_PER_ACTION:
        modeladmin.message_user(
            request,
            ngettext(
                "Choose at most %(count)d guide at a time; for more, run “manage.py check_links”.",
                "Choose at most %(count)d guides at a time; for more, run “manage.py check_links”.",
                MAX_GUIDES_PER_ACTION,
            )
            % {"count": MAX_GUIDES_PER_ACTION},
            messages.WARNING,
        )
        return
    report = links.check_links(
        Article.objects.filter(pk__in=ids),
        deadline_seconds=settings.LINK_CHECK_ACTION_DEADLINE,
    )
    report_message(request, report, article_ids=ids)
