"""The editors' admin: guides with their parts, laws, best bets, and the editorial
workflow (roles, review, scheduling, previews, history, no lost edits)."""

import re
from contextlib import contextmanager
from datetime import timedelta
from types import SimpleNamespace

import reversion
from adminsortable2.admin import (
    CustomInlineFormSetMixin,
    SortableAdminBase,
    SortableInlineAdminMixin,
)
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.contrib.admin.utils import quote, unquote
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import Count, F
from django.forms.models import BaseInlineFormSet
from django.http import Http404, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.utils.translation import override as translation_override
from reversion.admin import VersionAdmin
from reversion.models import Version
from reversion_compare.admin import CompareVersionAdmin
from translated_fields.admin import TranslatedFieldAdmin

from insights.admin_links import check_links_of_guides, may_check_links

from . import checks, translation, versioning, workflow
from .caching import private
from .markdown import render_markdown
from .models import (
    Article,
    Category,
    ChangeNote,
    Citation,
    Law,
    LegalProvision,
    PreviewLink,
    PromotedResult,
    RelatedLink,
    Section,
    due_for_review_q,
    primary,
)
from .seo import bcp47
from .versioning import revision_sections, revision_tags, text_diff_html

versioning.register_models()

# Requests that only show something: they save nothing, so they open no transaction.
READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class VersionedAdmin(CompareVersionAdmin):
    """History (django-reversion, compared by django-reversion-compare) with the roles
    kept on every path and no write lock taken to show a page.

    - Revert, recover and restore are refused, before anything is written, unless the
      user may save every object of the revision (versioning.restore_refusals).
    - Showing a list or a form opens no revision: reversion's would be a transaction,
      and with SQLite's IMMEDIATE transactions that takes the database's write lock,
      so a page would wait behind (or fail under) any editor's save.
    - Bulk actions open one revision and transaction per object themselves; a row
      changed in the list gets its own revision too.
    """

    @contextmanager
    def create_revision(self, request):
        if request.method in READ_ONLY_METHODS:
            yield
            return
        with super().create_revision(request):
            yield

    def changelist_view(self, request, extra_context=None):
        # Skips VersionAdmin's, which wraps the whole list, bulk actions included, in
        # one revision: one transaction holding the lock for the whole batch.
        context = {"has_change_permission": self.has_change_permission(request)}
        context.update(extra_context or {})
        return super(VersionAdmin, self).changelist_view(request, context)

    def save_model(self, request, obj, form, change):
        if reversion.is_active():
            super().save_model(request, obj, form, change)
            return
        # A row changed in the list (list_editable): a revision of its own.
        with self.create_revision(request):
            reversion.set_comment(
                gettext("Changed %(fields)s in the list.")
                % {"fields": ", ".join(str(form.fields[name].label) for name in form.changed_data)}
            )
            super().save_model(request, obj, form, change)

    def revision_view(self, request, object_id, version_id, extra_context=None):
        version = get_object_or_404(
            Version.objects.get_for_model(self.model), pk=version_id, object_id=unquote(object_id)
        )
        back = reverse(
            f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_history",
            args=[quote(version.object_id)],
        )
        with transaction.atomic(using=version.db):
            return self._refuse_restore(request, version, back) or super().revision_view(
                request, object_id, version_id, extra_context
            )

    def recover_view(self, request, version_id, extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        version = get_object_or_404(Version.objects.get_for_model(self.model), pk=version_id)
        if self.model._base_manager.filter(pk=version.object_id).exists():
            # Not deleted: recovering would overwrite it, as a restore but unlabelled.
            self.message_user(
                request,
                gettext("“%(item)s” was not deleted: restore one of its versions instead.")
                % {"item": version.object_repr},
                messages.WARNING,
            )
            return redirect(
                f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_history",
                quote(version.object_id),
            )
        back = reverse(
            f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_recoverlist"
        )
        with transaction.atomic(using=version.db):
            return self._refuse_restore(request, version, back) or super().recover_view(
                request, version_id, extra_context
            )

    def compare(self, obj, version1, version2):
        diff, has_unfollowed_fields = super().compare(obj, version1, version2)
        for entry in diff:
            field = entry["field"]
            if not getattr(field, "verbose_name", None):
                # A reverse relation (a guide's sections) is headed by its related_name
                # otherwise, untranslated: use its model's name.
                name = field.related_model._meta.verbose_name_plural
                entry["field"] = SimpleNamespace(verbose_name=name, related_name=None)
        return diff, has_unfollowed_fields

    def restore_refusals(self, request, version) -> list[str]:
        """Why the user may not bring `version`'s revision back (empty: they may)."""
        return versioning.restore_refusals(request.user, version.revision, lock=True)

    def _refuse_restore(self, request, version, back):
        """A redirect with the reasons when the user may not bring `version`'s whole
        revision back; None when they may. Runs before reversion writes anything, in
        the caller's transaction, which keeps the checked rows locked until the end."""
        refusals = self.restore_refusals(request, version)
        if not refusals:
            return None
        self.message_user(
            request,
            format_html(
                "{}<ul>{}</ul>",
                gettext(
                    "This version was not restored and nothing was changed: restoring it "
                    "would also change what you may not change."
                ),
                format_html_join("", "<li>{}</li>", ((reason,) for reason in refusals)),
            ),
            messages.ERROR,
        )
        return redirect(back)


@admin.register(Category)
class CategoryAdmin(TranslatedFieldAdmin, VersionedAdmin):
    list_display = ["name", "slug", "position", "guide_count"]
    list_editable = ["position"]
    search_fields = [*Category.name.fields, *Category.description.fields]
    prepopulated_fields = {"slug": [primary("name")]}

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(guide_count=Count("articles"))
            .order_by("position", primary("name"))
        )

    @admin.display(description=_("guides"), ordering="guide_count")
    def guide_count(self, category):
        return category.guide_count


