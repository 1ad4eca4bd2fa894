"""Publishing never breaks the site: a revision cannot link to the guide it revises,
a due revision that fails goes back to review instead of failing requests, and the
per-request check for due revisions costs no query in the steady state."""

import logging
from datetime import timedelta
from http import HTTPStatus

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models.signals import pre_save
from django.urls import reverse
from django.utils import timezone

from articles.models import Article, RelatedLink
from articles.workflow import (
    RevisionNotApplied,
    prepare_draft_revision,
    publish,
    set_status,
)
from tests.factories import (
    link_related,
    make_article,
    make_draft,
    make_section,
)
from tests.helpers import change_form, inline_data

pytestmark = pytest.mark.django_db

EVERY_KIND_OF_PAGE = ["/en/", "/robots.txt", "/en/search/?q=card", "/admin/login/"]


@pytest.fixture
def guide():
    article = make_article(title="Card guide")
    make_section(article, heading="Steps", body="1. Old step")
    return article


def revise(guide, user, body="1. New step"):
    revision = prepare_draft_revision(guide, user)
    step = revision.sections.get()
    step.body = body
    step.save()
    return revision


def schedule(revision, user, minutes=10):
    due = timezone.now() + timedelta(minutes=minutes)
    publish(revision, user, when=due)
    return due


def sections_of(article):
    return list(Article.objects.get(pk=article.pk).sections.values_list("body", flat=True))


def assert_sent_back_to_review(revision, *reason_words, scheduled=True):
    revision = Article.objects.get(pk=revision.pk)
    assert revision.status == Article.Status.IN_REVIEW
    # A scheduled revision keeps the time it was meant to go live.
    assert (revision.published_at is not None) == scheduled
    assert not revision.publish_problem.startswith("[")  # the words, not a list's repr
    for word in reason_words:
        assert word in revision.publish_problem, revision.publish_problem
    return revision


class TestNoLinkToTheOriginal:
    def test_previous_and_next_cannot_be_the_guide_revised(self, guide, publisher):
        user, _ = publisher
        revision = prepare_draft_revision(guide, user)
        revision.previous_article = guide
        revision.next_article = guide
        with pytest.raises(ValidationError) as refused:
            revision.full_clean()
        assert set(refused.value.message_dict) == {"previous_article", "next_article"}
        assert (
            "takes the place of the guide chosen here"
            in refused.value.message_dict["next_article"][0]
        )

    @pytest.mark.parametrize("field", ["previous_article", "next_article"])
    def test_the_database_refuses_them_too(self, guide, publisher, field):
        user, _ = publisher
        revision = prepare_draft_revision(guide, user)
        with pytest.raises(IntegrityError), transaction.atomic():
            Article.objects.filter(pk=revision.pk).update(**{field: guide})

    def test_a_related_link_cannot_be_the_guide_revised(self, guide, publisher):
        user, _ = publisher
        revision = prepare_draft_revision(guide, user)
        with pytest.raises(ValidationError) as refused:
            RelatedLink(from_article=revision, to_article=guide).full_clean()
        assert (
            "takes the place of the guide chosen here"
            in refused.value.message_dict["to_article"][0]
        )
        other = make_article()
        RelatedLink(from_article=revision, to_article=other, position=1).full_clean()
        # The guide itself may link anywhere but to itself.
        RelatedLink(from_article=guide, to_article=other, position=1).full_clean()

    def test_the_change_form_shows_the_reason(self, guide, publisher):
        user, client = publisher
        revision = prepare_draft_revision(guide, user)
        url = f"/admin/articles/article/{revision.pk}/change/"
        response = client.post(url, change_form(revision, previous_article=str(guide.pk)))
        assert response.status_code == HTTPStatus.OK
        assert "takes the place of the guide chosen here" in response.content.decode()
        assert Article.objects.get(pk=revision.pk).previous_article is None

        related = inline_data("related_links", [{"to_article": str(guide.pk), "position": "1"}])
        response = client.post(url, change_form(revision) | related)
        assert response.status_code == HTTPStatus.OK
        assert "takes the place of the guide chosen here" in response.content.decode()
        assert not RelatedLink.objects.filter(from_article=revision).exists()

    def test_a_copy_never_links_to_its_original(self, guide, publisher):
        user, _ = publisher
        before, after, first, second = (make_article() for _ in range(4))
        guide.previous_article, guide.next_article = before, after
        guide.save()
        link_related(guide, first, second)
        # Guides that link to the revised guide keep doing so; their links are not copied.
        elsewhere = make_article(next_article=guide)
        link_related(elsewhere, guide)
        revision = prepare_draft_revision(guide, user)
        assert (revision.previous_article, revision.next_article) == (before, after)
        copied = list(revision.related_links.values_list("to_article", flat=True))
        assert copied == [first.pk, second.pk]
        assert guide.pk not in {revision.previous_article_id, revision.next_article_id, *copied}
        # A revision of the guide that links here copies its links, none to its own original.
        other_revision = prepare_draft_revision(elsewhere, user)
        assert other_revision.next_article == guide
        assert list(other_revision.related_links.values_list("to_article", flat=True)) == [guide.pk]
        publish(revision, user)
        publish(other_revision, user)
        assert Article.objects.get(pk=elsewhere.pk).next_article == guide

    def test_a_revision_is_its_own_private_copy(self, guide, publisher):
        user, _ = publisher
        revision = prepare_draft_revision(guide, user)
        schedule(revision, user)
        assert prepare_draft_revision(revision, user) == revision
        assert prepare_draft_revision(guide, user) == revision
        assert Article.objects.filter(draft_of__isnull=False).count() == 1


