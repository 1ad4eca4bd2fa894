"""The editorial workflow: roles, review, scheduling, draft revisions, previews,
history, no lost edits, and keeping guides true."""

import math
import re
from datetime import date, timedelta
from http import HTTPStatus

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from reversion.models import Version
from taggit.models import Tag

from articles import workflow
from articles.models import Article, PreviewLink
from articles.workflow import prepare_draft_revision, publish
from tests.factories import (
    cite,
    make_article,
    make_draft,
    make_provision,
    make_section,
    make_staff_member,
)
from tests.helpers import change_form

pytestmark = pytest.mark.django_db


def save(client, article, **overrides):
    return client.post(
        f"/admin/articles/article/{article.pk}/change/", change_form(article, **overrides)
    )


def errors(response):
    return " ".join(str(e) for e in response.context["errors"]) if response.context else ""


class TestRoles:
    def test_groups_exist_with_their_permissions(self):
        editor, publisher = Group.objects.get(name="Editor"), Group.objects.get(name="Publisher")
        editor_perms = set(editor.permissions.values_list("codename", flat=True))
        publisher_perms = set(publisher.permissions.values_list("codename", flat=True))
        assert {"add_article", "change_article"} <= editor_perms
        assert "publish_article" not in editor_perms and "delete_article" not in editor_perms
        assert {"publish_article", "delete_article"} <= publisher_perms

    def test_an_editor_writes_a_draft_and_submits_it_for_review(self, editor):
        user, client = editor
        draft = make_draft()
        response = save(client, draft, status="review")
        assert response.status_code == HTTPStatus.FOUND, errors(response)
        draft.refresh_from_db()
        assert draft.status == Article.Status.IN_REVIEW
        assert draft.last_edited_by == user

    def test_an_editor_cannot_publish_or_change_a_public_guide(self, editor):
        _, client = editor
        draft = make_draft()
        response = save(client, draft, status="published")
        assert response.status_code == HTTPStatus.OK
        assert Article.objects.get(pk=draft.pk).status == Article.Status.DRAFT
        public = make_article(title="Public")
        response = save(client, public, title="Changed by an editor")
        assert "only a Publisher can change it" in errors(response)
        assert Article.objects.get(pk=public.pk).title == "Public"

    def test_an_editor_cannot_use_publishing_actions(self, editor):
        _, client = editor
        draft = make_draft()
        response = client.post(
            "/admin/articles/article/",
            {"action": "publish_selected", "_selected_action": [draft.pk]},
        )
        assert Article.objects.get(pk=draft.pk).status == Article.Status.DRAFT
        page = client.get("/admin/articles/article/").content.decode()
        assert "publish_selected" not in page and "submit_for_review" in page
        assert response.status_code in {HTTPStatus.OK, HTTPStatus.FOUND}

    def test_a_publisher_publishes_and_schedules(self, publisher):
        _, client = publisher
        draft = make_draft(title="Scheduled guide")
        tomorrow = timezone.now() + timedelta(days=1)
        response = save(
            client,
            draft,
            status="published",
            published_at_0=tomorrow.strftime("%Y-%m-%d"),
            published_at_1="09:00:00",
        )
        assert response.status_code == HTTPStatus.FOUND, errors(response)
        draft.refresh_from_db()
        assert draft.status == Article.Status.PUBLISHED and not draft.is_published()
        listed = client.get("/admin/articles/article/?scheduled=yes").content.decode()
        assert "Scheduled guide" in listed

    def test_publishing_with_no_time_publishes_now(self, publisher):
        """The field's help says "Empty: now": the form must not trip the model's
        rule that a published guide has a time before save() could fill it in."""
        _, client = publisher
        draft = make_draft(title="Published at once")
        response = save(client, draft, status="published")
        assert response.status_code == HTTPStatus.FOUND, errors(response)
        draft.refresh_from_db()
        assert draft.is_published() and draft.published_at <= timezone.now()

    def test_bulk_actions_follow_the_roles_and_are_recorded(self, publisher):
        user, client = publisher
        guides = [make_draft(), make_draft()]
        client.post(
            "/admin/articles/article/",
            {"action": "publish_selected", "_selected_action": [g.pk for g in guides]},
        )
        assert all(Article.objects.get(pk=g.pk).is_published() for g in guides)
        assert Version.objects.get_for_object(guides[0]).first().revision.user == user
        client.post(
            "/admin/articles/article/",
            {"action": "add_tag", "tag": "pension", "_selected_action": [guides[0].pk]},
        )
        assert "pension" in Article.objects.get(pk=guides[0].pk).tags.names()
        client.post(
            "/admin/articles/article/",
            {"action": "archive_selected", "_selected_action": [guides[1].pk]},
        )
        assert Article.objects.get(pk=guides[1].pk).status == Article.Status.ARCHIVED


