"""What django-reversion keeps: every save of a guide with its sections, citations,
related links and tags, and of categories, laws and provisions; and who may bring
an old revision back."""

import difflib

import reversion
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from reversion.errors import RevertError
from reversion.models import Version
from taggit.models import TaggedItem

from . import workflow
from .models import Article, Category, Citation, Law, LegalProvision, RelatedLink, Section

# What a revision of each model carries along: a guide's parts, a law's provisions.
FOLLOWED_PARTS = {
    Article: ["sections", "citations", "related_links", "tagged_items"],
    Law: ["provisions"],
}

# A guide's parts and the field naming their guide; they follow the guide's rules
# (tagged items name it through content_type + object_id, see _guide_of).
GUIDE_PART_FIELDS = {Section: "article_id", Citation: "article_id", RelatedLink: "from_article_id"}


def register_models():
    """Called before the admin classes are created (admin.py), or VersionAdmin would
    register the models itself, following only their inlines (no tags)."""
    for model in (Section, Citation, RelatedLink, TaggedItem, LegalProvision, Category):
        if not reversion.is_registered(model):
            reversion.register(model)
    for model, parts in FOLLOWED_PARTS.items():
        if not reversion.is_registered(model):
            # A draft revision's base is what the guide was when it was prepared, not
            # content: an old version brought back keeps the revision's current one.
            exclude = ["revision_base"] if model is Article else []
            reversion.register(model, follow=parts, exclude=exclude)


def restore_refusals(user, revision, *, lock: bool = False) -> list[str]:
    """Why `user` may not revert to (or recover from) `revision`: one line per object
    the change form would not let them save; empty when every object passes.

    Reverting writes back every object of the revision, not only the one opened
    (bulk actions and imports used to save many in one), and deletes the parts added
    to them since, so each is checked: guides, and parts through their guide (as in
    the revision and as now), by workflow.check_edit against the guide as it is now;
    anything else by the user's add, change or delete permission for its model.
    `lock` holds the current rows (select_for_update) until the caller's transaction
    ends, so nothing changes between this check and the revert.
    """
    try:
        saved = [
            (version, version.content_type.model_class(), version.field_dict)
            for version in revision.version_set.select_related("content_type")
        ]
    except RevertError as error:
        return [str(error)]
    if any(model is None for _version, model, _fields in saved):
        return [_("This revision holds a kind of object that no longer exists.")]
    wanted = {}
    for version, model, _fields in saved:
        wanted.setdefault(model, set()).add(version.object_id)
    current = _current_rows(wanted, lock)

    refusals, guides, guide_states = _dangling_references(saved, wanted), set(), {}
    for version, model, fields in saved:
        if model is Article:
            guides.add(int(version.object_id))
            guide_states[int(version.object_id)] = fields
            continue
        row = current.get((model, version.object_id))
        owners = {_guide_of(model, fields)}
        if row is not None:
            now_of = _guide_of(model, _row_fields(row))
            if now_of is not None and None not in owners and now_of not in owners:
                # It moved since (a draft revision's parts go to the guide it
                # replaced): bringing the revision back would strip that guide.
                refusals.append(
                    _(
                        "%(kind)s “%(name)s” now belongs to another guide (a draft revision "
                        "that went live hands its parts to its guide): restoring this "
                        "version would take it away from that guide."
                    )
                    % {"kind": str(model._meta.verbose_name).capitalize(), "name": row}
                )
            owners.add(now_of)
        owners.discard(None)
        if owners:
            guides |= owners
            continue
        action = "change" if row is not None else "add"
        if not user.has_perm(workflow.permission_name(model, action)):
            refusals.append(_refusal(model, version.object_repr, action))

    # revert(delete=True) deletes what was added to these objects since; a guide's
    # parts follow the guide's rules (checked below), anything else needs its delete
    # permission.
    for (model, _pk), row in current.items():
        if model is Article:
            continue
        for name in FOLLOWED_PARTS.get(model, []):
            for part in getattr(row, name).all():
                added_since = str(part.pk) not in wanted.get(type(part), set())
                deletable = user.has_perm(workflow.permission_name(type(part), "delete"))
                if added_since and not deletable:
                    refusals.append(_refusal(type(part), str(part), "delete"))

    guide_rows = {int(pk): row for (model, pk), row in current.items() if model is Article}
    missing = guides - set(guide_rows)
    if missing:
        guide_rows |= {row.pk: row for row in _current_rows({Article: missing}, lock).values()}
    for pk in sorted(guides):
        guide, state = guide_rows.get(pk), guide_states.get(pk)
        reason = _guide_refusal(user, guide, state)
        if reason:
            title = state["title"] if state else getattr(guide, "title", pk)
            refusals.append(_("Guide “%(title)s”: %(reason)s") % {"title": title, "reason": reason})
    return refusals


