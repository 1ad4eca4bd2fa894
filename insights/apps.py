from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InsightsConfig(AppConfig):
    """What editors need to see beyond the guides themselves: what citizens search
    for, how helpful guides are, which links are broken, which guides are due for
    review. Kept apart from `articles` because it records visits (with its own
    retention rules) and only reads the content."""

    name = "insights"
    verbose_name = _("Insights")
