"""gunicorn settings, read from the working directory (`make run`, `make serve`).

The access log names the real client: behind TRUSTED_PROXY_COUNT reverse proxies
of ours it is read from X-Forwarded-For exactly as Django reads it
(articles.clientip); with no trusted proxy it is the connecting address and the
header is ignored. Everything else stays as on the command line.
"""

from types import SimpleNamespace

from gunicorn.glogging import Logger

from helpcentre.settings.env import env_int, env_str


class ClientAddressLogger(Logger):
    """The access log's first field (%(h)s) is the client, not our proxy."""

    def atoms(self, resp, req, environ, request_time):
        # Imported here: only workers log requests, after Django has been set up.
        from articles.clientip import client_ip

        atoms = super().atoms(resp, req, environ, request_time)
        atoms["h"] = client_ip(SimpleNamespace(META=environ)) or "-"
        return atoms


logger_class = ClientAddressLogger

# gunicorn believes X-Forwarded-Proto from loopback by default. Without a trusted
# proxy nobody's is believed, as in Django (SECURE_PROXY_SSL_HEADER).
if env_int("TRUSTED_PROXY_COUNT", 0) == 0 and not env_str("FORWARDED_ALLOW_IPS"):
    forwarded_allow_ips = ""
