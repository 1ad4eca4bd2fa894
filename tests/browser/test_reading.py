"""A citizen reads the seed guide in a real browser, on a phone and without JavaScript."""

from tests.helpers import SEED_TITLE, SEED_URL, SEED_ZH_TITLE, SEED_ZH_URL


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


def test_the_chinese_seed_guide_reads_on_a_small_phone(demo_site, browser, screenshots_dir):
    context = browser.new_context(java_script_enabled=False, viewport={"width": 320, "height": 640})
    page = context.new_page()
    page.goto(demo_site + SEED_ZH_URL)
    assert page.locator("html").get_attribute("lang") == "zh-Hans"
    assert page.locator("h1").inner_text() == SEED_ZH_TITLE
    assert page.locator(".section--steps ol > li").count() == 8
    assert page.locator(".section--ways ol > li").count() == 4
    # A long unbroken run of characters wraps instead of widening the page.
    page.evaluate("document.querySelector('h1').textContent = '医'.repeat(200) + 'x'.repeat(200)")
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    page.screenshot(path=str(screenshots_dir / "guide-zh-phone.png"), full_page=True)
    context.close()


def test_the_switcher_leads_to_the_translation_and_is_remembered(demo_site, no_js):
    no_js.goto(demo_site + SEED_URL)
    no_js.get_by_role("navigation", name="Language").get_by_role("link").click()
    assert no_js.url == demo_site + SEED_ZH_URL
    assert no_js.locator("h1").inner_text() == SEED_ZH_TITLE
    # The choice is remembered: the bare address now opens the Chinese home page.
    no_js.goto(demo_site + "/")
    assert no_js.url == demo_site + "/zh-hans/"
    no_js.get_by_role("navigation", name="语言").get_by_role("link").click()
    assert no_js.url == demo_site + "/en/"
