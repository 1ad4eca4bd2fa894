"""Feedback limits count the right thing: one vote per visitor, guide and day in the
database; hourly limits in the shared limits cache, spent only by what counts;
a daily cap of comments per guide; the real client behind our proxy; old
feedback purged. Issue 9, point 5."""

import random
import threading
import time
from datetime import timedelta
from http import HTTPStatus

import pytest
import time_machine
from django.core.cache import CacheHandler, caches
from django.core.cache.backends.db import DatabaseCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from django.core.management import call_command
from django.db import connection
from django.db.models import Sum
from django.test import RequestFactory
from django.utils import timezone

from articles import feedback
from articles.models import FeedbackComment, FeedbackVote, GuideFeedback
from tests.factories import make_article
from tests.helpers import JSON, SAME_SITE, counts, new_address, send_comment, vote

pytestmark = pytest.mark.django_db


def comment(client, article, address=None, headers=SAME_SITE):
    return send_comment(client, article, "The fees are missing", headers, address)


def through_proxy(client, article, forwarded_for, proxy="192.0.2.254"):
    return client.post(
        f"/en/feedback/{article.slug}/",
        {"helpful": "yes"},
        headers={**SAME_SITE, "X-Forwarded-For": forwarded_for},
        REMOTE_ADDR=proxy,
    )


def vote_on_new_guides(client, address, how_many):
    return [
        vote(client, make_article(), "yes", address=address).status_code for _ in range(how_many)
    ]


def request_from(address):
    return RequestFactory().post("/", REMOTE_ADDR=address)


def stored_limit_keys() -> list[str]:
    """The keys the limits cache holds, read from its store (a table, or Redis)."""
    limits = caches["limits"]
    if isinstance(limits, DatabaseCache):
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT cache_key FROM {limits._table}")  # noqa: S608 (our own table)
            return [row[0] for row in cursor.fetchall()]
    if isinstance(limits, RedisCache):
        # This run's keys only (tests/conftest.py gives the run its own prefix).
        redis = limits._cache.get_client()
        return [key.decode() for key in redis.scan_iter(match=f"{limits.key_prefix}:*")]
    pytest.fail(f"the limits cache is a {type(limits).__name__}, which workers do not share")


# One vote per visitor, guide and day, in the database.


def test_a_second_vote_the_same_day_is_refused_and_changes_nothing(client):
    article, address = make_article(), new_address()
    assert vote(client, article, "yes", address=address).status_code == HTTPStatus.OK
    again = vote(client, article, "no", JSON, address)
    assert again.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert "already told us" in again.json()["error"]
    assert counts(article) == (1, 0)
    assert FeedbackVote.objects.filter(article=article).count() == 1


def test_the_next_day_the_visitor_may_vote_again(client):
    article, address = make_article(), new_address()
    vote(client, article, "yes", address=address)
    with time_machine.travel(timezone.now() + timedelta(days=1)):
        assert vote(client, article, "no", address=address).status_code == HTTPStatus.OK
    assert counts(article) == (1, 1)


def test_suggestion_traffic_cannot_evict_the_already_voted_state(client):
    """The attack of the issue: ~300 distinct suggestion requests used to push the
    'already voted' key out of the shared local-memory cache."""
    article, address = make_article(title="Pension transfer"), new_address()
    assert vote(client, article, "yes", address=address).status_code == HTTPStatus.OK
    words = ["pension", "card", "insurance", "transfer", "medical", "fees"]
    for n in range(300):
        query = f"{random.choice(words)}{n}"
        assert client.get("/en/search/suggest/", {"q": query}).status_code == HTTPStatus.OK
    again = vote(client, article, "yes", address=address)
    assert again.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert counts(article) == (1, 0)


def test_no_client_address_is_stored(client):
    article, address = make_article(), new_address()
    network = f"2001:db8:{random.getrandbits(16):x}:{random.getrandbits(16):x}"
    vote(client, article, "yes", address=address)
    vote(client, article, "no", address=f"{network}::5")
    visitors = list(FeedbackVote.objects.values_list("visitor", flat=True))
    assert len(visitors) == 2 and all(len(v) == 64 for v in visitors)
    for stored in visitors:
        assert address not in stored and network not in stored
    keys = stored_limit_keys()
    assert keys and not any(address in key or network in key for key in keys)


# The hourly limit: shared, and spent only by what counts.


def test_the_hourly_limit_lives_in_a_cache_every_worker_shares(client):
    limits = caches["limits"]
    assert limits is not caches["default"]
    assert not isinstance(limits, LocMemCache), "local memory is per process"
    address = new_address()
    vote_on_new_guides(client, address, 3)
    # A second backend instance reads what this one wrote, as another worker would.
    other_worker = CacheHandler()["limits"]
    visitor = feedback.visitor_id(request_from(address))
    key = feedback.HourlyLimit("votes", visitor, feedback.VOTES_PER_HOUR).key
    assert other_worker.get(key) == 3


