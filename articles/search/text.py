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


# Chinese question words and particles: as "how to" in English, they say nothing about
# the guide wanted, and as bigrams they would demand guides phrased the same way.
CJK_QUESTION_WORDS = (
    "如何 怎么办 怎么样 怎么 怎样 什么 哪里 哪儿 哪些 哪个 多少 为什么 可以 能否 是否 "
    "需要 请问 应该 我的 我们"
).split()
# One-character particles: dropped only at either end of a piece, since inside a word
# they are part of it (所在地, 了解, 目的).
CJK_LEADING_PARTICLES = "在我想要去到请"
CJK_TRAILING_PARTICLES = "吗呢吧啊呀了的在"
CJK_QUERY_STOP_WORDS = frozenset(
    CJK_QUESTION_WORDS + list(CJK_LEADING_PARTICLES + CJK_TRAILING_PARTICLES)
)
_CJK_QUESTION = re.compile("|".join(sorted(CJK_QUESTION_WORDS, key=len, reverse=True)))


def cjk_query_pieces(run: str) -> list[str]:
    """The words a query's CJK run asks for: split at question words, particles
    trimmed from the pieces' ends. 在上海怎么办居住证 -> 上海, 居住证. A run of nothing
    but such words is searched as typed."""
    pieces = []
    for piece in _CJK_QUESTION.split(run):
        piece = piece.lstrip(CJK_LEADING_PARTICLES).rstrip(CJK_TRAILING_PARTICLES)
        if piece:
            pieces.append(piece)
    # One character left beside longer pieces ("领" of 失业金怎么领) is a word the
    # bigram index cannot find alone: the longer pieces carry the query.
    longer = [piece for piece in pieces if len(piece) > 1]
    return longer or pieces or [run]


def cjk_query_bigrams(run: str) -> list[str]:
    """A query's CJK run as search tokens: the bigrams of each of its pieces
    (cjk_query_pieces). 在上海怎么办居住证 -> 上海, 居住, 住证."""
    return [token for piece in cjk_query_pieces(run) for token in cjk_bigrams(piece)]


# How a run of CJK characters becomes index tokens, and a query's run becomes search
# tokens: overlapping bigrams, so any two or more characters of a guide find it, with
# no dictionary (bench/chinese_segmentation.py measured a word segmenter against this).
# Module globals, looked up at each call, so a benchmark can swap them.
index_tokens = cjk_bigrams
query_tokens = cjk_query_bigrams


def cjk_index_text(*texts: str) -> str:
    """The CJK tokens of each text, space-separated, one line per text (so the engines
    weigh a title's Chinese as a title); empty when no text holds CJK."""
    lines = [
        " ".join(token for run in CJK_RUN.findall(fold(text or "")) for token in index_tokens(run))
        for text in texts
    ]
    return "\n".join(lines) if any(lines) else ""


def without_cjk(text: str) -> str:
    """The text with its CJK runs blanked out: the engines' own word splitting
    cannot read them, and their tokens are indexed beside it (cjk_index_text)."""
    return CJK_RUN.sub(" ", text or "")


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
            for token in query_tokens(term) if is_cjk(term) else [term]:
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


# Words for snippet windows: a Latin word, or one CJK character (CJK runs are whole
# sentences); a CJK character counts as half a word of the window.
_SNIPPET_TOKEN = re.compile(rf"[{_CJK}]|[^\W_{_CJK}]+(?:['’][^\W_{_CJK}]+)*")
CJK_CHARACTER_WEIGHT = 0.5


def _marks(text: str, query: ParsedQuery) -> list[tuple[int, int]]:
    """(start, end) spans of `text` to highlight, in order and not overlapping.

    A Latin word is marked when its stem is a query term's. In CJK text, which has
    no spaces, exactly the characters of the query's CJK words found whole are
    marked (its pieces, question words left out): 社保 in 激活社保卡 marks two
    characters, not five, and 社保卡 marks nothing in 医保卡, though the bigram
    保卡 is in both.
    """
    stems = {stem(term) for term in query.terms if not is_cjk(term)}
    pieces = {
        piece
        for term in query.terms
        if is_cjk(term)
        for piece in cjk_query_pieces(term)
        if len(piece) > 1
    }
    marks = []
    for m in WORD.finditer(text):
        word = m.group()
        if not is_cjk(word):
            if stems and stem(fold(word)) in stems:
                marks.append((m.start(), m.end()))
            continue
        if not pieces:
            continue
        folded = fold(word)
        if len(folded) != len(word):  # compatibility forms: match as written
            folded = word
        covered = [False] * len(word)
        for piece in pieces:
            at = folded.find(piece)
            while at != -1:
                covered[at : at + len(piece)] = [True] * len(piece)
                at = folded.find(piece, at + 1)
        start = None
        for i, on in enumerate([*covered, False]):
            if on and start is None:
                start = i
            elif not on and start is not None:
                marks.append((m.start() + start, m.start() + i))
                start = None
    return marks


def _highlighted(text: str, marks) -> str:
    out, last = [], 0
    for start, end in marks:
        out.append(escape(text[last:start]))
        out.append(f"<mark>{escape(text[start:end])}</mark>")
        last = end
    out.append(escape(text[last:]))
    return "".join(out)


def highlight(text: str, query: ParsedQuery) -> SafeString:
    """The whole text, escaped, with matching words wrapped in <mark>."""
    return mark_safe(_highlighted(text, _marks(text, query)))  # noqa: S308 (all escaped)


def snippet(text: str, query: ParsedQuery, width: int = 28) -> SafeString | None:
    """About `width` words around the first match (a CJK character counting as half
    a word), escaped and highlighted, or None."""
    marks = _marks(text, query)
    if not marks:
        return None
    tokens = list(_SNIPPET_TOKEN.finditer(text))
    first_mark = marks[0][0]
    hit = next(i for i, m in enumerate(tokens) if m.end() > first_mark)

    def cost(i):
        return CJK_CHARACTER_WEIGHT if is_cjk(tokens[i].group()) else 1

    first, used = hit, 0
    while first > 0 and used + cost(first - 1) <= width // 3:
        first -= 1
        used += cost(first)
    last, used = first, 0
    while last < len(tokens) - 1 and used + cost(last + 1) <= width:
        last += 1
        used += cost(last)
    start, end = tokens[first].start(), tokens[last].end()
    inside = [
        (max(s, start) - start, min(e, end) - start) for s, e in marks if s < end and e > start
    ]
    prefix = suffix = ""
    if first > 0:
        prefix = "…" if is_cjk(tokens[first].group()) else "… "
    if last < len(tokens) - 1:
        suffix = "…" if is_cjk(tokens[last].group()) else " …"
    return mark_safe(  # noqa: S308 (_highlighted escapes; the ellipses are literals)
        prefix + _highlighted(text[start:end], inside) + suffix
    )
