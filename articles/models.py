import functools
import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib.contenttypes.fields import GenericRelation
from django.contrib.postgres.search import SearchVectorField
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Count, F, Q
from django.db.models.functions import Lower
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import timezone, translation
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _
from taggit.managers import TaggableManager
from taggit.models import TaggedItem
from translated_fields import TranslatedField, to_attribute
from translated_fields.utils import fallback_to_default

from . import surrogate

RELATED_ARTICLES_LIMIT = 10

REVISION_LINKS_TO_ORIGINAL = _(
    "This draft revision takes the place of the guide chosen here when it is published, "
    "so the link would point to itself. Choose another guide."
)

# Top-level paths that a category slug may not take, because category pages
# live at /<category-slug>/.
RESERVED_SLUGS = frozenset(
    {"admin", "api", "feedback", "feeds", "laws", "media", "preview", "search", "static", "tags"}
    | {code for code, _name in settings.LANGUAGES}
)
# django.contrib.redirects keeps addresses of up to 200 characters, percent-encoded.
MAX_ADDRESS_LENGTH = 200


def language_choices():
    return settings.LANGUAGES


def language_codes() -> list[str]:
    return [code for code, _name in settings.LANGUAGES]


def language_rank(code: str) -> int:
    """A language's place in LANGUAGES, for sorting versions; a language no longer
    configured sorts last instead of failing."""
    codes = language_codes()
    return codes.index(code) if code in codes else len(codes)


def translated(field, **kwargs):
    """One column per language (django-translated-fields: name_en, name_zh_hans, …).
    `obj.name` reads the active language's text, or the first language's when that is
    empty; only the first language's is required."""
    optional = {code: {"blank": True, "unique": False} for code, _name in settings.LANGUAGES[1:]}
    return TranslatedField(field, optional, attrgetter=fallback_to_default, **kwargs)


def primary(name: str) -> str:
    """The column of a translated field in the first language, which is always filled
    (for ordering and unique constraints)."""
    return to_attribute(name, settings.LANGUAGES[0][0])


def validate_not_reserved(value):
    if value in RESERVED_SLUGS:
        raise ValidationError(
            _("“%(value)s” is reserved for the site's own pages."), params={"value": value}
        )


def published_or_scheduled_q(prefix: str = "") -> Q:
    """Guides that are public now or will be at their publish time.

    `prefix` names the path to an article from another model, for example
    "article__" from a citation.
    """
    return Q(
        **{
            f"{prefix}status": Article.Status.PUBLISHED,
            # A draft revision is never public itself: it replaces its guide when due.
            f"{prefix}draft_of__isnull": True,
        }
    )


def published_q(prefix: str = "") -> Q:
    """The one definition of "visible to the public", usable across relations."""
    return published_or_scheduled_q(prefix) & Q(**{f"{prefix}published_at__lte": timezone.now()})


def due_for_review_q(today=None) -> Q:
    """Published guides (live or scheduled; not draft revisions) whose review date has
    come, today included, or that a change in a cited law flagged (needs_review)."""
    today = today or timezone.localdate()
    return published_or_scheduled_q() & (Q(review_by__lte=today) | Q(needs_review=True))


class CategoryQuerySet(models.QuerySet):
    def with_guide_counts(self):
        """Each category with `guide_count`, its published guides, in display order
        (Meta.ordering does not apply to aggregate queries)."""
        in_language = Q(articles__language=translation.get_language())
        return self.annotate(
            guide_count=Count("articles", filter=published_q("articles__") & in_language)
        ).order_by("position", primary("name"))