class TestDraftRevisions:
    def test_a_published_guide_changes_only_when_its_revision_is_published(self, client, publisher):
        user, _ = publisher
        guide = make_article(title="Card guide", tags=["card"])
        make_section(guide, heading="Steps", body="1. Old step")
        url = guide.get_absolute_url()
        copy = prepare_draft_revision(guide, user)
        assert copy.draft_of == guide and copy.status == Article.Status.DRAFT
        step = copy.sections.get()
        step.body = "1. New step"
        step.save()
        assert "Old step" in client.get(url).content.decode()
        published = publish(copy, user)
        assert published.pk == guide.pk
        page = client.get(url).content.decode()
        assert "New step" in page and "Old step" not in page
        assert not Article.objects.filter(pk=copy.pk).exists()
        assert list(published.tags.names()) == ["card"]

    def test_a_scheduled_revision_replaces_the_guide_when_due_without_a_job(
        self, client, publisher
    ):
        user, _ = publisher
        guide = make_article(title="Pension rules 2026")
        make_section(guide, heading="Steps", body="1. Old rule")
        copy = prepare_draft_revision(guide, user)
        step = copy.sections.get()
        step.body = "1. New rule"
        step.save()
        due = timezone.now() + timedelta(days=3)
        scheduled = publish(copy, user, when=due)
        assert scheduled.pk == copy.pk and not scheduled.is_published()
        assert "Old rule" in client.get(guide.get_absolute_url()).content.decode()
        assert client.get(copy.get_absolute_url()).status_code == 404
        with time_machine.travel(due + timedelta(minutes=1)):
            page = client.get(guide.get_absolute_url()).content.decode()
            assert "New rule" in page and "Old rule" not in page
        assert not Article.objects.filter(pk=copy.pk).exists()


