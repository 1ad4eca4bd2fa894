"""Save-time work: rendering section Markdown and keeping the search index in step."""

from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from django.dispatch import receiver
from taggit.models import Tag, TaggedItem

from .markdown import render_markdown
from .models import Article, Citation, Law, LegalProvision, Section
from .search.indexing import index_articles


@receiver(pre_save, sender=Section)
def render_section_body(sender, instance, **kwargs):
    # A receiver rather than Section.save(): pre_save also runs for loaddata's
    # raw saves, so fixtures never carry stale or unsanitised HTML.
    instance.body_html = render_markdown(instance.body)


@receiver(post_save, sender=Article)
@receiver(post_delete, sender=Article)
def reindex_article(sender, instance, **kwargs):
    index_articles([instance.pk])


@receiver(post_save, sender=Section)
@receiver(post_delete, sender=Section)
@receiver(post_save, sender=Citation)
@receiver(post_delete, sender=Citation)
def reindex_parent_article(sender, instance, origin=None, **kwargs):
    # When the whole guide is being deleted, its own post_delete reindexes once.
    if isinstance(origin, Article) or getattr(origin, "model", None) is Article:
        return
    index_articles([instance.article_id])


@receiver(m2m_changed, sender=TaggedItem)
def reindex_retagged_article(sender, instance, action, **kwargs):
    if action in {"post_add", "post_remove", "post_clear"} and isinstance(instance, Article):
        index_articles([instance.pk])


@receiver(post_save, sender=Tag)
def reindex_renamed_tag(sender, instance, created, **kwargs):
    if not created:
        index_articles(TaggedItem.objects.filter(tag=instance).values_list("object_id", flat=True))


@receiver(post_save, sender=LegalProvision)
def reindex_citing_articles(sender, instance, **kwargs):
    index_articles(instance.citations.values_list("article_id", flat=True))


@receiver(post_save, sender=Law)
def reindex_articles_citing_law(sender, instance, **kwargs):
    index_articles(
        Citation.objects.filter(provision__law=instance).values_list("article_id", flat=True)
    )
