"""The editorial workflow's rules, enforced on every path (admin forms, bulk actions,
import): who may set which status, draft revisions of published guides, and
flagging guides whose cited law changed.

Editors write drafts and submit them for review; Publishers (the
articles.publish_article permission) also publish, schedule, unpublish and
archive. A published guide is changed through a draft revision, so the public
page changes only when a Publisher publishes it.
"""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import Article

PUBLISH_PERMISSION = "articles.publish_article"


def can_publish(user) -> bool:
    return user.has_perm(PUBLISH_PERMISSION)


def check_edit(user, article: Article | None, new_status: str) -> None:
    """Raise PermissionDenied unless `user` may save `article` (None: a new guide)
    with `new_status`."""
    if can_publish(user):
        return
    if article is not None and article.status not in Article.EDITOR_STATUSES:
        raise PermissionDenied(
            _(
                "This guide is public or archived: only a Publisher can change it. "
                "Prepare a draft revision instead."
            )
        )
    if new_status not in Article.EDITOR_STATUSES:
        raise PermissionDenied(_("Only a Publisher can publish, schedule or archive a guide."))


def prepare_draft_revision(article: Article, user) -> Article:
    """A private copy of a published guide, with its sections, citations, tags and
    related links, to edit and then publish in its place."""
    existing = article.draft_revisions.first()
    if existing is not None:
        return existing
    with transaction.atomic():
        copy = Article.objects.get(pk=article.pk)
        copy.pk = None
        copy.draft_of = article
        copy.status = Article.Status.DRAFT
        copy.published_at = None
        copy.slug = f"{article.slug[:130]}-draft-{article.pk}"
        copy.last_edited_by = user
        copy.save()
        # Saved one by one (not bulk_create) so sections render and the index follows.
        for parts, owner_field in [
            (article.sections.all(), "article"),
            (article.citations.all(), "article"),
            (article.related_links.all(), "from_article"),
        ]:
            for part in parts:
                part.pk = None
                setattr(part, owner_field, copy)
                part.save()
        copy.tags.set(article.tags.all())
    return copy


def publish(article: Article, user, when=None) -> Article:
    """Publish `article` at `when`, or at its own publish time, or now.

    A draft revision replaces the guide it revises (same address, history kept)
    when its time comes: now, or later through apply_due_revisions().
    """
    if user is not None and not can_publish(user):
        raise PermissionDenied(_("Only a Publisher can publish a guide."))
    due = when or article.published_at
    if article.draft_of_id is None or (due is not None and due > timezone.now()):
        # A guide goes live at its time; a revision due later waits for its time.
        article.status = Article.Status.PUBLISHED
        article.published_at = due or timezone.now()
        article.last_edited_by = user or article.last_edited_by
        article.save()
        return article
    return _replace_original(article, user or article.last_edited_by)


def _replace_original(revision: Article, user) -> Article:
    original = revision.draft_of
    with transaction.atomic():
        for field in ["title", "summary", "category", "previous_article", "next_article",
                      "owner", "review_by"]:  # fmt: skip
            setattr(original, field, getattr(revision, field))
        original.sections.all().delete()
        original.citations.all().delete()
        original.related_links.all().delete()
        revision.sections.update(article=original)
        revision.citations.update(article=original)
        revision.related_links.update(from_article=original)
        original.tags.set(revision.tags.all())
        original.status = Article.Status.PUBLISHED
        original.needs_review = False
        original.last_edited_by = user
        original.save()
        revision.delete()
    return original


def due_revisions():
    return Article.objects.filter(
        draft_of__isnull=False, status=Article.Status.PUBLISHED, published_at__lte=timezone.now()
    )


def apply_due_revisions() -> int:
    """Put scheduled draft revisions whose time has come in place of their guides.

    Called on requests (articles.middleware), so no job or worker is needed; the
    row lock makes sure two workers never apply the same revision twice.
    """
    applied = 0
    for pk in due_revisions().values_list("pk", flat=True):
        with transaction.atomic():
            revision = due_revisions().select_for_update().filter(pk=pk).first()
            if revision is not None:
                _replace_original(revision, revision.last_edited_by)
                applied += 1
    return applied


def set_status(article: Article, user, status: str) -> None:
    """Unpublish (back to draft), archive, or submit for review."""
    check_edit(user, article, status)
    if status == Article.Status.PUBLISHED:
        publish(article, user)
        return
    article.status = status
    article.last_edited_by = user
    article.save()


def flag_guides_citing(provision) -> int:
    """A cited provision's text changed: its published guides need a check."""
    citing = Article.objects.filter(
        status=Article.Status.PUBLISHED, citations__provision=provision
    ).values("pk")
    return Article.objects.filter(pk__in=citing).update(needs_review=True)
