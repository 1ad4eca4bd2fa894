"""Admin › Insights › Helpfulness: counted votes kept by day, weekly charts (SVG
with a text alternative), least helpful guides first, one page per guide, the
comments as safe CSV; view permission only, and a fixed number of queries."""

import csv
import io
import threading
import xml.etree.ElementTree as ET
from datetime import date, datetime, timedelta
from http import HTTPStatus

import pytest
import time_machine
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.utils import timezone

from articles.feedback import VOTES_PER_HOUR, record_vote
from articles.models import FeedbackComment
from insights import helpfulness
from insights.helpfulness import Period
from insights.models import FeedbackDay
from tests.factories import make_article, make_translation
from tests.helpers import new_address, vote

pytestmark = pytest.mark.django_db

REPORT = "/admin/insights/helpfulnessreport/"
CSV = REPORT + "comments.csv"
# A Wednesday; the 30-day period then runs from Tuesday 11 February.
NOW = datetime(2025, 3, 12, 12, 0, tzinfo=timezone.get_fixed_timezone(0))


def guide_page(article) -> str:
    return f"{REPORT}guide/{article.pk}/"


@pytest.fixture
def on_12_march():
    with time_machine.travel(NOW, tick=False):
        yield


def days_votes(article, day, yes=0, no=0) -> FeedbackDay:
    return FeedbackDay.objects.create(article=article, day=day, helpful=yes, not_helpful=no)


def comment(article, text, when) -> FeedbackComment:
    made = FeedbackComment.objects.create(article=article, text=text)
    FeedbackComment.objects.filter(pk=made.pk).update(created_at=when)
    return made


def at(day: date, hour=10) -> datetime:
    return timezone.make_aware(datetime(day.year, day.month, day.day, hour))


CHART = '<svg xmlns="http://www.w3.org/2000/svg" class="insights-chart__svg"'


def svgs(html: str) -> list[ET.Element]:
    """The report's charts (not the admin's icons), parsed as XML, which fails unless
    each is well-formed."""
    found, start = [], html.find(CHART)
    while start != -1:
        end = html.index("</svg>", start) + len("</svg>")
        found.append(ET.fromstring(html[start:end]))
        start = html.find(CHART, end)
    return found


SVG = "{http://www.w3.org/2000/svg}"


# Counting by day


def test_a_counted_vote_adds_to_the_guides_row_for_the_day(client):
    guide = make_article()
    vote(client, guide, "yes")
    vote(client, guide, "yes")
    vote(client, guide, "no")
    day = FeedbackDay.objects.get()
    assert (day.article, day.day) == (guide, timezone.localdate())
    assert (day.helpful, day.not_helpful) == (2, 1)


def test_votes_that_are_not_counted_add_nothing(client):
    guide = make_article()
    address = new_address()
    assert vote(client, guide, "yes", address=address).status_code == HTTPStatus.OK
    # The same visitor again the same day: refused, as is a vote from another site.
    vote(client, guide, "no", address=address)
    assert vote(client, guide, "no", headers={}).status_code == HTTPStatus.FORBIDDEN
    assert FeedbackDay.objects.values_list("helpful", "not_helpful").get() == (1, 0)


def test_a_vote_over_the_hourly_limit_adds_nothing(client):
    guides, address = [make_article() for _ in range(VOTES_PER_HOUR + 1)], new_address()
    statuses = [vote(client, guide, "yes", address=address).status_code for guide in guides]
    assert statuses[-1] == HTTPStatus.TOO_MANY_REQUESTS
    assert FeedbackDay.objects.count() == VOTES_PER_HOUR
    assert not FeedbackDay.objects.filter(article=guides[-1]).exists()


