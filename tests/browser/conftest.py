"""Browser tests: Playwright for Python driving Debian's Chromium, never a downloaded one.

Outside CI they skip when Chromium is missing; in CI (CI=true) that is a failure.
"""

import os
import shutil
from pathlib import Path

import pytest

from tests.helpers import load_demo

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(os.environ.get("ARTIFACTS_DIR", Path(__file__).resolve().parents[2] / "artifacts"))

# Playwright's sync API runs an event loop in this thread; the Django calls the
# tests make around it (fixtures, live server data) are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    in_ci = os.environ.get("CI", "").lower() == "true"
    if not (Path(CHROMIUM).is_file() and shutil.which(CHROMIUM)):
        message = f"Chromium not found at {CHROMIUM} (apt-get install -y chromium)"
        if in_ci:
            pytest.fail(message + ": browser tests must run in CI")
        pytest.skip(message)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if in_ci:
            pytest.fail("playwright is not installed: browser tests must run in CI")
        pytest.skip("playwright is not installed (make test installs it)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def screenshots_dir():
    folder = ARTIFACTS / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nScreenshots are saved in {folder}")
    return folder


@pytest.fixture
def demo_site(live_server, transactional_db):
    """The demo content (tests.helpers.load_demo) served by a live server; its URL."""
    load_demo()
    return live_server.url


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport={"width": 375, "height": 740}, device_scale_factor=2)
    yield context.new_page()
    context.close()


@pytest.fixture
def desktop(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()


@pytest.fixture
def no_js(browser):
    context = browser.new_context(java_script_enabled=False, viewport={"width": 375, "height": 740})
    yield context.new_page()
    context.close()


@pytest.fixture(scope="session")
def axe_script():
    """axe-core from the npm registry, installed by `make test` under .venv/node."""
    root = Path(__file__).resolve().parents[2]
    path = Path(
        os.environ.get("AXE_CORE_PATH", root / ".venv/node/node_modules/axe-core/axe.min.js")
    )
    if not path.is_file():
        message = f"axe-core not found at {path} (make test installs it with npm)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + ": accessibility tests must run in CI")
        pytest.skip(message)
    return path
