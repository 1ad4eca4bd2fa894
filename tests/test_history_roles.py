"""Roles hold on every history path (revert, recover, restore from a comparison) and
in bulk actions, and the admin's read-only pages take no write lock (issue 9).

Each attack runs as an Editor, the weakest role (one as a Publisher, who may still
not delete provisions), and shows the attempt refused with the database unchanged."""

import sqlite3
from datetime import timedelta
from http import HTTPStatus

import pytest
import reversion
from django.contrib.auth.models import Permission, User
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.utils import timezone
from reversion.models import Revision, Version
from taggit.models import Tag

from articles.models import Article, Category, Law, LegalProvision, Section
from articles.versioning import revision_tags
from articles.workflow import prepare_draft_revision, publish, set_status
from tests.factories import (
    make_article,
    make_category,
    make_draft,
    make_law,
    make_provision,
    make_section,
)
from tests.helpers import inline_data

GUIDES = "/admin/articles/article/"


def snapshot(user, *objects, comment="Saved"):
    """One revision holding `objects` (and what each follows), as an admin save, a
    bulk action or an import would record it."""
    with reversion.create_revision():
        reversion.set_user(user)
        reversion.set_comment(comment)
        for obj in objects:
            reversion.add_to_revision(obj)
    return Revision.objects.order_by("-pk").first()


def version_in(revision, obj):
    return Version.objects.get_for_object(obj).get(revision=revision)


def saved_with(version, model, **fields):
    """Field values of the `model` objects saved in `version`'s revision."""
    return [
        v.field_dict
        for v in version.revision.version_set.all()
        if v.content_type.model_class() is model
        and all(v.field_dict[name] == value for name, value in fields.items())
    ]


def revert_form(version):
    """The revert (or recover) form of a guide at `version` as a browser posts it
    back: the revision's own values, as reversion's form shows them."""
    saved, guide_pk = version.field_dict, int(version.object_id)
    sections = saved_with(version, Section, article_id=guide_pk)
    data = {
        "title": saved["title"],
        "slug": saved["slug"],
        "category": str(saved["category_id"]),
        "summary": saved["summary"],
        "tags": ", ".join(revision_tags(version)),
        "status": saved["status"],
        "published_at_0": "",
        "published_at_1": "",
        "previous_article": "",
        "next_article": "",
        "owner": "",
        "review_by": "",
        "edited_version": saved["updated_at"].isoformat(),
    }
    if saved["published_at"]:
        data["published_at_0"] = saved["published_at"].strftime("%Y-%m-%d")
        data["published_at_1"] = saved["published_at"].strftime("%H:%M:%S")
    rows = [
        {"id": str(s["id"]), "article": str(guide_pk), "position": str(s["position"])}
        | {name: s[name] for name in ["kind", "heading", "body"]}
        for s in sections
    ]
    data |= inline_data("sections", rows, initial=len(rows))
    return data | inline_data("citations", []) | inline_data("related_links", [])


def law_form(version):
    saved, law_pk = version.field_dict, int(version.object_id)
    rows = [
        {"id": str(p["id"]), "law": str(law_pk), "position": str(p["position"])}
        | {name: p[name] for name in [*LegalProvision.label.fields, *LegalProvision.text.fields]}
        for p in saved_with(version, LegalProvision, law_id=law_pk)
    ]
    fields = [*Law.name.fields, *Law.short_name.fields, "slug", "source_url"]
    data = {name: saved[name] or "" for name in fields + ["authoritative_language"]}
    return data | inline_data("provisions", rows, initial=len(rows))


def revert_url(model_path, obj, version):
    return f"/admin/articles/{model_path}/{obj.pk}/history/{version.pk}/"


def messages_shown(response):
    """The admin messages the response left for the next page."""
    return " ".join(str(m) for m in get_messages(response.wsgi_request))


def state(guide):
    """What citizens and editors would notice changing about a guide."""
    row = Article.objects.filter(pk=guide.pk).first()
    if row is None:
        return None
    return (row.title, row.status, row.published_at, list(row.sections.values_list("body")))


