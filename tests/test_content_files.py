"""Content as files: export, import, validation, and an exact round trip, in every
language."""

import difflib
from datetime import UTC, date, datetime
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.contrib.auth.models import User
from django.contrib.redirects.models import Redirect
from django.core.management import CommandError, call_command
from django.utils import translation
from taggit.models import Tag

from articles import workflow
from articles.models import (
    Article,
    Category,
    ChangeNote,
    Law,
    LegalProvision,
    RelatedLink,
    SearchDocument,
    Section,
)
from articles.search import search
from tests.helpers import SEED_SLUG, crawl

pytestmark = pytest.mark.django_db

# fixtures/demo.json and fixtures/demo-zh-hans.json: 13 guides in each language.
GUIDES_PER_LANGUAGE = 13
ALL_GUIDES = 2 * GUIDES_PER_LANGUAGE
ZH_SEED_SLUG = "支付宝医保卡激活"


@pytest.fixture
def importer():
    """The superuser `import_()` imports as."""
    return User.objects.create_superuser("importer", password="pw")


def export(tmp_path) -> Path:
    call_command("export_guides", str(tmp_path), verbosity=0)
    return tmp_path


def import_(directory, user="importer", *extra):
    out, err = StringIO(), StringIO()
    with translation.override("en"):  # the reports' language, whatever a page left active
        call_command(
            "import_guides", str(directory), "--user", user, *extra, stdout=out, stderr=err
        )
    return out.getvalue(), err.getvalue()


def refused_import(directory, user="importer") -> str:
    """Runs an import that must fail and change nothing; returns its report."""
    err = StringIO()
    with translation.override("en"), pytest.raises(CommandError, match="nothing was changed"):
        call_command("import_guides", str(directory), "--user", user, stdout=StringIO(), stderr=err)
    return err.getvalue()


def guides_in_database():
    """Guides, sections and topics as stored, to show that a refused import wrote nothing."""
    return [list(model.objects.order_by("pk").values()) for model in (Article, Section, Category)]


def content_by_slug():
    """Everything the demo content is, by slug rather than by primary key or group id:
    the guides with their languages and times, which versions belong together, their
    parts and links, and the topics' and law's texts in every language."""
    guides = {}
    for article in Article.objects.select_related("previous_article", "next_article"):
        fields = {
            name: getattr(article, name)
            for name in [
                "title",
                "summary",
                "status",
                "published_at",
                "created_at",
                "updated_at",
                "language",
                "translated_from",
                "major_change_at",
                "source_change_followed",
                "category_id",
            ]
        }
        fields["versions"] = sorted(
            Article.objects.filter(translation_group=article.translation_group).values_list(
                "slug", flat=True
            )
        )
        fields["previous"] = getattr(article.previous_article, "slug", None)
        fields["next"] = getattr(article.next_article, "slug", None)
        fields["related"] = [
            link.to_article.slug
            for link in RelatedLink.objects.filter(from_article=article).select_related(
                "to_article"
            )
        ]
        fields["sections"] = list(article.sections.values_list("kind", "heading", "body"))
        fields["citations"] = [
            (c.provision.law.slug, c.provision.label_en) for c in article.citations.all()
        ]
        fields["tags"] = sorted(article.tags.names())
        guides[article.slug] = fields
    categories = list(Category.objects.order_by("slug").values())
    for row in categories:
        row.pop("id")
    guides_by_category = {
        slug: Category.objects.get(pk=fields.pop("category_id")).slug
        for slug, fields in guides.items()
    }
    laws = [
        {
            **{k: v for k, v in law.items() if k != "id"},
            "provisions": [
                {k: v for k, v in p.items() if k not in {"id", "law_id"}}
                for p in LegalProvision.objects.filter(law_id=law["id"])
                .order_by("position")
                .values()
            ],
        }
        for law in Law.objects.order_by("slug").values()
    ]
    return guides, guides_by_category, categories, laws


def site_pages(client) -> dict[str, bytes]:
    pages = {}
    for code in ["en", "zh-hans"]:
        pages |= {path: client.get(path).content for path in crawl(client, f"/{code}/")}
    return pages


