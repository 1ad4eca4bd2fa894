"""Save-time effects: what each change editors make sets in motion, wherever it is
made (admin, bulk actions, import, revisions going live, the shell).

Event                                   Effects
--------------------------------------  ----------------------------------------------
Any guide, topic, section, citation,    content clock moves (ContentRevision.bump: the
related link, law, provision or tag     Last-Modified/ETag of public pages); after
saved or deleted; a guide's tags        the commit, front caches purged of the keys
changed                                 of what changed, once per transaction (the
                                        table in articles.purge; none without
                                        FRONT_CACHES)
A request starts                        scheduled guides gone live since the last
                                        check purged from front caches (no query
                                        until one is due)
Section saved (fixtures' too)           Markdown rendered and sanitised into body_html
Guide saved                             publish problem cleared when (re)scheduled;
                                        old public address → 301 to the new one (→ 410
                                        once archived), no redirect shadows the new
                                        one; reindexed; next-due cache forgotten
Guide deleted                           its public address answers 410; its document and
                                        its words in the vocabulary dropped first;
                                        next-due cache forgotten
Section or citation saved or deleted    its guide touched and reindexed (not while the
                                        whole guide is being deleted)
Related link saved or deleted           its guide touched
Change note saved or deleted            its guide touched (the guide's own parts'
                                        content clock and purge too)
Guide's tags added, removed, cleared    content clock; guide touched and reindexed
Topic's slug changed                    old topic and guide addresses → 301
Tag saved                               a name that slugifies to nothing gets a slug
Tag's slug changed (a rename, a merge)  old /tags/<slug>/ → 301 to the new one (which
                                        answers while the new page is not public);
                                        the tag at the new one purged
Existing tag saved (a rename)           its guides touched and reindexed
Tag deleted                             redirects to its page dropped; its guides
                                        touched and reindexed
Provision's text changed                published guides citing it flagged needs_review
Provision or law saved                  citing guides touched and reindexed
Guides changed by a queryset update()   content clock, schedules and front caches as
(import_guides: translation groups,     for a save (updating_guides())
dates)

"Touched" moves the guide's last-updated time (its "last updated" date, sitemap
lastmod), at once, in the transaction of the change: the stale-save check
(workflow.check_not_stale) reads that time under a row lock, so it must commit
together with the change that moved it.

"Reindexed" is batched per transaction: the guides are collected in one
transaction.on_commit() callback and each is reindexed once when the transaction
commits, however many of its parts changed (an admin save with ten inlines
reindexes the guide once). Outside a transaction (autocommit) on_commit runs at
once, so a lone save reindexes at once. A rolled-back transaction drops the
callback with its guides (a guide collected in a rolled-back savepoint may still be
reindexed: harmless, the index is rebuilt from what is saved). The reindex runs
after the commit, in its own transaction: if it fails, the save stands, the failure
is logged, and the guide's next save or `manage.py rebuild_search_index` catches up.
pytest-django's test transaction never commits; the test suite runs on_commit
callbacks as a real commit would (tests/conftest.py).

"Remember before, compare after": a pre_save (or pre_delete) receiver keeps what
the database holds, and the post_ receiver compares it with the new state; see
remember_before().
"""

import hashlib
import logging
from contextlib import contextmanager

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.signals import request_started
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete, pre_save
from django.dispatch import receiver
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.encoding import iri_to_uri
from taggit.models import Tag, TaggedItem

from . import purge, surrogate, workflow
from .markdown import render_markdown
from .models import (
    Article,
    Category,
    ChangeNote,
    Citation,
    ContentRevision,
    Law,
    LegalProvision,
    RelatedLink,
    Section,
)
from .redirects import GONE, clear_path, drop_redirects_to, record_move
from .search import indexing

logger = logging.getLogger(__name__)

CONTENT_MODELS = (
    Article,
    Category,
    ChangeNote,
    Citation,
    Law,
    LegalProvision,
    RelatedLink,
    Section,
    Tag,
)


# Helpers


