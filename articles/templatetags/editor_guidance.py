"""Length guidance for a guide's title and summary on its admin change form.

``{% editor_guidance adminform %}`` (in the change form's extrahead block) does two
things with the lengths of articles.checks, which search results and share cards use:

- it adds the guidance for the guide's language to the title's and summary's help
  text, so it shows under the fields, and is read with them, with JavaScript off;
- it renders a ``<script type="application/json" id="editor-guidance">`` holding the
  limits of every language and the translated texts that
  static/articles/admin/editor.js shows as a live counter, with the texts of the
  ordering and collapsing controls (ordering.js) and of the live preview
  (markdown_preview.js): no text is written in JS.

The help text is set on the form instance's own copies of the fields, so nothing is
shared with other requests.
"""

from django import template
from django.conf import settings
from django.utils.html import format_html, json_script
from django.utils.translation import gettext

from articles.checks import SUMMARY_LENGTH, SUMMARY_MIN_LENGTH, TITLE_LENGTH

register = template.Library()


def limits(language):
    """(title, summary) guidance numbers for a language, English's if it has none."""
    default = settings.LANGUAGES[0][0]
    title = TITLE_LENGTH.get(language) or TITLE_LENGTH[default]
    summary = SUMMARY_LENGTH.get(language) or SUMMARY_LENGTH[default]
    minimum = SUMMARY_MIN_LENGTH.get(language) or SUMMARY_MIN_LENGTH[default]
    return {
        "title": {"recommended": title[0], "limit": title[1]},
        "summary": {"recommended": summary[0], "limit": summary[1], "minimum": minimum},
    }


def static_text(field, numbers):
    if field == "title":
        return (
            gettext(
                "Search results show about %(recommended)s characters of a title; share cards "
                "cut it at %(limit)s."
            )
            % numbers
        )
    return (
        gettext(
            "Search results show about %(recommended)s characters of a summary; share cards "
            "cut it at %(limit)s. Write at least %(minimum)s."
        )
        % numbers
    )


def form_language(form):
    language = None
    if form.is_bound:
        language = form.data.get(form.add_prefix("language"))
    if not language and "language" in form.fields:
        language = form.initial.get("language") or form.fields["language"].initial
    return language or getattr(form.instance, "language", None) or settings.LANGUAGES[0][0]


@register.simple_tag
def editor_guidance(adminform):
    form = getattr(adminform, "form", None)
    if form is None:
        return ""
    language = form_language(form)
    if language not in dict(settings.LANGUAGES):
        language = settings.LANGUAGES[0][0]
    numbers = limits(language)
    for name in ("title", "summary"):
        field = form.fields.get(name)
        if field is None:
            continue
        # The field (for aria-describedby) and its bound field, which copies the
        # help text when it is made.
        field.help_text = form[name].help_text = format_html(
            '{}{}<span class="length-guidance" data-length-for="{}">{}</span>',
            field.help_text,
            " " if field.help_text else "",
            name,
            static_text(name, numbers[name]),
        )
    data = {
        "language": language,
        "limits": {code: limits(code) for code, _name in settings.LANGUAGES},
        "texts": {
            # In every text "characters" means characters in both languages: a
            # Chinese character counts one, as search results count it.
            "fits": gettext(
                "%(count)s of %(recommended)s characters recommended for search results "
                "(cut at %(limit)s in share cards)"
            ),
            "long": gettext(
                "Too long for search results: %(count)s of %(recommended)s characters "
                "recommended (cut at %(limit)s in share cards)"
            ),
            "cut": gettext(
                "Too long: %(count)s characters, share cards cut at %(limit)s "
                "(%(recommended)s recommended for search results)"
            ),
            "short": gettext(
                "Too short: write at least %(minimum)s characters, now %(count)s "
                "(%(recommended)s recommended for search results)"
            ),
        },
        "preview": gettext("Preview"),
        "ordering": {
            "up": gettext("Move up"),
            "down": gettext("Move down"),
            "moved": gettext("“%(item)s” moved to position %(position)s of %(count)s."),
            "hint": gettext(
                "Drag one by its name, or use Move up and Move down, to change the order. "
                "One you add goes last: save, then move it."
            ),
            "collapse": gettext("Collapse"),
            "expand": gettext("Expand"),
            # Followed, for screen readers, by the name of the group (Sections…).
            "collapseAll": gettext("Collapse all"),
            "expandAll": gettext("Expand all"),
        },
    }
    return json_script(data, "editor-guidance")
