"""Language versions of a guide: the one home of their rules.

Each language version of a guide is a row of its own; the versions of one guide
share a `translation_group`. An original has an empty `translated_from`; a
translation names the language of its source version. When the source gets a major
change (its `major_change_at` moves), each translation whose `source_change_followed`
is older becomes outdated until someone brings it up to date and says so.

Each language of a guide is in one state (LanguageState): the original is the
*source*; a language with no version is *missing*; a translation not yet published
(draft, in review, archived) is a *draft*; a published translation is *outdated* or
*up to date*. The same rules exist twice, side by side: in Python for guides already
loaded (language_statuses), and as queryset filters (Translation filter of the
admin); tests/test_translation_workflow.py checks that they agree.

Draft revisions (draft_of set) never count as a language version: they share their
guide's group and language, and only carry their major_change_at and
source_change_followed over to the guide when they replace it (workflow).
"""

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import Exists, F, OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.encoding import iri_to_uri
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from reversion.errors import RevertError

from . import workflow
from .models import MAX_ADDRESS_LENGTH, Article, RelatedLink, Section

# What the status of a language reads from each version of the group.
STATUS_FIELDS = [
    "pk",
    "title",
    "language",
    "status",
    "translated_from",
    "major_change_at",
    "source_change_followed",
    "translation_group",
]


class LanguageState(models.TextChoices):
    SOURCE = "source", gettext_lazy("source")
    MISSING = "missing", gettext_lazy("missing")
    DRAFT = "draft", gettext_lazy("draft")
    OUTDATED = "outdated", gettext_lazy("outdated")
    UP_TO_DATE = "up-to-date", gettext_lazy("up to date")


@dataclass(frozen=True)
class LanguageStatus:
    """One language of a guide: its code and name, its state, and its version
    (None when missing)."""

    code: str
    name: str
    state: LanguageState
    version: Article | None


def language_names() -> dict[str, str]:
    return dict(settings.LANGUAGES)


def language_name(code: str) -> str:
    return language_names().get(code, code)


def is_outdated(translation: Article, source: Article | None) -> bool:
    """Whether a translation's text is older than its source's last major change."""
    if source is None or source.major_change_at is None:
        return False
    followed = translation.source_change_followed
    return followed is None or followed < source.major_change_at


def state_of(version: Article | None, by_language: dict[str, Article]) -> LanguageState:
    """The state of one language version among its group's versions (by language)."""
    if version is None:
        return LanguageState.MISSING
    if not version.translated_from:
        return LanguageState.SOURCE
    if version.status != Article.Status.PUBLISHED:
        return LanguageState.DRAFT
    if is_outdated(version, by_language.get(version.translated_from)):
        return LanguageState.OUTDATED
    return LanguageState.UP_TO_DATE


def _statuses(members) -> list[LanguageStatus]:
    by_language = {member.language: member for member in members}
    return [
        LanguageStatus(
            code, name, state_of(by_language.get(code), by_language), by_language.get(code)
        )
        for code, name in settings.LANGUAGES
    ]


def group_versions(groups):
    """The language versions (not draft revisions) of the given translation groups,
    in one query: {group: [version, …]}."""
    found = {}
    versions = Article.objects.filter(
        translation_group__in=set(groups), draft_of__isnull=True
    ).only(*STATUS_FIELDS)
    for version in versions:
        found.setdefault(version.translation_group, []).append(version)
    return found


def attach_statuses(articles) -> None:
    """Work out the statuses of every language of each guide in `articles` (a page of
    the changelist) with one query; language_statuses() then reads them."""
    articles = list(articles)
    members = group_versions(article.translation_group for article in articles)
    for article in articles:
        article._language_statuses = _statuses(members.get(article.translation_group, []))


def language_statuses(article: Article) -> list[LanguageStatus]:
    """Each site language of `article`'s guide with its state, in LANGUAGES order.

    One query, unless attach_statuses() has done it for a whole page. A draft
    revision shows its guide's statuses; a guide not saved yet has only its own
    language (as source)."""
    if not hasattr(article, "_language_statuses"):
        if article.pk is None:
            article._language_statuses = _statuses([article])
        else:
            attach_statuses([article])
    return article._language_statuses


def missing_languages(article: Article) -> list[tuple[str, str]]:
    """(code, name) of the languages a translation could be started in."""
    if article.pk is None or article.draft_of_id is not None:
        return []
    return [
        (status.code, status.name)
        for status in language_statuses(article)
        if status.state == LanguageState.MISSING
    ]


def source_of(article: Article) -> Article | None:
    """The version a translation is translated from (None for an original, or when
    that version no longer exists)."""
    if not article.translated_from:
        return None
    return Article.objects.filter(
        translation_group=article.translation_group,
        language=article.translated_from,
        draft_of__isnull=True,
    ).first()


