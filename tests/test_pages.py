"""Every public page: status, key content, and no private guide leaking."""

from datetime import timedelta
from http import HTTPStatus

import pytest
from django.utils import timezone

from tests.factories import (
    cite,
    make_article,
    make_category,
    make_draft,
    make_provision,
    make_section,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def guide():
    category = make_category(name="Social security inquiry", slug="social-security-inquiry")
    article = make_article(
        category=category,
        title="How to activate a card",
        slug="how-to-activate-a-card",
        summary="Activate your card in eight steps.",
        tags=["card", "activation"],
    )
    make_section(article, heading="Steps", body="1. Open the app\n2. Click **More**")
    make_section(article, heading="How to handle the card?", kind="procedure", body="1. Go\n2. Ask")
    cite(article, make_provision(label="Article 23", text="Employees should participate."))
    return article


def test_home_lists_categories_with_public_counts_and_latest_guides(client, guide):
    make_draft(category=guide.category, title="Secret draft")
    make_article(
        category=guide.category,
        title="Future guide",
        published_at=timezone.now() + timedelta(days=1),
    )
    response = client.get("/en/")
    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    assert "Social security inquiry" in html and "1 guide<" in html
    assert "How to activate a card" in html
    assert "Secret draft" not in html and "Future guide" not in html


def test_article_page_shows_every_part(client, guide):
    response = client.get("/en/social-security-inquiry/how-to-activate-a-card/")
    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    assert '<nav class="breadcrumb wrap" aria-label="Breadcrumb">' in html
    assert '<a href="/en/social-security-inquiry/">Social security inquiry</a>' in html
    assert "<h1>How to activate a card</h1>" in html
    assert '<meta name="description" content="Activate your card in eight steps.">' in html
    assert '<a href="#steps">Steps</a>' in html and '<a href="#legal-basis">Legal basis</a>' in html
    assert "<li>Click <strong>More</strong></li>" in html
    assert "section--procedure" in html
    assert "Article 23" in html and "Employees should participate." in html
    assert '<a href="/en/tags/card/">card</a>' in html
    assert "Published <time" in html and "<summary>See all updates</summary>" in html


def test_wrong_category_in_the_address_redirects_permanently(client, guide):
    response = client.get("/en/other/how-to-activate-a-card/")
    assert response.status_code == HTTPStatus.MOVED_PERMANENTLY
    assert response["Location"] == guide.get_absolute_url()


@pytest.mark.parametrize("kind", ["draft", "future"])
def test_private_guides_are_not_found(client, kind):
    category = make_category(slug="c")
    if kind == "draft":
        make_draft(category=category, slug="hidden")
    else:
        make_article(
            category=category, slug="hidden", published_at=timezone.now() + timedelta(hours=1)
        )
    assert client.get("/en/c/hidden/").status_code == HTTPStatus.NOT_FOUND
    assert "/en/c/hidden/" not in client.get("/en/c/").content.decode()


def test_category_page_lists_only_its_public_guides(client, guide):
    make_article(title="Elsewhere")
    make_draft(category=guide.category, title="Draft here")
    response = client.get("/en/social-security-inquiry/")
    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    assert "How to activate a card" in html
    assert "Elsewhere" not in html and "Draft here" not in html


def test_category_pages_paginate_and_keep_other_parameters(client):
    category = make_category(slug="many")
    for _ in range(45):
        make_article(category=category)
    first = client.get("/en/many/?utm=x").content.decode()
    assert "Page 1 of 3" in first and 'href="?utm=x&amp;page=2"' in first
    assert client.get("/en/many/?page=2").status_code == HTTPStatus.OK


@pytest.mark.parametrize("page", ["abc", "-1", "0", "99999", "1.5", "%00", "last%27"])
def test_bad_page_numbers_are_not_found(client, guide, page):
    response = client.get(f"/en/social-security-inquiry/?page={page}")
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert "Page not found" in response.content.decode()


def test_tag_page_lists_public_guides_only(client, guide):
    response = client.get("/en/tags/card/")
    assert response.status_code == HTTPStatus.OK
    assert "How to activate a card" in response.content.decode()
    make_draft(tags=["secret-tag"])
    assert client.get("/en/tags/secret-tag/").status_code == HTTPStatus.NOT_FOUND
    assert client.get("/en/tags/no-such-tag/").status_code == HTTPStatus.NOT_FOUND
    assert client.get("/en/tags/card/?page=7").status_code == HTTPStatus.NOT_FOUND


def test_law_pages_show_provisions_and_the_public_guides_citing_them(client, guide):
    provision = guide.provisions.get()
    cite(make_draft(title="Draft citing"), provision)
    law_list = client.get("/en/laws/")
    assert law_list.status_code == HTTPStatus.OK
    assert provision.law.name in law_list.content.decode()
    response = client.get(provision.law.get_absolute_url())
    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    assert "Article 23" in html and "Employees should participate." in html
    assert f'href="{guide.get_absolute_url()}"' in html
    assert "Draft citing" not in html
    assert client.get("/en/laws/no-such-law/").status_code == HTTPStatus.NOT_FOUND


@pytest.mark.parametrize(
    "path",
    [
        "/en/no-such-topic/",
        "/en/no-such-topic/no-such-guide/",
        "/en/social-security-inquiry/no-such-guide/",
        "/en/%E2%80%AE%F0%9F%98%80/",
        "/en/a/b/c/d/",
        "/en/..%2F..%2Fetc%2Fpasswd/",
        "/en/tags/%3Cscript%3E/",
    ],
)
def test_unknown_addresses_get_the_styled_404(client, guide, path):
    response = client.get(path)
    assert response.status_code == HTTPStatus.NOT_FOUND
    html = response.content.decode()
    assert "<h1>Page not found</h1>" in html and 'class="site-header"' in html
    assert "<script>" not in html


def test_an_admin_change_is_visible_at_once(client, guide):
    url = guide.get_absolute_url()
    assert "Open the app" in client.get(url).content.decode()
    section = guide.sections.get(heading="Steps")
    section.body = "1. Open the new app"
    section.save()
    assert "Open the new app" in client.get(url).content.decode()


def test_a_provision_cited_by_many_guides_lists_the_first_fifty(client):
    provision = make_provision()
    for n in range(53):
        cite(make_article(title=f"Guide {n:02d}"), provision)
    html = client.get(provision.law.get_absolute_url()).content.decode()
    assert "Guide 49" in html and "Guide 50" not in html
    assert "The first 50 of 53 guides that cite it, by title." in html
