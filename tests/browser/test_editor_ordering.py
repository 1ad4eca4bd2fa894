"""A guide's sections, citations and related guides are put in order on its change
form without typing numbers: by dragging (django-admin-sortable2) or with the Move up
and Move down buttons (static/articles/admin/ordering.js), and the public page
follows once saved; sections collapse to their headings; a guide that fails a
blocking check is not published, and the editor is told why."""

import re

import pytest

from tests.browser.test_editor_layout import open_change_form, seed_pk
from tests.browser.test_editorial import staff
from tests.helpers import SEED_URL

SECTIONS = "#sections-group .inline-related.has_original"


def publisher_form(browser, site, width=1280):
    from django.contrib.auth.models import User

    if not User.objects.filter(username="publisher").exists():
        staff("publisher", "Publisher")
    return open_change_form(browser, site, width, username="publisher")


def shown_headings(page):
    return [
        heading.strip()
        for heading in page.locator(f"{SECTIONS} input[name$='-heading']").evaluate_all(
            "(inputs) => inputs.map((input) => input.value)"
        )
    ]


def saved_headings():
    from articles.models import Section

    return list(
        Section.objects.filter(article_id=seed_pk())
        .order_by("position", "pk")
        .values_list("heading", flat=True)
    )


def public_headings(page, site, headings):
    """The section headings of the public page, in the order it shows them."""
    page.goto(site + SEED_URL)
    text = page.locator("main").inner_text()
    found = [(text.find(heading), heading) for heading in headings]
    assert all(index >= 0 for index, _heading in found), found
    return [heading for _index, heading in sorted(found)]


def drag(page, source, target):
    """Drags `source` by the mouse, in steps as a hand does, onto the top of `target`,
    and holds it there until the list has made room for it before `target`.

    SortableJS ignores the pointer while rows are animating (150 ms) or just after a
    move, so a drop straight after the last step can land one row short on a busy
    machine; a hand pauses over the place it means, and so does this.
    """
    # Handles, not locators: a locator by position finds another row once rows move.
    source, target = source.element_handle(), target.element_handle()
    source.scroll_into_view_if_needed()
    box = source.bounding_box()
    page.mouse.move(box["x"] + 20, box["y"] + box["height"] / 2)
    page.mouse.down()
    box = target.bounding_box()
    x, y = box["x"] + 20, box["y"] + 2
    page.mouse.move(x, y, steps=20)
    for nudge in range(40):
        page.wait_for_timeout(100)
        if page.evaluate(
            "([source, target]) => Boolean("
            "source.compareDocumentPosition(target) & Node.DOCUMENT_POSITION_FOLLOWING)",
            [source, target],
        ):
            break
        page.mouse.move(x, y + nudge % 2)
    page.mouse.up()


def save(page):
    # A public guide: a major change (ticked by default) needs a note for citizens.
    page.get_by_label("Public change note:").fill("The steps are in a clearer order.")
    page.get_by_role("button", name="Save and continue editing").click()
    page.locator(".messagelist .success").wait_for()


@pytest.mark.parametrize("width", [1280, 1920])
def test_dragging_a_section_reorders_it_and_the_public_page_follows(
    demo_site, browser, screenshots_dir, width
):
    page = publisher_form(browser, demo_site, width)
    before = shown_headings(page)
    assert len(before) >= 3
    assert not page.locator(f"{SECTIONS} input[name$='-position']").first.is_visible()

    # Collapsed to their headings, as an editor would to see them all; the third
    # section's heading bar, dropped on the first's.
    page.get_by_role("button", name="Collapse all sections").click()
    bars = page.locator(f"{SECTIONS} > h3")
    drag(page, bars.nth(2), bars.first)
    after = shown_headings(page)
    assert after == [before[2], before[0], before[1], *before[3:]]
    orders = page.locator(f"{SECTIONS} input[name$='-position']").evaluate_all(
        "(inputs) => inputs.map((input) => input.value)"
    )
    assert orders == [str(number) for number in range(1, len(before) + 1)]
    status = page.locator("#sections-group .order-status")
    assert status.inner_text() == f"“{before[2]}” moved to position 1 of {len(before)}."
    page.screenshot(path=str(screenshots_dir / f"admin-sections-dragged-{width}.png"))

    save(page)
    assert shown_headings(page) == after
    assert saved_headings() == after
    assert public_headings(page, demo_site, after) == after