# Revert from History (also the target of "Revert to this version" on a comparison).


def test_an_editor_cannot_revert_a_live_guide_to_its_first_draft(editor, publisher):
    editor_user, staff = editor
    publisher_user, _ = publisher
    guide = make_draft(title="Card guide", owner=editor_user)
    make_section(guide, heading="Steps", body="1. Draft step")
    first_draft = version_in(snapshot(editor_user, guide), guide)
    publish(guide, publisher_user)
    snapshot(publisher_user, guide, comment="Published")
    before, versions = state(guide), Version.objects.count()
    url = revert_url("article", guide, first_draft)

    posted = staff.post(url, revert_form(first_draft))

    assert state(guide) == before and Version.objects.count() == versions
    assert Client().get(guide.get_absolute_url()).status_code == HTTPStatus.OK
    assert posted.status_code == HTTPStatus.FOUND
    assert posted["Location"] == f"{GUIDES}{guide.pk}/history/"
    assert "only a Publisher can change it" in messages_shown(posted)
    # The form is refused too, before reversion writes the old version to show it.
    assert staff.get(url).status_code == HTTPStatus.FOUND


def test_reverting_a_draft_cannot_bring_back_the_rest_of_its_revision(editor, publisher):
    """A bulk action or an import saved a draft, a live guide and a law together:
    reverting the draft would republish the guide archived since and restore the
    law's old wording."""
    editor_user, staff = editor
    publisher_user, _ = publisher
    draft = make_draft(title="Draft, first wording", owner=editor_user)
    live = make_article(title="Live then, archived since")
    law = make_law(short_name="Social Insurance Law")
    provision = make_provision(law, text="Old wording.")
    together = snapshot(publisher_user, draft, live, law, comment="Imported")
    set_status(live, publisher_user, Article.Status.ARCHIVED)
    provision.text = "Amended wording."
    provision.save()
    draft.title = "Draft, second wording"
    draft.save()
    snapshot(editor_user, draft)
    before, versions = state(live), Version.objects.count()

    old_draft = version_in(together, draft)
    response = staff.post(revert_url("article", draft, old_draft), revert_form(old_draft))

    assert state(live) == before and state(live)[1] == Article.Status.ARCHIVED
    assert LegalProvision.objects.get(pk=provision.pk).text == "Amended wording."
    assert Article.objects.get(pk=draft.pk).title == "Draft, second wording"
    assert Version.objects.count() == versions
    assert response.status_code == HTTPStatus.FOUND
    message = messages_shown(response)
    assert "Live then, archived since" in message and "Social Insurance Law" in message


@pytest.mark.parametrize("model_path", ["category", "law", "legalprovision"])
def test_an_editor_cannot_revert_topics_laws_or_provisions(editor, publisher, model_path):
    _, staff = editor
    publisher_user, _ = publisher
    obj = {
        "category": lambda: make_category(name="Pensions"),
        "law": lambda: make_law(name="Pensions Law"),
        "legalprovision": lambda: make_provision(label="Article 1", text="Old wording."),
    }[model_path]()
    old = version_in(snapshot(publisher_user, obj), obj)
    field = "text" if model_path == "legalprovision" else "name"
    setattr(obj, field, "Changed by a Publisher")
    obj.save()
    snapshot(publisher_user, obj)
    versions = Version.objects.count()

    response = staff.post(revert_url(model_path, obj, old), old.field_dict)

    obj.refresh_from_db()
    assert getattr(obj, field) == "Changed by a Publisher"
    assert Version.objects.count() == versions
    assert response.status_code == HTTPStatus.FOUND
    assert "you may not change" in messages_shown(response)


def test_a_version_is_only_reverted_through_its_own_model_admin(publisher):
    publisher_user, staff = publisher
    guide = make_draft()
    version = version_in(snapshot(publisher_user, guide), guide)
    if not Category.objects.filter(pk=guide.pk).exists():
        make_category(pk=guide.pk)  # the URL then names a real category
    response = staff.get(f"/admin/articles/category/{guide.pk}/history/{version.pk}/")
    assert response.status_code == HTTPStatus.NOT_FOUND


