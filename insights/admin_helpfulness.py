"""Admin › Insights › Helpfulness: "Was this page helpful?" votes and comments over a
period, as charts and tables, least helpful guides first; one page per guide; the
comments as CSV.

Read-only: whoever may view the report (insights.view_helpfulnessreport, which
Editors and Publishers have) sees every page of it and the export; nobody adds,
changes or deletes through it. The report hangs on HelpfulnessReport (a proxy of
articles.GuideFeedback) only to get a place in the admin; its data come from
insights.helpfulness.
"""

import csv
from datetime import date
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.core.paginator import InvalidPage, Paginator
from django.http import Http404, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from articles.caching import private
from articles.models import Article

from . import helpfulness
from .admin_base import ReportAdmin
from .helpfulness import Period, Series, stacked_bar_chart
from .models import HelpfulnessReport

GUIDES_PER_PAGE = 50
COMMENTS_PER_PAGE = 25
TEMPLATES = "admin/insights/helpfulnessreport/"


class PeriodForm(forms.Form):
    """The period of a report page, from the query string."""

    days = forms.TypedChoiceField(
        label=_("Period"),
        coerce=int,
        initial="30",
        choices=lambda: [
            (days, ngettext("Last %(days)s day", "Last %(days)s days", days) % {"days": days})
            for days in helpfulness.PERIODS
        ],
    )

    @classmethod
    def from_query(cls, query):
        """Bound to the query string, with the initial value for a missing field, so
        a plain visit shows the default period and a hostile value is an error."""
        data = {
            name: query.get(name, field.initial if field.initial is not None else "")
            for name, field in cls.base_fields.items()
        }
        return cls(data)

    def period(self) -> Period:
        return Period.ending_today(self.cleaned_data["days"])


class ReportForm(PeriodForm):
    language = forms.ChoiceField(
        label=_("Language"),
        required=False,
        initial="",
        choices=lambda: [("", _("All languages")), *settings.LANGUAGES],
    )


class ExportForm(ReportForm):
    guide = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1)


def _week(week: date) -> str:
    return formats.date_format(week, "DATE_FORMAT")


def votes_chart(chart_id: str, period: Period, weeks, subject: str) -> helpfulness.Chart:
    yes = sum(week.helpful for week in weeks)
    no = sum(week.not_helpful for week in weeks)
    return stacked_bar_chart(
        id=chart_id,
        title=gettext("Votes per week: %(subject)s") % {"subject": subject},
        description=gettext(
            "From %(first)s to %(last)s, “yes”: %(yes)s, “no”: %(no)s. Each bar is one week "
            "from Monday (the first and last may be partial), “yes” at the bottom in solid "
            "blue, “no” on top hatched in orange."
        )
        % {"first": _week(period.first), "last": _week(period.last), "yes": yes, "no": no},
        weeks=[week.week for week in weeks],
        series=[
            Series("yes", gettext("Yes"), [week.helpful for week in weeks]),
            Series("no", gettext("No"), [week.not_helpful for week in weeks], hatched=True),
        ],
        describe=lambda week, values: (
            gettext("Week of %(week)s: %(yes)s yes, %(no)s no")
            % {"week": _week(week), "yes": values[0], "no": values[1]}
        ),
    )


def comments_chart(chart_id: str, period: Period, weeks) -> helpfulness.Chart:
    total = sum(count for _week_start, count in weeks)
    return stacked_bar_chart(
        id=chart_id,
        title=gettext("Comments per week"),
        description=ngettext(
            "From %(first)s to %(last)s: %(count)s comment in all. Each bar is one week "
            "from Monday (the first and last may be partial).",
            "From %(first)s to %(last)s: %(count)s comments in all. Each bar is one week "
            "from Monday (the first and last may be partial).",
            total,
        )
        % {"first": _week(period.first), "last": _week(period.last), "count": total},
        weeks=[week for week, _count in weeks],
        series=[Series("comments", gettext("Comments"), [count for _week, count in weeks])],
        describe=lambda week, values: (
            ngettext(
                "Week of %(week)s: %(count)s comment",
                "Week of %(week)s: %(count)s comments",
                values[0],
            )
            % {"week": _week(week), "count": values[0]}
        ),
        height=180,
    )


def _page(paginator: Paginator, number):
    """A bad page number is a 404, as everywhere else on the site."""
    try:
        return paginator.page(number or 1)
    except InvalidPage as error:
        raise Http404(str(error)) from error


class _Echo:
    """The file csv.writer writes to: hands each line back to be streamed."""

    def write(self, value):
        return value


