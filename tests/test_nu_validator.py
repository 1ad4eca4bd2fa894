"""Every public page type passes the W3C Nu Html Checker (vnu.jar) without an error,
and so do our stylesheets and SVG images.

vnu.jar comes from the npm registry (`make test` installs it under .venv/node) and
needs Java 17 or later. Without them the test skips, except in CI (CI=true), where
that is a failure. All pages go to one checker run: starting the JVM is the slow part.
"""

import json
import os
import shutil
import subprocess
from datetime import timedelta
from http import HTTPStatus
from pathlib import Path
from urllib.parse import quote

import pytest
from django.utils import timezone

from articles.models import Article, PreviewLink
from tests.factories import make_article
from tests.helpers import SEED_URL, SEED_ZH_URL

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[1]
VNU_JAR = Path(
    os.environ.get("VNU_JAR", ROOT / ".venv/node/node_modules/vnu-jar/build/dist/vnu.jar")
)
STATIC = ROOT / "static"
# A page the checker must reject: proof that it really read what it was given.
CANARY = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Canary</title>'
    '</head><body><p><time datetime="2026-11-30T14:03:01.258600+00:00">then</time></p>'
    "</body></html>"
)
# Page type -> address of the demo content, and the status it answers with.
PAGES = {
    "home": ("/en/", HTTPStatus.OK),
    "category": ("/en/social-security-inquiry/", HTTPStatus.OK),
    "guide": (SEED_URL, HTTPStatus.OK),
    "tag": ("/en/tags/alipay/", HTTPStatus.OK),
    "laws": ("/en/laws/", HTTPStatus.OK),
    "law": ("/en/laws/social-insurance-law/", HTTPStatus.OK),
    "search-results": ("/en/search/?q=medical+card", HTTPStatus.OK),
    "search-did-you-mean": ("/en/search/?q=insurence", HTTPStatus.OK),
    "search-nothing-found": ("/en/search/?q=zzzzqqq", HTTPStatus.OK),
    "search-empty": ("/en/search/", HTTPStatus.OK),
    "not-found": ("/en/no-such-page/", HTTPStatus.NOT_FOUND),
    "zh-home": ("/zh-hans/", HTTPStatus.OK),
    "zh-category": ("/zh-hans/social-security-inquiry/", HTTPStatus.OK),
    "zh-guide": (SEED_ZH_URL, HTTPStatus.OK),
    "zh-tag": (f"/zh-hans/tags/{quote('医保卡')}/", HTTPStatus.OK),
    "zh-laws": ("/zh-hans/laws/", HTTPStatus.OK),
    "zh-law": ("/zh-hans/laws/social-insurance-law/", HTTPStatus.OK),
    "zh-search-results": (f"/zh-hans/search/?q={quote('医保卡')}", HTTPStatus.OK),
    "zh-search-all-languages": (
        f"/zh-hans/search/?q={quote('医保卡 card')}&lang=all",
        HTTPStatus.OK,
    ),
    "zh-not-found": ("/zh-hans/no-such-page/", HTTPStatus.NOT_FOUND),
}


@pytest.fixture(scope="module")
def vnu_command():
    """`java -jar vnu.jar`, or a skip (a failure in CI) saying what is missing."""
    java = shutil.which(os.environ.get("JAVA", "java"))
    missing = []
    if not java:
        missing.append("java (apt-get install -y default-jre-headless)")
    if not VNU_JAR.is_file():
        missing.append(f"vnu.jar at {VNU_JAR} (make test installs it with npm)")
    if missing:
        message = "The Nu Html Checker needs " + " and ".join(missing)
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + ": HTML validation must run in CI")
        pytest.skip(message)
    return [java, "-jar", str(VNU_JAR)]


def render_pages(client, guide) -> dict[str, str]:
    """The HTML of every public page type, by name, each checked for its status."""
    pages = {}
    for name, (path, status) in PAGES.items():
        response = client.get(path)
        assert response.status_code == status, name
        pages[name] = response.content.decode()

    removed = make_article(slug="removed-guide")
    removed_path = removed.get_absolute_url()
    removed.delete()
    response = client.get(removed_path)
    assert response.status_code == HTTPStatus.GONE
    pages["gone"] = gone = response.content.decode()
    assert "This guide has been removed" in gone

    link = PreviewLink.objects.create(article=guide, expires_at=timezone.now() + timedelta(1))
    response = client.get(link.get_absolute_url())
    assert response.status_code == HTTPStatus.OK
    pages["shared-preview"] = response.content.decode()
    link.expires_at = timezone.now() - timedelta(days=1)
    link.save()
    response = client.get(link.get_absolute_url())
    assert response.status_code == HTTPStatus.GONE
    pages["preview-expired"] = response.content.decode()

    # "No" asks for a comment on the thank-you page.
    response = client.post(
        f"/en/feedback/{guide.slug}/",
        {"helpful": "no"},
        headers={"Origin": "http://testserver"},
        REMOTE_ADDR="192.0.2.77",
    )
    assert response.status_code == HTTPStatus.OK
    pages["feedback-thanks"] = response.content.decode()
    return pages


def describe(message: dict) -> str:
    page = Path(message.get("url", "")).stem
    line = message.get("lastLine", "?")
    extract = " ".join(message.get("extract", "").split())
    return f"{page}:{line}: {message['message']}\n    {extract}"


def test_every_page_type_passes_the_nu_html_checker(client, demo, vnu_command, tmp_path):
    # An editor's save gives microseconds, which a datetime attribute must not carry.
    edited = timezone.now().replace(microsecond=258600)
    Article.objects.update(updated_at=edited)
    pages = render_pages(client, demo)
    pages["canary"] = CANARY
    files = []
    for name, html in pages.items():
        file = tmp_path / f"{name}.html"
        file.write_text(html, encoding="utf-8")
        files.append(str(file))
    files += [str(path) for path in sorted(STATIC.rglob("*.css")) + sorted(STATIC.rglob("*.svg"))]

    options = ["--format", "json", "--stdout", "--exit-zero-always"]
    options += ["--also-check-css", "--also-check-svg"]
    run = subprocess.run(  # noqa: S603 (our own java and jar, files we wrote)
        [*vnu_command, *options, *files], capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr
    messages = json.loads(run.stdout)["messages"]

    canary = [m for m in messages if m.get("url", "").endswith("/canary.html")]
    assert [m["type"] for m in canary] == ["error"], canary
    messages = [m for m in messages if m not in canary]
    warnings = [m for m in messages if m["type"] == "info"]
    if warnings:  # allowed, but shown with -s or on failure
        print("Nu Html Checker warnings:\n" + "\n".join(describe(m) for m in warnings))
    # "error", and "non-document-error" (a file the checker could not read).
    errors = [m for m in messages if m["type"] != "info"]
    assert not errors, "Nu Html Checker errors:\n" + "\n".join(describe(m) for m in errors)
