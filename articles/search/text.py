"""Text handling shared by both search backends: what a word is, how a query is
read, how CJK text becomes searchable, and how snippets are highlighted.

Everything here is pure Python, so both backends behave the same for citizens.
"""

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

import snowballstemmer
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

MAX_QUERY_LENGTH = 200
MAX_QUERY_TERMS = 12

# Common English words that carry no meaning for finding a guide. PostgreSQL's
# english config drops these already; SQLite FTS5 does not, so the query
# parser drops them for both.
STOP_WORDS = frozenset(
    """a about an and are as at be by can do does for from get how i if in into is it
    its me my of on or our should the their there these this to was what when where
    which who why will with you your""".split()
)

_CJK = (
    r"\u3040-\u30ff"  # Hiragana, Katakana
    r"\u3400-\u4dbf"  # CJK Extension A
    r"\u4e00-\u9fff"  # CJK Unified Ideographs
    r"\uac00-\ud7af"  # Hangul syllables
    r"\uf900-\ufaff"  # CJK Compatibility Ideographs
)
CJK_RUN = re.compile(f"[{_CJK}]+")
# A word: a run of CJK characters, or of other letters and digits.
WORD = re.compile(rf"[{_CJK}]+|[^\W_{_CJK}]+(?:['’][^\W_{_CJK}]+)*")

_stemmer = snowballstemmer.stemmer("english")


def fold(text: str) -> str:
    """Case, accents and compatibility forms folded away: "Café" -> "cafe"."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


@lru_cache(maxsize=20000)
def stem(word: str) -> str:
    return _stemmer.stemWord(word)


def is_cjk(word: str) -> bool:
    return bool(CJK_RUN.fullmatch(word))


def cjk_bigrams(run: str) -> list[str]:
    """Overlapping character pairs, as CJK-aware engines index: 社保卡 -> 社保, 保卡."""
    if len(run) < 2:
        return [run]
    return [run[i : i + 2] for i in range(len(run) - 1)]


def cjk_index_text(*texts: str) -> str:
    """The bigrams of every CJK run in the texts, space-separated, for the index."""
    grams = []
    for text in texts:
        for run in CJK_RUN.findall(text or ""):
            grams.extend(cjk_bigrams(run))
    return " ".join(grams)


def words(text: str) -> list[str]:
    """Folded words of a text, in order."""
    return WORD.findall(fold(text or ""))


def vocabulary(*texts: str) -> set[str]:
    """Words worth offering in "Did you mean": alphabetic, 3 to 30 letters."""
    found = set()
    for text in texts:
        for word in words(text):
            if 3 <= len(word) <= 30 and word.isalpha() and word.isascii():
                found.add(word)
    return found


@dataclass
class ParsedQuery:
    """A citizen's query reduced to plain search terms, whatever was typed."""

    raw: str
    text: str = ""
    terms: list[str] = field(default_factory=list)
    truncated: bool = False

    @property
    def is_empty(self) -> bool:
        return not self.terms

    def tokens(self) -> list[str]:
        """The terms as the index holds them: a CJK term becomes its bigrams."""
        found = []
        for term in self.terms:
            for token in cjk_bigrams(term) if is_cjk(term) else [term]:
                if token not in found:
                    found.append(token)
        return found


def parse_query(raw: str | None) -> ParsedQuery:
    """Read a query safely: operators, quotes and control characters are dropped,
    only words remain (no search-engine syntax ever reaches the database)."""
    raw = raw or ""
    truncated = len(raw) > MAX_QUERY_LENGTH
    text = raw[:MAX_QUERY_LENGTH]
    if truncated and " " in text:
        text = text.rsplit(" ", 1)[0]
    text = "".join(c for c in text if unicodedata.category(c)[0] != "C")
    text = " ".join(text.split())
    terms = []
    for word in words(text):
        if word in STOP_WORDS or word in terms:
            continue
        terms.append(word)
    meaningful = terms[:MAX_QUERY_TERMS]
    if not meaningful:
        # A query made only of stop words ("how to") still searches for them.
        meaningful = list(dict.fromkeys(words(text)))[:MAX_QUERY_TERMS]
    return ParsedQuery(raw=raw, text=text, terms=meaningful, truncated=truncated)


def _matcher(query: ParsedQuery):
    stems = {stem(term) for term in query.terms if not is_cjk(term)}
    cjk_terms = [term for term in query.terms if is_cjk(term)]

    def matches(token: str) -> bool:
        folded = fold(token)
        if is_cjk(folded):
            return any(term in folded for term in cjk_terms)
        return stem(folded) in stems

    return matches


def highlight(text: str, query: ParsedQuery) -> SafeString:
    """The whole text, escaped, with matching words wrapped in <mark>."""
    matches = _matcher(query)
    out, last = [], 0
    for m in WORD.finditer(text):
        if matches(m.group()):
            out.append(escape(text[last : m.start()]))
            out.append(f"<mark>{escape(m.group())}</mark>")
            last = m.end()
    out.append(escape(text[last:]))
    return mark_safe("".join(out))  # noqa: S308 (every piece is escaped above)


def snippet(text: str, query: ParsedQuery, width: int = 28) -> SafeString | None:
    """About `width` words around the first match, escaped and highlighted, or None."""
    matches = _matcher(query)
    tokens = list(WORD.finditer(text))
    hit = next((i for i, m in enumerate(tokens) if matches(m.group())), None)
    if hit is None:
        return None
    first = max(0, hit - width // 3)
    last = min(len(tokens) - 1, first + width)
    start = tokens[first].start()
    end = tokens[last].end()
    prefix = "… " if first > 0 else ""
    suffix = " …" if last < len(tokens) - 1 else ""
    return mark_safe(  # noqa: S308 (highlight escapes; the ellipses are literals)
        prefix + highlight(text[start:end], query) + suffix
    )