@pytest.mark.parametrize("width", [1280, 1920])
def test_move_up_and_down_buttons_reorder_by_keyboard(demo_site, browser, width):
    page = publisher_form(browser, demo_site, width)
    before = shown_headings(page)
    first = page.locator(SECTIONS).first
    assert not first.get_by_role("button", name=re.compile("^Move up")).is_visible()
    move_down = first.get_by_role("button", name=f"Move down {before[0]}")

    move_down.focus()
    page.keyboard.press("Enter")
    assert shown_headings(page) == [before[1], before[0], *before[2:]]
    # The pressed button keeps the focus, on the moved section; the move is read out.
    assert page.evaluate("document.activeElement.textContent") == f"Move down {before[0]}"
    status = page.locator("#sections-group .order-status")
    assert status.inner_text() == f"“{before[0]}” moved to position 2 of {len(before)}."
    page.keyboard.press("Space")
    assert shown_headings(page)[2] == before[0]

    # Back to the top: Move up goes away there, and the focus moves to Move down.
    moved = page.locator(SECTIONS).nth(2)
    moved.get_by_role("button", name=f"Move up {before[0]}").focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    assert shown_headings(page) == before
    assert page.evaluate("document.activeElement.textContent") == f"Move down {before[0]}"

    # The last section to the top, from the keyboard alone.
    last = page.locator("#" + page.locator(SECTIONS).last.get_attribute("id"))
    last.locator(".order-move[data-move=up]").focus()
    for _ in range(len(before) - 1):
        page.keyboard.press("Enter")
    expected = [before[-1], *before[:-1]]
    assert shown_headings(page) == expected
    save(page)
    assert saved_headings() == expected
    assert public_headings(page, demo_site, expected) == expected


def test_related_guides_and_citations_reorder_with_the_buttons(demo_site, browser):
    from articles.models import Article, Citation, RelatedLink

    guide = Article.objects.get(pk=seed_pk())
    others = Article.objects.published().exclude(pk=guide.pk).filter(language=guide.language)
    for position, other in enumerate(others[:3], start=1):
        RelatedLink.objects.get_or_create(
            from_article=guide, to_article=other, defaults={"position": position}
        )
    related = list(guide.related_links.order_by("position", "pk"))
    citations = list(Citation.objects.filter(article=guide).order_by("position", "pk"))
    assert len(related) >= 2 and len(citations) >= 2  # the seed guide cites two provisions

    page = publisher_form(browser, demo_site)
    rows = page.locator("#related_links-group tbody tr.has_original")
    rows.last.locator(".order-move[data-move=up]").click()
    page.locator("#citations-group tbody tr.has_original").last.locator(
        ".order-move[data-move=up]"
    ).click()
    assert not page.locator("#related_links-group td.field-position input").first.is_visible()
    save(page)

    new_related = [*related[:-2], related[-1], related[-2]]
    assert list(guide.related_links.order_by("position", "pk")) == new_related
    new_citations = [*citations[:-2], citations[-1], citations[-2]]
    assert list(Citation.objects.filter(article=guide).order_by("position", "pk")) == (
        new_citations
    )


def test_sections_collapse_to_their_headings(demo_site, browser, screenshots_dir):
    page = publisher_form(browser, demo_site)
    headings = shown_headings(page)
    bodies = page.locator(f"{SECTIONS} textarea[name$='-body']")

    page.get_by_role("button", name="Collapse all sections").click()
    assert all(not bodies.nth(index).is_visible() for index in range(len(headings)))
    bars = page.locator(f"{SECTIONS} h3")
    assert all(bars.nth(index).is_visible() for index in range(len(headings)))
    page.screenshot(path=str(screenshots_dir / "admin-sections-collapsed.png"), full_page=True)

    expand = page.locator(SECTIONS).nth(1).get_by_role("button", name=f"Expand {headings[1]}")
    assert expand.get_attribute("aria-expanded") == "false"
    expand.click()
    toggle = page.locator(SECTIONS).nth(1).locator(".section-toggle")
    assert bodies.nth(1).is_visible() and not bodies.nth(0).is_visible()
    assert toggle.get_attribute("aria-expanded") == "true"
    assert toggle.inner_text().startswith("Collapse")

    # Moving still works on collapsed sections, and a save keeps every body.
    page.locator(SECTIONS).first.get_by_role("button", name=re.compile("^Move down")).click()
    save(page)
    assert saved_headings() == [headings[1], headings[0], *headings[2:]]
    from articles.models import Section

    assert not Section.objects.filter(article_id=seed_pk(), body="").exists()


def test_a_new_section_goes_last_and_javascript_off_types_the_order(demo_site, browser):
    page = publisher_form(browser, demo_site)
    before = shown_headings(page)
    page.locator("#sections-group .add-row a").click()
    new = page.locator("#sections-group .inline-related.dynamic-sections").last
    new.locator("input[name$='-heading']").fill("What to bring")
    new.locator("textarea[name$='-body']").fill("Your ID card.")
    # A new section can collapse too, and has no Move buttons until saved.
    assert new.get_by_role("button", name="Collapse What to bring").is_visible()
    assert new.locator(".order-move").count() == 0
    save(page)
    assert saved_headings() == [*before, "What to bring"]

    # Without JavaScript the order is a number the editor types.
    page = open_change_form(browser, demo_site, 1280, javascript=False, username="publisher")
    positions = page.locator(f"{SECTIONS} input[name$='-position']")
    assert positions.first.is_visible()
    positions.last.fill("0")
    save(page)
    assert saved_headings()[0] == "What to bring"


