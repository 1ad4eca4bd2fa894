"""Settings for every environment, read from environment variables.

Defaults are safe for production (DEBUG off, no wildcard hosts); the embedded
defaults (SQLite file, a cache in files under .cache/) need no service to be running.
"""

import hashlib
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF, UNSAFE_HASHES
from django.core.exceptions import ImproperlyConfigured

from .env import env_bool, env_datetime, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent

DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")


def _secret_key() -> str:
    """SECRET_KEY from the environment, else from the untracked .secret_key file.

    `make run` writes that file once, so a local server needs no set-up and no
    key ever lands in git.
    """
    key = env_str("SECRET_KEY")
    if key:
        return key
    key_file = Path(env_str("SECRET_KEY_FILE", str(BASE_DIR / ".secret_key")))
    if key_file.is_file():
        return key_file.read_text().strip()
    raise ImproperlyConfigured(
        "Set SECRET_KEY, or run `make secret` to create an untracked .secret_key file."
    )


SECRET_KEY = _secret_key()

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.sites",
    "django.contrib.redirects",
    "django.contrib.sitemaps",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "taggit",
    "reversion",
    "reversion_compare",
    # Drag-and-drop order of a guide's sections, citations and related guides.
    "adminsortable2",
    "articles",
    "insights",
    "csp",
    # Last, as its documentation asks: it watches the login signals of the apps above.
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Above WhiteNoise, so static files carry them too, and above everything that
    # can answer (the 503 page, error pages, axes' lockout page).
    "articles.security.SecurityHeadersMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Outermost of our own: a locked database becomes a 503 page, not a 500.
    "articles.middleware.DatabaseBusyMiddleware",
    # WhiteNoise serves static files before any other middleware does work.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Due draft revisions go live before any page is served, from the cache or not.
    "articles.middleware.ScheduledRevisionMiddleware",
    # Anonymous visitors' public pages from the cache, before the middleware below run.
    "articles.caching.PageCacheMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language of the address (/en/, /zh-hans/), else the cookie and browser (admin).
    "articles.middleware.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # On a 404 for an address without a language prefix: 301 to the English page.
    "articles.middleware.LegacyAddressMiddleware",
    # Both act only on a 404: first /Upper-Case/ addresses go to their lower-case
    # form, then moved and removed guides answer 301 or 410 (django.contrib.redirects).
    "articles.middleware.GuideRedirectMiddleware",
    "articles.middleware.LowercasePathMiddleware",
    # Turns a refused sign-in into the lockout page (articles.security.lockout_response).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "helpcentre.urls"
WSGI_APPLICATION = "helpcentre.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "articles.context_processors.site",
            ],
        },
    },
]

_database_url = env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
DATABASES = {
    "default": dj_database_url.parse(
        _database_url,
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets gunicorn workers read while an editor writes; IMMEDIATE
    # transactions plus a busy timeout make concurrent writers wait, not fail.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }

# psycopg's connection pool (Django's OPTIONS["pool"]) on PostgreSQL: at most this many
# connections per gunicorn worker process (0: no pool, one connection kept per
# worker for DATABASE_CONN_MAX_AGE seconds). See README, "Running more than one node".
DATABASE_POOL_SIZE = env_int("DATABASE_POOL_SIZE", 0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and DATABASE_POOL_SIZE:
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool keeps the connections
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": DATABASE_POOL_SIZE,
        "timeout": 10,
    }

# Rendered public pages for anonymous visitors, kept in the default cache under the
# content version (articles.caching): off only to measure or debug.
PAGE_CACHE = env_bool("PAGE_CACHE", True)
# Front caches (Varnish with xkey, deploy/varnish/) that the app purges by surrogate
# key after content changes: base URLs such as http://127.0.0.1:6081. Empty: none.
FRONT_CACHES = env_list("FRONT_CACHES")
# Seconds after which each purge is sent again (articles.purge): longer than the
# slowest page takes to render, so a fetch in flight during the first purge cannot
# keep an old page. 0: one purge only.
FRONT_CACHE_REPURGE_DELAY = env_int("FRONT_CACHE_REPURGE_DELAY", 10)
# bench/http.sh only: serves /bench/hello/, the framework's ceiling to compare against.
BENCH_HELLO = env_bool("BENCH_HELLO", False)

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "helpcentre"),
        }
    }
else:
    # Files in one folder, shared by every worker of this node: the content version
    # (articles.caching) must be the same in all of them, or an editor's save would
    # reach only the worker that made it. More than one node needs REDIS_URL.
    # Rendered pages live here too: room for a site's worth.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            # One folder per database, so two sites on one machine (make run, a bench)
            # never read each other's content version or pages.
            "LOCATION": env_str(
                "CACHE_DIR",
                str(BASE_DIR / ".cache" / hashlib.sha256(_database_url.encode()).hexdigest()[:12]),
            ),
            "OPTIONS": {"MAX_ENTRIES": 5000},
        }
    }
