"""The admin index's "Your guides due for review" (templates/admin/index.html): the
signed-in user's guides whose review date has come or that a law change flagged, the
same guides `manage.py send_review_reminders` e-mails them about."""

from dataclasses import dataclass
from datetime import date
from urllib.parse import urlencode

from django import template
from django.urls import reverse
from django.utils import timezone

from articles.models import Article
from articles.seo import bcp47

register = template.Library()

# The panel lists this many, most urgent first; a link opens the guide list showing all.
PANEL_LIMIT = 10


@dataclass(frozen=True)
class DueGuide:
    title: str
    lang: str  # HTML's lang of the title
    change_url: str
    needs_review: bool  # a law it cites changed
    review_by: date | None
    overdue: bool  # its review date has come


@dataclass(frozen=True)
class DueReviews:
    guides: list[DueGuide]
    count: int
    all_url: str  # the guide list, filtered to these guides


@register.simple_tag
def guides_due_for_review(user) -> DueReviews | None:
    """The user's guides due for review (Article.objects.due_for_review), the first
    PANEL_LIMIT of them, and their count: two queries at most, however many there
    are. None for a user who may not see guides."""
    if not user.has_perm("articles.view_article"):
        return None
    today = timezone.localdate()
    due = Article.objects.due_for_review(today).filter(owner=user)
    rows = list(due.only("pk", "title", "language", "review_by", "needs_review")[: PANEL_LIMIT + 1])
    count = len(rows) if len(rows) <= PANEL_LIMIT else due.count()
    guides = [
        DueGuide(
            title=row.title,
            lang=bcp47(row.language),
            change_url=reverse("admin:articles_article_change", args=[row.pk]),
            needs_review=row.needs_review,
            review_by=row.review_by,
            overdue=row.review_by is not None and row.review_by <= today,
        )
        for row in rows[:PANEL_LIMIT]
    ]
    query = urlencode({"owner__id__exact": user.pk, "review": "due"})
    all_url = f"{reverse('admin:articles_article_changelist')}?{query}"
    return DueReviews(guides, count, all_url)
