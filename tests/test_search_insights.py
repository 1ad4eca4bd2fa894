"""Search insights: each citizen's search recorded once and without personal data,
the result they opened, retention, and the editors' report with its one-click fixes."""

import html
import re
from datetime import timedelta
from http import HTTPStatus
from io import StringIO
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import Permission, User
from django.core import signing
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

from articles.models import Article, PromotedResult
from insights import searches
from insights.models import SearchRecord
from tests.factories import make_article, make_category, make_draft, make_translation

pytestmark = pytest.mark.django_db

SAME_SITE = {"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"}
PING = re.compile(r'<a ping="([^"]+)" class="search-result__title" href="([^"]+)"')
REPORT = "/admin/insights/searchrecord/"


@pytest.fixture
def passport():
    return make_article(
        title="How to renew a passport",
        slug="renew-a-passport",
        category=make_category(name="Travel", slug="travel"),
        tags=["documents"],
    )


def pings(response) -> list[tuple[str, str]]:
    """(href, ping address) of each result link, in order."""
    return [(href, html.unescape(ping)) for ping, href in PING.findall(response.text)]


def only_ping(client, query) -> str:
    """Search; the ping address of the one result."""
    ((_href, address),) = pings(client.get("/en/search/", {"q": query}))
    return address


def opened(client, address, headers=SAME_SITE):
    """What a browser's ping sends: POST, body PING."""
    return client.post(address, data="PING", content_type="text/ping", headers=headers)


def only_record() -> SearchRecord:
    (record,) = SearchRecord.objects.all()
    return record


# Recording a search


def test_a_search_records_one_row_with_no_personal_data(client, passport):
    response = client.get(
        "/en/search/",
        {"q": "  Renew   PASSPORT ", "category": "travel", "tag": "documents"},
        REMOTE_ADDR="203.0.113.7",
        headers={"User-Agent": "Citizen browser", "Cookie": "django_language=en"},
    )
    assert response.status_code == HTTPStatus.OK
    assert f'href="{passport.get_absolute_url()}"' in response.text
    record = only_record()
    fields = {f.name: getattr(record, f.attname) for f in SearchRecord._meta.concrete_fields}
    assert fields == {
        "id": record.pk,
        "day": timezone.localdate(),
        "language": "en",
        "query": "renew passport",
        "category": "travel",
        "tag": "documents",
        "every_language": False,
        "result_count": 1,
        "opened_position": None,
        "opened_article": None,
    }
    assert "203.0.113.7" not in repr(fields) and "Citizen" not in repr(fields)
    assert not response.cookies, "recording sets no cookie"
    # Kept for Back and Forward, so going back to the results counts nothing again;
    # never by a shared cache, and asked again on every new visit.
    control = {part.strip() for part in response["Cache-Control"].split(",")}
    assert {"private", "no-cache", "max-age=0"} <= control and "no-store" not in control


def test_the_page_language_and_every_language_are_recorded(client, passport):
    make_translation(passport, title="护照换发指南", slug="护照换发")
    client.get("/zh-hans/search/", {"q": "护照换发"})
    client.get("/en/search/", {"q": "passport", "lang": "all"})
    client.get("/en/search/", {"q": "submarine"})
    rows = SearchRecord.objects.order_by("pk").values_list(
        "language", "query", "every_language", "result_count"
    )
    assert list(rows) == [
        ("zh-hans", "护照换发", False, 1),
        ("en", "passport", True, 1),
        ("en", "submarine", False, 0),
    ]


@pytest.mark.parametrize(
    "params",
    [
        {"q": "passport", "page": "2"},
        {"q": "passport", "page": "1"},  # "Previous page" from page 2 links here
        {"q": ""},
        {"q": "   "},
        {"q": "?!*"},
    ],
)
def test_further_pages_and_empty_queries_record_nothing(client, params):
    for n in range(15):
        make_article(title=f"Passport guide {n}")
    response = client.get("/en/search/", params)
    assert response.status_code == HTTPStatus.OK
    assert not SearchRecord.objects.exists()
    assert " ping=" not in response.text


