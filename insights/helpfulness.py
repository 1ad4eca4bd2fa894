"""'Was this page helpful?' over time: votes counted by day, the report's queries,
and the geometry of its bar charts.

The one-vote-a-day rows (articles.FeedbackVote) are purged after a day and the
guides' totals (articles.GuideFeedback) carry no dates, so every counted vote is
also added to its guide's FeedbackDay row for the day. Comments keep their own
date (until FEEDBACK_COMMENT_RETENTION_DAYS purges them).

Every report query aggregates in SQL (by week with TruncWeek, by guide with
Sum), so a page costs the same few queries whatever the number of votes.
"""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Case, Count, F, FloatField, Sum, Value, When
from django.db.models.functions import Cast, TruncWeek
from django.utils import timezone

from articles.models import FeedbackComment

from .models import FeedbackDay

PERIODS = (30, 90, 365)  # days, the choices of the report
# Below this many votes in the period a guide's share of "yes" says little: such
# guides are listed after the others, marked as too few to judge.
MIN_VOTES = 5


def count_day_vote(article, helpful: bool) -> None:
    """Add one counted vote to the guide's row for today, atomically.

    The usual case, a row that exists, is one UPDATE … SET n = n + 1. The first
    vote of the day creates the row in a savepoint; when a concurrent vote
    created it first, the unique constraint refuses ours and we add to theirs
    (PostgreSQL makes our INSERT wait for their commit; SQLite's IMMEDIATE
    transactions take turns anyway).
    """
    field = "helpful" if helpful else "not_helpful"
    today = timezone.localdate()
    rows = FeedbackDay.objects.filter(article=article, day=today)
    with transaction.atomic():
        if rows.update(**{field: F(field) + 1}):
            return
        try:
            with transaction.atomic():
                FeedbackDay.objects.create(article=article, day=today, **{field: 1})
        except IntegrityError:
            rows.update(**{field: F(field) + 1})


def monday(day: date) -> date:
    """The first day of day's week (ISO weeks, as TruncWeek counts them)."""
    return day - timedelta(days=day.weekday())


