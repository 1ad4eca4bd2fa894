"""Surrogate keys: which content a public response shows, so a front cache (Varnish
with xkey, deploy/varnish/) can drop exactly the pages an edit changes.

While a response is being made, every guide, topic and law whose link is written
(get_absolute_url) notes its key, and views note the collections they list; the
middleware sends them in the `xkey` header. After a change commits, the same keys
are purged (articles.purge).
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