# A posted section's body field and its order: ASCII digits of a sane length only.
SECTION_BODY = re.compile(r"sections-(\d{1,6})-body", re.ASCII)
ORDER_NUMBER = re.compile(r"\d{1,9}", re.ASCII)


def posted_sections(data) -> list[dict[str, str]]:
    """The sections of a posted change form as the editor left them: in the order of
    their order fields (then as listed), without the ones ticked for deletion or the
    blank template row, each as {"heading", "body"}."""
    rows = []
    for key in data:
        found = SECTION_BODY.fullmatch(key)
        prefix = key.removesuffix("-body")
        if found is None or data.get(f"{prefix}-DELETE"):
            continue
        position = data.get(f"{prefix}-position", "")
        order = int(position) if ORDER_NUMBER.fullmatch(position) else 0
        heading = data.get(f"{prefix}-heading", "")
        rows.append((order, int(found[1]), {"heading": heading, "body": data[key]}))
    return [row for _order, _index, row in sorted(rows, key=lambda row: row[:2])]


class NamedAutocompleteSelect(AutocompleteSelect):
    """Select2's box is named by what is chosen in it: one with nothing chosen had no
    name for screen readers. Its placeholder says which field is empty, and editor.js
    names the box by the field (data-field-label)."""

    def build_attrs(self, base_attrs, extra_attrs=None):
        attrs = super().build_attrs(base_attrs, extra_attrs)
        field = capfirst(self.field.verbose_name)
        attrs["data-field-label"] = field
        attrs["data-placeholder"] = gettext("%(field)s: none chosen") % {"field": field}
        return attrs


class NamedAutocompleteMixin:
    """Autocomplete fields with NamedAutocompleteSelect boxes."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):
            kwargs["widget"] = NamedAutocompleteSelect(
                db_field, self.admin_site, using=kwargs.get("using")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


# The guide form's table inlines: every header cell named (templates/admin/articles/
# edit_inline/tabular.html).
TABULAR_TEMPLATE = "admin/articles/edit_inline/tabular.html"


class OrderedFormSet(CustomInlineFormSetMixin, BaseInlineFormSet):
    """A formset whose rows are put in order by dragging or by their Move up and Move
    down buttons (django-admin-sortable2 with static/articles/admin/ordering.js, which
    renumber the order field in the order shown); a row added goes last.

    The order stays a number field rather than sortable2's hidden one: ordering.js
    hides it, and with JavaScript off the editor can still type the order."""

    def add_fields(self, form, index):
        super().add_fields(form, index)
        order = form.fields[self.default_order_field]
        order.widget = forms.NumberInput(attrs={"class": "_reorder_", "min": 0})
        # sortable2 makes it optional, for its hidden field; a number cleared by hand
        # is an error to show, not a row saved with no order.
        order.required = True
        if "DELETE" in form.fields and form.instance.pk is not None:
            # The tabular inlines show the box in a cell with no label of its own.
            form.fields["DELETE"].widget.attrs["aria-label"] = gettext("Delete “%(item)s”") % {
                "item": form.instance
            }


class OrderedInline(SortableInlineAdminMixin):
    formset = OrderedFormSet


class SectionFormSet(OrderedFormSet):
    """Refuses to publish a guide whose sections, as they will be once saved, fail the
    checks before publishing (articles.checks): run when the form sets the status to
    published on a guide that is not live (publishing it, scheduling it, editing it
    while scheduled, scheduling a draft revision). An edit of a live guide is saved
    as it is (the checks panel lists its problems): a guide made wrong by another's
    change must stay correctable."""

    # The change form's other inline formsets (ArticleAdmin._create_formsets), for
    # the citations as posted.
    siblings: list = []
    # Whether the guide was live before this save. Read from the database unless
    # set: restoring a version from the history writes the version back before the
    # form is posted (ArticleAdmin.revision_view, recover_view).
    live_before = READ_FROM_DATABASE = object()

    def clean(self):
        super().clean()
        article = self.instance
        if article.status != Article.Status.PUBLISHED or any(self.errors):
            return
        live = self.live_before
        if live is self.READ_FROM_DATABASE:
            live = (
                article.pk is not None
                and Article.objects.filter(pk=article.pk).published().exists()
            )
        if live:
            return
        sections = [
            form.cleaned_data
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        # Saved ones a form left out (a form posted without them) stay, and count.
        sections += unposted(self, ["kind", "heading", "body", "position"])
        sections.sort(key=lambda data: data.get("position") or 0)
        citations = 0
        for formset in self.siblings:
            if formset.model is Citation and formset.is_valid():
                citations += len(unposted(formset, ["pk"])) + sum(
                    1
                    for form in formset.forms
                    if form.cleaned_data.get("provision") and not form.cleaned_data.get("DELETE")
                )
        refusal = checks.publishing_refusal(checks.check_guide(article, sections, citations))
        if refusal:
            raise ValidationError(refusal)


def unposted(formset, fields) -> list[dict]:
    """The `fields` of the rows of `formset`'s guide that no form of it was posted
    for: the save leaves them as they are."""
    if formset.instance.pk is None:
        return []
    posted = [form.instance.pk for form in formset.forms if form.instance.pk is not None]
    saved = formset.model._default_manager.filter(**{formset.fk.name: formset.instance})
    return list(saved.exclude(pk__in=posted).values(*fields))


class SectionInline(OrderedInline, admin.StackedInline):
    model = Section
    formset = SectionFormSet
    extra = 0
    fields = ["position", "kind", "heading", "body"]


class CitationInline(NamedAutocompleteMixin, OrderedInline, admin.TabularInline):
    model = Citation
    template = TABULAR_TEMPLATE
    extra = 0
    autocomplete_fields = ["provision"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("provision__law")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "provision":
            # The box shows the chosen provision as "label, law".
            kwargs["queryset"] = LegalProvision.objects.select_related("law")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class RelatedLinkInline(NamedAutocompleteMixin, OrderedInline, admin.TabularInline):
    model = RelatedLink
    template = TABULAR_TEMPLATE
    fk_name = "from_article"
    extra = 0
    autocomplete_fields = ["to_article"]
    verbose_name_plural = _("related guides (shown first, then guides sharing tags)")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("to_article")


class ChangeNoteFormSet(BaseInlineFormSet):
    """A change form posted without this inline (a script, a form opened before the
    guide first went public) keeps the notes as they are, as a form posted without
    the language keeps the guide's: no rows, so nothing is changed or deleted."""

    def __init__(self, data=None, *args, **kwargs):
        prefix = kwargs.get("prefix") or self.get_default_prefix()
        if data is not None and f"{prefix}-TOTAL_FORMS" not in data:
            data = data.copy()
            data[f"{prefix}-TOTAL_FORMS"] = data[f"{prefix}-INITIAL_FORMS"] = "0"
        super().__init__(data, *args, **kwargs)