def test_type_ahead_records_nothing(client, passport):
    response = client.get("/en/search/suggest/", {"q": "passp"})
    assert response.json()["suggestions"]
    assert not SearchRecord.objects.exists()


def test_prefetches_head_requests_and_staff_searches_record_nothing(client, editor, passport):
    client.get("/en/search/", {"q": "passport"}, headers={"Sec-Purpose": "prefetch;prerender"})
    client.head("/en/search/", {"q": "passport"})
    editor.client.get("/en/search/", {"q": "passport"})
    assert not SearchRecord.objects.exists()
    client.get("/en/search/", {"q": "passport"})
    assert SearchRecord.objects.count() == 1


@pytest.mark.parametrize(
    ("typed", "recorded"),
    [
        ("Pension  2024", "pension 2024"),
        ("form 12345", "form 12345"),
        ("my ID 110101199003074518 lost", "my id *** lost"),
        ("身份证11010119900307451X补办", "身份证***x补办"),
        ("call 138 1234 5678 please", "call *** please"),
        ("write to Jane.Doe@example.org now", "write to *** now"),
        ("call 138,1234,5678", "call ***"),
        ("case 2026_0001_234", "case ***"),
        ("电话１３８－１２３４－５６７８", "电话***"),
        ("写信给 jane＠example.org", "写信给 ***"),
        ("ＰＥＮＳＩＯＮ ２０２４", "pension 2024"),
        ("138–1234–5678", "***"),
        ("138。1234。5678", "***"),
        ("138 - 1234 - 5678", "***"),
        ("mail zhang @ qq.com", "mail ***"),
        ("电话一三八一二三四五六七八", "电话***"),
        ("一次性 第一二三条", "一次性 第一二三条"),
        ("age 60 - 65", "age 60 - 65"),
        ("❶❸❽❶❷❸❹❺❻❼❽", "***"),
        ("١٣٨١٢٣٤٥٦٧٨", "***"),
        ("138一二三四5678", "***"),
        ("幺三八幺幺幺幺二二二二", "***"),
        ("john%40gmail.com", "***"),
        ("john.smith (at) gmail.com", "***"),
        # Kept: years, ranges of years, lists and amounts with commas, dates.
        ("pension 2023-2024", "pension 2023-2024"),
        ("articles 12, 13, 14", "articles 12, 13, 14"),
        ("benefit 100,000 yuan", "benefit 100,000 yuan"),
        ("2024年1月15日 第23条", "2024年1月15日 第23条"),
    ],
)
def test_identifiers_typed_into_the_box_are_masked(typed, recorded):
    assert searches.normalise(typed) == recorded


def test_a_long_query_is_cut_to_the_field(client):
    client.get("/en/search/", {"q": "İ" * 150 + " pension " * 30})
    assert len(only_record().query) <= SearchRecord.MAX_QUERY_LENGTH


def test_a_search_that_cannot_be_recorded_still_shows_its_results(client, passport, caplog):
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {SearchRecord._meta.db_table}")  # rolled back after the test
    response = client.get("/en/search/", {"q": "passport"})
    assert response.status_code == HTTPStatus.OK
    assert f'href="{passport.get_absolute_url()}"' in response.text
    assert " ping=" not in response.text and "search-opened.js" not in response.text
    assert "A search was not recorded" in caplog.text
    assert "passport" not in caplog.text, "the query never sits beside a client address"


# Opening a result