# Recover deleted.


def test_an_editor_cannot_recover_a_deleted_live_guide(editor, publisher):
    _, staff = editor
    publisher_user, _ = publisher
    guide = make_article(title="Deleted on purpose")
    make_section(guide)
    snapshot(publisher_user, guide)
    guide_pk = guide.pk
    guide.delete()
    version = Version.objects.get_deleted(Article).get()
    assert "Deleted on purpose" in staff.get(f"{GUIDES}recover/").content.decode()

    response = staff.post(f"{GUIDES}recover/{version.pk}/", revert_form(version))

    assert not Article.objects.filter(pk=guide_pk).exists()
    assert not Section.objects.filter(article_id=guide_pk).exists()
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == f"{GUIDES}recover/"
    assert "Only a Publisher can publish" in messages_shown(response)


def test_recovering_a_published_draft_revision_cannot_strip_the_live_guide(editor, publisher):
    """A published draft revision's sections now belong to the guide it replaced:
    recovering the deleted draft would move them off the live page."""
    editor_user, staff = editor
    publisher_user, _ = publisher
    live = make_article(title="Pension rules")
    make_section(live, heading="Steps", body="1. Old rule")
    draft = prepare_draft_revision(live, editor_user)
    step = draft.sections.get()
    step.body = "1. New rule"
    step.save()
    snapshot(editor_user, draft)
    publish(draft, publisher_user)
    version = Version.objects.get_deleted(Article).get()
    before = state(live)

    response = staff.post(f"{GUIDES}recover/{version.pk}/", revert_form(version))

    assert state(live) == before and before[3] == [("1. New rule",)]
    assert not Article.objects.filter(pk=draft.pk).exists()
    assert response.status_code == HTTPStatus.FOUND
    assert "Pension rules" in messages_shown(response)


def test_a_publisher_cannot_delete_provisions_by_reverting_a_law(publisher):
    """Reverting deletes what was added since; the change form lets nobody but a
    superuser delete provisions, since guides cite them."""
    publisher_user, staff = publisher
    law = make_law()
    make_provision(law, label="Article 1")
    old = version_in(snapshot(publisher_user, law), law)
    added = make_provision(law, label="Article 2")
    response = staff.post(revert_url("law", law, old), law_form(old))
    assert LegalProvision.objects.filter(pk=added.pk).exists()
    assert "added since, would be deleted" in messages_shown(response)


def test_a_revision_pointing_at_a_deleted_tag_is_refused_not_a_server_error(publisher):
    publisher_user, staff = publisher
    guide = make_draft(tags=["old name"])
    old = version_in(snapshot(publisher_user, guide), guide)
    Tag.objects.get(name="old name").delete()  # as a merge into another tag does
    response = staff.post(revert_url("article", guide, old), revert_form(old))
    assert response.status_code == HTTPStatus.FOUND
    assert "its tag no longer exists" in messages_shown(response)
    assert not guide.tags.exists()


def test_a_scheduled_guide_keeps_its_time_when_an_editor_reverts_a_draft(editor, publisher):
    """Publish times stay a Publisher's: an Editor's revert may not bring one back."""
    editor_user, staff = editor
    publisher_user, _ = publisher
    draft = make_draft(owner=editor_user)
    draft.published_at = timezone.now() + timedelta(days=3)
    draft.save()
    planned = version_in(snapshot(publisher_user, draft), draft)
    draft.published_at = None
    draft.save()
    response = staff.post(revert_url("article", draft, planned), revert_form(planned))
    assert Article.objects.get(pk=draft.pk).published_at is None
    assert "only a Publisher can change its publish time" in messages_shown(response)


# What stays allowed.


