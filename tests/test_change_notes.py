"""Change notes citizens can see: a major edit of a public guide carries a short note;
the guide shows "Last updated" (its latest note, else "Published"), every update under
"See all updates", "First published" and "Last reviewed"; each guide has an Atom feed
of its updates; a draft revision's note goes live with it. Each admin path runs as an
Editor where an Editor may take it."""

import re
import threading
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine
from django.contrib.auth.models import User
from django.contrib.messages import get_messages
from django.contrib.redirects.models import Redirect
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from reversion.models import Version

from articles import purge, surrogate
from articles.feeds import updates_feed_path
from articles.models import Article, ChangeNote
from articles.workflow import apply_due_revisions, prepare_draft_revision, publish
from tests.factories import (
    STAFF_PASSWORD,
    make_article,
    make_category,
    make_draft,
    make_section,
    make_translation,
)
from tests.helpers import assert_good_page, change_form, inline_data

pytestmark = pytest.mark.django_db

GUIDES = "/admin/articles/article/"
NOTE_REQUIRED = "Write a short note for citizens about what changed"
ATOM = {"atom": "http://www.w3.org/2005/Atom"}


def change_url(article):
    return f"{GUIDES}{article.pk}/change/"


def save(client, article, **overrides):
    return client.post(change_url(article), change_form(article, **overrides))


def errors(response):
    return " ".join(str(e) for e in response.context["errors"]) if response.context else ""


def staff_without_group() -> Client:
    user = User.objects.create_user("nobody", password=STAFF_PASSWORD, is_staff=True)
    client = Client()
    client.force_login(user)
    return client


def notes_of(article) -> list[str]:
    return list(ChangeNote.objects.filter(article=article).values_list("note", flat=True))


def page(client, article) -> str:
    response = client.get(article.get_absolute_url())
    assert response.status_code == HTTPStatus.OK
    return response.content.decode()


def header(html) -> str:
    """The guide's header: title, summary and its dates."""
    start = html.index('<header class="guide__header">')
    return html[start : html.index("</header>", start)]


