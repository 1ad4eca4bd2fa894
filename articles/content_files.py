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
first and changes nothing when any file is invalid. Every problem is a
ContentError with its file and, from PyYAML's node marks, its line.

Languages. A guide file names its `language` (one of settings.LANGUAGES; the
first, English, when left out). Another language's version of the same guide
names the version it belongs with, by slug, in `translation_of`: it joins that
guide's translation group, which holds one version per language (a file without
it keeps the group it has; a new one starts its own). `translated_from` is the
language of the version it was translated from (left out for an original).

The two questions the admin asks on saving a guide (articles.translation) are
two flags of the file, for the import that reads it (export_guides never writes
them). A change to a guide's title, summary, sections or legal basis is a major
change, one its translations must follow, unless the file says `minor: true`: it
sets the guide's `major_change_at` to the time of the import, and every translation
of it whose `source_change_followed` is older is then out of date. A translation's
file says `translation_matches: true` when its text now says everything its source
says: its `source_change_followed` becomes the source's `major_change_at` (a new
translation follows its source as it is when imported). An unchanged file changes
neither. export_guides writes both times; import_guides reads them only for the
guides it creates, as their history. So with a guide's record for citizens: the day
it was last reviewed (`reviewed_at`) and its change notes (`updates`, a list of
`at` and `note`, oldest first).

Category, law and provision texts are given per language, as a mapping of
language codes to text:

    - name:
        en: Social security inquiry
        zh-hans: 社保查询
      slug: social-security-inquiry

Plain text (`name: Social security inquiry`, the format before languages) is the
English text. A language left out keeps the text it has; "" empties it. The
English text of a name, a short name, a label and a provision's text is required,
and a provision is known, within its law, by its English label (as citations name it).
"""

import re
import stat
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import yaml
from django.conf import settings
from django.utils.dateparse import parse_date, parse_datetime
from translated_fields import to_attribute

from .models import Article, ChangeNote, Section, language_codes, language_rank, primary

SECTION_MARKER = re.compile(r"^<!-- section: (?P<kind>[a-z]+) -->\n## (?P<heading>.+)\n", re.M)
FRONT_MATTER = re.compile(r"\A---\n(?P<yaml>.*?)\n---\n", re.S)
# A guide is a few kilobytes and laws.yaml holds every law's text: far more than
# either is a mistake, or an attempt to exhaust the server's memory.
MAX_FILE_BYTES = 1024 * 1024
TAG_MAX_LENGTH = 100  # taggit's Tag.name


class Dumper(yaml.SafeDumper):
    """Readable YAML: multi-line text as blocks, keys in the order given."""


def _text(dumper, value):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


Dumper.add_representer(str, _text)


def dump_yaml(data) -> str:
    return yaml.dump(data, Dumper=Dumper, allow_unicode=True, sort_keys=False, width=100)


def primary_language() -> str:
    return settings.LANGUAGES[0][0]


def texts_of(value) -> dict[str, str]:
    """{language: text} of a translated field as a file gives it (checked by
    check_fields): plain text is the first language's; null is ""."""
    if isinstance(value, str):
        return {primary_language(): value}
    if isinstance(value, dict):
        return {code: text or "" for code, text in value.items() if isinstance(text, str | None)}
    return {}


def primary_text(value) -> str | None:
    """The first language's text of a translated field as a file gives it, if any."""
    return texts_of(value).get(primary_language())


def translated_values(name: str, value) -> dict[str, str]:
    """The model attributes (name_en, name_zh_hans, …) a file's value sets; the
    languages it leaves out are not among them."""
    return {to_attribute(name, code): text for code, text in texts_of(value).items()}


def translated_to_file(instance, name: str):
    """A translated field as export_guides writes it: {language: text} of the
    languages that have text, or "" when none has."""
    texts = {code: getattr(instance, to_attribute(name, code)) for code in language_codes()}
    return {code: text for code, text in texts.items() if text} or ""


def translation_roots(versions) -> dict[str, str]:
    """{slug: the slug its file names in `translation_of`} for the guides in a group
    with other versions: each names the group's original (the version translated
    from nothing; else the first language's; else the first saved), which names none.

    `versions`: (slug, translation_group, language, translated_from, pk) of every
    guide that is not a draft revision.
    """
    groups: dict = {}
    for version in versions:
        groups.setdefault(version[1], []).append(version)
    roots = {}
    for members in groups.values():
        if len(members) < 2:
            continue
        root = min(
            members,
            key=lambda v: (
                bool(v[3]),
                language_rank(v[2]),
                v[4],
            ),
        )
        roots |= {member[0]: root[0] for member in members if member is not root}
    return roots


