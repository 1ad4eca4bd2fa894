"""Save-time work: rendering Markdown, keeping search, addresses and the content
revision in step with what editors change."""

from django.contrib.contenttypes.models import ContentType
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete, pre_save
from django.dispatch import receiver
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from taggit.models import Tag, TaggedItem

from .markdown import render_markdown
from .models import (
    Article,
    Category,
    Citation,
    ContentRevision,
    Law,
    LegalProvision,
    RelatedLink,
    Section,
)
from .redirects import GONE, clear_path, drop_redirects_to, record_move
from .search.indexing import index_articles
from .workflow import flag_guides_citing

CONTENT_MODELS = (Article, Category, Citation, Law, LegalProvision, RelatedLink, Section, Tag)


def _whole_guide_deleted(origin) -> bool:
    """A deletion that started from an Article: its own handlers do the work once."""
    return isinstance(origin, Article) or getattr(origin, "model", None) is Article


def _touch(article_ids) -> None:
    # A guide's parts changed: its "last updated" date (and sitemap lastmod) moves too.
    Article.objects.filter(pk__in=list(article_ids)).update(updated_at=timezone.now())


def _guides_changed(article_ids) -> None:
    """Something these guides show changed: move their date and reindex them."""
    article_ids = list(article_ids)
    _touch(article_ids)
    index_articles(article_ids)


def _previous_value(model, instance, field, raw):
    """The value of `field` in the database before this save (None for new rows)."""
    if raw or instance.pk is None:
        return None
    return model.objects.filter(pk=instance.pk).values_list(field, flat=True).first()


@receiver(pre_save, sender=Section)
def render_section_body(sender, instance, **kwargs):
    # A receiver rather than Section.save(): pre_save also runs for loaddata's
    # raw saves, so fixtures never carry stale or unsanitised HTML.
    instance.body_html = render_markdown(instance.body)


for model in CONTENT_MODELS:
    post_save.connect(lambda **kwargs: ContentRevision.bump(), sender=model, weak=False)
    post_delete.connect(lambda **kwargs: ContentRevision.bump(), sender=model, weak=False)


# Addresses


@receiver(pre_save, sender=Article)
def remember_public_path(sender, instance, raw=False, **kwargs):
    instance._previous_public_path = None
    if raw or instance.pk is None:
        return
    previous = Article.objects.select_related("category").filter(pk=instance.pk).first()
    if previous is not None and previous.is_published():
        instance._previous_public_path = previous.get_absolute_url()


@receiver(post_save, sender=Article)
def redirect_moved_article(sender, instance, raw=False, **kwargs):
    if raw:
        return
    path = instance.get_absolute_url()
    previous = getattr(instance, "_previous_public_path", None)
    if instance.status == Article.Status.ARCHIVED:
        if previous:  # an archived guide is gone for citizens, like a deleted one
            record_move(previous, GONE)
        return
    if previous and previous != path:
        record_move(previous, path)
    if instance.status == Article.Status.PUBLISHED:
        clear_path(path)


@receiver(pre_delete, sender=Article)
def mark_deleted_article_gone(sender, instance, **kwargs):
    if instance.status == Article.Status.PUBLISHED and instance.draft_of_id is None:
        record_move(instance.get_absolute_url(), GONE)


@receiver(pre_save, sender=Category)
def remember_category_slug(sender, instance, raw=False, **kwargs):
    instance._previous_slug = _previous_value(Category, instance, "slug", raw)


@receiver(post_save, sender=Category)
def redirect_moved_category(sender, instance, raw=False, **kwargs):
    previous = getattr(instance, "_previous_slug", None)
    if raw or not previous or previous == instance.slug:
        return
    record_move(f"/{previous}/", instance.get_absolute_url())
    guides = instance.articles.filter(status=Article.Status.PUBLISHED).values_list(
        "slug", flat=True
    )
    for slug in guides:
        record_move(f"/{previous}/{slug}/", f"/{instance.slug}/{slug}/")


# Search index and "last updated"


