"""Create or update guides, categories and laws from files written by export_guides.

The importing user's role applies as in the admin, object by object: categories,
laws and provisions need their add or change permission (Editors only view
them); guides follow articles.workflow.check_edit, and only a Publisher may set
or change a guide's publish time, "needs review" flag or the guide it revises.

Languages (see articles.content_files): a guide's `translation_of` joins another
version's translation group, which holds one version per language; categories',
laws' and provisions' texts are read per language. A change to a guide's text is
a major change (its translations become outdated) unless its file says
`minor: true`; a translation's file says `translation_matches: true` when its text
now matches its source, as the admin's two checkboxes do.

Every file is read and every object checked (field types, the model's
full_clean(), roles) before anything is written; when there is any problem,
each is reported with its file and line and nothing is changed. Each category,
each law (with its provisions) and each guide (with its parts) is saved as its
own history revision, so reverting one later never drags the others along.
"""

import uuid
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import reversion
from django.contrib.auth import get_user_model
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import MaxLengthValidator
from django.db import models, transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.dateparse import parse_date, parse_datetime
from translated_fields import TranslatedField

from articles import checks, workflow
from articles.content_files import (
    CATEGORY_REQUIRED,
    CATEGORY_SCHEMA,
    LAW_REQUIRED,
    LAW_SCHEMA,
    PROVISION_REQUIRED,
    PROVISION_SCHEMA,
    ContentError,
    Entry,
    ParsedGuide,
    check_fields,
    check_guide,
    language_codes,
    parse_guide,
    primary_language,
    primary_text,
    read_entries,
    translated_values,
)
from articles.models import (
    MAX_ADDRESS_LENGTH,
    Article,
    Category,
    ChangeNote,
    Citation,
    Law,
    LegalProvision,
    RelatedLink,
    Section,
    primary,
)
from articles.signals import updating_guides

# More guide files than this in one import is a mistake; split the import.
MAX_GUIDE_FILES = 5_000
# An Editor's file may not set or change what the admin keeps from Editors, nor
# draft_of, which no form edits.
PUBLISHER_ONLY_FIELDS = [*workflow.PUBLISHER_ONLY_FIELDS, "draft_of"]
# The guide form's inlines: an import replaces a guide's sections, citations and
# related links, so it needs what the admin needs to add and delete them.
GUIDE_PART_PERMISSIONS = [
    f"articles.{action}_{model}"
    for model in ["section", "citation", "relatedlink"]
    for action in ["add", "delete"]
]
# Guide fields full_clean() leaves to check_guide: references by slug, which may
# name objects this import has yet to create.
# translation_group: checked against the groups as the whole import leaves them
# (_plan_translations), not as the database holds them before.
GUIDE_REFERENCE_FIELDS = [
    "category",
    "previous_article",
    "next_article",
    "draft_of",
    "owner",
    "last_edited_by",
    "translation_group",
]


def _moment(value):
    try:
        return parse_datetime(value) if isinstance(value, str) else value
    except ValueError:  # well formed but impossible; check_guide reports it
        return None


def _day(value):
    try:
        return parse_date(value) if isinstance(value, str) else value
    except ValueError:
        return None


def _text(data, key) -> str | None:
    """data[key] when data is a mapping and that is text (else None: a reported problem)."""
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, str) else None


def _translated_columns(model) -> dict[str, tuple[str, str]]:
    """{column: (field, language)} of a model's translated fields: name_zh_hans →
    ("name", "zh-hans"), to report a column's problem where the file gives it."""
    return {
        column: (name, code)
        for name, value in vars(model).items()
        if isinstance(value, TranslatedField)
        for column, code in zip(value.fields, value.languages, strict=True)
    }


def _content(title, summary, sections, citations) -> tuple:
    """What a major change changes: the text a reader reads and its legal basis."""
    return (
        title,
        summary,
        [(kind, heading, body.strip()) for kind, heading, body in sections],
        list(citations),
    )


def _content_in_database(article: Article) -> tuple:
    """Reads sections and citations (with provision and law): prefetch them."""
    return _content(
        article.title,
        article.summary,
        [(s.kind, s.heading, s.body) for s in article.sections.all()],
        [
            (c.provision.law.slug, getattr(c.provision, primary("label")))
            for c in article.citations.all()
        ],
    )