def test_result_links_keep_the_guides_address_and_ping_their_position(client, passport):
    others = [make_article(title=f"Passport photo rules {n}") for n in range(2)]
    pinned = make_article(title="Lost passport abroad")
    PromotedResult.objects.create(article=pinned, queries="passport")
    response = client.get("/en/search/", {"q": "passport"})
    links = pings(response)
    assert len(links) == 4
    assert links[0][0] == pinned.get_absolute_url()
    assert {href for href, _ in links} == {
        a.get_absolute_url() for a in [passport, pinned, *others]
    }
    record = only_record()
    assert record.result_count == 4
    for number, (href, address) in enumerate(links, start=1):
        parts = urlsplit(address)
        token = searches.opened_token(record.pk)
        assert f"{parts.scheme}://{parts.netloc}{parts.path}" == (
            f"http://testserver/search-opened/{token}/"
        )
        query = parse_qs(parts.query)
        guide = Article.objects.get(pk=query["guide"][0])
        assert (query["position"], guide.get_absolute_url()) == ([str(number)], href)
    assert "js/search-opened.js" in response.text


def test_the_first_open_counts_and_later_ones_are_ignored(client, passport):
    make_article(title="Passport fees")
    links = pings(client.get("/en/search/", {"q": "passport"}))
    first_address = links[0][1]
    response = opened(client, first_address)
    assert response.status_code == HTTPStatus.NO_CONTENT
    assert "no-store" in response["Cache-Control"]
    assert not response.cookies
    record = only_record()
    first_guide = Article.objects.get(pk=parse_qs(urlsplit(first_address).query)["guide"][0])
    assert (record.opened_position, record.opened_article) == (1, first_guide)
    again = opened(client, links[1][1])
    assert again.status_code == HTTPStatus.NO_CONTENT
    record.refresh_from_db()
    assert (record.opened_position, record.opened_article) == (1, first_guide)


def test_a_beacon_without_a_body_counts_too(client, passport):
    address = only_ping(client, "passport")
    assert client.post(address, headers=SAME_SITE).status_code == HTTPStatus.NO_CONTENT
    assert only_record().opened_position == 1


def test_yesterdays_search_counts_older_ones_do_not(client, passport):
    address = only_ping(client, "passport")
    record = only_record()
    SearchRecord.objects.filter(pk=record.pk).update(day=record.day - timedelta(days=2))
    opened(client, address)
    record.refresh_from_db()
    assert record.opened_position is None
    SearchRecord.objects.filter(pk=record.pk).update(day=timezone.localdate() - timedelta(days=1))
    opened(client, address)
    record.refresh_from_db()
    assert record.opened_position == 1


def test_an_open_outside_the_results_is_not_counted(client, passport):
    draft = make_draft(title="Passport draft")
    address = only_ping(client, "passport")
    base = address.split("?")[0]
    for query in [f"position=2&guide={passport.pk}", f"position=1&guide={draft.pk}"]:
        assert opened(client, f"{base}?{query}").status_code == HTTPStatus.NO_CONTENT
    assert only_record().opened_position is None


def make_token(record_id, salt=searches.OPENED_SALT):
    return signing.Signer(salt=salt).sign(str(record_id))


@pytest.mark.parametrize(
    "token",
    [
        "forged",
        "1:forged",
        make_token(1, salt="articles.preview"),  # signed, but for something else
        make_token("x"),
    ],
)
def test_forged_tokens_are_not_found(client, passport, token):
    client.get("/en/search/", {"q": "passport"})
    response = opened(client, f"/search-opened/{token}/?position=1&guide={passport.pk}")
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert only_record().opened_position is None


def test_a_missing_token_is_not_found(client):
    assert opened(client, "/search-opened/?position=1&guide=1").status_code == 404


@pytest.mark.parametrize(
    "query",
    [
        "",
        "guide=1",
        "position=1",
        "position=0&guide=1",
        "position=-1&guide=1",
        "position=abc&guide=1",
        "position=1e3&guide=1",
        "position=101&guide=1",
        "position=١&guide=1",
        "position=1&guide=",
        "position=1&guide=x",
        "position=1&guide=99999999999999999999999",
    ],
)
def test_malformed_opens_are_bad_requests(client, passport, query):
    client.get("/en/search/", {"q": "passport"})
    record = only_record()
    response = opened(client, f"/search-opened/{searches.opened_token(record.pk)}/?{query}")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    record.refresh_from_db()
    assert record.opened_position is None


