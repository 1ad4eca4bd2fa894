"""Editor Markdown comes out as inert HTML, whatever is typed."""

import re
from html import unescape

import markdown
import pytest

from articles.markdown import render_markdown
from tests.factories import make_article, make_section

XSS_VECTORS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<body onload=alert(1)>",
    "<iframe src=javascript:alert(1)></iframe>",
    '<a href="javascript:alert(1)">click</a>',
    '<a href="JaVaScRiPt:alert(1)">click</a>',
    '<a href="jav&#x09;ascript:alert(1)">click</a>',
    '<a href="&#106;avascript:alert(1)">click</a>',
    "[click](javascript:alert(1))",
    "[click](JAVASCRIPT:alert(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![x](javascript:alert(1))",
    '![x](x "onerror=alert(1)")',
    '<a href="vbscript:msgbox(1)">x</a>',
    '<p style="background:url(javascript:alert(1))">styled</p>',
    "<style>body{display:none}</style>",
    '<div style="position:fixed;top:0">overlay</div>',
    '<object data="javascript:alert(1)"></object>',
    '<embed src="javascript:alert(1)">',
    '<form action="javascript:alert(1)"><button>x</button></form>',
    "<input onfocus=alert(1) autofocus>",
    "<details open ontoggle=alert(1)>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    "<link rel=stylesheet href=//evil.example/x.css>",
    '<base href="//evil.example/">',
    '<a href="#" onclick="alert(1)">x</a>',
    "<marquee onstart=alert(1)>x</marquee>",
    "<!--<script>alert(1)</script>-->",
    "<scr<script>ipt>alert(1)</script>",
    '`<script>alert(1)</script>` and <img src="`" onerror=alert(1)>',
    '<a href="data:text/html,<script>alert(1)</script>">x</a>',
    '<video><source onerror="alert(1)"></video>',
    "<template><script>alert(1)</script></template>",
]

DANGEROUS = [
    re.compile(
        r"<\s*(script|style|iframe|object|embed|form|input|svg|math|meta|link|base|body|img)\b",
        re.I,
    ),
    re.compile(r"\son[a-z]+\s*=", re.I),
    re.compile(r"\sstyle\s*=", re.I),
    re.compile(r"(href|src|action|data)\s*=\s*[\"']?\s*(javascript|vbscript|data):", re.I),
]


# Browsers read a URL after decoding character references and dropping tabs and
# newlines: "jav&#x09;ascript:" is "javascript:".
IGNORED_IN_URLS = re.compile(r"[\t\n\r]")
ALLOWED_URL = re.compile(r"(?:https?:|mailto:|tel:|[/#?.]|[^:]*$)", re.I)


def dangers(html):
    return [pattern.pattern for pattern in DANGEROUS if pattern.search(html)]


def urls(html):
    """Every href and src value, as a browser would read it."""
    found = re.findall(r"""\b(?:href|src)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", html, re.I)
    return [IGNORED_IN_URLS.sub("", unescape("".join(value))).strip() for value in found]


@pytest.mark.parametrize("source", XSS_VECTORS)
def test_hostile_markdown_is_inert(source):
    html = render_markdown(source)
    assert not dangers(html), html
    for url in urls(html):
        assert ALLOWED_URL.match(url), (url, html)


def test_each_vector_is_dangerous_without_the_sanitiser():
    """The checks above can fail: rendered by python-markdown alone (the sanitiser's
    input), every vector trips them."""
    assert len(XSS_VECTORS) >= 25
    harmless = []
    for source in XSS_VECTORS:
        unsanitised = markdown.markdown(source, extensions=["sane_lists", "tables"])
        decoded = IGNORED_IN_URLS.sub("", unescape(unsanitised))
        bad_urls = [url for url in urls(unsanitised) if not ALLOWED_URL.match(url)]
        if not (dangers(unsanitised) or dangers(decoded) or bad_urls):
            harmless.append(source)
    assert not harmless


def test_ordinary_markdown_survives():
    html = render_markdown(
        "Intro with **bold** and a [link](https://example.org/law).\n\n1. One\n2. Two\n"
    )
    assert "<strong>bold</strong>" in html
    assert '<a href="https://example.org/law" rel="noopener noreferrer nofollow">link</a>' in html
    assert "<ol>\n<li>One</li>\n<li>Two</li>\n</ol>" in html


def test_headings_inside_a_section_start_below_the_section_heading():
    html = render_markdown("# Top\n\n## Second\n\n#### Deep")
    assert "<h1>" not in html and "<h2>" not in html
    assert "<h3>Top</h3>" in html and "<h3>Second</h3>" in html and "<h4>Deep</h4>" in html


@pytest.mark.django_db
def test_html_is_stored_when_the_section_is_saved(client):
    article = make_article()
    section = make_section(article, body="1. <script>alert(1)</script>Click **Submit**")
    assert "<strong>Submit</strong>" in section.body_html
    assert "<script" not in section.body_html
    section.body = "Changed"
    section.save()
    section.refresh_from_db()
    assert section.body_html == "<p>Changed</p>"
    page = client.get(article.get_absolute_url()).content.decode()
    assert "<p>Changed</p>" in page and "alert(1)" not in page
