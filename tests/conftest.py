import logging
import os

import pytest
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.base import default_key_func
from django.core.cache.backends.db import DatabaseCache
from django.core.cache.backends.redis import RedisCache
from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import translation

from tests.factories import StaffMember, make_staff_member
from tests.helpers import load_demo

# helpcentre/settings/test.py gives each run this key space on a shared Redis; the
# live site and other runs use the same database under other prefixes.
RUN_KEY_PREFIX = f"helpcentre-test-{os.getpid()}"
DELETE_BATCH = 500


class SharedKeySpaceError(Exception):
    """A Redis cache of the test run would write to keys that others use."""


def _own_keys_pattern(cache: RedisCache) -> str:
    """The SCAN pattern of this run's keys in a Redis cache, refusing any other."""
    if not cache.key_prefix.startswith(RUN_KEY_PREFIX):
        raise SharedKeySpaceError(
            f"A Redis cache has KEY_PREFIX {cache.key_prefix!r}, which is not this test "
            f"run's own (it must start with {RUN_KEY_PREFIX!r}): the tests would share "
            "and delete keys of other runs or the live site. Set it in "
            "helpcentre/settings/test.py."
        )
    if cache.key_func is not default_key_func:
        raise SharedKeySpaceError("Only Django's default KEY_FUNCTION (prefix:version:key).")
    escaped = "".join(f"\\{char}" if char in "*?[]\\" else char for char in cache.key_prefix)
    # The colon ends the prefix, so a run whose prefix merely starts like ours is spared.
    return f"{escaped}:*"


def empty_cache(cache) -> None:
    """Forget what earlier tests cached, touching nothing that other runs use.

    On Redis, clear() is FLUSHDB: the whole database, every prefix. So only this
    run's keys are deleted there. A local-memory cache belongs to this process and
    a database cache to the test database, so clear() is right for them.
    """
    if not isinstance(cache, RedisCache):
        cache.clear()
        return
    pattern = _own_keys_pattern(cache)
    # The cache's own connection (Django's client, private but stable since 4.0),
    # so server, database and options are exactly the ones the code under test uses.
    client = cache._cache.get_client(write=True)
    batch = []
    for key in client.scan_iter(match=pattern, count=DELETE_BATCH):
        batch.append(key)
        if len(batch) == DELETE_BATCH:
            client.unlink(*batch)
            batch = []
    if batch:
        client.unlink(*batch)


def empty_test_caches(with_database: bool = True) -> None:
    for alias in settings.CACHES:
        cache = caches[alias]
        if isinstance(cache, DatabaseCache) and not with_database:
            continue
        empty_cache(cache)


def _uses_database(request) -> bool:
    return bool(
        request.node.get_closest_marker("django_db")
        or {"db", "transactional_db"} & set(request.fixturenames)
    )


@pytest.fixture(autouse=True)
def _empty_caches(request):
    # The suite runs against real caches (local memory, Redis, a database table):
    # start each test empty. A database cache lives in the test database, so it is
    # emptied only for tests that may use it (its rows outlive transactional tests).
    with_database = _uses_database(request)
    if with_database:
        request.getfixturevalue("db")
    empty_test_caches(with_database)
    yield


@pytest.fixture(autouse=True)
def _site_default_language():
    # A request leaves its page's language active in this thread (LocaleMiddleware
    # does not reset it): each test starts in the site's default language.
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True, scope="session")
def _leave_no_keys_behind():
    # A shared Redis outlives the run: take this run's keys away at the end too.
    yield
    for alias in settings.CACHES:
        if isinstance(caches[alias], RedisCache):
            empty_cache(caches[alias])


# Shared data fixtures.


@pytest.fixture
def demo(db):
    """The demo content of fixtures/demo.json, loaded as `make run` loads it (the
    save signals render sections and index the guides); returns the seed guide.
    Per test: tests change and delete demo guides, and no other test may see that."""
    return load_demo()


@pytest.fixture
def editor(db) -> StaffMember:
    """A staff member of the Editor group: `.user`, and `.client` signed in as them."""
    return make_staff_member("Editor")


@pytest.fixture
def publisher(db) -> StaffMember:
    """A staff member of the Publisher group: `.user`, and `.client` signed in as them."""
    return make_staff_member("Publisher")


@pytest.fixture(autouse=True)
def _commit_hooks_run_as_on_a_real_commit(monkeypatch):
    """Run transaction.on_commit() callbacks when the code's own transaction commits.

    pytest-django runs each test inside a transaction that is rolled back, never
    committed, so on_commit callbacks (the batched search reindex of
    articles/signals.py) would never run. Here that transaction is left out of
    account, as if the code ran alone: a callback registered outside any atomic block
    of the code runs at once (Django's autocommit behaviour), one registered inside
    runs when the code's outermost block exits without error, and rolled-back
    savepoints drop theirs as Django does. Transactional tests commit for real and
    are left alone. (pytest-django's django_capture_on_commit_callbacks sees no
    callbacks under this fixture: they have run already.)
    """
    real_on_commit = BaseDatabaseWrapper.on_commit
    real_exit = transaction.Atomic.__exit__

    def only_the_tests_blocks_open(connection):
        # Django marks the test case's own blocks (it checks durable blocks with it).
        return (
            connection.in_atomic_block
            and not connection.needs_rollback
            and all(block._from_testcase for block in connection.atomic_blocks)
        )

    def run_commit_hooks(connection):
        hooks, connection.run_on_commit = connection.run_on_commit, []
        for _, callback, robust in hooks:
            try:
                callback()
            except Exception:
                if not robust:
                    raise
                logging.getLogger("django.db.backends.base").exception("on_commit callback")

    def on_commit(connection, func, robust=False):
        real_on_commit(connection, func, robust)
        if only_the_tests_blocks_open(connection):
            run_commit_hooks(connection)

    def exit_block(block, exc_type, exc_value, traceback):
        real_exit(block, exc_type, exc_value, traceback)
        connection = transaction.get_connection(block.using)
        if exc_type is None and not block._from_testcase and only_the_tests_blocks_open(connection):
            run_commit_hooks(connection)

    monkeypatch.setattr(BaseDatabaseWrapper, "on_commit", on_commit)
    monkeypatch.setattr(transaction.Atomic, "__exit__", exit_block)
