"""Response headers: an enforced Content-Security-Policy, Permissions-Policy and
Cross-Origin-Resource-Policy on every kind of response; HTTPS settings under the
documented production environment; /.well-known/security.txt (RFC 9116)."""

import json
import os
import re
import secrets
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.test import Client
from django.urls import path

from helpcentre import urls as project_urls
from tests.helpers import SEED_URL

pytestmark = pytest.mark.django_db

BASE_DIR = django_settings.BASE_DIR


def broken(request):
    raise RuntimeError("a bug in a view")


# This module doubles as a URLconf (pytest.mark.urls) with a view that fails.
urlpatterns = [path("broken/", broken), *project_urls.urlpatterns]
handler500 = getattr(project_urls, "handler500", "django.views.defaults.server_error")


def policy(response) -> dict[str, list[str]]:
    """The enforced Content-Security-Policy as {directive: [sources]}."""
    assert "Content-Security-Policy-Report-Only" not in response.headers
    directives = {}
    for part in response["Content-Security-Policy"].split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


def assert_protected(response):
    csp = policy(response)
    assert csp["default-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["form-action"] == ["'self'"]
    for directive in ("script-src", "style-src"):
        assert csp[directive] == ["'self'"], directive
    permissions = response["Permissions-Policy"]
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert f"{feature}=()" in permissions
    assert response["Cross-Origin-Resource-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize(
    ("address", "status"),
    [
        ("/en/", HTTPStatus.OK),
        (SEED_URL, HTTPStatus.OK),
        ("/en/search/?q=pension", HTTPStatus.OK),
        ("/en/no-such-topic/", HTTPStatus.NOT_FOUND),
        ("/robots.txt", HTTPStatus.OK),
        ("/sitemap.xml", HTTPStatus.OK),
        ("/admin/login/", HTTPStatus.OK),
        ("/admin/", HTTPStatus.FOUND),
    ],
)
def test_pages_carry_the_policy_and_headers(client, demo, address, status):
    response = client.get(address)
    assert response.status_code == status
    assert_protected(response)


def test_a_request_for_another_host_is_refused_with_the_headers(client):
    """Django refuses it (DisallowedHost) inside the middleware, below ours."""
    response = client.get("/en/", headers={"Host": "attacker.example"})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert_protected(response)


def test_admin_pages_carry_the_policy(admin_client, demo):
    guide = demo
    for address in (
        "/admin/articles/article/",
        f"/admin/articles/article/{guide.pk}/change/",
        f"/admin/articles/article/{guide.pk}/history/",
    ):
        response = admin_client.get(address)
        assert response.status_code == HTTPStatus.OK, address
        assert_protected(response)
        # The site's icon, so the browser does not ask for /favicon.ico (a 404).
        assert 'rel="icon" href="/static/favicon' in response.content.decode(), address


def test_static_files_served_by_whitenoise_carry_the_headers(settings, client):
    # WhiteNoise answers before the middleware below it runs; ours sit above it.
    settings.WHITENOISE_USE_FINDERS = True
    response = client.get("/static/css/site.css")
    assert response.status_code == HTTPStatus.OK
    assert response.streaming
    assert_protected(response)


@pytest.mark.urls(__name__)
def test_the_server_error_page_carries_the_policy_and_needs_nothing_inline():
    response = Client(raise_request_exception=False).get("/broken/")
    assert response.status_code == HTTPStatus.INTERNAL_SERVER_ERROR
    assert_protected(response)
    page = response.content.decode()
    assert "style=" not in page and "<style" not in page
    assert '<link rel="stylesheet" href="/static/css/site.css">' in page


def test_a_failed_csrf_check_answers_our_page_not_djangos_inline_styled_one():
    response = Client(enforce_csrf_checks=True).post("/admin/login/", {"username": "x"})
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert_protected(response)
    page = response.content.decode()
    assert "Your form could not be sent" in page and "<style" not in page


def test_the_sign_in_lockout_page_carries_the_policy():
    User.objects.create_user("editor", password="a-long-test-password", is_staff=True)
    client = Client()
    for _ in range(django_settings.AXES_FAILURE_LIMIT + 1):
        response = client.post("/admin/login/", {"username": "editor", "password": "wrong"})
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert_protected(response)


INLINE_CODE = [
    (re.compile(r"\sstyle\s*=", re.I), "a style attribute"),
    (re.compile(r"<style\b", re.I), "a <style> element"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "an event handler attribute"),
    (re.compile(r"=\s*[\"']?\s*javascript:", re.I), "a javascript: address"),
    # Scripts must come from a file; JSON-LD is data, which CSP does not run.
    (re.compile(r"<script\b(?![^>]*\ssrc=)(?![^>]*application/ld\+json)", re.I), "inline script"),
]


def test_the_inline_code_checks_catch_what_they_name():
    examples = {
        "a style attribute": '<p style="color:red">',
        "a <style> element": "<style>p{}</style>",
        "an event handler attribute": '<a href="#" onclick="go()">',
        "a javascript: address": '<a href="javascript:go()">',
        "inline script": "<script>go()</script>",
    }
    for pattern, what in INLINE_CODE:
        assert pattern.search(examples[what]), what
    allowed = '<script src="/static/js/suggest.js" defer></script>'
    allowed += '<script type="application/ld+json">{}</script>'
    assert not [what for pattern, what in INLINE_CODE if pattern.search(allowed)]


def test_no_template_of_ours_has_inline_script_or_style():
    templates = sorted((BASE_DIR / "templates").rglob("*.html"))
    assert "base.html" in {template.name for template in templates}
    found = []
    for template in templates:
        text = template.read_text()
        for pattern, what in INLINE_CODE:
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{template.relative_to(BASE_DIR)}:{line}: {what}")
    assert found == []


def test_the_one_admitted_inline_style_is_the_one_reversion_compare_writes():
    # The policy admits style="visibility:hidden" by hash for django-reversion-compare's
    # history list; if an upgrade changes that attribute, this says so.
    import base64
    import hashlib

    import reversion_compare

    templates = Path(reversion_compare.__file__).parent / "templates/reversion-compare"
    partial = (templates / "action_list_partial.html").read_text()
    styles = set(re.findall(r'style="([^"]*)"', partial))
    assert styles == {"visibility:hidden"}
    digest = base64.b64encode(hashlib.sha256(b"visibility:hidden").digest()).decode()
    admitted = django_settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]["style-src-attr"]
    assert f"'sha256-{digest}'" in admitted


