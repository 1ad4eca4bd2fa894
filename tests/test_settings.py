"""Configuration from the environment fails loudly and defaults to safe; logs
name the real client."""

import logging
import os
import runpy
import subprocess
import sys
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


def access_log_atoms(config, **environ) -> dict:
    from gunicorn.config import Config

    logger = config["logger_class"](Config())
    response = SimpleNamespace(status="200 OK", headers=[], sent=10)
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": "/",
        "SERVER_PROTOCOL": "HTTP/1.1",
        **environ,
    }
    return logger.atoms(response, [], environ, timedelta(milliseconds=5))


def access_log_client(config, **environ) -> str:
    return access_log_atoms(config, **environ)["h"]


def test_the_access_log_keeps_no_search_beside_a_client_address(monkeypatch, settings):
    config = gunicorn_config(monkeypatch)
    settings.TRUSTED_PROXY_COUNT = 0
    search = access_log_atoms(
        config,
        REMOTE_ADDR="198.51.100.7",
        RAW_URI="/en/search/?q=card+13812345678",
        PATH_INFO="/en/search/",
        QUERY_STRING="q=card+13812345678",
    )
    opened = access_log_atoms(
        config,
        REQUEST_METHOD="POST",
        RAW_URI="/search-opened/16:abc/?position=1&guide=3",
        PATH_INFO="/search-opened/16:abc/",
        QUERY_STRING="position=1&guide=3",
        HTTP_REFERER="https://example.org/zh-hans/search/?q=%E7%A4%BE%E4%BF%9D",
    )
    guide = access_log_atoms(
        config,
        RAW_URI="/en/cards/guide/?utm=x",
        PATH_INFO="/en/cards/guide/",
        QUERY_STRING="utm=x",
        HTTP_REFERER="https://example.org/en/search/?q=pension",
    )
    logged = " ".join(str(value) for atoms in (search, opened, guide) for value in atoms.values())
    for secret in ["13812345678", "card+", "pension", "16:abc", "%E7%A4%BE", "position=1"]:
        assert secret not in logged
    assert search["r"] == "GET /en/search/… HTTP/1.1" and search["q"] == "-"
    assert opened["f"] == "https://example.org/zh-hans/search/…"
    assert guide["r"] == "GET /en/cards/guide/?utm=x HTTP/1.1"  # other addresses as they are


def test_the_access_log_cuts_searches_however_they_are_written(monkeypatch, settings):
    config = gunicorn_config(monkeypatch)
    settings.TRUSTED_PROXY_COUNT = 0
    for raw in [
        "/en/search?q=13812345678",
        "/en/%73earch/?q=13812345678",
        "/EN/SEARCH/?q=1381234567'8",
    ]:
        path, _, query = raw.partition("?")
        atoms = access_log_atoms(config, RAW_URI=raw, PATH_INFO=path, QUERY_STRING=query)
        logged = " ".join(str(value) for value in atoms.values())
        assert "1381234567" not in logged, logged


def test_gunicorns_own_messages_keep_no_search_either(monkeypatch):
    """An unreadable request line is quoted in gunicorn's warning, beside the client."""
    from gunicorn.config import Config

    logger = gunicorn_config(monkeypatch)["logger_class"](Config())
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger.error_log.addHandler(handler)
    for target in [
        "/en/search/?q=\u5f20\xa0\u4e0913812345678",
        "/en/search?q=13812345678",  # Django redirects it to the search
        "/en/%73earch/?q=13812345678",  # Django serves it as the search
        "/en/search/?q=x'13812345678",
        '/en/search/?q=x"13812345678',
        "/en/search/?q=张三 13812345678",  # a space: an unreadable request line
    ]:
        line = f"GET {target} HTTP/1.1"
        logger.warning(f"Invalid request from ip=203.0.113.5: Invalid HTTP request line: '{line}'")
    logger.error("Error handling request %s", "/zh-hans/search/?q=13812345678")
    logged = "\n".join(record.getMessage() for record in records)
    assert "13812345678" not in logged and "\u5f20" not in logged, logged
    assert "'GET /en/search/… HTTP/1.1'" in logged and "203.0.113.5" in logged


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


def base_settings_process(code: str, **environment) -> str:
    """Run `code` in a new Python process with the production settings (no REDIS_URL),
    as a gunicorn worker would; what it prints."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"REDIS_URL", "CACHE_DIR", "DATABASE_URL"}
    }
    env.update(DJANGO_SETTINGS_MODULE="helpcentre.settings.base", SECRET_KEY="x", **environment)
    setup = "import django; django.setup(); from django.conf import settings; "
    result = subprocess.run(  # noqa: S603 (this interpreter, code of the tests)
        [sys.executable, "-c", setup + code],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=settings_module_root(),
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def settings_module_root() -> str:
    return str(Path(__file__).resolve().parent.parent)


def test_workers_without_redis_share_one_cache(tmp_path):
    """Every gunicorn worker must see an editor's save: the content version lives in a
    cache all processes of the node share (files), not in each worker's memory."""
    environment = {"CACHE_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path}/a.db"}
    base_settings_process(
        "from articles.caching import forget_content_version, CONTENT_GENERATION_KEY; "
        "from django.core.cache import cache; forget_content_version(); "
        "print(cache.get(CONTENT_GENERATION_KEY))",
        **environment,
    )
    first = base_settings_process(
        "from articles.caching import CONTENT_GENERATION_KEY; "
        "from django.core.cache import cache; print(cache.get(CONTENT_GENERATION_KEY))",
        **environment,
    )
    assert first not in {"", "None"}
    second = base_settings_process(
        "from articles.caching import forget_content_version, CONTENT_GENERATION_KEY; "
        "from django.core.cache import cache; forget_content_version(); "
        "print(cache.get(CONTENT_GENERATION_KEY))",
        **environment,
    )
    seen = base_settings_process(
        "from articles.caching import CONTENT_GENERATION_KEY; "
        "from django.core.cache import cache; print(cache.get(CONTENT_GENERATION_KEY))",
        **environment,
    )
    assert seen == second != first


def test_sites_on_other_databases_do_not_share_the_cache(tmp_path):
    location = "print(settings.CACHES['default']['LOCATION'])"
    one = base_settings_process(location, DATABASE_URL=f"sqlite:///{tmp_path}/one.db")
    other = base_settings_process(location, DATABASE_URL=f"sqlite:///{tmp_path}/other.db")
    assert one != other
    assert Path(one).parent == Path(other).parent == Path(settings_module_root()) / ".cache"