def test_get_is_not_allowed(client, passport):
    address = only_ping(client, "passport")
    response = client.get(address)
    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert "no-store" in response["Cache-Control"]
    assert only_record().opened_position is None


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Referer": "https://evil.example/page"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site", "Origin": "http://testserver"},
    ],
)
def test_opens_sent_from_other_sites_are_refused(client, passport, headers):
    address = only_ping(client, "passport")
    assert opened(client, address, headers=headers).status_code == HTTPStatus.FORBIDDEN
    assert only_record().opened_position is None


def test_an_open_whose_browser_names_no_origin_counts(client, passport):
    """Older browsers send neither Origin nor Sec-Fetch-Site: the signed address is
    then what limits a request to its own search."""
    address = only_ping(client, "passport")
    assert opened(client, address, headers={}).status_code == HTTPStatus.NO_CONTENT
    assert only_record().opened_position == 1


def test_robots_txt_needs_no_rule_for_the_post_only_address(client):
    robots = client.get("/robots.txt").text
    assert "search-opened" not in robots
    assert client.get("/search-opened/x/").status_code == HTTPStatus.METHOD_NOT_ALLOWED


# Retention


def add_searches(query, count=1, *, language="en", results=3, opened=0, days_ago=0, **fields):
    day = timezone.localdate() - timedelta(days=days_ago)
    article = make_article() if opened else None
    SearchRecord.objects.bulk_create(
        SearchRecord(
            day=day,
            language=language,
            query=query,
            result_count=results,
            opened_position=1 if n < opened else None,
            opened_article=article if n < opened else None,
            **fields,
        )
        for n in range(count)
    )


def purge_output(*args) -> str:
    out = StringIO()
    call_command("purge_search_records", *args, stdout=out)
    return out.getvalue()


def kept_days() -> list[int]:
    today = timezone.localdate()
    return sorted((today - day).days for day in SearchRecord.objects.values_list("day", flat=True))


def test_purge_deletes_searches_past_the_retention(settings):
    settings.SEARCH_RECORD_RETENTION_DAYS = 90
    for days_ago in [0, 89, 90, 200]:
        add_searches("pension", days_ago=days_ago)
    first_kept = timezone.localdate() - timedelta(days=89)
    assert purge_output("--dry-run") == (
        f"Would delete 2 recorded searches from before {first_kept:%Y-%m-%d} "
        "(kept the last 90 days).\n"
    )
    assert kept_days() == [0, 89, 90, 200]
    assert purge_output() == (
        f"Deleted 2 recorded searches from before {first_kept:%Y-%m-%d} (kept the last 90 days).\n"
    )
    assert kept_days() == [0, 89]


def test_purge_takes_a_number_of_days(settings):
    for days_ago in [0, 6, 7]:
        add_searches("pension", days_ago=days_ago)
    assert "Deleted 1 recorded searches" in purge_output("--days", "7")
    assert kept_days() == [0, 6]
    with pytest.raises(CommandError, match="at least 1"):
        call_command("purge_search_records", "--days", "0")


# The report


@pytest.fixture
def known_searches():
    """Searches of the last 30 days in English and Chinese, and older ones."""
    add_searches("pension", 6, results=4, opened=3)
    add_searches("pension", 2, results=8, days_ago=3)  # 8 searches, 3 opened, 5 results
    add_searches("passport fees", 4, results=2)  # nobody opens
    add_searches("submarine licence", 3, results=0)
    add_searches("moon pension", 2, results=0, days_ago=20)
    add_searches("养老金", 5, language="zh-hans", results=6, opened=5)
    add_searches("ancient query", 9, results=0, days_ago=40)


