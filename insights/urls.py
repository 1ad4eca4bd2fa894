"""Public addresses of insights, outside the language prefix: what they record does
not depend on the page's language (the record has it already)."""

from django.urls import path

from . import views

app_name = "insights"

urlpatterns = [
    path("search-opened/<str:token>/", views.search_opened, name="search-opened"),
    # Without a token: answered here (404), not sent on to /en/ as an old address would be.
    path("search-opened/", views.search_opened, {"token": ""}),
]