def test_each_day_gets_a_row_of_its_own():
    guide = make_article()
    with time_machine.travel(NOW, tick=False):
        record_vote(guide, helpful=True)
    with time_machine.travel(NOW + timedelta(days=1), tick=False):
        record_vote(guide, helpful=False)
        record_vote(guide, helpful=False)
    assert list(
        FeedbackDay.objects.order_by("day").values_list("day", "helpful", "not_helpful")
    ) == [
        (date(2025, 3, 12), 1, 0),
        (date(2025, 3, 13), 0, 2),
    ]


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_votes_of_the_day_are_all_counted():
    guide = make_article()
    voters, errors = 12, []

    def cast(helpful):
        try:
            record_vote(guide, helpful=helpful)
        except Exception as error:  # any failure, reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=cast, args=(n % 3 != 0,)) for n in range(voters)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert FeedbackDay.objects.values_list("helpful", "not_helpful").get() == (8, 4)


# The report's numbers


def test_weekly_totals_cover_every_week_of_the_period(on_12_march):
    guide, other = make_article(), make_article()
    chinese = make_translation(guide)
    days_votes(guide, date(2025, 2, 10), yes=50)  # the day before the period
    days_votes(guide, date(2025, 2, 11), yes=2)
    days_votes(guide, date(2025, 2, 16), no=1)  # Sunday: still the week of 10 Feb
    days_votes(other, date(2025, 2, 17), yes=1, no=1)
    days_votes(guide, date(2025, 3, 10), yes=3)
    days_votes(chinese, date(2025, 3, 12), no=4)
    period = Period.ending_today(30)
    assert (period.first, period.last) == (date(2025, 2, 11), date(2025, 3, 12))

    weeks = helpfulness.weekly_votes(period)
    assert [(w.week, w.helpful, w.not_helpful) for w in weeks] == [
        (date(2025, 2, 10), 2, 1),
        (date(2025, 2, 17), 1, 1),
        (date(2025, 2, 24), 0, 0),
        (date(2025, 3, 3), 0, 0),
        (date(2025, 3, 10), 3, 4),
    ]
    in_english = helpfulness.weekly_votes(period, language="en")
    assert in_english[-1].not_helpful == 0 and in_english[0].helpful == 2
    one_guide = helpfulness.weekly_votes(period, article=other)
    assert [w.votes for w in one_guide] == [0, 2, 0, 0, 0]


def test_weekly_comments_count_the_comments_of_each_week(on_12_march):
    guide = make_article()
    comment(guide, "too old", at(date(2025, 2, 10), 23))
    comment(guide, "first day", at(date(2025, 2, 11), 0))
    comment(guide, "Sunday night", at(date(2025, 2, 16), 23))
    comment(guide, "Monday", at(date(2025, 2, 17), 0))
    comment(guide, "today", at(date(2025, 3, 12), 11))
    weeks = helpfulness.weekly_comments(Period.ending_today(30))
    assert weeks == [
        (date(2025, 2, 10), 2),
        (date(2025, 2, 17), 1),
        (date(2025, 2, 24), 0),
        (date(2025, 3, 3), 0),
        (date(2025, 3, 10), 1),
    ]


def test_the_least_helpful_guides_come_first_and_too_few_votes_last(on_12_march, editor):
    today = date(2025, 3, 12)
    poor = make_article(title="Poor guide")
    middling = make_article(title="Middling guide")
    good = make_article(title="Good guide")
    unsure = make_article(title="Guide with two votes")
    make_article(title="Guide nobody voted on")
    days_votes(poor, today, yes=1, no=4)
    days_votes(poor, today - timedelta(days=3), no=5)  # 1 of 10: 10%
    days_votes(middling, today, yes=5, no=5)  # 50% of 10
    days_votes(middling, today - timedelta(days=40), no=100)  # before the period
    days_votes(good, today, yes=6)
    days_votes(unsure, today, no=2)  # 0%, but only two votes
    rows = list(helpfulness.guides_by_helpfulness(Period.ending_today(30)))
    assert [(row["article"], row["yes"], row["votes"], row["too_few"]) for row in rows] == [
        (poor.pk, 1, 10, 0),
        (middling.pk, 5, 10, 0),
        (good.pk, 6, 6, 0),
        (unsure.pk, 0, 2, 1),
    ]

    html = editor.client.get(REPORT).content.decode()
    listed = html[html.index('id="guides-heading"') :]
    order = [listed.index(title) for title in ("Poor guide", "Middling guide", "Good guide")]
    assert order == sorted(order)
    assert listed.index("Good guide") < listed.index("Guide with two votes")
    assert "Guide nobody voted on" not in listed
    assert "10%" in listed and "(too few votes to judge)" in listed
    assert f'href="{guide_page(poor)}?days=30"' in listed