def _moment_text(value) -> str | None:
    return value.isoformat() if value else None


def guide_to_file(article: Article, translation_of: str | None = None) -> str:
    """Reads category, tags, sections, citations (provision, law), related links,
    previous/next, owner: prefetch them. `translation_of`: the slug of the version
    whose translation group this one joins (translation_roots())."""
    meta = {
        "title": article.title,
        "slug": article.slug,
        "language": article.language,
    }
    if translation_of and article.draft_of_id is None:
        meta["translation_of"] = translation_of
    if article.translated_from:
        meta["translated_from"] = article.translated_from
    meta |= {
        "category": article.category.slug,
        "summary": article.summary,
        "status": article.status,
        "published_at": _moment_text(article.published_at),
        "created_at": article.created_at.isoformat(),
        "updated_at": article.updated_at.isoformat(),
    }
    for name in ["major_change_at", "source_change_followed"]:
        if getattr(article, name):
            meta[name] = _moment_text(getattr(article, name))
    if article.reviewed_at:
        meta["reviewed_at"] = article.reviewed_at.isoformat()
    notes = sorted(article.change_notes.all(), key=lambda note: (note.made_at, note.pk))
    if notes:
        meta["updates"] = [{"at": _moment_text(note.made_at), "note": note.note} for note in notes]
    meta |= {
        "tags": sorted(article.tags.names()),
        "owner": article.owner.get_username() if article.owner else None,
        "review_by": article.review_by.isoformat() if article.review_by else None,
        "needs_review": article.needs_review,
        "previous": article.previous_article.slug if article.previous_article else None,
        "next": article.next_article.slug if article.next_article else None,
        "related": [link.to_article.slug for link in article.related_links.all()],
        "citations": [
            {"law": c.provision.law.slug, "provision": getattr(c.provision, primary("label"))}
            for c in article.citations.all()
        ],
        "draft_of": article.draft_of.slug if article.draft_of else None,
    }
    body = "".join(
        f"<!-- section: {s.kind} -->\n## {s.heading}\n\n{s.body.strip()}\n\n"
        for s in article.sections.all()
    )
    return f"---\n{dump_yaml(meta)}---\n{body}"


class ContentError(Exception):
    """One problem in one file, with the line it is on when known."""

    def __init__(self, path, message, line=None):
        self.path, self.message, self.line = path, message, line
        super().__init__(str(self))

    def __str__(self):
        where = f"{self.path}:{self.line}" if self.line else str(self.path)
        return f"{where}: {self.message}"


