from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def sync_site(sender, using="default", **kwargs):
    """Keep django.contrib.sites' row (used by redirects and sitemaps) in step with
    SITE_URL and SITE_NAME, so the settings stay the one place to change them."""
    from urllib.parse import urlsplit

    from django.conf import settings
    from django.contrib.sites.models import Site

    Site.objects.using(using).update_or_create(
        pk=settings.SITE_ID,
        defaults={"domain": urlsplit(settings.SITE_URL).netloc, "name": settings.SITE_NAME},
    )


class ArticlesConfig(AppConfig):
    name = "articles"
    verbose_name = _("Guides")

    def ready(self):
        from . import signals  # noqa: F401

        post_migrate.connect(sync_site, sender=self)