def test_export_writes_readable_files(demo, tmp_path):
    directory = export(tmp_path)
    seed = (directory / "guides" / f"{SEED_SLUG}.md").read_text()
    assert seed.startswith(
        "---\ntitle: How to activate Alipay medical insurance card\n"
        f"slug: {SEED_SLUG}\nlanguage: en\n"
    )
    assert "translation_of" not in seed and "translated_from" not in seed
    assert "major_change_at: '2025-03-18T09:00:00+00:00'" in seed
    assert "<!-- section: steps -->\n## How to activate the card in Alipay\n\n1. " in seed
    assert "- law: social-insurance-law\n  provision: Article 23" in seed
    assert "previous: what-about-employee-transfer-pension-insurance" in seed
    chinese = (directory / "guides" / f"{ZH_SEED_SLUG}.md").read_text()
    assert chinese.startswith(
        f"---\ntitle: 支付宝医保卡怎么激活\nslug: {ZH_SEED_SLUG}\nlanguage: zh-hans\n"
        f"translation_of: {SEED_SLUG}\ntranslated_from: en\n"
    )
    assert "source_change_followed: '2025-03-18T09:00:00+00:00'" in chinese
    assert "<!-- section: procedure -->\n## 医保卡怎么办理？\n\n" in chinese
    assert "- law: social-insurance-law\n  provision: Article 23" in chinese
    assert "previous: 职工调动养老保险\n" in chinese
    laws = (directory / "laws.yaml").read_text()
    assert "  - label:\n      en: Article 24\n      zh-hans: 第二十四条\n" in laws
    assert "authoritative_language: zh-hans" in laws
    categories = (directory / "categories.yaml").read_text()
    assert "- name:\n    en: Social security inquiry\n    zh-hans: 社保查询\n" in categories
    assert len(list((directory / "guides").glob("*.md"))) == ALL_GUIDES


def test_export_then_import_into_an_empty_database_reproduces_the_site(
    client, demo, tmp_path, importer
):
    before = site_pages(client)
    assert any(path.startswith("/zh-hans/") for path in before)
    assert len(before) > 40
    content = content_by_slug()
    directory = export(tmp_path)
    empty_the_site()
    out, _ = import_(directory)
    assert f"Imported {ALL_GUIDES} guides" in out
    assert content_by_slug() == content
    after = site_pages(client)
    assert after.keys() == before.keys()
    for path, page in before.items():
        after_page = after[path]
        if after_page != page:
            diff = difflib.unified_diff(
                page.decode().splitlines(), after_page.decode().splitlines(), lineterm="", n=0
            )
            raise AssertionError(path + "\n" + "\n".join(list(diff)[:20]))
    with translation.override("en"):
        _, results = search("activate medical insurance card")
        assert [hit.article.slug for hit in results[0:1]] == [SEED_SLUG]
    assert SearchDocument.objects.count() == ALL_GUIDES


def empty_the_site():
    Article.objects.all().delete()
    Redirect.objects.all().delete()  # deleting guides marked their addresses as gone
    LegalProvision.objects.all().delete()
    Law.objects.all().delete()
    Category.objects.all().delete()
    Tag.objects.all().delete()
    assert not SearchDocument.objects.exists()


def test_change_notes_and_the_last_review_go_with_the_guide(client, demo, tmp_path, importer):
    guide = Article.objects.get(slug=SEED_SLUG)
    ChangeNote.objects.create(
        article=guide, note="New fees from 1 July.", made_at=datetime(2026, 7, 1, 8, tzinfo=UTC)
    )
    ChangeNote.objects.create(
        article=guide, note="Office moved.", made_at=datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
    )
    Article.objects.filter(pk=guide.pk).update(reviewed_at=date(2026, 11, 20))
    page = client.get(guide.get_absolute_url()).content
    directory = export(tmp_path)
    text = (directory / "guides" / f"{SEED_SLUG}.md").read_text()
    assert text.index("New fees from 1 July.") < text.index("Office moved.")  # oldest first

    # Into an empty site: the guide comes back with what citizens were told.
    empty_the_site()
    import_(directory)
    guide = Article.objects.get(slug=SEED_SLUG)
    assert guide.reviewed_at == date(2026, 11, 20)
    assert [(n.note, n.made_at) for n in guide.change_notes.all()] == [
        ("Office moved.", datetime(2026, 11, 2, 9, 30, tzinfo=UTC)),
        ("New fees from 1 July.", datetime(2026, 7, 1, 8, tzinfo=UTC)),
    ]
    assert client.get(guide.get_absolute_url()).content == page

    # Into a site that has the guide: its own record stands.
    guide.change_notes.filter(note="Office moved.").delete()
    Article.objects.filter(pk=guide.pk).update(reviewed_at=date(2026, 11, 25))
    import_(directory)
    guide.refresh_from_db()
    assert guide.reviewed_at == date(2026, 11, 25)
    assert [n.note for n in guide.change_notes.all()] == ["New fees from 1 July."]


