from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "Help centre administration"
admin.site.site_title = "Help centre admin"

urlpatterns = [
    path("admin/", admin.site.urls),
    # Last: category and guide pages live at the top level, /<category>/<guide>/.
    path("", include("articles.urls")),
]