def test_the_hourly_limit_stops_one_visitor_voting_on_many_guides(client):
    address = new_address()
    statuses = vote_on_new_guides(client, address, feedback.VOTES_PER_HOUR + 1)
    assert statuses.count(HTTPStatus.OK) == feedback.VOTES_PER_HOUR
    refused = vote(client, make_article(), "yes", address=address)
    assert refused.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert "in the last hour" in refused.content.decode()
    assert 0 < int(refused["Retry-After"]) <= feedback.LIMIT_WINDOW_SECONDS
    assert vote(client, make_article(), "yes").status_code == HTTPStatus.OK  # others still vote


def test_repeated_votes_do_not_spend_the_hourly_budget(client):
    first, address = make_article(), new_address()
    vote(client, first, "yes", address=address)
    for _ in range(feedback.VOTES_PER_HOUR + 5):
        assert vote(client, first, "yes", address=address).status_code == 429
    # The refused repeats cost nothing: the rest of the hour's budget is intact.
    statuses = vote_on_new_guides(client, address, feedback.VOTES_PER_HOUR - 1)
    assert statuses == [HTTPStatus.OK] * (feedback.VOTES_PER_HOUR - 1)
    assert vote(client, make_article(), "yes", address=address).status_code == 429


def test_a_vote_refused_over_the_limit_keeps_the_days_vote_for_later(client):
    address = new_address()
    vote_on_new_guides(client, address, feedback.VOTES_PER_HOUR)
    later = make_article()
    refused = vote(client, later, "no", address=address)
    assert refused.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert not FeedbackVote.objects.filter(article=later).exists()
    assert not GuideFeedback.objects.filter(article=later).exists()
    with time_machine.travel(timezone.now() + timedelta(hours=1)):
        assert vote(client, later, "no", address=address).status_code == HTTPStatus.OK
    assert counts(later) == (0, 1)


@pytest.mark.django_db(transaction=True)
def test_a_concurrent_burst_never_counts_past_the_limit():
    """Requests of one visitor that all passed the first look at the limit together:
    only what fits in the hour counts, and the refused ones leave no day row."""
    address, burst = new_address(), 6
    spent = feedback.VOTES_PER_HOUR - 2
    for _ in range(spent):
        feedback.cast_vote(request_from(address), make_article(), helpful=True)
    guides = [make_article() for _ in range(burst)]
    outcomes, errors = [], []

    def cast(guide):
        try:
            outcomes.append(feedback.cast_vote(request_from(address), guide, True).outcome)
        except Exception as error:  # any failure, reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=cast, args=[guide]) for guide in guides]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert outcomes.count(feedback.Outcome.COUNTED) == 2
    assert outcomes.count(feedback.Outcome.OVER_HOURLY_LIMIT) == burst - 2
    assert FeedbackVote.objects.filter(article__in=guides).count() == 2
    counted = GuideFeedback.objects.filter(article__in=guides).aggregate(votes=Sum("helpful"))
    assert counted["votes"] == 2


@pytest.mark.parametrize("lost_between", ["expired", "evicted"])
def test_counting_survives_a_counter_lost_between_add_and_incr(lost_between):
    key = f"feedback:test:{new_address()}"
    limits = caches["limits"]
    assert feedback._count(key, 1) == 1
    assert feedback._count(key, 1) == 2
    if lost_between == "expired":
        # Real time: Redis expires keys on its own clock.
        time.sleep(2.1)
        assert feedback._count(key, 1) == 1
    else:
        limits.delete(key)
        assert feedback._count(key, 60) == 1
        assert feedback._count(key, 60) == 2


def test_a_counter_keeps_the_end_of_its_hour(client):
    """BaseCache.incr() would reset the lifetime to the cache's 300 s default."""
    key = f"feedback:test:{new_address()}"
    for _ in range(3):
        feedback._count(key, 3000)
    with time_machine.travel(timezone.now() + timedelta(seconds=600)):
        assert caches["limits"].get(key) == 3


# Comments: per visitor and hour, per guide and day.


def test_a_guide_takes_a_limited_number_of_comments_a_day(client):
    article = make_article()
    FeedbackComment.objects.bulk_create(
        FeedbackComment(article=article, text=f"Comment {n}")
        for n in range(feedback.COMMENTS_PER_GUIDE_PER_DAY - 1)
    )
    assert comment(client, article).status_code == HTTPStatus.OK
    full = comment(client, article, headers=JSON)
    assert full.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert "all the comments we can read today" in full.json()["error"]
    assert int(full["Retry-After"]) <= 24 * 3600
    assert FeedbackComment.objects.filter(article=article).count() == 50
    assert comment(client, make_article()).status_code == HTTPStatus.OK


def test_yesterdays_comments_do_not_count_towards_todays_cap(client):
    article = make_article()
    FeedbackComment.objects.bulk_create(
        FeedbackComment(article=article, text=f"Comment {n}")
        for n in range(feedback.COMMENTS_PER_GUIDE_PER_DAY)
    )
    FeedbackComment.objects.update(created_at=timezone.now() - timedelta(days=1))
    assert comment(client, article).status_code == HTTPStatus.OK