class TestRevisionOverALiveChange:
    """A guide changed after its draft revision was prepared: publishing the revision
    would undo that change unseen, so it goes back to review once, with the reason."""

    def _revision_and_a_live_fix(self, publisher):
        user, staff = publisher
        guide = make_article(title="Card guide", summary="Activate your card.")
        make_section(guide, heading="Steps", body="1. Call 12345")
        revision = prepare_draft_revision(guide, user)
        step = revision.sections.get()
        step.body = "1. Call 12345\n2. Open the app"
        step.save()
        # Meanwhile a Publisher fixes the live guide's number.
        response = save(
            staff,
            guide,
            change_note="Corrected the phone number.",
            **{"sections-0-body": "1. Call 54321"},
        )
        assert response.status_code == HTTPStatus.FOUND, errors(response)
        return guide, revision

    def test_a_scheduled_revision_goes_back_to_review_and_the_fix_stays(self, publisher, client):
        guide, revision = self._revision_and_a_live_fix(publisher)
        Article.objects.filter(pk=revision.pk).update(
            status=Article.Status.PUBLISHED, published_at=timezone.now() - timedelta(minutes=1)
        )
        assert workflow.apply_due_revisions() == 0
        revision.refresh_from_db()
        assert revision.status == Article.Status.IN_REVIEW
        assert "was changed after" in revision.publish_problem
        assert "saved since by publisher)" in revision.publish_problem
        assert "54321" in client.get(guide.get_absolute_url()).content.decode()

        # Told once: the Publisher brings the fix in and schedules it again.
        step = revision.sections.get()
        step.body = "1. Call 54321\n2. Open the app"
        step.save()
        publish(revision, publisher[0], when=timezone.now() + timedelta(hours=1))
        with time_machine.travel(timezone.now() + timedelta(hours=2)):
            assert workflow.apply_due_revisions() == 1
        page = client.get(guide.get_absolute_url()).content.decode()
        assert "54321" in page and "Open the app" in page

    def test_publishing_now_is_refused_with_the_reason_then_goes_ahead(self, publisher):
        user, _ = publisher
        guide, revision = self._revision_and_a_live_fix(publisher)
        with pytest.raises(workflow.RevisionNotApplied, match="undo those changes"):
            publish(revision, user)
        guide.refresh_from_db()
        assert guide.sections.get().body == "1. Call 54321"
        revision.refresh_from_db()
        assert revision.status == Article.Status.IN_REVIEW
        assert publish(revision, user).pk == guide.pk  # the Publisher chose the revision

    def test_the_bulk_action_reports_it(self, publisher):
        _, staff = publisher
        guide, revision = self._revision_and_a_live_fix(publisher)
        response = staff.post(
            "/admin/articles/article/",
            {"action": "publish_selected", "_selected_action": [revision.pk]},
            follow=True,
        )
        assert "undo those changes" in response.content.decode()
        assert Article.objects.filter(pk=revision.pk, status=Article.Status.IN_REVIEW).exists()

    def test_the_change_form_tells_at_once(self, publisher):
        """Publishing or scheduling a revision from its form: told on saving, not at
        its time; saved again, it goes ahead."""
        _, staff = publisher
        guide, revision = self._revision_and_a_live_fix(publisher)
        later = timezone.localtime() + timedelta(days=1)
        scheduled = {
            "status": Article.Status.PUBLISHED,
            "published_at_0": later.strftime("%Y-%m-%d"),
            "published_at_1": later.strftime("%H:%M:%S"),
        }
        response = staff.post(
            f"/admin/articles/article/{revision.pk}/change/",
            change_form(revision, **scheduled),
            follow=True,
        )
        assert "undo those changes" in response.content.decode()
        revision.refresh_from_db()
        assert revision.status == Article.Status.IN_REVIEW
        response = staff.post(
            f"/admin/articles/article/{revision.pk}/change/", change_form(revision, **scheduled)
        )
        assert response.status_code == HTTPStatus.FOUND, errors(response)
        revision.refresh_from_db()
        assert revision.status == Article.Status.PUBLISHED and not revision.publish_problem
        with time_machine.travel(later + timedelta(minutes=1)):
            assert workflow.apply_due_revisions() == 1

    def test_the_reason_names_who_changed_the_guide_since(self, publisher):
        user, staff = publisher
        other, other_client = make_staff_member("Publisher", "colleague")
        guide = make_article(title="Card guide")
        make_section(guide, heading="Steps", body="1. Old step")
        revision = prepare_draft_revision(guide, user)
        # A bulk action, which sets no "last edited by" on the guide, then a review.
        response = other_client.post(
            "/admin/articles/article/",
            {"action": "add_tag", "_selected_action": [guide.pk], "tag": "urgent"},
        )
        assert response.status_code == HTTPStatus.FOUND
        workflow.mark_reviewed(Article.objects.get(pk=guide.pk), user)
        with pytest.raises(workflow.RevisionNotApplied, match=r"saved since by colleague\)"):
            publish(revision, user)

    def test_a_change_the_revision_already_has_goes_ahead(self, publisher, client):
        """A part the revision says the same of (the fix copied in, or a tag merged on
        both) is not undone: nothing to tell."""
        user, _ = publisher
        guide, revision = self._revision_and_a_live_fix(publisher)
        revision.title = "Activating the card"
        revision.save()
        revision.sections.update(body="1. Call 54321")  # the live fix, brought in
        merged = Tag.objects.create(name="insurance")
        for each in (guide, revision):
            each.tags.set([merged])
        publish(Article.objects.get(pk=revision.pk), user)
        guide.refresh_from_db()
        assert guide.title == "Activating the card"
        assert [s.body for s in guide.sections.all()] == ["1. Call 54321"]
        assert list(guide.tags.names()) == ["insurance"]

    def test_renaming_a_tag_both_share_is_no_change(self, publisher, client):
        user, _ = publisher
        guide = make_article(title="Card guide", tags=["card"])
        make_section(guide, heading="Steps", body="1. Old step")
        revision = prepare_draft_revision(guide, user)
        Tag.objects.filter(name="card").update(name="insurance card")
        publish(revision, user)
        assert Article.objects.get(pk=guide.pk).tags.names()[0] == "insurance card"

    def test_bookkeeping_changed_on_the_guide_meanwhile_is_kept(self, publisher):
        """Owner, review date, the major change its translations follow: the revision's
        value where the revision changed it, else the guide's. A law change's flag is
        the revision's (a law change flags both; confirming the revision clears it)."""
        user, _ = publisher
        other, _ = make_staff_member("Editor", "writer")
        guide = make_article(title="Card guide", review_by=date(2026, 1, 1))
        make_section(guide, heading="Steps", body="1. Old step")
        revision = prepare_draft_revision(guide, user)
        workflow.mark_reviewed(Article.objects.get(pk=guide.pk), user)
        moved = Article.objects.get(pk=guide.pk)
        assert moved.review_by > date(2026, 1, 1)
        noted = timezone.now()
        Article.objects.filter(pk=guide.pk).update(owner=other, major_change_at=noted)
        publish(Article.objects.get(pk=revision.pk), user)
        guide.refresh_from_db()
        assert (guide.owner, guide.review_by, guide.major_change_at) == (
            other,
            moved.review_by,
            noted,
        )

        # A law it cites changes meanwhile: guide and revision are flagged, and the flag
        # stays for a Publisher to confirm...
        provision = make_provision()
        cite(guide, provision)
        revision = prepare_draft_revision(guide, user)
        provision.text_en = "Changed wording."
        provision.save()
        assert Article.objects.get(pk=revision.pk).needs_review
        publish(Article.objects.get(pk=revision.pk), user)
        assert Article.objects.get(pk=guide.pk).needs_review
        # ...confirmed on the revision, it is cleared with it, whenever it was raised.
        for changed_after_preparing in [False, True]:
            revision = prepare_draft_revision(guide, user)
            if changed_after_preparing:
                provision.text_en += " Again."
                provision.save()
            workflow.mark_reviewed(revision, user, law_change_confirmed=True)
            publish(Article.objects.get(pk=revision.pk), user)
            assert not Article.objects.get(pk=guide.pk).needs_review
            Article.objects.filter(pk=guide.pk).update(needs_review=True)
        Article.objects.filter(pk=guide.pk).update(needs_review=False)

        # Changed on the revision: the revision's.
        revision = prepare_draft_revision(guide, user)
        Article.objects.filter(pk=revision.pk).update(owner=user, review_by=date(2027, 3, 1))
        publish(Article.objects.get(pk=revision.pk), user)
        guide.refresh_from_db()
        assert (guide.owner, guide.review_by) == (user, date(2027, 3, 1))

    def test_a_review_or_a_change_note_is_no_content_change(self, publisher, client):
        user, staff = publisher
        guide = make_article(title="Card guide")
        make_section(guide, heading="Steps", body="1. Old step")
        revision = prepare_draft_revision(guide, user)
        workflow.mark_reviewed(guide, user)
        Article.objects.filter(pk=guide.pk).update(owner=user)
        # Sections renumbered in the same order (as the ordering script does).
        guide.sections.update(position=7)
        step = revision.sections.get()
        step.body = "1. New step"
        step.save()
        publish(revision, user)
        assert "New step" in client.get(guide.get_absolute_url()).content.decode()

    def test_another_reason_also_says_the_guide_changed(self, publisher):
        user, _ = publisher
        guide, revision = self._revision_and_a_live_fix(publisher)
        revision.sections.update(body="No list any more.")
        with pytest.raises(workflow.RevisionNotApplied):
            publish(revision, user)
        revision.refresh_from_db()
        # The live change comes first (it is why the revision was sent back)...
        assert "undo those changes" in revision.publish_problem
        # ...and the checks still stop it once the live change was told.
        with pytest.raises(workflow.RevisionNotApplied, match="numbered list"):
            publish(revision, user)

    def test_a_revision_with_no_starting_point_is_applied_as_before(self, publisher, client):
        """Revisions prepared before this rule, or imported: nothing to compare."""
        user, _ = publisher
        guide, revision = self._revision_and_a_live_fix(publisher)
        Article.objects.filter(pk=revision.pk).update(revision_base={})
        revision.refresh_from_db()
        publish(revision, user)
        assert "Open the app" in client.get(guide.get_absolute_url()).content.decode()


