"""Markdown to safe HTML: the only way editor-written text becomes markup.

python-markdown renders, then nh3 keeps only an allow-list of tags, attributes
and URL schemes, so nothing an editor types can run script or restyle a page.
"""

import html
import threading

import markdown
import nh3
from django.utils.html import strip_tags
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor

# A data table, kept several names to a line so it reads as a list (`fmt: skip`).
ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "em", "h3", "h4", "h5", "h6",
    "hr", "i", "li", "ol", "p", "pre", "strong", "sub", "sup", "table", "tbody",
    "td", "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "ol": {"start"},
    "td": {"align"},
    "th": {"align", "scope"},
}
ALLOWED_URL_SCHEMES = {"http", "https", "mailto", "tel"}

# A section's own heading is an <h2> on the page, so headings inside its body
# start at <h3>; this keeps one <h1> per page and no gaps in the outline.
LOWEST_BODY_HEADING = 3


class _DemoteHeadings(Treeprocessor):
    def run(self, root):
        for element in root.iter():
            if len(element.tag) == 2 and element.tag[0] == "h" and element.tag[1].isdigit():
                level = max(int(element.tag[1]), LOWEST_BODY_HEADING)
                element.tag = f"h{min(level, 6)}"


class _DemoteHeadingsExtension(Extension):
    def extendMarkdown(self, md):  # python-markdown's name for the hook
        md.treeprocessors.register(_DemoteHeadings(md), "demote_headings", 0)


_local = threading.local()


def _renderer() -> markdown.Markdown:
    # Building a Markdown instance costs more than a short conversion, and an
    # instance must not be shared between threads: keep one per thread.
    if not hasattr(_local, "renderer"):
        _local.renderer = markdown.Markdown(
            extensions=["sane_lists", "tables", _DemoteHeadingsExtension()],
            output_format="html",
        )
    return _local.renderer


def html_to_text(rendered_html: str) -> str:
    """The text of rendered HTML, tags removed and entities decoded (for search
    indexing and structured data)."""
    return html.unescape(strip_tags(rendered_html))


def render_markdown(text: str) -> str:
    """Render editor Markdown to sanitised HTML, safe to mark safe in templates."""
    html = _renderer().reset().convert(text or "")
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
