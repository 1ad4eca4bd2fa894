"""WCAG 2.2 AA in a real browser: axe-core on every page type, keyboard-only use,
the guide above the fold on a phone, and screenshots of each page type."""

import json
from http import HTTPStatus

import pytest

from tests.helpers import SEED_SLUG, SEED_URL, SEED_ZH_URL

PAGE_TYPES = {
    "home": "/en/",
    "category": "/en/social-security-inquiry/",
    "tag": "/en/tags/alipay/",
    "guide": SEED_URL,
    "law": "/en/laws/social-insurance-law/",
    "laws": "/en/laws/",
    "search-results": "/en/search/?q=activate+medical+insurance+card",
    "search-empty": "/en/search/?q=zzqqxx",
    "not-found": "/en/no-such-page/",
    # The same page types in Chinese.
    "zh-home": "/zh-hans/",
    "zh-category": "/zh-hans/social-security-inquiry/",
    "zh-tag": "/zh-hans/tags/%E5%8C%BB%E4%BF%9D%E5%8D%A1/",
    "zh-guide": SEED_ZH_URL,
    "zh-law": "/zh-hans/laws/social-insurance-law/",
    "zh-laws": "/zh-hans/laws/",
    "zh-search-results": "/zh-hans/search/?q=%E5%8C%BB%E4%BF%9D%E5%8D%A1",
    "zh-search-empty": "/zh-hans/search/?q=zzqqxx",
    "zh-not-found": "/zh-hans/no-such-page/",
}
MISSING_PAGES = {"not-found", "zh-not-found"}
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


def axe_violations(page, axe_script):
    # Evaluated, not added as an inline <script>, which the site's CSP rightly blocks.
    page.evaluate(axe_script.read_text())
    result = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})",
        AXE_TAGS,
    )
    return [
        {"id": v["id"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
    ]


def expected_status(name) -> int:
    return HTTPStatus.NOT_FOUND if name in MISSING_PAGES else HTTPStatus.OK


@pytest.mark.parametrize("name", PAGE_TYPES)
def test_axe_finds_no_violation(demo_site, browser, axe_script, screenshots_dir, name):
    for width, height, label in [(375, 740, "phone"), (1280, 900, "desktop")]:
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        response = page.goto(demo_site + PAGE_TYPES[name])
        assert response.status == expected_status(name)
        violations = axe_violations(page, axe_script)
        page.screenshot(path=str(screenshots_dir / f"{name}-{label}.png"), full_page=True)
        context.close()
        assert not violations, json.dumps(violations, indent=2)


def test_the_feedback_form_is_accessible(demo_site, browser, axe_script, screenshots_dir):
    context = browser.new_context(viewport={"width": 375, "height": 740}, java_script_enabled=True)
    page = context.new_page()
    page.goto(demo_site + SEED_URL)
    page.locator("button[name=helpful][value=no]").click()
    page.get_by_label("What were you looking for?").wait_for()
    assert not axe_violations(page, axe_script)
    page.locator("#feedback").screenshot(path=str(screenshots_dir / "feedback-phone.png"))
    context.close()


def test_keyboard_only_reaches_skip_link_search_contents_and_feedback(demo_site, desktop):
    desktop.goto(demo_site + SEED_URL)
    focused = []
    for _ in range(40):
        desktop.keyboard.press("Tab")
        focused.append(
            desktop.evaluate(
                "() => { const e = document.activeElement;"
                " return [e.tagName, e.getAttribute('href') || e.getAttribute('name') || '',"
                " (e.innerText || e.value || '').trim().slice(0, 40),"
                " getComputedStyle(e).outlineStyle] }"
            )
        )
    assert focused[0][2] == "Skip to main content"
    assert ["INPUT", "q"] in [f[:2] for f in focused[:4]]
    assert any(f[1] == "#how-to-activate-the-card-in-alipay" for f in focused)
    assert any(f[1] == "helpful" and f[2].startswith("Yes") for f in focused) or _tab_to_feedback(
        desktop
    )
    assert all(f[3] != "none" for f in focused[:10]), "every focused element shows a focus outline"
    desktop.goto(demo_site + SEED_URL)
    desktop.keyboard.press("Tab")
    desktop.keyboard.press("Enter")
    assert desktop.evaluate("document.activeElement.id") == "main"


def _tab_to_feedback(page):
    for _ in range(80):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.name") == "helpful":
            page.keyboard.press("Enter")
            page.get_by_text("Thank you for your feedback").wait_for()
            return True
    return False


def test_title_summary_and_contents_are_above_the_fold_on_a_phone(demo_site, phone):
    phone.goto(demo_site + SEED_URL)
    fold = phone.viewport_size["height"]
    for selector in ["h1", ".guide__header .lead", ".contents h2"]:
        box = phone.locator(selector).first.bounding_box()
        assert box["y"] + box["height"] <= fold, (selector, box)


def test_text_reflows_at_320_px_and_400_percent_zoom(demo_site, browser):
    # 1280 px at 400% zoom is a 320 CSS-pixel viewport.
    context = browser.new_context(viewport={"width": 320, "height": 640})
    page = context.new_page()
    for name, path in PAGE_TYPES.items():
        assert page.goto(demo_site + path).status == expected_status(name), path
        assert page.evaluate("document.documentElement.scrollWidth") <= 320, path
    context.close()


def test_print_shows_the_legal_basis_and_hides_navigation(demo_site, desktop, screenshots_dir):
    desktop.goto(demo_site + SEED_URL)
    assert not desktop.locator(".provision").first.is_visible()
    desktop.emulate_media(media="print")
    assert desktop.locator(".provision").first.is_visible()
    for hidden in [".site-header", ".feedback", ".pager", ".breadcrumb"]:
        assert not desktop.locator(hidden).first.is_visible(), hidden
    desktop.pdf(path=str(screenshots_dir / "guide-print.pdf"))


def test_votes_count_with_javascript_off_and_on(demo_site, browser):
    from articles.models import GuideFeedback

    guides = {
        False: "/en/social-security-inquiry/binzhou-city-social-security-center-location/",
        True: SEED_URL,
    }
    for javascript, path in guides.items():
        context = browser.new_context(java_script_enabled=javascript)
        page = context.new_page()
        page.goto(demo_site + path)
        page.locator("button[name=helpful][value=yes]").click()
        page.get_by_text("Thank you for your feedback").wait_for()
        # With the script the answer arrives without leaving the guide.
        assert (page.url == demo_site + path) is javascript
        context.close()
    counts = {f.article.slug: f.helpful for f in GuideFeedback.objects.select_related("article")}
    assert counts == {
        "binzhou-city-social-security-center-location": 1,
        SEED_SLUG: 1,
    }