def _content_in_file(guide: ParsedGuide) -> tuple:
    meta = guide.meta
    return _content(
        meta.get("title"),
        meta.get("summary"),
        [(s["kind"], s["heading"], s["body"]) for s in guide.sections],
        [(c.get("law"), c.get("provision")) for c in meta.get("citations") or []],
    )


@dataclass
class Planned:
    """One object to write: a model instance holding the file's values, unsaved."""

    instance: models.Model
    entry: Entry
    is_new: bool
    changed: bool


@dataclass
class PlannedLaw(Planned):
    provisions: list[Planned] = field(default_factory=list)


@dataclass
class PlannedGuide:
    guide: ParsedGuide
    article: Article
    is_new: bool
    # A change its translations must follow: new, or new text without `minor: true`.
    major: bool = True
    # The (translation group, language) the database holds, for an existing guide.
    placed: tuple | None = None


class Importer:
    """Reads a directory, checks every object as the given user, then writes."""

    def __init__(self, directory: Path, user):
        self.directory, self.user = directory, user
        self.problems: list[ContentError] = []
        # Advice from the checks before publishing (articles.checks): printed, not refused.
        self.warnings: list[ContentError] = []
        self.published_slugs: set[str] = set()
        self.categories: list[Planned] = []
        self.laws: list[PlannedLaw] = []
        self.guides: list[PlannedGuide] = []

    # Reading and checking

    def check(self, guide_paths) -> list[ContentError]:
        category_entries = self._read_entries("categories.yaml")
        law_entries = self._read_entries("laws.yaml")
        guides = []
        for path in guide_paths:
            try:
                guides.append(parse_guide(path))
            except ContentError as error:
                self.problems.append(error)
        self._plan_categories(category_entries)
        self._plan_laws(law_entries)
        self._plan_guides(guides, category_entries, law_entries)
        return self.problems

    def _read_entries(self, name) -> list[Entry]:
        path = self.directory / name
        if not path.exists():
            return []
        try:
            return read_entries(path)
        except ContentError as error:
            self.problems.append(error)
            return []

    def _refuse_unless_allowed(self, model, planned: Planned) -> bool:
        """Report and return False when the user may not write this object."""
        if not planned.changed:
            return True
        action = "add" if planned.is_new else "change"
        if self.user.has_perm(workflow.permission_name(model, action)):
            return True
        self.problems.append(
            planned.entry.error(
                f"you may not {action} {model._meta.verbose_name_plural} "
                f"(“{planned.instance}”): only a Publisher can"
            )
        )
        return False

    def _full_clean(self, planned: Planned, exclude=(), label="") -> None:
        errors = {}
        try:
            planned.instance.full_clean(exclude=list(exclude))
        except ValidationError as error:
            errors = error.message_dict
        # A TextField's max_length binds only forms (the admin's), not the model.
        for model_field in planned.instance._meta.concrete_fields:
            if isinstance(model_field, models.TextField) and model_field.max_length:
                try:
                    value = getattr(planned.instance, model_field.attname) or ""
                    MaxLengthValidator(model_field.max_length)(value)
                except ValidationError as error:
                    errors.setdefault(model_field.name, []).extend(error.messages)
        translated = _translated_columns(type(planned.instance))
        for name, messages in errors.items():
            key = None if name == NON_FIELD_ERRORS else name
            entry, where = planned.entry, f"'{key}': " if key else ""
            if key in translated:
                key, code = translated[key]
                where = f"'{key}' ({code}): "
                if isinstance(entry.data, dict) and isinstance(entry.data.get(key), dict):
                    entry, key = entry.child(key), code
            for message in messages:
                self.problems.append(entry.error(f"{label}{where}{message}", key))

    def _report_twins(self, entries, key, within="") -> list[Entry]:
        """Entries whose `key` another entry has already; reported and left out."""
        first_line, twins = {}, []
        for entry in entries:
            value = entry.data.get(key)
            if isinstance(value, dict):  # text per language: the first language's names it
                value = primary_text(value)
            if value is None:  # the English text left out: the row keeps its own
                continue
            if value in first_line:
                self.problems.append(
                    entry.error(
                        f"{within}another entry (line {first_line[value]}) has the same "
                        f"{key} {value!r}",
                        key,
                    )
                )
                twins.append(entry)
            else:
                first_line[value] = entry.line
        return twins

    def _well_formed(self, entries, schema, required) -> list[Entry]:
        valid = []
        for entry in entries:
            problems, _ = check_fields(entry, schema, required)
            self.problems += problems
            if not problems:
                valid.append(entry)
        return valid

    def _plan_by_slug(self, entries, model, schema, required, unique, values_of, kind=Planned):
        """Plan the rows of categories.yaml or laws.yaml: each entry creates or
        changes the row with its slug, with the admin's permission and validation."""
        entries = self._well_formed(entries, schema, required)
        twins = [twin for key in unique for twin in self._report_twins(entries, key)]
        existing = model.objects.in_bulk([e.data["slug"] for e in entries], field_name="slug")
        planned_rows = []
        for entry in entries:
            if entry in twins:
                continue
            instance = existing.get(entry.data["slug"]) or model(slug=entry.data["slug"])
            planned = self._plan(instance, values_of(entry.data), entry, kind)
            planned_rows.append(planned)
            if self._refuse_unless_allowed(model, planned) and planned.changed:
                self._full_clean(planned)
        return planned_rows

    def _plan_categories(self, entries) -> None:
        self.categories += self._plan_by_slug(
            entries,
            Category,
            CATEGORY_SCHEMA,
            CATEGORY_REQUIRED,
            unique=["slug"],
            values_of=lambda data: (
                translated_values("name", data["name"])
                | translated_values("description", data.get("description"))
                | {"position": data.get("position") or 0}
            ),
        )

    def _plan_laws(self, entries) -> None:
        laws = self._plan_by_slug(
            entries,
            Law,
            LAW_SCHEMA,
            LAW_REQUIRED,
            unique=["slug", "name"],
            values_of=lambda data: (
                translated_values("name", data["name"])
                | translated_values("short_name", data["short_name"])
                | {"source_url": data.get("source_url") or ""}
                | (
                    {"authoritative_language": data["authoritative_language"] or ""}
                    if "authoritative_language" in data
                    else {}
                )
            ),
            kind=PlannedLaw,
        )
        self.laws += laws
        for law in laws:
            self._plan_provisions(law)

    def _plan_provisions(self, law: PlannedLaw) -> None:
        entries = self._well_formed(
            law.entry.items("provisions"), PROVISION_SCHEMA, PROVISION_REQUIRED
        )
        twins = self._report_twins(entries, "label", within=f"in law {law.instance.slug!r}, ")
        # Known by the first language's label, unique within a law (citations name it).
        label = primary("label")
        existing = (
            {} if law.is_new else {getattr(p, label): p for p in law.instance.provisions.all()}
        )
        for entry in entries:
            if entry in twins:
                continue
            data = entry.data
            english = primary_text(data["label"])
            provision = existing.get(english) or LegalProvision(
                law=law.instance, **{label: english}
            )
            values = (
                translated_values("label", data["label"])
                | translated_values("text", data["text"])
                | {"position": data.get("position") or 0}
            )
            planned = self._plan(provision, values, entry)
            law.provisions.append(planned)
            if self._refuse_unless_allowed(LegalProvision, planned) and planned.changed:
                # A new law has no row yet to check the reference (and uniqueness) against.
                self._full_clean(planned, exclude=["law"] if law.is_new else [])

    @staticmethod
    def _plan(instance, values, entry, kind=Planned) -> Planned:
        is_new = instance.pk is None
        changed = is_new or any(getattr(instance, k) != v for k, v in values.items())
        for name, value in values.items():
            setattr(instance, name, value)
        return kind(instance, entry, is_new, changed)

    def _plan_guides(self, guides, category_entries, law_entries) -> None:
        known_categories = {_text(e.data, "slug") for e in category_entries}
        known_categories |= set(Category.objects.values_list("slug", flat=True))
        slugs = [g.meta.get("slug") for g in guides]
        text_slugs = [slug for slug in slugs if isinstance(slug, str)]
        files_per_slug = Counter(text_slugs)
        known_slugs = set(text_slugs) | set(Article.objects.values_list("slug", flat=True))
        known_provisions = {
            (
                _text(law.data, "slug"),
                primary_text(provision.data.get("label"))
                if isinstance(provision.data, dict)
                else None,
            )
            for law in law_entries
            for provision in law.items("provisions")
        } | set(LegalProvision.objects.values_list("law__slug", primary("label")))
        existing = (
            Article.objects.select_related("draft_of")
            .prefetch_related("sections", "citations__provision__law")
            .in_bulk(text_slugs, field_name="slug")
        )
        owners = get_user_model().objects.in_bulk(
            [g.meta["owner"] for g in guides if isinstance(g.meta.get("owner"), str)],
            field_name=get_user_model().USERNAME_FIELD,
        )
        may_edit_parts = self.user.has_perms(GUIDE_PART_PERMISSIONS)
        self.published_slugs = {
            guide.meta["slug"]
            for guide in guides
            if isinstance(guide.meta.get("slug"), str)
            and guide.meta.get("status") == Article.Status.PUBLISHED
        }
        self.category_by_slug = Category.objects.in_bulk(field_name="slug") | {
            planned.instance.slug: planned.instance for planned in self.categories
        }
        for guide in guides:
            problems = check_guide(guide, known_categories, known_slugs, known_provisions)
            slug = guide.meta.get("slug")
            if isinstance(slug, str) and files_per_slug[slug] > 1:
                problems.append(guide.error("another file has the same slug", "slug"))
            owner = guide.meta.get("owner")
            if isinstance(owner, str) and owner not in owners:
                problems.append(guide.error(f"'owner' names an unknown user {owner!r}", "owner"))
            self.problems += problems
            article = existing.get(slug) if isinstance(slug, str) else None
            self._check_guide_role(guide, article, may_edit_parts)
            if not problems:
                self.guides.append(self._plan_guide(guide, article, owners))
        files = {slug: g for slug, g in zip(slugs, guides, strict=True) if isinstance(slug, str)}
        self._plan_translations(
            {slug: guide for slug, guide in files.items() if files_per_slug[slug] == 1}
        )

    def _check_guide_role(self, guide: ParsedGuide, article, may_edit_parts) -> None:
        action = "add" if article is None else "change"
        if not self.user.has_perm(workflow.permission_name(Article, action)) or not may_edit_parts:
            self.problems.append(guide.error(f"you may not {action} guides"))
            return
        status = guide.meta.get("status")
        if status in Article.Status.values:  # anything else is reported by check_guide
            try:
                workflow.check_edit(self.user, article, status)
            except PermissionDenied as denied:
                self.problems.append(guide.error(str(denied), "status"))
        if workflow.can_publish(self.user):
            return
        current = {
            "published_at": article.published_at if article else None,
            "needs_review": article.needs_review if article else False,
            "draft_of": article.draft_of.slug if article and article.draft_of else None,
        }
        wanted = {
            "published_at": _moment(guide.meta.get("published_at")),
            "needs_review": bool(guide.meta.get("needs_review")),
            "draft_of": guide.meta.get("draft_of"),
        }
        for name in PUBLISHER_ONLY_FIELDS:
            if wanted[name] != current[name]:
                self.problems.append(
                    guide.error(f"'{name}': only a Publisher can set or change it", name)
                )

    def _plan_guide(self, guide: ParsedGuide, article, owners) -> PlannedGuide:
        meta = guide.meta
        is_new = article is None
        major = is_new or (
            not meta.get("minor") and _content_in_database(article) != _content_in_file(guide)
        )
        placed = None if is_new else (article.translation_group, article.language)
        article = article or Article(slug=meta["slug"])
        category = self.category_by_slug.get(meta["category"])
        if category is not None:  # else its entry in categories.yaml has a reported problem
            article.category = category
        article.language = meta.get("language") or primary_language()
        article.translated_from = meta.get("translated_from") or ""
        article.title = meta["title"]
        article.summary = meta["summary"]
        article.status = meta["status"]
        article.published_at = _moment(meta.get("published_at"))
        article.review_by = _day(meta.get("review_by"))
        if is_new:  # like its change notes: a record of this site's own, for a new guide
            article.reviewed_at = _day(meta.get("reviewed_at"))
        article.needs_review = bool(meta.get("needs_review"))
        article.owner = owners.get(meta.get("owner"))
        article.last_edited_by = self.user
        planned = Planned(article, guide.entry, is_new, changed=True)
        self._full_clean(planned, exclude=GUIDE_REFERENCE_FIELDS)
        if article.category_id is None and category is not None:
            # A category this import creates: Article.clean() had no row to measure with.
            self._check_address_length(guide, article, category)
        for section in guide.sections:
            part = Section(**{k: section[k] for k in ["kind", "heading", "position"]})
            # As the admin's form field strips it: a body of blank lines is no body.
            part.body = section["body"].strip()
            entry = Entry(guide.path, section["line"], section)
            self._full_clean(
                Planned(part, entry, True, True),
                exclude=["article"],
                label=f"section “{section['heading']}”: ",
            )
        if article.status == Article.Status.PUBLISHED:
            self._check_before_publishing(guide, article)
        return PlannedGuide(guide, article, is_new, major=major, placed=placed)

    def _check_before_publishing(self, guide: ParsedGuide, article) -> None:
        """The checks the admin runs before publishing (articles.checks): errors
        refuse the import, with the file and the section's line; warnings are
        printed. The other guides this import publishes count as published."""
        sections = [
            {"kind": s["kind"], "heading": s["heading"], "body": s["body"]} for s in guide.sections
        ]
        found = checks.check_guide(
            article,
            sections,
            citations=len(guide.meta.get("citations") or []),
            published_slugs=self.published_slugs,
        )
        for problem in found:
            if problem.section is not None:
                section = guide.sections[problem.section]
                where = Entry(guide.path, section["line"], section)
                report = where.error(f"section “{problem.heading}”: {problem.message}")
            else:
                report = guide.error(problem.message)
            (self.problems if problem.is_error else self.warnings).append(report)

    def _check_address_length(self, guide, article, category) -> None:
        if article.language not in language_codes():
            return  # reported by check_guide
        try:
            with translation.override(article.language):
                address = reverse(
                    "articles:article", kwargs={"category": category.slug, "slug": article.slug}
                )
        except NoReverseMatch:  # a slug the addresses cannot hold: reported already
            return
        if len(address) > MAX_ADDRESS_LENGTH:
            self.problems.append(
                guide.error(
                    f"'slug': the address would be too long once encoded ({len(address)} of "
                    f"at most {MAX_ADDRESS_LENGTH} characters; a Chinese character takes nine)",
                    "slug",
                )
            )

    # Translation groups

    def _plan_translations(self, files: dict[str, ParsedGuide]) -> None:
        """Give each planned guide the translation group it has after the import, and
        report what the groups would not allow: a version joining one in its own
        language, a circle of translation_of, a draft revision in another language
        than its guide, two versions of one language in a group."""
        planned = {p.guide.meta["slug"]: p for p in self.guides}
        named = {
            p.guide.meta.get(name)
            for p in self.guides
            for name in ["translation_of", "draft_of"]
            if isinstance(p.guide.meta.get(name), str)
        }
        in_database = Article.objects.in_bulk(named - set(files), field_name="slug")
        groups: dict[str, uuid.UUID | None] = {}

        def language_of(slug):
            if slug in files:
                language = files[slug].meta.get("language") or primary_language()
                return language if isinstance(language, str) else None
            article = in_database.get(slug)
            return article.language if article else None

        def is_revision(slug):
            if slug in files:
                return isinstance(files[slug].meta.get("draft_of"), str)
            article = in_database.get(slug)
            return bool(article and article.draft_of_id)

        def link_of(slug):
            """The guide whose group this one takes: the guide a draft revises, or
            the version named in translation_of."""
            meta = files[slug].meta
            for name in ["draft_of", "translation_of"]:
                if isinstance(meta.get(name), str) and meta[name] != slug:
                    return name, meta[name]
            return None, None

        def group_of(slug, trail=()):
            if slug in groups:
                return groups[slug]
            if slug not in files:
                article = in_database.get(slug)
                return article.translation_group if article else None
            if slug in trail:
                circle = " → ".join([*trail[trail.index(slug) :], slug])
                name, _target = link_of(slug)
                self.problems.append(
                    files[slug].error(f"'{name}' goes round in a circle: {circle}", name)
                )
                groups[slug] = None
                return None
            name, target = link_of(slug)
            if target is not None:
                group = group_of(target, (*trail, slug))
            else:
                # Its own group: the one it has, or the new guide's own.
                group = planned[slug].article.translation_group if slug in planned else None
            groups.setdefault(slug, group)
            return groups[slug]

        for slug, plan in planned.items():
            meta, guide = plan.guide.meta, plan.guide
            group = group_of(slug)
            if group is not None:
                plan.article.translation_group = group
            name, target = link_of(slug)
            if target is None:
                continue
            language, target_language = plan.article.language, language_of(target)
            if name == "draft_of":
                if target_language and target_language != language:
                    self.problems.append(
                        guide.error(
                            "'language': a draft revision is in the language of the guide it "
                            f"revises ({target_language})",
                            "language" if "language" in meta else "draft_of",
                        )
                    )
            elif is_revision(target):
                self.problems.append(
                    guide.error(
                        f"'translation_of' names a draft revision ({target!r}): name the "
                        "guide it revises",
                        "translation_of",
                    )
                )
            elif target_language == language:
                self.problems.append(
                    guide.error(
                        f"'translation_of' names a version in this one's own language "
                        f"({language}): a guide has one version per language",
                        "translation_of",
                    )
                )
        self._check_one_version_per_language(planned)
        self._check_sources(planned)

    def _check_sources(self, planned: dict[str, PlannedGuide]) -> None:
        """As the admin: a guide changes language only without a pending draft
        revision and when no other version is translated from it; a translation
        said to match its source needs one."""
        versions = [
            (p.article.translation_group, p.article.language, p.article.translated_from)
            for p in planned.values()
            if p.guide.meta.get("draft_of") is None
        ]
        groups = {p.article.translation_group for p in planned.values()}
        groups |= {p.placed[0] for p in planned.values() if p.placed}
        versions += (
            Article.objects.filter(draft_of__isnull=True, translation_group__in=groups)
            .exclude(slug__in=list(planned))
            .values_list("translation_group", "language", "translated_from")
        )
        changing = {
            slug: plan
            for slug, plan in planned.items()
            if plan.placed
            and plan.placed[1] != plan.article.language
            and plan.guide.meta.get("draft_of") is None
        }
        revised = set(
            Article.objects.filter(draft_of__slug__in=list(changing))
            .exclude(slug__in=list(planned))
            .values_list("draft_of__slug", flat=True)
        )
        for slug, plan in changing.items():
            group, old = plan.placed
            key = "language" if "language" in plan.guide.meta else "slug"
            if slug in revised:
                self.problems.append(
                    plan.guide.error(
                        f"'language': this guide has a draft revision in {old}: publish or "
                        "delete it before changing the language",
                        key,
                    )
                )
            followed = any(g == group and source == old for g, _l, source in versions)
            if followed and not any(g == group and lang == old for g, lang, _s in versions):
                self.problems.append(
                    plan.guide.error(
                        f"'language': other versions are translated from this one ({old}): "
                        "changing its language would leave them without their source",
                        key,
                    )
                )
        for plan in planned.values():
            meta, article = plan.guide.meta, plan.article
            if not meta.get("translation_matches") or not article.translated_from:
                continue  # without translated_from: reported by check_guide
            source = (article.translation_group, article.translated_from)
            if not any((g, lang) == source for g, lang, _s in versions):
                self.problems.append(
                    plan.guide.error(
                        "'translation_matches': this guide has no version in "
                        f"{article.translated_from} to match",
                        "translation_matches",
                    )
                )

    def _check_one_version_per_language(self, planned: dict[str, PlannedGuide]) -> None:
        versions: dict[tuple, list[str]] = {}
        for slug, plan in planned.items():
            if plan.guide.meta.get("draft_of") is None:
                key = (plan.article.translation_group, plan.article.language)
                versions.setdefault(key, []).append(slug)
        staying = (
            Article.objects.filter(
                draft_of__isnull=True,
                translation_group__in={group for group, _language in versions},
            )
            .exclude(slug__in=list(planned))
            .values_list("translation_group", "language", "slug")
        )
        for group, language, slug in staying:
            versions.setdefault((group, language), []).append(slug)
        for (_group, language), slugs in versions.items():
            if len(slugs) < 2:
                continue
            for slug in slugs:
                if slug not in planned:
                    continue
                guide, others = planned[slug].guide, [other for other in slugs if other != slug]
                key = next(
                    (name for name in ["translation_of", "language"] if name in guide.meta),
                    "slug",
                )
                self.problems.append(
                    guide.error(
                        f"this guide would have two versions in {language}: "
                        f"{', '.join(repr(other) for other in others)} is one already "
                        "(a translation group holds one version per language)",
                        key,
                    )
                )

    # Writing: one revision per object, all in the caller's transaction

    def apply(self, comment: str) -> None:
        for planned in self.categories:
            if planned.changed:
                with self._revision(comment):
                    planned.instance.save()
        for law in self.laws:
            changed = [p for p in law.provisions if p.changed]
            if not (law.changed or changed):
                continue
            with self._revision(comment):
                if law.changed:
                    law.instance.save()
                for provision in changed:
                    provision.instance.law = law.instance
                    provision.instance.save()
                # The law with all its provisions, as the law admin saves it.
                reversion.add_to_revision(law.instance)
        self._apply_guides(comment)

    @contextmanager
    def _revision(self, comment):
        with reversion.create_revision():
            reversion.set_user(self.user)
            reversion.set_comment(comment)
            yield

    def _apply_guides(self, comment) -> None:
        self._set_change_times(timezone.now())
        # Guides that change group or language step aside first (each into a group of
        # its own), so that no save meets a place another guide is about to leave.
        final = {}
        moving = [
            planned
            for planned in self.guides
            if planned.is_new
            or planned.placed != (planned.article.translation_group, planned.article.language)
        ]
        # updated, not saved: with the effects of a save on public pages (its group's
        # other versions lose their link to it), as only the group changes.
        with updating_guides(p.article.pk for p in moving if not p.is_new):
            for planned in self.guides:
                final[planned.article.slug] = planned.article.translation_group
            for planned in moving:
                article = planned.article
                article.translation_group = uuid.uuid4()
                if not planned.is_new:
                    Article.objects.filter(pk=article.pk).update(
                        translation_group=article.translation_group
                    )
        # Then every new guide exists, so that guides can link to each other...
        for planned in self.guides:
            if planned.is_new:
                planned.article.save()
        linked = {
            slug
            for planned in self.guides
            for slug in [planned.guide.meta.get(name) for name in ["previous", "next", "draft_of"]]
            + list(planned.guide.meta.get("related") or [])
        }
        by_slug = Article.objects.in_bulk(linked - {None}, field_name="slug")
        # ...then each guide is saved whole, as one revision.
        for planned in self.guides:
            meta, article = planned.guide.meta, planned.article
            with self._revision(comment):
                article.previous_article = by_slug.get(meta.get("previous"))
                article.next_article = by_slug.get(meta.get("next"))
                article.draft_of = by_slug.get(meta.get("draft_of"))
                article.translation_group = final[article.slug]
                article.save()
                self._replace_parts(planned.guide, article, by_slug)
            moved = planned.placed and planned.placed[0] != article.translation_group
            if moved and article.draft_of_id is None:
                # Its draft revisions (those this import leaves alone) go with it.
                revisions = Article.objects.filter(draft_of=article).exclude(slug__in=list(final))
                revision_ids = list(revisions.values_list("pk", flat=True))
                with updating_guides(revision_ids):
                    Article.objects.filter(pk__in=revision_ids).update(
                        translation_group=article.translation_group
                    )
        # A new guide's change notes, as exported: what citizens were told, and when.
        # An existing guide keeps its own (the site's record; an import never rewrites it).
        for planned in self.guides:
            if planned.is_new:
                for update in planned.guide.meta.get("updates") or []:
                    made_at = _moment(update["at"])
                    if timezone.is_naive(made_at):
                        made_at = timezone.make_aware(made_at)
                    ChangeNote.objects.create(
                        article=planned.article, note=update["note"].strip(), made_at=made_at
                    )
        # Last, so the saves above (which move "last updated") leave the files' dates.
        dated = {
            planned.article.pk: {
                name: _moment(planned.guide.meta[name])
                for name in ["created_at", "updated_at"]
                if planned.guide.meta.get(name)
            }
            for planned in self.guides
        }
        dated = {pk: dates for pk, dates in dated.items() if dates}
        with updating_guides(dated):
            for pk, dates in dated.items():
                Article.objects.filter(pk=pk).update(**dates)

    def _set_change_times(self, now) -> None:
        """major_change_at and source_change_followed of each guide (see the module
        docstring): a new guide's come from its file when it gives them."""
        for planned in self.guides:
            article, meta = planned.article, planned.guide.meta
            if planned.is_new:
                article.major_change_at = _moment(meta.get("major_change_at")) or now
            elif planned.major:
                article.major_change_at = now
        # The last major change of each version, as this import leaves it.
        changed_at = {
            (p.article.translation_group, p.article.language): p.article.major_change_at
            for p in self.guides
            if p.guide.meta.get("draft_of") is None
        }
        sources = {
            (p.article.translation_group, p.article.translated_from)
            for p in self.guides
            if p.article.translated_from
        }
        for group, language, moment in (
            Article.objects.filter(
                draft_of__isnull=True, translation_group__in={group for group, _l in sources}
            )
            .exclude(slug__in=[p.article.slug for p in self.guides])
            .values_list("translation_group", "language", "major_change_at")
        ):
            changed_at.setdefault((group, language), moment)
        for planned in self.guides:
            article, meta = planned.article, planned.guide.meta
            if not article.translated_from:
                article.source_change_followed = None
                continue
            source = (article.translation_group, article.translated_from)
            if planned.is_new and meta.get("source_change_followed"):
                article.source_change_followed = _moment(meta["source_change_followed"])
            elif (planned.is_new or meta.get("translation_matches")) and source in changed_at:
                # A new translation follows its source as it is now (as one started in
                # the admin does); an existing one when its file says it matches.
                article.source_change_followed = changed_at[source]

    @staticmethod
    def _replace_parts(guide: ParsedGuide, article: Article, by_slug) -> None:
        meta = guide.meta
        article.sections.all().delete()
        for section in guide.sections:
            Section.objects.create(
                article=article,
                kind=section["kind"],
                heading=section["heading"],
                # Stripped, as the admin's form field stores it (and as validated).
                body=section["body"].strip(),
                position=section["position"],
            )
        article.citations.all().delete()
        for position, citation in enumerate(meta.get("citations") or [], start=1):
            provision = LegalProvision.objects.get(
                law__slug=citation["law"], **{primary("label"): citation["provision"]}
            )
            Citation.objects.create(article=article, provision=provision, position=position)
        article.related_links.all().delete()
        for position, slug in enumerate(meta.get("related") or [], start=1):
            RelatedLink.objects.create(
                from_article=article, to_article=by_slug[slug], position=position
            )
        article.tags.set(meta.get("tags") or [], clear=True)


