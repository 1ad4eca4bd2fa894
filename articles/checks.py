"""Checks a guide must pass before it is published, and advice shown while writing.

The recommended lengths are what search results and share cards show before they
cut text off: the change form's counters (templates/admin/articles/article/,
static/articles/admin/) and the checks below read them from here.
"""

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urlsplit

from django.conf import settings
from django.db.models import Count, Q
from django.urls import Resolver404, resolve
from django.utils import translation
from django.utils.translation import gettext as _

# (recommended, limit) in characters, per language. Search results cut titles at
# about 60 Latin characters (about 30 Chinese ones, which are twice as wide) and
# descriptions at about 155 (about 75); share cards show about 70 and 200.
TITLE_LENGTH = {"en": (60, 70), "zh-hans": (30, 35)}
SUMMARY_LENGTH = {"en": (155, 200), "zh-hans": (75, 100)}
# A summary shorter than this says too little in search results.
SUMMARY_MIN_LENGTH = {"en": 70, "zh-hans": 30}

# The rules: errors block publishing, warnings are advice. `check_guide` works on a
# saved guide (its sections and citations are read) and on unsaved data (the change
# form's cleaned inlines, import_guides' parsed files), given as plain values.


ERROR = "error"
WARNING = "warning"

# A sentence longer than this is hard to read: words in English, characters in
# Chinese (which has no spaces between words).
LONG_SENTENCE_WORDS = 25
LONG_SENTENCE_CHARACTERS = 50

# Link text a screen reader reads out of context, meaningless alone (whole text,
# any case, trailing punctuation ignored).
VAGUE_LINK_TEXTS = frozenset(
    {"click here", "here", "read more", "this link", "点击这里", "这里", "更多"}
)

# A guide in a category where at least this share of published guides cites a law
# is expected to cite one too.
LAW_EXPECTED_SHARE = 0.5

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|[\n]+")
_CHINESE_SENTENCE_END = re.compile(r"[。！？；!?;\n]+")
_TRAILING_PUNCTUATION = " \t\n.,:;!?…。，：；！？"


@dataclass(frozen=True)
class Problem:
    level: str  # ERROR or WARNING
    code: str
    message: str
    section: int | None = None  # index in the guide's sections (in order), if any
    heading: str = ""

    @property
    def is_error(self) -> bool:
        return self.level == ERROR

    def __str__(self) -> str:
        if self.heading:
            return f"{self.heading}: {self.message}"
        return self.message


def errors(problems: list[Problem]) -> list[Problem]:
    return [problem for problem in problems if problem.is_error]


def warnings(problems: list[Problem]) -> list[Problem]:
    return [problem for problem in problems if not problem.is_error]


def _value(obj, name, default=None):
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


