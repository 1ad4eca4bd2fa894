"""Guides as files: Markdown with YAML front matter, plus categories.yaml and laws.yaml.

A guide file looks like this (sections are in the Markdown body, each introduced
by a marker comment that names its kind, then its heading):

    ---
    title: How to activate Alipay medical insurance card
    slug: how-to-activate-alipay-medical-insurance-card
    category: social-security-inquiry
    status: published
    ...
    ---
    <!-- section: steps -->
    ## How to activate the card in Alipay

    1. Open Alipay.

export_guides writes this layout; import_guides reads it, validates every file
first and changes nothing when any file is invalid.
"""

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import yaml
from django.utils.dateparse import parse_date, parse_datetime

from .models import Article, Section

SECTION_MARKER = re.compile(r"^<!-- section: (?P<kind>[a-z]+) -->\n## (?P<heading>.+)\n", re.M)
FRONT_MATTER = re.compile(r"\A---\n(?P<yaml>.*?)\n---\n", re.S)
GUIDE_FIELDS = {
    "title", "slug", "category", "summary", "status", "published_at", "created_at",
    "updated_at", "tags", "owner", "review_by", "needs_review", "previous", "next",
    "related", "citations", "draft_of",
}  # fmt: skip


class Dumper(yaml.SafeDumper):
    """Readable YAML: multi-line text as blocks, keys in the order given."""


def _text(dumper, value):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


Dumper.add_representer(str, _text)


def dump_yaml(data) -> str:
    return yaml.dump(data, Dumper=Dumper, allow_unicode=True, sort_keys=False, width=100)


def guide_to_file(article: Article) -> str:
    """Reads category, tags, sections, citations (provision, law), related links,
    previous/next, owner: prefetch them."""
    meta = {
        "title": article.title,
        "slug": article.slug,
        "category": article.category.slug,
        "summary": article.summary,
        "status": article.status,
        "published_at": article.published_at.isoformat() if article.published_at else None,
        "created_at": article.created_at.isoformat(),
        "updated_at": article.updated_at.isoformat(),
        "tags": sorted(article.tags.names()),
        "owner": article.owner.get_username() if article.owner else None,
        "review_by": article.review_by.isoformat() if article.review_by else None,
        "needs_review": article.needs_review,
        "previous": article.previous_article.slug if article.previous_article else None,
        "next": article.next_article.slug if article.next_article else None,
        "related": [link.to_article.slug for link in article.related_links.all()],
        "citations": [
            {"law": c.provision.law.slug, "provision": c.provision.label}
            for c in article.citations.all()
        ],
        "draft_of": article.draft_of.slug if article.draft_of else None,
    }
    body = "".join(
        f"<!-- section: {s.kind} -->\n## {s.heading}\n\n{s.body.strip()}\n\n"
        for s in article.sections.all()
    )
    return f"---\n{dump_yaml(meta)}---\n{body}"


@dataclass
class ParsedGuide:
    path: Path
    meta: dict
    sections: list[dict] = field(default_factory=list)


class ContentError(Exception):
    """One problem in one file, with the line it is on when known."""

    def __init__(self, path, message, line=None):
        self.path, self.message, self.line = path, message, line
        super().__init__(str(self))

    def __str__(self):
        where = f"{self.path}:{self.line}" if self.line else str(self.path)
        return f"{where}: {self.message}"


def load_yaml(path: Path, text: str, line_offset: int = 0):
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        line = error.problem_mark.line + 1 + line_offset if error.problem_mark else None
        raise ContentError(path, f"invalid YAML: {error.problem}", line) from error
    except yaml.YAMLError as error:
        raise ContentError(path, f"invalid YAML: {error}") from error


