"""The editorial workflow's rules, enforced on every path (admin forms, bulk actions,
import): who may set which status, draft revisions of published guides, refusing a
save started from an outdated version, and flagging guides whose cited law changed.

Editors write drafts and submit them for review; Publishers (the
articles.publish_article permission) also publish, schedule, unpublish and
archive. A published guide is changed through a draft revision, so the public
page changes only when a Publisher publishes it.

Citizens see what changed: a major edit of a public guide carries a change note
(record_change_note), a draft revision's goes live with it; and when the guide was
last reviewed (mark_reviewed).
"""

import hashlib
import json
import logging
import math
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_permission_codename
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from reversion.models import Version

from . import checks
from .middleware import is_database_busy
from .models import Article, ChangeNote, RelatedLink

logger = logging.getLogger(__name__)

PUBLISH_PERMISSION = "articles.publish_article"

# Fields only a Publisher may set or change, on every path: the change form keeps
# them read-only for Editors, history restores and imports refuse them.
PUBLISHER_ONLY_FIELDS = ["published_at", "needs_review"]

# When the next scheduled revision is due (a POSIX timestamp; math.inf: none is),
# so that requests check the schedule without a query.
NEXT_DUE_CACHE_KEY = "articles:workflow:next-revision-due"
# Each process re-reads the schedule at least this often: a local-memory cache is
# per process, and an invalidation can race a concurrent read.
NEXT_DUE_MAX_AGE = 60
# After a failure that may pass (a locked database), requests wait this long before
# trying again, rather than each one waiting for the lock.
RETRY_AFTER_FAILURE = 30

# What a draft revision hands over to the guide it replaces (its parts move too).
# Language and translation group never differ between a revision and its guide:
# they stay the guide's. So does its last review date (reviewed_at): a review
# attests the live guide. The revision's change note moves to the guide, dated when
# the revision goes live.
REVISED_FIELDS = [
    "title",
    "summary",
    "category",
    "previous_article",
    "next_article",
    # A law change flags the guide and its revisions citing the provision alike
    # (flag_guides_citing): the revision's flag is current, and "Confirm reviewed"
    # on the revision clears it.
    "needs_review",
]
# Bookkeeping a draft revision hands over only where it changed it (revision_base):
# where it did not, the guide's own value stands, changed meanwhile or not (a review
# moves the review date, a major change on the live guide moves its translations'
# clock). So the guide's translations are outdated, or a translation up to date,
# exactly as the two say together (articles.translation).
MERGED_FIELDS = ["owner_id", "review_by", "major_change_at", "source_change_followed"]


class RevisionNotApplied(ValidationError):
    """A draft revision could not replace its guide; it went back to review with the
    reason in its publish_problem. A ValidationError, so forms and admin actions
    show the reason as they show any refusal."""


class StaleEdit(ValidationError):
    """A save started from an older version of the guide than the saved one: refused,
    so nothing saved meanwhile is overwritten. `changes` are the readable lines on
    what changed meanwhile (versioning.changes_since); the message lists them."""

    def __init__(self, changes: list[str]):
        self.changes = changes
        listed = (
            format_html_join("", "<li>{}</li>", ((change,) for change in changes))
            if changes
            else format_html("<li>{}</li>", _("its sections or links"))
        )
        super().__init__(
            format_html(
                "{}<ul>{}</ul>{}",
                _(
                    "Someone else saved this guide after you opened it; your changes "
                    "were not saved, so nothing of theirs was overwritten. "
                    "What changed meanwhile:"
                ),
                listed,
                _("Copy your edits, reload the page, and apply them again."),
            )
        )


def permission_name(model, action: str) -> str:
    """ "app_label.<action>_<model>", the name user.has_perm() takes."""
    return f"{model._meta.app_label}.{get_permission_codename(action, model._meta)}"


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


def check_not_stale(article: Article, edited_version: str) -> None:
    """Raise StaleEdit unless `edited_version`, the guide's last-updated time when the
    editor opened it (an ISO time), is still its last-updated time.

    Every save of the guide moves that time, its parts' included (articles.signals).
    The row stays locked until the caller's transaction ends, so two saves started
    from the same version cannot both pass.
    """
    current = (
        Article.objects.select_for_update()
        .filter(pk=article.pk)
        .values_list("updated_at", flat=True)
        .first()
    )
    if current is None or edited_version == current.isoformat():
        return
    # Here, not at the top: versioning imports this module for its rules.
    from .versioning import changes_since

    raise StaleEdit(changes_since(article, edited_version))