# The documented production environment: served over HTTPS behind one proxy of ours.
PRODUCTION = {
    "DEBUG": "false",
    "SECURE_COOKIES": "true",
    "TRUSTED_PROXY_COUNT": "1",
    "ALLOWED_HOSTS": "help.example.org",
    "SITE_URL": "https://help.example.org",
    "SECURITY_CONTACT": "mailto:security@example.org",
}


def manage(tmp_path, *args, **env):
    """manage.py in a fresh process with the settings module `make run` uses
    (manage.py's and wsgi.py's default) and only the given environment."""
    environment = {
        "PATH": os.environ["PATH"],
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'production.sqlite3'}",
        **env,
    }
    # A fixed command line: this interpreter running our manage.py.
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_passes_under_the_production_environment(tmp_path):
    result = manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNINGS" not in result.stdout + result.stderr


def test_check_deploy_fails_when_https_is_not_declared(tmp_path):
    plain_http = {**PRODUCTION, "SECURE_COOKIES": "false"}
    result = manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING", **plain_http)
    assert result.returncode != 0
    assert "security.W004" in result.stderr and "security.W008" in result.stderr


HTTPS_SETTINGS = (
    "SESSION_COOKIE_NAME CSRF_COOKIE_NAME SESSION_COOKIE_SECURE CSRF_COOKIE_SECURE "
    "SESSION_COOKIE_PATH CSRF_COOKIE_PATH SESSION_COOKIE_DOMAIN CSRF_COOKIE_DOMAIN "
    "SECURE_SSL_REDIRECT SECURE_HSTS_SECONDS SECURE_HSTS_INCLUDE_SUBDOMAINS "
    "SECURE_PROXY_SSL_HEADER"
).split()
PRINT_SETTINGS = (
    "import json; from django.conf import settings; "
    f"print(json.dumps({{name: getattr(settings, name) for name in {HTTPS_SETTINGS!r}}}))"
)


