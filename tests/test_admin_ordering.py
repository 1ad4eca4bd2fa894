"""Order of a guide's sections, citations and related guides on its change form
(django-admin-sortable2 with articles.admin.OrderedFormSet): the order a browser
posts is saved and shown to citizens; a row added goes last; the roles hold for an
order change as for any edit; the form's boxes are named for screen readers.
The dragging and the Move buttons are tested in tests/browser/test_editor_ordering.py."""

import pytest
from django.urls import reverse

from articles.models import Citation, RelatedLink
from tests.factories import (
    cite,
    make_article,
    make_draft,
    make_law,
    make_provision,
    make_section,
    make_staff_member,
)
from tests.helpers import change_form, inline_data

pytestmark = pytest.mark.django_db

STEPS = "1. Open the app.\n2. Tap the card."


def guide_with_sections(make=make_article, **fields):
    guide = make(**fields)
    for position, heading in enumerate(["First", "Second", "Third"], start=1):
        make_section(guide, heading=heading, position=position, kind="steps", body=STEPS)
    return guide


def url(guide):
    return reverse("admin:articles_article_change", args=[guide.pk])


def headings(guide):
    return list(guide.sections.order_by("position", "pk").values_list("heading", flat=True))


def reordered(guide, order, **overrides):
    """The change form as ordering.js posts it: the sections renumbered 1…n in `order`."""
    data = change_form(guide, **overrides)
    for index in range(guide.sections.count()):
        heading = data[f"sections-{index}-heading"]
        data[f"sections-{index}-position"] = str(order.index(heading) + 1)
    return data