# Counters that every worker and node must share (feedback limits): Redis when
# there is one, else a table in the database (`manage.py createcachetable`).
# Kept apart from "default" so busy search suggestions never evict them.
if REDIS_URL:
    CACHES["limits"] = {
        **CACHES["default"],
        "KEY_PREFIX": CACHES["default"]["KEY_PREFIX"] + "-limits",
    }
else:
    CACHES["limits"] = {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "helpcentre_limits_cache",
        # Past MAX_ENTRIES the table is culled, which would reset visitors' counts.
        "OPTIONS": {"MAX_ENTRIES": 100_000},
    }

# How many reverse proxies of ours stand in front of Django and append to
# X-Forwarded-For (articles.clientip). 0: the header is ignored.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)

# `manage.py purge_feedback` deletes citizens' comments older than this.
FEEDBACK_COMMENT_RETENTION_DAYS = env_int("FEEDBACK_COMMENT_RETENTION_DAYS", 180)
# `manage.py purge_search_records` deletes recorded searches older than this (insights).
SEARCH_RECORD_RETENTION_DAYS = env_int("SEARCH_RECORD_RETENTION_DAYS", 90)

# Reviews: "Mark as reviewed" moves a guide's review date this many days on
# (articles.workflow.mark_reviewed); `manage.py send_review_reminders` e-mails the
# owners of guides whose date has come.
REVIEW_INTERVAL_DAYS = env_int("REVIEW_INTERVAL_DAYS", 365)
if REVIEW_INTERVAL_DAYS < 1:
    raise ImproperlyConfigured("REVIEW_INTERVAL_DAYS must be at least 1.")

# E-mail (review reminders). By default messages are printed to standard output
# (the console backend: nothing is sent, no server needed); EMAIL_BACKEND=smtp sends
# them through EMAIL_HOST. A dotted path names any other Django e-mail backend.
EMAIL_BACKENDS = {
    "console": "django.core.mail.backends.console.EmailBackend",
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
}
_email_backend = env_str("EMAIL_BACKEND", "console")
EMAIL_BACKEND = EMAIL_BACKENDS.get(_email_backend, _email_backend)
if "." not in EMAIL_BACKEND:
    raise ImproperlyConfigured(
        f"EMAIL_BACKEND must be console, smtp or a dotted path, not {_email_backend!r}"
    )
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)  # implicit TLS (port 465)
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", not EMAIL_USE_SSL)  # STARTTLS (port 587)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("Set EMAIL_USE_TLS or EMAIL_USE_SSL, not both.")
EMAIL_PORT = env_int("EMAIL_PORT", 465 if EMAIL_USE_SSL else 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)  # seconds: a stuck server never hangs a cron run
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "help-centre@localhost")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out client or username before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Languages of the site and its guides. Adding one here (with its message catalogue in
# locale/ and `makemigrations` for the translated names of topics and laws) is all a
# new language needs. The first is the language that untranslated names fall back to.
LANGUAGES = [
    ("en", "English"),
    ("zh-hans", "简体中文"),
]
# The language of "/" when neither the visitor's cookie nor their browser names one of ours.
LANGUAGE_CODE = env_str("DEFAULT_LANGUAGE", "en")
if LANGUAGE_CODE not in dict(LANGUAGES):
    raise ImproperlyConfigured(f"DEFAULT_LANGUAGE must be one of {', '.join(dict(LANGUAGES))}.")
LOCALE_PATHS = [BASE_DIR / "locale"]
# Remembers the language a visitor chose with the switcher, for "/" (a year; no tracking).
LANGUAGE_COOKIE_AGE = 365 * 24 * 60 * 60
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# Static files serve our own pages only (Cross-Origin-Resource-Policy: same-origin);
# WhiteNoise would otherwise add Access-Control-Allow-Origin: * to each.
WHITENOISE_ALLOW_ALL_ORIGINS = False

TAGGIT_CASE_INSENSITIVE = True

SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Cross-Origin-Opener-Policy: same-origin is Django's default (SecurityMiddleware).
X_FRAME_OPTIONS = "DENY"
# Our 403 page, not Django's built-in one with its inline <style>.
CSRF_FAILURE_VIEW = "articles.security.csrf_failure"

# SECURE_COOKIES=true says the site is served over HTTPS (directly or behind our proxy).
SERVED_OVER_HTTPS = env_bool("SECURE_COOKIES", False)
SESSION_COOKIE_SECURE = SERVED_OVER_HTTPS
CSRF_COOKIE_SECURE = SERVED_OVER_HTTPS
LANGUAGE_COOKIE_SECURE = SERVED_OVER_HTTPS
if SERVED_OVER_HTTPS:
    # __Host- cookies are refused by browsers unless Secure, Path=/ and without a
    # Domain, so no other host or plain-HTTP page can set or shadow them.
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = 365 * 24 * 60 * 60
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    if TRUSTED_PROXY_COUNT > 0:
        # Our proxy terminates TLS and must overwrite this header on every request;
        # without a trusted proxy a client could send it, so it is not read.
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# HSTS preloading binds the whole registrable domain and is slow to undo, so it is
# the domain owner's decision: HSTS_PRELOAD=true once they have made it. Until then
# check --deploy's reminder (security.W021) is silenced, as a choice, not a defect.
SECURE_HSTS_PRELOAD = env_bool("HSTS_PRELOAD", False)
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]