def test_https_settings_under_the_production_environment(tmp_path):
    result = manage(tmp_path, "shell", "--no-imports", "-c", PRINT_SETTINGS, **PRODUCTION)
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values == {
        "SESSION_COOKIE_NAME": "__Host-sessionid",
        "CSRF_COOKIE_NAME": "__Host-csrftoken",
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        # __Host- cookies must have Path=/ and no Domain.
        "SESSION_COOKIE_PATH": "/",
        "CSRF_COOKIE_PATH": "/",
        "SESSION_COOKIE_DOMAIN": None,
        "CSRF_COOKIE_DOMAIN": None,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 365 * 24 * 60 * 60,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
    }


def test_without_a_trusted_proxy_x_forwarded_proto_is_not_believed(tmp_path):
    direct = {**PRODUCTION, "TRUSTED_PROXY_COUNT": "0"}
    result = manage(tmp_path, "shell", "--no-imports", "-c", PRINT_SETTINGS, **direct)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["SECURE_PROXY_SSL_HEADER"] is None


def test_plain_http_development_keeps_ordinary_cookie_names(tmp_path):
    result = manage(tmp_path, "shell", "--no-imports", "-c", PRINT_SETTINGS, DEBUG="true")
    values = json.loads(result.stdout)
    assert values["SESSION_COOKIE_NAME"] == "sessionid" and not values["SECURE_SSL_REDIRECT"]
    assert values["SECURE_HSTS_SECONDS"] == 0


def test_over_https_cookies_are_host_only_and_the_browser_is_told_to_stay(settings, client):
    # The production values above, as Django then answers with them.
    settings.SESSION_COOKIE_NAME = "__Host-sessionid"
    settings.CSRF_COOKIE_NAME = "__Host-csrftoken"
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 365 * 24 * 60 * 60
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

    plain = client.get("/admin/login/")
    assert plain.status_code == HTTPStatus.MOVED_PERMANENTLY
    assert plain["Location"] == "https://testserver/admin/login/"

    response = client.get("/admin/login/", HTTP_X_FORWARDED_PROTO="https")
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    cookie = response.cookies["__Host-csrftoken"]
    assert cookie["secure"] and cookie["path"] == "/" and not cookie["domain"]


def test_security_txt_follows_rfc_9116(settings, client):
    settings.SECURITY_CONTACT = "mailto:security@example.org"
    settings.SITE_URL = "https://help.example.org"
    response = client.get("/.well-known/security.txt")

    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    fields = dict(line.split(": ", 1) for line in response.content.decode().splitlines())
    assert fields["Contact"] == "mailto:security@example.org"
    assert fields["Preferred-Languages"] == "en, zh"
    assert fields["Canonical"] == "https://help.example.org/.well-known/security.txt"
    expires = datetime.strptime(fields["Expires"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    # RFC 9116: in the future, and less than a year away.
    assert datetime.now(UTC) < expires < datetime.now(UTC) + timedelta(days=365)
    assert_protected(response)


def test_security_txt_expiry_can_be_fixed(settings, client):
    settings.SECURITY_CONTACT = "mailto:security@example.org"
    settings.SECURITY_TXT_EXPIRES = datetime(2027, 5, 31, tzinfo=UTC)
    response = client.get("/.well-known/security.txt")
    assert "Expires: 2027-05-31T00:00:00Z\n" in response.content.decode()


def test_without_a_contact_there_is_no_security_txt(settings, client):
    settings.SECURITY_CONTACT = ""
    assert client.get("/.well-known/security.txt").status_code == HTTPStatus.NOT_FOUND
