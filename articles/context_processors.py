from django.utils import translation

from . import seo


def site(request):
    """What base.html needs on every page, error pages included (which have no PageMeta)."""
    return {
        "site_name": seo.site_name(),
        "html_lang": seo.bcp47(translation.get_language()),
        # Called only when a page has no PageMeta of its own.
        "default_switcher": lambda: seo.PageMeta("", "", "").switcher(),
    }
