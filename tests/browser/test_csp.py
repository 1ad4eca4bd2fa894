"""The enforced Content-Security-Policy breaks nothing: every page type, the admin
included, loads and is used in Chromium with no violation reported."""

import re
from http import HTTPStatus

import pytest
from django.contrib.auth.models import User

from tests.factories import STAFF_PASSWORD
from tests.helpers import SEED_SLUG, SEED_URL, SEED_ZH_URL

PUBLIC_PAGES = {
    "home": "/en/",
    "category": "/en/social-security-inquiry/",
    "guide": SEED_URL,
    "tag": "/en/tags/alipay/",
    "laws": "/en/laws/",
    "law": "/en/laws/social-insurance-law/",
    "search with results": "/en/search/?q=activate+medical+insurance+card",
    "search without results": "/en/search/?q=zzqqxx",
    "not found": "/en/no-such-page/",
    "Chinese home": "/zh-hans/",
    "Chinese guide": SEED_ZH_URL,
    "Chinese search": "/zh-hans/search/?q=%E5%8C%BB%E4%BF%9D%E5%8D%A1",
}

# Collects what the browser reports before any script of the page runs.
LISTEN_FOR_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(
    `${event.effectiveDirective} blocked ${event.blockedURI || "inline"}`
    + ` at ${event.sourceFile}:${event.lineNumber} ${event.sample}`
  );
});
"""


class ViolationWatch:
    """A browser tab that keeps every CSP violation and policy complaint per page."""

    def __init__(self, browser, **context_options):
        viewport = {"width": 1280, "height": 900}
        self.context = browser.new_context(viewport=viewport, **context_options)
        self.context.add_init_script(LISTEN_FOR_VIOLATIONS)
        self.page = self.context.new_page()
        self.found = {}
        self.page.on("console", self._console)

    def _console(self, message):
        text = message.text
        if "Content Security Policy" in text or "Permissions-Policy" in text:
            self.found.setdefault(self.page.url, []).append(f"console: {text}")

    def visit(self, url, status=HTTPStatus.OK):
        response = self.page.goto(url)
        assert response.status == status, url
        self.page.wait_for_load_state("networkidle")
        assert "Content-Security-Policy" in {name.title() for name in response.headers}
        return response

    def collect(self):
        """Adds the current page's violation events; call before leaving the page."""
        events = self.page.evaluate("window.__cspViolations || []")
        if events:
            self.found.setdefault(self.page.url, []).extend(events)

    def close(self):
        self.context.close()


@pytest.fixture
def watch(browser):
    tabs = []

    def open_tab(**context_options):
        tabs.append(ViolationWatch(browser, **context_options))
        return tabs[-1]

    yield open_tab
    for tab in tabs:
        tab.close()


def test_public_pages_report_no_violation(demo_site, watch):
    tab = watch()
    for name, path in PUBLIC_PAGES.items():
        tab.visit(demo_site + path, HTTPStatus.NOT_FOUND if name == "not found" else HTTPStatus.OK)
        tab.collect()
    # The search box's suggestions (suggest.js fetches and draws them).
    tab.visit(demo_site + "/en/")
    tab.page.locator("#site-search").press_sequentially("medical", delay=30)
    tab.page.get_by_role("option").first.wait_for()
    tab.collect()
    assert tab.found == {}


def test_feedback_reports_no_violation(demo_site, watch):
    tab = watch()
    tab.visit(demo_site + SEED_URL)
    # With JavaScript: the vote and the comment box, without a reload.
    tab.page.locator("button[name=helpful][value=no]").click()
    tab.page.locator("#feedback-comment").wait_for()
    tab.collect()

    # The plain form's thank-you page, as a browser without JavaScript gets it.
    other = watch()
    other.visit(demo_site + SEED_URL)
    with other.page.expect_navigation():
        other.page.evaluate(
            """() => {
              const form = document.querySelector("form[data-feedback]");
              const vote = Object.assign(document.createElement("input"),
                                         {type: "hidden", name: "helpful", value: "yes"});
              form.append(vote);
              form.submit();  // not requestSubmit(): no submit event, so no feedback.js
            }"""
        )
    other.page.get_by_role("heading", level=1, name=re.compile("Thank you")).wait_for()
    other.collect()
    assert tab.found == {} and other.found == {}


def test_a_failed_vote_request_falls_back_to_the_form_with_its_answer(demo_site, desktop):
    """When the script's request fails, the form is posted as without JavaScript, and
    the answer clicked goes with it (form.submit() sends no button)."""
    from articles.models import GuideFeedback

    failed = []

    def fail_script_request(route):
        if route.request.resource_type in {"fetch", "xhr"}:
            failed.append(route.request.url)
            route.fulfill(status=502, body="<html>bad gateway</html>", content_type="text/html")
        else:
            route.continue_()

    desktop.route("**/feedback/**", fail_script_request)
    desktop.goto(demo_site + SEED_URL)
    with desktop.expect_navigation():
        desktop.locator("button[name=helpful][value=yes]").click()
    desktop.get_by_role("heading", level=1, name=re.compile("Thank you")).wait_for()
    assert failed, "the script's request was not made"
    assert GuideFeedback.objects.get(article__slug=SEED_SLUG).helpful == 1


def test_admin_pages_report_no_violation(demo_site, watch):
    from articles.models import Article

    User.objects.create_superuser("admin", password=STAFF_PASSWORD)
    guide = Article.objects.get(slug=SEED_SLUG)
    change_url = f"{demo_site}/admin/articles/article/{guide.pk}/change/"
    tab = watch()
    page = tab.page

    tab.visit(demo_site + "/admin/login/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/admin/")
    tab.collect()

    tab.visit(demo_site + "/admin/articles/article/")
    tab.collect()

    # The change form with its inlines, autocomplete and live Markdown preview;
    # saving twice gives the history two versions to compare.
    for _ in range(2):
        tab.visit(change_url)
        page.locator(".markdown-preview").first.wait_for()
        page.locator(".select2-selection").first.click()  # an autocomplete opens
        page.locator(".select2-results__option").first.wait_for()
        page.keyboard.press("Escape")
        page.locator(".add-row a").first.click()  # a new inline row
        tab.collect()
        # A public guide: a major change (ticked by default) needs a note for citizens.
        page.get_by_label("Public change note:").fill("Steps checked again.")
        page.get_by_role("button", name="Save and continue editing").click()
        page.locator(".messagelist").wait_for()
        tab.collect()

    tab.visit(change_url.replace("/change/", "/history/"))
    tab.collect()
    page.locator("#change-history input[type=submit]").click()  # reversion-compare
    page.wait_for_url("**/compare/**")
    page.get_by_text("Go back to history list").first.wait_for()
    tab.collect()

    for path in ("/admin/", "/admin/taggit/tag/add/", "/admin/articles/law/"):
        tab.visit(demo_site + path)
        tab.collect()
    assert tab.found == {}