@dataclass(frozen=True)
class Period:
    """The last `days` days, today included, in the site's time zone."""

    days: int
    first: date
    last: date

    @classmethod
    def ending_today(cls, days: int) -> "Period":
        today = timezone.localdate()
        return cls(days, today - timedelta(days=days - 1), today)

    @property
    def starts_at(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.first, time.min))

    @property
    def ends_before(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.last + timedelta(days=1), time.min))

    def weeks(self) -> list[date]:
        """The Mondays of every week the period touches (the first and last may be
        partial), oldest first."""
        first, last = monday(self.first), monday(self.last)
        return [first + timedelta(weeks=n) for n in range((last - first).days // 7 + 1)]


def _votes(period: Period, language=None, article=None):
    rows = FeedbackDay.objects.filter(day__gte=period.first, day__lte=period.last)
    if language:
        rows = rows.filter(article__language=language)
    if article is not None:
        rows = rows.filter(article=article)
    return rows


def period_comments(period: Period, language=None, article=None):
    """Comments received in the period, newest first."""
    rows = FeedbackComment.objects.filter(
        created_at__gte=period.starts_at, created_at__lt=period.ends_before
    )
    if language:
        rows = rows.filter(article__language=language)
    if article is not None:
        rows = rows.filter(article=article)
    return rows.order_by("-created_at", "-pk")


@dataclass(frozen=True)
class WeekVotes:
    week: date
    helpful: int
    not_helpful: int

    @property
    def votes(self) -> int:
        return self.helpful + self.not_helpful


def weekly_votes(period: Period, language=None, article=None) -> list[WeekVotes]:
    """Votes per week of the period, weeks without votes included. One query."""
    rows = (
        _votes(period, language, article)
        .annotate(week=TruncWeek("day"))
        .values("week")
        .annotate(yes=Sum("helpful"), no=Sum("not_helpful"))
        .order_by("week")
    )
    found = {row["week"]: row for row in rows}
    return [
        WeekVotes(week, found[week]["yes"], found[week]["no"])
        if week in found
        else WeekVotes(week, 0, 0)
        for week in period.weeks()
    ]


def weekly_comments(period: Period, language=None, article=None) -> list[tuple[date, int]]:
    """(Monday, comments received that week) for every week of the period. One query;
    weeks are the site's time zone's (TruncWeek uses the current time zone)."""
    rows = (
        period_comments(period, language, article)
        .annotate(week=TruncWeek("created_at"))
        .values("week")
        .annotate(count=Count("pk"))
        .order_by("week")
    )
    found = {timezone.localtime(row["week"]).date(): row["count"] for row in rows}
    return [(week, found.get(week, 0)) for week in period.weeks()]


def guides_by_helpfulness(period: Period, language=None):
    """One row per guide with votes in the period: {"article": pk, "yes", "no",
    "votes", "too_few", "share"}, least helpful first (lowest share of "yes", then
    most votes); guides with fewer than MIN_VOTES votes come after all others.
    A lazy queryset, to paginate."""
    return (
        _votes(period, language)
        .values("article")
        .annotate(yes=Sum("helpful"), no=Sum("not_helpful"))
        .annotate(votes=F("yes") + F("no"))
        .filter(votes__gt=0)
        .annotate(
            too_few=Case(When(votes__lt=MIN_VOTES, then=Value(1)), default=Value(0)),
            share=Cast("yes", FloatField()) / Cast("votes", FloatField()),
        )
        .order_by("too_few", "share", "-votes", "article")
    )


def comment_counts(period: Period, article_ids) -> dict[int, int]:
    """{guide pk: comments received in the period}, for the given guides. One query."""
    rows = (
        FeedbackComment.objects.filter(
            article__in=article_ids,
            created_at__gte=period.starts_at,
            created_at__lt=period.ends_before,
        )
        .values("article")
        .annotate(count=Count("pk"))
        .order_by()
    )
    return {row["article"]: row["count"] for row in rows}


def percent(part: int, whole: int) -> int | None:
    return round(100 * part / whole) if whole else None


# CSV


FORMULA_PREFIXES = tuple("=+-@\t\r") + tuple("＝＋－＠")  # full-width forms too


def spreadsheet_safe(value: str) -> str:
    """A cell that a spreadsheet will not run as a formula: one starting with =, +,
    -, @, a tab or a carriage return gets a leading apostrophe (OWASP's advice for
    CSV injection). The csv module does the quoting."""
    return f"'{value}" if value.startswith(FORMULA_PREFIXES) else value


# Charts: bar positions in SVG user units, worked out here so the template only
# writes numbers and escaped text.

CHART_WIDTH = 720
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 34, 28  # margins: axis labels, legend, week labels
MAX_WEEK_LABELS = 7


@dataclass(frozen=True)
class Series:
    key: str  # names the CSS class (insights-chart__bar--<key>)
    label: str
    values: Sequence[int]
    hatched: bool = False  # drawn with a pattern, so it is told apart without colour


@dataclass(frozen=True)
class Bar:
    series: Series
    value: int
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Column:
    week: date
    values: tuple[int, ...]
    bars: tuple[Bar, ...]
    description: str
    label_x: float | None  # where its week label goes; None: not labelled


@dataclass(frozen=True)
class Tick:
    value: int
    y: float


@dataclass(frozen=True)
class LegendEntry:
    series: Series
    x: float


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    description: str
    series: tuple[Series, ...]
    columns: tuple[Column, ...]
    ticks: tuple[Tick, ...]
    legend: tuple[LegendEntry, ...]
    width: int
    height: int
    plot_left: int
    plot_right: int
    plot_top: int
    plot_bottom: int

    @property
    def hatched(self) -> bool:
        return any(s.hatched for s in self.series)


def nice_step(largest: int, most_ticks: int = 4) -> int:
    """A round step (1, 2, 5 × 10ⁿ) that divides 0…largest into at most most_ticks parts."""
    if largest <= most_ticks:
        return 1
    magnitude = 10 ** math.floor(math.log10(largest / most_ticks))
    for factor in (1, 2, 5, 10):
        if largest / (factor * magnitude) <= most_ticks:
            return factor * magnitude
    return 10 * magnitude  # pragma: no cover - the loop always returns


def stacked_bar_chart(
    *,
    id: str,
    title: str,
    description: str,
    weeks: Sequence[date],
    series: Sequence[Series],
    describe: Callable[[date, tuple[int, ...]], str],
    height: int = 240,
) -> Chart:
    """Weeks along the x axis, each week's series stacked from the bottom, in order.
    `describe` gives each column's tooltip text."""
    width = CHART_WIDTH
    plot_left, plot_right = LEFT, width - RIGHT
    plot_top, plot_bottom = TOP, height - BOTTOM
    plot_height = plot_bottom - plot_top
    totals = [sum(s.values[n] for s in series) for n in range(len(weeks))]
    step = nice_step(max(totals, default=0))
    top = max(step, math.ceil(max(totals, default=0) / step) * step)
    scale = plot_height / top
    slot = (plot_right - plot_left) / max(len(weeks), 1)
    bar_width = round(slot * 0.7, 1)
    label_every = math.ceil(len(weeks) / MAX_WEEK_LABELS) or 1

    columns = []
    for n, week in enumerate(weeks):
        x = round(plot_left + n * slot + (slot - bar_width) / 2, 1)
        base, bars = plot_bottom, []
        for s in series:
            value = s.values[n]
            if value:
                bar_height = value * scale
                base -= bar_height
                bars.append(Bar(s, value, x, round(base, 1), bar_width, round(bar_height, 1)))
        values = tuple(s.values[n] for s in series)
        labelled = n % label_every == 0
        columns.append(
            Column(
                week,
                values,
                tuple(bars),
                describe(week, values),
                round(x + bar_width / 2, 1) if labelled else None,
            )
        )
    ticks = tuple(
        Tick(value, round(plot_bottom - value * scale, 1)) for value in range(0, top + 1, step)
    )
    legend = tuple(LegendEntry(s, plot_left + n * 160) for n, s in enumerate(series))
    return Chart(
        id=id,
        title=title,
        description=description,
        series=tuple(series),
        columns=tuple(columns),
        ticks=ticks,
        legend=legend,
        width=width,
        height=height,
        plot_left=plot_left,
        plot_right=plot_right,
        plot_top=plot_top,
        plot_bottom=plot_bottom,
    )
