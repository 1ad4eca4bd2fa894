"""An editor changes a step of the seed guide through the admin, previews it, a
publisher publishes it, and a second editor's stale save is refused."""

import re
from importlib import import_module

from django.apps import apps
from django.contrib.auth.models import Group

from tests.factories import STAFF_PASSWORD, make_staff_member
from tests.helpers import SEED_SLUG, SEED_URL

NEW_STEP = "Open the Alipay app on your phone."


def staff(username, group):
    if not Group.objects.filter(name=group).exists():
        # Browser tests run on a flushed database: recreate the groups the data
        # migration makes.
        import_module("articles.migrations.0004_editorial_workflow").create_groups(apps, None)
    return make_staff_member(group, username).user


def log_in(browser, site, username, width=1280, height=900, javascript=True):
    """A new browser window signed in to the admin as `username`, on its index."""
    context = browser.new_context(
        viewport={"width": width, "height": height}, java_script_enabled=javascript
    )
    page = context.new_page()
    page.goto(site + "/admin/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/admin/")
    return page


def test_editor_to_publisher_with_preview_and_a_refused_stale_save(
    demo_site, browser, screenshots_dir
):
    staff("editor", "Editor")
    staff("second", "Editor")
    staff("publisher", "Publisher")
    from articles.models import Article

    editor = log_in(browser, demo_site, "editor")
    editor.goto(demo_site + "/admin/articles/article/?q=activate+alipay")
    editor.get_by_role("row", name=re.compile("How to activate Alipay")).get_by_role(
        "checkbox"
    ).check()
    editor.get_by_label("Action:").select_option("prepare_draft_revisions")
    editor.get_by_role("button", name="Go").click()
    editor.get_by_text("Draft revision prepared").wait_for()
    draft = Article.objects.get(draft_of__slug=SEED_SLUG)
    change_url = f"{demo_site}/admin/articles/article/{draft.pk}/change/"

    # A second editor opens the same draft before the first one saves.
    second = log_in(browser, demo_site, "second")
    second.goto(change_url)

    editor.goto(change_url)
    first_step = editor.locator("textarea[name='sections-0-body']")
    first_step.fill(first_step.input_value().replace("Open “Alipay”.", NEW_STEP))
    editor.locator(".markdown-preview").first.get_by_text(NEW_STEP).wait_for()
    editor.get_by_label("Status:").select_option("review")
    # A revision of a public guide: a major change (ticked by default) needs a note.
    editor.get_by_label("Public change note:").fill("The first step changed.")
    editor.get_by_role("button", name="Save and continue editing").click()
    editor.get_by_text("was changed successfully").wait_for()

    with editor.expect_popup() as popup:
        editor.get_by_role("link", name="Preview as citizens see it").click()
    preview = popup.value
    preview.wait_for_load_state()
    assert NEW_STEP in preview.locator(".section--steps").inner_text()
    assert preview.locator("meta[name=robots]").get_attribute("content") == "noindex"
    preview.screenshot(path=str(screenshots_dir / "admin-preview.png"))

    second.locator("textarea[name='sections-0-body']").fill("1. A competing edit")
    second.get_by_role("button", name="Save and continue editing").click()
    second.get_by_text("Someone else saved this guide").wait_for()
    second.screenshot(path=str(screenshots_dir / "admin-stale-save-refused.png"), full_page=True)
    assert Article.objects.get(pk=draft.pk).sections.first().body.startswith(f"1. {NEW_STEP}")

    citizen = browser.new_page()
    citizen.goto(demo_site + SEED_URL)
    assert NEW_STEP not in citizen.locator(".section--steps").inner_text()

    publisher = log_in(browser, demo_site, "publisher")
    publisher.goto(demo_site + "/admin/articles/article/?status__exact=review")
    publisher.get_by_role("row", name=re.compile("How to activate Alipay")).get_by_role(
        "checkbox"
    ).check()
    publisher.get_by_label("Action:").select_option("publish_selected")
    publisher.get_by_role("button", name="Go").click()
    publisher.get_by_text("Published: 1 guide").wait_for()

    citizen.goto(demo_site + SEED_URL)
    assert NEW_STEP in citizen.locator(".section--steps").inner_text()
    citizen.screenshot(path=str(screenshots_dir / "guide-after-publishing.png"))
