"""Surrogate keys: which content a public response shows, so a front cache (Varnish
with xkey, deploy/varnish/) can drop exactly the pages an edit changes.

While a response is being made (articles.caching.public_page), every guide, topic
and law whose link is written (get_absolute_url) notes its key, and views note what
they show beyond links; public_page sends the keys, space-separated, in the `xkey`
header (kept with the page in the page cache too). After a change commits, the same
keys are purged (articles.purge).

Key          Means                                 Carried by
-----------  ------------------------------------  ---------------------------------
g<pk>        one guide (a language version)        every page linking to it: its own
                                                   page (canonical), lists, previous/
                                                   next, related, translations, law
                                                   pages, feeds
c<pk>        one topic                             its page and feeds, pages linking
                                                   to it (home, breadcrumbs)
t<pk>        one tag                               its page, guide pages showing it
l<pk>        one law                               its page, the law list, guides
                                                   citing it
list-<lang>  "the guides of this language": what   home, feeds, every sitemap (all
             a newly published guide may join      languages)
laws         the list of laws                      /<lang>/laws/, sitemaps

So purging, for a changed guide, its guide key, its topic's, its tags', its cited
laws' and its language's listing key reaches every page that shows it or would list
it. A topic, tag or law created or deleted (not only changed) should also purge the
listing keys of every language (and `laws` for a law): no page carries the key of
something that did not exist when it was made.
"""

from contextlib import contextmanager
from contextvars import ContextVar

_collected: ContextVar[set | None] = ContextVar("surrogate_keys", default=None)


def guide_key(pk) -> str:
    return f"g{pk}"


def topic_key(pk) -> str:
    return f"c{pk}"


def tag_key(pk) -> str:
    return f"t{pk}"


def law_key(pk) -> str:
    return f"l{pk}"


def listing_key(language) -> str:
    """The guides of one language as a collection: pages listing "the latest", all
    guides or all topics of that language carry it."""
    return f"list-{language}"


# The list of laws (/<lang>/laws/): which laws exist.
LAW_LIST_KEY = "laws"


def note(*keys: str) -> None:
    """Record keys of content the response being made shows (no-op outside one)."""
    keys_so_far = _collected.get()
    if keys_so_far is not None:
        keys_so_far.update(keys)


@contextmanager
def collecting():
    """Collect the keys noted inside the block: `with collecting() as keys: ...`."""
    keys: set[str] = set()
    token = _collected.set(keys)
    try:
        yield keys
    finally:
        _collected.reset(token)
