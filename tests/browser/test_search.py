"""Search in a real browser: plain form without JavaScript, suggestions with it."""

from tests.helpers import SEED_SLUG, SEED_TITLE


def test_search_form_works_without_javascript(demo_site, no_js):
    no_js.goto(demo_site + "/en/")
    no_js.get_by_label("Search guides").fill("activate medical insurance card")
    no_js.get_by_role("button", name="Search").click()
    first = no_js.locator(".search-result__title").first
    assert first.inner_text() == SEED_TITLE
    assert first.locator("mark").count() >= 3


def test_suggestions_are_keyboard_usable(demo_site, desktop, screenshots_dir):
    desktop.goto(demo_site + "/en/")
    box = desktop.get_by_role("combobox", name="Search guides")
    box.press_sequentially("activ", delay=30)
    listbox = desktop.get_by_role("listbox", name="Suggested guides")
    listbox.wait_for()
    assert listbox.get_by_role("option").first.inner_text() == SEED_TITLE
    assert box.get_attribute("aria-expanded") == "true"
    desktop.screenshot(path=str(screenshots_dir / "search-suggestions-desktop.png"))
    box.press("ArrowDown")
    assert box.get_attribute("aria-activedescendant")
    box.press("Enter")
    desktop.wait_for_url(f"**/{SEED_SLUG}/")
    assert desktop.locator("h1").inner_text() == SEED_TITLE


def test_escape_closes_the_suggestions_and_enter_searches(demo_site, desktop):
    desktop.goto(demo_site + "/en/")
    box = desktop.get_by_role("combobox", name="Search guides")
    box.press_sequentially("insur", delay=30)
    desktop.get_by_role("listbox").wait_for()
    box.press("Escape")
    assert box.get_attribute("aria-expanded") == "false"
    assert box.input_value() == "insur"
    box.press("Enter")
    desktop.wait_for_url("**/search/?q=insur")
    assert "Search results" in desktop.locator("h1").inner_text()
