from django.urls import path

from . import views

app_name = "articles"

urlpatterns = [
    path("", views.home, name="home"),
    path("search/", views.search, name="search"),
    path("search/suggest/", views.search_suggestions, name="search-suggest"),
    path("tags/<slug:slug>/", views.TagView.as_view(), name="tag"),
    path("laws/", views.LawListView.as_view(), name="law-list"),
    path("laws/<slug:slug>/", views.law_detail, name="law"),
    path("<slug:slug>/", views.CategoryView.as_view(), name="category"),
    path("<slug:category>/<slug:slug>/", views.article_detail, name="article"),
]
