from django.urls import path, register_converter

from . import feeds, views


class UnicodeSlugConverter:
    """Slugs in any script, as django-taggit makes tag slugs and as guide slugs may be
    (社保, 激活医保卡): letters, digits, hyphens and underscores. Links carry them
    percent-encoded."""

    regex = r"[-\w]+"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(UnicodeSlugConverter, "tagslug")
register_converter(UnicodeSlugConverter, "guideslug")

app_name = "articles"

urlpatterns = [
    path("", views.home, name="home"),
    path("search/", views.search, name="search"),
    path("search/suggest/", views.search_suggestions, name="search-suggest"),
    path("feeds/latest.rss", feeds.LatestGuidesFeed(), name="feed-rss"),
    path("feeds/latest.atom", feeds.LatestGuidesAtomFeed(), name="feed-atom"),
    path("feeds/<slug:slug>.rss", feeds.CategoryFeed(), name="category-feed-rss"),
    path("feeds/<slug:slug>.atom", feeds.CategoryAtomFeed(), name="category-feed-atom"),
    # A guide's updates (its change notes), beside its page's address under feeds/;
    # the old address of a guide that moved leads to its new one (feeds.GuideUpdatesFeed).
    path(
        "feeds/<slug:category>/<guideslug:slug>/updates.atom",
        feeds.GuideUpdatesFeed(),
        name="guide-updates-feed",
    ),
    path("feedback/<guideslug:slug>/", views.feedback, name="feedback"),
    path("feedback/<guideslug:slug>/comment/", views.feedback_comment, name="feedback-comment"),
    path("tags/<tagslug:slug>/", views.tag, name="tag"),
    path("laws/", views.law_list, name="law-list"),
    path("laws/<slug:slug>/", views.law_detail, name="law"),
    path("<slug:slug>/", views.category, name="category"),
    path("<slug:category>/<guideslug:slug>/", views.article_detail, name="article"),
]