def report_rows(response, table) -> list[tuple]:
    rows = getattr(response.context["report"], table)
    keys = ["query", "language", "searches", "average_results", "opened"]
    return [tuple(row[k] for k in keys if k in row) for row in rows]


def test_an_editor_sees_the_report_for_a_known_set_of_searches(editor, known_searches):
    response = editor.client.get(REPORT)
    assert response.status_code == HTTPStatus.OK
    report = response.context["report"]
    assert (report.searches, report.without_results, report.opened) == (22, 5, 8)
    assert report_rows(response, "top") == [
        ("pension", "en", 8, 5.0, 3),
        ("养老金", "zh-hans", 5, 6.0, 5),
        ("passport fees", "en", 4, 2.0, 0),
        ("submarine licence", "en", 3, 0.0, 0),
        ("moon pension", "en", 2, 0.0, 0),
    ]
    assert report_rows(response, "no_results") == [
        ("submarine licence", "en", 3),
        ("moon pension", "en", 2),
    ]
    assert report_rows(response, "unopened") == [("passport fees", "en", 4, 2.0, 0)]
    text = response.text
    assert "ancient query" not in text
    assert "<h1>What citizens search for</h1>" in text
    assert '<th scope="row" class="search-report-query">pension</th>' in text
    assert "38%" in text  # 3 of 8 opened
    assert "Language" in text and "简体中文" in text


def test_the_period_and_language_narrow_the_report(editor, known_searches):
    week = editor.client.get(REPORT, {"period": "7"}).context["report"]
    assert (week.searches, [row["query"] for row in week.no_results]) == (20, ["submarine licence"])
    quarter = editor.client.get(REPORT, {"period": "90"}).context["report"]
    assert quarter.searches == 31
    chinese = editor.client.get(REPORT, {"period": "30", "language": "zh-hans"})
    report = chinese.context["report"]
    assert (report.searches, [row["query"] for row in report.top]) == (5, ["养老金"])
    assert report.no_results == [] and report.unopened == []
    assert "Every search in this period found something." in chinese.text
    assert '<th scope="col">Language</th>' not in chinese.text


@pytest.mark.parametrize(
    "params",
    [
        {"period": "abc"},
        {"period": "8"},
        {"period": ""},
        {"period": "7\x00"},
        {"language": "fr"},
        {"language": "<script>"},
    ],
)
def test_bad_report_choices_give_a_form_error(editor, known_searches, params):
    response = editor.client.get(REPORT, params)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "correct the choice below" in response.text
    assert 'class="errorlist' in response.text
    assert "<script>" not in response.text
    assert response.context["report"] is None


def links_of(response) -> set[str]:
    found = set()
    for label in ["See the results", "Promote a guide", "Start a guide"]:
        if f">{label}</a>" in response.text:
            found.add(label)
    return found


def test_one_click_fixes_are_offered_to_those_who_may_make_them(editor, publisher, known_searches):
    assert links_of(editor.client.get(REPORT)) == {"See the results", "Start a guide"}
    assert links_of(publisher.client.get(REPORT)) == {
        "See the results",
        "Promote a guide",
        "Start a guide",
    }
    reader = User.objects.create_user("reader", is_staff=True)
    reader.user_permissions.add(Permission.objects.get(codename="view_searchrecord"))
    client = Client()
    client.force_login(reader)
    response = client.get(REPORT)
    assert response.status_code == HTTPStatus.OK
    assert links_of(response) == {"See the results"}