def remember_before(event, model, name, read=None, raw_too=False) -> None:
    """Before each save or delete (`event`: pre_save or pre_delete) of `model`, keep
    what the database holds, so post_save or post_delete receivers can compare:
    remembered(instance, name).

    `read(pk)` reads it; by default the field `name` of the row. New rows remember
    None, and so do raw saves (fixtures; django-reversion writing a version back)
    unless `raw_too`.
    """
    if read is None:

        def read(pk):
            return model.objects.filter(pk=pk).values_list(name, flat=True).first()

    def remember(sender, instance, raw=False, **kwargs):
        skipped = (raw and not raw_too) or instance.pk is None
        value = None if skipped else read(instance.pk)
        setattr(instance, f"_before_{name}", value)

    # weak=False: `remember` lives only in this closure.
    event.connect(remember, sender=model, weak=False)


def remembered(instance, name):
    """What remember_before() kept for this save or delete (None if nothing)."""
    return getattr(instance, f"_before_{name}", None)


class _OnCommitBatch:
    """One transaction's on_commit callback that calls work(ids) once with every id
    collected meanwhile. Django keeps it exactly as long as the transaction (or the
    savepoint it was registered in) lives, so ids never outlive their transaction."""

    def __init__(self, work):
        self.work = work
        self.ids = set()

    def __call__(self):
        self.work(sorted(self.ids))


def once_on_commit(work, ids) -> None:
    """Call work(ids) when the current transaction commits, once for all the ids
    collected in it (at once outside a transaction)."""
    ids = set(ids)
    if not ids:
        return
    connection = transaction.get_connection()
    pending = next(
        (
            callback
            for _, callback, _ in connection.run_on_commit
            if isinstance(callback, _OnCommitBatch) and callback.work is work
        ),
        None,
    )
    if pending is not None:
        pending.ids |= ids
        return
    batch = _OnCommitBatch(work)
    batch.ids |= ids  # before on_commit(), which runs it at once in autocommit
    transaction.on_commit(batch)


def _reindex_committed(article_ids) -> None:
    try:
        indexing.index_articles(article_ids)
    except Exception:
        # The save is committed already: it stands, and the index catches up later.
        logger.exception(
            "The search index was not updated for guides %s; their next save or "
            "`manage.py rebuild_search_index` brings it up to date",
            article_ids,
        )


def reindex(article_ids) -> None:
    """Reindex these guides once, when the transaction commits."""
    once_on_commit(_reindex_committed, article_ids)


def touch(article_ids) -> None:
    """A guide's parts changed: its "last updated" date (and sitemap lastmod) moves."""
    Article.objects.filter(pk__in=list(article_ids)).update(updated_at=timezone.now())


def guides_changed(article_ids) -> None:
    """Something these guides show changed: move their date and reindex them."""
    article_ids = list(article_ids)
    touch(article_ids)
    reindex(article_ids)


def _whole_guide_deleted(origin) -> bool:
    """A deletion that started from an Article: its own receivers do the work once."""
    return isinstance(origin, Article) or getattr(origin, "model", None) is Article


# Content clock and rendering


def move_content_clock(**kwargs):
    ContentRevision.bump()


for model in CONTENT_MODELS:
    post_save.connect(move_content_clock, sender=model)
    post_delete.connect(move_content_clock, sender=model)


@receiver(pre_save, sender=Section)
def render_section_body(sender, instance, **kwargs):
    # A receiver rather than Section.save(): pre_save also runs for loaddata's
    # raw saves, so fixtures never carry stale or unsanitised HTML.
    instance.body_html = render_markdown(instance.body)


# Guides: schedule, addresses, index


@receiver(pre_save, sender=Article)
def clear_publish_problem(sender, instance, raw=False, **kwargs):
    if not raw:
        workflow.clear_publish_problem_when_rescheduled(instance)


@receiver(post_save, sender=Article)
@receiver(post_delete, sender=Article)
def forget_next_revision_due(sender, **kwargs):
    workflow.forget_next_revision_due()


def public_path_in_database(pk) -> str | None:
    """The guide's public address as saved, None unless it is published."""
    saved = Article.objects.select_related("category").filter(pk=pk).first()
    return saved.get_absolute_url() if saved is not None and saved.is_published() else None


remember_before(pre_save, Article, "public_path", read=public_path_in_database)


