"""What django-reversion keeps: every save of a guide with its sections, citations,
related links and tags, and of categories, laws and provisions."""

import difflib

import reversion
from django.contrib.contenttypes.models import ContentType
from django.utils.html import format_html, format_html_join
from reversion.models import Version
from taggit.models import TaggedItem

from .models import Article, Category, Citation, Law, LegalProvision, RelatedLink, Section


def register_models():
    for model in (Section, Citation, RelatedLink, TaggedItem, LegalProvision, Category):
        if not reversion.is_registered(model):
            reversion.register(model)
    if not reversion.is_registered(Article):
        reversion.register(
            Article, follow=["sections", "citations", "related_links", "tagged_items"]
        )
    if not reversion.is_registered(Law):
        reversion.register(Law, follow=["provisions"])


TRACKED_FIELDS = ["title", "slug", "summary", "status", "published_at", "category_id"]


def changes_since(article, edited_version: str) -> list[str]:
    """Readable lines on what was saved to `article` since it was last updated at
    `edited_version` (an ISO time): who saved, which fields and sections changed."""
    versions = list(Version.objects.get_for_object(article).select_related("revision__user"))

    def saved_at(version):
        moment = version.field_dict.get("updated_at")
        return moment.isoformat() if moment else None

    started = next((v for v in versions if saved_at(v) == edited_version), None)
    lines = []
    for version in versions:
        if version is started:
            break
        revision = version.revision
        who = revision.user.get_username() if revision.user else "someone"
        when = revision.date_created.strftime("%Y-%m-%d %H:%M")
        comment = revision.get_comment() or "changed"
        lines.append(f"{who} at {when}: {comment}")
    if started is None:
        return lines
    current = type(article).objects.get(pk=article.pk)
    before = started.field_dict
    for name in TRACKED_FIELDS:
        field = name.removesuffix("_id")
        old, new = before.get(field, before.get(name)), getattr(current, name)
        if hasattr(old, "pk"):
            old = old.pk
        if old != new:
            label = current._meta.get_field(field).verbose_name
            lines.append(f"{label}: “{old}” → “{new}”")
    section_type = ContentType.objects.get_for_model(Section)
    old_sections = {
        v.field_dict["heading"]: v.field_dict["body"]
        for v in started.revision.version_set.filter(content_type=section_type)
        if v.field_dict.get("article")
        in (article.pk, getattr(v.field_dict.get("article"), "pk", None))
    }
    new_sections = dict(current.sections.values_list("heading", "body"))
    for heading in sorted(set(old_sections) | set(new_sections)):
        if heading not in new_sections:
            lines.append(f"section “{heading}” removed")
        elif heading not in old_sections:
            lines.append(f"section “{heading}” added")
        elif old_sections[heading] != new_sections[heading]:
            lines.append(f"section “{heading}” edited")
    return lines


def revision_sections(version) -> dict[str, str]:
    """Heading → Markdown body of the sections saved with a guide's version."""
    section_type = ContentType.objects.get_for_model(Section)
    return {
        v.field_dict["heading"]: v.field_dict["body"]
        for v in version.revision.version_set.filter(content_type=section_type)
    }


def revision_tags(version) -> list[str]:
    from taggit.models import Tag

    item_type = ContentType.objects.get_for_model(TaggedItem)
    tag_ids = [
        v.field_dict["tag"].pk if hasattr(v.field_dict["tag"], "pk") else v.field_dict["tag"]
        for v in version.revision.version_set.filter(content_type=item_type)
    ]
    return sorted(Tag.objects.filter(pk__in=tag_ids).values_list("name", flat=True))


def text_diff_html(old: dict[str, str], new: dict[str, str]):
    """A line diff per key (a section heading), escaped, as HTML for the history page."""
    parts = []
    for key in sorted(set(old) | set(new)):
        before, after = old.get(key, "").splitlines(), new.get(key, "").splitlines()
        if before == after:
            continue
        lines = [line for line in difflib.ndiff(before, after) if not line.startswith("?")]
        parts.append((key, format_html_join("\n", "{}", ((line,) for line in lines))))
    if not parts:
        return format_html("<p>{}</p>", "No change.")
    return format_html_join(
        "", '<h4>{}</h4><pre class="highlight">{}</pre>', ((key, body) for key, body in parts)
    )
