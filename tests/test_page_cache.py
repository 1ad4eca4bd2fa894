"""The page cache and the cached content version (articles.caching): hits cost no
query and no rendering, and never serve a page older than the content."""

from datetime import timedelta
from http import HTTPStatus

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.http import HttpResponse, HttpResponseRedirect
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from articles import caching, surrogate
from articles.caching import (
    PageCacheMiddleware,
    content_version,
    forget_content_version,
    private,
    public_page,
)
from articles.models import ContentRevision
from articles.workflow import prepare_draft_revision, publish
from tests.factories import (
    cite,
    make_article,
    make_category,
    make_provision,
    make_section,
    make_translation,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def guide():
    article = make_article(category=make_category(slug="cards"), tags=["card"], title="Card")
    make_section(article, heading="Steps", body="1. The first step")
    cite(article, make_provision())
    return article


def public_paths(guide):
    return [
        "/en/",
        "/en/cards/",
        guide.get_absolute_url(),
        "/en/tags/card/",
        "/en/laws/",
        guide.provisions.get().law.get_absolute_url(),
        "/en/feeds/latest.rss",
        "/en/feeds/cards.atom",
        "/sitemap.xml",
        "/sitemap-guides.xml",
        "/robots.txt",
    ]


def rendered(response) -> bool:
    return bool(response.templates)


# Hits


def test_a_second_visit_is_a_hit_with_no_query(client, guide, django_assert_num_queries):
    for path in public_paths(guide):
        first = client.get(path)
        assert first.status_code == HTTPStatus.OK, path
        with django_assert_num_queries(0):
            second = client.get(path)
        assert second.status_code == HTTPStatus.OK, path
        assert not rendered(second), path
        assert second.content == first.content, path
        for header in ["Content-Type", "Content-Language", "ETag", "Last-Modified", "xkey"]:
            assert second.get(header) == first.get(header), (path, header)
        assert second["Cache-Control"] == first["Cache-Control"], path


def test_a_hit_keeps_every_header_of_the_page(client, guide):
    first = client.get(guide.get_absolute_url())
    second = client.get(guide.get_absolute_url())
    assert not rendered(second)
    assert second["Content-Type"] == "text/html; charset=utf-8"
    assert second["Content-Language"] == "en"
    assert "public" in second["Cache-Control"] and "max-age=0" in second["Cache-Control"]
    assert surrogate.guide_key(guide.pk) in second["xkey"].split()
    assert {name.lower() for name in first.headers} == {name.lower() for name in second.headers}


def test_a_hit_is_answered_before_sessions_language_and_users(client, guide):
    client.get(guide.get_absolute_url())
    hit = client.get(guide.get_absolute_url())
    assert not rendered(hit)
    # PageCacheMiddleware answered above SessionMiddleware and AuthenticationMiddleware.
    assert not hasattr(hit.wsgi_request, "session")
    assert not hasattr(hit.wsgi_request, "user")
    # What the middleware below it add was stored with the page.
    assert hit["Content-Language"] == "en" and hit["X-Frame-Options"] == "DENY"


def test_a_cookie_set_below_the_page_cache_keeps_the_page_out_of_it(rf, guide):
    calls = Calls(lambda: HttpResponse("hello"))
    inner = calls.view.get_response

    def sets_a_cookie(request):
        response = inner(request)
        response.set_cookie("csrftoken", "new")
        return response

    calls.view.get_response = sets_a_cookie
    for _ in range(2):
        calls.view(rf.get("/en/probe/"))
    assert calls.count == 2


def test_conditional_requests_on_a_hit_answer_304_with_no_query(
    client, guide, django_assert_num_queries
):
    first = client.get("/en/cards/")
    for headers in [
        {"If-None-Match": first["ETag"]},
        {"If-Modified-Since": first["Last-Modified"]},
    ]:
        with django_assert_num_queries(0):
            response = client.get("/en/cards/", headers=headers)
        assert response.status_code == HTTPStatus.NOT_MODIFIED
        assert response.content == b""
        assert response["ETag"] == first["ETag"]
        assert response["Cache-Control"] == first["Cache-Control"]


def test_head_is_served_from_the_cache(client, guide, django_assert_num_queries):
    client.get(guide.get_absolute_url())
    with django_assert_num_queries(0):
        response = client.head(guide.get_absolute_url())
    assert response.status_code == HTTPStatus.OK
    assert response.content == b"" and response["ETag"]


def test_the_content_version_costs_no_query_in_the_steady_state(guide, django_assert_num_queries):
    with django_assert_num_queries(1):
        version = content_version()
    with django_assert_num_queries(0):
        assert content_version() == version


def test_the_page_cache_can_be_turned_off(client, guide):
    with override_settings(PAGE_CACHE=False):
        client.get("/en/cards/")
        assert rendered(client.get("/en/cards/"))


# Never stale


def test_an_editors_save_shows_on_the_very_next_request(client, guide):
    client.get(guide.get_absolute_url())
    section = guide.sections.get()
    section.body = "1. A new first step"
    section.save()
    page = client.get(guide.get_absolute_url())
    assert rendered(page)
    assert "A new first step" in page.content.decode()
    listing = client.get("/en/cards/")
    guide.title = "Card renamed"
    guide.save()
    assert "Card renamed" in client.get("/en/cards/").content.decode()
    assert client.get("/en/cards/")["ETag"] != listing["ETag"]


def test_a_save_replaces_the_version_for_every_worker(guide, django_assert_num_queries):
    before, _valid_until = content_version()
    with time_machine.travel(timezone.now() + timedelta(seconds=5)):
        ContentRevision.bump()
        forget_content_version()  # what ContentRevision.bump() calls
        with django_assert_num_queries(1):
            after, _valid_until = content_version()
    assert after > before


def test_a_version_read_while_a_change_commits_is_not_kept(guide, monkeypatch):
    # A request on another worker reads the database just before a change commits
    # and stores what it read just after: the change's new generation disowns it.
    read = caching._read_content_version

    def read_then_change():
        result = read()
        ContentRevision.objects.update(changed_at=timezone.now() + timedelta(minutes=1))
        forget_content_version()  # the commit
        return result

    forget_content_version()
    monkeypatch.setattr(caching, "_read_content_version", read_then_change)
    stale, _valid_until = content_version()
    monkeypatch.undo()
    assert content_version()[0] > stale


def test_a_scheduled_guide_shows_exactly_when_due(client, guide, django_assert_num_queries):
    # Soon, so that nothing else the cache holds (the next due revision) expires first.
    due = timezone.now() + timedelta(seconds=50)
    make_article(category=guide.category, title="Scheduled guide", published_at=due)
    before = client.get("/en/cards/")
    assert "Scheduled guide" not in before.content.decode()
    with time_machine.travel(due - timedelta(seconds=2)):
        with django_assert_num_queries(0):
            still = client.get("/en/cards/")
        assert still.content == before.content
    with time_machine.travel(due + timedelta(seconds=1)):
        after = client.get("/en/cards/", headers={"If-None-Match": before["ETag"]})
        assert after.status_code == HTTPStatus.OK
        assert "Scheduled guide" in after.content.decode()
        assert after["ETag"] != before["ETag"]


def test_a_scheduled_revision_shows_exactly_when_due(client, guide, publisher):
    user, _staff = publisher
    copy = prepare_draft_revision(guide, user)
    step = copy.sections.get()
    step.body = "1. The revised step"
    step.save()
    due = timezone.now() + timedelta(days=3)
    publish(copy, user, when=due)
    url = guide.get_absolute_url()
    client.get(url)
    assert not rendered(client.get(url))
    with time_machine.travel(due + timedelta(seconds=1)):
        page = client.get(url).content.decode()
        assert "The revised step" in page and "The first step" not in page


def test_shared_caches_keep_no_page_past_the_next_scheduled_publish(client, guide):
    due = timezone.now() + timedelta(seconds=90)
    make_article(category=guide.category, published_at=due)
    assert "s-maxage=60" in client.get("/en/cards/")["Cache-Control"]
    with time_machine.travel(due - timedelta(seconds=10), tick=False):
        assert "s-maxage=10" in client.get("/en/cards/")["Cache-Control"]


# Never cached


def test_signed_in_staff_always_get_a_fresh_page(client, guide, editor):
    _user, staff = editor
    client.get("/en/cards/")
    assert settings.SESSION_COOKIE_NAME in staff.cookies
    assert rendered(staff.get("/en/cards/"))
    assert rendered(staff.get("/en/cards/"))
    # Nor does what staff are shown go to anyone else.
    assert not rendered(client.get("/en/cards/"))


def test_any_session_cookie_skips_the_cache(client, guide):
    client.get("/en/")
    client.cookies[settings.SESSION_COOKIE_NAME] = "whatever"
    assert rendered(client.get("/en/"))


def test_previews_are_never_cached(guide, editor):
    _user, staff = editor
    for _ in range(2):
        response = staff.get(f"/preview/{guide.pk}/")
        assert response.status_code == HTTPStatus.OK and rendered(response)
        assert "no-store" in response["Cache-Control"]


def test_redirects_and_errors_are_never_stored(client, guide):
    for path in [
        "/en/cards/no-such-guide/",
        "/en/no-such-topic/",
        "/en/CARDS/",
        f"/en/{make_category(slug='other').slug}/{guide.slug}/",
    ]:
        first = client.get(path)
        assert first.status_code in {HTTPStatus.NOT_FOUND, HTTPStatus.MOVED_PERMANENTLY}
        with CaptureQueriesContext(connection) as queries:
            second = client.get(path)
        assert second.status_code == first.status_code, path
        assert len(queries), path  # the view ran again


def test_addresses_with_made_up_query_strings_are_not_stored(client, guide):
    client.get("/en/cards/?utm_source=newsletter")
    assert rendered(client.get("/en/cards/?utm_source=newsletter"))
    client.get("/en/cards/?page=1")
    assert not rendered(client.get("/en/cards/?page=1"))
    law = guide.provisions.get().law
    listing = f"{law.get_absolute_url()}?provision={guide.provisions.get().anchor}"
    assert client.get(listing).status_code == HTTPStatus.OK
    assert not rendered(client.get(listing))
    made_up = f"{law.get_absolute_url()}?provision=no-such-provision"
    assert client.get(made_up).status_code == HTTPStatus.NOT_FOUND
    assert client.get(made_up).status_code == HTTPStatus.NOT_FOUND


class Calls:
    """A view made into a public page behind the page cache, counting how often it runs."""

    def __init__(self, make_response):
        self.count = 0
        self.make_response = make_response
        self.view = PageCacheMiddleware(public_page(self._view))

    def _view(self, request):
        self.count += 1
        return self.make_response()


def with_cookie():
    response = HttpResponse("hello")
    response.set_cookie("flavour", "chocolate")
    return response


@pytest.mark.parametrize(
    "make_response",
    [
        with_cookie,
        lambda: private(HttpResponse("for one person")),
        lambda: HttpResponseRedirect("/en/"),
        lambda: HttpResponse("missing", status=404),
        lambda: HttpResponse("gone", status=410),
    ],
    ids=["sets-a-cookie", "private", "redirect", "404", "410"],
)
def test_responses_that_are_not_plain_200s_are_never_stored(rf, guide, make_response):
    calls = Calls(make_response)
    for _ in range(2):
        calls.view(rf.get("/en/probe/"))
    assert calls.count == 2


def test_posts_are_never_served_from_the_cache(rf, guide):
    calls = Calls(lambda: HttpResponse("hello"))
    calls.view(rf.get("/en/probe/"))
    calls.view(rf.post("/en/probe/"))
    assert calls.count == 2
    calls.view(rf.get("/en/probe/"))
    assert calls.count == 2


# Languages


def test_languages_do_not_mix(client, guide):
    chinese = make_translation(guide, title="卡片指南", category=guide.category)
    for _ in range(2):
        english_home, chinese_home = client.get("/en/"), client.get("/zh-hans/")
        assert english_home["Content-Language"] == "en"
        assert chinese_home["Content-Language"] == "zh-hans"
        assert 'lang="en"' in english_home.content.decode()
        assert 'lang="zh-Hans"' in chinese_home.content.decode()
        assert english_home.content != chinese_home.content
        english_feed = client.get("/en/feeds/latest.rss").content.decode()
        chinese_feed = client.get("/zh-hans/feeds/latest.rss").content.decode()
        assert "Card" in english_feed and "卡片指南" not in english_feed
        assert "卡片指南" in chinese_feed
        page = client.get(chinese.get_absolute_url())
        assert page["Content-Language"] == "zh-hans" and "卡片指南" in page.content.decode()


# Surrogate keys and shared caches


def test_pages_name_what_they_show_in_xkey(client, guide):
    law = guide.provisions.get().law
    topic, tag = guide.category, guide.tags.get()
    expected = {
        "/en/": {surrogate.listing_key("en"), surrogate.guide_key(guide.pk)},
        "/en/cards/": {surrogate.topic_key(topic.pk), surrogate.guide_key(guide.pk)},
        guide.get_absolute_url(): {
            surrogate.guide_key(guide.pk),
            surrogate.topic_key(topic.pk),
            surrogate.tag_key(tag.pk),
            surrogate.law_key(law.pk),
        },
        "/en/tags/card/": {surrogate.tag_key(tag.pk), surrogate.guide_key(guide.pk)},
        "/en/laws/": {surrogate.LAW_LIST_KEY, surrogate.law_key(law.pk)},
        law.get_absolute_url(): {surrogate.law_key(law.pk)},
        "/en/feeds/latest.rss": {surrogate.listing_key("en"), surrogate.guide_key(guide.pk)},
        "/en/feeds/cards.atom": {surrogate.topic_key(topic.pk), surrogate.guide_key(guide.pk)},
        "/sitemap-guides.xml": {surrogate.listing_key(code) for code, _name in settings.LANGUAGES},
        "/sitemap-tags.xml": {surrogate.tag_key(tag.pk)},
    }
    for path, keys in expected.items():
        for _ in range(2):  # rendered, then from the cache
            response = client.get(path)
            assert keys <= set(response["xkey"].split()), (path, response["xkey"])


def test_purged_front_caches_keep_pages_a_day(client, guide):
    assert "s-maxage=60" in client.get("/en/cards/")["Cache-Control"]
    with override_settings(FRONT_CACHES=["http://127.0.0.1:6081"]):
        cache_control = client.get("/en/laws/")["Cache-Control"]
    assert "s-maxage=86400" in cache_control and "max-age=0" in cache_control
    assert "stale-while-revalidate" not in cache_control


def test_rendered_pages_are_kept_per_release(client, guide, settings, tmp_path):
    """A deploy with other templates, catalogues or static files never gets pages
    rendered by the one before from the shared cache."""
    caching.release.cache_clear()
    first = caching.release()
    manifest = tmp_path / "staticfiles.json"
    manifest.write_text('{"paths": {"css/site.css": "css/site.0123456789ab.css"}}')
    settings.STATIC_ROOT = tmp_path
    caching.release.cache_clear()
    try:
        assert caching.release() != first
    finally:
        caching.release.cache_clear()
