"""Front cache purges (articles/purge.py): after a change commits, its keys are
purged on every front cache, once per transaction; a front cache that fails is
retried and logged, and the change stands."""

import logging
import socket
import threading
import time
from datetime import timedelta
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.utils import timezone
from taggit.models import Tag

from articles import purge, surrogate
from articles.admin_tags import merge_tags
from articles.models import Article
from articles.workflow import prepare_draft_revision, publish
from tests.factories import (
    cite,
    make_article,
    make_category,
    make_draft,
    make_law,
    make_provision,
    make_section,
    make_translation,
)
from tests.helpers import change_form

pytestmark = pytest.mark.django_db


class FrontCache:
    """A stand-in for Varnish on 127.0.0.1: records each PURGE's keys (and when it
    came, in `times`) and answers `status` (200 with X-Purged, as
    deploy/varnish/default.vcl does), once `gate` is open (it is unless a test
    closes it)."""

    def __init__(self):
        self.purges: list[set[str]] = []
        self.times: list[float] = []  # time.monotonic() of each purge
        self.status = HTTPStatus.OK
        self.gate = threading.Event()
        self.gate.set()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_PURGE(self):
                recorder.purges.append(set(self.headers.get("xkey-purge", "").split()))
                recorder.times.append(time.monotonic())
                recorder.gate.wait(timeout=10)
                body = b"Purged 3 objects\n"
                self.send_response(recorder.status)
                if recorder.status == HTTPStatus.OK:
                    self.send_header("X-Purged", "3")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def keys(self) -> set[str]:
        return set().union(*self.purges)


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(autouse=True)
def _quick_retries(monkeypatch, settings):
    monkeypatch.setattr(purge, "BACKOFF", 0.01)
    monkeypatch.setattr(purge, "TIMEOUT", 1)
    # Each purge once, unless a test turns the second purge on (see the tests of it).
    settings.FRONT_CACHE_REPURGE_DELAY = 0
    yield
    assert purge.wait(timeout=10), "the purge thread did not finish"


@pytest.fixture
def front_cache():
    cache = FrontCache()
    yield cache
    purge.wait(timeout=10)
    cache.close()


@pytest.fixture
def purging(settings, front_cache):
    """Front caches on from here: what the test set up before is not purged."""

    def start(*urls):
        settings.FRONT_CACHES = list(urls) or [front_cache.url]
        return front_cache

    return start


def sent(front_cache) -> list[set[str]]:
    """The purges the front cache received, once every queued one is sent."""
    assert purge.wait(timeout=10)
    return front_cache.purges


def keys_of(guide, tags=(), laws=()) -> set[str]:
    return (
        {surrogate.guide_key(guide.pk), surrogate.topic_key(guide.category_id)}
        | {surrogate.listing_key(guide.language)}
        | {surrogate.tag_key(tag.pk) for tag in tags}
        | {surrogate.law_key(law.pk) for law in laws}
    )


@pytest.fixture
def guides():
    """A tagged guide citing a law, and an unrelated one in another topic."""
    law = make_law()
    guide = make_article(tags=["pension"])
    cite(guide, make_provision(law))
    make_section(guide)
    other_law = make_law()
    other = make_article(tags=["housing"])
    cite(other, make_provision(other_law))
    tag = Tag.objects.get(name="pension")
    return guide, law, tag, other


def test_a_guide_save_purges_its_keys_once_per_transaction_and_no_others(purging, guides):
    guide, law, tag, other = guides
    front_cache = purging()

    with transaction.atomic():
        guide.title = "Pension transfer, revised"
        guide.save()
        make_section(guide)
        guide.tags.add("retirement")
        cite(guide, make_provision(law))

    retirement = Tag.objects.get(name="retirement")
    assert sent(front_cache) == [keys_of(guide, [tag, retirement], [law])]
    others = keys_of(other, other.tags.all(), [other.citations.get().provision.law])
    assert front_cache.keys() & others == {surrogate.listing_key("en")}  # both are English


def test_an_admin_save_with_its_inlines_purges_once(purging, guides, admin_client):
    guide, law, tag, other = guides
    front_cache = purging()
    section = guide.sections.get()

    response = admin_client.post(
        f"/admin/articles/article/{guide.pk}/change/",
        change_form(guide, **{"sections-0-body": "1. New step.", "tags": "pension, moved"}),
    )

    assert response.status_code == HTTPStatus.FOUND, response.context["errors"]
    assert guide.sections.get(pk=section.pk).body == "1. New step."
    moved = Tag.objects.get(name="moved")
    assert sent(front_cache) == [keys_of(guide, [tag, moved], [law])]


def test_a_guide_moved_to_another_topic_purges_both_topics(purging, guides):
    guide, law, tag, _other = guides
    old_topic = guide.category
    front_cache = purging()

    guide.category = make_category()
    guide.save()

    assert sent(front_cache)[-1] == keys_of(guide, [tag], [law]) | {
        surrogate.topic_key(old_topic.pk)
    }


