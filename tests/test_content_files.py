"""Content as files: export, import, validation, and an exact round trip."""

import difflib
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.contrib.redirects.models import Redirect
from django.core.management import CommandError, call_command
from taggit.models import Tag

from articles.models import Article, Category, Law, LegalProvision, SearchDocument, Section
from articles.search import search
from tests.helpers import DEMO_GUIDES, SEED_SLUG, crawl

pytestmark = pytest.mark.django_db


@pytest.fixture
def importer():
    """The superuser `import_()` imports as."""
    return User.objects.create_superuser("importer", password="pw")


def export(tmp_path) -> Path:
    call_command("export_guides", str(tmp_path), verbosity=0)
    return tmp_path


def import_(directory, user="importer", *extra):
    out, err = StringIO(), StringIO()
    call_command("import_guides", str(directory), "--user", user, *extra, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def refused_import(directory, user="importer") -> str:
    """Runs an import that must fail and change nothing; returns its report."""
    err = StringIO()
    with pytest.raises(CommandError, match="nothing was changed"):
        call_command("import_guides", str(directory), "--user", user, stdout=StringIO(), stderr=err)
    return err.getvalue()


def guides_in_database():
    """Guides, sections and topics as stored, to show that a refused import wrote nothing."""
    return [list(model.objects.order_by("pk").values()) for model in (Article, Section, Category)]


def test_export_writes_readable_files(demo, tmp_path):
    directory = export(tmp_path)
    seed = (directory / "guides" / f"{SEED_SLUG}.md").read_text()
    assert seed.startswith("---\ntitle: How to activate Alipay medical insurance card\n")
    assert "<!-- section: steps -->\n## How to activate the card in Alipay\n\n1. " in seed
    assert "- law: social-insurance-law\n  provision: Article 23" in seed
    assert "previous: what-about-employee-transfer-pension-insurance" in seed
    assert "Article 24" in (directory / "laws.yaml").read_text()
    assert "social-security-inquiry" in (directory / "categories.yaml").read_text()
    assert len(list((directory / "guides").glob("*.md"))) == DEMO_GUIDES


def test_export_then_import_into_an_empty_database_reproduces_the_site(
    client, demo, tmp_path, importer
):
    before = {path: client.get(path).content for path in crawl(client)}
    assert len(before) > 20
    directory = export(tmp_path)
    Article.objects.all().delete()
    Redirect.objects.all().delete()  # deleting guides marked their addresses as gone
    LegalProvision.objects.all().delete()
    Law.objects.all().delete()
    Category.objects.all().delete()
    Tag.objects.all().delete()
    assert not SearchDocument.objects.exists()
    out, _ = import_(directory)
    assert f"Imported {DEMO_GUIDES} guides" in out
    after = {path: client.get(path).content for path in crawl(client)}
    assert after.keys() == before.keys()
    for path, content in before.items():
        if after[path] != content:
            diff = difflib.unified_diff(
                content.decode().splitlines(), after[path].decode().splitlines(), lineterm="", n=0
            )
            raise AssertionError(path + "\n" + "\n".join(list(diff)[:20]))
    _, results = search("activate medical insurance card")
    assert [hit.article.slug for hit in results[0:1]] == [SEED_SLUG]
    assert SearchDocument.objects.count() == DEMO_GUIDES


def test_import_updates_by_slug(demo, tmp_path, importer):
    directory = export(tmp_path)
    path = directory / "guides" / f"{SEED_SLUG}.md"
    path.write_text(path.read_text().replace("Open “Alipay”.", "Open the Alipay app."))
    import_(directory)
    article = Article.objects.get(slug=SEED_SLUG)
    assert "Open the Alipay app." in article.sections.first().body
    assert Article.objects.count() == DEMO_GUIDES


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
    assert len(refusals) == DEMO_GUIDES, report
    assert any(f"/guides/{SEED_SLUG}.md:" in line for line in refusals)