class Command(BaseCommand):
    help = "Import guides, categories and laws from DIR (as written by export_guides)."

    def add_arguments(self, parser):
        parser.add_argument("directory", type=Path)
        parser.add_argument("--user", required=True, help="Username the changes are made as.")
        parser.add_argument("--dry-run", action="store_true", help="Validate only.")

    def handle(self, *args, directory, user, dry_run=False, verbosity=1, **options):
        try:
            user = get_user_model().objects.get(**{get_user_model().USERNAME_FIELD: user})
        except get_user_model().DoesNotExist as error:
            raise CommandError(f"No user named {user!r}.") from error
        if not (user.is_active and user.is_staff):
            raise CommandError(f"{user} may not import: only active staff users, as in the admin.")
        if not (directory / "guides").is_dir():
            raise CommandError(f"{directory} has no guides/ folder.")
        guide_paths = sorted((directory / "guides").glob("*.md"))
        if len(guide_paths) > MAX_GUIDE_FILES:
            raise CommandError(
                f"{len(guide_paths):,} guide files: at most {MAX_GUIDE_FILES:,} are imported "
                "at once; split the import. Nothing was changed."
            )
        importer = Importer(directory, user)
        problems = importer.check(guide_paths)
        for warning in importer.warnings:
            self.stdout.write(f"warning: {warning}")
        if problems:
            for problem in problems:
                self.stderr.write(str(problem))
            raise CommandError(f"{len(problems)} problem(s) found; nothing was changed.")
        if dry_run:
            self.stdout.write(
                f"{len(guide_paths)} guides are valid; nothing was changed (dry run)."
            )
            return
        with transaction.atomic():
            importer.apply(f"Imported from {directory.name}")
        if verbosity:
            self.stdout.write(self.style.SUCCESS(f"Imported {len(guide_paths)} guides."))
