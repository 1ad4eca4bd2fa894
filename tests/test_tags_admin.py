"""Tags in the admin: our own TagAdmin, changes for Publishers only, and renames
and merges that keep search and old addresses right."""

from http import HTTPStatus
from urllib.parse import quote

import pytest
from django.contrib import admin
from django.contrib.messages import get_messages
from django.contrib.redirects.models import Redirect
from django.urls import NoReverseMatch, reverse
from taggit.models import Tag, TaggedItem

from articles.admin_tags import TagAdmin, merge_tags
from articles.models import Article, ContentRevision
from articles.search import search
from tests.factories import make_article

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/taggit/tag/"


@pytest.fixture
def tagged():
    """Two published guides: one tagged “pensions”, one “pension” and “transfer”."""
    first = make_article(title="Moving house", tags=["pensions"])
    second = make_article(title="Changing jobs", tags=["pension", "transfer"])
    return first, second


def tags_state():
    return sorted(TaggedItem.objects.values_list("tag__name", "object_id"))


def found_titles(query):
    _, results = search(query)
    return sorted(hit.article.title for hit in results[0:10])


def tag_url(slug):
    return reverse("articles:tag", args=[slug])


def change_tag(client, tag, **fields):
    return client.post(
        f"{CHANGELIST}{tag.pk}/change/", {"name": tag.name, "slug": tag.slug} | fields
    )


def merge(client, tags, into):
    return client.post(
        CHANGELIST,
        {
            "action": "merge_selected",
            "_selected_action": [str(tag.pk) for tag in tags],
            "merge_into": into,
            "index": "0",
        },
    )


def test_taggits_admin_with_its_tagged_items_inline_and_merge_view_is_replaced():
    tag_admin = admin.site._registry[Tag]
    assert isinstance(tag_admin, TagAdmin)
    assert not tag_admin.inlines
    assert not admin.site.is_registered(TaggedItem)
    with pytest.raises(NoReverseMatch):
        reverse("admin:taggit_tag_merge_tags")


def test_an_editor_sees_tags_and_their_guide_counts_read_only(editor, tagged):
    response = editor.client.get(CHANGELIST)
    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    assert "pensions" in html and tag_url("pensions") in html
    assert [row.guide_count for row in response.context["cl"].result_list] == [1, 1, 1]
    assert "merge_into" not in html and 'name="_selected_action"' not in html
    pension = Tag.objects.get(name="pension")
    page = editor.client.get(f"{CHANGELIST}{pension.pk}/change/")
    assert page.status_code == HTTPStatus.OK
    assert page.context["has_change_permission"] is False
    assert "taggeditem" not in page.content.decode().lower()


def test_an_editor_cannot_rename_add_or_delete_a_tag(editor, tagged):
    pension = Tag.objects.get(name="pension")
    before = list(Tag.objects.values_list("pk", "name", "slug")), tags_state()
    renamed = change_tag(editor.client, pension, name="retirement", slug="retirement")
    added = editor.client.post(f"{CHANGELIST}add/", {"name": "new", "slug": "new"})
    deleted = editor.client.post(f"{CHANGELIST}{pension.pk}/delete/", {"post": "yes"})
    assert [r.status_code for r in (renamed, added, deleted)] == [HTTPStatus.FORBIDDEN] * 3
    assert (list(Tag.objects.values_list("pk", "name", "slug")), tags_state()) == before
    assert not Redirect.objects.exists()


def test_an_editor_cannot_merge_tags(editor, tagged):
    pensions, pension = Tag.objects.get(name="pensions"), Tag.objects.get(name="pension")
    before = list(Tag.objects.values_list("pk", "name", "slug")), tags_state()
    response = merge(editor.client, [pensions], into="pension")
    assert response.status_code in {HTTPStatus.OK, HTTPStatus.FOUND, HTTPStatus.FORBIDDEN}
    assert (list(Tag.objects.values_list("pk", "name", "slug")), tags_state()) == before
    assert not Redirect.objects.exists()
    # Nor through the old taggit address: it is no merge view any more.
    editor.client.post(f"{CHANGELIST}merge-tags/", {"new_tag_name": pension.name})
    assert (list(Tag.objects.values_list("pk", "name", "slug")), tags_state()) == before