def test_a_full_guide_does_not_spend_the_visitors_comment_budget(client):
    full, address = make_article(), new_address()
    FeedbackComment.objects.bulk_create(
        FeedbackComment(article=full, text="x") for _ in range(feedback.COMMENTS_PER_GUIDE_PER_DAY)
    )
    for _ in range(feedback.COMMENTS_PER_HOUR + 1):
        assert comment(client, full, address=address).status_code == 429
    other = make_article()
    statuses = [
        comment(client, other, address).status_code for _ in range(feedback.COMMENTS_PER_HOUR + 1)
    ]
    assert statuses == [HTTPStatus.OK] * feedback.COMMENTS_PER_HOUR + [429]


def test_one_visitor_sends_a_few_comments_an_hour(client):
    article, address = make_article(), new_address()
    statuses = [
        comment(client, article, address).status_code for _ in range(feedback.COMMENTS_PER_HOUR + 1)
    ]
    assert statuses[-1] == HTTPStatus.TOO_MANY_REQUESTS
    assert statuses.count(HTTPStatus.OK) == feedback.COMMENTS_PER_HOUR
    refused = comment(client, article, address=address)
    assert "several comments in the last hour" in refused.content.decode()


# The client behind our reverse proxy.


def test_behind_a_trusted_proxy_each_client_has_its_own_bucket(client, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    article, one, another = make_article(), new_address(), new_address()
    assert through_proxy(client, article, one).status_code == HTTPStatus.OK
    assert through_proxy(client, article, another).status_code == HTTPStatus.OK
    assert through_proxy(client, article, one).status_code == 429
    # A client cannot pose as many by writing its own X-Forwarded-For entries.
    assert through_proxy(client, article, f"{new_address()}, {one}").status_code == 429
    assert counts(article) == (2, 0)


def test_behind_a_trusted_proxy_the_hourly_limit_is_per_client(client, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    busy, quiet = new_address(), new_address()
    for _ in range(feedback.VOTES_PER_HOUR):
        assert through_proxy(client, make_article(), busy).status_code == HTTPStatus.OK
    assert through_proxy(client, make_article(), busy).status_code == 429
    assert through_proxy(client, make_article(), quiet).status_code == HTTPStatus.OK


def test_without_a_trusted_proxy_x_forwarded_for_is_ignored(client, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    article, proxy = make_article(), new_address()
    assert through_proxy(client, article, new_address(), proxy).status_code == HTTPStatus.OK
    assert through_proxy(client, article, new_address(), proxy).status_code == 429
    assert counts(article) == (1, 0)


def test_an_ipv6_client_is_counted_per_64_network(client):
    article = make_article()
    network = f"2001:db8:{random.getrandbits(16):x}:{random.getrandbits(16):x}"
    assert vote(client, article, "yes", address=f"{network}::1").status_code == HTTPStatus.OK
    same_network = f"{network}:ffff:ffff:ffff:fffe"
    assert vote(client, article, "yes", address=same_network).status_code == 429
    next_network = f"2001:db8:{random.getrandbits(16):x}:{random.getrandbits(16):x}::1"
    assert vote(client, article, "yes", address=next_network).status_code == HTTPStatus.OK
    assert counts(article) == (2, 0)


# Retention.


def test_purge_deletes_old_comments_and_votes_and_keeps_recent_ones():
    article = make_article()
    old = FeedbackComment.objects.create(article=article, text="old")
    recent = FeedbackComment.objects.create(article=article, text="recent")
    FeedbackComment.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=31))
    FeedbackComment.objects.filter(pk=recent.pk).update(
        created_at=timezone.now() - timedelta(days=29)
    )
    today = timezone.localdate()
    for age in (0, 1, 2, 10):
        FeedbackVote.objects.create(
            article=article, visitor=f"v{age}", day=today - timedelta(days=age), helpful=True
        )
    GuideFeedback.objects.create(article=article, helpful=4)

    output = call_command_output("purge_feedback", "--days", "30")

    assert list(FeedbackComment.objects.values_list("text", flat=True)) == ["recent"]
    days = set(FeedbackVote.objects.values_list("day", flat=True))
    assert days == {today, today - timedelta(days=1)}
    assert counts(article) == (4, 0), "the counts stay"
    assert "Deleted 1 comments" in output and "Deleted 2 vote records" in output


def test_purge_keeps_comments_for_the_configured_retention_by_default(settings):
    settings.FEEDBACK_COMMENT_RETENTION_DAYS = 7
    article = make_article()
    kept, purged = (FeedbackComment.objects.create(article=article, text=t) for t in "ab")
    FeedbackComment.objects.filter(pk=kept.pk).update(created_at=timezone.now() - timedelta(days=6))
    FeedbackComment.objects.filter(pk=purged.pk).update(
        created_at=timezone.now() - timedelta(days=8)
    )
    output = call_command_output("purge_feedback")
    assert list(FeedbackComment.objects.all()) == [kept]
    assert "(older than 7 days)" in output


def call_command_output(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()