class TestPreview:
    def test_staff_see_any_guide_exactly_as_citizens_would(self, editor, client):
        _, staff = editor
        draft = make_draft(title="Draft for preview")
        make_section(draft, heading="Steps", body="1. Click **Submit**")
        response = staff.get(f"/preview/{draft.pk}/")
        assert response.status_code == HTTPStatus.OK
        html = response.content.decode()
        assert "<h1>Draft for preview</h1>" in html and "<strong>Submit</strong>" in html
        assert '<meta name="robots" content="noindex">' in html
        assert "no-store" in response["Cache-Control"] and "noindex" in response["X-Robots-Tag"]
        anonymous = client.get(f"/preview/{draft.pk}/")
        assert (
            anonymous.status_code == HTTPStatus.FOUND and "/admin/login/" in anonymous["Location"]
        )

    def test_live_markdown_preview_is_staff_only_and_csrf_protected(self, editor):
        user, _ = editor
        url = "/admin/articles/article/markdown-preview/"
        strict = Client(enforce_csrf_checks=True)
        strict.force_login(user)
        assert strict.post(url, {"body": "**x**"}).status_code == HTTPStatus.FORBIDDEN
        page = strict.get("/admin/articles/article/add/").content.decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        response = strict.post(
            url, {"body": "**bold** <script>x</script>", "csrfmiddlewaretoken": token}
        )
        assert response.json() == {"html": "<p><strong>bold</strong> </p>"}
        assert "Preview the sections' Markdown" in page
        plain = strict.post(
            url,
            {
                "csrfmiddlewaretoken": token,
                "sections-0-heading": "Steps",
                "sections-0-body": "1. One",
            },
        )
        assert "<ol>\n<li>One</li>\n</ol>" in plain.content.decode()
        assert Client().post(url, {"body": "x"}).status_code == HTTPStatus.FOUND

    def test_shared_preview_links_are_signed_expiring_and_revocable(self, publisher, client):
        _, staff = publisher
        draft = make_draft(title="Legal check")
        staff.post(f"/admin/articles/article/{draft.pk}/preview-link/", {"days": "3"})
        link = PreviewLink.objects.get()
        assert timedelta(days=2) < link.expires_at - timezone.now() <= timedelta(days=3)
        url = link.get_absolute_url()
        response = client.get(url)
        assert response.status_code == HTTPStatus.OK and "Legal check" in response.content.decode()
        assert "no-store" in response["Cache-Control"] and "noindex" in response["X-Robots-Tag"]
        assert client.get(url[:-3] + "xx/").status_code == HTTPStatus.NOT_FOUND
        link.revoked = True
        link.save()
        assert client.get(url).status_code == HTTPStatus.GONE
        link.revoked, link.expires_at = False, timezone.now() - timedelta(seconds=1)
        link.save()
        assert client.get(url).status_code == HTTPStatus.GONE

    def test_the_preview_link_message_is_in_the_editors_language(self, publisher):
        _, staff = publisher
        draft = make_draft()
        url = f"/admin/articles/article/{draft.pk}/preview-link/"
        response = staff.post(url, {"days": "1"}, follow=True)
        assert "Preview link, valid for 1 day:" in response.content.decode()
        response = staff.post(url, {"days": "3"}, HTTP_ACCEPT_LANGUAGE="zh-hans", follow=True)
        assert "预览链接，有效期3天：" in response.content.decode()

    def test_editors_cannot_create_preview_links(self, editor):
        _, client = editor
        draft = make_draft()
        response = client.post(f"/admin/articles/article/{draft.pk}/preview-link/", {"days": "3"})
        assert response.status_code == HTTPStatus.FORBIDDEN
        assert not PreviewLink.objects.exists()