def test_a_publisher_renames_a_tag_and_its_old_address_and_search_follow(publisher, client, tagged):
    pension = Tag.objects.get(name="pension")
    assert found_titles("retirement") == []
    response = change_tag(publisher.client, pension, name="retirement", slug="retirement")
    assert response.status_code == HTTPStatus.FOUND
    old = client.get(tag_url("pension"))
    assert old.status_code == HTTPStatus.MOVED_PERMANENTLY
    assert old["Location"] == tag_url("retirement")
    assert client.get(tag_url("retirement")).status_code == HTTPStatus.OK
    assert found_titles("retirement") == ["Changing jobs"]


def test_renames_from_the_shell_keep_addresses_free_of_chains_and_loops(client, tagged):
    tag = Tag.objects.get(name="pension")
    for slug in ["retirement", "old-age", "pension"]:
        tag.slug = slug
        tag.save()
    # Back at its first address: that page is live, the others lead straight to it.
    assert client.get(tag_url("pension")).status_code == HTTPStatus.OK
    for slug in ["retirement", "old-age"]:
        response = client.get(tag_url(slug))
        assert response.status_code == HTTPStatus.MOVED_PERMANENTLY
        assert response["Location"] == tag_url("pension")
    assert not Redirect.objects.filter(old_path=tag_url("pension")).exists()


def test_a_new_tag_takes_back_an_address_a_renamed_tag_left(client):
    make_article(title="Moving house", tags=["pension"])
    tag = Tag.objects.get(name="pension")
    tag.name, tag.slug = "retirement", "retirement"
    tag.save()
    make_article(title="Changing jobs", tags=["pension"])
    assert client.get(tag_url("pension")).status_code == HTTPStatus.OK


def test_a_publisher_cannot_give_a_tag_a_name_that_differs_only_in_case(publisher, tagged):
    pension = Tag.objects.get(name="pension")
    response = change_tag(publisher.client, pension, name="Pensions", slug="pensions-2")
    assert response.status_code == HTTPStatus.OK
    assert "merge into it" in str(response.context["adminform"].form.errors)
    assert Tag.objects.get(pk=pension.pk).name == "pension"


def test_a_publisher_merges_tags_into_one(publisher, client, tagged):
    first, second = tagged
    pensions, pension = Tag.objects.get(name="pensions"), Tag.objects.get(name="pension")
    second.tags.add("pensions")  # tagged with both: ends up tagged once
    assert 'name="merge_into"' in publisher.client.get(CHANGELIST).content.decode()
    ContentRevision.objects.all().delete()
    response = merge(publisher.client, [pensions, pension], into="Pension")
    assert response.status_code == HTTPStatus.FOUND
    assert not Tag.objects.filter(name="pensions").exists()
    assert sorted(first.tags.names()) == ["pension"]
    assert sorted(second.tags.names()) == ["pension", "transfer"]
    old = client.get(tag_url("pensions"))
    assert old.status_code == HTTPStatus.MOVED_PERMANENTLY
    assert old["Location"] == tag_url("pension")
    assert found_titles("pensions") == found_titles("pension") == ["Changing jobs", "Moving house"]
    assert ContentRevision.objects.exists()  # the content clock moved


def test_the_merge_is_reported_in_the_editors_language(publisher, tagged):
    pensions, transfer = Tag.objects.get(name="pensions"), Tag.objects.get(name="transfer")
    response = publisher.client.post(
        CHANGELIST,
        {
            "action": "merge_selected",
            "_selected_action": [str(pensions.pk), str(transfer.pk)],
            "merge_into": "pension",
            "index": "0",
        },
        headers={"Accept-Language": "zh-hans"},
        follow=True,
    )
    assert "已将 “pensions”、“transfer” 合并到“pension”：" in response.content.decode()