@pytest.mark.parametrize(
    ("updates", "message"),
    [
        ("updates: [Office moved]", "'updates' entries are mappings of 'at' and 'note'"),
        ("updates: [{at: yesterday, note: Office moved}]", "'at' must be an ISO date and time"),
        ("updates: [{at: '2026-11-02T09:30:00Z', note: ''}]", "'note' is text of 1 to 250"),
        ("reviewed_at: '2026-13-01'", "'reviewed_at' must be an ISO date"),
    ],
)
def test_malformed_updates_are_refused(demo, tmp_path, importer, updates, message):
    directory = export(tmp_path)
    path = directory / "guides" / f"{SEED_SLUG}.md"
    path.write_text(path.read_text().replace("\ntags:", f"\n{updates}\ntags:", 1))
    report = refused_import(directory)
    assert message in report and f"{SEED_SLUG}.md" in report


def test_export_then_import_changes_nothing(demo, tmp_path, importer):
    content = content_by_slug()
    import_(export(tmp_path))
    assert content_by_slug() == content


def test_import_updates_by_slug(demo, tmp_path, importer):
    directory = export(tmp_path)
    path = directory / "guides" / f"{SEED_SLUG}.md"
    path.write_text(path.read_text().replace("Open “Alipay”.", "Open the Alipay app."))
    chinese = directory / "guides" / f"{ZH_SEED_SLUG}.md"
    chinese.write_text(chinese.read_text().replace("打开“支付宝”。", "打开支付宝App。"))
    import_(directory)
    article = Article.objects.get(slug=SEED_SLUG)
    assert "Open the Alipay app." in article.sections.first().body
    assert "打开支付宝App。" in Article.objects.get(slug=ZH_SEED_SLUG).sections.first().body
    assert Article.objects.count() == ALL_GUIDES


def test_a_major_change_to_the_source_makes_its_translation_out_of_date(demo, tmp_path, importer):
    directory = export(tmp_path)
    path = directory / "guides" / f"{SEED_SLUG}.md"
    path.write_text(path.read_text().replace("Open “Alipay”.", "Open the Alipay app."))
    with time_machine.travel("2026-12-01T10:00:00Z", tick=False):
        import_(directory)
    english, chinese = (Article.objects.get(slug=s) for s in [SEED_SLUG, ZH_SEED_SLUG])
    assert english.major_change_at == datetime(2026, 12, 1, 10, tzinfo=UTC)
    # The Chinese file is unchanged: it still follows the earlier English text.
    assert chinese.source_change_followed < english.major_change_at
    # Every other guide's file is unchanged: their times too.
    others = Article.objects.exclude(slug__in=[SEED_SLUG, ZH_SEED_SLUG])
    assert not others.filter(major_change_at__year=2026, major_change_at__month=12).exists()


def test_a_minor_change_leaves_the_translations_up_to_date(demo, tmp_path, importer):
    directory = export(tmp_path)
    path = directory / "guides" / f"{SEED_SLUG}.md"
    text = path.read_text().replace("Open “Alipay”.", "Open “Alipay.”")
    path.write_text(text.replace("language: en\n", "language: en\nminor: true\n", 1))
    before = Article.objects.get(slug=SEED_SLUG).major_change_at
    import_(directory)
    english, chinese = (Article.objects.get(slug=s) for s in [SEED_SLUG, ZH_SEED_SLUG])
    assert "Open “Alipay.”" in english.sections.first().body
    assert english.major_change_at == before == chinese.source_change_followed