def test_a_language_shows_only_its_guides(on_12_march, editor):
    guide = make_article(title="English guide")
    chinese = make_translation(guide, title="中文指南")
    days_votes(guide, date(2025, 3, 12), yes=1)
    days_votes(chinese, date(2025, 3, 12), no=1)
    html = editor.client.get(REPORT, {"language": "zh-hans", "days": "90"}).content.decode()
    assert "中文指南" in html and "English guide" not in html


# Charts: well-formed SVG with a title, a description and the numbers as a table


def test_the_overview_draws_two_charts_with_a_text_alternative(on_12_march, editor):
    guide = make_article()
    days_votes(guide, date(2025, 3, 11), yes=3, no=1)
    comment(guide, "Where is the form?", at(date(2025, 3, 11)))
    html = editor.client.get(REPORT).content.decode()
    votes, comments = svgs(html)
    for chart in (votes, comments):
        assert chart.get("role") == "img"
        title, desc = chart.find(f"{SVG}title"), chart.find(f"{SVG}desc")
        assert chart.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    assert votes.find(f"{SVG}title").text == "Votes per week: all guides"
    assert "“yes”: 3, “no”: 1" in votes.find(f"{SVG}desc").text
    bars = [
        rect for rect in votes.iter(f"{SVG}rect") if "insights-chart__bar--no" in rect.get("class")
    ]
    # "No" is hatched, not only coloured: its bar and its legend use the pattern.
    assert {rect.get("fill") for rect in bars} == {"url(#helpfulness-votes-hatch)"}
    assert votes.find(f".//{SVG}pattern").get("id") == "helpfulness-votes-hatch"
    assert "1 comment in all" in comments.find(f"{SVG}desc").text
    assert "<summary>The numbers as a table</summary>" in html
    assert '<th scope="row">March 10, 2025</th><td>3</td><td>1</td>' in html
    assert "css/admin-insights.css" in html and "style=" not in html.split("<body")[1]


def test_a_guides_page_escapes_its_title_in_the_chart_and_lists_comments(on_12_march, editor):
    guide = make_article(title='Fees & <script>alert("x")</script>')
    days_votes(guide, date(2025, 3, 12), yes=1, no=2)
    comment(guide, "An older comment", at(date(2025, 3, 1)))
    comment(guide, "<b>newer</b>\nsecond line", at(date(2025, 3, 11)))
    response = editor.client.get(guide_page(guide))
    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    (chart,) = svgs(html)
    assert chart.find(f"{SVG}title").text == 'Votes per week: Fees & <script>alert("x")</script>'
    assert "<script>alert" not in html
    assert html.index("&lt;b&gt;newer&lt;/b&gt;<br>second line") < html.index("An older comment")
    assert f'href="/admin/articles/article/{guide.pk}/change/"' in html
    assert f'href="{guide.get_absolute_url()}"' in html
    assert f"comments.csv?days=30&amp;guide={guide.pk}" in html


def test_a_guides_page_says_when_its_votes_are_too_few_to_judge(on_12_march, editor):
    few, enough = make_article(), make_article()
    days_votes(few, date(2025, 3, 12), yes=1, no=2)
    days_votes(enough, date(2025, 3, 12), yes=4, no=4)
    assert "Too few votes to judge." in editor.client.get(guide_page(few)).content.decode()
    page = editor.client.get(guide_page(enough)).content.decode()
    assert "8 votes in all:" in page and "Too few votes to judge." not in page


