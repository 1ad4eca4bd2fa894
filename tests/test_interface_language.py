"""The interface speaks the page's language: Chinese under /zh-hans/, English under
/en/, error pages included; dates and plurals follow it; what the scripts say comes
from the page; and the Chinese catalogue (locale/zh_Hans) is complete and compiled."""

import re
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.utils import translation

from articles.middleware import busy_response, server_error
from articles.models import Article, ChangeNote
from tests.factories import cite, make_article, make_category, make_law, make_provision
from tests.helpers import assert_good_page

LOCALE_DIR = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES"
PO_FILE = LOCALE_DIR / "django.po"
MO_FILE = LOCALE_DIR / "django.mo"
STATIC_JS = Path(settings.BASE_DIR) / "static" / "js"

# What every public page shows around its content, in each language.
CHROME = {
    "en": [
        ">Skip to main content</a>",
        ">All topics</a>",
        ">Laws cited in our guides</a>",
        ">Search guides</label>",
        '<button type="submit">Search</button>',
        "Guides are checked against the law they cite.",
    ],
    "zh-hans": [
        ">跳到主要内容</a>",
        ">所有主题</a>",
        ">指南引用的法律</a>",
        ">搜索指南</label>",
        '<button type="submit">搜索</button>',
        "各指南均已对照所引用的法律进行核对。",
    ],
}


def page(client, path, status=HTTPStatus.OK) -> str:
    response = client.get(path)
    assert response.status_code == status, path
    return response.content.decode()


@pytest.fixture
def guides(db):
    """A published guide in each language, in one topic, updated at a known time."""
    category = make_category(slug="cards", name_en="Cards", name_zh_hans="卡片")
    english = make_article(category=category, title="Activate your card", slug="activate-card")
    chinese = make_article(
        category=category,
        title="激活您的医保卡",
        slug="激活医保卡",
        summary="如何激活医保卡。",
        language="zh-hans",
        translation_group=english.translation_group,
        translated_from="en",
    )
    moment = datetime(2026, 11, 30, 20, 3, 1, tzinfo=UTC)
    Article.objects.filter(pk__in=[english.pk, chinese.pk]).update(updated_at=moment)
    ChangeNote.objects.create(article=english, note="Office moved", made_at=moment)
    ChangeNote.objects.create(article=chinese, note="办公室已搬迁", made_at=moment)
    return english, chinese


@pytest.mark.django_db
class TestPages:
    def test_the_chinese_home_page_speaks_chinese(self, client, guides):
        html = page(client, "/zh-hans/")
        assert '<html lang="zh-Hans">' in html
        for text in CHROME["zh-hans"]:
            assert text in html, text
        for text in CHROME["en"]:
            assert text not in html, text
        assert "<h1>公共服务办事指南</h1>" in html
        assert '<span class="meta">1篇指南</span>' in html
        assert_good_page(html)

    def test_the_english_home_page_speaks_english(self, client, guides):
        html = page(client, "/en/")
        assert '<html lang="en">' in html
        for text in CHROME["en"]:
            assert text in html, text
        for text in CHROME["zh-hans"]:
            assert text not in html, text
        assert '<span class="meta">1 guide</span>' in html

    @pytest.mark.parametrize(
        ("language", "heading"),
        [("zh-hans", "<h1>找不到页面</h1>"), ("en", "<h1>Page not found</h1>")],
    )
    def test_the_404_page_is_in_the_language_of_the_address(self, client, db, language, heading):
        html = page(client, f"/{language}/no-such-topic/no-such-guide/", HTTPStatus.NOT_FOUND)
        assert heading in html
        assert CHROME[language][0] in html
        assert_good_page(html)

    @pytest.mark.parametrize("language", ["zh-hans", "en"])
    def test_server_error_pages_are_in_the_page_language(self, rf, db, language):
        """500 is rendered without a request context, from the language still active."""
        html_lang, failed_heading, busy_heading = {
            "zh-hans": ("zh-Hans", "抱歉，服务出现问题", "服务繁忙"),
            "en": ("en", "Sorry, there is a problem with the service", "The service is busy"),
        }[language]
        request = rf.get(f"/{language}/")
        with translation.override(language):
            failed = server_error(request).content.decode()
            busy = busy_response(request).content.decode()
        assert f'<html lang="{html_lang}">' in failed and f"<h1>{failed_heading}</h1>" in failed
        assert f'<html lang="{html_lang}">' in busy and f"<h1>{busy_heading}</h1>" in busy
        assert_good_page(failed)
        assert_good_page(busy)

    def test_dates_follow_the_page_language(self, client, guides):
        english, chinese = guides
        stamp = '<time datetime="2026-11-30T20:03:01Z">'
        assert f"{stamp}2026年11月30日</time>" in page(client, chinese.get_absolute_url())
        assert f"{stamp}30 November 2026</time>" in page(client, english.get_absolute_url())

    def test_counts_read_naturally_in_each_language(self, client, guides):
        for _ in range(2):
            make_article(category=guides[0].category, language="zh-hans")
        assert '<span class="meta">3篇指南</span>' in page(client, "/zh-hans/")
        assert '<span class="meta">1 guide</span>' in page(client, "/en/")
        search = page(client, "/zh-hans/search/?q=" + quote("医保卡"))
        assert "找到1条“医保卡”的结果" in search

    def test_the_guide_page_and_its_scripts_texts_are_chinese(self, client, guides):
        html = page(client, guides[1].get_absolute_url())
        assert '<h2 id="feedback-heading">此页面对您有帮助吗？</h2>' in html
        assert 'data-thanks="感谢您的反馈。"' in html
        assert 'data-comment-button="提交留言"' in html
        assert 'data-suggest-status-other="{n}条建议，请使用方向键选择"' in html
        assert_good_page(html)

    def test_english_pages_give_the_scripts_english_plural_forms(self, client, guides):
        html = page(client, guides[0].get_absolute_url())
        assert 'data-suggest-status-one="{n} suggestion, use the arrow keys to choose"' in html
        assert 'data-suggest-status-other="{n} suggestions, use the arrow keys to choose"' in html
        assert 'data-comment-label="What were you looking for?' in html