class Category(models.Model):
    name = translated(models.CharField(_("name"), max_length=100))
    slug = models.SlugField(
        _("slug"),
        # Short enough that /<category>/<guide>/ fits a redirect's 200 characters.
        max_length=40,
        unique=True,
        validators=[validate_not_reserved],
        help_text=_(
            "The end of the topic's address, as in /en/pensions/. "
            "Lower case letters, digits and hyphens."
        ),
    )
    description = translated(models.TextField(_("description"), blank=True))
    position = models.PositiveIntegerField(
        _("display order"), default=0, help_text=_("Lower numbers are listed first.")
    )

    objects = CategoryQuerySet.as_manager()

    class Meta:
        ordering = ["position", primary("name")]
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        constraints = [
            models.CheckConstraint(condition=Q(slug=Lower("slug")), name="category_slug_lowercase"),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        surrogate.note(surrogate.topic_key(self.pk))
        return reverse("articles:category", kwargs={"slug": self.slug})


class ArticleQuerySet(models.QuerySet):
    def published(self):
        """Articles the public may see: published, with a publish time that has come."""
        return self.filter(published_q())

    def in_language(self, language=None):
        """Versions in `language`, by default the active one (the page's)."""
        return self.filter(language=language or translation.get_language())

    def indexable(self):
        """Guides the search index holds: published ones, scheduled ones included
        (search filters on the publish time, so they appear exactly when due)."""
        return self.filter(published_or_scheduled_q())

    @staticmethod
    def part_lookups():
        """What a guide is made of, as prefetch lookups: sections, tags, citations with
        their provision and law (for prefetch_related_objects on a guide already read)."""
        return [
            "sections",
            "tags",
            models.Prefetch(
                "citations", queryset=Citation.objects.select_related("provision__law")
            ),
        ]

    def with_parts(self):
        """Prefetch what a guide is made of: sections, tags, citations with their
        provision and law."""
        return self.prefetch_related(*self.part_lookups())

    def for_listing(self):
        """What a list of guides shows: title, summary, category, dates."""
        return self.select_related("category").order_by("-published_at", "-pk")

    def for_page(self):
        """The guide row the page starts from, with its category: cheap, because the
        page's other parts usually come from the cache (articles.views.render_guide
        reads them with part_lookups(), get_neighbours() and get_related() on a miss,
        in a fixed number of queries).

        With `last_change_noted_at`, the time of its latest change note (None: it has
        none), read in the same query through the change_note_recent_idx index, so a
        guide without notes costs no query for them (Article.get_change_notes)."""
        latest_note = ChangeNote.objects.filter(article=models.OuterRef("pk")).order_by("-made_at")
        return self.select_related("category").annotate(
            last_change_noted_at=models.Subquery(latest_note.values("made_at")[:1])
        )

    def due_for_review(self, today=None):
        """Guides due for review (due_for_review_q): the admin index's reminders and
        `manage.py send_review_reminders`. Most urgent first: those a law change
        flagged, then by review date."""
        return self.filter(due_for_review_q(today)).order_by(
            F("needs_review").desc(), F("review_by").asc(nulls_last=True), "title", "pk"
        )


# Article.get_change_notes: for_page() did not read the guide's latest change note.
_NOT_READ = object()


@functools.lru_cache(maxsize=4096)
def _guide_path(urlconf, script_prefix, language, category_slug, slug) -> str:
    """Article.get_absolute_url's reverse(), remembered: a page links many guides, and
    reverse() under translation.override is the costly part. The URLconf and script
    prefix in force are part of the key, so a change of either is never missed."""
    with translation.override(language):
        return reverse(
            "articles:article",
            urlconf=urlconf,
            kwargs={"category": category_slug, "slug": slug},
        )


class Article(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        IN_REVIEW = "review", _("In review")
        PUBLISHED = "published", _("Published")
        ARCHIVED = "archived", _("Archived")

    # Statuses an Editor may set; the others need the publish_article permission.
    EDITOR_STATUSES = frozenset({Status.DRAFT, Status.IN_REVIEW})

    title = models.CharField(_("title"), max_length=200)
    slug = models.SlugField(
        _("slug"),
        max_length=150,
        unique=True,
        allow_unicode=True,
        help_text=_(
            "Part of the address, in any script (a Chinese slug is fine). "
            "Changing it later is safe: the old address redirects."
        ),
    )
    # Translations: one row per language, joined by translation_group (articles.translation).
    language = models.CharField(
        _("language"),
        max_length=10,
        choices=language_choices,
        default=settings.LANGUAGES[0][0],
        help_text=_("The language this version is written in."),
    )
    translation_group = models.UUIDField(
        _("translation group"),
        default=uuid.uuid4,
        editable=False,
        help_text=_("Shared by the language versions of one guide."),
    )
    translated_from = models.CharField(
        _("translated from"),
        max_length=10,
        choices=language_choices,
        blank=True,
        help_text=_("The language of the version this one translates; empty for an original."),
    )
    major_change_at = models.DateTimeField(
        _("last major change"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("When the content last changed in a way translations must follow."),
    )
    source_change_followed = models.DateTimeField(
        _("source change followed"),
        null=True,
        blank=True,
        editable=False,
        help_text=_(
            "For a translation: the source's last major change that this text reflects. "
            "An older value means the translation is out of date."
        ),
    )
    category = models.ForeignKey(
        Category, verbose_name=_("category"), on_delete=models.PROTECT, related_name="articles"
    )
    summary = models.TextField(
        _("summary"),
        max_length=300,
        help_text=_("One or two plain sentences. Shown under the title and to search engines."),
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.DRAFT
    )
    published_at = models.DateTimeField(
        _("publish time"),
        null=True,
        blank=True,
        help_text=_("A future time keeps the guide private until then. Empty: now, on publishing."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("last updated"), auto_now=True)
    tags = TaggableManager(_("tags"), blank=True)
    provisions = models.ManyToManyField(
        "LegalProvision",
        through="Citation",
        related_name="articles",
        verbose_name=_("legal basis"),
        blank=True,
    )
    related = models.ManyToManyField(
        "self",
        through="RelatedLink",
        through_fields=("from_article", "to_article"),
        symmetrical=False,
        related_name="+",
        verbose_name=_("related guides"),
        blank=True,
    )
    previous_article = models.ForeignKey(
        "self",
        verbose_name=_("previous guide"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Leave empty to use the guide published just before this one in its category."),
    )
    next_article = models.ForeignKey(
        "self",
        verbose_name=_("next guide"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Leave empty to use the guide published just after this one in its category."),
    )

    # Editorial workflow (articles.workflow, articles.admin).
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Who keeps this guide true."),
    )
    review_by = models.DateField(
        _("review by"), null=True, blank=True, help_text=_("When the guide must next be checked.")
    )
    needs_review = models.BooleanField(
        _("needs review"),
        default=False,
        help_text=_("Set when a cited law provision changed; cleared when a Publisher confirms."),
    )
    # Set only by the "Mark as reviewed" and "Confirm reviewed" actions (workflow.mark_reviewed).
    reviewed_at = models.DateField(
        _("last reviewed"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("When someone last checked that the guide is still true; shown to citizens."),
    )
    last_edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("last edited by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    draft_of = models.ForeignKey(
        "self",
        verbose_name=_("draft revision of"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="draft_revisions",
        editable=False,
        help_text=_("Publishing this draft replaces the public guide it revises."),
    )
    # The guide as this revision was prepared from it (workflow.revision_base):
    # digests of its public content, part by part, so the revision is not put over a
    # change made to the guide since, and its bookkeeping fields, so those changed on
    # the guide since are kept. Empty: not known (a revision imported, or prepared
    # before it existed).
    revision_base = models.JSONField(
        _("the guide when this revision was prepared"), default=dict, blank=True, editable=False
    )
    publish_problem = models.TextField(
        _("problem when publishing"),
        blank=True,
        editable=False,
        help_text=_("Why a scheduled revision could not be put in place; cleared on success."),
    )
    # Lets django-reversion version the tags with the guide.
    tagged_items = GenericRelation(TaggedItem, related_query_name="article")

    objects = ArticleQuerySet.as_manager()

    class Meta:
        ordering = ["-published_at", "-pk"]
        get_latest_by = "published_at"
        verbose_name = _("guide")
        verbose_name_plural = _("guides")
        permissions = [
            ("publish_article", _("Can publish, schedule, unpublish and archive guides")),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(slug=Lower("slug")), name="article_slug_lowercase"),
            # Draft revisions share their guide's group and language until they replace it.
            models.UniqueConstraint(
                fields=["translation_group", "language"],
                condition=Q(draft_of__isnull=True),
                name="article_one_version_per_language",
            ),
            models.CheckConstraint(
                condition=~Q(translated_from=F("language")),
                name="article_not_translated_from_itself",
            ),
            models.CheckConstraint(
                condition=~Q(status="published") | Q(published_at__isnull=False),
                name="article_published_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(previous_article=F("pk")), name="article_previous_not_self"
            ),
            models.CheckConstraint(
                condition=~Q(next_article=F("pk")), name="article_next_not_self"
            ),
            # A draft revision replaces its original: a link to the original would
            # become a link to itself.
            models.CheckConstraint(
                condition=~Q(previous_article=F("draft_of")), name="article_previous_not_original"
            ),
            models.CheckConstraint(
                condition=~Q(next_article=F("draft_of")), name="article_next_not_original"
            ),
        ]
        indexes = [
            # Serves category listings and the previous/next neighbour lookups.
            models.Index(
                fields=["category", "status", "published_at"], name="article_category_pub_idx"
            ),
            # Serves the site-wide published filter (the content clock, feeds of all guides).
            models.Index(fields=["status", "published_at"], name="article_status_pub_idx"),
            # Serves each language's home page, listings and feeds.
            models.Index(
                fields=["language", "status", "published_at"], name="article_lang_status_pub_idx"
            ),
            models.Index(fields=["translation_group"], name="article_translation_group_idx"),
            # Draft revisions only (a few rows): the schedule of revisions
            # (workflow.next_revision_due, due_revisions) without reading every guide.
            models.Index(
                fields=["status", "published_at"],
                condition=Q(draft_of__isnull=False),
                name="article_revision_due_idx",
            ),
        ]

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        if self.status == self.Status.PUBLISHED and self.published_at is None:
            self.published_at = timezone.now()
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        """Under the guide's own language prefix. Reads self.category:
        select_related("category") when listing."""
        surrogate.note(surrogate.guide_key(self.pk))
        urlconf = get_urlconf() or settings.ROOT_URLCONF
        return _guide_path(
            urlconf, get_script_prefix(), self.language, self.category.slug, self.slug
        )

    def clean(self):
        super().clean()
        # As save() does, before the constraints are validated: no time means now.
        if self.status == self.Status.PUBLISHED and self.published_at is None:
            self.published_at = timezone.now()
        errors = {}
        if self.pk is not None:
            if self.previous_article_id == self.pk:
                errors["previous_article"] = _("A guide cannot precede itself.")
            if self.next_article_id == self.pk:
                errors["next_article"] = _("A guide cannot follow itself.")
        if self.translated_from and self.translated_from == self.language:
            errors["translated_from"] = _("A version cannot be translated from its own language.")
        if self.slug and self.category_id and self.language in dict(settings.LANGUAGES):
            if len(self.get_absolute_url()) > MAX_ADDRESS_LENGTH:
                errors["slug"] = _(
                    "The address would be too long once encoded: shorten the slug "
                    "(a Chinese character takes nine of the %(max)d characters)."
                ) % {"max": MAX_ADDRESS_LENGTH}
        if self.draft_of_id is not None:
            # Publishing the revision replaces its guide: the link would point to itself.
            for field in ["previous_article", "next_article"]:
                if getattr(self, f"{field}_id") == self.draft_of_id:
                    errors.setdefault(field, REVISION_LINKS_TO_ORIGINAL)
        if errors:
            raise ValidationError(errors)

    def is_published(self) -> bool:
        return (
            self.draft_of_id is None
            and self.status == self.Status.PUBLISHED
            and self.published_at is not None
            and self.published_at <= timezone.now()
        )

    def get_change_notes(self) -> list:
        """Its change notes, newest first (one query). None when for_page() found it
        has none (its last_change_noted_at annotation)."""
        if getattr(self, "last_change_noted_at", _NOT_READ) is None:
            return []
        return list(self.change_notes.all())

    def get_translations(self):
        """The other published language versions of this guide, in LANGUAGES order.
        After get_neighbours() this costs no query: it reads them in the same one."""
        if not hasattr(self, "_translations"):
            self._translations = list(self._translations_query().select_related("category"))
        return sorted(self._translations, key=lambda version: language_rank(version.language))

    def _translations_query(self):
        """Published versions in the site's languages: a language no longer in
        LANGUAGES has no pages to link to."""
        return (
            Article.objects.published()
            .filter(translation_group=self.translation_group, language__in=language_codes())
            .exclude(pk=self.pk)
        )

    def _neighbour_query(self, newer: bool):
        """The id of the published guide just before (or after) this one in its category."""
        if newer:
            side = Q(published_at__gt=self.published_at) | Q(
                published_at=self.published_at, pk__gt=self.pk
            )
            order = ("published_at", "pk")
        else:
            side = Q(published_at__lt=self.published_at) | Q(
                published_at=self.published_at, pk__lt=self.pk
            )
            order = ("-published_at", "-pk")
        neighbours = Article.objects.published().filter(
            side, category_id=self.category_id, language=self.language
        )
        return models.Subquery(neighbours.order_by(*order).values("pk")[:1])

    def get_neighbours(self):
        """(previous, next): the editor's links when published, else the neighbouring
        published guides in publication order within the category and language.

        One query at most, which reads the editor's links and, for a published guide,
        the other language versions too (get_translations); none for an unpublished
        guide without links.
        """
        linked = {False: self.previous_article_id, True: self.next_article_id}
        published = self.is_published()
        condition = Q(pk__in=[pk for pk in linked.values() if pk is not None])
        if published:
            condition |= Q(pk__in=self._translations_query().values("pk"))
            for newer in linked:
                condition |= Q(pk=self._neighbour_query(newer))
        elif not any(pk is not None for pk in linked.values()):
            return None, None
        rows = list(Article.objects.filter(condition).select_related("category"))
        by_pk = {row.pk: row for row in rows}
        chosen = {}
        for newer, pk in linked.items():
            row = by_pk.get(pk)
            chosen[newer] = row if row is not None and row.is_published() else None
        if not published:
            return chosen[False], chosen[True]
        self._translations = [
            row
            for row in rows
            if row.translation_group == self.translation_group
            and row.language != self.language
            and row.is_published()
        ]
        # The nearest published guide on each side is among the rows (the neighbour
        # subqueries); any other there is an editor's link, further away.
        mine = (self.published_at, self.pk)
        shelf = [
            row
            for row in rows
            if row.category_id == self.category_id
            and row.language == self.language
            and row.is_published()
        ]
        older = [row for row in shelf if (row.published_at, row.pk) < mine]
        newer = [row for row in shelf if (row.published_at, row.pk) > mine]
        if chosen[False] is None and older:
            chosen[False] = max(older, key=lambda row: (row.published_at, row.pk))
        if chosen[True] is None and newer:
            chosen[True] = min(newer, key=lambda row: (row.published_at, row.pk))
        return chosen[False], chosen[True]

    def get_related(self, limit: int = RELATED_ARTICLES_LIMIT):
        """The editor's published picks in their order, then the published guides that
        share most tags (newest first on ties), up to `limit`, in one query.

        Reads self.tags: prefetch it.
        """
        tag_ids = [tag.pk for tag in self.tags.all()]
        picks = RelatedLink.objects.filter(from_article=self.pk)
        pick_position = picks.filter(to_article=models.OuterRef("pk")).values("position")[:1]
        return list(
            Article.objects.published()
            .in_language(self.language)
            .filter(Q(pk__in=picks.values("to_article")) | Q(tags__in=tag_ids))
            .exclude(pk=self.pk)
            .annotate(
                pick_position=models.Subquery(pick_position),
                shared_tags=Count("tags", filter=Q(tags__in=tag_ids), distinct=True),
            )
            .select_related("category")
            .order_by(
                F("pick_position").asc(nulls_last=True), "-shared_tags", "-published_at", "-pk"
            )[:limit]
        )


class Section(models.Model):
    class Kind(models.TextChoices):
        STEPS = "steps", _("Steps (numbered)")
        WAYS = "ways", _("Ways (alternatives)")
        PROCEDURE = "procedure", _("Procedure (a sub-question answered with steps)")
        QUESTION = "question", _("Question and answer")
        TEXT = "text", _("Text")

    article = models.ForeignKey(
        Article, verbose_name=_("guide"), on_delete=models.CASCADE, related_name="sections"
    )
    position = models.PositiveIntegerField(_("order"), default=0)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.TEXT)
    heading = models.CharField(
        _("heading"),
        max_length=200,
        help_text=_("For a procedure or a question: the question itself."),
    )
    body = models.TextField(
        _("body"),
        help_text=_(
            "Markdown. For steps, ways and procedures write a numbered list: “1. Click …”."
        ),
    )
    # Rendered and sanitised when saved (see signals.py), never per request.
    body_html = models.TextField(editable=False, blank=True)

    class Meta:
        ordering = ["position", "pk"]
        verbose_name = _("section")
        verbose_name_plural = _("sections")
        constraints = [
            models.UniqueConstraint(
                fields=["article", "heading"], name="section_heading_unique_per_article"
            ),
        ]

    def __str__(self):
        return self.heading

    @property
    def anchor(self) -> str:
        """A readable fragment for the contents list, in the heading's own script (a
        Chinese heading keeps its characters); headings are unique per guide."""
        return slugify(self.heading, allow_unicode=True) or f"section-{self.pk}"


class Law(models.Model):
    name = translated(models.CharField(_("name"), max_length=200, unique=True))
    short_name = translated(models.CharField(_("short name"), max_length=100))
    slug = models.SlugField(_("slug"), max_length=100, unique=True)
    source_url = models.URLField(
        _("official source"), blank=True, help_text=_("The official published text, if online.")
    )
    authoritative_language = models.CharField(
        _("authoritative text"),
        max_length=10,
        choices=language_choices,
        blank=True,
        help_text=_(
            "The language whose text of the provisions is the official one; "
            "the others are translations for reference."
        ),
    )

    class Meta:
        ordering = [primary("name")]
        verbose_name = _("law")
        verbose_name_plural = _("laws")
        constraints = [
            models.CheckConstraint(condition=Q(slug=Lower("slug")), name="law_slug_lowercase"),
        ]

    def __str__(self):
        return self.short_name or self.name

    def get_absolute_url(self):
        surrogate.note(surrogate.law_key(self.pk))
        return reverse("articles:law", kwargs={"slug": self.slug})


class LegalProvision(models.Model):
    law = models.ForeignKey(
        Law, verbose_name=_("law"), on_delete=models.PROTECT, related_name="provisions"
    )
    label = translated(
        models.CharField(_("label"), max_length=100, help_text=_("For example “Article 23”."))
    )
    text = translated(
        models.TextField(_("text"), help_text=_("The provision's wording, as plain text."))
    )
    position = models.PositiveIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["law", "position", "pk"]
        verbose_name = _("legal provision")
        verbose_name_plural = _("legal provisions")
        constraints = [
            models.UniqueConstraint(
                fields=["law", primary("label")], name="provision_label_unique_per_law"
            ),
        ]

    def __str__(self):
        """Reads self.law: select_related("law") when listing."""
        return f"{self.label}, {self.law}"

    def get_absolute_url(self):
        """Reads self.law."""
        return f"{self.law.get_absolute_url()}#{self.anchor}"

    @property
    def anchor(self) -> str:
        """Readable, the same in every language, and stable across databases: labels in
        the first language are unique within a law."""
        return slugify(getattr(self, primary("label"))) or f"provision-{self.pk}"

    def is_authoritative(self) -> bool:
        """Whether the text shown now (active language) is the official one. Reads self.law."""
        official = self.law.authoritative_language
        return not official or official == translation.get_language()


class Citation(models.Model):
    article = models.ForeignKey(
        Article, verbose_name=_("guide"), on_delete=models.CASCADE, related_name="citations"
    )
    provision = models.ForeignKey(
        LegalProvision,
        verbose_name=_("provision"),
        on_delete=models.PROTECT,
        related_name="citations",
    )
    position = models.PositiveIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["position", "pk"]
        verbose_name = _("legal citation")
        verbose_name_plural = _("legal basis")
        constraints = [
            models.UniqueConstraint(
                fields=["article", "provision"], name="citation_unique_per_article"
            ),
        ]

    def __str__(self):
        return str(self.provision)


class RelatedLink(models.Model):
    from_article = models.ForeignKey(
        Article, on_delete=models.CASCADE, related_name="related_links"
    )
    to_article = models.ForeignKey(
        Article, verbose_name=_("related guide"), on_delete=models.CASCADE, related_name="+"
    )
    position = models.PositiveIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["position", "pk"]
        verbose_name = _("related guide")
        verbose_name_plural = _("related guides")
        constraints = [
            models.UniqueConstraint(
                fields=["from_article", "to_article"], name="related_link_unique"
            ),
            models.CheckConstraint(
                condition=~Q(from_article=F("to_article")), name="related_link_not_self"
            ),
        ]

    def __str__(self):
        """The related guide's title. Reads self.to_article: select_related it when listing."""
        return str(self.to_article)

    def clean(self):
        super().clean()
        if self.from_article_id is None or self.to_article_id is None:
            return
        if self.from_article_id == self.to_article_id:
            raise ValidationError({"to_article": _("A guide cannot be related to itself.")})
        # Publishing a revision replaces its guide: the link would point to itself.
        if Article.objects.filter(pk=self.from_article_id, draft_of=self.to_article_id).exists():
            raise ValidationError({"to_article": REVISION_LINKS_TO_ORIGINAL})


class ChangeNote(models.Model):
    """A change citizens can see: a short note an editor writes with a major edit of a
    public guide, shown on its page ("See all updates") and in its updates feed.

    Plain text, shown escaped. On a draft revision it waits (one at most) and moves
    to the guide, dated then, when the revision goes live (articles.workflow). Not
    part of the guide's history (django-reversion): a log of changes, which an old
    version brought back does not rewrite."""

    MAX_LENGTH = 250

    article = models.ForeignKey(
        Article, verbose_name=_("guide"), on_delete=models.CASCADE, related_name="change_notes"
    )
    note = models.CharField(
        _("what changed"),
        max_length=MAX_LENGTH,
        help_text=_("Plain words for citizens, for example “New fees from 1 July”."),
    )
    made_at = models.DateTimeField(_("date"), default=timezone.now)

    class Meta:
        ordering = ["-made_at", "-pk"]
        get_latest_by = "made_at"
        verbose_name = _("change note")
        verbose_name_plural = _("updates shown to citizens")
        indexes = [
            # Serves a guide's notes newest first, and its latest one (for_page).
            models.Index(fields=["article", "-made_at"], name="change_note_recent_idx"),
        ]

    def __str__(self):
        return self.note[:60]


class SearchDocument(models.Model):
    """The searchable text of one published (or scheduled) guide, rebuilt whenever the
    guide, its sections, citations or tags change (articles.search.indexing).

    Only published guides have a document (scheduled ones included); visibility
    is decided at query time from the copied publish time, so a scheduled guide
    becomes findable the moment it is due.
    On PostgreSQL `vector` holds the weighted tsvector; on SQLite a separate FTS5
    table (created in migration 0002) holds the index.
    """

    article = models.OneToOneField(
        Article, on_delete=models.CASCADE, primary_key=True, related_name="search_document"
    )
    # Copies of the article's, so a search filters matches without a join per row.
    # They come before the long texts: SQLite reads a row's columns in order.
    published_at = models.DateTimeField()
    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="+")
    language = models.CharField(max_length=10, default=settings.LANGUAGES[0][0])
    title = models.TextField()
    summary = models.TextField(blank=True)
    keywords = models.TextField(blank=True, help_text="Tags, law names and provision labels.")
    body = models.TextField(blank=True, help_text="Section headings and text, provisions' text.")
    cjk = models.TextField(
        blank=True,
        help_text="Bigrams of the CJK text of each field: one line each for title, "
        "summary, keywords and body.",
    )
    vector = SearchVectorField(null=True, editable=False)
    title_vector = SearchVectorField(null=True, editable=False)

    def __str__(self):
        return self.title


class SearchTerm(models.Model):
    """Words of indexed guides of one language with the number of that language's
    guides using them: the vocabulary behind "Did you mean …?" and type-ahead, which
    so never propose on a Chinese page a word only English guides use."""

    language = models.CharField(max_length=10, default=settings.LANGUAGES[0][0])
    word = models.CharField(max_length=30)
    length = models.PositiveSmallIntegerField()
    documents = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["language", "word"], name="searchterm_language_word"),
        ]
        indexes = [
            # Serves the spelling lookup: words of similar length, most used first.
            models.Index(
                fields=["language", "length", "-documents"], name="searchterm_lang_length_idx"
            ),
        ]

    def __str__(self):
        return self.word


class PromotedResult(models.Model):
    """An editor's "best bet": a guide pinned to the top of results for given queries."""

    article = models.ForeignKey(
        Article, verbose_name=_("guide"), on_delete=models.CASCADE, related_name="promotions"
    )
    queries = models.TextField(
        _("queries"),
        help_text=_(
            "One query per line. The guide is pinned when a search contains all the words "
            "of a line, in any order, case and accents ignored."
        ),
    )
    position = models.PositiveIntegerField(
        _("order"), default=0, help_text=_("Lower numbers come first among pinned guides.")
    )

    class Meta:
        ordering = ["position", "pk"]
        verbose_name = _("promoted result (best bet)")
        verbose_name_plural = _("promoted results (best bets)")

    def __str__(self):
        """Reads self.article."""
        return f"{self.article} ← {self.queries.splitlines()[0] if self.queries else ''}"


class ContentRevision(models.Model):
    """One row: when public content last changed. Pages use it (with the latest
    publish time that has come) for Last-Modified and ETag (articles.caching)."""

    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(pk=1), name="content_revision_single_row")
        ]

    def __str__(self):
        return f"Content changed at {self.changed_at:%Y-%m-%d %H:%M:%S}"

    @classmethod
    def bump(cls):
        cls.objects.update_or_create(pk=1, defaults={"changed_at": timezone.now()})
        from .caching import forget_content_version  # caching imports this module

        forget_content_version()


