"""The demo content is the seed page, structured and rendered, in English and in
Simplified Chinese."""

import re
from http import HTTPStatus
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import translation
from taggit.models import Tag, TaggedItem

from articles.models import (
    MAX_ADDRESS_LENGTH,
    Article,
    Category,
    Citation,
    Law,
    RelatedLink,
    SearchDocument,
    Section,
)
from articles.search import search
from tests.helpers import SEED_SLUG, SEED_TITLE

pytestmark = pytest.mark.django_db

# The demo guides of each language: the seed, its previous and next guides and its
# ten related guides.
GUIDES_PER_LANGUAGE = 13
ZH_SEED_SLUG = "支付宝医保卡激活"
ZH_SEED_TITLE = "支付宝医保卡怎么激活"
ARTICLE_23 = (
    "职工应当参加职工基本医疗保险，由用人单位和职工按照国家规定共同缴纳基本医疗保险费。\n\n"
    "无雇工的个体工商户、未在用人单位参加职工基本医疗保险的非全日制从业人员以及其他灵活就业人员"
    "可以参加职工基本医疗保险，由个人按照国家规定缴纳基本医疗保险费。"
)
ARTICLE_24 = "国家建立和完善新型农村合作医疗制度。\n\n新型农村合作医疗的管理办法，由国务院规定。"


@pytest.fixture
def zh_seed(demo) -> Article:
    return Article.objects.get(slug=ZH_SEED_SLUG)


def _counts():
    models = [Article, Category, Section, Citation, RelatedLink, Tag, TaggedItem]
    return {model.__name__: model.objects.count() for model in models}


def _section_items(html, kind):
    match = re.search(rf'class="section section--{kind}".*?</section>', html, re.S)
    assert match, kind
    return re.findall(r"<li>", match.group(0))


def _page(client, article) -> str:
    response = client.get(article.get_absolute_url())
    assert response.status_code == HTTPStatus.OK
    return response.content.decode()


def test_seed_article_renders_all_its_parts(client, demo):
    html = _page(client, demo)
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


def test_the_chinese_seed_has_the_same_sections_in_the_same_order(demo, zh_seed):
    assert zh_seed.title == ZH_SEED_TITLE
    assert zh_seed.translation_group == demo.translation_group
    assert (zh_seed.language, zh_seed.translated_from) == ("zh-hans", "en")
    english = list(demo.sections.values_list("kind", flat=True))
    assert list(zh_seed.sections.values_list("kind", flat=True)) == english
    assert english == ["steps", "ways", "procedure", "question"]
    for en, zh in zip(demo.sections.all(), zh_seed.sections.all(), strict=True):
        # Numbered lists keep their number of items.
        assert len(re.findall(r"^\d+\. ", zh.body, re.M)) == len(
            re.findall(r"^\d+\. ", en.body, re.M)
        )
    assert zh_seed.sections.get(kind="procedure").heading == "医保卡怎么办理？"
    assert [c.provision_id for c in zh_seed.citations.all()] == [
        c.provision_id for c in demo.citations.all()
    ]
    assert set(zh_seed.tags.names()) >= {"医保卡", "支付宝", "社保卡"}


def test_chinese_seed_page_renders_all_its_parts(client, zh_seed):
    html = _page(client, zh_seed)
    assert f"<h1>{ZH_SEED_TITLE}</h1>" in html
    assert len(_section_items(html, "steps")) == 8
    assert len(_section_items(html, "ways")) == 4
    assert len(_section_items(html, "procedure")) == 4
    assert "医保卡怎么办理？" in html
    assert "第二十三条" in html and "第二十四条" in html
    assert "国家建立和完善新型农村合作医疗制度。" in html
    assert "职工调动养老保险怎么办？" in html
    assert "2022四川社保缴费新规定" in html
    related = re.search(r'<aside class="related".*?</aside>', html, re.S).group(0)
    assert related.count("<li>") == 10
    # Every link of the guide leads to a Chinese page.
    assert "/en/" not in related