class ChangeNoteInline(admin.TabularInline):
    """The notes citizens see under "See all updates", newest first: editors fix a
    note's wording or delete a wrong one. Changed on the guide's own terms
    (workflow.check_edit): read-only for an Editor on a public guide. None is added
    here: a note is written with its edit (the form's "Public change note")."""

    model = ChangeNote
    formset = ChangeNoteFormSet
    template = TABULAR_TEMPLATE
    extra = 0
    fields = ["made_at", "note"]
    readonly_fields = ["made_at"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and _may_change(request.user, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and _may_change(request.user, obj)


def _may_change(user, article: Article | None) -> bool:
    """Whether `user` may change `article` as it is (the change form's rule)."""
    if article is None:
        return True
    try:
        workflow.check_edit(user, article, article.status)
    except PermissionDenied:
        return False
    return True


NOTE_REQUIRED = _(
    "Write a short note for citizens about what changed, or untick Major change for a "
    "minor edit such as a typo."
)


def translation_checkboxes(article: Article | None) -> list[str]:
    """The translation questions the change form of `article` asks (form fields and
    fieldsets agree through this): whether the edit is a major change, on a version
    others are translated from (an original always), and whether a translation now
    matches its source. A new guide asks neither: adding one is a major change."""
    if article is None or article.pk is None:
        return []
    names = []
    if translation.is_followed(article):
        names.append("major_change")
    if article.translated_from:
        names.append("translation_matches")
    return names


class ArticleAdminForm(forms.ModelForm):
    """Checks the role rules, refuses a save started from an outdated version, and
    asks what the edit means for the guide's translations and, on a public guide,
    for citizens (its public change note)."""

    # When the editor opened the form: the guide's last-updated time, which every
    # save moves (inlines included, articles.signals).
    edited_version = forms.CharField(widget=forms.HiddenInput, required=False)
    # Ticked by default: a major change missed leaves readers of a translation with
    # outdated steps and no sign of it; a needless one costs a translator a look.
    major_change = forms.BooleanField(
        label=_("Major change: translations must be updated"),
        required=False,
        initial=True,
        help_text=_(
            "Untick for a minor change that translations need not follow: a typo, a "
            "link, wording that keeps the meaning. A major change marks every "
            "translation of this guide outdated."
        ),
    )
    # Asked only on a public guide or a draft revision of one (workflow.takes_change_note).
    change_note = forms.CharField(
        label=_("Public change note"),
        required=False,
        max_length=ChangeNote.MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 80}),
        help_text=_(
            "For a change citizens should know about: one short sentence in plain words, "
            "for example “New fees from 1 July”. It is shown on the guide under “See all "
            "updates”, moves its “Last updated” date and goes to its updates feed. Leave "
            "it empty for a minor edit such as a typo."
        ),
    )
    translation_matches = forms.BooleanField(
        label=_("This translation now matches the source"),
        required=False,
        help_text=_(
            "Tick when this text says everything the source says now: the translation "
            "is then up to date until the source's next major change."
        ),
    )

    class Meta:
        model = Article
        fields = "__all__"  # noqa: DJ007 (the admin's fieldsets choose what is shown)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["edited_version"].initial = self.instance.updated_at.isoformat()
        asked = translation_checkboxes(self.instance)
        for name in ["major_change", "translation_matches"]:
            if name not in asked:
                del self.fields[name]
        if not workflow.takes_change_note(self.instance):
            del self.fields["change_note"]
        elif self.instance.draft_of_id is not None:
            # A revision keeps its note until it goes live: show it, to keep or reword.
            waiting = self.instance.change_notes.first()
            self.fields["change_note"].initial = waiting.note if waiting else ""
            self.fields["change_note"].help_text += " " + gettext(
                "It goes live with this revision, dated then."
            )
        if "translation_matches" in self.fields:
            source = translation.source_of(self.instance)
            if source is not None and source.major_change_at is not None:
                self.fields["translation_matches"].help_text += " " + gettext(
                    "The source's last major change: %(when)s."
                ) % {"when": timezone.localtime(source.major_change_at).strftime("%Y-%m-%d %H:%M")}
        if "language" in self.fields:
            # A form posted without it (a script, an old form) keeps the guide's.
            self.fields["language"].required = False
        if "status" in self.fields and not workflow.can_publish(self.user):
            allowed = [
                choice for choice in Article.Status.choices if choice[0] in Article.EDITOR_STATUSES
            ]
            if self.instance.pk and self.instance.status not in Article.EDITOR_STATUSES:
                # The current status stays shown; workflow.check_edit refuses the save.
                allowed.append((self.instance.status, self.instance.get_status_display()))
            self.fields["status"].choices = allowed

    def clean_language(self):
        return self.cleaned_data.get("language") or self.instance.language

    def clean(self):
        cleaned = super().clean()
        original = self.instance if self.instance.pk else None
        try:
            workflow.check_edit(self.user, original, cleaned.get("status"))
        except PermissionDenied as denied:
            raise ValidationError(str(denied)) from denied
        if original is not None and cleaned.get("language"):
            problem = translation.language_change_problem(original, cleaned["language"])
            if problem:
                self.add_error("language", problem)
        if "change_note" in self.fields:
            # One line, whatever was typed: it is shown as a single dated entry.
            note = " ".join((cleaned.get("change_note") or "").split())
            cleaned["change_note"] = note
            if "major_change" in self.fields:
                # A note says citizens must know: translations must follow too. A major
                # change without one would leave citizens unaware.
                if note:
                    cleaned["major_change"] = True
                elif cleaned.get("major_change"):
                    self.add_error("change_note", NOTE_REQUIRED)
        if original is not None:
            # Raises StaleEdit, a ValidationError listing what changed meanwhile.
            workflow.check_not_stale(original, cleaned.get("edited_version"))
        return cleaned