def updates(html) -> list[str]:
    """The entries under "See all updates", as text, in page order."""
    section = html[html.index('<section id="updates"') :]
    section = section[: section.index("</section>")]
    items = re.findall(r"<li>(.*?)</li>", section, re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", item).split()) for item in items]


@pytest.fixture
def guide():
    """A published original guide, a day old, with one section."""
    guide = make_article(
        title="Renew a residence permit",
        published_at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
    )
    make_section(guide, heading="Steps", body="1. Book an appointment")
    return guide


class TestTheChangeForm:
    def test_a_major_change_needs_a_note_and_nothing_is_saved_without_one(self, publisher, guide):
        _, staff = publisher
        response = save(staff, guide, title="Renew your permit", major_change="on")
        assert response.status_code == HTTPStatus.OK
        assert NOTE_REQUIRED in errors(response)
        assert "untick Major change for a minor edit such as a typo" in errors(response)
        assert Article.objects.get(pk=guide.pk).title == "Renew a residence permit"
        assert notes_of(guide) == []

    def test_a_note_is_recorded_dated_now_and_is_a_major_change(self, publisher, guide, client):
        _, staff = publisher
        before = timezone.now()
        # No "major_change" posted: the note alone makes it major.
        response = save(staff, guide, summary="New fees.", change_note="  New fees\nfrom 1 July ")
        assert response.status_code == HTTPStatus.FOUND, errors(response)
        note = ChangeNote.objects.get(article=guide)
        assert note.note == "New fees from 1 July"  # one line, as it is shown
        assert note.made_at >= before
        assert Article.objects.get(pk=guide.pk).major_change_at >= before
        top = header(page(client, guide))
        assert "Last updated" in top and "Published" not in top
        assert f'<time datetime="{note.made_at:%Y-%m-%dT%H:%M:%SZ}">' in top

    def test_a_minor_edit_records_no_note_and_moves_no_date(self, publisher, guide, client):
        _, staff = publisher
        first = page(client, guide)
        assert "Published" in header(first) and "Last updated" not in header(first)
        major_before = Article.objects.get(pk=guide.pk).major_change_at
        response = save(staff, guide, title="Renew a residence permit (typo fixed)")
        assert response.status_code == HTTPStatus.FOUND, errors(response)
        assert notes_of(guide) == []
        assert Article.objects.get(pk=guide.pk).major_change_at == major_before
        html = page(client, guide)
        assert "Renew a residence permit (typo fixed)" in html
        assert header(html).count("<time") == 1
        assert '<time datetime="2026-03-02T09:00:00Z">2 March 2026</time>' in header(html)

    def test_where_major_change_is_not_asked_the_note_alone_decides(self, publisher, guide):
        _, staff = publisher
        translated = make_translation(guide, slug="renew-zh")
        form = staff.get(change_url(translated)).content.decode()
        assert 'name="change_note"' in form and 'name="major_change"' not in form
        assert save(staff, translated, title="续签居留许可").status_code == HTTPStatus.FOUND
        assert notes_of(translated) == []
        response = save(staff, translated, change_note="新的费用")
        assert response.status_code == HTTPStatus.FOUND, errors(response)
        assert notes_of(translated) == ["新的费用"]

    def test_only_public_guides_and_their_revisions_ask_for_a_note(self, editor, guide):
        user, staff = editor
        add_form = staff.get(f"{GUIDES}add/").content.decode()
        assert 'name="change_note"' not in add_form
        draft = make_draft(title="Never published")
        draft_form = staff.get(change_url(draft)).content.decode()
        assert 'name="change_note"' not in draft_form
        assert "Updates shown to citizens" not in draft_form
        scheduled = make_article(published_at=timezone.now() + timedelta(days=2))
        assert 'name="change_note"' not in staff.get(change_url(scheduled)).content.decode()
        revision = prepare_draft_revision(guide, user)
        assert 'name="change_note"' in staff.get(change_url(revision)).content.decode()

    def test_a_note_is_longer_than_250_characters_is_refused(self, publisher, guide):
        _, staff = publisher
        response = save(staff, guide, change_note="x" * 251, major_change="on")
        assert response.status_code == HTTPStatus.OK
        assert "at most 250 characters" in errors(response)
        assert notes_of(guide) == []


class TestDraftRevisions:
    def test_a_revision_keeps_one_note_that_goes_live_with_it(
        self, editor, publisher, guide, client
    ):
        editor_user, staff = editor
        revision = prepare_draft_revision(guide, editor_user)
        response = save(staff, revision, summary="New fees.", change_note="New fees")
        assert response.status_code == HTTPStatus.FOUND, errors(response)
        # Reworded on the next save (the form shows it): still one, not live yet.
        form = staff.get(change_url(revision)).content.decode()
        assert re.search(r'<textarea name="change_note"[^>]*>\s*New fees</textarea>', form)
        response = save(staff, revision, change_note="New fees from 1 July")
        assert response.status_code == HTTPStatus.FOUND, errors(response)
        assert notes_of(revision) == ["New fees from 1 July"]
        assert notes_of(guide) == []
        assert "New fees from 1 July" not in page(client, guide)

        with time_machine.travel(timezone.now() + timedelta(hours=2), tick=False):
            publish(Article.objects.get(pk=revision.pk), publisher.user)
            went_live = timezone.now()
            note = ChangeNote.objects.get()
            assert (note.article_id, note.note) == (guide.pk, "New fees from 1 July")
            assert note.made_at == went_live
            html = page(client, guide)
        assert "Last updated" in header(html)
        assert updates(html)[0].endswith("New fees from 1 July")

    def test_a_revision_saved_without_a_note_drops_its_note(self, editor, guide):
        editor_user, staff = editor
        revision = prepare_draft_revision(guide, editor_user)
        save(staff, revision, change_note="New fees", major_change="on")
        assert notes_of(revision) == ["New fees"]
        response = save(staff, revision, title="Renew a residence permit (typo)")
        assert response.status_code == HTTPStatus.FOUND, errors(response)
        assert notes_of(revision) == []

    def test_a_scheduled_revisions_note_is_dated_when_it_goes_live(self, publisher, guide, client):
        user, staff = publisher
        revision = prepare_draft_revision(guide, user)
        response = save(staff, revision, change_note="Office moved", major_change="on")
        assert response.status_code == HTTPStatus.FOUND, errors(response)
        due = timezone.now().replace(microsecond=0) + timedelta(days=3)
        publish(Article.objects.get(pk=revision.pk), user, when=due)
        assert "Office moved" not in page(client, guide)
        with time_machine.travel(due + timedelta(minutes=5), tick=False):
            assert apply_due_revisions() == 1
            html = page(client, guide)
        assert ChangeNote.objects.get(article=guide).made_at == due
        assert updates(html)[0].endswith("Office moved")

    def test_a_revision_deleted_takes_its_note_with_it(self, editor, guide):
        user, staff = editor
        revision = prepare_draft_revision(guide, user)
        save(staff, revision, change_note="New fees", major_change="on")
        Article.objects.get(pk=revision.pk).delete()
        assert not ChangeNote.objects.exists()


class TestThePublicPage:
    def test_it_shows_every_update_first_publication_and_last_review(self, client, guide):
        guide.reviewed_at = date(2026, 6, 1)
        guide.save()
        ChangeNote.objects.create(
            article=guide, note="Fees changed", made_at=datetime(2026, 4, 1, 8, tzinfo=UTC)
        )
        ChangeNote.objects.create(
            article=guide, note="Office moved", made_at=datetime(2026, 5, 1, 8, tzinfo=UTC)
        )
        html = page(client, guide)
        assert_good_page(html)
        top = header(html)
        assert '<time datetime="2026-05-01T08:00:00Z">1 May 2026</time>' in top
        assert "Last updated" in top and '<a href="#updates">See all updates</a>' in top
        assert 'Last reviewed <time datetime="2026-06-01">1 June 2026</time>' in top
        assert "<details" in html and "<summary>See all updates</summary>" in html
        assert updates(html) == [
            "1 May 2026 Office moved",
            "1 April 2026 Fees changed",
            "2 March 2026 First published",
        ]
        assert "style=" not in html[html.index('<section id="updates"') :]

    def test_without_notes_it_says_published_and_not_reviewed(self, client, guide):
        html = page(client, guide)
        top = header(html)
        assert "Published" in top and "Last updated" not in top and "Last reviewed" not in top
        assert updates(html) == ["2 March 2026 First published"]

    def test_a_hostile_note_is_shown_as_plain_text(self, client, guide):
        ChangeNote.objects.create(article=guide, note='<script>alert("x")</script> & <b>bold</b>')
        html = page(client, guide)
        assert "<script>alert" not in html and "<b>bold</b>" not in html
        assert (
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;"
            in html
        )
        assert_good_page(html)

    def test_the_chinese_page_shows_its_dates_in_chinese(self, client, guide):
        chinese = make_translation(
            guide, slug="续签居留许可", title="续签居留许可", reviewed_at=date(2026, 6, 1)
        )
        ChangeNote.objects.create(
            article=chinese, note="费用变更", made_at=datetime(2026, 5, 1, 8, tzinfo=UTC)
        )
        html = page(client, chinese)
        assert_good_page(html)
        assert '<time datetime="2026-05-01T08:00:00Z">2026年5月1日</time>' in header(html)
        assert '<time datetime="2026-06-01">2026年6月1日</time>' in header(html)
        assert "费用变更" in updates(html)[0]
        assert f'href="{feed_path(chinese)}"' in html
        feed = client.get(feed_path(chinese))
        assert feed.status_code == HTTPStatus.OK
        assert "费用变更" in feed.content.decode()
        old = feed_path(chinese)
        chinese.slug = "居留许可续签"
        chinese.save()
        moved = client.get(old)
        assert moved.status_code == HTTPStatus.MOVED_PERMANENTLY
        assert moved["Location"] == feed_path(chinese)
        assert client.get(moved["Location"]).status_code == HTTPStatus.OK

    def test_a_cached_page_shows_a_new_note_at_once(self, client, publisher, guide, settings):
        settings.PAGE_CACHE = True
        _, staff = publisher
        first = client.get(guide.get_absolute_url())
        again = client.get(guide.get_absolute_url())
        assert first.content == again.content  # from the page cache now
        response = save(staff, guide, change_note="Office moved", major_change="on")
        assert response.status_code == HTTPStatus.FOUND, errors(response)
        html = page(client, guide)
        assert "Office moved" in html and "Last updated" in header(html)
        note = ChangeNote.objects.get()
        note.note = "Office moved to Main Street"
        note.save()  # a note reworded (the inline, the shell): shown at once too
        assert "Office moved to Main Street" in page(client, guide)

    def test_the_guide_costs_one_query_more_with_notes_however_many(
        self, client, settings, django_assert_max_num_queries
    ):
        settings.PAGE_CACHE = False
        # tests/test_query_budget.py's BUDGET (6), plus the notes' query.
        budget = 7
        counts = []
        for size in (1, 20):
            guide = make_article(category=make_category())
            for n in range(size):
                ChangeNote.objects.create(article=guide, note=f"Change {n}")
            client.get("/robots.txt")
            with CaptureQueriesContext(connection) as captured:
                assert client.get(guide.get_absolute_url()).status_code == HTTPStatus.OK
            counts.append(len(captured))
        assert counts[0] == counts[1] <= budget


def feed_path(guide) -> str:
    """Where the guide's updates feed is, as the database holds the guide now."""
    return updates_feed_path(Article.objects.select_related("category").get(pk=guide.pk))


class TestTheFeed:
    def test_one_entry_per_note_and_one_for_the_first_publication(self, client, guide):
        Article.objects.filter(pk=guide.pk).update(
            created_at=datetime(2026, 3, 1, 7, 30, 15, 123456, tzinfo=UTC)
        )
        ChangeNote.objects.create(
            article=guide, note="Fees <changed>", made_at=datetime(2026, 4, 1, 8, tzinfo=UTC)
        )
        ChangeNote.objects.create(
            article=guide, note="Office moved", made_at=datetime(2026, 5, 1, 8, tzinfo=UTC)
        )
        response = client.get(feed_path(guide))
        assert response.status_code == HTTPStatus.OK
        assert response["Content-Type"].startswith("application/atom+xml")
        assert surrogate.guide_key(guide.pk) in response["xkey"].split()
        feed = ET.fromstring(response.content)
        entries = feed.findall("atom:entry", ATOM)
        titles = [entry.findtext("atom:title", namespaces=ATOM) for entry in entries]
        assert titles == ["Office moved", "Fees <changed>", "First published"]
        ids = [entry.findtext("atom:id", namespaces=ATOM) for entry in entries]
        guide_id = "guide/20260301T073015123456Z"
        assert ids == [
            f"tag:testserver,2026-05-01:{guide_id}/update/20260501T080000000000Z",
            f"tag:testserver,2026-04-01:{guide_id}/update/20260401T080000000000Z",
            f"tag:testserver,2026-03-02:{guide_id}/published",
        ]
        assert feed.findtext("atom:id", namespaces=ATOM) == (
            f"tag:testserver,2026-03-01:{guide_id}/updates"
        )
        link = entries[0].find("atom:link", ATOM).get("href")
        assert link == f"http://testserver{guide.get_absolute_url()}"
        assert "Renew a residence permit" in feed.findtext("atom:title", namespaces=ATOM)

    def test_the_page_links_its_feed_in_its_head_and_visibly(self, client, guide):
        html = page(client, guide)
        url = feed_path(guide)
        assert url == f"/en/feeds/{guide.category.slug}/{guide.slug}/updates.atom"
        assert (
            f'<link rel="alternate" type="application/atom+xml" '
            f'title="Updates to this guide (Atom)" href="{url}">'
        ) in html
        assert f'<a href="{url}" type="application/atom+xml">Follow updates' in html
        assert client.get(url).status_code == HTTPStatus.OK

    def test_the_feed_follows_its_guide_to_a_new_slug_and_topic(self, client, guide):
        old = feed_path(guide)
        guide.slug = "residence-permit-renewal"
        guide.save()
        guide.category = make_category(slug="permits")
        guide.save()
        new = feed_path(guide)
        assert new == "/en/feeds/permits/residence-permit-renewal/updates.atom"
        assert client.get(new).status_code == HTTPStatus.OK
        response = client.get(old)
        assert response.status_code == HTTPStatus.MOVED_PERMANENTLY
        assert response["Location"] == new

    def test_another_topic_or_language_in_the_address_redirects(self, client, guide):
        for wrong in [
            f"/en/feeds/other-topic/{guide.slug}/updates.atom",
            f"/zh-hans/feeds/{guide.category.slug}/{guide.slug}/updates.atom",
        ]:
            response = client.get(wrong)
            assert response.status_code == HTTPStatus.MOVED_PERMANENTLY, wrong
            assert response["Location"] == feed_path(guide)

    @pytest.mark.parametrize(
        "which", ["unknown", "draft", "scheduled", "revision", "deleted", "moved-to-a-topic"]
    )
    def test_anything_but_a_published_guide_is_not_found(self, client, guide, which):
        def deleted():
            gone = make_article(slug="gone-guide")
            path = feed_path(gone)
            gone.delete()  # its page answers 410 now
            return path

        def moved_to_a_topic():
            Redirect.objects.create(
                site_id=1,
                old_path="/en/topic/old-guide/",
                new_path=guide.category.get_absolute_url(),
            )
            return "/en/feeds/topic/old-guide/updates.atom"

        path = {
            "unknown": lambda: "/en/feeds/some-topic/no-such-guide/updates.atom",
            "draft": lambda: feed_path(make_draft()),
            "scheduled": lambda: feed_path(
                make_article(published_at=timezone.now() + timedelta(days=1))
            ),
            "revision": lambda: feed_path(prepare_draft_revision(guide, None)),
            "deleted": deleted,
            "moved-to-a-topic": moved_to_a_topic,
        }[which]()
        assert client.get(path).status_code == HTTPStatus.NOT_FOUND


class TestTheInline:
    def test_a_publisher_rewords_and_deletes_notes(self, publisher, guide, client):
        _, staff = publisher
        kept = ChangeNote.objects.create(article=guide, note="Fees chnaged")
        wrong = ChangeNote.objects.create(article=guide, note="Wrong guide")
        form = staff.get(change_url(guide)).content.decode()
        assert "Updates shown to citizens" in form
        assert 'name="change_notes-0-note"' in form
        rows = [
            {"id": str(wrong.pk), "article": str(guide.pk), "note": wrong.note, "DELETE": "on"},
            {"id": str(kept.pk), "article": str(guide.pk), "note": "Fees changed"},
        ]
        response = save(staff, guide, **inline_data("change_notes", rows, initial=2))
        assert response.status_code == HTTPStatus.FOUND, errors(response)
        assert notes_of(guide) == ["Fees changed"]
        assert updates(page(client, guide))[0].endswith("Fees changed")

    def test_notes_cannot_be_added_in_the_inline(self, publisher, guide):
        _, staff = publisher
        rows = [{"article": str(guide.pk), "note": "Sneaked in"}]
        save(staff, guide, **inline_data("change_notes", rows))
        assert notes_of(guide) == []

    def test_an_editor_sees_a_public_guides_notes_read_only(self, editor, guide):
        _, staff = editor
        note = ChangeNote.objects.create(article=guide, note="Fees changed")
        form = staff.get(change_url(guide)).content.decode()
        assert "Updates shown to citizens" in form and "Fees changed" in form
        assert 'name="change_notes-0-note"' not in form
        rows = [{"id": str(note.pk), "article": str(guide.pk), "note": "Rewritten", "DELETE": "on"}]
        response = save(staff, guide, **inline_data("change_notes", rows, initial=1))
        assert response.status_code in {HTTPStatus.OK, HTTPStatus.FORBIDDEN}
        assert notes_of(guide) == ["Fees changed"]

    def test_an_editor_may_fix_the_notes_of_a_guide_back_in_draft(self, editor, guide):
        _, staff = editor
        note = ChangeNote.objects.create(article=guide, note="Fees chnaged")
        Article.objects.filter(pk=guide.pk).update(status=Article.Status.DRAFT)
        rows = [{"id": str(note.pk), "article": str(guide.pk), "note": "Fees changed"}]
        response = save(staff, guide, status="draft", **inline_data("change_notes", rows, 1))
        assert response.status_code == HTTPStatus.FOUND, errors(response)
        assert notes_of(guide) == ["Fees changed"]

    def test_a_staff_member_without_a_group_can_do_nothing(self, guide):
        client = staff_without_group()
        assert client.get(change_url(guide)).status_code == HTTPStatus.FORBIDDEN
        response = client.post(change_url(guide), change_form(guide, change_note="Sneaked in"))
        assert response.status_code == HTTPStatus.FORBIDDEN
        assert notes_of(guide) == []

    def test_a_form_posted_without_the_inline_keeps_the_notes(self, publisher, guide):
        _, staff = publisher
        ChangeNote.objects.create(article=guide, note="Fees changed")
        assert save(staff, guide, title="Typo fixed").status_code == HTTPStatus.FOUND
        assert notes_of(guide) == ["Fees changed"]


class TestPurges:
    def test_a_note_written_or_edited_purges_its_guide(self, settings, guide, publisher):
        recorder = PurgeRecorder()
        try:
            settings.FRONT_CACHES = [recorder.url]
            settings.FRONT_CACHE_REPURGE_DELAY = 0
            _, staff = publisher
            response = save(staff, guide, change_note="Office moved", major_change="on")
            assert response.status_code == HTTPStatus.FOUND, errors(response)
            assert purge.wait(timeout=10)
            assert surrogate.guide_key(guide.pk) in recorder.keys()
            recorder.purges.clear()
            note = ChangeNote.objects.get()
            note.note = "Office moved to Main Street"
            note.save()
            assert purge.wait(timeout=10)
            assert recorder.purges == [
                {
                    surrogate.guide_key(guide.pk),
                    surrogate.topic_key(guide.category_id),
                    surrogate.listing_key("en"),
                }
            ]
        finally:
            purge.wait(timeout=10)
            recorder.close()


def act(client, action, *guides):
    return client.post(GUIDES, {"action": action, "_selected_action": [g.pk for g in guides]})


def messages_of(response) -> str:
    return " ".join(str(m) for m in get_messages(response.wsgi_request))


class TestReviews:
    def test_an_editor_marks_guides_reviewed_and_citizens_see_it(self, editor, client, settings):
        settings.PAGE_CACHE = True
        _, staff = editor
        today = timezone.localdate()
        overdue = make_article(review_by=today - timedelta(days=10))
        due_today = make_article(review_by=today)
        never_set = make_article()
        later = make_article(review_by=today + timedelta(days=30))
        assert "Last reviewed" not in page(client, overdue)  # now in the page cache

        response = act(staff, "mark_reviewed", overdue, due_today, never_set, later)
        assert response.status_code == HTTPStatus.FOUND
        assert "Marked as reviewed: 4 guides." in messages_of(response)
        next_year = today + timedelta(days=365)
        for guide in (overdue, due_today, never_set):
            guide.refresh_from_db()
            assert (guide.reviewed_at, guide.review_by) == (today, next_year)
        later.refresh_from_db()
        assert (later.reviewed_at, later.review_by) == (today, today + timedelta(days=30))
        assert f'<time datetime="{today:%Y-%m-%d}">' in header(page(client, overdue))
        comments = Version.objects.get_for_object(overdue).values_list(
            "revision__comment", flat=True
        )
        assert "Marked as reviewed" in list(comments)

    def test_the_interval_is_a_setting(self, editor, settings):
        settings.REVIEW_INTERVAL_DAYS = 90
        guide = make_article()
        act(editor.client, "mark_reviewed", guide)
        guide.refresh_from_db()
        assert guide.review_by == timezone.localdate() + timedelta(days=90)

    def test_a_law_change_needs_a_publisher_to_confirm(self, editor, publisher):
        flagged = make_article(needs_review=True)
        response = act(editor.client, "mark_reviewed", flagged)
        assert "a Publisher must check it" in messages_of(response)
        act(editor.client, "confirm_reviewed", flagged)  # not an Editor's action
        flagged.refresh_from_db()
        assert flagged.needs_review and flagged.reviewed_at is None

        act(publisher.client, "confirm_reviewed", flagged)
        flagged.refresh_from_db()
        assert not flagged.needs_review and flagged.reviewed_at == timezone.localdate()

    def test_a_draft_revision_is_not_marked_its_guide_is(self, editor, guide):
        revision = prepare_draft_revision(guide, editor.user)
        response = act(editor.client, "mark_reviewed", revision)
        assert "mark the published guide it revises" in messages_of(response)
        assert Article.objects.get(pk=revision.pk).reviewed_at is None

    def test_a_staff_member_without_a_group_cannot_mark(self, guide):
        response = act(staff_without_group(), "mark_reviewed", guide)
        assert response.status_code == HTTPStatus.FORBIDDEN
        assert Article.objects.get(pk=guide.pk).reviewed_at is None

    def test_marking_reviewed_purges_the_guide(self, editor, settings, guide):
        recorder = PurgeRecorder()
        try:
            settings.FRONT_CACHES = [recorder.url]
            settings.FRONT_CACHE_REPURGE_DELAY = 0
            act(editor.client, "mark_reviewed", guide)
            assert purge.wait(timeout=10)
            assert surrogate.guide_key(guide.pk) in recorder.keys()
        finally:
            purge.wait(timeout=10)
            recorder.close()


class PurgeRecorder:
    """A front cache on 127.0.0.1 that records the keys of each PURGE it gets."""

    def __init__(self):
        self.purges: list[set[str]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_PURGE(self):
                recorder.purges.append(set(self.headers.get("xkey-purge", "").split()))
                self.send_response(HTTPStatus.OK)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def keys(self) -> set[str]:
        return set().union(*self.purges)

    def close(self):
        self.server.shutdown()
        self.server.server_close()