@receiver(post_save, sender=Article)
@receiver(post_delete, sender=Article)
def reindex_article(sender, instance, **kwargs):
    index_articles([instance.pk])


@receiver(post_save, sender=Section)
@receiver(post_delete, sender=Section)
@receiver(post_save, sender=Citation)
@receiver(post_delete, sender=Citation)
def reindex_parent_article(sender, instance, origin=None, raw=False, **kwargs):
    if _whole_guide_deleted(origin):
        return
    if raw:  # fixtures bring their own dates
        index_articles([instance.article_id])
    else:
        _guides_changed([instance.article_id])


@receiver(post_save, sender=RelatedLink)
@receiver(post_delete, sender=RelatedLink)
def touch_linking_article(sender, instance, origin=None, raw=False, **kwargs):
    if not raw and not _whole_guide_deleted(origin):
        _touch([instance.from_article_id])


@receiver(m2m_changed, sender=TaggedItem)
def reindex_retagged_article(sender, instance, action, **kwargs):
    if action in {"post_add", "post_remove", "post_clear"} and isinstance(instance, Article):
        ContentRevision.bump()
        _guides_changed([instance.pk])


# Tags: whatever renames or deletes one (the tag admin, a merge, the shell), its
# guides are reindexed and its old address follows it.


def tag_path(slug) -> str | None:
    """The public address of a tag, or None for a slug the address pattern cannot carry."""
    try:
        return reverse("articles:tag", args=[slug])
    except NoReverseMatch:
        return None


def tagged_guide_ids(tag) -> list[int]:
    article_type = ContentType.objects.get_for_model(Article)
    return list(
        TaggedItem.objects.filter(tag=tag, content_type=article_type).values_list(
            "object_id", flat=True
        )
    )


@receiver(pre_save, sender=Tag)
def remember_tag_slug(sender, instance, raw=False, **kwargs):
    instance._previous_slug = _previous_value(Tag, instance, "slug", raw)


@receiver(post_save, sender=Tag)
def redirect_renamed_tag(sender, instance, created, raw=False, **kwargs):
    previous = getattr(instance, "_previous_slug", None)
    moved = previous is not None and previous != instance.slug
    path = tag_path(instance.slug)
    if raw or path is None or not (created or moved):
        return
    old_path = tag_path(previous) if moved else None
    if old_path:
        record_move(old_path, path)
    else:  # a page is live here now: no old redirect or 410 may shadow it
        clear_path(path)


@receiver(post_save, sender=Tag)
def reindex_renamed_tag(sender, instance, created, **kwargs):
    if not created:
        _guides_changed(tagged_guide_ids(instance))


@receiver(pre_delete, sender=Tag)
def remember_guides_of_deleted_tag(sender, instance, **kwargs):
    instance._guide_ids = tagged_guide_ids(instance)


@receiver(post_delete, sender=Tag)
def forget_deleted_tag(sender, instance, **kwargs):
    path = tag_path(instance.slug)
    if path:  # old addresses of the tag would lead to a missing page
        drop_redirects_to(path)
    _guides_changed(getattr(instance, "_guide_ids", []))


@receiver(pre_save, sender=LegalProvision)
def remember_provision_text(sender, instance, raw=False, **kwargs):
    instance._previous_text = _previous_value(LegalProvision, instance, "text", raw)


@receiver(post_save, sender=LegalProvision)
def flag_guides_quoting_amended_law(sender, instance, raw=False, **kwargs):
    previous = getattr(instance, "_previous_text", None)
    if not raw and previous is not None and previous != instance.text:
        flag_guides_citing(instance)


@receiver(post_save, sender=LegalProvision)
def reindex_citing_articles(sender, instance, **kwargs):
    _guides_changed(instance.citations.values_list("article_id", flat=True))


@receiver(post_save, sender=Law)
def reindex_articles_citing_law(sender, instance, **kwargs):
    _guides_changed(
        Citation.objects.filter(provision__law=instance).values_list("article_id", flat=True)
    )