def _dangling_references(saved, wanted) -> list[str]:
    """Rows of the revision that point at a row deleted since (a merged tag, a removed
    provision): the database would refuse them only at commit, its constraints being
    deferred, so the restore would end in a server error. Say so beforehand."""
    pointing = {}  # target model → {target id: [(model, name, field)]}
    for version, model, fields in saved:
        for field in model._meta.concrete_fields:
            value = fields.get(field.attname)
            if not field.is_relation or value is None:
                continue
            target = field.related_model
            if str(value) not in wanted.get(target, set()):
                pointing.setdefault(target, {}).setdefault(str(value), []).append(
                    (model, version.object_repr, field)
                )
    refusals = []
    for target, by_id in pointing.items():
        existing = target._base_manager.filter(pk__in=list(by_id)).values_list("pk", flat=True)
        for target_id in sorted(set(by_id) - {str(pk) for pk in existing}):
            for model, name, field in by_id[target_id]:
                refusals.append(
                    _("%(kind)s “%(name)s”: its %(field)s no longer exists.")
                    % {
                        "kind": str(model._meta.verbose_name).capitalize(),
                        "name": name,
                        "field": field.verbose_name,
                    }
                )
    return refusals


def _current_rows(ids_by_model, lock):
    """{(model, object id as reversion stores it): row} for the rows that exist now."""
    rows = {}
    for model, ids in ids_by_model.items():
        queryset = model._base_manager.filter(pk__in=list(ids))
        if lock:
            queryset = queryset.select_for_update()
        rows |= {(model, str(row.pk)): row for row in queryset}
    return rows


def _row_fields(row):
    return {field.attname: getattr(row, field.attname) for field in row._meta.concrete_fields}


def _guide_of(model, fields) -> int | None:
    """The guide a part belongs to, from its field values; None when not a guide's part."""
    if model in GUIDE_PART_FIELDS:
        return fields.get(GUIDE_PART_FIELDS[model])
    guide_type = ContentType.objects.get_for_model(Article)
    if model is TaggedItem and fields.get("content_type_id") == guide_type.pk:
        return int(fields["object_id"])
    return None


def _guide_refusal(user, guide, state) -> str | None:
    """The change form's rule for one guide: `guide` as it is now (None: deleted) and
    `state`, its field values in the revision (None: only its parts are in it)."""
    if guide is None and state is None:
        return _("it no longer exists.")
    action = "change" if guide is not None else "add"
    if not user.has_perm(workflow.permission_name(Article, action)):
        return _("you may not change guides.") if guide else _("you may not add guides.")
    try:
        workflow.check_edit(user, guide, state["status"] if state else guide.status)
    except PermissionDenied as denied:
        return str(denied)
    if state is not None and not workflow.can_publish(user):
        for name in workflow.PUBLISHER_ONLY_FIELDS:
            field = Article._meta.get_field(name)
            now = getattr(guide, field.attname) if guide is not None else field.get_default()
            if _stored(state.get(field.attname)) != _stored(now):
                return _("only a Publisher can change its %(field)s.") % {
                    "field": field.verbose_name
                }
    return None


def _stored(value):
    """A value as a revision keeps it: times to the millisecond (Django's JSON)."""
    if hasattr(value, "microsecond"):
        return value.replace(microsecond=value.microsecond // 1000 * 1000)
    return value


def _refusal(model, name, action) -> str:
    message = {
        "add": _("%(kind)s “%(name)s” would be brought back: you may not add %(kinds)s."),
        "change": _("%(kind)s “%(name)s” would change: you may not change %(kinds)s."),
        "delete": _(
            "%(kind)s “%(name)s”, added since, would be deleted: you may not delete %(kinds)s."
        ),
    }[action]
    return message % {
        "kind": str(model._meta.verbose_name).capitalize(),
        "name": name,
        "kinds": model._meta.verbose_name_plural,
    }


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
    old_sections = revision_sections(started)
    new_sections = dict(current.sections.values_list("heading", "body"))
    for heading in sorted(set(old_sections) | set(new_sections)):
        if heading not in new_sections:
            lines.append(f"section “{heading}” removed")
        elif heading not in old_sections:
            lines.append(f"section “{heading}” added")
        elif old_sections[heading] != new_sections[heading]:
            lines.append(f"section “{heading}” edited")
    return lines


def _saved_parts(version, model):
    """Field values of the `model` parts saved with a guide's version: that guide's
    only, since one revision may hold several guides."""
    part_type = ContentType.objects.get_for_model(model)
    guide_pk = int(version.object_id)
    for part in version.revision.version_set.filter(content_type=part_type):
        if _guide_of(model, part.field_dict) == guide_pk:
            yield part.field_dict


def revision_sections(version) -> dict[str, str]:
    """Heading → Markdown body of the sections saved with a guide's version."""
    return {fields["heading"]: fields["body"] for fields in _saved_parts(version, Section)}


def revision_tags(version) -> list[str]:
    """Names of the tags saved with a guide's version."""
    from taggit.models import Tag

    tag_ids = [fields["tag_id"] for fields in _saved_parts(version, TaggedItem)]
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
        return format_html("<p>{}</p>", _("No change."))
    return format_html_join(
        "", '<h4>{}</h4><pre class="highlight">{}</pre>', ((key, body) for key, body in parts)
    )