class TestHistory:
    def test_every_admin_save_is_kept_and_can_be_compared_and_restored(self, publisher, client):
        _, staff = publisher
        guide = make_article(title="Card guide")
        make_section(guide, heading="Steps", body="1. First wording")
        save(staff, guide, **{"sections-0-body": "1. Second wording"})
        save(staff, guide, **{"sections-0-body": "1. Third wording"})
        versions = Version.objects.get_for_object(guide)
        assert versions.count() == 2
        history = staff.get(f"/admin/articles/article/{guide.pk}/history/")
        assert history.status_code == HTTPStatus.OK
        newer, older = versions[0], versions[1]
        compare = staff.get(
            f"/admin/articles/article/{guide.pk}/history/compare/",
            {"version_id1": older.pk, "version_id2": newer.pk},
        )
        assert compare.status_code == HTTPStatus.OK
        assert "Second" in compare.content.decode() and "Third" in compare.content.decode()
        revert_url = f"/admin/articles/article/{guide.pk}/history/{older.pk}/"
        form = staff.get(revert_url).content.decode()
        started = re.search(r'name="edited_version" value="([^"]*)"', form).group(1)
        revert = staff.post(
            revert_url,
            change_form(guide, edited_version=started, **{"sections-0-body": "1. Second wording"}),
        )
        assert revert.status_code == HTTPStatus.FOUND, errors(revert)
        assert "Second wording" in client.get(guide.get_absolute_url()).content.decode()

    def test_the_comparison_reads_in_the_editors_language(self, publisher):
        _, staff = publisher
        guide = make_article(title="Card guide", tags=["card"])
        make_section(guide, heading="Steps", body="1. First wording")
        save(staff, guide)
        save(staff, guide, tags="card, pension", **{"sections-0-body": "1. Second wording"})
        newer, older = Version.objects.get_for_object(guide)[:2]
        page = staff.get(
            f"/admin/articles/article/{guide.pk}/history/compare/",
            {"version_id1": older.pk, "version_id2": newer.pk},
            HTTP_ACCEPT_LANGUAGE="zh-hans",
        ).content.decode()
        assert "<h4>标签</h4>" in page and "+ card, pension" in page
        assert "<h3>章节</h3>" in page and "<h3>标签</h3>" in page

    def test_the_history_line_names_what_changed_not_the_forms_questions(self, publisher):
        _, staff = publisher
        guide = make_article(title="Card guide")
        make_section(guide, heading="Steps", body="1. First wording")
        # A minor edit: "Major change" unticked, which the form asks on each save.
        # The line is written in the editor's language.
        for title, language, box in [
            ("Card guide, reworded", "en", "Major change"),
            ("Card guide", "zh-hans", "重大修改"),
        ]:
            data = change_form(guide, title=title)
            response = staff.post(
                f"/admin/articles/article/{guide.pk}/change/", data, HTTP_ACCEPT_LANGUAGE=language
            )
            assert response.status_code == HTTPStatus.FOUND, errors(response)
            comment = Version.objects.get_for_object(guide).first().revision.get_comment()
            assert "Title" in comment and box not in comment, comment

    def test_recovering_a_guide_that_exists_goes_to_its_history(self, publisher):
        _, staff = publisher
        guide = make_draft(title="Still here")
        save(staff, guide)
        version = Version.objects.get_for_object(guide).get()
        url = f"/admin/articles/article/recover/{version.pk}/"
        response = staff.post(url, change_form(guide, title="Overwritten"), follow=True)
        assert response.redirect_chain[-1][0] == f"/admin/articles/article/{guide.pk}/history/"
        assert "was not deleted" in response.content.decode()
        assert Article.objects.get(pk=guide.pk).title == "Still here"

    def test_a_revision_that_went_live_cannot_be_recovered_over_its_guide(self, publisher):
        """Its sections, citations and related guides are its guide's now."""
        _, staff = publisher
        guide = make_article(title="Card guide")
        make_section(guide, heading="Steps", body="1. Old step")
        changelist = "/admin/articles/article/"
        action = {"action": "prepare_draft_revisions", "_selected_action": [guide.pk]}
        assert staff.post(changelist, action).status_code == HTTPStatus.FOUND
        revision = Article.objects.get(draft_of=guide)
        action = {"action": "publish_selected", "_selected_action": [revision.pk]}
        assert staff.post(changelist, action).status_code == HTTPStatus.FOUND
        assert not Article.objects.filter(pk=revision.pk).exists()

        deleted = Version.objects.get_deleted(Article).get(object_id=str(revision.pk))
        url = f"/admin/articles/article/recover/{deleted.pk}/"
        response = staff.post(url, change_form(revision, refresh=False), follow=True)
        assert "now belongs to another guide" in response.content.decode()
        assert not Article.objects.filter(pk=revision.pk).exists()
        assert [s.body for s in guide.sections.all()] == ["1. Old step"]

    def test_a_revision_recovered_after_its_guide_moved_on_is_told_first(self, publisher):
        """Once a later revision has replaced its parts, recovering it is allowed, but
        it does not undo that later revision unseen."""
        user, staff = publisher
        guide = make_article(title="Card guide")
        make_section(guide, heading="Steps", body="1. Old step")
        changelist = "/admin/articles/article/"
        bodies = ["1. First revision", "1. Second revision"]
        revisions = []
        for body in bodies:
            action = {"action": "prepare_draft_revisions", "_selected_action": [guide.pk]}
            assert staff.post(changelist, action).status_code == HTTPStatus.FOUND
            revision = Article.objects.get(draft_of=guide)
            revision.sections.update(body=body)
            revisions.append((revision, change_form(revision)))
            action = {"action": "publish_selected", "_selected_action": [revision.pk]}
            assert staff.post(changelist, action).status_code == HTTPStatus.FOUND
        first, form = revisions[0]
        deleted = Version.objects.get_deleted(Article).get(object_id=str(first.pk))
        url = f"/admin/articles/article/recover/{deleted.pk}/"
        page = staff.get(url).content.decode()
        started = re.search(r'name="edited_version" value="([^"]*)"', page).group(1)
        form |= {"edited_version": started, "status": Article.Status.DRAFT}
        form = {key: value for key, value in form.items() if not key.startswith("sections-")}
        form |= {"sections-TOTAL_FORMS": "0", "sections-INITIAL_FORMS": "0"}
        response = staff.post(url, form)
        assert response.status_code == HTTPStatus.FOUND, errors(response)
        recovered = Article.objects.get(pk=first.pk)
        with pytest.raises(workflow.RevisionNotApplied, match="undo those changes"):
            publish(recovered, user)
        assert [s.body for s in guide.sections.all()] == ["1. Second revision"]

    def test_a_deleted_guide_can_be_recovered(self, publisher):
        _, staff = publisher
        guide = make_draft(title="Deleted by mistake")
        save(staff, guide)
        guide_pk = guide.pk
        guide.delete()
        guide.pk = guide_pk
        recover_list = staff.get("/admin/articles/article/recover/").content.decode()
        assert "Deleted by mistake" in recover_list
        version = Version.objects.get_deleted(Article).get()
        recover_url = f"/admin/articles/article/recover/{version.pk}/"
        form = staff.get(recover_url).content.decode()
        started = re.search(r'name="edited_version" value="([^"]*)"', form).group(1)
        response = staff.post(
            recover_url, change_form(guide, refresh=False, edited_version=started)
        )
        assert response.status_code == HTTPStatus.FOUND, errors(response)
        assert Article.objects.filter(title="Deleted by mistake").exists()