def is_followed(article: Article) -> bool:
    """Whether other versions are translated from this one's language (so its major
    changes matter); an original always is, even before its first translation."""
    if not article.translated_from:
        return True
    if not hasattr(article, "_is_followed"):  # asked by the form and its fieldsets
        article._is_followed = Article.objects.filter(
            translation_group=article.translation_group,
            translated_from=article.language,
            draft_of__isnull=True,
        ).exists()
    return article._is_followed


def record_edit(article: Article, *, added: bool, major: bool, matches_source: bool) -> None:
    """Before saving an edit made through the admin: a new guide and a major change
    move `major_change_at` to now (its translations become outdated); a translation
    said to match its source follows the source's current last major change."""
    if added or major:
        article.major_change_at = timezone.now()
    if matches_source and article.translated_from:
        source = source_of(article)
        if source is not None:
            article.source_change_followed = source.major_change_at


def language_change_problem(article: Article, language: str) -> str:
    """Why the saved `article` may not move to `language` ("" when it may)."""
    if language == article.language:
        return ""
    if article.draft_of_id is not None:
        return _("A draft revision is always in the language of the guide it revises.")
    taken = (
        Article.objects.filter(
            translation_group=article.translation_group, language=language, draft_of__isnull=True
        )
        .exclude(pk=article.pk)
        .first()
    )
    if taken is not None:
        return _(
            "This guide already has a version in %(language)s, “%(title)s”: "
            "each language has one version."
        ) % {"language": language_name(language), "title": taken.title}
    if language == article.translated_from:
        return _("A translation cannot be in the language it is translated from.")
    if article.draft_revisions.exists():
        return _(
            "This guide has a draft revision in %(language)s: publish or delete it "
            "before changing the language."
        ) % {"language": language_name(article.language)}
    if Article.objects.filter(
        translation_group=article.translation_group,
        translated_from=article.language,
        draft_of__isnull=True,
    ).exists():
        return _(
            "Other language versions are translated from this one: changing its "
            "language would leave them without their source."
        )
    return ""


def restore_refusals(revision) -> list[str]:
    """Guides of a history revision that restoring would make a second version of a
    language their guide already has (the database would refuse it with an error
    page). A revision from before languages holds none: its guides come back in
    the first language, each in a group of its own, unless the admin keeps the
    opened guide's own (ArticleAdmin.get_object)."""
    refusals = []
    for version in revision.version_set.select_related("content_type"):
        if version.content_type.model_class() is not Article:
            continue
        try:
            fields = version.field_dict
        except RevertError:
            continue  # versioning.restore_refusals says why
        if fields.get("draft_of_id") is not None:
            continue
        taken = (
            Article.objects.filter(
                translation_group=fields.get("translation_group"),
                language=fields.get("language"),
                draft_of__isnull=True,
            )
            .exclude(pk=version.object_id)
            .first()
        )
        if taken is not None:
            refusals.append(
                _(
                    "Guide “%(title)s” would come back in %(language)s, which its guide "
                    "now has in “%(other)s”."
                )
                % {
                    "title": fields.get("title"),
                    "language": language_name(fields.get("language")),
                    "other": taken.title,
                }
            )
    return refusals


# Queryset filters: the same rules as state_of(), for whole lists.


def _versions_in_group():
    """Versions of the outer row's guide (OuterRef: the row's translation group)."""
    return Article.objects.filter(
        translation_group=OuterRef("translation_group"), draft_of__isnull=True
    )


def outdated_translations():
    """Published translations whose source had a major change since they followed it."""
    source_change = Subquery(
        Article.objects.filter(
            translation_group=OuterRef("translation_group"),
            language=OuterRef("translated_from"),
            draft_of__isnull=True,
        ).values("major_change_at")[:1]
    )
    return (
        Article.objects.filter(draft_of__isnull=True, status=Article.Status.PUBLISHED)
        .exclude(translated_from="")
        .annotate(source_change=source_change)
        .filter(source_change__isnull=False)
        .filter(
            Q(source_change_followed__isnull=True)
            | Q(source_change_followed__lt=F("source_change"))
        )
    )


def has_outdated_q() -> Q:
    """Rows of guides with an outdated language."""
    return Q(
        Exists(outdated_translations().filter(translation_group=OuterRef("translation_group")))
    )


def has_missing_q() -> Q:
    """Rows of guides missing a language."""
    condition = Q()
    for code, _name in settings.LANGUAGES:
        condition |= ~Exists(_versions_in_group().filter(language=code))
    return condition


def has_draft_q() -> Q:
    """Rows of guides with a translation not published yet."""
    return Q(
        Exists(
            _versions_in_group()
            .exclude(translated_from="")
            .exclude(status=Article.Status.PUBLISHED)
        )
    )


def needs_translating_q() -> Q:
    return has_missing_q() | has_outdated_q()


def up_to_date_q() -> Q:
    """Rows of guides with every language published and following its source."""
    return ~has_missing_q() & ~has_outdated_q() & ~has_draft_q()


# Starting a translation.


def _address_length(article: Article, slug: str) -> int:
    article.slug = slug
    return len(iri_to_uri(article.get_absolute_url()))