class ArticleActionForm(ActionForm):
    category = forms.ModelChoiceField(
        Category.objects.all(), required=False, label=_("Category (for “Set category”)")
    )
    tag = forms.CharField(required=False, max_length=100, label=_("Tag (for “Add tag”)"))
    language = forms.ChoiceField(
        choices=[("", "---------"), *settings.LANGUAGES],
        required=False,
        label=_("Language (for “Start translations”)"),
    )


class ScheduledFilter(admin.SimpleListFilter):
    title = _("scheduling")
    parameter_name = "scheduled"

    def lookups(self, request, model_admin):
        return [("yes", _("Scheduled (publishes later)")), ("live", _("Live now"))]

    def queryset(self, request, queryset):
        published = queryset.filter(status=Article.Status.PUBLISHED)
        if self.value() == "yes":
            return published.filter(published_at__gt=timezone.now())
        if self.value() == "live":
            return published.filter(published_at__lte=timezone.now())
        return queryset


class PublishProblemFilter(admin.SimpleListFilter):
    title = _("publishing problem")
    parameter_name = "problem"

    def lookups(self, request, model_admin):
        return [("yes", _("Scheduled revision sent back"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.exclude(publish_problem="")
        return queryset


class ReviewDueFilter(admin.SimpleListFilter):
    title = _("review date")
    parameter_name = "review"

    def lookups(self, request, model_admin):
        return [
            ("overdue", _("Overdue")),
            ("soon", _("Due within 30 days")),
            ("due", _("Due now or flagged by a law change (published)")),
        ]

    def queryset(self, request, queryset):
        today = timezone.localdate()
        if self.value() == "due":  # the admin index's reminders and the e-mails
            return queryset.filter(due_for_review_q(today))
        if self.value() == "overdue":
            return queryset.filter(review_by__lt=today)
        if self.value() == "soon":
            return queryset.filter(review_by__gte=today, review_by__lte=today + timedelta(days=30))
        return queryset


class HelpfulnessFilter(admin.SimpleListFilter):
    title = _("helpfulness")
    parameter_name = "helpfulness"
    MIN_VOTES = 5

    def lookups(self, request, model_admin):
        return [
            ("least", _("Least helpful (under 50%, 5+ votes)")),
            ("none", _("No votes yet")),
        ]

    def queryset(self, request, queryset):
        if self.value() == "least":
            return queryset.annotate(
                votes=F("feedback__helpful") + F("feedback__not_helpful")
            ).filter(votes__gte=self.MIN_VOTES, feedback__not_helpful__gt=F("feedback__helpful"))
        if self.value() == "none":
            return queryset.filter(feedback__isnull=True)
        return queryset


class TranslationFilter(admin.SimpleListFilter):
    """What needs translating, by the states the Languages column shows (the rules
    are articles.translation's): a guide's rows, draft revisions included, are listed
    when one of its languages is in that state."""

    title = _("translation")
    parameter_name = "translation"

    def lookups(self, request, model_admin):
        return [
            ("needed", _("Needs translating (a language outdated or missing)")),
            ("outdated", _("Outdated in a language")),
            ("missing", _("Missing a language")),
            ("current", _("Up to date in every language")),
        ]

    def queryset(self, request, queryset):
        condition = {
            "needed": translation.needs_translating_q,
            "outdated": translation.has_outdated_q,
            "missing": translation.has_missing_q,
            "current": translation.up_to_date_q,
        }.get(self.value())
        return queryset.filter(condition()) if condition else queryset


@admin.register(Article)
class ArticleAdmin(NamedAutocompleteMixin, SortableAdminBase, VersionedAdmin):
    form = ArticleAdminForm
    action_form = ArticleActionForm
    change_form_template = "admin/articles/article/change_form.html"
    list_display = [
        "title",
        "languages",
        "category",
        "status",
        "published_at",
        "scheduled",
        "needs_review",
        "review_by",
        "owner",
        "last_edited_by",
        "updated_at",
        "helpfulness",
    ]
    list_filter = [
        "status",
        "language",
        TranslationFilter,
        ScheduledFilter,
        PublishProblemFilter,
        "needs_review",
        ReviewDueFilter,
        HelpfulnessFilter,
        "category",
        "owner",
        "tags",
    ]
    list_select_related = ["category", "owner", "last_edited_by", "feedback"]
    search_fields = ["title", "summary", "slug"]
    prepopulated_fields = {"slug": ["title"]}
    autocomplete_fields = ["category", "previous_article", "next_article", "owner"]
    date_hierarchy = "published_at"
    readonly_fields = [
        "created_at",
        "updated_at",
        "last_edited_by",
        "draft_of",
        "publish_problem",
        "feedback_summary",
        "translated_from",
        "language_versions",
        "reviewed_at",
    ]
    fieldsets = [
        (None, {"fields": ["title", "slug", "category", "summary", "tags", "edited_version"]}),
        # Filled in by get_fieldsets(): the language fields and questions of the guide.
        (_("Languages"), {"fields": []}),
        (
            _("Publishing"),
            {
                "fields": [
                    "status",
                    "published_at",
                    "draft_of",
                    "publish_problem",
                    "created_at",
                    "updated_at",
                    "last_edited_by",
                ]
            },
        ),
        (_("Keeping it true"), {"fields": ["owner", "review_by", "reviewed_at", "needs_review"]}),
        (_("Previous and next"), {"fields": ["previous_article", "next_article"]}),
        (_("Citizens' feedback"), {"fields": ["feedback_summary"]}),
    ]
    inlines = [SectionInline, CitationInline, RelatedLinkInline]
    actions = [
        "submit_for_review",
        "publish_selected",
        "unpublish_selected",
        "archive_selected",
        "set_category",
        "add_tag",
        "mark_reviewed",
        "confirm_reviewed",
        "prepare_draft_revisions",
        "start_translations",
        check_links_of_guides,
    ]

    class Media:
        js = ["articles/admin/markdown_preview.js"]
        css = {"all": ["articles/admin/markdown_preview.css", "articles/admin/translation.css"]}

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("tags")

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"user": request.user})

    def get_fieldsets(self, request, obj=None):
        main, languages, *rest = super().get_fieldsets(request, obj)
        if obj is None:
            # Chosen when adding; the other language fields mean nothing yet.
            fields = main[1]["fields"]
            main = (main[0], {**main[1], "fields": [*fields[:2], "language", *fields[2:]]})
            return [main, *rest]
        fields = ["language", "translated_from", "language_versions", *translation_checkboxes(obj)]
        fieldsets = [main, (languages[0], {**languages[1], "fields": fields})]
        if workflow.takes_change_note(obj):  # the form asks it on the same condition
            fieldsets.append((_("Update for citizens"), {"fields": ["change_note"]}))
        return [*fieldsets, *rest]

    def get_inlines(self, request, obj):
        inlines = list(super().get_inlines(request, obj))
        # Notes exist on guides that were public; a draft revision's waiting note is
        # its form's "Public change note".
        if obj is not None and obj.draft_of_id is None and obj.published_at is not None:
            inlines.append(ChangeNoteInline)
        return inlines

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not workflow.can_publish(request.user):
            fields += workflow.PUBLISHER_ONLY_FIELDS
        if obj is not None and obj.draft_of_id is not None:
            fields.append("language")  # always its guide's
        return fields

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        kept = getattr(request, "_articles_kept_language", None)
        if obj is not None and kept is not None and kept[0] == obj.pk:
            # Restoring an old version restores its content; the guide stays the
            # language version it is now (an old version may predate languages).
            obj.language, obj.translation_group = kept[1], kept[2]
        return obj

    def revision_view(self, request, object_id, version_id, extra_context=None):
        try:
            pk = Article._meta.pk.to_python(unquote(object_id))
        except ValidationError:
            raise Http404 from None
        current = Article.objects.filter(pk=pk)
        request._articles_kept_language = current.values_list(
            "pk", "language", "translation_group"
        ).first()
        # Restoring a public version of a guide that is not live now publishes it.
        request._articles_live_before_restore = current.published().exists()
        return super().revision_view(request, object_id, version_id, extra_context)

    def recover_view(self, request, version_id, extra_context=None):
        request._articles_live_before_restore = False  # deleted: recovered as new
        request._articles_recovering = True
        return super().recover_view(request, version_id, extra_context)

    def restore_refusals(self, request, version) -> list[str]:
        return translation.restore_refusals(version.revision) or super().restore_refusals(
            request, version
        )

    def save_model(self, request, obj, form, change):
        obj.last_edited_by = request.user
        if getattr(request, "_articles_recovering", False) and obj.draft_of_id is not None:
            # Its base is not in the history: what it would undo is told first.
            obj.revision_base = workflow.unknown_revision_base()
        if not change and obj.owner_id is None:
            obj.owner = request.user
        translation.record_edit(
            obj,
            added=not change,
            major=form.cleaned_data.get("major_change", False),
            matches_source=form.cleaned_data.get("translation_matches", False),
        )
        super().save_model(request, obj, form, change)
        if "change_note" in form.fields:
            workflow.record_change_note(obj, form.cleaned_data.get("change_note", ""))

    def construct_change_message(self, request, form, formsets, add=False):
        """The history's line, without the save's own questions: an unticked "Major
        change" box would read as a change of the guide."""
        message = super().construct_change_message(request, form, formsets, add)
        with translation_override(None):  # as Django keeps the labels there
            asked = {
                str(form.fields[name].label or name)
                for name in ["edited_version", "major_change", "translation_matches"]
                if name in form.fields
            }
        for entry in message:
            if "changed" in entry and "fields" in entry["changed"]:
                kept = [name for name in entry["changed"]["fields"] if name not in asked]
                entry["changed"]["fields"] = kept
        return [e for e in message if "changed" not in e or e["changed"].get("fields")]

    def _create_formsets(self, request, obj, change):
        formsets, inline_instances = super()._create_formsets(request, obj, change)
        for formset in formsets:
            formset.siblings = formsets  # SectionFormSet reads the posted citations
            if hasattr(request, "_articles_live_before_restore"):
                formset.live_before = request._articles_live_before_restore
        return formsets, inline_instances

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        obj = form.instance
        if obj.draft_of_id is not None and obj.status == Article.Status.PUBLISHED:
            # Published or scheduled over a change made to its guide since it was
            # prepared: told now, not at its time (workflow.live_change_problem).
            problem = workflow.live_change_problem(obj)
            if problem:
                workflow.send_back_to_review(obj.pk, problem)
                self.message_user(request, problem, messages.ERROR)
                return
        # Advice that does not block (articles.checks), once the guide is saved.
        for problem in checks.warnings(checks.check_guide(form.instance)):
            self.message_user(request, str(problem), messages.WARNING)

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        # The Languages column of the whole page in one query.
        translation.attach_statuses(changelist.result_list)
        return changelist

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and self.has_add_permission(request) and not context.get("is_popup"):
            context["translation_targets"] = [
                {"code": code, "name": name, "lang": bcp47(code)}
                for code, name in translation.missing_languages(obj)
            ]
        if obj is not None and obj.pk is not None:
            context["guide_problems"] = checks.check_guide(obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _language_list(self, article, with_titles=False):
        this = article.draft_of_id or article.pk
        items = []
        for status in translation.language_statuses(article):
            name = format_html('<span lang="{}">{}</span>', bcp47(status.code), status.name)
            version = status.version
            if version is not None and version.pk == this:
                name = format_html(
                    '<strong>{}</strong><span class="visually-hidden"> ({})</span>',
                    name,
                    gettext("this guide"),
                )
            elif version is not None:
                url = reverse("admin:articles_article_change", args=[version.pk])
                name = format_html('<a href="{}">{}</a>', url, name)
            title = format_html(" — “{}”", version.title) if with_titles and version else ""
            items.append(
                format_html(
                    '<li class="translation-state translation-state-{}">{}: {}{}</li>',
                    status.state,
                    name,
                    status.state.label,
                    title,
                )
            )
        return format_html(
            '<ul class="translation-states">{}</ul>',
            format_html_join("", "{}", ((i,) for i in items)),
        )

    @admin.display(description=_("languages"))
    def languages(self, article):
        """Each language's state in words (not colour alone). Reads the statuses
        get_changelist_instance() attached to the page."""
        return self._language_list(article)

    @admin.display(description=_("language versions"))
    def language_versions(self, article):
        if article.pk is None:
            return "–"
        return self._language_list(article, with_titles=True)

    @admin.display(description=_("helpful"), ordering="feedback__helpful")
    def helpfulness(self, article):
        """Reads article.feedback (list_select_related)."""
        feedback = getattr(article, "feedback", None)
        if feedback is None or not feedback.votes:
            return "–"
        return gettext("%(percent)s%% of %(votes)s") % {
            "percent": feedback.helpful_percent,
            "votes": feedback.votes,
        }

    @admin.display(description=_("“Was this page helpful?”"))
    def feedback_summary(self, article):
        feedback = getattr(article, "feedback", None) if article.pk else None
        if feedback is None:
            return _("No votes yet.")
        comments = article.feedback_comments.all()[:10]
        return format_html(
            "<p>{}</p><ul>{}</ul>",
            gettext("%(yes)s yes, %(no)s no (%(percent)s%% helpful).")
            % {
                "yes": feedback.helpful,
                "no": feedback.not_helpful,
                "percent": feedback.helpful_percent,
            },
            format_html_join(
                "",
                "<li>{} — {}</li>",
                ((c.created_at.strftime("%Y-%m-%d"), c.text) for c in comments),
            ),
        )

    def has_publish_permission(self, request):
        return workflow.can_publish(request.user)

    def has_check_links_permission(self, request):
        return may_check_links(request.user)

    @admin.display(boolean=True, description=_("scheduled"))
    def scheduled(self, article):
        return article.status == Article.Status.PUBLISHED and article.published_at > timezone.now()

    # Bulk actions: each runs the same workflow rules and is recorded in history.

    def _each(self, request, queryset, comment, change):
        """Apply `change` to each selected guide in a revision and transaction of its
        own: a refused or failing guide leaves the others done, a long batch never
        holds the write lock throughout, and reverting one guide's revision later
        touches that guide alone."""
        done = 0
        for pk, title in queryset.values_list("pk", "title"):
            try:
                with reversion.create_revision():
                    reversion.set_user(request.user)
                    reversion.set_comment(str(comment))
                    # Read again under the lock: the batch may have started a while ago.
                    article = (
                        Article.objects.select_for_update(of=("self",))
                        .select_related("category")
                        .filter(pk=pk)
                        .first()
                    )
                    if article is None:
                        continue
                    try:
                        change(article)
                    except workflow.RevisionNotApplied as problem:
                        # publish() sent the revision back to review with the reason:
                        # that is kept (and recorded), not rolled back.
                        self._report_refusal(request, title, problem)
                        continue
                done += 1
            except (PermissionDenied, ValidationError, IntegrityError) as refused:
                self._report_refusal(request, title, refused)
        if done:
            message = ngettext(
                "%(action)s: %(count)d guide.", "%(action)s: %(count)d guides.", done
            ) % {"action": comment, "count": done}
            self.message_user(request, message, messages.SUCCESS)

    def _report_refusal(self, request, title, refused):
        reason = "; ".join(getattr(refused, "messages", [str(refused)]))
        self.message_user(request, f"{title}: {reason}", messages.ERROR)

    def _set_status(self, request, queryset, comment, status):
        self._each(
            request, queryset, comment, lambda a: workflow.set_status(a, request.user, status)
        )

    @admin.action(description=_("Submit for review"), permissions=["change"])
    def submit_for_review(self, request, queryset):
        self._set_status(request, queryset, _("Submitted for review"), Article.Status.IN_REVIEW)

    @admin.action(description=_("Publish (now, or at their publish time)"), permissions=["publish"])
    def publish_selected(self, request, queryset):
        self._each(request, queryset, _("Published"), lambda a: workflow.publish(a, request.user))

    @admin.action(description=_("Unpublish (back to draft)"), permissions=["publish"])
    def unpublish_selected(self, request, queryset):
        self._set_status(request, queryset, _("Unpublished"), Article.Status.DRAFT)

    @admin.action(description=_("Archive"), permissions=["publish"])
    def archive_selected(self, request, queryset):
        self._set_status(request, queryset, _("Archived"), Article.Status.ARCHIVED)

    @admin.action(description=_("Set category"), permissions=["publish"])
    def set_category(self, request, queryset):
        category = Category.objects.filter(pk=request.POST.get("category") or None).first()
        if category is None:
            self.message_user(request, _("Choose a category first."), messages.ERROR)
            return

        def move(article):
            workflow.check_edit(request.user, article, article.status)
            article.category = category
            article.save()

        self._each(request, queryset, _("Moved to %(topic)s") % {"topic": category}, move)

    @admin.action(description=_("Add tag"), permissions=["change"])
    def add_tag(self, request, queryset):
        tag = (request.POST.get("tag") or "").strip()[:100]
        if not tag:
            self.message_user(request, _("Type a tag first."), messages.ERROR)
            return

        def tag_article(article):
            workflow.check_edit(request.user, article, article.status)
            article.tags.add(tag)
            article.save()

        self._each(request, queryset, _("Tagged “%(tag)s”") % {"tag": tag}, tag_article)

    @admin.action(description=_("Mark as reviewed (today)"), permissions=["change"])
    def mark_reviewed(self, request, queryset):
        """Editors too: a review attests a guide, it changes none of its content
        (workflow.mark_reviewed; a guide flagged by a law change needs a Publisher)."""
        self._each(
            request,
            queryset,
            _("Marked as reviewed"),
            lambda a: workflow.mark_reviewed(a, request.user),
        )

    @admin.action(
        description=_("Confirm reviewed (clears “needs review”)"), permissions=["publish"]
    )
    def confirm_reviewed(self, request, queryset):
        self._each(
            request,
            queryset,
            _("Confirmed as reviewed"),
            lambda a: workflow.mark_reviewed(a, request.user, law_change_confirmed=True),
        )

    @admin.action(description=_("Prepare a draft revision"), permissions=["add"])
    def prepare_draft_revisions(self, request, queryset):
        self._each(
            request,
            queryset.filter(status=Article.Status.PUBLISHED),
            _("Draft revision prepared"),
            lambda a: workflow.prepare_draft_revision(a, request.user),
        )

    @admin.action(
        description=_("Start translations (into the language chosen)"), permissions=["add"]
    )
    def start_translations(self, request, queryset):
        language = request.POST.get("language", "")
        if language not in translation.language_names():
            self.message_user(request, _("Choose a language first."), messages.ERROR)
            return
        self._each(
            request,
            queryset,
            _("Translation into %(language)s started")
            % {"language": translation.language_name(language)},
            lambda a: translation.start_translation(a, language, request.user),
        )

    # History comparison (django-reversion-compare): readable section and tag diffs.

    def compare_sections(self, obj_compare):
        old = revision_sections(obj_compare.compare_obj1.version_record)
        new = revision_sections(obj_compare.compare_obj2.version_record)
        return text_diff_html(old, new)

    # reversion-compare cannot read taggit's manager (it logs an error and shows no
    # change) and would list the raw tagged-item rows: tags are compared by name.
    compare_exclude = ["tags", "tagged_items"]

    def compare(self, obj, version1, version2):
        diff, has_unfollowed_fields = super().compare(obj, version1, version2)
        old, new = revision_tags(version1), revision_tags(version2)
        if old != new:
            field = Article._meta.get_field("tags")
            label = str(field.verbose_name)
            html = text_diff_html({label: ", ".join(old)}, {label: ", ".join(new)})
            diff.append({"field": field, "is_related": False, "follow": True, "diff": html})
        return diff, has_unfollowed_fields

    # Extra admin pages: Markdown preview and shareable preview links.

    def get_urls(self):
        return [
            path(
                "markdown-preview/",
                self.admin_site.admin_view(self.markdown_preview),
                name="articles_article_markdown_preview",
            ),
            path(
                "<int:pk>/preview-link/",
                self.admin_site.admin_view(self.create_preview_link),
                name="articles_article_preview_link",
            ),
            path(
                "<int:pk>/translate/",
                self.admin_site.admin_view(self.start_translation_view),
                name="articles_article_translate",
            ),
            *super().get_urls(),
        ]

    def markdown_preview(self, request):
        """POST only (CSRF-checked by the admin): one body → JSON, for the live preview;
        a whole change form (the plain button) → a page of every section rendered."""
        if request.method != "POST" or not self.has_view_or_change_permission(request):
            raise PermissionDenied
        if "body" in request.POST:
            return JsonResponse({"html": render_markdown(request.POST["body"][:100_000])})
        sections = [
            {"heading": row.get("heading", ""), "html": render_markdown(row["body"][:100_000])}
            for row in posted_sections(request.POST)
        ]
        context = {
            **self.admin_site.each_context(request),
            "sections": sections,
            "title": _("Markdown preview"),
        }
        response = render(request, "admin/articles/article/markdown_preview.html", context)
        return private(response)

    def create_preview_link(self, request, pk):
        article = get_object_or_404(Article, pk=pk)
        if request.method != "POST" or not workflow.can_publish(request.user):
            raise PermissionDenied
        try:
            days = min(max(int(request.POST.get("days", 7)), 1), PreviewLink.MAX_DAYS)
        except ValueError:
            days = 7
        link = PreviewLink.objects.create(
            article=article,
            expires_at=timezone.now() + timedelta(days=days),
            created_by=request.user,
        )
        url = request.build_absolute_uri(link.get_absolute_url())
        self.message_user(
            request,
            format_html(
                '{} <a href="{}">{}</a>',
                ngettext(
                    "Preview link, valid for %(days)s day:",
                    "Preview link, valid for %(days)s days:",
                    days,
                )
                % {"days": days},
                url,
                url,
            ),
        )
        return redirect(reverse("admin:articles_article_change", args=[pk]))

    def start_translation_view(self, request, pk):
        """POST language=<code>: a draft translation of the guide (any role that may
        add guides: Editors too, the copy being a draft), then its change form."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        source = get_object_or_404(Article.objects.select_related("category"), pk=pk)
        if not (self.has_add_permission(request) and self.has_view_permission(request, source)):
            raise PermissionDenied
        language = request.POST.get("language", "")
        try:
            with reversion.create_revision():
                reversion.set_user(request.user)
                reversion.set_comment(
                    gettext("Translation into %(language)s started from “%(title)s”.")
                    % {"language": translation.language_name(language), "title": source.title}
                )
                copy = translation.start_translation(source, language, request.user)
        except ValidationError as refused:
            self.message_user(request, " ".join(refused.messages), messages.ERROR)
            return redirect(reverse("admin:articles_article_change", args=[source.pk]))
        self.message_user(
            request,
            gettext(
                "A draft %(language)s translation was started. Translate its title, "
                "summary and sections, and give it an address (slug) of its own."
            )
            % {"language": translation.language_name(language)},
            messages.SUCCESS,
        )
        return redirect(reverse("admin:articles_article_change", args=[copy.pk]))


class LegalProvisionInline(OrderedInline, TranslatedFieldAdmin, admin.StackedInline):
    model = LegalProvision
    extra = 0
    fields = ["position", *LegalProvision.label.fields, *LegalProvision.text.fields]
    # Within one law: sortable2 takes the first ordering field for the order (the
    # model's is "law").
    ordering = ["position", "pk"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("law")  # each one's label


@admin.register(Law)
class LawAdmin(SortableAdminBase, TranslatedFieldAdmin, VersionedAdmin):
    # Provisions in order by dragging or Move up/Move down, and collapsing, as on a
    # guide's form (ordering.js).
    change_form_template = "admin/articles/law/change_form.html"
    list_display = ["name", "short_name", "slug", "authoritative_language"]
    search_fields = [*Law.name.fields, *Law.short_name.fields]
    prepopulated_fields = {"slug": [primary("short_name")]}
    inlines = [LegalProvisionInline]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


@admin.register(LegalProvision)
class LegalProvisionAdmin(VersionedAdmin):
    """Registered so citations can pick provisions with autocomplete."""

    list_display = ["label", "law"]
    list_filter = ["law"]
    list_select_related = ["law"]
    search_fields = [
        *LegalProvision.label.fields,
        *LegalProvision.text.fields,
        *(f"law__{name}" for name in [*Law.name.fields, *Law.short_name.fields]),
    ]


@admin.register(PromotedResult)
class PromotedResultAdmin(admin.ModelAdmin):
    """Best bets: editors pin a guide to the top of search results for given queries."""

    list_display = ["article", "query_lines", "position"]
    list_editable = ["position"]
    list_select_related = ["article"]
    search_fields = ["queries", "article__title"]
    autocomplete_fields = ["article"]

    @admin.display(description=_("queries"))
    def query_lines(self, promotion):
        return ", ".join(promotion.queries.splitlines())


@admin.register(PreviewLink)
class PreviewLinkAdmin(admin.ModelAdmin):
    """Shareable preview links; revoke one by ticking “revoked”."""

    list_display = ["article", "expires_at", "revoked", "created_by", "created_at", "link"]
    list_filter = ["revoked"]
    list_select_related = ["article", "created_by"]
    fields = ["article", "expires_at", "revoked"]
    autocomplete_fields = ["article"]

    @admin.display(description=_("address"))
    def link(self, preview):
        return format_html('<a href="{0}">{0}</a>', preview.get_absolute_url())

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


# Replaces django-taggit's TagAdmin; imported last so taggit's registration exists.
from . import admin_tags  # noqa: E402,F401