# Signs preview links' addresses; separate from every other use of SECRET_KEY.
PREVIEW_LINK_SALT = "preview-link"


class PreviewLinkQuerySet(models.QuerySet):
    def from_token(self, token: str):
        """The link a signed address names (with its guide), or None for a token that
        is forged, malformed or names no link. Expiry and revocation are the link's
        own (is_valid), so an expired link can say so."""
        try:
            key = signing.TimestampSigner(salt=PREVIEW_LINK_SALT).unsign(token)
            return self.select_related("article").get(key=key)
        except (signing.BadSignature, self.model.DoesNotExist, ValidationError, ValueError):
            return None


class PreviewLink(models.Model):
    """A shareable, expiring, revocable link to preview a guide without logging in
    (for an outside reviewer). The address carries a signed token of `key`."""

    # Longest validity a link may have, on every path (admin form, action, code).
    MAX_DAYS = 90

    article = models.ForeignKey(
        Article, verbose_name=_("guide"), on_delete=models.CASCADE, related_name="preview_links"
    )
    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    expires_at = models.DateTimeField(_("expires"))
    revoked = models.BooleanField(_("revoked"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PreviewLinkQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("preview link")
        verbose_name_plural = _("preview links")

    def __str__(self):
        return f"Preview of {self.article_id} until {self.expires_at:%Y-%m-%d}"

    def get_absolute_url(self):
        token = signing.TimestampSigner(salt=PREVIEW_LINK_SALT).sign(str(self.key))
        return reverse("preview-shared", kwargs={"token": token})

    def is_valid(self) -> bool:
        return not self.revoked and self.expires_at > timezone.now()

    def clean(self):
        super().clean()
        if self.expires_at is not None:
            start = self.created_at or timezone.now()
            if self.expires_at > start + timedelta(days=self.MAX_DAYS):
                message = _("A preview link can last %(days)d days at most.")
                raise ValidationError({"expires_at": message % {"days": self.MAX_DAYS}})


class GuideFeedback(models.Model):
    """ "Was this page helpful?" counts of one guide, updated atomically (F() + 1)."""

    article = models.OneToOneField(
        Article, on_delete=models.CASCADE, primary_key=True, related_name="feedback"
    )
    helpful = models.PositiveIntegerField(_("helpful"), default=0)
    not_helpful = models.PositiveIntegerField(_("not helpful"), default=0)

    class Meta:
        verbose_name = _("page feedback")
        verbose_name_plural = _("page feedback")

    def __str__(self):
        return f"{self.helpful} yes, {self.not_helpful} no"

    @property
    def votes(self) -> int:
        return self.helpful + self.not_helpful

    @property
    def helpful_percent(self) -> int | None:
        return round(100 * self.helpful / self.votes) if self.votes else None


class FeedbackVote(models.Model):
    """One counted "Was this page helpful?" vote: at most one per visitor, guide and day,
    enforced by the unique constraint. `visitor` is a salted hash of the client's
    network (articles.clientip), never the address itself."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="+")
    visitor = models.CharField(max_length=64)
    day = models.DateField()
    helpful = models.BooleanField()

    class Meta:
        verbose_name = _("feedback vote")
        verbose_name_plural = _("feedback votes")
        constraints = [
            models.UniqueConstraint(
                fields=["article", "visitor", "day"], name="feedback_vote_once_a_day"
            ),
        ]
        indexes = [
            # Serves the purge of old votes.
            models.Index(fields=["day"], name="feedback_vote_day_idx"),
        ]

    def __str__(self):
        return f"{self.day}: {'yes' if self.helpful else 'no'}"


class FeedbackComment(models.Model):
    """What a citizen said was missing after answering "No". Plain text, shown escaped."""

    MAX_LENGTH = 500

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="feedback_comments")
    text = models.TextField(_("comment"), max_length=MAX_LENGTH)
    created_at = models.DateTimeField(_("received"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("feedback comment")
        verbose_name_plural = _("feedback comments")
        indexes = [
            # Serves "recent comments" of one guide in the admin.
            models.Index(fields=["article", "-created_at"], name="feedback_recent_idx"),
        ]

    def __str__(self):
        return self.text[:60]