@receiver(post_save, sender=Article)
def redirect_moved_article(sender, instance, raw=False, **kwargs):
    if raw:
        return
    path = instance.get_absolute_url()
    previous = remembered(instance, "public_path")
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


@receiver(pre_delete, sender=Article)
def unindex_deleted_article(sender, instance, **kwargs):
    # Before the cascade removes its search document, so its words leave the
    # "Did you mean" vocabulary with it.
    indexing.unindex_articles([instance.pk])


@receiver(post_save, sender=Article)
@receiver(post_delete, sender=Article)
def reindex_article(sender, instance, **kwargs):
    reindex([instance.pk])


# A guide's parts


@receiver(post_save, sender=Section)
@receiver(post_delete, sender=Section)
@receiver(post_save, sender=Citation)
@receiver(post_delete, sender=Citation)
def reindex_parent_article(sender, instance, origin=None, raw=False, **kwargs):
    if _whole_guide_deleted(origin):
        return
    if raw:  # fixtures bring their own dates
        reindex([instance.article_id])
    else:
        guides_changed([instance.article_id])


@receiver(post_save, sender=RelatedLink)
@receiver(post_delete, sender=RelatedLink)
def touch_linking_article(sender, instance, origin=None, raw=False, **kwargs):
    if not raw and not _whole_guide_deleted(origin):
        touch([instance.from_article_id])


@receiver(post_save, sender=ChangeNote)
@receiver(post_delete, sender=ChangeNote)
def touch_noted_article(sender, instance, origin=None, raw=False, **kwargs):
    # Shown on the page and in its updates feed, not searched: no reindex.
    if not raw and not _whole_guide_deleted(origin):
        touch([instance.article_id])


@receiver(m2m_changed, sender=TaggedItem)
def reindex_retagged_article(sender, instance, action, **kwargs):
    if action in {"post_add", "post_remove", "post_clear"} and isinstance(instance, Article):
        ContentRevision.bump()
        guides_changed([instance.pk])


@contextmanager
def updating_guides(article_ids):
    """Around a queryset update() of these guides, which sends no signals: what
    saving each would do for public pages. The content clock moves, the schedules
    are read again, and after the commit the front caches are purged of each guide
    as it was before and as it is after (purge_guide). Only for fields that concern
    nothing else a save does (addresses, parts, the search index): a guide's
    translation group, its dates."""
    article_ids = set(article_ids)
    states = {pk: purge.saved_guide_state(pk) for pk in article_ids} if purge.enabled() else {}
    yield
    if not article_ids:
        return
    ContentRevision.bump()
    workflow.forget_next_revision_due()
    if purge.enabled():
        for article in Article.objects.filter(pk__in=article_ids):
            purge_guide(article, states[article.pk])


# Topics


remember_before(pre_save, Category, "slug")


@receiver(post_save, sender=Category)
def redirect_moved_category(sender, instance, raw=False, **kwargs):
    previous = remembered(instance, "slug")
    if raw or not previous or previous == instance.slug:
        return
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            record_move(f"/{code}/{previous}/", instance.get_absolute_url())
    guides = instance.articles.filter(status=Article.Status.PUBLISHED).values_list(
        "language", "slug"
    )
    for language, slug in guides:
        # Redirect rows hold addresses as requests carry them: percent-encoded.
        record_move(
            iri_to_uri(f"/{language}/{previous}/{slug}/"),
            iri_to_uri(f"/{language}/{instance.slug}/{slug}/"),
        )


# Tags: whatever renames or deletes one (the tag admin, a merge, the shell), its
# guides are reindexed and its old address follows it.


def tag_path(slug, language=None) -> str | None:
    """The public address of a tag in a language (by default the active one), or None
    for a slug the address pattern cannot carry."""
    try:
        with translation.override(language or translation.get_language()):
            return reverse("articles:tag", args=[slug])
    except NoReverseMatch:
        return None


def tag_paths(slug) -> list[str]:
    """The tag's address in every language (a tag's page exists per language)."""
    paths = [tag_path(slug, code) for code, _name in settings.LANGUAGES]
    return [path for path in paths if path]


