"""gunicorn settings, read from the working directory (`make run`, `make serve`).

The access log names the real client: behind TRUSTED_PROXY_COUNT reverse proxies
of ours it is read from X-Forwarded-For exactly as Django reads it
(articles.clientip); with no trusted proxy it is the connecting address and the
header is ignored. What citizens searched for is left out: the query strings of
search addresses (and the signed record of an opened result) never sit beside a
client address, in the request line or in the Referer. Everything else stays as on
the command line.

A request gunicorn refuses before Django sees it (a request line or headers too
long, a malformed request) gets a plain-text answer with the protections of the
site's pages (write_protected_error), not gunicorn's bare HTML page.
"""

import re
from types import SimpleNamespace
from urllib.parse import unquote

from gunicorn import util
from gunicorn.glogging import Logger

from helpcentre.refusals import REFUSAL_HEADERS
from helpcentre.settings.env import env_int, env_str


def _scrubbing(level):
    """Logger.<level>, with the message formatted and its searches cut first."""

    def log(self, msg, *args, **kwargs):
        getattr(Logger, level)(self, _scrubbed(msg, args), **kwargs)

    log.__name__ = level
    return log


class ClientAddressLogger(Logger):
    """The access log's first field (%(h)s) is the client, not our proxy; no search
    sits beside a client address, in the access log or in gunicorn's own messages."""

    # gunicorn's messages quote a request it could not read ("Invalid request from
    # ip=…: Invalid HTTP request line: 'GET /en/search/?q=… HTTP/1.1'"): every level.
    critical, error, warning, info, debug, exception = (
        _scrubbing(level)
        for level in ("critical", "error", "warning", "info", "debug", "exception")
    )

    def atoms(self, resp, req, environ, request_time):
        # Imported here: only workers log requests, after Django has been set up.
        from articles.clientip import client_ip

        atoms = super().atoms(resp, req, environ, request_time)
        atoms["h"] = client_ip(SimpleNamespace(META=environ)) or "-"
        # Every atom, since a format may name any header or environ value.
        atoms = {
            name: without_searches(value) if isinstance(value, str) else value
            for name, value in atoms.items()
        }
        query = environ.get("QUERY_STRING")
        if query and SEARCH_PATH.search(unquote(environ.get("PATH_INFO", ""))):
            atoms = {
                name: "-" if isinstance(value, str) and query in value else value
                for name, value in atoms.items()
            }
        return atoms


# A search address (/search/, /search?…, /search-opened/…), in any case and however
# its path is percent-encoded (/%73earch/ is a search to Django), and what follows it
# up to the request line's " HTTP/", a space before the next field, or the end: a
# query may hold quotes, and an unreadable request line spaces.
SEARCH_PATH = re.compile(r"/search(?:-opened)?(?=[/?]|$|[ \t\"'])", re.IGNORECASE)
SEARCH_ADDRESS = re.compile(
    r"(/search(?:-opened)?)(?:[/?][^\t\r\n]*?)?(?=\s+HTTP/|\"\s|$)", re.IGNORECASE
)


def without_searches(text: str) -> str:
    """`text` with every search address's query (and an opened result's record) cut,
    read percent-decoded when that is where the search shows."""
    if not SEARCH_PATH.search(text):
        decoded = unquote(text, errors="replace")
        if not SEARCH_PATH.search(decoded):
            return text
        text = decoded
    return SEARCH_ADDRESS.sub(r"\1/…", text)


def _scrubbed(msg, args) -> str:
    text = str(msg) % args if args else str(msg)
    return without_searches(text)


logger_class = ClientAddressLogger

# gunicorn believes X-Forwarded-Proto from loopback by default. Without a trusted
# proxy nobody's is believed, as in Django (SECURE_PROXY_SSL_HEADER).
if env_int("TRUSTED_PROXY_COUNT", 0) == 0 and not env_str("FORWARDED_ALLOW_IPS"):
    forwarded_allow_ips = ""


def write_protected_error(sock, status_int, reason, mesg):
    """gunicorn's answer to a request it refuses itself, as util.write_error writes it
    but in plain text with REFUSAL_HEADERS, and without echoing the refused request."""
    body = f"{status_int} {reason}\n".encode("latin-1", "replace")
    head = "".join(
        [
            f"HTTP/1.1 {status_int} {reason}\r\n",
            "Connection: close\r\n",
            "Content-Type: text/plain; charset=utf-8\r\n",
            f"Content-Length: {len(body)}\r\n",
            *(f"{name}: {value}\r\n" for name, value in REFUSAL_HEADERS.items()),
            "\r\n",
        ]
    )
    util.write_nonblock(sock, head.encode("latin-1") + body)


# The workers call util.write_error; gunicorn offers no setting for these answers.
util.write_error = write_protected_error