def test_unpublishing_and_deleting_purge_what_the_guide_was_on(purging, guides):
    guide, law, tag, _other = guides
    front_cache = purging()

    guide.status = Article.Status.DRAFT
    guide.save()
    assert sent(front_cache) == [keys_of(guide, [tag], [law])]

    guide.status = Article.Status.PUBLISHED
    guide.save()
    assert sent(front_cache)
    front_cache.purges.clear()
    expected = keys_of(guide, [tag], [law])
    guide.delete()
    assert sent(front_cache) == [expected]


def test_removing_a_tag_or_a_citation_purges_it_too(purging, guides):
    guide, law, tag, _other = guides
    front_cache = purging()

    with transaction.atomic():
        guide.tags.clear()
        guide.citations.all().delete()

    assert sent(front_cache) == [keys_of(guide, [tag], [law])]


def test_a_new_translation_purges_the_pages_of_its_other_languages(purging, guides):
    guide, law, tag, other = guides
    draft = make_translation(guide, status=Article.Status.DRAFT)
    front_cache = purging()

    draft.title = "养老金转移"
    draft.save()
    assert sent(front_cache) == []

    draft.status = Article.Status.PUBLISHED
    draft.save()
    assert sent(front_cache) == [keys_of(draft) | {surrogate.guide_key(guide.pk)}]
    assert surrogate.guide_key(other.pk) not in front_cache.keys()


def test_drafts_and_draft_revisions_purge_nothing_until_published(purging, guides):
    guide, law, tag, _other = guides
    draft = make_draft(tags=["pension"])
    revision = prepare_draft_revision(guide, None)
    front_cache = purging()

    make_section(draft)
    revision.title = "Pension transfer, next year"
    revision.save()
    make_section(revision)
    assert sent(front_cache) == []

    new_law = make_law()
    assert sent(front_cache) == [
        {surrogate.law_key(new_law.pk), surrogate.LAW_LIST_KEY} | purge.every_listing_key()
    ]
    front_cache.purges.clear()
    with transaction.atomic():
        revision.citations.all().delete()
        cite(revision, make_provision(new_law))
    assert sent(front_cache) == [{surrogate.law_key(new_law.pk)}]  # the provision added

    front_cache.purges.clear()
    publish(revision, None)
    assert len(sent(front_cache)) == 1
    purged = front_cache.keys()
    assert purged == keys_of(guide, [tag], [law, new_law])
    assert surrogate.guide_key(revision.pk) not in purged


def test_topics_tags_and_laws_purge_their_own_key(purging, guides):
    guide, law, tag, other = guides
    front_cache = purging()

    guide.category.description = "New words."
    guide.category.save()
    assert sent(front_cache)[-1] == {surrogate.topic_key(guide.category_id)}

    tag.name = "Pensions"
    tag.save()
    assert sent(front_cache)[-1] == {surrogate.tag_key(tag.pk)}

    law.source_url = "https://example.org/law"
    law.save()
    provision = law.provisions.first()
    provision.text_en = "Amended."
    provision.save()
    assert sent(front_cache)[-2:] == [{surrogate.law_key(law.pk)}] * 2
    assert not front_cache.keys() & {surrogate.guide_key(guide.pk), surrogate.guide_key(other.pk)}


def test_merging_tags_purges_the_merged_tags_and_the_target(purging, guides):
    _guide, _law, tag, other = guides
    housing = Tag.objects.get(name="housing")
    housing_key = surrogate.tag_key(housing.pk)
    front_cache = purging()

    merge_tags([housing], tag)

    purged = front_cache.keys() if sent(front_cache) else set()
    assert {housing_key, surrogate.tag_key(tag.pk)} <= purged
    assert surrogate.guide_key(other.pk) not in purged  # its tag page carries it


def test_a_rolled_back_change_purges_nothing(purging, guides):
    guide, *_ = guides
    front_cache = purging()

    with pytest.raises(RuntimeError), transaction.atomic():
        guide.title = "Never saved"
        guide.save()
        raise RuntimeError

    assert sent(front_cache) == []


# The second purge: a front cache fetch that started before a commit may store the
# old page after the first purge; the same keys go out again a delay later.

REPEAT_AFTER = 0.3  # seconds: FRONT_CACHE_REPURGE_DELAY in these tests