def test_a_guides_comments_are_paginated(on_12_march, editor):
    guide = make_article()
    for n in range(30):
        comment(guide, f"Comment number {n:02}", at(date(2025, 3, 1)) + timedelta(minutes=n))
    first = editor.client.get(guide_page(guide)).content.decode()
    assert "Comment number 29" in first and "Comment number 04" not in first
    assert 'href="?page=2" rel="next"' in first
    second = editor.client.get(guide_page(guide), {"page": 2}).content.decode()
    assert "Comment number 04" in second and "Comment number 29" not in second


def test_an_unpublished_guide_has_no_public_link(on_12_march, editor):
    draft = make_article(status="draft", published_at=None)
    html = editor.client.get(guide_page(draft)).content.decode()
    assert "See the guide on the site" not in html
    assert "No comments in this period." in html


# CSV


def read_csv(response) -> tuple[bytes, list[list[str]]]:
    body = b"".join(response.streaming_content)
    return body, list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def test_the_comments_export_is_excel_ready_and_formula_safe(on_12_march, editor):
    guide = make_article(title="=Fees, and more")
    chinese = make_translation(guide, title="养老金")
    comment(guide, '=HYPERLINK("http://evil.example","click")', at(date(2025, 3, 10)))
    comment(guide, '+1, -2 and "quotes"\non two lines', at(date(2025, 3, 11)))
    comment(guide, "@SUM(A1)", at(date(2025, 3, 12), 9))
    comment(chinese, "-表格在哪里？", at(date(2025, 3, 12), 11))
    comment(guide, "too old", at(date(2025, 1, 1)))

    response = editor.client.get(CSV, {"days": "30"})
    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="helpfulness-comments-2025-02-11-to-2025-03-12.csv"'
    )
    body, rows = read_csv(response)
    assert body.startswith(b"\xef\xbb\xbfDate,Guide,Language,Guide address,Comment\r\n")
    zh_address = f"http://testserver{chinese.get_absolute_url()}"
    address = f"http://testserver{guide.get_absolute_url()}"
    assert rows[1:] == [
        ["2025-03-12", "养老金", "zh-hans", zh_address, "'-表格在哪里？"],
        ["2025-03-12", "'=Fees, and more", "en", address, "'@SUM(A1)"],
        ["2025-03-11", "'=Fees, and more", "en", address, '\'+1, -2 and "quotes"\non two lines'],
        [
            "2025-03-10",
            "'=Fees, and more",
            "en",
            address,
            '\'=HYPERLINK("http://evil.example","click")',
        ],
    ]
    assert '"\'+1, -2 and ""quotes""\non two lines"' in body.decode("utf-8-sig")


def test_the_export_takes_a_language_or_a_guide(on_12_march, editor):
    guide, other = make_article(), make_article()
    chinese = make_translation(guide)
    comment(guide, "about the guide", at(date(2025, 3, 10)))
    comment(other, "about another", at(date(2025, 3, 10)))
    comment(chinese, "关于指南", at(date(2025, 3, 10)))
    _body, rows = read_csv(editor.client.get(CSV, {"days": "30", "language": "zh-hans"}))
    assert [row[4] for row in rows[1:]] == ["关于指南"]
    response = editor.client.get(CSV, {"days": "90", "guide": str(guide.pk)})
    assert response["Content-Disposition"].endswith(
        f'2024-12-13-to-2025-03-12-guide-{guide.pk}.csv"'
    )
    _body, rows = read_csv(response)
    assert [row[4] for row in rows[1:]] == ["about the guide"]


# Bad input and permissions