def test_a_publisher_reverts_a_live_guide(publisher):
    publisher_user, staff = publisher
    guide = make_draft(title="First title")
    make_section(guide, heading="Steps", body="1. First step")
    publish(guide, publisher_user)
    first = version_in(snapshot(publisher_user, guide), guide)
    guide.title = "Second title"
    guide.save()
    snapshot(publisher_user, guide)

    response = staff.post(revert_url("article", guide, first), revert_form(first))

    assert response.status_code == HTTPStatus.FOUND, messages_shown(response)
    guide.refresh_from_db()
    assert guide.title == "First title" and guide.is_published()
    assert Version.objects.get_for_object(guide).count() == 3


def test_an_editor_reverts_their_own_draft_to_an_earlier_draft(editor):
    editor_user, staff = editor
    draft = make_draft(title="First wording", owner=editor_user, tags=["card"])
    make_section(draft, heading="Steps", body="1. First step")
    first = version_in(snapshot(editor_user, draft), draft)
    draft.title = "Second wording"
    draft.status = Article.Status.IN_REVIEW
    draft.save()
    draft.tags.set(["pension"])
    snapshot(editor_user, draft)

    shown = staff.get(revert_url("article", draft, first))
    response = staff.post(revert_url("article", draft, first), revert_form(first))

    assert shown.status_code == HTTPStatus.OK
    assert response.status_code == HTTPStatus.FOUND, messages_shown(response)
    draft.refresh_from_db()
    assert (draft.title, draft.status) == ("First wording", Article.Status.DRAFT)
    assert list(draft.tags.names()) == ["card"]
    latest = Version.objects.get_for_object(draft).first().revision
    assert latest.user == editor_user and "Reverted" in latest.get_comment()


# Bulk actions: one revision and one transaction per guide.


def bulk(client, action, guides, **data):
    return client.post(
        GUIDES, {"action": action, "_selected_action": [g.pk for g in guides], **data}
    )


def test_a_bulk_action_records_one_revision_per_guide(publisher):
    publisher_user, staff = publisher
    guides = [make_draft() for _ in range(3)]
    for guide in guides:
        make_section(guide)

    bulk(staff, "publish_selected", guides)

    revisions = Revision.objects.all()
    assert revisions.count() == 3
    for guide in guides:
        versions = Version.objects.get_for_object(guide)
        assert versions.count() == 1
        revision = versions.get().revision
        assert (revision.user, revision.get_comment()) == (publisher_user, "Published")
        guide_versions = revision.version_set.filter(content_type__model="article")
        assert [v.object_id for v in guide_versions] == [str(guide.pk)]
        assert Article.objects.get(pk=guide.pk).is_published()


def test_a_refused_guide_in_a_bulk_action_leaves_the_others_done(editor):
    _, staff = editor
    first, live, last = make_draft(), make_article(title="Live guide"), make_draft()

    response = bulk(staff, "submit_for_review", [first, live, last])

    assert "Live guide: This guide is public or archived" in messages_shown(response)
    statuses = dict(Article.objects.values_list("pk", "status"))
    assert statuses[first.pk] == statuses[last.pk] == Article.Status.IN_REVIEW
    assert statuses[live.pk] == Article.Status.PUBLISHED
    assert not Version.objects.get_for_object(live).exists()
    assert Revision.objects.count() == 2


def test_a_failing_guide_in_a_bulk_action_rolls_back_alone(editor):
    _, staff = editor
    guides = [make_article(title=f"Live {n}") for n in range(3)]
    # The second guide's draft copy would take an address already in use.
    make_draft(slug=f"{guides[1].slug}-draft-{guides[1].pk}")

    response = bulk(staff, "prepare_draft_revisions", guides)

    assert response.status_code == HTTPStatus.FOUND
    assert "Live 1:" in messages_shown(response)
    drafts = Article.objects.filter(draft_of__isnull=False)
    assert sorted(d.draft_of.title for d in drafts) == ["Live 0", "Live 2"]
    assert not Section.objects.filter(article__draft_of=guides[1]).exists()