def parse_guide(path: Path) -> ParsedGuide:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ContentError(path, "not UTF-8 text") from error
    match = FRONT_MATTER.match(text)
    if not match:
        raise ContentError(path, "missing YAML front matter between '---' lines", 1)
    meta = load_yaml(path, match.group("yaml"), line_offset=1)
    if not isinstance(meta, dict):
        raise ContentError(path, "the front matter must be a mapping of fields", 2)
    body = text[match.end() :]
    body_line = text[: match.end()].count("\n") + 1
    markers = list(SECTION_MARKER.finditer(body))
    if body.strip() and (not markers or body[: markers[0].start()].strip()):
        raise ContentError(path, "text before the first '<!-- section: kind -->' marker", body_line)
    sections = []
    kinds = set(Section.Kind.values)
    for position, marker in enumerate(markers, start=1):
        line = body_line + body[: marker.start()].count("\n")
        if marker.group("kind") not in kinds:
            raise ContentError(path, f"unknown section kind {marker.group('kind')!r}", line)
        end = markers[position].start() if position < len(markers) else len(body)
        sections.append({
            "kind": marker.group("kind"), "heading": marker.group("heading").strip(),
            "body": body[marker.end():end].strip() + "\n", "position": position, "line": line,
        })  # fmt: skip
    return ParsedGuide(path, meta, sections)


def check_guide(guide: ParsedGuide, known_categories, known_slugs, known_provisions) -> list:
    """Every problem of one parsed guide, as ContentErrors (empty when valid)."""
    meta, path, problems = guide.meta, guide.path, []

    def problem(message):
        problems.append(ContentError(path, message, _line_of(path, message)))

    unknown = set(meta) - GUIDE_FIELDS
    if unknown:
        problem(f"unknown fields: {', '.join(sorted(unknown))}")
    for required in ["title", "slug", "category", "summary", "status"]:
        if not isinstance(meta.get(required), str) or not meta.get(required).strip():
            problem(f"'{required}' is required text")
    if meta.get("status") not in Article.Status.values:
        problem(f"'status' must be one of {', '.join(Article.Status.values)}")
    if isinstance(meta.get("slug"), str) and not re.fullmatch(r"[a-z0-9-]{1,150}", meta["slug"]):
        problem("'slug' must be 1 to 150 lower-case letters, digits and hyphens")
    if meta.get("category") not in known_categories:
        problem(f"unknown category {meta.get('category')!r}")
    for name in ["published_at", "created_at", "updated_at"]:
        value = meta.get(name)
        if (
            value is not None
            and not isinstance(value, datetime)
            and not (isinstance(value, str) and parse_datetime(value))
        ):
            problem(f"'{name}' must be an ISO date and time")
    review_by = meta.get("review_by")
    if (
        review_by is not None
        and not isinstance(review_by, date)
        and not (isinstance(review_by, str) and parse_date(review_by))
    ):
        problem("'review_by' must be an ISO date")
    if meta.get("status") == Article.Status.PUBLISHED and not meta.get("published_at"):
        problem("a published guide needs 'published_at'")
    for name in ["previous", "next", "draft_of"]:
        if meta.get(name) is not None and meta[name] not in known_slugs:
            problem(f"'{name}' names an unknown guide {meta[name]!r}")
    for slug in meta.get("related") or []:
        if slug not in known_slugs:
            problem(f"'related' names an unknown guide {slug!r}")
    for citation in meta.get("citations") or []:
        key = (
            (citation.get("law"), citation.get("provision")) if isinstance(citation, dict) else None
        )
        if key not in known_provisions:
            problem(f"'citations' names an unknown provision {citation!r}")
    if not isinstance(meta.get("tags") or [], list):
        problem("'tags' must be a list")
    headings = [s["heading"] for s in guide.sections]
    if len(headings) != len(set(headings)):
        problem("two sections have the same heading")
    return problems


def _line_of(path: Path, message: str):
    """The front-matter line of the field a message names, for a precise report."""
    quoted = re.search(r"'([a-z_]+)'", message)
    if not quoted:
        return None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.startswith(f"{quoted.group(1)}:"):
            return number
    return None
