"""Editors write comfortably: on the guide change form each section's body shares
the width with its live preview on a desktop (the preview goes below on a narrow
screen), and the title and summary count their length against the limits of
articles.checks, out loud for screen readers, without colour alone."""

import pytest

from articles.checks import TITLE_LENGTH
from tests.browser.test_accessibility import AXE_TAGS
from tests.browser.test_editorial import log_in, staff
from tests.helpers import SEED_SLUG


def seed_pk():
    from articles.models import Article

    return Article.objects.get(slug=SEED_SLUG).pk


def open_change_form(browser, site, width, height=900, javascript=True, username="writer"):
    """The seed guide's change form, signed in as `username` (an Editor made if missing)."""
    from django.contrib.auth.models import User

    if not User.objects.filter(username=username).exists():
        staff(username, "Editor")
    page = log_in(browser, site, username, width, height, javascript)
    page.goto(f"{site}/admin/articles/article/{seed_pk()}/change/")
    return page


def boxes(page):
    body = page.locator("textarea[name='sections-0-body']")
    preview = page.locator(".inline-related .markdown-preview").first
    preview.wait_for()
    content = page.locator("#content").bounding_box()
    return body.bounding_box(), preview.bounding_box(), content


@pytest.mark.parametrize("width", [1280, 1920])
def test_body_and_preview_share_the_width_on_a_desktop(demo_site, browser, screenshots_dir, width):
    page = open_change_form(browser, demo_site, width)
    body, preview, content = boxes(page)
    assert body["width"] >= 0.4 * content["width"], (body, content)
    assert preview["x"] >= body["x"] + body["width"]  # beside it, on the right
    assert preview["y"] < body["y"] + body["height"]
    assert preview["width"] >= 0.4 * content["width"]
    page.locator(".inline-related").first.screenshot(
        path=str(screenshots_dir / f"admin-editor-section-{width}.png")
    )
    page.screenshot(path=str(screenshots_dir / f"admin-editor-{width}.png"), full_page=True)


def test_the_preview_goes_below_the_body_on_a_narrow_screen(demo_site, browser, screenshots_dir):
    page = open_change_form(browser, demo_site, 600)
    body, preview, _content = boxes(page)
    assert preview["y"] >= body["y"] + body["height"]
    assert body["width"] >= 0.8 * page.viewport_size["width"] - 80
    page.screenshot(path=str(screenshots_dir / "admin-editor-600.png"), full_page=True)


@pytest.mark.parametrize("width", [1280, 600])
def test_the_body_grows_with_its_text(demo_site, browser, width):
    page = open_change_form(browser, demo_site, width)
    body = page.locator("textarea[name='sections-0-body']")
    assert body.evaluate("t => t.scrollHeight <= t.clientHeight + 4")
    before = body.bounding_box()["height"]
    body.fill(body.input_value() + "\n\n" + "\n".join(f"{n}. A step." for n in range(1, 30)))
    assert body.bounding_box()["height"] > before + 200
    # Nothing scrolls inside it: all its text shows.
    assert body.evaluate("t => t.scrollHeight <= t.clientHeight + 4")


def test_the_title_counts_its_length_and_says_when_too_long(demo_site, browser, screenshots_dir):
    recommended, limit = TITLE_LENGTH["en"]
    page = open_change_form(browser, demo_site, 1280)
    counter = page.locator(".length-guidance[data-length-for=title]")
    status = page.locator(".field-title [role=status]")
    assert status.get_attribute("aria-live") == "polite"
    # Described by: read with the field.
    assert "id_title_helptext" in page.locator("#id_title").get_attribute("aria-describedby")
    title = page.locator("#id_title")

    title.fill("x" * 42)
    assert counter.inner_text() == (
        f"42 of {recommended} characters recommended for search results "
        f"(cut at {limit} in share cards)"
    )
    assert counter.get_attribute("data-state") == "fits"

    title.fill("x" * (recommended + 1))
    assert counter.inner_text().startswith("Too long for search results")
    assert counter.get_attribute("data-state") == "long"

    title.fill("x" * (limit + 1))
    assert counter.inner_text().startswith(f"Too long: {limit + 1} characters")
    assert counter.get_attribute("data-state") == "cut"
    # Announced once the typing pauses, not on every keystroke.
    status.filter(has_text=f"{limit + 1} characters").wait_for(state="attached")
    page.locator(".field-title").screenshot(path=str(screenshots_dir / "admin-title-counter.png"))


def test_chinese_limits_follow_the_language_and_count_characters(demo_site, browser):
    from articles.models import Article

    zh = Article.objects.filter(language="zh-hans", draft_of=None).first()
    recommended, limit = TITLE_LENGTH["zh-hans"]
    page = open_change_form(browser, demo_site, 1280)
    page.goto(f"{demo_site}/admin/articles/article/{zh.pk}/change/")
    page.locator("#id_title").fill("支付宝医保卡怎么激活")
    assert (
        page.locator(".length-guidance[data-length-for=title]")
        .inner_text()
        .startswith(f"10 of {recommended} characters")
    )


def test_the_limits_show_with_javascript_off(demo_site, browser):
    recommended, limit = TITLE_LENGTH["en"]
    page = open_change_form(browser, demo_site, 1280, javascript=False)
    assert (
        page.locator(".field-title .help")
        .inner_text()
        .endswith(
            f"Search results show about {recommended} characters of a title; share cards "
            f"cut it at {limit}."
        )
    )
    assert "Write at least" in page.locator(".field-summary .help").inner_text()


@pytest.mark.parametrize("width", [1280, 1920, 600])
def test_axe_finds_no_violation_on_the_change_form(demo_site, browser, axe_script, width):
    page = open_change_form(browser, demo_site, width)
    page.locator(".inline-related .markdown-preview").first.wait_for()
    page.locator("#id_title").fill("x" * 80)
    page.locator("#id_summary").fill("Short.")
    page.evaluate(axe_script.read_text())
    result = page.evaluate(
        "async (tags) => await axe.run({runOnly: {type: 'tag', values: tags}})",
        AXE_TAGS,
    )
    violations = [(v["id"], [n["target"] for n in v["nodes"]]) for v in result["violations"]]
    assert not violations, violations
