"""The search report: what citizens search for, what they do not find, and what they
find but do not open, over a chosen period and page language.

The Searches entry of the admin opens the report instead of a list of rows: a row
is one anonymous search and says nothing alone. Everyone with
insights.view_searchrecord (Editors and Publishers) reads it. No one adds, changes
or deletes searches in the admin; they leave only by retention
(`manage.py purge_search_records`), so the figures stay what citizens did.

From each query, one click starts the fix: a best bet (the PromotedResult add form
with the query filled in) for those who may add best bets, a new guide (the Article
add form with the query as its title, in the search's language) for those who may
add guides. A query is citizens' text: the template escapes it like any other value.
"""

from http import HTTPStatus
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from . import searches
from .admin_base import ReportAdmin
from .models import SearchRecord


class SearchReportForm(forms.Form):
    """The report's GET form: a period of the last 7, 30 or 90 days, one page
    language or all."""

    period = forms.TypedChoiceField(label=gettext_lazy("Period"), coerce=int)
    language = forms.ChoiceField(label=gettext_lazy("Language"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["period"].choices = [
            (days, ngettext("Last %(days)d day", "Last %(days)d days", days) % {"days": days})
            for days in searches.PERIODS
        ]
        self.fields["language"].choices = [("", _("All languages")), *settings.LANGUAGES]

    @classmethod
    def from_query_string(cls, query_dict) -> "SearchReportForm":
        """Bound to the address's values, the defaults standing in for missing ones,
        so the first visit shows a report and a bad value a form error."""
        data = {"period": str(searches.DEFAULT_PERIOD), "language": ""}
        data.update({name: query_dict[name] for name in data if name in query_dict})
        return cls(data)


@admin.register(SearchRecord)
class SearchRecordAdmin(ReportAdmin):
    report_template = "admin/insights/searchrecord/report.html"

    def changelist_view(self, request, extra_context=None):
        """The report (template admin/insights/searchrecord/report.html): totals and
        three tables, in a fixed number of queries whatever the number of searches."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = SearchReportForm.from_query_string(request.GET)
        report = None
        if form.is_valid():
            days, language = form.cleaned_data["period"], form.cleaned_data["language"]
            report = searches.report(days, language)
            links = self._link_makers(request)
            for row in [*report.top, *report.no_results, *report.unopened]:
                self._add_links(row, links)
                if "opened" in row:
                    row["opened_percent"] = round(100 * row["opened"] / row["searches"])
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("What citizens search for"),
            "form": form,
            "report": report,
            "show_language": report is not None and not form.cleaned_data["language"],
            "unopened_min_searches": searches.UNOPENED_MIN_SEARCHES,
            "retention_days": searches.retention_days(),
            **(extra_context or {}),
        }
        request.current_app = self.admin_site.name
        status = HTTPStatus.OK if report is not None else HTTPStatus.BAD_REQUEST
        return TemplateResponse(request, self.report_template, context, status=status)

    def _link_makers(self, request) -> dict:
        """The add forms this user may open (the permissions are read once)."""
        user = request.user
        site = self.admin_site.name
        return {
            "promote": reverse(f"{site}:articles_promotedresult_add")
            if user.has_perm("articles.add_promotedresult")
            else "",
            "start": reverse(f"{site}:articles_article_add")
            if user.has_perm("articles.add_article")
            else "",
        }

    @staticmethod
    def _add_links(row: dict, links: dict) -> None:
        query, language = row["query"], row["language"]
        names = dict(settings.LANGUAGES)
        known = language in names
        row["language_name"] = names.get(language, language)
        row["promote_url"] = (
            f"{links['promote']}?{urlencode({'queries': query})}" if links["promote"] else ""
        )
        start = {"title": query, "language": language} if known else {"title": query}
        row["start_url"] = f"{links['start']}?{urlencode(start)}" if links["start"] else ""
        row["search_url"] = ""
        if known:
            # The page citizens saw (a staff member's search is not recorded).
            with translation.override(language):
                row["search_url"] = f"{reverse('articles:search')}?{urlencode({'q': query})}"