def record_tag_move(old_slug, new_slug) -> None:
    for code, _name in settings.LANGUAGES:
        old_path, path = tag_path(old_slug, code), tag_path(new_slug, code)
        if old_path and path:
            record_move(old_path, path)
    if purge.enabled():
        # The tag now at new_slug shows what the old one did (a rename, a merge's target).
        tag_ids = Tag.objects.filter(slug=new_slug).values_list("pk", flat=True)
        purge.after_commit({surrogate.tag_key(pk) for pk in tag_ids})


def tagged_guide_ids(tag_id) -> list[int]:
    article_type = ContentType.objects.get_for_model(Article)
    return list(
        TaggedItem.objects.filter(tag_id=tag_id, content_type=article_type).values_list(
            "object_id", flat=True
        )
    )


remember_before(pre_save, Tag, "slug")
remember_before(pre_delete, Tag, "guide_ids", read=tagged_guide_ids)


@receiver(pre_save, sender=Tag)
def give_tag_a_slug(sender, instance, raw=False, **kwargs):
    # taggit slugifies the name, which leaves nothing of a name like "---": such a
    # tag still needs an address of its own.
    if not raw and not instance.slug.strip("-_"):
        digest = hashlib.sha256(instance.name.encode()).hexdigest()[:8]
        instance.slug = f"tag-{digest}{instance.slug}"


@receiver(post_save, sender=Tag)
def redirect_renamed_tag(sender, instance, created, raw=False, **kwargs):
    # A new tag leaves redirects from its address alone: they only answer while the
    # address has no public page (a tag only drafts use has none), and a rename that
    # lands on it clears them (record_move).
    previous = remembered(instance, "slug")
    if raw or previous is None or previous == instance.slug:
        return
    record_tag_move(previous, instance.slug)


@receiver(post_save, sender=Tag)
def reindex_renamed_tag(sender, instance, created, **kwargs):
    if not created:
        guides_changed(tagged_guide_ids(instance.pk))


@receiver(post_delete, sender=Tag)
def forget_deleted_tag(sender, instance, **kwargs):
    for path in tag_paths(instance.slug):  # old addresses would lead to a missing page
        drop_redirects_to(path)
    guides_changed(remembered(instance, "guide_ids") or [])


# Law


def provision_texts(provision) -> tuple:
    """The provision's wording in every language: a change to any needs a check."""
    return tuple(getattr(provision, column) for column in LegalProvision.text.fields)


# Raw saves too: restoring an older wording from the history is written back raw
# (django-reversion) before the form saves it again, unchanged by then.
remember_before(
    pre_save,
    LegalProvision,
    "texts",
    read=lambda pk: (
        LegalProvision.objects.filter(pk=pk).values_list(*LegalProvision.text.fields).first()
    ),
    raw_too=True,
)


@receiver(post_save, sender=LegalProvision)
def flag_guides_quoting_amended_law(sender, instance, raw=False, **kwargs):
    previous = remembered(instance, "texts")
    if previous is not None and previous != provision_texts(instance):
        workflow.flag_guides_citing(instance)


@receiver(post_save, sender=LegalProvision)
def reindex_citing_articles(sender, instance, **kwargs):
    guides_changed(instance.citations.values_list("article_id", flat=True))


@receiver(post_save, sender=Law)
def reindex_articles_citing_law(sender, instance, **kwargs):
    guides_changed(
        Citation.objects.filter(provision__law=instance).values_list("article_id", flat=True)
    )


# Front caches (articles.purge): after the commit, the keys of what changed.


def _when_purging(read):
    """A remember_before() reader that reads only when there are front caches."""
    return lambda pk: read(pk) if purge.enabled() else None


remember_before(pre_save, Article, "purge_state", read=_when_purging(purge.saved_guide_state))


def purge_guide(instance, state) -> None:
    """Purge a guide saved (as `instance`) whose row was `state` before
    (purge.saved_guide_state), when the transaction commits."""
    before = purge.keys_of_saved_state(instance.pk, state)
    keys = before | purge.translation_keys(instance, state)
    purge.guide_changed(instance.pk, was_public=bool(before), keys=keys)
    purge.forget_next_live()


@receiver(post_save, sender=Article)
def purge_saved_guide(sender, instance, **kwargs):
    if purge.enabled():
        purge_guide(instance, remembered(instance, "purge_state"))


