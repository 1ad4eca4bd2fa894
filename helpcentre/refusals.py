"""What an answer the application never writes carries: gunicorn's refusal of a
request it cannot read (gunicorn.conf.py) and Varnish's own answers
(deploy/varnish/default.vcl, which sets the same headers; tests check both). Plain
text in which nothing may run, be framed or be read as another type, as the
application's own pages (settings: CONTENT_SECURITY_POLICY and the security
middleware)."""

REFUSAL_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
