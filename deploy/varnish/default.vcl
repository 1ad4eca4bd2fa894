vcl 4.1;

# Varnish 7 in front of the help centre's gunicorn nodes (deploy/cluster.sh starts
# it on loopback; README, "Running more than one node").
#
# What it does:
# - Spreads requests over the nodes (round robin), skipping a node whose
#   /robots.txt stops answering.
# - Caches only what the application marks for shared caches (public pages send
#   Cache-Control: public, s-maxage=…). Admin, previews, the language switcher and
#   "/" are never cached; neither is any response that is private, no-store or sets
#   a cookie.
# - Public pages never need cookies, so requests for them lose their Cookie header:
#   an editor with a session shares the cached pages every citizen gets.
# - Surrogate keys (vmod xkey): the application lists in an `xkey` response header
#   the guides, topics and laws a page shows (articles/surrogate.py), and after a
#   change commits it sends `PURGE` with the changed keys in `xkey-purge`
#   (articles/purge.py). Only loopback may purge.
# - Tells the client X-Cache: HIT or MISS, and keeps the `xkey` header to itself.
#
# The backends are not in this file: it includes "backends.vcl" from vcl_path, which
# defines one backend per node (with `.probe = node_health;`) and adds each to the
# `nodes` director in its own vcl_init. deploy/cluster.sh writes that file for the
# ports it uses; a production set-up writes its own, for example:
#
#     backend node_a { .host = "10.0.0.11"; .port = "8000"; .probe = node_health; }
#     sub vcl_init { nodes.add_backend(node_a); }

import directors;
import std;
import xkey;

# A node is healthy while 2 of the last 3 probes of /robots.txt (a cheap page that
# Django itself renders, so a node whose application is stuck drops out) answered 200
# within 2s.
# It starts healthy, so the first requests need not wait for a probe round.
probe node_health {
    .url = "/robots.txt";
    .interval = 2s;
    .timeout = 2s;
    .window = 3;
    .threshold = 2;
    .initial = 2;
}

# Who may send PURGE: the application nodes. On one host that is loopback; add the
# nodes' addresses when they run elsewhere.
acl purgers {
    "127.0.0.1";
    "::1";
}

sub vcl_init {
    new nodes = directors.round_robin();
}

include "backends.vcl";

sub vcl_recv {
    set req.backend_hint = nodes.backend();

    # Surrogate-key purge: `PURGE /` with `xkey-purge: g12 c3` drops every cached
    # object tagged with any of those keys. X-Purged says how many went.
    if (req.method == "PURGE") {
        if (client.ip !~ purgers) {
            return (synth(403, "Forbidden"));
        }
        if (!req.http.xkey-purge) {
            return (synth(400, "PURGE needs an xkey-purge header"));
        }
        set req.http.X-Purged = xkey.purge(req.http.xkey-purge);
        return (synth(200, "Purged"));
    }

    # Methods HTTP sites use; anything else (BAN, CONNECT, PRI, WebDAV…) is refused.
    if (req.method !~ "^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS)$") {
        return (synth(405, "Method Not Allowed"));
    }
    # Forms (feedback votes, the admin) and everything else that changes state go to
    # a node untouched, cookies included.
    if (req.method != "GET" && req.method != "HEAD") {
        return (pass);
    }

    # Per person or per visitor, so never cached and cookies kept: the admin (its
    # session and CSRF cookies), previews of unpublished guides, the language
    # switcher (sets the language cookie), and "/" exactly, which redirects each
    # visitor to the home page of their language (cookie, then Accept-Language).
    if (req.url ~ "^/(admin|preview|language)/" || req.url ~ "^/(\?.*)?$") {
        return (pass);
    }

    # Everything else is public and the same for everyone. Django's sessionid and
    # csrftoken (or their __Host- forms) only matter on the paths above, so here the
    # Cookie header is dropped instead of letting it bypass the cache: public pages
    # never read cookies, and a visitor who once opened the admin or a form still
    # gets (and fills) the shared cache.
    unset req.http.Cookie;
    if (req.http.Authorization) {
        return (pass);
    }
    return (hash);
}

sub vcl_backend_response {
    # A passed request (see vcl_recv) is never stored: nothing to decide.
    if (bereq.uncacheable) {
        return (deliver);
    }
    # Store only what the application marks for shared caches. beresp.ttl comes from
    # Cache-Control (s-maxage before max-age); stale-while-revalidate sets the grace.
    # Without Cache-Control Varnish would apply its default TTL: not here.
    if (!beresp.http.Cache-Control
        || beresp.http.Cache-Control ~ "(?i)(^|[ ,])(private|no-store|no-cache)\b"
        || beresp.ttl <= 0s
        || beresp.http.Set-Cookie
        || beresp.http.Vary == "*"
        || beresp.status >= 500) {
        # Hit-for-miss: remember for two minutes that this object is not cacheable,
        # so requests for it go to a node at once instead of queueing behind each
        # other (request coalescing). A later cacheable response replaces it.
        set beresp.uncacheable = true;
        set beresp.ttl = 120s;
        return (deliver);
    }
    # The `xkey` header stays on the stored object: vmod xkey indexed it on insert.
    return (deliver);
}

sub vcl_deliver {
    # obj.hits counts earlier deliveries of this object; a pass or a fetch is 0.
    if (obj.hits > 0) {
        set resp.http.X-Cache = "HIT";
    } else {
        set resp.http.X-Cache = "MISS";
    }
    # Surrogate keys are between the application and this cache.
    unset resp.http.xkey;
}

# Varnish's own answers (refusals, purges, a node that does not answer) are plain
# text with the protections the application's pages carry: nothing may run in them,
# frame them or read them as another type (helpcentre/refusals.py lists the same
# headers for gunicorn's refusals; tests/cluster/test_varnish_answers.py compares).
sub vcl_synth {
    set resp.http.Content-Type = "text/plain; charset=utf-8";
    set resp.http.Content-Security-Policy = "default-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";
    set resp.http.X-Content-Type-Options = "nosniff";
    set resp.http.X-Frame-Options = "DENY";
    set resp.http.Referrer-Policy = "same-origin";
    set resp.http.Cross-Origin-Resource-Policy = "same-origin";
    if (req.method == "PURGE" && resp.status == 200) {
        set resp.http.X-Purged = req.http.X-Purged;
        synthetic("Purged " + req.http.X-Purged + " objects" + {"
"});
    } else {
        if (resp.status == 405) {
            set resp.http.Allow = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";
        }
        synthetic(resp.reason + {"
"});
    }
    return (deliver);
}

# No node answered (all down, or this one failed mid-answer): a short plain-text 503
# rather than Varnish's built-in page, never cached, with the same protections.
sub vcl_backend_error {
    set beresp.http.Content-Type = "text/plain; charset=utf-8";
    set beresp.http.Content-Security-Policy = "default-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";
    set beresp.http.X-Content-Type-Options = "nosniff";
    set beresp.http.X-Frame-Options = "DENY";
    set beresp.http.Referrer-Policy = "same-origin";
    set beresp.http.Cross-Origin-Resource-Policy = "same-origin";
    set beresp.http.Retry-After = "30";
    set beresp.ttl = 0s;
    set beresp.uncacheable = true;
    synthetic("The help centre is not available for a moment. Please try again shortly." + {"
"});
    return (deliver);
}