def test_the_fixes_open_the_add_forms_filled_in(editor, publisher):
    add_searches("renew passport", 3, language="zh-hans", results=0)
    rows = publisher.client.get(REPORT).context["report"].no_results
    (row,) = rows
    assert row["search_url"] == "/zh-hans/search/?q=renew+passport"
    promote = publisher.client.get(row["promote_url"])
    assert promote.status_code == HTTPStatus.OK
    assert promote.context["adminform"].form.initial["queries"] == "renew passport"
    start = editor.client.get(row["start_url"])
    assert start.status_code == HTTPStatus.OK
    initial = start.context["adminform"].form.initial
    assert (initial["title"], initial["language"]) == ("renew passport", "zh-hans")
    assert editor.client.get(row["promote_url"]).status_code == HTTPStatus.FORBIDDEN


def test_citizens_queries_are_escaped(publisher):
    hostile = '<script>alert(1)</script>" onmouseover="x'
    add_searches(hostile, 3, results=0)
    response = publisher.client.get(REPORT)
    assert response.status_code == HTTPStatus.OK
    assert "<script>alert(1)</script>" not in response.text
    assert 'onmouseover="x' not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&quot; onmouseover=&quot;x" in response.text
    row = response.context["report"].no_results[0]
    assert parse_qs(urlsplit(row["promote_url"]).query)["queries"] == [hostile]


def test_a_staff_member_without_a_role_is_refused(client, known_searches):
    user = User.objects.create_user("nobody", is_staff=True)
    staff = Client()
    staff.force_login(user)
    assert staff.get(REPORT).status_code == HTTPStatus.FORBIDDEN
    record = SearchRecord.objects.first()
    assert staff.get(f"{REPORT}{record.pk}/change/").status_code == HTTPStatus.FORBIDDEN
    anonymous = client.get(REPORT)
    assert anonymous.status_code == HTTPStatus.FOUND
    assert anonymous["Location"].startswith("/admin/login/")


def test_no_one_adds_changes_or_deletes_searches_in_the_admin(publisher, admin_client):
    add_searches("pension")
    record = SearchRecord.objects.get()
    for client in [publisher.client, admin_client]:
        assert client.get(f"{REPORT}add/").status_code == HTTPStatus.FORBIDDEN
        assert client.post(f"{REPORT}{record.pk}/delete/", {"post": "yes"}).status_code == 403
        changed = client.post(f"{REPORT}{record.pk}/change/", {"query": "changed"})
        assert changed.status_code == HTTPStatus.FORBIDDEN
    assert SearchRecord.objects.get().query == "pension"
    index = publisher.client.get("/admin/").text
    assert f'href="{REPORT}"' in index and f'href="{REPORT}add/"' not in index


def test_the_report_costs_a_fixed_number_of_queries(publisher, django_assert_max_num_queries):
    def cost():
        publisher.client.get(REPORT)  # caches warm (the scheduled revisions' next due time)
        # The session, the user, their permissions (2), the totals and the three tables.
        with django_assert_max_num_queries(8) as captured:
            response = publisher.client.get(REPORT, {"period": "90"})
        assert response.status_code == HTTPStatus.OK
        return len(captured), response.context["report"]

    add_searches("pension", 2, results=0)
    few, _report = cost()
    for n in range(300):
        add_searches(f"query {n}", 3, results=n % 3, opened=n % 2, days_ago=n % 80)
    many, report = cost()
    assert many == few
    assert len(report.top) == len(report.no_results) == len(report.unopened) == 50


@pytest.mark.django_db(transaction=True)
def test_searches_recorded_before_are_masked_by_the_migration():
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before = [("insights", "0002_roles")]
    after = [("insights", "0003_mask_separated_and_full_width_numbers")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old_record = executor.loader.project_state(before).apps.get_model("insights", "SearchRecord")
    stored = {
        "call 138,1234,5678": "call ***",
        "电话１３８１２３４５６７８": "电话***",
        "pension 2024": "pension 2024",
    }
    for query in stored:
        old_record.objects.create(day="2026-11-01", language="en", query=query, result_count=1)
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(after)
    recorded = SearchRecord.objects.values_list("query", flat=True)
    assert sorted(recorded) == sorted(stored.values())