@admin.register(HelpfulnessReport)
class HelpfulnessReportAdmin(ReportAdmin):
    def get_urls(self):
        # Only the report's own pages: no change form, history or deletion of the
        # GuideFeedback rows behind the proxy.
        view = self.admin_site.admin_view
        name = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("", view(self.overview_view), name=f"{name}_changelist"),
            path("guide/<int:pk>/", view(self.guide_view), name=f"{name}_guide"),
            path("comments.csv", view(self.comments_csv_view), name=f"{name}_comments_csv"),
        ]

    def _check_permission(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied

    def _render(self, request, template, context, status=200):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "min_votes": helpfulness.MIN_VOTES,
            "retention_days": settings.FEEDBACK_COMMENT_RETENTION_DAYS,
            **context,
        }
        response = TemplateResponse(request, TEMPLATES + template, context, status=status)
        return private(response)

    def overview_view(self, request):
        """Votes and comments per week, then the guides, least helpful first.
        Queries: the two weekly aggregates, the guides' count and page, their rows,
        their comment counts (plus the admin's session and user)."""
        self._check_permission(request)
        form = ReportForm.from_query(request.GET)
        context = {"form": form, "title": gettext("Helpfulness")}
        if not form.is_valid():
            return self._render(request, "overview.html", context, status=400)
        period = form.period()
        language = form.cleaned_data["language"] or None
        votes = helpfulness.weekly_votes(period, language)
        comments = helpfulness.weekly_comments(period, language)
        languages = dict(settings.LANGUAGES)
        subject = languages[language] if language else gettext("all guides")

        page = _page(
            Paginator(helpfulness.guides_by_helpfulness(period, language), GUIDES_PER_PAGE),
            request.GET.get("page"),
        )
        ids = [row["article"] for row in page.object_list]
        articles = Article.objects.only("title", "language").order_by().in_bulk(ids)
        comment_counts = helpfulness.comment_counts(period, ids)
        guides = [
            {
                **row,
                "title": articles[row["article"]].title,
                "language": languages.get(
                    articles[row["article"]].language, articles[row["article"]].language
                ),
                "percent": helpfulness.percent(row["yes"], row["votes"]),
                "comments": comment_counts.get(row["article"], 0),
            }
            for row in page.object_list
            if row["article"] in articles
        ]
        yes = sum(week.helpful for week in votes)
        no = sum(week.not_helpful for week in votes)
        context.update(
            period=period,
            language=language,
            totals={
                "yes": yes,
                "no": no,
                "votes": yes + no,
                "percent": helpfulness.percent(yes, yes + no),
                "comments": sum(count for _week, count in comments),
            },
            votes_chart=votes_chart("helpfulness-votes", period, votes, subject),
            comments_chart=comments_chart("helpfulness-comments", period, comments),
            page=page,
            guides=guides,
            export_url=self._export_url(days=period.days, language=language or ""),
        )
        return self._render(request, "overview.html", context)

    def guide_view(self, request, pk):
        """One guide: its weekly votes, totals and its comments in the period."""
        self._check_permission(request)
        article = get_object_or_404(Article.objects.select_related("category", "feedback"), pk=pk)
        form = PeriodForm.from_query(request.GET)
        context = {
            "form": form,
            "article": article,
            "title": gettext("Helpfulness of “%(title)s”") % {"title": article.title},
        }
        if not form.is_valid():
            return self._render(request, "guide.html", context, status=400)
        period = form.period()
        votes = helpfulness.weekly_votes(period, article=article)
        page = _page(
            Paginator(
                helpfulness.period_comments(period, article=article), COMMENTS_PER_PAGE, orphans=3
            ),
            request.GET.get("page"),
        )
        yes = sum(week.helpful for week in votes)
        no = sum(week.not_helpful for week in votes)
        may_open = request.user.has_perm("articles.view_article") or request.user.has_perm(
            "articles.change_article"
        )
        context.update(
            period=period,
            totals={
                "yes": yes,
                "no": no,
                "votes": yes + no,
                "percent": helpfulness.percent(yes, yes + no),
            },
            all_time=getattr(article, "feedback", None),
            votes_chart=votes_chart("helpfulness-guide-votes", period, votes, article.title),
            page=page,
            language_name=dict(settings.LANGUAGES).get(article.language, article.language),
            change_url=(
                reverse("admin:articles_article_change", args=[article.pk]) if may_open else None
            ),
            public_url=article.get_absolute_url() if article.is_published() else None,
            export_url=self._export_url(days=period.days, guide=article.pk),
        )
        return self._render(request, "guide.html", context)

    def _export_url(self, **query) -> str:
        return f"{reverse('admin:insights_helpfulnessreport_comments_csv')}?{urlencode(query)}"

    def comments_csv_view(self, request):
        """The period's comments as CSV (UTF-8 with a byte order mark, so that Excel
        reads Chinese right): date, guide, language, guide's address, comment."""
        self._check_permission(request)
        form = ExportForm.from_query(request.GET)
        if not form.is_valid():
            errors = "\n".join(
                f"{name}: {' '.join(messages)}" for name, messages in form.errors.items()
            )
            return HttpResponseBadRequest(errors, content_type="text/plain; charset=utf-8")
        period = form.period()
        guide = form.cleaned_data["guide"]
        article = get_object_or_404(Article.objects.only("pk"), pk=guide) if guide else None
        comments = helpfulness.period_comments(
            period, form.cleaned_data["language"] or None, article
        )
        filename = f"helpfulness-comments-{period.first}-to-{period.last}"
        if article is not None:
            filename += f"-guide-{article.pk}"
        response = StreamingHttpResponse(
            self._csv_lines(comments), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
        return private(response)

    @staticmethod
    def _csv_lines(comments):
        writer = csv.writer(_Echo())
        safe = helpfulness.spreadsheet_safe
        yield "\ufeff" + writer.writerow(
            [
                gettext("Date"),
                gettext("Guide"),
                gettext("Language"),
                gettext("Guide address"),
                gettext("Comment"),
            ]
        )
        # The guide and its topic come with each comment: the address needs both.
        comments = comments.select_related("article__category")
        for comment in comments.iterator(chunk_size=2000):
            guide = comment.article
            yield writer.writerow(
                [
                    timezone.localtime(comment.created_at).date().isoformat(),
                    safe(guide.title),
                    guide.language,
                    safe(settings.SITE_URL + guide.get_absolute_url()),
                    safe(comment.text),
                ]
            )