class TestAFailingRevisionNeverBreaksTheSite:
    def test_a_link_to_the_original_sends_it_back_to_review(self, client, guide, publisher, caplog):
        user, _ = publisher
        revision = revise(guide, user)
        due = schedule(revision, user)
        # Added after scheduling, past the form's checks (as a history revert could).
        RelatedLink.objects.create(from_article=revision, to_article=guide)
        with time_machine.travel(due + timedelta(minutes=1)), caplog.at_level(logging.ERROR):
            for path in EVERY_KIND_OF_PAGE:
                assert client.get(path).status_code == HTTPStatus.OK, path
        assert_sent_back_to_review(revision, "related guides list the guide it revises")
        assert sections_of(guide) == ["1. Old step"]
        logged = [r for r in caplog.records if r.name == "articles.workflow"]
        assert len(logged) == 1 and str(revision.pk) in logged[0].getMessage()

    def test_any_failure_is_rolled_back_and_other_revisions_still_apply(
        self, client, guide, publisher, caplog
    ):
        user, _ = publisher
        broken = revise(guide, user, body="1. Never shown")
        other_guide = make_article(title="Pension guide")
        make_section(other_guide, heading="Steps", body="1. Old rule")
        working = revise(other_guide, user, body="1. New rule")
        due = max(schedule(broken, user), schedule(working, user))

        def index_down(sender, instance, **kwargs):
            if instance.pk == guide.pk:
                raise RuntimeError("search index unavailable")

        pre_save.connect(index_down, sender=Article)
        try:
            with time_machine.travel(due + timedelta(minutes=1)), caplog.at_level(logging.ERROR):
                response = client.get(guide.get_absolute_url())
        finally:
            pre_save.disconnect(index_down, sender=Article)
        assert response.status_code == HTTPStatus.OK
        assert "Old step" in response.content.decode()
        assert_sent_back_to_review(broken, "RuntimeError", "search index unavailable")
        # Rolled back to the savepoint: the original kept its sections.
        assert sections_of(guide) == ["1. Old step"]
        assert sections_of(other_guide) == ["1. New rule"]
        assert not Article.objects.filter(pk=working.pk).exists()
        assert any(
            r.name == "articles.workflow" and str(broken.pk) in r.getMessage()
            for r in caplog.records
        )

    @pytest.mark.parametrize("status", [Article.Status.ARCHIVED, Article.Status.DRAFT])
    def test_a_revision_of_a_guide_taken_down_meanwhile_is_not_applied(
        self, client, guide, publisher, status
    ):
        user, _ = publisher
        revision = revise(guide, user)
        due = schedule(revision, user)
        set_status(guide, user, status)
        with time_machine.travel(due + timedelta(minutes=1)):
            assert client.get("/robots.txt").status_code == HTTPStatus.OK
        assert Article.objects.get(pk=guide.pk).status == status
        assert sections_of(guide) == ["1. Old step"]
        assert_sent_back_to_review(revision, "no longer published", f"({status.label.lower()})")

    def test_publishing_now_refuses_with_the_reason(self, guide, publisher):
        user, _ = publisher
        revision = revise(guide, user)
        set_status(guide, user, Article.Status.ARCHIVED)
        with pytest.raises(RevisionNotApplied, match="no longer published"):
            publish(revision, user)
        assert_sent_back_to_review(revision, "no longer published (archived)", scheduled=False)
        assert Article.objects.get(pk=guide.pk).status == Article.Status.ARCHIVED
        with pytest.raises(RevisionNotApplied, match="no longer published"):
            schedule(revision, user)

    def test_the_publish_action_shows_the_reason(self, guide, publisher):
        user, client = publisher
        revision = revise(guide, user)
        set_status(guide, user, Article.Status.ARCHIVED)
        response = client.post(
            "/admin/articles/article/",
            {"action": "publish_selected", "_selected_action": [revision.pk]},
            follow=True,
        )
        assert response.status_code == HTTPStatus.OK
        assert "no longer published (archived)" in response.content.decode()
        assert Article.objects.get(pk=guide.pk).status == Article.Status.ARCHIVED
        assert sections_of(guide) == ["1. Old step"]
        assert Article.objects.filter(pk=revision.pk).exists()

    def test_publishing_now_rolls_back_any_failure(self, guide, publisher):
        user, _ = publisher
        revision = revise(guide, user)

        def index_down(sender, instance, **kwargs):
            if instance.pk == guide.pk:
                raise RuntimeError("search index unavailable")

        pre_save.connect(index_down, sender=Article)
        try:
            with pytest.raises(RevisionNotApplied, match="search index unavailable"):
                publish(revision, user)
        finally:
            pre_save.disconnect(index_down, sender=Article)
        assert_sent_back_to_review(revision, "RuntimeError", scheduled=False)
        assert sections_of(guide) == ["1. Old step"]

    def test_a_fixed_revision_is_scheduled_again_without_its_old_problem(
        self, client, guide, publisher
    ):
        user, _ = publisher
        revision = revise(guide, user)
        link = RelatedLink.objects.create(from_article=revision, to_article=guide)
        with pytest.raises(RevisionNotApplied):
            publish(revision, user)
        link.delete()
        revision = Article.objects.get(pk=revision.pk)
        due = schedule(revision, user)
        revision.refresh_from_db()
        assert revision.status == Article.Status.PUBLISHED and revision.publish_problem == ""
        with time_machine.travel(due + timedelta(minutes=1)):
            assert "New step" in client.get(guide.get_absolute_url()).content.decode()
        assert not Article.objects.filter(pk=revision.pk).exists()