def test_merging_repoints_the_merged_tags_old_addresses(client, tagged):
    pensions = Tag.objects.get(name="pensions")
    pensions.slug = "pensions-renamed"
    pensions.save()
    merge_tags([pensions], Tag.objects.get(name="pension"))
    for slug in ["pensions", "pensions-renamed"]:
        response = client.get(tag_url(slug))
        assert response.status_code == HTTPStatus.MOVED_PERMANENTLY
        assert response["Location"] == tag_url("pension")


def test_a_merge_needs_an_existing_target(publisher, tagged):
    before = tags_state(), list(Tag.objects.values_list("pk", "name", "slug"))
    response = merge(publisher.client, list(Tag.objects.all()), into="no such tag")
    assert response.status_code == HTTPStatus.FOUND
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    assert shown == ["Type the name of an existing tag to merge into."]
    assert (tags_state(), list(Tag.objects.values_list("pk", "name", "slug"))) == before
    assert not Redirect.objects.exists()


def test_deleting_a_tag_updates_search_and_drops_redirects_to_it(publisher, client, tagged):
    transfer = Tag.objects.get(name="transfer")
    transfer.slug = "transfers"
    transfer.save()
    assert found_titles("transfer") == ["Changing jobs"]
    response = publisher.client.post(f"{CHANGELIST}{transfer.pk}/delete/", {"post": "yes"})
    assert response.status_code == HTTPStatus.FOUND
    assert found_titles("transfer") == []
    assert client.get(tag_url("transfer")).status_code == HTTPStatus.NOT_FOUND
    assert Article.objects.get(title="Changing jobs").tags.names()[0] == "pension"


def test_tags_in_any_script_or_with_no_letters_have_working_pages(client):
    guide = make_article(title="Social security card", tags=["社保", "---", "pensions"])
    page = client.get(guide.get_absolute_url())
    assert page.status_code == HTTPStatus.OK
    for tag in Tag.objects.all():
        assert tag.slug.strip("-_"), tag.name
        url = tag_url(tag.slug)
        assert f'href="{url}"' in page.content.decode()
        tag_page = client.get(url)
        assert tag_page.status_code == HTTPStatus.OK, url
        assert "Social security card" in tag_page.content.decode()
    assert tag_url("社保") == "/en/tags/%E7%A4%BE%E4%BF%9D/"
    assert client.get("/sitemap-tags.xml").status_code == HTTPStatus.OK


def test_a_tag_an_editor_adds_to_a_draft_leaves_a_renamed_tags_redirect(client, tagged):
    pension = Tag.objects.get(name="pension")
    pension.name, pension.slug = "retirement", "retirement"
    pension.save()
    make_article(title="A draft", status=Article.Status.DRAFT, published_at=None, tags=["pension"])
    old = client.get(tag_url("pension"))
    assert old.status_code == HTTPStatus.MOVED_PERMANENTLY
    assert old["Location"] == tag_url("retirement")


def test_a_publisher_renames_a_chinese_tag_and_its_address_follows(publisher, client):
    guide = make_article(language="zh-hans", slug="医保卡激活", tags=["医保卡"])
    tag = guide.tags.get()
    listing = publisher.client.get("/admin/taggit/tag/").content.decode()
    # The tag's public page is where its guides are: in Chinese only.
    assert f'href="/zh-hans/tags/{quote("医保卡")}/"' in listing
    assert f'href="/en/tags/{quote("医保卡")}/"' not in listing
    response = publisher.client.post(
        f"/admin/taggit/tag/{tag.pk}/change/", {"name": "医保电子凭证", "slug": "医保电子凭证"}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    old = client.get(f"/zh-hans/tags/{quote('医保卡')}/")
    assert old.status_code == 301
    assert old["Location"] == f"/zh-hans/tags/{quote('医保电子凭证')}/"
