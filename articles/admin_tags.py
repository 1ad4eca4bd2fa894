"""The admin for tags, replacing django-taggit's own TagAdmin (see admin.py).

Tags are shared by published guides, so adding, renaming, merging and deleting
them is a Publisher's change (the publish permission and taggit's tag
permissions, both); Editors see the list read-only and tag their drafts through
the guide form. There is no tagged-items inline: guides are tagged on the guide.

Whatever renames or deletes a tag, articles.signals reindexes its guides and
keeps its old address answering; merge_tags() is the one way to merge tags.
"""

import taggit.admin  # noqa: F401 (registers taggit's TagAdmin first, so it can be replaced)
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, pgettext
from taggit.models import Tag, TaggedItem

from . import workflow
from .models import Article
from .signals import guides_changed, record_tag_move, tag_path

# Keeps each query's list of ids well under every database's parameter limit.
ID_BATCH = 500


def merge_tags(sources, target: Tag) -> int:
    """Move everything tagged with `sources` to `target`, then delete `sources`.

    The merged tags' addresses answer 301 to the target's, and every guide that
    changed is reindexed and dated. Returns how many guides changed.
    """
    sources = [tag for tag in sources if tag.pk != target.pk]
    if not sources:
        return 0
    article_type = ContentType.objects.get_for_model(Article)
    with transaction.atomic():
        has_target = set(
            TaggedItem.objects.filter(tag=target).values_list("content_type_id", "object_id")
        )
        moving, duplicates, guide_ids = [], [], set()
        items = TaggedItem.objects.filter(tag__in=sources).order_by("pk")
        for pk, content_type_id, object_id in items.values_list(
            "pk", "content_type_id", "object_id"
        ):
            if content_type_id == article_type.pk:
                guide_ids.add(object_id)
            if (content_type_id, object_id) in has_target:
                duplicates.append(pk)  # already tagged with the target
            else:
                has_target.add((content_type_id, object_id))
                moving.append(pk)
        for start in range(0, len(duplicates), ID_BATCH):
            TaggedItem.objects.filter(pk__in=duplicates[start : start + ID_BATCH]).delete()
        for start in range(0, len(moving), ID_BATCH):
            TaggedItem.objects.filter(pk__in=moving[start : start + ID_BATCH]).update(tag=target)
        for tag in sources:
            record_tag_move(tag.slug, target.slug)
            # Deleting also moves the content clock (articles.signals).
            tag.delete()
        guides_changed(guide_ids)
    return len(guide_ids)


class TagAdminForm(forms.ModelForm):
    # Letters of any script (医保卡), digits, hyphens: what the tag address carries.
    slug = forms.SlugField(
        label=_("slug"),
        max_length=100,
        allow_unicode=True,
        help_text=_(
            "The end of the tag's address, as in /en/tags/alipay/. "
            "Changing it redirects the old one."
        ),
    )

    class Meta:
        model = Tag
        fields = ["name", "slug"]

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        # Tags are matched without regard to case (TAGGIT_CASE_INSENSITIVE).
        twin = Tag.objects.filter(name__iexact=name).exclude(pk=self.instance.pk).first()
        if twin is not None:
            raise forms.ValidationError(
                _("The tag “%(name)s” exists already: merge into it instead."),
                params={"name": twin.name},
            )
        return name


class TagActionForm(ActionForm):
    merge_into = forms.CharField(
        required=False, max_length=100, label=_("Merge into (tag name, for “Merge”)")
    )


admin.site.unregister(Tag)


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    form = TagAdminForm
    action_form = TagActionForm
    list_display = ["name", "slug", "guide_count", "public_page"]
    search_fields = ["name", "slug"]
    ordering = ["name"]
    prepopulated_fields = {"slug": ["name"]}
    actions = ["merge_selected"]

    def get_queryset(self, request):
        article_type = ContentType.objects.get_for_model(Article)
        # Per language, whether published guides carry the tag: where its pages are.
        public_in = {
            f"public_in_{code.replace('-', '_')}": Exists(
                TaggedItem.objects.filter(
                    tag=OuterRef("pk"),
                    content_type=article_type,
                    object_id__in=Article.objects.published().filter(language=code).values("pk"),
                )
            )
            for code, _name in settings.LANGUAGES
        }
        return (
            super()
            .get_queryset(request)
            .annotate(
                guide_count=Count(
                    "taggit_taggeditem_items",
                    filter=Q(taggit_taggeditem_items__content_type=article_type),
                ),
                **public_in,
            )
        )

    @admin.display(description=_("guides"), ordering="guide_count")
    def guide_count(self, tag):
        return tag.guide_count

    @admin.display(description=_("public page"))
    def public_page(self, tag):
        """The tag's page in each language whose published guides carry it."""
        paths = [
            tag_path(tag.slug, code)
            for code, _name in settings.LANGUAGES
            if getattr(tag, f"public_in_{code.replace('-', '_')}", False)
        ]
        links = [(path,) for path in paths if path]
        return format_html_join(" ", '<a href="{0}">{0}</a>', links) if links else "–"

    # Publishers only: the publish permission and the taggit permission, both.

    def has_add_permission(self, request):
        return super().has_add_permission(request) and workflow.can_publish(request.user)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and workflow.can_publish(request.user)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and workflow.can_publish(request.user)

    def has_merge_permission(self, request):
        return self.has_change_permission(request) and self.has_delete_permission(request)

    @admin.action(description=_("Merge into the tag named below"), permissions=["merge"])
    def merge_selected(self, request, queryset):
        if not self.has_merge_permission(request):
            raise PermissionDenied
        name = (request.POST.get("merge_into") or "").strip()
        target = Tag.objects.filter(Q(name__iexact=name) | Q(slug=name)).first() if name else None
        if target is None:
            self.message_user(
                request, _("Type the name of an existing tag to merge into."), messages.ERROR
            )
            return
        sources = [tag for tag in queryset if tag.pk != target.pk]
        if not sources:
            self.message_user(request, _("Select tags other than the target."), messages.ERROR)
            return
        changed = merge_tags(sources, target)
        names = pgettext("between the items of a list", ", ").join(f"“{t.name}”" for t in sources)
        self.message_user(
            request,
            ngettext(
                "Merged %(names)s into “%(target)s”: %(count)d guide retagged.",
                "Merged %(names)s into “%(target)s”: %(count)d guides retagged.",
                changed,
            )
            % {"names": names, "target": target.name, "count": changed},
            messages.SUCCESS,
        )
