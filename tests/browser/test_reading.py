"""A citizen reads the seed guide in a real browser, on a phone and without JavaScript."""

from tests.helpers import SEED_TITLE, SEED_URL


def test_seed_guide_reads_on_a_phone_without_javascript(demo_site, no_js, screenshots_dir):
    no_js.goto(demo_site + SEED_URL)
    assert no_js.locator("h1").inner_text() == SEED_TITLE
    assert no_js.locator(".section--steps ol > li").count() == 8
    assert no_js.locator(".section--ways ol > li").count() == 4
    assert no_js.locator(".section--procedure ol > li").count() == 4
    # Steps are numbered by the stylesheet, so it must have loaded.
    marker = no_js.evaluate(
        "getComputedStyle(document.querySelector('.section--steps li'), '::before').content"
    )
    assert marker not in ("none", "normal", "")
    # Nothing overflows sideways at phone width.
    assert no_js.evaluate("document.documentElement.scrollWidth") <= 375
    no_js.screenshot(path=str(screenshots_dir / "guide-phone-nojs.png"), full_page=True)


def test_contents_list_and_breadcrumb_lead_somewhere(demo_site, desktop, screenshots_dir):
    desktop.goto(demo_site + SEED_URL)
    desktop.get_by_role("link", name="Legal basis").click()
    assert desktop.url.endswith("#legal-basis")
    assert desktop.locator("#legal-basis").is_visible()
    desktop.screenshot(path=str(screenshots_dir / "guide-desktop.png"), full_page=True)
    desktop.get_by_role("navigation", name="Breadcrumb").get_by_role(
        "link", name="Social security inquiry"
    ).click()
    assert desktop.locator("h1").inner_text() == "Social security inquiry"
    desktop.get_by_role("link", name=SEED_TITLE).click()
    desktop.get_by_role("link", name="Next guide").click()
    assert "sichuan-social-security-payment" in desktop.url
