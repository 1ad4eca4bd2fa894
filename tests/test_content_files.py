"""Content as files: export, import, validation, and an exact round trip."""

from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User
from django.contrib.redirects.models import Redirect
from django.core.management import CommandError, call_command
from taggit.models import Tag

from articles.models import Article, Category, Law, LegalProvision, SearchDocument
from tests.test_html import crawl

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo():
    call_command("load_demo_content", verbosity=0)


@pytest.fixture
def admin_user():
    return User.objects.create_superuser("importer", password="pw")


def export(tmp_path) -> Path:
    call_command("export_guides", str(tmp_path), verbosity=0)
    return tmp_path


def import_(directory, user="importer", *extra):
    out, err = StringIO(), StringIO()
    call_command("import_guides", str(directory), "--user", user, *extra, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_export_writes_readable_files(demo, tmp_path):
    directory = export(tmp_path)
    seed = (directory / "guides" / "how-to-activate-alipay-medical-insurance-card.md").read_text()
    assert seed.startswith("---\ntitle: How to activate Alipay medical insurance card\n")
    assert "<!-- section: steps -->\n## How to activate the card in Alipay\n\n1. " in seed
    assert "- law: social-insurance-law\n  provision: Article 23" in seed
    assert "previous: what-about-employee-transfer-pension-insurance" in seed
    assert "Article 24" in (directory / "laws.yaml").read_text()
    assert "social-security-inquiry" in (directory / "categories.yaml").read_text()
    assert len(list((directory / "guides").glob("*.md"))) == 13


def test_export_then_import_into_an_empty_database_reproduces_the_site(
    client, demo, tmp_path, admin_user
):
    before = {path: client.get(path).content for path in crawl(client)}
    directory = export(tmp_path)
    Article.objects.all().delete()
    Redirect.objects.all().delete()  # deleting guides marked their addresses as gone
    LegalProvision.objects.all().delete()
    Law.objects.all().delete()
    Category.objects.all().delete()
    Tag.objects.all().delete()
    assert not SearchDocument.objects.exists()
    out, _ = import_(directory)
    assert "Imported 13 guides" in out
    after = {path: client.get(path).content for path in crawl(client)}
    assert after.keys() == before.keys()
    for path, content in before.items():
        if after[path] != content:
            import difflib

            diff = difflib.unified_diff(
                content.decode().splitlines(), after[path].decode().splitlines(), lineterm="", n=0
            )
            raise AssertionError(path + "\n" + "\n".join(list(diff)[:20]))
    assert client.get("/search/", {"q": "activate medical insurance card"}).status_code == 200
    assert SearchDocument.objects.count() == 13


def test_import_updates_by_slug(demo, tmp_path, admin_user):
    directory = export(tmp_path)
    path = directory / "guides" / "how-to-activate-alipay-medical-insurance-card.md"
    path.write_text(path.read_text().replace("Open “Alipay”.", "Open the Alipay app."))
    import_(directory)
    article = Article.objects.get(slug="how-to-activate-alipay-medical-insurance-card")
    assert "Open the Alipay app." in article.sections.first().body
    assert Article.objects.count() == 13


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.replace("status: published", "status: live", 1), "'status' must be one of"),
        (lambda t: t.replace("category: social-security-inquiry", "category: nowhere", 1),
         "unknown category 'nowhere'"),
        (lambda t: t.replace("title: How", "title: [How", 1), "invalid YAML"),
        (lambda t: t.replace("<!-- section: steps -->", "<!-- section: dance -->", 1),
         "unknown section kind 'dance'"),
        (lambda t: t.replace("next: sichuan", "next: no-such-guide-sichuan", 1),
         "'next' names an unknown guide"),
        (lambda t: t.replace("provision: Article 23", "provision: Article 99", 1),
         "unknown provision"),
        (lambda t: t.replace("---\n", "", 1), "missing YAML front matter"),
    ],
)  # fmt: skip
def test_an_invalid_file_changes_nothing_and_is_reported_with_file_and_line(
    demo, tmp_path, admin_user, change, message
):
    directory = export(tmp_path)
    good = directory / "guides" / "binzhou-city-social-security-center-location.md"
    good.write_text(good.read_text().replace("title: Binzhou", "title: Changed Binzhou"))
    path = directory / "guides" / "how-to-activate-alipay-medical-insurance-card.md"
    path.write_text(change(path.read_text()))
    with pytest.raises(CommandError, match="nothing was changed"):
        import_(directory)
    assert not Article.objects.filter(title__startswith="Changed").exists()
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("import_guides", str(directory), "--user", "importer", stderr=err)
    report = err.getvalue()
    assert "how-to-activate-alipay-medical-insurance-card.md" in report and message in report
    if "front matter" not in message and "section kind" not in message:
        assert "how-to-activate-alipay-medical-insurance-card.md:" in report


def test_an_editor_cannot_publish_through_an_import(demo, tmp_path):
    editor = User.objects.create_user("ed", password="pw", is_staff=True)
    editor.groups.add(Group.objects.get(name="Editor"))
    directory = export(tmp_path)
    with pytest.raises(CommandError, match="nothing was changed"):
        import_(directory, "ed")
