"""manage.py generate_guides N: synthetic published guides for load tests and search
benchmarks, with sections, tags and citations, findable at once."""

import re
from http import HTTPStatus
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from taggit.models import Tag

from articles.models import Article, Category, Law, SearchDocument, Section
from articles.search import search

pytestmark = pytest.mark.django_db

N = 20


def generate(*args) -> str:
    out = StringIO()
    call_command("generate_guides", *[str(arg) for arg in args], stdout=out)
    return out.getvalue()


def synthetic():
    return Article.objects.filter(tags__slug="synthetic")


def found(query) -> set[int]:
    _, results = search(query)
    return {hit.article.pk for hit in results[0:1000]}


def test_it_creates_published_guides_with_sections_tags_and_citations():
    out = generate(N)

    assert f"Created {N} guides" in out
    guides = list(synthetic().prefetch_related("sections", "tags", "citations"))
    assert len(guides) == Article.objects.count() == N
    assert Article.objects.published().count() == N
    for guide in guides:
        assert guide.slug.startswith("synthetic-") and guide.summary
        sections = list(guide.sections.all())
        assert 2 <= len(sections) <= 4, guide.slug
        assert [s.position for s in sections] == list(range(1, len(sections) + 1))
        assert sections[0].kind == Section.Kind.STEPS and "<ol>" in sections[0].body_html
        assert all(s.heading and s.body and s.body_html for s in sections)
        tags = set(guide.tags.names())
        assert "synthetic" in tags and 3 <= len(tags) <= 5, tags
        assert len(guide.citations.all()) <= 2
    assert sum(len(guide.citations.all()) for guide in guides) > 0


def test_the_guides_are_searchable_at_once(client):
    generate(N)

    guides = set(synthetic().values_list("pk", flat=True))
    assert found("synthetic") == guides
    guide = synthetic().prefetch_related("sections").first()
    assert guide.pk in found(guide.title)
    assert guide.pk in found(guide.sections.all()[0].body)
    response = client.get("/en/search/", {"q": "synthetic"})
    assert response.status_code == HTTPStatus.OK
    assert f"{N} results" in response.content.decode()


def test_running_it_again_adds_as_many_guides_without_slug_clashes():
    generate(N)
    first = set(synthetic().values_list("slug", flat=True))
    shared = Category.objects.count(), Law.objects.count(), Tag.objects.count()

    # The same seed, so the same titles again; batches of 7 cover a partial last one.
    out = generate(N, "--batch-size", 7)

    assert f"Created {N} guides" in out
    slugs = list(synthetic().values_list("slug", flat=True))
    assert len(slugs) == len(set(slugs)) == 2 * N
    assert first < set(slugs)
    assert (Category.objects.count(), Law.objects.count(), Tag.objects.count()) == shared
    assert len(found("synthetic")) == 2 * N


@pytest.mark.parametrize("count", [0, -3, 2_000_001])
def test_a_count_out_of_range_is_refused_with_a_clear_error(count):
    with pytest.raises(CommandError, match=r"^count must be between 1 and 2,000,000$"):
        generate(count)
    assert not Article.objects.exists()


def test_a_count_that_is_not_a_number_is_refused_with_a_clear_error():
    with pytest.raises(CommandError, match="argument count: invalid int value: 'many'"):
        generate("many")
    assert not Article.objects.exists()


def test_chinese_guides_are_written_in_chinese_and_found_by_chinese_queries():
    out = generate(N, "--language", "zh-hans")

    assert f"Created {N} guides" in out
    guides = list(synthetic().prefetch_related("sections", "tags", "citations"))
    assert len(guides) == N and {guide.language for guide in guides} == {"zh-hans"}
    cjk = re.compile(r"[\u4e00-\u9fff]")
    for guide in guides:
        assert cjk.search(guide.title) and cjk.search(guide.summary), guide.title
        assert all(cjk.search(s.heading) and cjk.search(s.body) for s in guide.sections.all())
        assert {tag for tag in guide.tags.names() if not cjk.search(tag)} == {"synthetic"}
        assert guide.translated_from == ""
    guide = guides[0]
    _, results = search(guide.title, language="zh-hans")
    assert guide.pk in {hit.article.pk for hit in results[0:1000]}
    _, results = search(guide.title, language="en")
    assert results.count() == 0
    cited = SearchDocument.objects.filter(keywords__contains="公共服务法")
    assert cited.exists() and not cited.filter(keywords__contains="Public Services").exists()


def test_both_languages_make_each_guide_twice_in_one_translation_group():
    out = generate(N, "--both", "--batch-size", 7)

    assert f"Created {N} guides, each in en and zh-hans, in " in out
    guides = list(synthetic().prefetch_related("sections", "citations"))
    assert len(guides) == 2 * N and len({guide.slug for guide in guides}) == 2 * N
    groups = {}
    for guide in guides:
        groups.setdefault(guide.translation_group, {})[guide.language] = guide
    assert len(groups) == N
    for versions in groups.values():
        english, chinese = versions["en"], versions["zh-hans"]
        assert chinese.translated_from == "en" and english.translated_from == ""
        assert (chinese.category_id, chinese.published_at) == (
            english.category_id,
            english.published_at,
        )
        assert [s.kind for s in chinese.sections.all()] == [s.kind for s in english.sections.all()]
        assert [c.provision_id for c in chinese.citations.all()] == [
            c.provision_id for c in english.citations.all()
        ]
    assert SearchDocument.objects.filter(language="zh-hans").count() == N


def test_an_unknown_language_is_refused():
    with pytest.raises(CommandError, match="invalid choice: 'fr'"):
        generate(N, "--language", "fr")
    assert not Article.objects.exists()