def prepare_draft_revision(article: Article, user) -> Article:
    """A private copy of a published guide, with its sections, citations, tags and
    related links, to edit and then publish in its place.

    The guide's existing revision is returned instead of a second one; a revision is
    already a private copy, so it is returned itself (a revision of a revision would
    replace the revision, not the public guide).
    """
    if article.draft_of_id is not None:
        return article
    existing = article.draft_revisions.first()
    if existing is not None:
        return existing
    with transaction.atomic():
        copy = Article.objects.get(pk=article.pk)
        base = revision_base(copy)  # the guide as saved, read before it becomes the copy
        copy.pk = None
        copy.draft_of = article
        copy.status = Article.Status.DRAFT
        copy.published_at = None
        copy.slug = f"{article.slug[:130]}-draft-{article.pk}"
        copy.last_edited_by = user
        copy.revision_base = base
        copy.save()
        # Saved one by one (not bulk_create) so sections render and the index follows.
        # The guide's links never point at itself (database constraints), so the copy's
        # never point at the guide it revises.
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
    when its time comes: now, or later through apply_due_revisions(). A revision
    that cannot (see revision_problem) goes back to review with the reason, and
    RevisionNotApplied is raised.
    """
    if user is not None and not can_publish(user):
        raise PermissionDenied(_("Only a Publisher can publish a guide."))
    due = when or article.published_at
    if article.draft_of_id is None or (due is not None and due > timezone.now()):
        # A guide goes live at its time; a revision due later waits for its time,
        # if it could replace its guide today.
        if article.draft_of_id is None:
            refusal = checks.publishing_refusal(checks.check_guide(article))
            if refusal:
                raise ValidationError(refusal)
        problem = revision_problem(article) if article.draft_of_id is not None else ""
        if problem:
            send_back_to_review(article.pk, problem)
            raise RevisionNotApplied(problem)
        article.status = Article.Status.PUBLISHED
        article.published_at = due  # Article.save(): none means now
        article.last_edited_by = user or article.last_edited_by
        article.save()
        return article
    try:
        with transaction.atomic():
            return _replace_original(article, user or article.last_edited_by)
    except Exception as error:
        if is_database_busy(error):
            raise  # not the revision's fault: the page says to try again
        reason = _not_applied(article.pk, error)
        raise RevisionNotApplied(reason) from error


def revision_problem(revision: Article) -> str:
    """Why `revision` cannot replace its guide now ("" when it can).

    Its guide must still be published (live or scheduled): one archived or
    unpublished meanwhile stays as the Publisher left it. (A deleted guide takes its
    revisions with it.) It must be in that guide's language and translation group.
    And no link of the revision may point at that guide, which it is about to become.
    Nor may it fail the checks before publishing (articles.checks: their errors).
    """
    original = revision.draft_of
    if original.status != Article.Status.PUBLISHED:
        # Replacing it would silently bring back a guide taken down meanwhile.
        return _(
            "The guide it revises, “%(title)s”, is no longer published (%(status)s). "
            "Publish that guide again first if it should be public."
        ) % {"title": original.title, "status": original.get_status_display().lower()}
    if (revision.language, revision.translation_group) != (
        original.language,
        original.translation_group,
    ):
        # Only a path outside the admin could cause it; the guide keeps its own.
        return _(
            "It is not in the language of the guide it revises (%(language)s): "
            "prepare a new draft revision."
        ) % {"language": original.get_language_display()}
    changed = live_change_problem(revision)
    if changed:
        return changed
    if original.pk in {revision.previous_article_id, revision.next_article_id}:
        return _(
            "Its previous or next guide is the guide it revises: choose another one "
            "or leave it empty."
        )
    if RelatedLink.objects.filter(from_article=revision, to_article=original).exists():
        return _("Its related guides list the guide it revises: remove that one from the list.")
    # The checks before publishing (articles.checks): their errors block it.
    return checks.publishing_refusal(checks.check_guide(revision))


# What a draft revision replaces of its guide and citizens see, part by part: its
# texts and category, previous and next guides, sections, citations, related guides
# and tags (by identity: renaming or merging a tag changes a guide and its revision
# alike). Not its review dates, owner or status.
_CONTENT_PARTS = {
    "texts": lambda article: [article.title, article.summary, article.category_id],
    "neighbours": lambda article: [article.previous_article_id, article.next_article_id],
    "sections": lambda article: list(
        article.sections.order_by("position", "pk").values_list("kind", "heading", "body")
    ),
    "citations": lambda article: list(
        article.citations.order_by("position", "pk").values_list("provision_id", flat=True)
    ),
    "related": lambda article: list(
        article.related_links.order_by("position", "pk").values_list("to_article_id", flat=True)
    ),
    "tags": lambda article: sorted(article.tags.values_list("pk", flat=True)),
}


def public_content_parts(article: Article) -> dict[str, str]:
    """_CONTENT_PARTS of `article`, each as a digest."""
    return {
        name: hashlib.sha256(json.dumps(read(article), default=str).encode()).hexdigest()
        for name, read in _CONTENT_PARTS.items()
    }


def unknown_revision_base() -> dict:
    """The base of a revision whose starting point is lost (one recovered from the
    history after it was deleted, perhaps after it went live): every part of it
    that differs from its guide is told once before it can replace the guide."""
    return {"parts": dict.fromkeys(_CONTENT_PARTS, ""), "at": timezone.now().isoformat()}


def _plain(value):
    """A field value as revision_base keeps it (JSON)."""
    return value.isoformat() if hasattr(value, "isoformat") else value


def revision_base(article: Article) -> dict:
    """What a draft revision prepared from `article` now starts from."""
    return {
        "parts": public_content_parts(article),
        "at": timezone.now().isoformat(),
        "fields": {name: _plain(getattr(article, name)) for name in MERGED_FIELDS},
    }


def live_change_problem(revision: Article) -> str:
    """Why `revision` must not replace its guide yet, if that guide's content changed
    since the revision was prepared from it: the change would be undone unseen. ("" when
    unchanged, or when not known.) Said once: send_back_to_review() takes the guide as
    it is now as the revision's starting point, so publishing it again goes ahead."""
    original, base = revision.draft_of, revision.revision_base or {}
    if not base.get("parts"):
        return ""
    now = public_content_parts(original)
    if now == base["parts"]:
        return ""
    # A part changed on the guide is undone only if the revision differs there (the
    # Publisher may have brought the change in already; a tag merge changes both).
    own = public_content_parts(revision)
    if all(now[name] in (base["parts"].get(name), own[name]) for name in now):
        return ""
    since = datetime.fromisoformat(base["at"])
    saved_by = []
    for version in (
        Version.objects.get_for_object(original)
        .filter(revision__date_created__gt=since, revision__user__isnull=False)
        .select_related("revision__user")
        .order_by("revision__date_created")
    ):
        if version.revision.user.get_username() not in saved_by:
            saved_by.append(version.revision.user.get_username())
    values = {
        "title": original.title,
        "since": timezone.localtime(since).strftime("%Y-%m-%d %H:%M"),
        "users": ", ".join(saved_by),
    }
    if saved_by:
        return (
            _(
                "The guide it revises, “%(title)s”, was changed after %(since)s, when this "
                "revision was prepared from it or last sent back (saved since by %(users)s); "
                "publishing the revision would undo those changes. Compare them in the "
                "guide's history, bring them into this revision if they should stay, then "
                "publish the revision again."
            )
            % values
        )
    return (
        _(
            "The guide it revises, “%(title)s”, was changed after %(since)s, when this "
            "revision was prepared from it or last sent back; publishing the revision would "
            "undo those changes. Compare them in the guide's history, bring them into this "
            "revision if they should stay, then publish the revision again."
        )
        % values
    )