def wait_until(condition, timeout=5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_a_save_is_purged_at_once_and_again_after_the_delay_and_waits_for_neither(
    purging, guides, settings, monkeypatch
):
    guide, law, tag, _other = guides
    settings.FRONT_CACHE_REPURGE_DELAY = REPEAT_AFTER
    monkeypatch.setattr(purge, "TIMEOUT", 10)  # the front cache below answers late
    front_cache = purging()
    front_cache.gate.clear()  # it takes each purge and answers none until told

    started = time.monotonic()
    with transaction.atomic():
        guide.title = "Pension transfer, revised"
        guide.save()
    saved_in = time.monotonic() - started

    # The save is done while its purge is out and unanswered.
    assert wait_until(lambda: front_cache.purges), "no purge after the commit"
    assert saved_in < 2, saved_in
    assert Article.objects.get(pk=guide.pk).title == "Pension transfer, revised"
    time.sleep(REPEAT_AFTER)  # the repeat counts from the first purge's answer...
    assert len(front_cache.purges) == 1
    front_cache.gate.set()

    keys = keys_of(guide, [tag], [law])
    assert sent(front_cache) == [keys, keys]
    first, second = front_cache.times
    assert second - first >= 2 * REPEAT_AFTER  # ...which came REPEAT_AFTER late


def test_a_key_purged_again_is_repeated_once_after_its_latest_purge(
    purging, guides, settings, monkeypatch
):
    guide, law, tag, other = guides
    settings.FRONT_CACHE_REPURGE_DELAY = REPEAT_AFTER
    monkeypatch.setattr(purge, "TIMEOUT", 10)
    front_cache = purging()
    front_cache.gate.clear()

    guide.save()  # purged at once: the front cache holds that request...
    assert wait_until(lambda: front_cache.purges)
    other.save()  # ...while these two saves wait for the next one
    guide.save()
    front_cache.gate.set()

    ours = keys_of(guide, [tag], [law])
    theirs = keys_of(other, other.tags.all(), [other.citations.get().provision.law])
    assert sent(front_cache) == [ours, ours | theirs, ours | theirs]
    assert front_cache.times[2] - front_cache.times[1] >= REPEAT_AFTER


def test_a_second_purge_goes_out_after_a_scheduled_guide_goes_live(purging, client, settings):
    settings.FRONT_CACHE_REPURGE_DELAY = REPEAT_AFTER
    guide = make_article(published_at=timezone.now() - timedelta(minutes=1))
    front_cache = purging()

    client.get("/robots.txt")  # gone live a minute ago, since the last check
    assert sent(front_cache) == [keys_of(guide), keys_of(guide)]


def test_a_scheduled_guide_is_purged_on_the_first_request_after_its_time(
    purging, client, monkeypatch
):
    topic = make_category()
    front_cache = purging()
    due = timezone.now() + timedelta(hours=1)
    guide = make_article(published_at=due, category=topic)
    client.get("/robots.txt")  # before its time: nothing more
    assert sent(front_cache) == [keys_of(guide)]  # the save

    front_cache.purges.clear()
    real_now = timezone.now
    monkeypatch.setattr(timezone, "now", lambda: real_now() + timedelta(hours=2))
    client.get("/robots.txt")
    client.get("/robots.txt")
    assert sent(front_cache) == [keys_of(guide)]


def test_a_failing_front_cache_is_retried_and_logged_and_the_save_stands(purging, guides, caplog):
    guide, *_ = guides
    front_cache = purging()
    unreachable = f"http://127.0.0.1:{unused_port()}"
    purging(front_cache.url, unreachable)
    front_cache.status = HTTPStatus.INTERNAL_SERVER_ERROR
    caplog.set_level(logging.INFO, logger="articles.purge")

    guide.title = "Saved whatever the caches say"
    guide.save()

    assert len(sent(front_cache)) == purge.ATTEMPTS
    guide.refresh_from_db()
    assert guide.title == "Saved whatever the caches say"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert any(front_cache.url in line and "500" in line for line in warnings)
    assert any(unreachable in line for line in warnings)

    front_cache.purges.clear()
    front_cache.status = HTTPStatus.OK
    caplog.clear()
    guide.save()
    assert len(sent(front_cache)) == 1
    infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert any(front_cache.url in line and "3 objects" in line for line in infos)


def test_no_front_caches_no_request_and_no_thread(settings, front_cache, guides, monkeypatch):
    settings.FRONT_CACHES = []
    started = []
    monkeypatch.setattr(purge._sender, "submit", started.append)
    guide, *_ = guides

    guide.title = "No caches to purge"
    guide.save()
    guide.delete()
    purge.submit({"g1"})

    assert started == []
    assert front_cache.purges == []


def test_the_command_purges_keys_by_hand_and_reports_each_front_cache(purging, capsys):
    front_cache = purging()

    call_command("purge_front_caches", "g1", "c2")

    assert front_cache.purges == [{"g1", "c2"}]
    assert f"{front_cache.url}: purged 2 keys, 3 objects" in capsys.readouterr().out

    front_cache.status = HTTPStatus.INTERNAL_SERVER_ERROR
    with pytest.raises(CommandError, match="1 of 1 front caches failed"):
        call_command("purge_front_caches", "g1")
    assert "FAILED" in capsys.readouterr().err

    with pytest.raises(CommandError, match="ban"):
        call_command("purge_front_caches", "--all")


def test_the_command_without_front_caches_says_so(settings):
    settings.FRONT_CACHES = []
    with pytest.raises(CommandError, match="FRONT_CACHES"):
        call_command("purge_front_caches", "g1")
