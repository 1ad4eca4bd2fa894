"""The demo content is the seed page, structured and rendered."""

import re
from http import HTTPStatus
from io import StringIO

import pytest
from django.core.management import call_command
from taggit.models import Tag, TaggedItem

from articles.models import Article, Category, Citation, RelatedLink, Section
from tests.helpers import DEMO_GUIDES, SEED_TITLE, SEED_URL

pytestmark = pytest.mark.django_db


def _counts():
    models = [Article, Category, Section, Citation, RelatedLink, Tag, TaggedItem]
    return {model.__name__: model.objects.count() for model in models}


def _section_items(html, kind):
    match = re.search(rf'class="section section--{kind}".*?</section>', html, re.S)
    assert match, kind
    return re.findall(r"<li>", match.group(0))


def test_seed_article_renders_all_its_parts(client, demo):
    response = client.get(SEED_URL)
    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    assert f"<h1>{SEED_TITLE}</h1>" in html
    assert len(_section_items(html, "steps")) == 8
    assert len(_section_items(html, "ways")) == 4
    assert len(_section_items(html, "procedure")) == 4
    assert "How to handle the medical insurance card?" in html
    assert "Article 23" in html and "Article 24" in html
    assert "new rural cooperative medical system" in html
    assert "What about employee transfer pension insurance?" in html
    assert "Sichuan social security payment new regulations 2022" in html
    related = re.search(r'<aside class="related".*?</aside>', html, re.S).group(0)
    assert related.count("<li>") == 10


def test_loading_twice_duplicates_nothing(demo):
    before = _counts()
    call_command("load_demo_content", verbosity=0)
    assert _counts() == before
    assert before["Article"] == DEMO_GUIDES


def test_if_empty_leaves_existing_content_alone(demo):
    Article.objects.filter(pk=demo.pk).update(title="Edited by an editor")
    before = _counts()
    out = StringIO()
    call_command("load_demo_content", "--if-empty", stdout=out)
    assert "not loaded" in out.getvalue()
    assert Article.objects.get(pk=demo.pk).title == "Edited by an editor"
    assert _counts() == before


def test_every_demo_page_answers(client, demo):
    articles = list(Article.objects.select_related("category"))
    categories = list(Category.objects.all())
    assert len(articles) == DEMO_GUIDES and categories
    for page in articles + categories:
        url = page.get_absolute_url()
        assert client.get(url).status_code == HTTPStatus.OK, url
