"""What search engines and link previews read: titles, descriptions, canonical
addresses, feeds and schema.org structured data (JSON-LD)."""

import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from urllib.parse import quote, urlsplit

from django.conf import settings
from django.templatetags.static import static
from django.urls import reverse, translate_url
from django.utils import translation
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from .markdown import html_to_text
from .models import Section, language_rank

# Characters that could end a <script> element or open an HTML comment inside it.
_SCRIPT_SAFE = {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026"}
_LIST_ITEM = re.compile(r"<li>(.*?)</li>", re.S)


def site_name() -> str:
    """The site's name in the active language (settings.SITE_NAMES, else SITE_NAME)."""
    return settings.SITE_NAMES.get(translation.get_language()) or settings.SITE_NAME


def absolute(path: str) -> str:
    return settings.SITE_URL + path


def bcp47(code: str) -> str:
    """Django's language code as HTML's lang and hreflang write it: zh-hans → zh-Hans."""
    language, _sep, rest = code.partition("-")
    if not rest:
        return language
    return f"{language}-{rest.title() if len(rest) == 4 else rest.upper()}"


# Open Graph wants language_TERRITORY; the territory a language's readers most use.
OG_LOCALES = {"en": "en_GB", "zh-hans": "zh_CN"}


def og_locale(code: str) -> str:
    return OG_LOCALES.get(code, code.replace("-", "_"))


def same_page_in_every_language(path: str) -> dict[str, str]:
    """{language: path} of a page that exists in every language (home, topics, laws)."""
    return {code: translate_url(path, code) for code, _name in settings.LANGUAGES}


def default_version(versions):
    """The version for hreflang="x-default": the site's default language, else the
    original the others translate, else the first."""
    by_language = {version.language: version for version in versions}
    if settings.LANGUAGE_CODE in by_language:
        return by_language[settings.LANGUAGE_CODE]
    originals = [version for version in versions if not version.translated_from]
    return (originals or versions)[0]


def absolute_static(path: str) -> str:
    """The absolute, fingerprinted address of a static file: crawlers and link
    previews need whole URLs. A STATIC_URL on another host is kept as it is."""
    url = static(path)
    parts = urlsplit(url)
    if parts.scheme:
        return url
    if parts.netloc:  # protocol-relative, //cdn.example/...
        return f"{urlsplit(settings.SITE_URL).scheme}:{url}"
    return absolute(url)


@dataclass(frozen=True)
class SiteImage:
    """A PNG in static/img, with its pixel size (rendered from logo.svg or share.svg
    there with headless Chromium at that size; the opaque share images reduced to a
    palette)."""

    path: str
    width: int
    height: int
    # What it shows, for the alt text: "<site name>: <description>".
    description: str

    @property
    def url(self) -> str:
        return absolute_static(self.path)

    @property
    def alt(self) -> str:
        return _("%(site)s: %(description)s") % {
            "site": site_name(),
            "description": self.description,
        }

    def image_object(self) -> dict:
        return {
            "@type": "ImageObject",
            "url": self.url,
            "width": self.width,
            "height": self.height,
        }


SHARE_ART = gettext_lazy("a white tick beside three numbered steps")
# Google wants an Organization logo of at least 112x112 pixels.
SITE_LOGO = SiteImage("img/logo-512.png", 512, 512, gettext_lazy("logo, a white tick on blue"))
# Link previews (Open Graph, Twitter's large summary card): 1.91:1.
SHARE_IMAGE = SiteImage("img/share-1200x630.png", 1200, 630, SHARE_ART)
# Article rich results: Google picks among 16:9, 4:3 and 1:1, each over 50,000 pixels.
ARTICLE_IMAGES = (
    SiteImage("img/share-1200x675.png", 1200, 675, SHARE_ART),
    SiteImage("img/share-1200x900.png", 1200, 900, SHARE_ART),
    SiteImage("img/share-1200x1200.png", 1200, 1200, SHARE_ART),
)


def schema_datetime(moment) -> str:
    """ISO 8601 to the second; microseconds add nothing for crawlers."""
    return moment.replace(microsecond=0).isoformat()


def plain(rendered_html: str) -> str:
    return " ".join(html_to_text(rendered_html).split())


def json_ld(data) -> SafeString:
    """JSON for a <script type="application/ld+json"> element that no text can break out of."""
    return mark_safe(json.dumps(data, ensure_ascii=False).translate(_SCRIPT_SAFE))  # noqa: S308


@dataclass
class PageMeta:
    """The <head> of a page: base.html renders every tag from this."""

    title: str
    description: str
    path: str
    og_type: str = "website"
    noindex: bool = False
    # A dict, or its JSON already made by json_ld() (a page that caches it).
    structured_data: dict | SafeString | None = None
    feeds: list[tuple[str, str, str]] = field(default_factory=list)
    # Guides have no picture of their own yet: every page shares the site's.
    image: SiteImage = SHARE_IMAGE
    # {language code: path} of this page in each language it exists in, itself
    # included: the language switcher's targets and the hreflang alternates.
    translations: dict[str, str] = field(default_factory=dict)
    # hreflang="x-default": the address for visitors of any other language.
    x_default: str | None = None
    # False where the other languages' pages are near matches, not this page itself
    # (a later page of a list): the switcher still uses them, hreflang does not.
    alternates_are_exact: bool = True
    language: str = field(default_factory=translation.get_language)

    @property
    def html_lang(self) -> str:
        return bcp47(self.language)

    @property
    def og_locale(self) -> str:
        return og_locale(self.language)

    @cached_property
    def alternates(self) -> list[tuple[str, str]]:
        """(hreflang, absolute URL) pairs for <link rel="alternate">: every language
        version and x-default, or none when the page has no exact counterpart."""
        if not self.alternates_are_exact or len(self.translations) < 2:
            return []
        pairs = [
            (bcp47(code), absolute(self.translations[code]))
            for code in sorted(self.translations, key=language_rank)
        ]
        default = self.x_default or self.translations.get(settings.LANGUAGE_CODE)
        if default:
            pairs.append(("x-default", absolute(default)))
        return pairs

    def switcher(self) -> list[dict]:
        """One entry per other language: where its link goes (this page in that
        language, else that language's home page) and whether it is this page."""
        entries = []
        for code, name in settings.LANGUAGES:
            if code == self.language:
                continue
            target = self.translations.get(code)
            if target is None:
                with translation.override(code):
                    target = reverse("articles:home")
            entries.append(
                {
                    "code": code,
                    "lang": bcp47(code),
                    "name": name,
                    "same_page": code in self.translations,
                    "url": reverse("choose-language", args=[code]) + "?next=" + quote(target),
                }
            )
        return entries

    @property
    def full_title(self) -> str:
        return f"{self.title} | {site_name()}" if self.title else site_name()

    @cached_property
    def canonical_url(self) -> str:
        return absolute(self.path)

    @cached_property
    def structured_data_json(self) -> SafeString | None:
        if isinstance(self.structured_data, SafeString) or not self.structured_data:
            return self.structured_data or None
        return json_ld(self.structured_data)


def paged_title(title: str, page_number: int) -> str:
    if page_number <= 1:
        return title
    return _("%(title)s (page %(number)d)") % {"title": title, "number": page_number}


def home_crumb() -> tuple[str, str]:
    return (pgettext("breadcrumb", "Home"), reverse("articles:home"))


def paged_path(path: str, page_number: int) -> str:
    """Page 1 is the bare address; later pages keep their ?page=N as canonical."""
    return path if page_number <= 1 else f"{path}?page={page_number}"


def breadcrumb_list(*crumbs) -> dict:
    """crumbs: (name, path) pairs from the home page down to the current page."""
    return {
        "@type": "BreadcrumbList",
        "itemListElement": [
            {"@type": "ListItem", "position": position, "name": name, "item": absolute(path)}
            for position, (name, path) in enumerate(crumbs, start=1)
        ],
    }


def publisher() -> dict:
    return {
        "@type": "Organization",
        "name": site_name(),
        "url": absolute("/"),
        "logo": SITE_LOGO.image_object(),
    }


def website_data() -> dict:
    return {
        "@context": "https://schema.org",
        "@type": "WebSite",
        "name": site_name(),
        "url": absolute(reverse("articles:home")),
        "inLanguage": bcp47(translation.get_language()),
        "publisher": publisher(),
        "potentialAction": {
            "@type": "SearchAction",
            "target": {
                "@type": "EntryPoint",
                "urlTemplate": absolute(reverse("articles:search") + "?q={search_term_string}"),
            },
            "query-input": "required name=search_term_string",
        },
    }


def category_data(category, articles, path) -> dict:
    return {
        "@context": "https://schema.org",
        "@graph": [
            breadcrumb_list(home_crumb(), (category.name, category.get_absolute_url())),
            {
                "@type": "CollectionPage",
                "name": category.name,
                "description": category.description or category.name,
                "url": absolute(path),
                "inLanguage": bcp47(translation.get_language()),
                "isPartOf": {"@type": "WebSite", "url": absolute(reverse("articles:home"))},
                "mainEntity": {
                    "@type": "ItemList",
                    "itemListElement": [
                        {
                            "@type": "ListItem",
                            "position": position,
                            "url": absolute(article.get_absolute_url()),
                            "name": article.title,
                        }
                        for position, article in enumerate(articles, start=1)
                    ],
                },
            },
        ],
    }


def legislation(provision) -> dict:
    """Reads provision.law."""
    law = provision.law
    return {
        "@type": "Legislation",
        "name": f"{provision.label}, {law.name}",
        "legislationIdentifier": provision.label,
        "text": provision.text,
        "inLanguage": bcp47(translation.get_language()),
        "url": absolute(provision.get_absolute_url()),
        "isPartOf": {
            "@type": "Legislation",
            "name": law.name,
            "alternateName": law.short_name,
            "url": law.source_url or absolute(law.get_absolute_url()),
        },
    }


def last_updated_for_citizens(article):
    """The date the page shows as "Last updated" (includes/guide_dates.html): its
    latest change note, else its first publication. A minor edit or a review moves
    `updated_at` but tells citizens nothing, so search results should not say so."""
    noted = getattr(article, "last_change_noted_at", None)  # Article.objects.for_page()
    if noted is None and not hasattr(article, "last_change_noted_at"):
        latest = article.change_notes.order_by("-made_at").values_list("made_at", flat=True)
        noted = latest.first()
    return noted or article.published_at


def guide_data(article, sections, citations, tags) -> dict:
    """Article, BreadcrumbList, one HowTo per steps section, an FAQPage for questions
    and procedures, and the legal basis as Legislation citations."""
    url = absolute(article.get_absolute_url())
    graph = [
        {
            "@type": "Article",
            "@id": f"{url}#guide",
            "headline": article.title[:110],
            "description": article.summary,
            "datePublished": schema_datetime(article.published_at),
            "dateModified": schema_datetime(last_updated_for_citizens(article)),
            "image": [image.image_object() for image in ARTICLE_IMAGES],
            "mainEntityOfPage": url,
            "url": url,
            "inLanguage": bcp47(article.language),
            "author": publisher(),
            "publisher": publisher(),
            "articleSection": article.category.name,
            "keywords": ", ".join(tag.name for tag in tags),
            "citation": [legislation(citation.provision) for citation in citations],
        },
        breadcrumb_list(
            home_crumb(),
            (article.category.name, article.category.get_absolute_url()),
            (article.title, article.get_absolute_url()),
        ),
    ]
    for section in sections:
        if section.kind == Section.Kind.STEPS:
            steps = [plain(item) for item in _LIST_ITEM.findall(section.body_html)]
            graph.append(
                {
                    "@type": "HowTo",
                    "name": section.heading,
                    "url": f"{url}#{quote(section.anchor)}",
                    "step": [
                        {"@type": "HowToStep", "position": n, "name": text[:110], "text": text}
                        for n, text in enumerate(steps, start=1)
                    ],
                }
            )
    questions = [
        {
            "@type": "Question",
            "name": section.heading,
            "acceptedAnswer": {"@type": "Answer", "text": plain(section.body_html)},
        }
        for section in sections
        if section.kind in {Section.Kind.QUESTION, Section.Kind.PROCEDURE}
    ]
    if questions:
        graph.append({"@type": "FAQPage", "url": url, "mainEntity": questions})
    return {"@context": "https://schema.org", "@graph": graph}