def _merge_bookkeeping(revision: Article, original: Article) -> None:
    """MERGED_FIELDS: the revision's value where it changed it, else the guide's."""
    base = (revision.revision_base or {}).get("fields")
    for name in MERGED_FIELDS:
        value = getattr(revision, name)
        if base is None or name not in base or _plain(value) != base[name]:
            setattr(original, name, value)


def _replace_original(revision: Article, user) -> Article:
    problem = revision_problem(revision)
    if problem:
        raise RevisionNotApplied(problem)
    original = revision.draft_of
    with transaction.atomic():
        for field in REVISED_FIELDS:
            setattr(original, field, getattr(revision, field))
        _merge_bookkeeping(revision, original)
        original.sections.all().delete()
        original.citations.all().delete()
        original.related_links.all().delete()
        revision.sections.update(article=original)
        revision.citations.update(article=original)
        revision.related_links.update(from_article=original)
        # Its change note tells citizens what changed from now: dated when it goes live.
        revision.change_notes.update(article=original, made_at=went_live_at(revision))
        original.tags.set(revision.tags.all())
        original.status = Article.Status.PUBLISHED
        original.last_edited_by = user
        original.save()
        revision.delete()
    return original


def went_live_at(revision: Article):
    """When a revision being applied goes live: its publish time when it was scheduled
    and that time has come (apply_due_revisions runs on the first request after it),
    else now (published at once)."""
    now = timezone.now()
    scheduled = revision.status == Article.Status.PUBLISHED and revision.published_at
    return revision.published_at if scheduled and revision.published_at <= now else now


