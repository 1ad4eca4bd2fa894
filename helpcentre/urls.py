from django.conf import settings
from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.http import HttpResponse
from django.urls import include, path
from django.utils.translation import gettext_lazy

from articles import sitemaps
from articles.sitemaps import SITEMAPS
from articles.views import choose_language, language_home, preview, robots_txt, shared_preview
from articles.wellknown import security_txt

admin.site.site_header = gettext_lazy("Help centre administration")
admin.site.site_title = gettext_lazy("Help centre admin")
handler500 = "articles.middleware.server_error"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("robots.txt", robots_txt),
    path(".well-known/security.txt", security_txt, name="security-txt"),
    path("preview/<int:pk>/", preview, name="preview"),
    path("preview/shared/<str:token>/", shared_preview, name="preview-shared"),
    path(
        "sitemap.xml",
        sitemaps.index,
        {"sitemaps": SITEMAPS, "sitemap_url_name": "sitemap-section"},
        name="sitemap-index",
    ),
    path(
        "sitemap-<section>.xml",
        sitemaps.sitemap,
        {"sitemaps": SITEMAPS},
        name="sitemap-section",
    ),
    # "/" sends each visitor to their language's home page; the switcher sets the choice.
    path("", language_home, name="language-home"),
    path("language/<str:code>/", choose_language, name="choose-language"),
    path("", include("insights.urls")),
]
if settings.BENCH_HELLO:
    # The framework's ceiling for bench/http.sh: a view that only says hello.
    urlpatterns.append(path("bench/hello/", lambda request: HttpResponse("hello")))

# Every public page in each language: /en/…, /zh-hans/… (category and guide pages at
# /<language>/<category>/<guide>/). Old addresses without a prefix answer 301 to /en/
# (articles.middleware.LegacyAddressMiddleware).
urlpatterns += i18n_patterns(path("", include("articles.urls")))
