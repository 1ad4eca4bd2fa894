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
        for section in article.sections.all():
            section.pk = None
            section.article = copy
            section.save()
        for citation in article.citations.all():
            citation.pk = None
            citation.article = copy
            citation.save()
        for link in article.related_links.all():
            link.pk = None
            link.from_article = copy
            link.save()
        copy.tags.set(article.tags.all())
    return copy


def publish(article: Article, user, when=None) -> Article:
    """Publish `article` (now, or at `when`). A draft revision replaces the guide it
    revises, keeping that guide's address and history, and is then removed."""
    if not can_publish(user):
        raise PermissionDenied(_("Only a Publisher can publish a guide."))
    if article.draft_of_id is None:
        article.status = Article.Status.PUBLISHED
        article.published_at = when or article.published_at or timezone.now()
        if when is None and article.published_at > timezone.now():
            article.published_at = timezone.now()
        article.last_edited_by = user
        article.save()
        return article
    original = article.draft_of
    with transaction.atomic():
        for field in ["title", "summary", "category", "previous_article", "next_article",
                      "owner", "review_by"]:  # fmt: skip
            setattr(original, field, getattr(article, field))
        original.sections.all().delete()
        original.citations.all().delete()
        original.related_links.all().delete()
        article.sections.update(article=original)
        article.citations.update(article=original)
        article.related_links.update(from_article=original)
        original.tags.set(article.tags.all())
        original.status = Article.Status.PUBLISHED
        original.needs_review = False
        original.last_edited_by = user
        original.save()
        article.delete()
    return original


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