def _not_applied(revision_pk: int, error: Exception) -> str:
    """Log why a revision was not applied and send it back to review; the reason."""
    expected = isinstance(error, RevisionNotApplied)
    reason = (
        " ".join(error.messages)
        if expected
        else _("It could not be put in place (%(error)s): %(detail)s")
        % {"error": type(error).__name__, "detail": error}
    )
    logger.error(
        "Revision %s was not applied and went back to review: %s",
        revision_pk,
        reason,
        exc_info=None if expected else error,  # a traceback only for the unforeseen
    )
    send_back_to_review(revision_pk, reason)
    return reason


def send_back_to_review(revision_pk: int, reason: str) -> None:
    """Take a revision off the schedule, keeping its intended publish time, with
    the reason shown in the admin (publish_problem)."""
    revision = (
        Article.objects.filter(pk=revision_pk, draft_of__isnull=False)
        .select_related("draft_of")
        .first()
    )
    if revision is None:
        return
    changed = live_change_problem(revision)
    if changed and changed not in reason:
        reason = f"{reason} {changed}"
    if changed:
        # Told now: the guide's content as it is becomes the revision's starting
        # point (its bookkeeping base stays: the revision's own changes to it count).
        now = revision_base(revision.draft_of)
        revision.revision_base = {**revision.revision_base, "parts": now["parts"], "at": now["at"]}
    revision.status = Article.Status.IN_REVIEW
    revision.publish_problem = reason
    # A save, not an update(): "last updated" moves (an open form of it is now stale)
    # and the schedule's cache is invalidated by the signal.
    revision.save(update_fields=["status", "publish_problem", "revision_base", "updated_at"])


def due_revisions():
    return Article.objects.filter(
        draft_of__isnull=False, status=Article.Status.PUBLISHED, published_at__lte=timezone.now()
    )


def apply_due_revisions() -> int:
    """Put scheduled draft revisions whose time has come in place of their guides.

    Each revision is applied in its own savepoint: one that fails is rolled back,
    logged, and sent back to review with the reason, and the others still go live.
    The row lock makes sure two workers never apply the same revision twice. A
    locked database is raised to the caller: it is no fault of the revision.
    """
    applied = 0
    for pk in due_revisions().values_list("pk", flat=True):
        try:
            with transaction.atomic():
                revision = due_revisions().select_for_update().filter(pk=pk).first()
                if revision is None:  # applied or changed meanwhile
                    continue
                _replace_original(revision, revision.last_edited_by)
        except Exception as error:
            if is_database_busy(error):
                raise
            _not_applied(pk, error)
            continue
        applied += 1
    return applied


def next_revision_due() -> float:
    """When the next scheduled revision is due (a timestamp, math.inf if none is);
    one query, remembered in the cache. The partial index of draft revisions
    (article_revision_due_idx) serves it: it reads no guide, however many there are."""
    moment = (
        Article.objects.filter(draft_of__isnull=False, status=Article.Status.PUBLISHED)
        .order_by("published_at")
        .values_list("published_at", flat=True)
        .first()
    )
    next_due = moment.timestamp() if moment is not None else math.inf
    cache.set(NEXT_DUE_CACHE_KEY, next_due, NEXT_DUE_MAX_AGE)
    return next_due


def apply_due_revisions_when_due() -> int:
    """The check made on every request: no query until a revision's time has come
    (the next due time is cached), and never an exception.

    A failure to apply is logged; after one that may pass (a locked database) the
    next try waits RETRY_AFTER_FAILURE seconds, so requests do not queue on the lock.
    """
    try:
        next_due = cache.get(NEXT_DUE_CACHE_KEY)
        if next_due is None:
            next_due = next_revision_due()
        if next_due > timezone.now().timestamp():
            return 0
        applied = apply_due_revisions()
        next_revision_due()
        return applied
    except Exception as error:
        if is_database_busy(error):
            logger.warning(
                "Due revisions wait for the database (%s); trying again in %s s",
                error,
                RETRY_AFTER_FAILURE,
            )
        else:
            logger.exception(
                "Due revisions could not be applied; trying again in %s s", RETRY_AFTER_FAILURE
            )
        try:
            retry_at = timezone.now().timestamp() + RETRY_AFTER_FAILURE
            cache.set(NEXT_DUE_CACHE_KEY, retry_at, RETRY_AFTER_FAILURE)
        except Exception:
            logger.exception("The cache is unavailable too")
        return 0