# django-csp 4: one enforced policy on every response, static files and error pages
# included. Nothing inline: scripts and styles come from our own static files.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        # django-reversion-compare's history list hides one radio button with
        # style="visibility:hidden"; this hash admits that exact attribute and no other.
        "style-src-attr": [UNSAFE_HASHES, "'sha256-I/4Jcdrg5KNFrU0X4p2nNmjeGh9aI+9ac0cUllI5SwY='"],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}

# Features no page of ours uses, denied to every page and anything it might embed.
PERMISSIONS_POLICY_DENIED_FEATURES = [
    "accelerometer",
    "autoplay",
    "browsing-topics",
    "camera",
    "display-capture",
    "encrypted-media",
    "geolocation",
    "gyroscope",
    "hid",
    "magnetometer",
    "microphone",
    "midi",
    "payment",
    "picture-in-picture",
    "publickey-credentials-get",
    "screen-wake-lock",
    "serial",
    "usb",
    "xr-spatial-tracking",
]

# /.well-known/security.txt (RFC 9116). Without a contact the file is not served.
SECURITY_CONTACT = env_str("SECURITY_CONTACT")
# A fixed expiry date, or else the file always expires 180 days ahead.
SECURITY_TXT_EXPIRES = env_datetime("SECURITY_TXT_EXPIRES")

# django-axes: throttled sign-in. Failures are counted per username and, separately,
# per client (the list means "either"), so one account attacked from many addresses
# and one address trying many accounts are both stopped. Rows live in the database,
# shared by every worker and node.
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_FAILURE_LIMIT = 10
# Counted failures expire 15 minutes after the latest one: a pause, never a
# permanent lock (`manage.py axes_reset_username NAME` lifts one at once).
AXES_COOLOFF_TIME = timedelta(minutes=15)
# The client as our trusted proxies report it; IPv6 counted per /64.
AXES_CLIENT_IP_CALLABLE = "articles.clientip.client_key"
AXES_LOCKOUT_CALLABLE = "articles.security.lockout_response"
# Logs show the client address of each failure and lockout; usernames stay out of
# the log (people type passwords there) and are in the admin's Access attempts.
AXES_SENSITIVE_PARAMETERS = ["username"]

SITE_NAME = env_str("SITE_NAME", "Citizens' Help Centre")
# The name in each other language: SITE_NAME_ZH_HANS, … (SITE_NAME where unset).
SITE_NAME_DEFAULTS = {"zh-hans": "市民办事指南中心"}
SITE_NAMES = {
    code: env_str(f"SITE_NAME_{code.upper().replace('-', '_')}", SITE_NAME_DEFAULTS.get(code, ""))
    for code, _name in LANGUAGES[1:]
}
# The public origin: canonical links, sitemaps, feeds and structured data use it.
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
# django.contrib.sites (needed by redirects and sitemaps) is kept in step with
# SITE_URL after every migrate (articles.apps).
SITE_ID = 1

# Link checks (insights/links.py: `manage.py check_links`, the guides' "Check links"
# action). Links to SITE_URL's host are answered in-process; others are fetched.
# False: other sites' links are saved as "not checked" (no network used).
LINK_CHECK_EXTERNAL = env_bool("LINK_CHECK_EXTERNAL", True)
LINK_CHECK_TIMEOUT = env_int("LINK_CHECK_TIMEOUT", 10)  # seconds per request
LINK_CHECK_CONCURRENCY = env_int("LINK_CHECK_CONCURRENCY", 4)  # requests at once
LINK_CHECK_DEADLINE = env_int("LINK_CHECK_DEADLINE", 600)  # seconds for a command run
# The admin action checks while the editor waits: stay under gunicorn's 30 s timeout.
LINK_CHECK_ACTION_DEADLINE = env_int("LINK_CHECK_ACTION_DEADLINE", 20)
# Fetch links whose host resolves to a private, loopback or link-local address.
# Off: an editor's link must not make the server probe our own network (SSRF).
LINK_CHECK_ALLOW_PRIVATE = env_bool("LINK_CHECK_ALLOW_PRIVATE", False)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"client": {"()": "articles.security.ClientAddressFilter"}},
    "formatters": {
        "plain": {"format": "%(levelname)s %(name)s client=%(client)s %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["client"],
            "formatter": "plain",
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # Its start-up banner on every process start says nothing new; failures and
        # lockouts (WARNING) still show.
        "axes.apps": {"level": "WARNING"},
    },
}