class TestDueRevisionCheckCost:
    def test_no_query_per_request_in_the_steady_state(self, client, django_assert_num_queries):
        make_article()
        client.get("/robots.txt")  # reads the schedule once
        with django_assert_num_queries(0):
            assert client.get("/robots.txt").status_code == HTTPStatus.OK
        with django_assert_num_queries(0):
            assert client.get("/robots.txt").status_code == HTTPStatus.OK

    def test_a_scheduled_revision_waits_without_queries_then_applies_on_time(
        self, client, guide, publisher, django_assert_num_queries
    ):
        user, _ = publisher
        revision = revise(guide, user)
        due = schedule(revision, user, minutes=60)
        with time_machine.travel(due - timedelta(seconds=30)):
            client.get("/robots.txt")  # reads the schedule once
            with django_assert_num_queries(0):
                client.get("/robots.txt")
        with time_machine.travel(due + timedelta(seconds=1)):
            client.get("/robots.txt")
        assert sections_of(guide) == ["1. New step"]
        assert not Article.objects.filter(pk=revision.pk).exists()

    def test_saving_a_guide_forgets_the_cached_schedule(
        self, client, guide, publisher, django_assert_num_queries
    ):
        user, _ = publisher
        client.get("/robots.txt")  # caches "nothing scheduled"
        revision = revise(guide, user)
        # Sooner than the cache's own expiry: only the invalidation makes it seen.
        due = schedule(revision, user, minutes=0.25)
        with time_machine.travel(due + timedelta(seconds=1)):
            client.get("/robots.txt")
            assert sections_of(guide) == ["1. New step"]
            with django_assert_num_queries(0):
                client.get("/robots.txt")


def test_the_admin_shows_and_filters_revisions_sent_back(admin_client):
    guide = make_draft(title="Sent back guide")
    Article.objects.filter(pk=guide.pk).update(publish_problem="Its guide was archived.")
    page = admin_client.get(reverse("admin:articles_article_change", args=[guide.pk]))
    assert "Its guide was archived." in page.content.decode()
    listing = admin_client.get(reverse("admin:articles_article_changelist") + "?problem=yes")
    assert [row.pk for row in listing.context["cl"].result_list] == [guide.pk]
