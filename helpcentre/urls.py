from django.contrib import admin
from django.contrib.sitemaps import views as sitemap_views
from django.urls import include, path

from articles.sitemaps import SITEMAPS
from articles.views import preview, robots_txt, shared_preview
from articles.wellknown import security_txt

admin.site.site_header = "Help centre administration"
admin.site.site_title = "Help centre admin"
handler500 = "articles.middleware.server_error"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("robots.txt", robots_txt),
    path(".well-known/security.txt", security_txt, name="security-txt"),
    path("preview/<int:pk>/", preview, name="preview"),
    path("preview/shared/<str:token>/", shared_preview, name="preview-shared"),
    path(
        "sitemap.xml",
        sitemap_views.index,
        {"sitemaps": SITEMAPS, "sitemap_url_name": "sitemap-section"},
        name="sitemap-index",
    ),
    path(
        "sitemap-<section>.xml",
        sitemap_views.sitemap,
        {"sitemaps": SITEMAPS},
        name="sitemap-section",
    ),
    # Last: category and guide pages live at the top level, /<category>/<guide>/.
    path("", include("articles.urls")),
]