@pytest.mark.django_db
class TestSearchLanguages:
    def test_a_link_widens_the_search_to_every_language(self, client, guides):
        html = page(client, "/en/search/?q=card")
        assert '<a href="?q=card&amp;lang=all">Search all languages</a>' in html
        assert 'name="lang"' not in html

    def test_searching_every_language_keeps_it_and_offers_the_way_back(self, client, guides):
        html = page(client, "/en/search/?q=card&lang=all")
        assert '<input type="hidden" name="lang" value="all">' in html
        assert '<a href="?q=card">Search only English</a>' in html
        assert 'data-suggest="/en/search/suggest/?lang=all"' in html
        assert_good_page(html)

    def test_in_chinese(self, client, guides):
        query = quote("医保卡")
        assert ">搜索所有语言的指南</a>" in page(client, f"/zh-hans/search/?q={query}")
        assert ">仅搜索简体中文指南</a>" in page(client, f"/zh-hans/search/?q={query}&lang=all")


@pytest.mark.django_db
class TestAuthoritativeText:
    NOTE_EN = "Translation for reference; the Simplified Chinese text is authoritative."

    @pytest.fixture
    def provision(self, guides):
        law = make_law(slug="social-insurance", authoritative_language="zh-hans")
        provision = make_provision(law, label_zh_hans="第二十三条", text_zh_hans="职工应当参加。")
        for guide in guides:
            cite(guide, provision)
        return provision

    def test_a_translated_provision_says_which_text_is_official(self, client, provision, guides):
        for path in ["/en/laws/social-insurance/", guides[0].get_absolute_url()]:
            html = page(client, path)
            assert f'<p class="provision__note">{self.NOTE_EN}</p>' in html, path

    def test_the_official_text_has_no_note(self, client, provision, guides):
        for path in ["/zh-hans/laws/social-insurance/", guides[1].get_absolute_url()]:
            assert "provision__note" not in page(client, path), path

    def test_a_law_without_an_official_language_has_no_note(self, client, provision):
        provision.law.authoritative_language = ""
        provision.law.save()
        assert "provision__note" not in page(client, "/en/laws/social-insurance/")

    def test_the_note_in_chinese_names_the_official_language_in_chinese(self, client, guides):
        law = make_law(slug="english-law", authoritative_language="en")
        make_provision(law)
        html = page(client, "/zh-hans/laws/english-law/")
        assert '<p class="provision__note">译文仅供参考，以英语文本为准。</p>' in html


def test_the_scripts_hold_no_interface_text():
    """suggest.js and feedback.js say only what the page gives them (data-* attributes):
    no string in their code is words of a sentence."""
    for name in ["suggest.js", "feedback.js"]:
        code = re.sub(r"//[^\n]*", "", (STATIC_JS / name).read_text(encoding="utf-8"))
        strings = re.findall(r'"((?:[^"\\\n]|\\.)*)"', code)
        assert strings, name
        sentences = [text for text in strings if re.search(r"[A-Za-z]+ +[A-Za-z]+", text)]
        assert set(sentences) <= {"use strict"}, name


# The catalogue: every entry translated, and the committed django.mo the same as the .po.

PO_KEYWORD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?) (".*")$')
PO_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "f": "\f", "v": "\v"}
PO_ESCAPES |= {'"': '"', "\\": "\\"}


def po_string(literal: str) -> str:
    """The text of one quoted .po string: C escapes only, as gettext writes them."""
    assert len(literal) >= 2 and literal[0] == literal[-1] == '"', literal
    out, chars = [], iter(literal[1:-1])
    for char in chars:
        if char == "\\":
            escaped = next(chars)
            assert escaped in PO_ESCAPES, f"unknown escape \\{escaped} in {literal}"
            out.append(PO_ESCAPES[escaped])
        else:
            assert char != '"', f"unescaped quote in {literal}"
            out.append(char)
    return "".join(out)


