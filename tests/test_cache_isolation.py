"""The suite empties its caches before each test without touching what other runs,
or the live site, keep in a shared Redis (tests/conftest.py)."""

import os
import uuid

import pytest
import redis
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache

from tests.conftest import RUN_KEY_PREFIX, SharedKeySpaceError, empty_cache, empty_test_caches

REDIS_URL = os.environ.get("REDIS_URL", "")


@pytest.fixture
def raw_redis():
    client = redis.Redis.from_url(REDIS_URL)
    yield client
    client.close()


@pytest.mark.django_db
@pytest.mark.skipif(not REDIS_URL, reason="needs REDIS_URL (CI's PostgreSQL + Redis pass)")
def test_emptying_deletes_this_runs_keys_and_spares_everyone_elses(raw_redis):
    other_run = f"helpcentre-test-other-{uuid.uuid4().hex}:1:vote"
    # A run whose prefix only starts like ours (pid 12 against 123) is another run.
    look_alike = f"{RUN_KEY_PREFIX}0:1:vote"
    live_site = f"helpcentre:1:search-suggest:{uuid.uuid4().hex}"
    others = [other_run, look_alike, live_site]
    for key in others:
        raw_redis.set(key, "kept", ex=60)
    try:
        for alias in settings.CACHES:
            caches[alias].set("ours", "gone", 60)
        empty_test_caches()
        for alias in settings.CACHES:
            assert caches[alias].get("ours") is None, alias
        assert [raw_redis.get(key) for key in others] == [b"kept"] * len(others)
    finally:
        raw_redis.delete(*others)


def test_a_redis_cache_outside_the_runs_key_space_is_refused_before_any_command():
    # No server is contacted: the prefix is checked first.
    shared = RedisCache("redis://127.0.0.1:1/0", {"KEY_PREFIX": "helpcentre"})
    with pytest.raises(SharedKeySpaceError, match="not this test run's own"):
        empty_cache(shared)


def test_a_local_memory_cache_is_emptied():
    local = LocMemCache("isolation-probe", {})
    local.set("probe", 1)
    empty_cache(local)
    assert local.get("probe") is None