@pytest.mark.parametrize("width", [1280, 1920])
def test_a_blocking_check_stops_publishing_with_its_message(
    demo_site, browser, screenshots_dir, width
):
    from articles.models import Article, Section

    guide = Article.objects.get(pk=seed_pk())
    draft = Article.objects.create(
        title="How to renew a residence card",
        slug="how-to-renew-a-residence-card",
        summary="Renew your residence card online or at the counter before it expires.",
        category=guide.category,
        language=guide.language,
    )
    Section.objects.create(
        article=draft, kind=Section.Kind.STEPS, heading="Steps", body="Go to the counter."
    )
    page = publisher_form(browser, demo_site, width)
    page.goto(f"{demo_site}/admin/articles/article/{draft.pk}/change/")
    page.get_by_label("Status:").select_option("published")
    page.get_by_role("button", name="Save and continue editing").click()

    error = page.locator("#sections-group .errorlist.nonform")
    error.wait_for()
    assert "numbered list" in error.inner_text()
    assert page.locator(".errornote").first.is_visible()  # "Please correct the error below."
    page.screenshot(
        path=str(screenshots_dir / f"admin-publish-refused-{width}.png"), full_page=True
    )
    draft.refresh_from_db()
    assert draft.status == Article.Status.DRAFT

    # Fixed as the message says, it publishes.
    page.locator("#sections-group textarea[name$='-body']").first.fill(
        "1. Go to the counter.\n2. Show your card."
    )
    page.get_by_role("button", name="Save and continue editing").click()
    page.locator(".messagelist .success").wait_for()
    draft.refresh_from_db()
    assert draft.status == Article.Status.PUBLISHED


def test_the_order_chosen_survives_a_form_shown_again_with_errors(demo_site, browser):
    page = publisher_form(browser, demo_site)
    before = shown_headings(page)
    page.locator(SECTIONS).first.locator(".order-move[data-move=down]").click()
    chosen = [before[1], before[0], *before[2:]]
    page.locator(f"{SECTIONS} input[name$='-heading']").last.fill("")  # an error
    page.get_by_label("Public change note:").fill("The steps are in a clearer order.")
    page.get_by_role("button", name="Save and continue editing").click()
    page.locator(".errornote").first.wait_for()

    shown = shown_headings(page)
    assert shown == [*chosen[:-1], ""]
    # Moving again starts from the order shown, not from the saved one.
    page.locator(SECTIONS).nth(1).locator(".order-move[data-move=up]").click()
    page.locator(f"{SECTIONS} input[name$='-heading']").last.fill(before[-1])
    save(page)
    assert saved_headings() == before


def test_a_view_only_user_gets_no_ordering_controls(demo_site, browser):
    from django.contrib.auth.models import Permission, User

    from tests.factories import STAFF_PASSWORD

    viewer = User.objects.create_user("viewer", password=STAFF_PASSWORD, is_staff=True)
    viewer.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_article", "view_section"])
    )
    page = open_change_form(browser, demo_site, 1280, username="viewer")
    page.get_by_role("button", name="Collapse all sections").wait_for()
    assert page.locator(".order-move").count() == 0
    assert page.locator(".order-hint").count() == 0
    # Not draggable either: sortable2 sets up only the groups still marked sortable.
    assert page.locator("fieldset.sortable").count() == 0
    page.get_by_role("button", name="Collapse all sections").click()
    assert not page.locator("#sections-group .inline-related fieldset").first.is_visible()


def test_on_a_phone_the_tables_fit_and_their_buttons_show(demo_site, browser):
    page = publisher_form(browser, demo_site, 400)
    for group in ("#citations-group", "#related_links-group"):
        table = page.locator(f"{group} .tabular").first
        scroll, width = table.evaluate("(element) => [element.scrollWidth, element.clientWidth]")
        assert scroll <= width, group
    button = page.locator("#citations-group .order-move:not([hidden])").first
    box = button.bounding_box()
    assert box["x"] + box["width"] <= 400


def test_a_laws_provisions_move_and_collapse_as_sections_do(demo_site, browser):
    from articles.models import Law

    law = Law.objects.filter(provisions__isnull=False).distinct().first()
    before = list(law.provisions.order_by("position", "pk").values_list("pk", flat=True))
    assert len(before) >= 2
    page = publisher_form(browser, demo_site)
    page.goto(f"{demo_site}/admin/articles/law/{law.pk}/change/")
    provisions = page.locator("#provisions-group .inline-related.has_original")
    moved = page.locator("#" + provisions.last.get_attribute("id"))
    moved.locator(".order-move[data-move=up]").click()
    status = page.locator("#provisions-group .order-status")
    assert f"moved to position {len(before) - 1} of {len(before)}" in status.inner_text()
    page.get_by_role("button", name="Collapse all Legal provisions").click()
    assert not moved.locator("textarea").first.is_visible()
    page.get_by_role("button", name="Save and continue editing").click()
    page.locator(".messagelist .success").wait_for()
    after = list(law.provisions.order_by("position", "pk").values_list("pk", flat=True))
    assert after == [*before[:-2], before[-1], before[-2]]