def parse_po(text: str) -> list[dict]:
    """The entries of a .po file, strings unescaped: {"flags", "obsolete", "msgctxt"
    (when given), "msgid", "msgid_plural" (when given), "msgstr": [forms]}. Strict:
    a line it does not understand fails the test."""
    entries, entry, field = [], None, None
    for number, line in enumerate(text.splitlines() + [""], 1):
        if not line.strip():
            if entry is not None:
                entry["msgstr"] = [entry["msgstr"][index] for index in sorted(entry["msgstr"])]
                entries.append(entry)
            entry, field = None, None
            continue
        if entry is None:
            entry = {"flags": set(), "obsolete": False, "msgstr": {}}
        if line.startswith("#~"):
            entry["obsolete"] = True
        elif line.startswith("#,"):
            entry["flags"] |= {flag.strip() for flag in line[2:].split(",")}
        elif line.startswith("#"):
            pass  # translator, extracted and reference comments
        elif match := PO_KEYWORD.match(line):
            keyword, index, literal = match.groups()
            if keyword.startswith("msgstr"):
                field = ("msgstr", int(index or 0))
                entry["msgstr"][field[1]] = po_string(literal)
            else:
                field = keyword
                entry[keyword] = po_string(literal)
        elif line.startswith('"') and field is not None:
            if isinstance(field, tuple):
                entry["msgstr"][field[1]] += po_string(line)
            else:
                entry[field] += po_string(line)
        else:
            raise AssertionError(f"django.po line {number} is not understood: {line!r}")
    return entries


def test_the_po_parser_reads_what_gettext_writes():
    entries = parse_po(
        '#, python-format\nmsgctxt "ctx"\nmsgid ""\n"Say \\"%(a)s\\"\\n"\n'
        'msgid_plural "b"\nmsgstr[0] "x"\n"y"\n\n#~ msgid "old"\n#~ msgstr "旧"\n'
    )
    assert entries[0] == {
        "flags": {"python-format"},
        "obsolete": False,
        "msgctxt": "ctx",
        "msgid": 'Say "%(a)s"\n',
        "msgid_plural": "b",
        "msgstr": ["xy"],
    }
    assert entries[1]["obsolete"]


@pytest.fixture(scope="module")
def catalogue():
    entries = parse_po(PO_FILE.read_text(encoding="utf-8"))
    header = entries[0]
    assert header["msgid"] == ""
    return header, entries[1:]


def test_the_catalogue_is_chinese_with_one_plural_form(catalogue):
    header, entries = catalogue
    assert "fuzzy" not in header["flags"]
    assert "Plural-Forms: nplurals=1; plural=0;\n" in header["msgstr"][0]
    assert "Language: zh_Hans\n" in header["msgstr"][0]
    assert len(entries) > 100


def test_every_entry_is_translated(catalogue):
    _header, entries = catalogue
    for entry in entries:
        assert not entry["obsolete"], entry["msgid"]
        assert "fuzzy" not in entry["flags"], entry["msgid"]
        assert len(entry["msgstr"]) == 1, entry["msgid"]  # Chinese: one plural form
        assert entry["msgstr"][0].strip(), entry["msgid"]


PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
MARKUP = '<>&"'


def test_translations_keep_placeholders_and_add_no_markup(catalogue):
    """blocktranslate does not escape the translation itself, only its variables: a
    msgstr may add no markup character, and keeps the msgid's links and placeholders."""
    _header, entries = catalogue
    for entry in entries:
        source, text = entry["msgid"], entry["msgstr"][0]
        wanted = set(PLACEHOLDER.findall(source + entry.get("msgid_plural", "")))
        found = set(PLACEHOLDER.findall(text))
        if "msgid_plural" in entry:
            # The one form may leave the count out, as an English singular may.
            wanted.discard("counter")
            found.discard("counter")
        assert found == wanted, source
        for char in MARKUP:
            assert text.count(char) <= source.count(char), (source, char)
        assert re.findall(r"<a [^>]*>", text) == re.findall(r"<a [^>]*>", source), source


def test_the_compiled_catalogue_matches_the_po(catalogue):
    """django.mo is committed (a fresh clone needs no gettext): it must say what the
    .po says, entry by entry, as Django reads it."""
    assert MO_FILE.is_file()
    _header, entries = catalogue
    with translation.override("zh-hans"):
        for entry in entries:
            context, msgid = entry.get("msgctxt"), entry["msgid"]
            if "msgid_plural" in entry:
                for n in (1, 2, 5):
                    if context is None:
                        got = translation.ngettext(msgid, entry["msgid_plural"], n)
                    else:
                        got = translation.npgettext(context, msgid, entry["msgid_plural"], n)
                    assert got == entry["msgstr"][0], (msgid, n)
            elif context is None:
                assert translation.gettext(msgid) == entry["msgstr"][0], msgid
            else:
                assert translation.pgettext(context, msgid) == entry["msgstr"][0], msgid