class TestNoLostEdits:
    def test_a_stale_save_is_refused_with_what_changed(self, publisher):
        _, first = publisher
        _, second = make_staff_member("Publisher", "second")
        guide = make_article(title="Card guide")
        make_section(guide, heading="Steps", body="1. Original")
        opened_by_second = change_form(guide)
        save(first, guide, title="Card guide, revised", **{"sections-0-body": "1. First's edit"})
        opened_by_second["sections-0-body"] = "1. Second's edit"
        response = second.post(f"/admin/articles/article/{guide.pk}/change/", opened_by_second)
        assert response.status_code == HTTPStatus.OK
        message = errors(response)
        assert "Someone else saved this guide" in message
        assert "Changed Title" in message and "“Steps”" in message
        guide.refresh_from_db()
        assert guide.title == "Card guide, revised"
        assert guide.sections.get().body == "1. First's edit"


class TestKeepingGuidesTrue:
    def test_amending_a_cited_provision_flags_published_guides(self, publisher):
        _, staff = publisher
        provision = make_provision(text="Old wording.")
        public, draft = make_article(), make_draft()
        cite(public, provision)
        cite(draft, provision)
        provision.label = provision.label  # an unchanged text flags nothing
        provision.save()
        assert not Article.objects.filter(needs_review=True).exists()
        provision.text = "Amended wording."
        provision.save()
        assert list(Article.objects.filter(needs_review=True)) == [public]
        listed = staff.get("/admin/articles/article/?needs_review__exact=1").content.decode()
        assert public.title in listed
        staff.post(
            "/admin/articles/article/",
            {"action": "confirm_reviewed", "_selected_action": [public.pk]},
        )
        assert not Article.objects.get(pk=public.pk).needs_review

    def test_restoring_an_older_wording_from_history_flags_too(self, publisher):
        """django-reversion writes the version back raw, before any form saves it."""
        import reversion

        provision = make_provision(text="Old wording.")
        guide = make_article()
        cite(guide, provision)
        for wording in ["Amended wording.", "Amended again."]:
            with reversion.create_revision():
                provision.text = wording
                provision.save()
        Article.objects.update(needs_review=False)  # both amendments confirmed
        older = Version.objects.get_for_object(provision)[1]
        older.revision.revert()
        provision.refresh_from_db()
        assert provision.text == "Amended wording."
        assert Article.objects.get(pk=guide.pk).needs_review

    def test_overdue_reviews_are_listed(self, publisher):
        _, staff = publisher
        make_article(title="Overdue guide", review_by=timezone.localdate() - timedelta(days=1))
        make_article(title="Fresh guide", review_by=timezone.localdate() + timedelta(days=90))
        listed = staff.get("/admin/articles/article/?review=overdue").content.decode()
        assert "Overdue guide" in listed and "Fresh guide" not in listed

    def test_an_archived_guide_is_gone_for_citizens(self, client, publisher):
        user, _ = publisher
        guide = make_article()
        url = guide.get_absolute_url()
        from articles.workflow import set_status

        set_status(guide, user, Article.Status.ARCHIVED)
        assert client.get(url).status_code == HTTPStatus.GONE