def test_a_translation_is_up_to_date_again_when_its_file_says_it_matches(demo, tmp_path, importer):
    directory = export(tmp_path)
    english = directory / "guides" / f"{SEED_SLUG}.md"
    english.write_text(english.read_text().replace("Open “Alipay”.", "Open the Alipay app."))
    with time_machine.travel("2026-12-01T10:00:00Z", tick=False):
        import_(directory)
    source = Article.objects.get(slug=SEED_SLUG)
    chinese = directory / "guides" / f"{ZH_SEED_SLUG}.md"
    # Changed, but not said to match the new English text: still out of date.
    chinese.write_text(chinese.read_text().replace("打开“支付宝”。", "打开支付宝。"))
    with time_machine.travel("2026-12-02T10:00:00Z", tick=False):
        import_(directory)
    translated = Article.objects.get(slug=ZH_SEED_SLUG)
    assert translated.major_change_at == datetime(2026, 12, 2, 10, tzinfo=UTC)
    assert translated.source_change_followed < source.major_change_at
    # The translator's update, said to match: up to date with the English text.
    text = chinese.read_text().replace("打开支付宝。", "打开支付宝App。")
    chinese.write_text(
        text.replace("translated_from: en\n", "translated_from: en\ntranslation_matches: true\n")
    )
    import_(directory)
    translated = Article.objects.get(slug=ZH_SEED_SLUG)
    assert translated.source_change_followed == source.major_change_at


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("status: published", "status: live"), "'status' must be one of"),
        (("category: social-security-inquiry", "category: nowhere"), "unknown category 'nowhere'"),
        (("title: How", "title: [How"), "invalid YAML"),
        (("<!-- section: steps -->", "<!-- section: dance -->"), "unknown section kind 'dance'"),
        (("next: sichuan", "next: no-such-guide-sichuan"), "'next' names an unknown guide"),
        (("provision: Article 23", "provision: Article 99"), "unknown provision"),
        (("---\n", ""), "missing YAML front matter"),
        (("language: en", "language: fr"), "'language' must be one of en, zh-hans"),
        (("language: en", "language: zh-hans"), "two versions in zh-hans"),
    ],
)
def test_an_invalid_file_changes_nothing_and_is_reported_with_file_and_line(
    demo, tmp_path, importer, change, message
):
    directory = export(tmp_path)
    good = directory / "guides" / "binzhou-city-social-security-center-location.md"
    good.write_text(good.read_text().replace("title: Binzhou", "title: Changed Binzhou"))
    assert "title: Changed Binzhou" in good.read_text()
    path = directory / "guides" / f"{SEED_SLUG}.md"
    original = path.read_text()
    path.write_text(original.replace(*change, 1))
    assert path.read_text() != original, "the change applies to the exported file"
    before = guides_in_database()

    report = refused_import(directory)

    assert guides_in_database() == before
    assert not Article.objects.filter(title__startswith="Changed").exists()
    assert f"{SEED_SLUG}.md" in report and message in report
    if "front matter" not in message and "section kind" not in message:
        assert f"{SEED_SLUG}.md:" in report


def test_an_editor_cannot_publish_through_an_import(demo, tmp_path, editor):
    directory = export(tmp_path)
    before = guides_in_database()
    report = refused_import(directory, editor.user.username)
    assert guides_in_database() == before
    refusals = [line for line in report.splitlines() if "only a Publisher can change it" in line]
    assert len(refusals) == ALL_GUIDES, report
    assert any(f"/guides/{SEED_SLUG}.md:" in line for line in refusals)
    assert any(f"/guides/{ZH_SEED_SLUG}.md:" in line for line in refusals)


def test_a_draft_revision_comes_back_with_its_guide_in_its_group(
    demo, tmp_path, importer, publisher
):
    chinese = Article.objects.get(slug=ZH_SEED_SLUG)
    revision = workflow.prepare_draft_revision(chinese, publisher.user)
    directory = export(tmp_path)
    text = (directory / "guides" / f"{revision.slug}.md").read_text()
    assert "language: zh-hans\n" in text and "translation_of" not in text
    assert f"draft_of: {ZH_SEED_SLUG}\n" in text
    Article.objects.all().delete()
    Redirect.objects.all().delete()
    import_(directory)
    chinese = Article.objects.get(slug=ZH_SEED_SLUG)
    revision = Article.objects.get(slug=revision.slug)
    assert revision.draft_of == chinese and revision.language == "zh-hans"
    assert revision.translation_group == chinese.translation_group
    assert chinese.translation_group == Article.objects.get(slug=SEED_SLUG).translation_group