def test_the_order_posted_is_saved_and_citizens_see_it(client):
    publisher = make_staff_member("Publisher")
    guide = guide_with_sections()
    data = reordered(guide, ["Third", "First", "Second"], major_change="", change_note="")
    response = publisher.client.post(url(guide), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    assert headings(guide) == ["Third", "First", "Second"]
    page = client.get(guide.get_absolute_url()).content.decode()
    assert page.index("Third") < page.index("First") < page.index("Second")


def test_the_order_is_a_number_field_the_script_manages():
    editor = make_staff_member("Editor")
    guide = guide_with_sections(make=make_draft)
    page = editor.client.get(url(guide)).content.decode()
    # A number, so it can be typed with JavaScript off; ordering.js renumbers and hides it.
    assert 'type="number" name="sections-0-position" value="1" class="_reorder_" min="0"' in page
    assert 'class="module sortable"' in page
    assert "adminsortable2/js/adminsortable2" in page
    assert "articles/admin/ordering.js" in page


def test_a_section_added_goes_last(client):
    editor = make_staff_member("Editor")
    guide = guide_with_sections(make=make_draft)
    data = change_form(guide)
    data |= {
        "sections-TOTAL_FORMS": "4",
        "sections-3-position": "0",  # as the new row's number field starts
        "sections-3-kind": "text",
        "sections-3-heading": "Fourth",
        "sections-3-body": "More.",
    }
    assert editor.client.post(url(guide), data).status_code == 302
    assert headings(guide) == ["First", "Second", "Third", "Fourth"]
    assert guide.sections.get(heading="Fourth").position == 4


def in_reverse(prefix, rows, **fields):
    """The inline `prefix` posted with its saved `rows` numbered last to first; a
    field's value is the guide's id, or the name of the row attribute holding it."""
    return inline_data(
        prefix,
        [
            {
                "id": str(row.pk),
                "position": str(len(rows) - index),
                **{
                    name: str(getattr(row, value) if isinstance(value, str) else value)
                    for name, value in fields.items()
                },
            }
            for index, row in enumerate(rows)
        ],
        initial=len(rows),
    )


def test_citations_and_related_guides_keep_the_order_posted():
    publisher = make_staff_member("Publisher")
    guide = guide_with_sections()
    provisions = [make_provision() for _ in range(2)]
    for position, provision in enumerate(provisions, start=1):
        cite(guide, provision, position=position)
    others = [make_article(category=guide.category) for _ in range(2)]
    for position, other in enumerate(others, start=1):
        RelatedLink.objects.create(from_article=guide, to_article=other, position=position)
    citations = list(guide.citations.order_by("position"))
    links = list(guide.related_links.order_by("position"))

    data = change_form(guide, major_change="", change_note="")
    data |= in_reverse("citations", citations, article=guide.pk, provision="provision_id")
    data |= in_reverse("related_links", links, from_article=guide.pk, to_article="to_article_id")
    response = publisher.client.post(url(guide), data)
    assert response.status_code == 302
    assert list(Citation.objects.filter(article=guide).order_by("position")) == citations[::-1]
    assert list(guide.related_links.order_by("position")) == links[::-1]


def test_an_editor_cannot_reorder_a_public_guide():
    # The order is part of the guide: the role rules of any edit hold for it.
    editor = make_staff_member("Editor")
    guide = guide_with_sections()
    before = headings(guide)
    data = reordered(guide, ["Third", "Second", "First"], major_change="", change_note="")
    response = editor.client.post(url(guide), data)
    assert "only a Publisher can change it" in response.content.decode()
    assert headings(guide) == before


def test_the_tables_name_every_header_and_delete_box():
    publisher = make_staff_member("Publisher")
    guide = guide_with_sections()
    provision = make_provision()
    cite(guide, provision)
    other = make_article(category=guide.category, title="How to renew a card")
    RelatedLink.objects.create(from_article=guide, to_article=other)
    page = publisher.client.get(url(guide)).content.decode()
    assert '<th class="original"><span class="visually-hidden">Saved as</span></th>' in page
    assert '<th class="original"></th>' not in page
    assert f'aria-label="Delete “{provision}”"' in page
    assert 'aria-label="Delete “How to renew a card”"' in page
    # A related guide is shown by its title, not by ids.
    assert str(guide.related_links.get()) == "How to renew a card"
    # An empty autocomplete box says which field it is.
    assert 'data-placeholder="Owner: none chosen"' in page


def test_a_citation_or_related_guide_costs_one_query_per_box():
    """Django's autocomplete box looks up the value chosen in it: one query per row,
    and nothing more (names and the provision's law come with the rows)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    publisher = make_staff_member("Publisher")
    guide = guide_with_sections()

    def count_queries():
        with CaptureQueriesContext(connection) as queries:
            assert publisher.client.get(url(guide)).status_code == 200
        return len(queries)

    cite(guide, make_provision())
    RelatedLink.objects.create(from_article=guide, to_article=make_article())
    few = count_queries()
    for position in range(2, 6):
        cite(guide, make_provision(), position=position)
        RelatedLink.objects.create(from_article=guide, to_article=make_article(), position=position)
    assert count_queries() == few + 4 * 2


def test_an_order_cleared_by_hand_is_an_error_not_a_crash():
    # With JavaScript off the order is a number field an editor can empty.
    editor = make_staff_member("Editor")
    guide = guide_with_sections(make=make_draft)
    data = change_form(guide, **{"sections-1-position": ""})
    response = editor.client.post(url(guide), data)
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert headings(guide) == ["First", "Second", "Third"]


def test_the_markdown_preview_shows_the_sections_as_the_form_has_them():
    editor = make_staff_member("Editor")
    guide = guide_with_sections(make=make_draft)
    data = reordered(guide, ["Third", "First", "Second"])
    data |= {
        "sections-0-DELETE": "on",  # "First", ticked for deletion
        "sections-__prefix__-heading": "",  # the blank template row
        "sections-__prefix__-body": "",
        "sections-12-heading": "Twelfth",  # a row past the tenth sorts by number
        "sections-12-body": "Text.",
        "sections-12-position": "9",
        "sections-x1-body": "Hostile.",
        "sections-１-body": "Hostile.",  # a full-width digit
    }
    preview = reverse("admin:articles_article_markdown_preview")
    response = editor.client.post(preview, data)
    assert response.status_code == 200
    page = response.content.decode()
    shown = [heading for heading in ["Third", "First", "Second", "Twelfth"] if heading in page]
    assert sorted(shown, key=page.index) == ["Third", "Second", "Twelfth"]
    assert "(no heading)" not in page and "Hostile." not in page

    # Numbers too long to be orders or rows are no crash.
    hostile = {"sections-" + "9" * 5000 + "-body": "Hostile.", "sections-2-position": "9" * 5000}
    response = editor.client.post(preview, data | hostile)
    assert response.status_code < 500


def test_a_laws_provisions_are_ordered_the_same_way(client):
    publisher = make_staff_member("Publisher")
    law = make_law(name_en="Social Insurance Law of the PRC", slug="social-insurance")
    provisions = [
        make_provision(law, label_en=label, position=position)
        for position, label in enumerate(["Article 1", "Article 2", "Article 3"], start=1)
    ]
    change = reverse("admin:articles_law_change", args=[law.pk])
    page = publisher.client.get(change).content.decode()
    assert 'class="module sortable"' in page and "articles/admin/ordering.js" in page
    assert 'id="editor-guidance"' in page  # the buttons' texts
    # The order within the law (the model's ordering starts with the law itself).
    assert 'type="number" name="provisions-0-position" value="1" class="_reorder_"' in page

    data = {
        "name_en": law.name_en,
        "name_zh_hans": "",
        "short_name_en": law.short_name_en,
        "short_name_zh_hans": "",
        "slug": law.slug,
        "source_url": "",
        "authoritative_language": "",
    }
    data |= in_reverse("provisions", provisions, law=law.pk)
    for index, provision in enumerate(provisions):
        data |= {
            f"provisions-{index}-label_en": provision.label_en,
            f"provisions-{index}-text_en": provision.text_en,
        }
    response = publisher.client.post(change, data)
    assert response.status_code == 302, response.context and response.context["errors"]
    order = list(law.provisions.order_by("position").values_list("label_en", flat=True))
    assert order == ["Article 3", "Article 2", "Article 1"]
    public = client.get(law.get_absolute_url()).content.decode()
    assert public.index("Article 3") < public.index("Article 2") < public.index("Article 1")