class TestScheduleOfRevisions:
    """next_revision_due(): when the next scheduled draft revision is due, read on
    requests once a minute; cheap however many guides there are (a partial index of
    draft revisions, migration 0009)."""

    def test_it_is_the_earliest_scheduled_revision(self, publisher):
        user, _ = publisher
        now = timezone.now()
        assert workflow.next_revision_due() == math.inf
        make_article(published_at=now + timedelta(hours=1))  # a scheduled guide: not a revision
        first, second, unscheduled = (make_article() for _ in range(3))
        later = publish(prepare_draft_revision(first, user), user, when=now + timedelta(days=2))
        sooner = publish(prepare_draft_revision(second, user), user, when=now + timedelta(days=1))
        prepare_draft_revision(unscheduled, user)  # a draft revision, on no schedule
        assert workflow.next_revision_due() == sooner.published_at.timestamp()
        assert cache.get(workflow.NEXT_DUE_CACHE_KEY) == sooner.published_at.timestamp()
        sooner.delete()
        assert workflow.next_revision_due() == later.published_at.timestamp()

    # The statistics of a 100,000-guide SQLite database (generate_guides --both) right
    # after migration 0009, before the new index was analysed: with them the old query
    # read every published guide through article_status_pub_idx (90 to 250 ms).
    STATS_AT_100K = [
        ("article_status_pub_idx", "100000 100000 3"),
        ("article_lang_status_pub_idx", "100000 50000 50000 1"),
        ("article_category_pub_idx", "100000 8334 8334 3"),
        ("articles_article_draft_of_id_63ecc174", "100000 100000"),
    ]

    @pytest.mark.parametrize("statistics", [[], STATS_AT_100K], ids=["none", "100k-guides"])
    def test_on_sqlite_it_reads_the_revisions_index_and_sorts_nothing(self, statistics, publisher):
        if connection.vendor != "sqlite":
            pytest.skip("SQLite's query plan")
        user, _ = publisher
        guide = make_article()
        publish(prepare_draft_revision(guide, user), user, when=timezone.now() + timedelta(days=1))
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE sqlite_schema")  # makes sqlite_stat1 if there is none
            cursor.execute("SELECT tbl, idx, stat FROM sqlite_stat1")
            kept = cursor.fetchall()
            cursor.execute("DELETE FROM sqlite_stat1")
            cursor.executemany(
                "INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES ('articles_article', %s, %s)",
                statistics,
            )
            cursor.execute("ANALYZE sqlite_schema")  # the planner reads them again
            try:
                with CaptureQueriesContext(connection) as queries:
                    workflow.next_revision_due()
                [sql] = [query["sql"] for query in queries if "articles_article" in query["sql"]]
                cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
                plan = " ".join(row[-1] for row in cursor.fetchall())
            finally:
                cursor.execute("DELETE FROM sqlite_stat1")
                cursor.executemany("INSERT INTO sqlite_stat1 VALUES (%s, %s, %s)", kept)
                cursor.execute("ANALYZE sqlite_schema")
        assert "USING INDEX article_revision_due_idx (status=?)" in plan, plan
        assert "TEMP B-TREE" not in plan, plan
