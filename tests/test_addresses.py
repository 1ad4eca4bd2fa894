"""Stable addresses: old URLs answer 301 to the current one, removed guides 410."""

from http import HTTPStatus

import pytest
from django.contrib.redirects.models import Redirect

from articles.models import Article
from tests.factories import make_article, make_category, make_draft

pytestmark = pytest.mark.django_db


def lands_on(client, path):
    response = client.get(path)
    assert response.status_code == HTTPStatus.MOVED_PERMANENTLY, (path, response.status_code)
    return response["Location"]


@pytest.fixture
def guide():
    return make_article(category=make_category(slug="pensions"), slug="transfer-a-pension")


def test_a_renamed_guide_redirects_from_every_old_address_without_chains(client, guide):
    first = guide.get_absolute_url()
    for slug in ["move-a-pension", "pension-transfer", "pension-moves"]:
        guide.slug = slug
        guide.save()
    current = guide.get_absolute_url()
    assert client.get(current).status_code == HTTPStatus.OK
    for old in [first, "/en/pensions/move-a-pension/", "/en/pensions/pension-transfer/"]:
        assert lands_on(client, old) == current
    assert not Redirect.objects.filter(old_path=current).exists()


def test_moving_a_guide_to_another_category(client, guide):
    old = guide.get_absolute_url()
    guide.category = make_category(slug="retirement")
    guide.save()
    assert lands_on(client, old) == "/en/retirement/transfer-a-pension/"


def test_renaming_a_category_redirects_it_and_its_guides(client, guide):
    category = guide.category
    category.slug = "old-age"
    category.save()
    assert lands_on(client, "/en/pensions/") == "/en/old-age/"
    assert lands_on(client, "/en/pensions/transfer-a-pension/") == "/en/old-age/transfer-a-pension/"
    category.slug = "retirement"
    category.save()
    assert (
        lands_on(client, "/en/pensions/transfer-a-pension/") == "/en/retirement/transfer-a-pension/"
    )
    assert (
        lands_on(client, "/en/old-age/transfer-a-pension/") == "/en/retirement/transfer-a-pension/"
    )


def test_going_back_to_an_old_address_is_not_a_loop(client, guide):
    original = guide.get_absolute_url()
    guide.slug = "new-name"
    guide.save()
    guide.slug = "transfer-a-pension"
    guide.save()
    assert client.get(original).status_code == HTTPStatus.OK
    assert lands_on(client, "/en/pensions/new-name/") == original


def test_a_deleted_guide_is_gone(client, guide):
    old = guide.get_absolute_url()
    guide.slug = "renamed"
    guide.save()
    guide.delete()
    for path in [old, "/en/pensions/renamed/"]:
        response = client.get(path)
        assert response.status_code == HTTPStatus.GONE
        assert "This guide has been removed" in response.content.decode()


def test_drafts_leave_no_redirects(client):
    draft = make_draft(category=make_category(slug="c"), slug="before")
    draft.slug = "after"
    draft.save()
    draft.delete()
    assert not Redirect.objects.exists()
    assert client.get("/en/c/before/").status_code == HTTPStatus.NOT_FOUND


def test_unpublished_guides_are_not_found_but_may_return(client, guide):
    path = guide.get_absolute_url()
    guide.status = Article.Status.DRAFT
    guide.save()
    assert client.get(path).status_code == HTTPStatus.NOT_FOUND
    guide.status = Article.Status.PUBLISHED
    guide.save()
    assert client.get(path).status_code == HTTPStatus.OK


@pytest.mark.parametrize(
    ("variant", "target"),
    [
        ("/en/pensions/transfer-a-pension", "/en/pensions/transfer-a-pension/"),
        ("/en/Pensions/Transfer-A-Pension/", "/en/pensions/transfer-a-pension/"),
        ("/en/PENSIONS/", "/en/pensions/"),
        ("/en/Pensions/Transfer-A-Pension/?utm=x", "/en/pensions/transfer-a-pension/?utm=x"),
    ],
)
def test_address_variants_redirect_to_the_canonical_form(client, guide, variant, target):
    response = client.get(variant)
    assert response.status_code == HTTPStatus.MOVED_PERMANENTLY
    assert response["Location"] == target


def test_editors_add_manual_redirects_in_the_admin(admin_client, client, guide):
    response = admin_client.post(
        "/admin/redirects/redirect/add/",
        {"site": "1", "old_path": "/en/old-campaign/", "new_path": guide.get_absolute_url()},
    )
    assert response.status_code == HTTPStatus.FOUND
    assert lands_on(client, "/en/old-campaign/") == guide.get_absolute_url()
