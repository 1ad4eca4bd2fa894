"""Strict HTML5 checks used by the page tests: parse errors, one h1, heading order,
valid datetime attributes. tests/test_nu_validator.py runs the W3C checker itself."""

import re

import html5lib

HEADING = re.compile(r"<h([1-6])\b", re.I)
DATETIME_ATTRIBUTE = re.compile(r'\bdatetime="([^"]*)"')
# What the site writes: a date, or a global date and time with at most three digits
# of fractional seconds, then Z or an offset (HTML Living Standard, "Dates and times").
DATE_OR_GLOBAL_DATETIME = re.compile(
    r"\d{4,}-\d{2}-\d{2}"
    r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:?\d{2}))?"
)


def assert_valid_html(markup: str) -> None:
    """Parse as the HTML5 spec says and fail on any parse error."""
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    try:
        parser.parse(markup)
    except html5lib.html5parser.ParseError as error:
        line = markup.splitlines()[parser.errors[-1][0][0] - 1] if parser.errors else ""
        raise AssertionError(f"HTML parse error: {error}\n{line}") from error


def assert_headings_well_ordered(markup: str) -> None:
    levels = [int(level) for level in HEADING.findall(markup)]
    assert levels.count(1) == 1, f"expected exactly one <h1>, found {levels.count(1)}"
    assert levels[0] == 1, f"the first heading is <h{levels[0]}>"
    for before, after in zip(levels, levels[1:], strict=False):
        assert after <= before + 1, f"heading order skips from <h{before}> to <h{after}>"


def assert_valid_datetimes(markup: str) -> None:
    for value in DATETIME_ATTRIBUTE.findall(markup):
        assert DATE_OR_GLOBAL_DATETIME.fullmatch(value), f"invalid datetime attribute: {value!r}"


def assert_good_page(markup: str) -> None:
    assert markup.lstrip().lower().startswith("<!doctype html>")
    assert '<html lang="en">' in markup
    assert_valid_html(markup)
    assert_headings_well_ordered(markup)
    assert_valid_datetimes(markup)