def test_a_revision_that_cannot_go_live_goes_back_to_review_and_the_rest_publish(publisher):
    publisher_user, staff = publisher
    original = make_article(title="Archived since")
    revision = prepare_draft_revision(original, publisher_user)
    set_status(original, publisher_user, Article.Status.ARCHIVED)
    draft = make_draft(title="Ready")

    response = bulk(staff, "publish_selected", [revision, draft])

    assert "no longer published" in messages_shown(response)
    assert Article.objects.get(pk=draft.pk).is_published()
    sent_back = Article.objects.get(pk=revision.pk)
    assert sent_back.status == Article.Status.IN_REVIEW and sent_back.publish_problem
    assert Article.objects.get(pk=original.pk).status == Article.Status.ARCHIVED


def test_rows_changed_in_the_list_get_a_revision_each(publisher):
    publisher_user, staff = publisher
    topics = [make_category(position=1), make_category(position=2)]
    rows = {"form-TOTAL_FORMS": "2", "form-INITIAL_FORMS": "2", "_save": "Save"}
    for index, topic in enumerate(topics):
        rows |= {f"form-{index}-id": str(topic.pk), f"form-{index}-position": str(9 - index)}

    response = staff.post("/admin/articles/category/", rows)

    assert response.status_code == HTTPStatus.FOUND
    for topic in topics:
        revision = Version.objects.get_for_object(topic).get().revision
        assert revision.version_set.count() == 1
        assert revision.user == publisher_user and "display order" in revision.get_comment().lower()
    assert sorted(Category.objects.values_list("position", flat=True)) == [8, 9]


# Read-only pages take no write lock.


@pytest.fixture
def short_busy_timeout(transactional_db):
    """SQLite waits 20 s for a lock; with one second, a page that waited for it
    fails fast (503) instead of slowing the suite down."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's database-wide write lock")
    options = connection.settings_dict["OPTIONS"]
    saved = options.get("timeout")
    options["timeout"] = 1
    connection.close()
    yield
    options["timeout"] = saved
    connection.close()


def editor_by_permissions():
    """A staff user with the Editor group's permissions on these pages, given directly:
    a transactional test may run after another has flushed the migration's groups."""
    user = User.objects.create_user("editor", password="pw", is_staff=True)
    codenames = ["add_article", "change_article", "view_article"] + [
        f"view_{model}" for model in ["category", "law", "legalprovision"]
    ]
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="articles", codename__in=codenames)
    )
    client = Client()
    client.force_login(user)
    return user, client


@pytest.mark.django_db(transaction=True)
def test_read_only_admin_pages_answer_while_someone_else_writes(short_busy_timeout):
    editor_user, staff = editor_by_permissions()
    guide = make_draft(owner=editor_user, tags=["card"])
    make_section(guide)
    older = version_in(snapshot(editor_user, guide), guide)
    guide.title = "Renamed"
    guide.save()
    guide.tags.add("pension")
    newer = version_in(snapshot(editor_user, guide), guide)
    provision = make_provision()
    category, law = Category.objects.get(), provision.law
    pages = [
        GUIDES,
        f"{GUIDES}?status__exact=draft",
        f"{GUIDES}{guide.pk}/change/",
        f"{GUIDES}add/",
        f"{GUIDES}{guide.pk}/history/",
        f"{GUIDES}{guide.pk}/history/compare/?version_id1={older.pk}&version_id2={newer.pk}",
        f"{GUIDES}recover/",
        "/admin/articles/category/",
        f"/admin/articles/category/{category.pk}/change/",
        "/admin/articles/law/",
        f"/admin/articles/law/{law.pk}/change/",
        "/admin/articles/legalprovision/",
        f"/admin/articles/legalprovision/{provision.pk}/change/",
    ]
    writer = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # an editor's save in another worker
    try:
        for page in pages:
            # The lock is held throughout: a page that asked for it would be a 503.
            assert staff.get(page).status_code == HTTPStatus.OK, page
        assert staff.head(f"{GUIDES}{guide.pk}/change/").status_code == HTTPStatus.OK
        # A save still runs in its transaction: it waits for the lock, then says so.
        saved = staff.post(f"{GUIDES}{guide.pk}/change/", {"title": "Mine"})
        assert saved.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert Article.objects.get(pk=guide.pk).title == "Renamed"