@pytest.mark.parametrize(
    ("url", "status"),
    [
        (REPORT + "?days=7", HTTPStatus.BAD_REQUEST),
        (REPORT + "?days=abc", HTTPStatus.BAD_REQUEST),
        (REPORT + "?days=30&language=xx", HTTPStatus.BAD_REQUEST),
        (REPORT + "?language=%00", HTTPStatus.BAD_REQUEST),
        (REPORT + "?page=abc", HTTPStatus.NOT_FOUND),
        (REPORT + "?page=99", HTTPStatus.NOT_FOUND),
        (REPORT + "guide/999999/", HTTPStatus.NOT_FOUND),
        (REPORT + "guide/99999999999999999999999/", HTTPStatus.NOT_FOUND),
        (REPORT + "guide/abc/", HTTPStatus.NOT_FOUND),
        (REPORT + "guide/-1/", HTTPStatus.NOT_FOUND),
        (CSV + "?days=1000", HTTPStatus.BAD_REQUEST),
        (CSV + "?guide=abc", HTTPStatus.BAD_REQUEST),
        (CSV + "?guide=-1", HTTPStatus.BAD_REQUEST),
        (CSV + "?guide=99999999999999999999999", HTTPStatus.BAD_REQUEST),
        (CSV + "?guide=999999", HTTPStatus.NOT_FOUND),
        (REPORT + "1/change/", HTTPStatus.NOT_FOUND),
        (REPORT + "add/", HTTPStatus.NOT_FOUND),
    ],
)
def test_bad_input_is_a_clear_4xx(editor, url, status):
    assert editor.client.get(url).status_code == status


def test_a_bad_period_shows_the_form_with_its_error(editor):
    response = editor.client.get(REPORT, {"days": "7"})
    html = response.content.decode()
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "Select a valid choice. 7 is not one of the available choices." in html
    assert not svgs(html)


def test_a_bad_period_on_a_guides_page_is_a_400(editor):
    guide = make_article()
    assert editor.client.get(guide_page(guide), {"days": "x"}).status_code == 400


def test_editors_and_publishers_see_the_report(editor, publisher):
    guide = make_article()
    for member in (editor, publisher):
        index = member.client.get("/admin/").content.decode()
        assert f'href="{REPORT}"' in index
        for url in (REPORT, guide_page(guide), CSV):
            assert member.client.get(url).status_code == HTTPStatus.OK, url


def test_staff_without_a_group_are_refused_everywhere(client):
    guide = make_article()
    user = User.objects.create_user("nobody", password="a-long-test-password", is_staff=True)
    staff = Client()
    staff.force_login(user)
    for url in (REPORT, guide_page(guide), CSV, REPORT + "?days=7"):
        assert staff.get(url).status_code == HTTPStatus.FORBIDDEN, url
    assert f'href="{REPORT}"' not in staff.get("/admin/").content.decode()
    for url in (REPORT, guide_page(guide), CSV):
        response = client.get(url)
        assert response.status_code == HTTPStatus.FOUND
        assert response["Location"].startswith("/admin/login/")


# Queries


def add_guides(count, start):
    for n in range(count):
        guide = make_article(language="zh-hans" if n % 2 else "en")
        for back in range(0, 60, 7):
            days_votes(guide, start - timedelta(days=back), yes=n % 4, no=2)
            comment(guide, f"comment {n} {back}", at(start - timedelta(days=back)))


@pytest.mark.parametrize("many", [False, True])
def test_the_report_costs_a_fixed_number_of_queries(
    on_12_march, editor, many, django_assert_max_num_queries
):
    add_guides(40 if many else 1, date(2025, 3, 12))
    guide = FeedbackDay.objects.first().article
    # Each page: the session, the user and their permissions (the admin's), and at
    # most one query of the site's own (a check for draft revisions due).
    # Then the two weekly aggregates, the count and the page of guides, their
    # titles and their comment counts.
    with django_assert_max_num_queries(11):
        assert editor.client.get(REPORT, {"days": "90"}).status_code == HTTPStatus.OK
    # The guide, its weeks, its comments' count and page.
    with django_assert_max_num_queries(9):
        assert editor.client.get(guide_page(guide), {"days": "90"}).status_code == 200
    # The comments with their guides.
    with django_assert_max_num_queries(6):
        response = editor.client.get(CSV, {"days": "90"})
        rows = read_csv(response)[1]
    assert len(rows) == 1 + (40 if many else 1) * 9