@receiver(pre_delete, sender=Article)
def purge_deleted_guide(sender, instance, **kwargs):
    # Before the deletion takes its tags and citations (it runs in the deletion's
    # transaction, so the purge waits for its commit).
    if purge.enabled():
        purge.after_commit(purge.guide_keys([instance.pk]))


def law_keys_of_provisions(provision_ids) -> set[str]:
    law_ids = LegalProvision.objects.filter(pk__in=list(provision_ids)).values_list(
        "law_id", flat=True
    )
    return {surrogate.law_key(pk) for pk in law_ids}


remember_before(
    pre_save,
    Citation,
    "provision_id",
    read=_when_purging(
        lambda pk: Citation.objects.filter(pk=pk).values_list("provision_id", flat=True).first()
    ),
)


@receiver(post_save, sender=Section)
@receiver(post_delete, sender=Section)
@receiver(post_save, sender=Citation)
@receiver(post_delete, sender=Citation)
@receiver(post_save, sender=RelatedLink)
@receiver(post_delete, sender=RelatedLink)
@receiver(post_save, sender=ChangeNote)
@receiver(post_delete, sender=ChangeNote)
def purge_guide_of_part(sender, instance, origin=None, **kwargs):
    if not purge.enabled() or _whole_guide_deleted(origin):
        return
    if sender is RelatedLink:
        purge.guide_changed(instance.from_article_id)
        return
    if sender is ChangeNote:  # its page and its updates feed carry its guide's key
        purge.guide_changed(instance.article_id)
        return
    keys = set()
    if sender is Citation:  # the law it cited (the one it cites is read at commit)
        keys = law_keys_of_provisions({instance.provision_id, remembered(instance, "provision_id")})
    purge.guide_changed(instance.article_id, keys=keys)


@receiver(m2m_changed, sender=TaggedItem)
def purge_retagged_guide(sender, instance, action, pk_set=None, **kwargs):
    if not purge.enabled() or not isinstance(instance, Article):
        return
    if action == "pre_clear":
        instance._purge_cleared_tags = set(instance.tags.values_list("pk", flat=True))
    elif action in {"post_add", "post_remove", "post_clear"}:
        if action == "post_clear":
            pk_set = getattr(instance, "_purge_cleared_tags", set())
        purge.guide_changed(instance.pk, keys={surrogate.tag_key(pk) for pk in pk_set or ()})


def _purge_thing(key, kwargs, *, created_keys=()) -> None:
    """Purge a topic's, tag's or law's key; for a new or deleted one (no page
    carried its key before) also every listing key and `created_keys`."""
    if not purge.enabled():
        return
    keys = {key}
    if kwargs["signal"] is post_delete or kwargs.get("created"):
        keys |= purge.every_listing_key() | set(created_keys)
    purge.after_commit(keys)


@receiver(post_save, sender=Category)
@receiver(post_delete, sender=Category)
def purge_topic(sender, instance, **kwargs):
    _purge_thing(surrogate.topic_key(instance.pk), kwargs)


@receiver(post_save, sender=Tag)
@receiver(post_delete, sender=Tag)
def purge_tag(sender, instance, **kwargs):
    # A new tag is on no page until a guide carries it, and that guide's change
    # purges its language's listing: no need to purge every language's.
    if not kwargs.get("created"):
        _purge_thing(surrogate.tag_key(instance.pk), kwargs)


@receiver(post_save, sender=Law)
@receiver(post_delete, sender=Law)
def purge_law(sender, instance, **kwargs):
    _purge_thing(surrogate.law_key(instance.pk), kwargs, created_keys={surrogate.LAW_LIST_KEY})


@receiver(post_save, sender=LegalProvision)
@receiver(post_delete, sender=LegalProvision)
def purge_law_of_provision(sender, instance, **kwargs):
    purge.after_commit({surrogate.law_key(instance.law_id)})


@receiver(request_started)
def purge_guides_gone_live(sender, **kwargs):
    # A scheduled guide goes live with no save: the first request after its time
    # purges it (no query until then).
    if not purge.enabled():
        return
    try:
        purge.purge_guides_gone_live()
    except Exception:
        logger.exception("Checking for scheduled guides gone live failed")
