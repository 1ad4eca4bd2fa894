"""Page weight and speed: small, fingerprinted, compressed assets; no render-blocking
script; nothing from another host; the guide page under 30 KB compressed."""

import gzip
import re
from http import HTTPStatus
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.management import call_command

from tests.helpers import SEED_URL

pytestmark = pytest.mark.django_db

BUDGET_BYTES = 30 * 1024
ASSET = re.compile(r'<(?:script|link)\b[^>]*(?:src|href)="(/static/[^"]+)"')


def gzipped(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=6))


def test_the_guide_page_with_its_css_and_js_is_under_budget(client, demo):
    response = client.get(SEED_URL)
    assert response.status_code == HTTPStatus.OK
    html = response.content
    assets = ASSET.findall(html.decode())
    assert any(a.endswith(".css") for a in assets) and any(a.endswith(".js") for a in assets)
    total = gzipped(html)
    for asset in assets:
        if asset.endswith((".css", ".js")):
            total += gzipped(Path(finders.find(asset.removeprefix("/static/"))).read_bytes())
    print(f"guide page: {total} bytes compressed (HTML + CSS + JS)")
    assert total < BUDGET_BYTES


def test_no_render_blocking_script_and_no_third_party_request(client, demo):
    for path in ["/en/", SEED_URL, "/en/search/?q=card"]:
        response = client.get(path)
        assert response.status_code == HTTPStatus.OK, path
        html = response.content.decode()
        scripts = re.findall(r"<script\b[^>]*>", html)
        assert [tag for tag in scripts if "src=" in tag], f"{path}: no script to check"
        for tag in scripts:
            assert "src=" not in tag or " defer" in tag, tag
        for url in re.findall(r'(?:src|href)="(https?://[^"]+)"', html):
            assert url.startswith(settings.SITE_URL), url
        assert "@font-face" not in html and "fonts.googleapis" not in html


def test_static_files_are_fingerprinted_and_compressed(tmp_path, settings):
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    call_command("collectstatic", interactive=False, verbosity=0)
    css = list((tmp_path / "css").glob("site.*.css"))
    assert [p for p in css if re.fullmatch(r"site\.[0-9a-f]{12}\.css", p.name)]
    assert list((tmp_path / "css").glob("site.*.css.br")), "Brotli files are written"
    assert list((tmp_path / "css").glob("site.*.css.gz"))
