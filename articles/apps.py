from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def sync_site(sender, apps=None, using="default", **kwargs):
    """Keep django.contrib.sites' row (used by redirects and sitemaps) in step with
    SITE_URL and SITE_NAME, so the settings stay the one place to change them."""
    from urllib.parse import urlsplit

    from django.apps import apps as global_apps
    from django.conf import settings

    try:
        # The migrated state, as Django's own create_default_site reads it: after a
        # partial migrate the sites table may not exist yet. (flush sends no state.)
        Site = (apps or global_apps).get_model("sites", "Site")
    except LookupError:
        return
    Site.objects.using(using).update_or_create(
        pk=settings.SITE_ID,
        defaults={"domain": urlsplit(settings.SITE_URL).netloc, "name": settings.SITE_NAME},
    )


class ArticlesConfig(AppConfig):
    name = "articles"
    verbose_name = _("Guides")

    def ready(self):
        from . import signals  # noqa: F401
        from .versioning import register_models

        register_models()

        post_migrate.connect(sync_site, sender=self)
