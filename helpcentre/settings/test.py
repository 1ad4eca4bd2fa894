"""Settings for the test suite: the base settings with a fixed key and fast hashing.

DATABASE_URL and REDIS_URL still come from the environment, so the same suite
runs on SQLite + local memory and on PostgreSQL + Redis.
"""

import atexit
import os
import shutil
import tempfile

os.environ.setdefault("SECRET_KEY", "tests-only-not-secret")

from .base import *  # noqa: F403
from .base import BASE_DIR, CACHES, DATABASES

DEBUG = False
SITE_URL = "http://testserver"
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Each run gets its own key space on a shared Redis, or its own folder of files.
CACHES["default"]["KEY_PREFIX"] = f"helpcentre-test-{os.getpid()}"
if CACHES["default"]["BACKEND"].endswith("FileBasedCache"):
    CACHES["default"]["LOCATION"] = tempfile.mkdtemp(prefix="helpcentre-test-cache-")
    atexit.register(shutil.rmtree, CACHES["default"]["LOCATION"], ignore_errors=True)
if CACHES["limits"]["BACKEND"].endswith("RedisCache"):
    CACHES["limits"]["KEY_PREFIX"] = CACHES["default"]["KEY_PREFIX"] + "-limits"

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not shared-cache memory: concurrency tests then see real WAL locking
    # and busy timeouts, as gunicorn workers do.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / f".test-db-{os.getpid()}.sqlite3")}