class _Outline(HTMLParser):
    """Top-level elements' text lengths, and every link's href and text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.depth = 0
        self.top: list[list] = []  # [tag, text length]
        self.links: list[list[str]] = []  # [href, text]
        self._in_link = 0

    def handle_starttag(self, tag, attrs):
        if tag in {"br", "hr"}:
            if self.depth == 0:
                self.top.append([tag, 0])
            return
        if self.depth == 0:
            self.top.append([tag, 0])
        self.depth += 1
        if tag == "a":
            self._in_link += 1
            self.links.append([dict(attrs).get("href") or "", ""])

    def handle_endtag(self, tag):
        if tag in {"br", "hr"}:
            return
        self.depth = max(self.depth - 1, 0)
        if tag == "a" and self._in_link:
            self._in_link -= 1

    def handle_data(self, data):
        length = len(data.strip())
        if self.top and self.depth > 0:
            self.top[-1][1] += length
        elif length:
            self.top.append(["#text", length])
        if self._in_link and self.links:
            self.links[-1][1] += data


def _outline(rendered: str) -> _Outline:
    parser = _Outline()
    parser.feed(rendered or "")
    parser.close()
    return parser


def is_numbered_list(body: str) -> bool:
    """Whether the Markdown renders to a numbered list as its main content: a
    top-level <ol> holding at least half of the text (an introduction line is fine)."""
    from .markdown import render_markdown

    top = _outline(render_markdown(body or "")).top
    listed = sum(length for tag, length in top if tag == "ol")
    total = sum(length for tag, length in top)
    return any(tag == "ol" for tag, _length in top) and listed * 2 >= total


def _sentences(text: str, chinese: bool) -> list[str]:
    pattern = _CHINESE_SENTENCE_END if chinese else _SENTENCE_END
    return [sentence.strip() for sentence in pattern.split(text or "") if sentence.strip()]


def _too_long(sentence: str, chinese: bool) -> bool:
    if chinese:
        return len(re.sub(r"\s", "", sentence)) > LONG_SENTENCE_CHARACTERS
    return len(sentence.split()) > LONG_SENTENCE_WORDS


def _long_sentence_message(sentence: str, chinese: bool) -> str:
    start = sentence[:40] + ("…" if len(sentence) > 40 else "")
    if chinese:
        return _(
            "A sentence is longer than %(limit)d characters; shorter ones are easier "
            "to read: “%(start)s”"
        ) % {"limit": LONG_SENTENCE_CHARACTERS, "start": start}
    return _(
        "A sentence is longer than %(limit)d words; shorter ones are easier to read: “%(start)s”"
    ) % {"limit": LONG_SENTENCE_WORDS, "start": start}


def _guide_address(href: str):
    """(language, category slug, guide slug) when `href` is an address of a guide on
    this site (relative or on SITE_URL's host), else None."""
    from insights.links import classify

    found = classify(href, settings.SITE_URL + "/")
    if found is None or not found[1]:
        return None
    path = urlsplit(found[0]).path
    return _resolve_guide(path)


def _resolve(path: str):
    """The URL match of a path of this site (under its language prefix), or None."""
    first = path.strip("/").split("/", 1)[0]
    codes = [code for code, _name in settings.LANGUAGES]
    language = next((code for code in codes if code.lower() == first.lower()), codes[0])
    try:
        with translation.override(language):
            return language, resolve(path)
    except Resolver404:
        return None


def _resolve_guide(path: str):
    resolved = _resolve(path)
    if resolved is None or resolved[1].view_name != "articles:article":
        return None
    language, match = resolved
    return language, match.kwargs.get("category"), match.kwargs.get("slug")


def _link_problems(links, published_slugs) -> dict:
    """{(section index, href): message} for links to guides that are not published
    or do not exist. Old addresses are followed through the redirects. Two queries
    at most, whatever the number of links."""
    from django.contrib.redirects.models import Redirect

    from .models import Article

    if not links:
        return {}
    slugs = {address[2] for _index, _href, address, _path in links if address}
    guides = {
        (row["language"], row["category__slug"], row["slug"]): row["status"]
        for row in Article.objects.filter(draft_of__isnull=True, slug__in=slugs).values(
            "language", "category__slug", "slug", "status"
        )
    }

    def problem(address):
        if address[2] in published_slugs:
            return None
        status = guides.get(address)
        if status is None:
            return "missing"
        if status != Article.Status.PUBLISHED:
            return "unpublished"
        return None

    found = {}
    unresolved = []
    for index, href, address, path in links:
        why = problem(address) if address else "missing"
        if why == "missing":
            unresolved.append((index, href, path))
        elif why:
            found[(index, href)] = why
    if unresolved:
        moved = dict(
            Redirect.objects.filter(
                site_id=settings.SITE_ID, old_path__in=[path for _i, _h, path in unresolved]
            ).values_list("old_path", "new_path")
        )
        later = {}
        for index, href, path in unresolved:
            target = _resolve_guide(moved[path]) if moved.get(path) else None
            if target is None:
                found[(index, href)] = "missing"
            else:
                later[(index, href)] = target
        if later:
            targets = {t[2] for t in later.values()}
            guides.update(
                {
                    (row["language"], row["category__slug"], row["slug"]): row["status"]
                    for row in Article.objects.filter(
                        draft_of__isnull=True, slug__in=targets
                    ).values("language", "category__slug", "slug", "status")
                }
            )
            for key, target in later.items():
                why = problem(target)
                if why:
                    found[key] = why
    messages = {
        "missing": _("It links to a guide that does not exist: %(link)s"),
        "unpublished": _("It links to a guide that is not published: %(link)s"),
    }
    return {key: messages[why] % {"link": key[1]} for key, why in found.items()}


def _category_expects_law(article, category_id) -> bool:
    """Whether at least LAW_EXPECTED_SHARE of the category's published guides cite
    a law (one query)."""
    from .models import Article, published_or_scheduled_q

    counts = (
        Article.objects.filter(published_or_scheduled_q(), category_id=category_id)
        .exclude(pk=_value(article, "pk"))
        .aggregate(
            total=Count("pk", distinct=True),
            citing=Count("pk", filter=Q(citations__isnull=False), distinct=True),
        )
    )
    return counts["total"] > 0 and counts["citing"] >= counts["total"] * LAW_EXPECTED_SHARE


def check_guide(article, sections=None, citations=None, *, published_slugs=()) -> list[Problem]:
    """The problems of a guide, errors first.

    `article`: an Article (saved or not) or a dict with language, summary and
    category_id (pk when it exists). `sections`: Section objects or dicts with kind,
    heading and body, in order; None reads the saved guide's. `citations`: how many
    laws it cites (a number or a list); None counts the saved guide's.
    `published_slugs`: guides to count as published besides the database's (the
    other guides an import publishes).
    """
    from .markdown import html_to_text, render_markdown
    from .models import Section

    pk = _value(article, "pk")
    if sections is None:
        sections = list(article.sections.all()) if pk else []
    if citations is None:
        citations = article.citations.count() if pk else 0
    elif not isinstance(citations, int):
        citations = len(list(citations))
    language = _value(article, "language") or settings.LANGUAGE_CODE
    chinese = language.lower().startswith("zh")
    numbered_kinds = {Section.Kind.STEPS, Section.Kind.WAYS, Section.Kind.PROCEDURE}
    kind_names = dict(Section.Kind.choices)

    problems: list[Problem] = []
    seen_headings: dict[str, int] = {}
    links = []
    for index, section in enumerate(sections):
        heading = (_value(section, "heading") or "").strip()
        body = (_value(section, "body") or "").strip()
        kind = _value(section, "kind")

        def add(level, code, message, index=index, heading=heading):
            problems.append(Problem(level, code, message, index, heading))

        key = " ".join(heading.casefold().split())
        if key and key in seen_headings:
            add(ERROR, "repeated-heading", _("This heading is used by another section too."))
        seen_headings.setdefault(key, index)
        if not body:
            add(ERROR, "empty-section", _("This section has no text."))
            continue
        if kind in numbered_kinds and not is_numbered_list(body):
            add(
                ERROR,
                "not-numbered",
                _("A “%(kind)s” section must be a numbered list: start each line with “1.”, “2.” …")
                % {"kind": kind_names.get(kind, kind)},
            )
        rendered = render_markdown(body)
        outline = _outline(rendered)
        for href, text in outline.links:
            vague = text.strip().strip(_TRAILING_PUNCTUATION).casefold()
            if vague in VAGUE_LINK_TEXTS:
                add(
                    WARNING,
                    "vague-link-text",
                    _(
                        "Link text “%(text)s” means nothing read out alone by a screen "
                        "reader: say where the link goes."
                    )
                    % {"text": text.strip()},
                )
            address = _guide_address(href)
            if address is not None or _looks_like_guide(href):
                path = urlsplit(href).path
                links.append((index, href, address, path))
        for sentence in _sentences(html_to_text(rendered), chinese):
            if _too_long(sentence, chinese):
                add(WARNING, "long-sentence", _long_sentence_message(sentence, chinese))

    for (index, _href), message in _link_problems(links, set(published_slugs)).items():
        heading = (_value(sections[index], "heading") or "").strip()
        problems.append(Problem(ERROR, "broken-guide-link", message, index, heading))

    summary = " ".join((_value(article, "summary") or "").split())
    if summary:
        low = SUMMARY_MIN_LENGTH.get(language, SUMMARY_MIN_LENGTH["en"])
        high = SUMMARY_LENGTH.get(language, SUMMARY_LENGTH["en"])[0]
        if not low <= len(summary) <= high:
            problems.append(
                Problem(
                    WARNING,
                    "summary-length",
                    _(
                        "The summary has %(count)d characters; %(low)d to %(high)d read "
                        "best in search results."
                    )
                    % {"count": len(summary), "low": low, "high": high},
                )
            )
        for sentence in _sentences(summary, chinese):
            if _too_long(sentence, chinese):
                problems.append(
                    Problem(WARNING, "long-sentence", _long_sentence_message(sentence, chinese))
                )

    category_id = _value(article, "category_id")
    if not citations and category_id and _category_expects_law(article, category_id):
        problems.append(
            Problem(
                WARNING,
                "no-law",
                _(
                    "It cites no law, while most published guides of its category cite "
                    "at least one."
                ),
            )
        )
    return sorted(problems, key=lambda p: (not p.is_error, p.section is None, p.section or 0))


def _looks_like_guide(href: str) -> bool:
    """A relative or own-site address that resolves to nothing: possibly an old
    address of a guide (the redirects say)."""
    from insights.links import classify

    found = classify(href, settings.SITE_URL + "/")
    return bool(found and found[1] and _resolve(urlsplit(found[0]).path) is None)


def publishing_refusal(problems: list[Problem]) -> str:
    """The message refusing publication for the errors among `problems` ("" if none)."""
    blocking = errors(problems)
    if not blocking:
        return ""
    return _("It cannot be published until these problems are fixed: %(problems)s") % {
        "problems": "; ".join(str(problem) for problem in blocking)
    }
