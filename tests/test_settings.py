"""Configuration from the environment fails loudly and defaults to safe."""

import pytest
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured

from helpcentre.settings.env import env_bool, env_int, env_list


def test_env_bool(monkeypatch):
    monkeypatch.setenv("FLAG", "yes")
    assert env_bool("FLAG") is True
    monkeypatch.setenv("FLAG", "off")
    assert env_bool("FLAG", True) is False
    monkeypatch.delenv("FLAG")
    assert env_bool("FLAG") is False
    monkeypatch.setenv("FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured):
        env_bool("FLAG")


def test_env_int_and_list(monkeypatch):
    monkeypatch.setenv("N", "12")
    assert env_int("N", 1) == 12
    monkeypatch.setenv("N", "twelve")
    with pytest.raises(ImproperlyConfigured):
        env_int("N", 1)
    monkeypatch.setenv("HOSTS", " a.example , b.example ,")
    assert env_list("HOSTS") == ["a.example", "b.example"]


def test_the_configured_cache_really_stores(settings):
    # Runs against local memory, or Redis when REDIS_URL is set (CI does both).
    cache.set("probe", {"n": 1}, 30)
    assert cache.get("probe") == {"n": 1}
    assert cache.add("counter", 0)
    assert cache.incr("counter") == 1 and cache.incr("counter") == 2


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(settings):
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("SQLite-only setting; this run uses " + connection.vendor)
    options = settings.DATABASES["default"]["OPTIONS"]
    assert options["timeout"] >= 5 and options["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in options["init_command"]
