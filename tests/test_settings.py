"""Configuration from the environment fails loudly and defaults to safe; logs
name the real client."""

import logging
import runpy
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured

from helpcentre.settings.env import env_bool, env_datetime, env_int, env_list


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


def test_env_datetime(monkeypatch):
    monkeypatch.delenv("WHEN", raising=False)
    assert env_datetime("WHEN") is None
    monkeypatch.setenv("WHEN", "2027-05-31")
    assert env_datetime("WHEN") == datetime(2027, 5, 31, tzinfo=UTC)
    monkeypatch.setenv("WHEN", "2027-05-31T12:00:00+08:00")
    assert env_datetime("WHEN") == datetime(2027, 5, 31, 4, tzinfo=UTC)
    monkeypatch.setenv("WHEN", "next spring")
    with pytest.raises(ImproperlyConfigured):
        env_datetime("WHEN")


@pytest.mark.django_db
def test_django_request_logs_name_the_real_client(settings, client, caplog):
    from articles.security import ClientAddressFilter

    settings.TRUSTED_PROXY_COUNT = 1
    with caplog.at_level(logging.WARNING, logger="django.request"):
        client.get("/en/no-such-topic/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.5")
    record = next(r for r in caplog.records if r.name == "django.request")

    # Written as the project's console handler (LOGGING) writes it.
    console = next(
        handler
        for handler in logging.getLogger().handlers
        if any(isinstance(f, ClientAddressFilter) for f in handler.filters)
    )
    assert console.filter(record)
    expected = "WARNING django.request client=203.0.113.5 Not Found: /en/no-such-topic/"
    assert console.format(record) == expected


def test_log_lines_without_a_request_say_so():
    from articles.security import ClientAddressFilter

    record = logging.LogRecord("axes", logging.WARNING, __file__, 1, "message", None, None)
    assert ClientAddressFilter().filter(record) and record.client == "-"


def gunicorn_config(monkeypatch, **environment):
    for name in ("TRUSTED_PROXY_COUNT", "FORWARDED_ALLOW_IPS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(Path(__file__).resolve().parents[1] / "gunicorn.conf.py"))


def access_log_client(config, **environ) -> str:
    from gunicorn.config import Config

    logger = config["logger_class"](Config())
    response = SimpleNamespace(status="200 OK", headers=[], sent=10)
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": "/",
        "SERVER_PROTOCOL": "HTTP/1.1",
        **environ,
    }
    return logger.atoms(response, [], environ, timedelta(milliseconds=5))["h"]


def test_gunicorn_access_log_names_the_real_client(monkeypatch, settings):
    config = gunicorn_config(monkeypatch, TRUSTED_PROXY_COUNT="1")
    settings.TRUSTED_PROXY_COUNT = 1
    through_proxy = {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "198.51.100.1, 203.0.113.5"}
    assert access_log_client(config, **through_proxy) == "203.0.113.5"
    assert "forwarded_allow_ips" not in config  # gunicorn's default: a proxy on loopback

    config = gunicorn_config(monkeypatch)
    settings.TRUSTED_PROXY_COUNT = 0
    assert access_log_client(config, **through_proxy) == "10.0.0.2"
    assert config["forwarded_allow_ips"] == ""  # nobody's X-Forwarded-Proto is believed