def forget_next_revision_due() -> None:
    """A guide was saved or deleted, which may change the schedule: read it again.

    Again after the commit too, so a request that read the schedule before the
    commit does not keep the old one. (Called by articles.signals on every save.)
    """
    cache.delete(NEXT_DUE_CACHE_KEY)
    transaction.on_commit(lambda: cache.delete(NEXT_DUE_CACHE_KEY), robust=True)


def clear_publish_problem_when_rescheduled(article: Article) -> None:
    """A revision put back on the schedule (from any path) starts with no problem.
    (Called by articles.signals before every save.)"""
    if article.status == Article.Status.PUBLISHED:
        article.publish_problem = ""


def set_status(article: Article, user, status: str) -> None:
    """Unpublish (back to draft), archive, or submit for review."""
    check_edit(user, article, status)
    if status == Article.Status.PUBLISHED:
        publish(article, user)
        return
    article.status = status
    article.last_edited_by = user
    article.save()


def takes_change_note(article: Article | None) -> bool:
    """Whether an edit of `article` may tell citizens what changed (the change form's
    "Public change note"): a guide that is public, or a draft revision of one. A new
    guide, or one never public, has nothing to update: its first publication is its
    first entry."""
    if article is None or article.pk is None:
        return False
    if article.draft_of_id is not None:
        return article.draft_of.is_published()
    return article.is_published()


def record_change_note(article: Article, text: str) -> None:
    """Record the edit just saved as a change citizens can see (`text`), or as a minor
    one (empty `text`).

    On a public guide a note is added, dated now. A draft revision keeps one note at
    most, the latest wording, replaced by each save (removed by a save without one);
    it moves to the guide when the revision goes live (_replace_original)."""
    text = text.strip()
    if article.draft_of_id is None:
        if text:
            ChangeNote.objects.create(article=article, note=text)
        return
    waiting = list(article.change_notes.all())
    if not text:
        for note in waiting:
            note.delete()
        return
    first, *others = waiting or [ChangeNote(article=article)]
    first.note, first.made_at = text, timezone.now()
    first.save()
    for note in others:
        note.delete()


def mark_reviewed(article: Article, user, *, law_change_confirmed: bool = False) -> None:
    """Someone checked that `article` is still true: it shows "Last reviewed" today, and
    a review date that has come (or none) moves REVIEW_INTERVAL_DAYS on; a later one
    stays. Saved as any change (content clock, front-cache purge, history).

    Editors may mark guides they did not write, public ones included: it attests the
    content, it changes none of it. A guide flagged by a change in a law it cites
    (needs_review) is for a Publisher to confirm (law_change_confirmed), which also
    clears the flag. A draft revision is not reviewed itself, its guide is: confirming
    one only clears the flag it copied from its guide."""
    if not user.has_perm(permission_name(Article, "change")):
        raise PermissionDenied(_("You may not change guides."))
    if law_change_confirmed:
        if not can_publish(user):
            raise PermissionDenied(_("Only a Publisher can confirm a guide after a law change."))
        article.needs_review = False
    if article.draft_of_id is not None:
        if law_change_confirmed:
            article.save()
            return
        raise ValidationError(
            _("A draft revision is not reviewed itself: mark the published guide it revises.")
        )
    if article.needs_review:
        raise ValidationError(
            _("A law it cites changed: a Publisher must check it and use “Confirm reviewed”.")
        )
    today = timezone.localdate()
    article.reviewed_at = today
    if article.review_by is None or article.review_by <= today:
        article.review_by = today + timedelta(days=settings.REVIEW_INTERVAL_DAYS)
    article.save()


def flag_guides_citing(provision) -> int:
    """A cited provision's text changed: its published guides need a check, and so do
    the draft revisions that cite it (a revision hands its flag to its guide when it
    goes live: REVISED_FIELDS)."""
    citing = Article.objects.filter(
        Q(status=Article.Status.PUBLISHED) | Q(draft_of__isnull=False),
        citations__provision=provision,
    ).values("pk")
    return Article.objects.filter(pk__in=citing).update(needs_review=True)
