"""Editors keep guides in Django admin: add and change, with every inline."""

from http import HTTPStatus

import pytest

from articles.models import Article, Law, LegalProvision, RelatedLink, Section
from tests.factories import (
    cite,
    make_article,
    make_category,
    make_draft,
    make_provision,
    make_section,
)
from tests.helpers import inline_data

pytestmark = pytest.mark.django_db


def _article_form(category, **overrides):
    data = {
        "title": "How to transfer a pension",
        "slug": "how-to-transfer-a-pension",
        "category": str(category.pk),
        "summary": "Move your pension when you change city.",
        "tags": "pension, transfer",
        "status": "published",
        "published_at_0": "2025-01-02",
        "published_at_1": "10:00:00",
        "previous_article": "",
        "next_article": "",
        "owner": "",
        "review_by": "",
        "edited_version": "",
    }
    data.update(overrides)
    return data


def test_editor_adds_a_guide_with_sections_citations_and_related(admin_client):
    category = make_category()
    provision = make_provision(label="Article 23")
    other = make_article()
    data = _article_form(category)
    data |= inline_data(
        "sections",
        [
            {"position": "1", "kind": "steps", "heading": "Steps", "body": "1. Apply\n2. Wait"},
            {"position": "2", "kind": "question", "heading": "Who pays?", "body": "The employer."},
        ],
    )
    data |= inline_data("citations", [{"provision": str(provision.pk), "position": "1"}])
    data |= inline_data("related_links", [{"to_article": str(other.pk), "position": "1"}])
    response = admin_client.post("/admin/articles/article/add/", data)
    assert response.status_code == HTTPStatus.FOUND, response.context["errors"]
    article = Article.objects.get(slug="how-to-transfer-a-pension")
    assert [s.heading for s in article.sections.all()] == ["Steps", "Who pays?"]
    assert "<ol>" in article.sections.first().body_html
    assert list(article.provisions.all()) == [provision]
    assert RelatedLink.objects.get(from_article=article).to_article == other
    assert sorted(article.tags.names()) == ["pension", "transfer"]


def test_editor_changes_a_step_and_the_public_page_shows_it(admin_client, client):
    article = make_article(tags=["card"])
    step = make_section(article, heading="Steps", body="1. Old step")
    article.refresh_from_db()
    data = _article_form(
        article.category,
        title=article.title,
        slug=article.slug,
        tags="card",
        edited_version=article.updated_at.isoformat(),
    )
    data |= inline_data(
        "sections",
        [
            {
                "id": str(step.pk),
                "article": str(article.pk),
                "position": "1",
                "kind": "steps",
                "heading": "Steps",
                "body": "1. New step",
            }
        ],
        initial=1,
    )
    data |= inline_data("citations", [])
    data |= inline_data("related_links", [])
    response = admin_client.post(f"/admin/articles/article/{article.pk}/change/", data)
    assert response.status_code == HTTPStatus.FOUND, response.context["errors"]
    article.refresh_from_db()
    page = client.get(article.get_absolute_url()).content.decode()
    assert "New step" in page and "Old step" not in page


def test_duplicate_section_headings_are_reported_not_crashed(admin_client):
    data = _article_form(make_category())
    row = {"position": "1", "kind": "text", "heading": "Same", "body": "x"}
    data |= (
        inline_data("sections", [row, row])
        | inline_data("citations", [])
        | inline_data("related_links", [])
    )
    response = admin_client.post("/admin/articles/article/add/", data)
    assert response.status_code == HTTPStatus.OK
    assert Section.objects.count() == 0
    assert "Please correct the duplicate data" in response.content.decode()


def test_changelist_filters_and_search(admin_client):
    article = make_article(title="Pension transfer", tags=["pension"])
    other = make_draft(title="Card renewal", tags=["card"])
    listed = admin_client.get("/admin/articles/article/")
    assert listed.status_code == HTTPStatus.OK
    assert {row.pk for row in listed.context["cl"].result_list} == {article.pk, other.pk}
    pension = article.tags.get()
    for query in [
        "?status__exact=published",
        f"?category__id__exact={article.category_id}",
        f"?tags__id__exact={pension.pk}",
        "?q=pension",
    ]:
        response = admin_client.get(f"/admin/articles/article/{query}")
        assert response.status_code == HTTPStatus.OK, query
        assert [row.pk for row in response.context["cl"].result_list] == [article.pk], query


def test_change_form_offers_view_on_site_and_autocomplete(admin_client):
    article = make_article()
    response = admin_client.get(f"/admin/articles/article/{article.pk}/change/")
    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    assert "View on site" in html
    assert "admin-autocomplete" in html
    found = admin_client.get(
        "/admin/autocomplete/",
        {
            "term": article.title[:8],
            "app_label": "articles",
            "model_name": "article",
            "field_name": "previous_article",
        },
    )
    assert found.status_code == HTTPStatus.OK
    assert str(article.pk) in {row["id"] for row in found.json()["results"]}


def test_editor_adds_a_law_with_provisions(admin_client):
    # Names and texts have a column per language (django-translated-fields).
    data = {
        "name_en": "Social Insurance Law of the PRC",
        "name_zh_hans": "中华人民共和国社会保险法",
        "short_name_en": "Social Insurance Law",
        "short_name_zh_hans": "",
        "slug": "social-insurance-law",
        "source_url": "",
        "authoritative_language": "zh-hans",
    }
    data |= inline_data(
        "provisions",
        [
            {
                "position": "23",
                "label_en": "Article 23",
                "text_en": "Employees should participate.",
            },
            {"position": "24", "label_en": "Article 24", "text_en": "The state establishes."},
        ],
    )
    response = admin_client.post("/admin/articles/law/add/", data)
    assert response.status_code == HTTPStatus.FOUND, response.context["errors"]
    law = Law.objects.get()
    assert [p.label for p in law.provisions.all()] == ["Article 23", "Article 24"]


def test_every_admin_list_and_add_page_opens(admin_client):
    article = make_article()
    cite(article, make_provision())
    for model in ["category", "article", "law", "legalprovision"]:
        assert admin_client.get(f"/admin/articles/{model}/").status_code == HTTPStatus.OK
        assert admin_client.get(f"/admin/articles/{model}/add/").status_code == HTTPStatus.OK
    provision = LegalProvision.objects.get()
    assert (
        admin_client.get(f"/admin/articles/legalprovision/{provision.pk}/change/").status_code
        == 200
    )


def test_anonymous_visitors_are_sent_to_the_login(client):
    response = client.get("/admin/articles/article/")
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize("query", ["%00", "%27%22", "%ED%A0%80", "a%00b"])
def test_hostile_admin_searches_are_harmless(admin_client, query):
    make_article()
    for model in ["article", "category", "law", "legalprovision", "promotedresult"]:
        response = admin_client.get(f"/admin/articles/{model}/?q={query}")
        assert response.status_code in {HTTPStatus.OK, HTTPStatus.BAD_REQUEST}
