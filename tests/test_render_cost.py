"""The guide page's parts are cached under the content version (articles.views.
_render_guide): a request at the same version reuses them, exactly; any change makes
them again. The whole-page cache is off here, so every request reaches the view."""

import pytest

from tests.factories import link_related, make_article, make_section, make_translation

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_page_cache(settings):
    settings.PAGE_CACHE = False


def test_same_version_same_page_and_surrogate_keys(client):
    guide = make_article(tags=["cards"])
    make_section(guide, heading="Steps", body="1. Open the app")
    link_related(guide, make_article())
    make_translation(guide)
    first, second = client.get(guide.get_absolute_url()), client.get(guide.get_absolute_url())
    assert first.content == second.content
    assert first.get("xkey") == second.get("xkey")


def test_changes_to_what_the_page_shows_appear_at_once(client):
    guide = make_article(tags=["cards"])
    section = make_section(guide, heading="Steps", body="1. Open the app")
    other = make_article(tags=["cards"], title="Renew a card")
    url = guide.get_absolute_url()
    html = client.get(url).content.decode()
    assert "Open the app" in html and "Renew a card" in html
    section.body = "1. Open the new app"
    section.save()
    other.title = "Replace a card"
    other.save()
    html = client.get(url).content.decode()
    assert "Open the new app" in html and "Replace a card" in html


def test_previews_are_never_served_from_the_cache(admin_client, client):
    guide = make_article()
    make_section(guide, heading="Steps", body="1. Open the app")
    client.get(guide.get_absolute_url())
    html = admin_client.get(f"/preview/{guide.pk}/").content.decode()
    assert "preview-banner" in html and "feedback__form" not in html
