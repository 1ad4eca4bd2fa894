"""The reports, each in its own module (searches, helpfulness, links)."""

from . import admin_helpfulness, admin_links, admin_searches  # noqa: F401