def translation_slug(source: Article, language: str, copy: Article) -> str:
    """'<source-slug>-<language>', shortened to fit the slug field and the longest
    address, with -2, -3 … when taken. Editors change it to a translated one."""
    max_length = Article._meta.get_field("slug").max_length
    base = source.slug
    for attempt in range(1, 1000):
        suffix = f"-{language}" if attempt == 1 else f"-{language}-{attempt}"
        stem = base[: max_length - len(suffix)].rstrip("-")
        while stem and _address_length(copy, stem + suffix) > MAX_ADDRESS_LENGTH:
            stem = stem[:-1].rstrip("-")
        candidate = stem + suffix
        if not Article.objects.filter(slug=candidate).exists():
            return candidate
    raise ValidationError(_("No free address was found for the translation: rename the guide."))


def _target_versions(source: Article, language: str) -> dict[int, int]:
    """For each guide the source links to (previous, next, related): the pk of its
    version in `language`, when there is one. Two queries."""
    linked = {source.previous_article_id, source.next_article_id}
    linked |= set(source.related_links.values_list("to_article_id", flat=True))
    linked.discard(None)
    groups = dict(Article.objects.filter(pk__in=linked).values_list("pk", "translation_group"))
    targets = dict(
        Article.objects.filter(
            translation_group__in=set(groups.values()), language=language, draft_of__isnull=True
        ).values_list("translation_group", "pk")
    )
    return {pk: targets[group] for pk, group in groups.items() if group in targets}


def _refuse_existing(source: Article, language: str) -> None:
    existing = Article.objects.filter(
        translation_group=source.translation_group, language=language, draft_of__isnull=True
    ).first()
    if existing is not None and existing.pk == source.pk:
        raise ValidationError(
            _("“%(title)s” is itself the version in %(language)s.")
            % {"title": source.title, "language": language_name(language)}
        )
    if existing is not None:
        raise ValidationError(
            _(
                "“%(title)s” already has a version in %(language)s, “%(title_there)s”: "
                "edit that one."
            )
            % {
                "title": source.title,
                "language": language_name(language),
                "title_there": existing.title,
            }
        )


def check_can_start(source: Article, language: str, user) -> None:
    """Raise ValidationError (or PermissionDenied) unless `user` may start a
    translation of `source` into `language` now."""
    if language not in language_names():
        raise ValidationError(
            _("“%(language)s” is not one of the site's languages.") % {"language": language}
        )
    if source.draft_of_id is not None:
        raise ValidationError(
            _(
                "This is a draft revision: start the translation from the guide it "
                "revises, so it joins that guide's language versions."
            )
        )
    if user is not None:
        if not user.has_perm(workflow.permission_name(Article, "add")):
            raise PermissionDenied(_("You may not add guides."))
        # The rule of any new guide: an Editor may create it as a draft.
        workflow.check_edit(user, None, Article.Status.DRAFT)
    _refuse_existing(source, language)


def start_translation(source: Article, language: str, user) -> Article:
    """A draft copy of `source` in `language`, in the same translation group, to
    translate: same category, owner, sections, citations and tags; previous, next
    and related guides are their `language` versions where those exist (else left
    out). It follows the source as it is now (source_change_followed), so it shows
    outdated after the source's next major change.

    Refused (ValidationError) when the guide already has a version in `language`,
    when `source` is a draft revision, or when `language` is not a site language;
    PermissionDenied when `user` may not add guides. The copy is a draft: publishing
    it follows the workflow's rules like any draft.
    """
    check_can_start(source, language, user)
    with transaction.atomic():
        targets = _target_versions(source, language)
        copy = Article(
            title=source.title,
            summary=source.summary,
            category=source.category,
            owner=source.owner,
            review_by=source.review_by,
            language=language,
            translation_group=source.translation_group,
            translated_from=source.language,
            source_change_followed=source.major_change_at,
            # New content: anything translated from this version follows it from now.
            major_change_at=timezone.now(),
            status=Article.Status.DRAFT,
            published_at=None,
            last_edited_by=user,
            previous_article_id=targets.get(source.previous_article_id),
            next_article_id=targets.get(source.next_article_id),
        )
        copy.slug = translation_slug(source, language, copy)
        try:
            with transaction.atomic():
                copy.save()
        except IntegrityError:
            # Someone started the same translation meanwhile: say so, as beforehand.
            _refuse_existing(source, language)
            raise
        # Saved one by one (not bulk_create) so sections render and the index follows.
        for section in source.sections.all():
            Section.objects.create(
                article=copy,
                kind=section.kind,
                heading=section.heading,
                body=section.body,
                position=section.position,
            )
        for citation in source.citations.all():
            citation.pk = None
            citation.article = copy
            citation.save()
        for link in source.related_links.all():
            if link.to_article_id in targets:
                RelatedLink.objects.create(
                    from_article=copy,
                    to_article_id=targets[link.to_article_id],
                    position=link.position,
                )
        copy.tags.set(source.tags.all())
    return copy