def test_every_chinese_guide_is_an_up_to_date_translation_linked_to_chinese_guides(demo):
    chinese = Article.objects.filter(language="zh-hans").select_related(
        "previous_article", "next_article"
    )
    assert chinese.count() == GUIDES_PER_LANGUAGE
    english = {a.translation_group: a for a in Article.objects.filter(language="en")}
    assert len(english) == GUIDES_PER_LANGUAGE
    for guide in chinese:
        source = english[guide.translation_group]
        assert guide.is_published() and guide.translated_from == "en"
        assert guide.major_change_at is not None and source.major_change_at is not None
        assert guide.source_change_followed == source.major_change_at, guide.slug
        assert guide.category_id == source.category_id
        assert guide.tags.exists() and all(
            re.search(r"[\u4e00-\u9fff]", name) for name in guide.tags.names()
        )
        assert guide.sections.exists()
        assert re.fullmatch(r"[\w-]+", guide.slug) and re.search(r"[\u4e00-\u9fff]", guide.slug)
        # The address is within what a redirect can hold, encoded.
        assert len(guide.get_absolute_url()) <= MAX_ADDRESS_LENGTH
        guide.full_clean()
        links = [guide.previous_article, guide.next_article, *guide.related.all()]
        assert all(link.language == "zh-hans" for link in links if link is not None)
    seed = Article.objects.get(slug=ZH_SEED_SLUG)

    def related_groups(article):
        links = article.related_links.select_related("to_article")
        return [link.to_article.translation_group for link in links]

    assert len(related_groups(seed)) == 10
    assert related_groups(seed) == related_groups(demo)
    assert seed.previous_article.translation_group == demo.previous_article.translation_group
    assert seed.next_article.translation_group == demo.next_article.translation_group


def test_topics_and_the_law_have_chinese_names(demo):
    for category in Category.objects.all():
        assert category.name_zh_hans and category.description_zh_hans
    law = Law.objects.get()
    assert law.name_zh_hans == "中华人民共和国社会保险法"
    assert law.short_name_zh_hans == "社会保险法"
    assert law.authoritative_language == "zh-hans"
    provisions = list(law.provisions.order_by("position"))
    assert [p.label_zh_hans for p in provisions] == ["第二十三条", "第二十四条"]
    assert [p.text_zh_hans for p in provisions] == [ARTICLE_23, ARTICLE_24]
    with translation.override("zh-hans"):
        assert str(provisions[0]) == "第二十三条, 社会保险法"
    with translation.override("en"):
        assert str(provisions[0]) == "Article 23, Social Insurance Law"


def test_both_languages_are_in_the_search_index(demo, zh_seed):
    assert SearchDocument.objects.count() == 2 * GUIDES_PER_LANGUAGE
    with translation.override("en"):
        _, results = search("activate medical insurance card")
        assert [hit.article.slug for hit in results[0:1]] == [SEED_SLUG]
    with translation.override("zh-hans"):
        _, results = search("支付宝医保卡激活")
        assert ZH_SEED_SLUG in [hit.article.slug for hit in results[0:3]]
    indexed = SearchDocument.objects.get(article=zh_seed)
    assert "智慧人社" in indexed.body and "新型农村合作医疗" in indexed.body


def test_loading_twice_duplicates_nothing(demo):
    before = _counts()
    call_command("load_demo_content", verbosity=0)
    assert _counts() == before
    assert before["Article"] == 2 * GUIDES_PER_LANGUAGE
    assert {code for code, _name in settings.LANGUAGES} == set(
        Article.objects.values_list("language", flat=True)
    )


def test_if_empty_leaves_existing_content_alone(demo):
    Article.objects.filter(pk=demo.pk).update(title="Edited by an editor")
    before = _counts()
    out = StringIO()
    call_command("load_demo_content", "--if-empty", stdout=out)
    assert "not loaded" in out.getvalue()
    assert Article.objects.get(pk=demo.pk).title == "Edited by an editor"
    assert _counts() == before


def test_if_empty_loads_both_languages_into_an_empty_database(db):
    out = StringIO()
    call_command("load_demo_content", "--if-empty", stdout=out)
    assert "Demo content loaded." in out.getvalue()
    assert Article.objects.filter(language="en").count() == GUIDES_PER_LANGUAGE
    assert Article.objects.filter(language="zh-hans").count() == GUIDES_PER_LANGUAGE


def test_every_demo_page_answers(client, demo):
    articles = list(Article.objects.select_related("category"))
    assert len(articles) == 2 * GUIDES_PER_LANGUAGE
    for article in articles:
        url = article.get_absolute_url()
        assert client.get(url).status_code == HTTPStatus.OK, url
    for category in Category.objects.all():
        for code, _name in settings.LANGUAGES:
            with translation.override(code):
                url = category.get_absolute_url()
            assert client.get(url).status_code == HTTPStatus.OK, url