def read_text(path: Path) -> str:
    """A file's text, refused when it is not a regular file, too large or not UTF-8.

    At most MAX_FILE_BYTES + 1 bytes are ever read: a device or a pipe (whose size
    says 0) cannot make the import read without end.
    """
    try:
        # Checked before opening: opening a pipe would wait for a writer.
        if not stat.S_ISREG(path.stat().st_mode):
            raise ContentError(path, "not a regular file")
        with path.open("rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise ContentError(path, f"the file is larger than {MAX_FILE_BYTES:,} bytes")
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ContentError(path, "not UTF-8 text") from error
    except OSError as error:
        raise ContentError(path, f"cannot be read: {error.strerror}") from error


@dataclass
class Entry:
    """A value read from a YAML file (usually a mapping of fields), with where it is."""

    path: Path
    line: int
    data: object
    node: yaml.Node | None = None
    # Lines of the file before the YAML text (the front matter's opening '---').
    line_offset: int = 0

    def _child_node(self, key):
        if isinstance(self.node, yaml.MappingNode):
            for key_node, value_node in self.node.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(key):
                    return key_node, value_node
        return None, None

    def line_of(self, key=None) -> int:
        """The line of one field, or of the entry itself."""
        key_node, _ = self._child_node(key) if key is not None else (None, None)
        if key_node is None:
            return self.line
        return key_node.start_mark.line + 1 + self.line_offset

    def error(self, message, key=None) -> ContentError:
        return ContentError(self.path, message, self.line_of(key))

    def child(self, key) -> "Entry":
        """The value under `key` as an Entry of its own, for the lines inside it."""
        key_node, value_node = self._child_node(key)
        value = self.data.get(key) if isinstance(self.data, dict) else None
        if value_node is None:
            return Entry(self.path, self.line, value, None, self.line_offset)
        line = value_node.start_mark.line + 1 + self.line_offset
        # A mapping written on the following lines starts at its key's line.
        if isinstance(value_node, yaml.MappingNode) and key_node is not None:
            line = key_node.start_mark.line + 1 + self.line_offset
        return Entry(self.path, line, value, value_node, self.line_offset)

    def items(self, key) -> list["Entry"]:
        """The entries of the list under `key` (empty when it is not a list)."""
        values = self.data.get(key) if isinstance(self.data, dict) else None
        _, list_node = self._child_node(key)
        if not isinstance(values, list) or not isinstance(list_node, yaml.SequenceNode):
            return []
        return [
            Entry(
                self.path,
                node.start_mark.line + 1 + self.line_offset,
                value,
                node,
                self.line_offset,
            )
            for node, value in zip(list_node.value, values, strict=False)
        ]


def load_yaml(path: Path, text: str, line_offset: int = 0) -> Entry:
    """The YAML document in `text` as an Entry, keeping the node marks for lines."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as error:
        line = error.problem_mark.line + 1 + line_offset if error.problem_mark else None
        raise ContentError(path, f"invalid YAML: {error.problem}", line) from error
    except yaml.YAMLError as error:
        raise ContentError(path, f"invalid YAML: {error}") from error
    finally:
        loader.dispose()
    line = node.start_mark.line + 1 + line_offset if node is not None else line_offset + 1
    return Entry(path, line, data, node, line_offset)


def read_entries(path: Path) -> list[Entry]:
    """The entries of categories.yaml or laws.yaml: a list, each with its line."""
    document = load_yaml(path, read_text(path))
    if document.data is None:
        return []
    if not isinstance(document.data, list):
        raise ContentError(path, "must be a list of entries", document.line)
    return [
        Entry(path, node.start_mark.line + 1, value, node)
        for node, value in zip(document.node.value, document.data, strict=False)
    ]


@dataclass
class ParsedGuide:
    path: Path
    meta: dict
    sections: list[dict] = field(default_factory=list)
    # The front matter, for the line of each field.
    entry: Entry | None = None

    def error(self, message, key=None) -> ContentError:
        if self.entry is None:
            return ContentError(self.path, message)
        return self.entry.error(message, key)


def parse_guide(path: Path) -> ParsedGuide:
    text = read_text(path)
    match = FRONT_MATTER.match(text)
    if not match:
        raise ContentError(path, "missing YAML front matter between '---' lines", 1)
    front = load_yaml(path, match.group("yaml"), line_offset=1)
    if not isinstance(front.data, dict):
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
        sections.append(
            {
                "kind": marker.group("kind"),
                "heading": marker.group("heading").strip(),
                "body": body[marker.end() : end].strip() + "\n",
                "position": position,
                "line": line,
            }
        )
    return ParsedGuide(path, front.data, sections, front)


# What each field of a file may hold: accepted Python types (as PyYAML reads them)
# and how a report names them.
TEXT = ((str,), "text")
NUMBER = ((int,), "a whole number")
FLAG = ((bool,), "true or false")
LIST = ((list,), "a list")
MOMENT = ((str, datetime), "an ISO date and time")
DAY = ((str, date), "an ISO date")
# Text per language: {en: …, zh-hans: …}, or plain text for the first language.
TRANSLATED = ((str, dict), "text, or a mapping of language codes to text")

GUIDE_SCHEMA = {
    "title": TEXT,
    "slug": TEXT,
    "language": TEXT,
    "translation_of": TEXT,
    "translated_from": TEXT,
    "minor": FLAG,
    "translation_matches": FLAG,
    "category": TEXT,
    "summary": TEXT,
    "status": TEXT,
    "published_at": MOMENT,
    "created_at": MOMENT,
    "updated_at": MOMENT,
    "major_change_at": MOMENT,
    "source_change_followed": MOMENT,
    "tags": LIST,
    "owner": TEXT,
    "review_by": DAY,
    "reviewed_at": DAY,
    "updates": LIST,
    "needs_review": FLAG,
    "previous": TEXT,
    "next": TEXT,
    "related": LIST,
    "citations": LIST,
    "draft_of": TEXT,
}
GUIDE_REQUIRED = {"title", "slug", "category", "summary", "status"}
GUIDE_FIELDS = set(GUIDE_SCHEMA)
CATEGORY_SCHEMA = {
    "name": TRANSLATED,
    "slug": TEXT,
    "description": TRANSLATED,
    "position": NUMBER,
}
CATEGORY_REQUIRED = {"name", "slug"}
LAW_SCHEMA = {
    "name": TRANSLATED,
    "short_name": TRANSLATED,
    "slug": TEXT,
    "source_url": TEXT,
    "authoritative_language": TEXT,
    "provisions": LIST,
}
LAW_REQUIRED = {"name", "short_name", "slug"}
PROVISION_SCHEMA = {"label": TRANSLATED, "position": NUMBER, "text": TRANSLATED}
PROVISION_REQUIRED = {"label", "text"}
# A guide slug: letters of any script, digits and hyphens (SlugField(allow_unicode)
# also takes "_", which the files do not), lower case; at most Article.slug's length.
GUIDE_SLUG = re.compile(r"(?:[^\W_]|-){1,150}")


def check_fields(entry: Entry, schema: dict, required: set) -> tuple[list, set]:
    """Problems of shape (not a mapping, unknown fields, missing or mistyped values),
    and the names of the fields that have one, so later checks can pass them by."""
    if not isinstance(entry.data, dict):
        return [entry.error("must be a mapping of fields")], set(schema)
    problems, invalid = [], set()
    unknown = [str(key) for key in entry.data if key not in schema]
    if unknown:
        problems.append(entry.error(f"unknown fields: {', '.join(sorted(unknown))}", unknown[0]))
    for name, (types, description) in schema.items():
        value = entry.data.get(name)
        if value is None or (name in required and isinstance(value, str) and not value.strip()):
            if name in required:
                problems.append(entry.error(f"'{name}' is required {description}", name))
                invalid.add(name)
        # bool is an int to Python, not a number to a reader
        elif not isinstance(value, types) or (bool not in types and isinstance(value, bool)):
            problems.append(entry.error(f"'{name}' must be {description}", name))
            invalid.add(name)
        elif (types, description) == TRANSLATED:
            found = _check_translated(entry, name, name in required)
            problems += found
            if found:
                invalid.add(name)
    return problems, invalid


def _check_translated(entry: Entry, name: str, required: bool) -> list[ContentError]:
    """Problems of a translated field's value: known language codes, text for each,
    and the first language's text when the field is required."""
    value, problems = entry.data[name], []
    first = primary_language()
    if isinstance(value, dict):
        texts = entry.child(name)
        codes = language_codes()
        for code, text in value.items():
            if code not in codes:
                problems.append(
                    texts.error(
                        f"'{name}': unknown language {code!r} (one of {', '.join(codes)})",
                        code,
                    )
                )
            elif text is not None and not isinstance(text, str):
                problems.append(texts.error(f"'{name}': the {code} text must be text", code))
    text = primary_text(value)
    if required and not problems and (text is None or not text.strip()):
        problems.append(entry.error(f"'{name}' needs its {first} text", name))
    return problems


def check_guide(guide: ParsedGuide, known_categories, known_slugs, known_provisions) -> list:
    """Every problem of one parsed guide, as ContentErrors (empty when valid)."""
    meta = guide.meta
    problems, invalid = check_fields(guide.entry, GUIDE_SCHEMA, GUIDE_REQUIRED)

    def usable(name):
        return name not in invalid and meta.get(name) is not None

    def problem(message, key=None):
        problems.append(guide.error(message, key))

    if usable("status") and meta["status"] not in Article.Status.values:
        problem(f"'status' must be one of {', '.join(Article.Status.values)}", "status")
    if usable("slug") and (
        not GUIDE_SLUG.fullmatch(meta["slug"]) or meta["slug"] != meta["slug"].lower()
    ):
        problem(
            "'slug' must be 1 to 150 lower-case letters (of any script), digits and hyphens",
            "slug",
        )
    codes = language_codes()
    language = meta["language"] if usable("language") else primary_language()
    if usable("language") and language not in codes:
        problem(f"'language' must be one of {', '.join(codes)}", "language")
    if usable("translated_from") and meta["translated_from"]:
        if meta["translated_from"] not in codes:
            problem(f"'translated_from' must be one of {', '.join(codes)}", "translated_from")
        elif meta["translated_from"] == language:
            problem(
                f"'translated_from' is this version's own language ({language})", "translated_from"
            )
    if meta.get("translation_matches") is True and not meta.get("translated_from"):
        problem(
            "'translation_matches': only a translation (with 'translated_from') matches a source",
            "translation_matches",
        )
    if usable("category") and meta["category"] not in known_categories:
        problem(f"unknown category {meta['category']!r}", "category")
    for name in [
        "published_at",
        "created_at",
        "updated_at",
        "major_change_at",
        "source_change_followed",
    ]:
        if usable(name) and isinstance(meta[name], str) and not _parses(parse_datetime, meta[name]):
            problem(f"'{name}' must be an ISO date and time", name)
    for name in ["review_by", "reviewed_at"]:
        if usable(name) and isinstance(meta[name], str) and not _parses(parse_date, meta[name]):
            problem(f"'{name}' must be an ISO date", name)
    if usable("updates"):
        _check_updates(guide, problems)
    if meta.get("status") == Article.Status.PUBLISHED and not meta.get("published_at"):
        problem("a published guide needs 'published_at'", "status")
    own_slug = meta.get("slug")
    for name in ["previous", "next", "draft_of", "translation_of"]:
        if not usable(name):
            continue
        if meta[name] not in known_slugs:
            problem(f"'{name}' names an unknown guide {meta[name]!r}", name)
        elif meta[name] == own_slug:
            problem(f"'{name}' names this guide itself", name)
    for name in ["previous", "next"]:
        if usable(name) and usable("draft_of") and meta[name] == meta["draft_of"]:
            # Publishing the revision would make the guide link to itself.
            problem(f"'{name}' names the guide this draft revises", name)
    if usable("translation_of") and usable("draft_of"):
        problem(
            "a draft revision belongs with the guide it revises: leave out 'translation_of'",
            "translation_of",
        )
    if usable("related"):
        _check_related(guide, known_slugs, problems)
    if usable("citations"):
        _check_citations(guide, known_provisions, problems)
    if usable("tags"):
        for item in guide.entry.items("tags"):
            name = item.data
            if not isinstance(name, str) or not name.strip() or len(name) > TAG_MAX_LENGTH:
                problems.append(item.error(f"a tag is text of 1 to {TAG_MAX_LENGTH} characters"))
    headings = [s["heading"] for s in guide.sections]
    for section in guide.sections:
        if headings.count(section["heading"]) > 1:
            problems.append(
                ContentError(guide.path, "two sections have the same heading", section["line"])
            )
            break
    return problems


def _parses(parse, text) -> bool:
    try:
        return parse(text) is not None
    except ValueError:  # well formed but impossible, such as a 13th month
        return False


def _check_related(guide: ParsedGuide, known_slugs, problems) -> None:
    seen = set()
    for item in guide.entry.items("related"):
        slug = item.data
        if not isinstance(slug, str):
            problems.append(item.error("'related' lists guides by their slug"))
        elif slug not in known_slugs:
            problems.append(item.error(f"'related' names an unknown guide {slug!r}"))
        elif slug in {guide.meta.get("slug"), guide.meta.get("draft_of")}:
            problems.append(item.error(f"'related' names this guide itself: {slug!r}"))
        elif slug in seen:
            problems.append(item.error(f"'related' names {slug!r} twice"))
        seen.add(slug if isinstance(slug, str) else None)


def _check_updates(guide: ParsedGuide, problems) -> None:
    """The change notes shown to citizens: each a mapping of 'at' (when) and 'note'."""
    for item in guide.entry.items("updates"):
        update = item.data
        moment = update.get("at") if isinstance(update, dict) else None
        note = update.get("note") if isinstance(update, dict) else None
        if not isinstance(update, dict) or set(update) != {"at", "note"}:
            problems.append(item.error("'updates' entries are mappings of 'at' and 'note'"))
        elif not isinstance(moment, datetime) and not (
            isinstance(moment, str) and _parses(parse_datetime, moment)
        ):
            problems.append(item.error("an update's 'at' must be an ISO date and time"))
        elif not isinstance(note, str) or not note.strip() or len(note) > ChangeNote.MAX_LENGTH:
            problems.append(
                item.error(f"an update's 'note' is text of 1 to {ChangeNote.MAX_LENGTH} characters")
            )


def _check_citations(guide: ParsedGuide, known_provisions, problems) -> None:
    seen = set()
    for item in guide.entry.items("citations"):
        citation = item.data
        key = (citation.get("law"), citation.get("provision")) if isinstance(citation, dict) else ()
        if not all(isinstance(part, str) for part in key) or len(key) != 2:
            problems.append(
                item.error("'citations' entries are mappings of 'law' (a slug) and 'provision'")
            )
        elif key not in known_provisions:
            problems.append(item.error(f"'citations' names an unknown provision {citation!r}"))
        elif key in seen:
            problems.append(item.error(f"'citations' names {citation!r} twice"))
        else:
            seen.add(key)
