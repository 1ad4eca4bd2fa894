"""import_guides applies the admin's rules: roles per object, full validation of
every object before anything is written, reports with file and line, size caps,
and one history revision per object."""

import os
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import CommandError, call_command
from reversion.models import Revision, Version

from articles.content_files import MAX_FILE_BYTES, dump_yaml
from articles.management.commands import import_guides
from articles.models import Article, Category, Law, LegalProvision, Section
from tests.factories import (
    make_article,
    make_category,
    make_draft,
    make_law,
    make_provision,
)

pytestmark = pytest.mark.django_db

STEPS = "<!-- section: steps -->\n## How to apply\n\n1. Fill in the form.\n2. Hand it in.\n"


@pytest.fixture
def folder(tmp_path) -> Path:
    (tmp_path / "guides").mkdir()
    return tmp_path


@pytest.fixture
def category():
    return make_category(name="Pensions", slug="pensions")


def write_guide(folder, body=STEPS, **fields) -> Path:
    meta = {
        "title": "How to claim a pension",
        "slug": "how-to-claim-a-pension",
        "category": "pensions",
        "summary": "Claim it when you retire.",
        "status": "draft",
    } | fields
    path = folder / "guides" / f"{meta.get('slug') or 'no-slug'}.md"
    path.write_text(f"---\n{dump_yaml(meta)}---\n{body}", encoding="utf-8")
    return path


def write_list(folder, name, entries) -> Path:
    path = folder / name
    path.write_text(dump_yaml(entries), encoding="utf-8")
    return path


def import_as(user, folder) -> str:
    """Runs the import; returns what it reported on stderr."""
    out, err = StringIO(), StringIO()
    call_command("import_guides", str(folder), "--user", user.username, stdout=out, stderr=err)
    return err.getvalue()


def refused(user, folder) -> str:
    """Runs an import that must fail cleanly; returns its report."""
    err = StringIO()
    with pytest.raises(CommandError, match="nothing was changed"):
        call_command("import_guides", str(folder), "--user", user.username, stderr=err)
    return err.getvalue()


def database():
    """Everything an import could write, to show that a refused one wrote nothing."""
    return [
        list(model.objects.order_by("pk").values())
        for model in (Category, Law, LegalProvision, Article, Section, Revision)
    ]


def line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


# Laws: validated like the admin validates them, whoever imports


LAW = {
    "name": "Social Insurance Law",
    "short_name": "SIL",
    "slug": "social-insurance-law",
    "source_url": "https://example.org/sil",
    "provisions": [{"label": "Article 1", "position": 1, "text": "Everyone is insured."}],
}


def test_a_javascript_source_url_is_refused_with_its_line(publisher, folder):
    laws = write_list(folder, "laws.yaml", [LAW | {"source_url": "javascript:alert(1)"}])
    before = database()
    report = refused(publisher.user, folder)
    assert f"laws.yaml:{line_of(laws, 'source_url')}: 'source_url': Enter a valid URL." in report
    assert database() == before


def test_an_editor_cannot_add_a_law_even_a_harmful_one(editor, folder):
    laws = write_list(folder, "laws.yaml", [LAW | {"source_url": "javascript:alert(1)"}])
    before = database()
    report = refused(editor.user, folder)
    assert f"laws.yaml:{line_of(laws, 'name: Social')}: you may not add laws" in report
    assert "you may not add legal provisions" in report
    assert database() == before


# What the admin keeps read-only for Editors, an Editor's file cannot set


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"published_at": "2030-01-01T09:00:00+00:00"}, "published_at"),
        ({"needs_review": True}, "needs_review"),
        ({"draft_of": "pension-rules"}, "draft_of"),
    ],
)
def test_an_editors_file_cannot_set_publisher_only_fields(editor, folder, category, fields, field):
    make_article(slug="pension-rules", category=category)
    path = write_guide(folder, **fields)
    before = database()
    report = refused(editor.user, folder)
    line = line_of(path, f"{field}:")
    assert f"{path}:{line}: '{field}': only a Publisher can set or change it" in report
    assert database() == before


def test_an_editors_file_cannot_change_the_publish_time_of_a_draft(editor, folder, category):
    make_draft(slug="how-to-claim-a-pension", category=category)
    write_guide(folder, published_at="2030-01-01T09:00:00+00:00")
    assert "'published_at': only a Publisher" in refused(editor.user, folder)
    assert Article.objects.get().published_at is None


def test_an_editor_imports_a_draft_as_one_revision(editor, folder, category):
    write_guide(folder, tags=["pension"], needs_review=False, published_at=None)
    import_as(editor.user, folder)
    article = Article.objects.get(slug="how-to-claim-a-pension")
    assert article.status == Article.Status.DRAFT and article.last_edited_by == editor.user
    assert list(article.tags.names()) == ["pension"]
    revision = Revision.objects.get()
    assert revision.user == editor.user and revision.get_comment().startswith("Imported from")
    assert Version.objects.get_for_object(article).get().revision == revision


# Categories and laws: Publishers' to change, as in the admin


def test_an_editor_cannot_change_a_category(editor, folder, category):
    path = write_list(
        folder, "categories.yaml", [{"name": "Pensions and benefits", "slug": "pensions"}]
    )
    before = database()
    report = refused(editor.user, folder)
    assert f"{path}:1: you may not change categories (“Pensions and benefits”)" in report
    assert database() == before


def test_an_editor_cannot_add_a_category(editor, folder):
    write_list(folder, "categories.yaml", [{"name": "Housing", "slug": "housing"}])
    assert "you may not add categories" in refused(editor.user, folder)
    assert not Category.objects.exists()


def test_an_editor_cannot_change_a_law_or_a_provisions_text(editor, folder):
    law = make_law(**{k: LAW[k] for k in ["name", "short_name", "slug", "source_url"]})
    make_provision(law, label="Article 1", position=1, text="Everyone is insured.")
    amended = LAW | {"provisions": [LAW["provisions"][0] | {"text": "Nobody is insured."}]}
    path = write_list(folder, "laws.yaml", [amended | {"short_name": "Insurance law"}])
    before = database()
    report = refused(editor.user, folder)
    assert f"{path}:1: you may not change laws" in report
    assert f"{path}:{line_of(path, '- label')}: you may not change legal provisions" in report
    assert database() == before


def test_unchanged_categories_and_laws_in_an_editors_import_are_left_alone(
    editor, folder, category
):
    law = make_law(**{k: LAW[k] for k in ["name", "short_name", "slug", "source_url"]})
    make_provision(law, label="Article 1", position=1, text="Everyone is insured.")
    pensions = {"name": "Pensions", "slug": "pensions", "description": "", "position": 0}
    write_list(folder, "categories.yaml", [pensions])
    write_list(folder, "laws.yaml", [LAW])
    write_guide(folder, citations=[{"law": LAW["slug"], "provision": "Article 1"}])
    import_as(editor.user, folder)
    assert Article.objects.get().provisions.get().text == "Everyone is insured."
    assert Revision.objects.count() == 1  # the guide's only


# Whatever the file holds, the answer is a report, never a traceback


@pytest.mark.parametrize(
    ("name", "entries", "where", "message"),
    [
        ("categories.yaml", [{"slug": "housing"}], "slug", "'name' is required text"),
        (
            "categories.yaml",
            [{"name": "Housing", "slug": "housing", "position": "first"}],
            "position",
            "'position' must be a whole number",
        ),
        ("categories.yaml", ["housing"], "housing", "must be a mapping of fields"),
        ("categories.yaml", {"name": "Housing"}, "name", "must be a list of entries"),
        (
            "laws.yaml",
            [LAW | {"provisions": [{"label": "Article 1"}]}],
            "- label",
            "'text' is required text",
        ),
        ("laws.yaml", [LAW | {"provisions": "Article 1"}], "provisions", "'provisions' must be"),
        ("laws.yaml", [LAW | {"slug": None}], "slug: null", "'slug' is required text"),
        ("laws.yaml", [LAW | {"slug": ["a", "b"]}], "slug:", "'slug' must be text"),
    ],
)
def test_missing_or_mistyped_keys_in_lists_are_reported(
    publisher, folder, name, entries, where, message
):
    path = write_list(folder, name, entries)
    before = database()
    assert f"{path}:{line_of(path, where)}: {message}" in refused(publisher.user, folder)
    assert database() == before


def test_two_laws_with_one_name_are_reported(publisher, folder):
    path = write_list(folder, "laws.yaml", [LAW, LAW | {"slug": "other"}])
    second = line_of(path, "slug: other") - 2  # its first line, the name
    report = refused(publisher.user, folder)
    assert f"{path}:{second}: another entry (line 1) has the same name" in report
    assert not Law.objects.exists()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"title": None}, "'title' is required text"),
        ({"category": ["pensions"]}, "'category' must be text"),
        ({"related": 5}, "'related' must be a list"),
        ({"related": [{"slug": "x"}]}, "'related' lists guides by their slug"),
        ({"tags": "pension"}, "'tags' must be a list"),
        ({"tags": [["pension"]]}, "a tag is text of 1 to 100 characters"),
        ({"citations": ["Article 1"]}, "'citations' entries are mappings"),
        ({"needs_review": "yes"}, "'needs_review' must be true or false"),
        ({"review_by": "2030-13-45"}, "'review_by' must be an ISO date"),
        ({"owner": "nobody"}, "'owner' names an unknown user 'nobody'"),
        ({"title": "x" * 201}, "'title': Ensure this value has at most 200 characters"),
        ({"summary": "x" * 301}, "'summary': Ensure this value has at most 300 characters"),
    ],
)
def test_missing_or_mistyped_guide_fields_are_reported(
    publisher, folder, category, fields, message
):
    path = write_guide(folder, **fields)
    before = database()
    report = refused(publisher.user, folder)
    assert message in report
    assert f"{path}:" in report
    assert database() == before


def test_a_section_is_validated_like_the_admins_inline(publisher, folder, category):
    body = STEPS.replace("How to apply", "A" * 201)
    path = write_guide(folder, body=body)
    report = refused(publisher.user, folder)
    assert f"{path}:{line_of(path, '<!-- section')}: section “{'A' * 201}”: 'heading'" in report


def test_a_section_without_a_body_is_refused(publisher, folder, category):
    path = write_guide(folder, body=STEPS + "<!-- section: text -->\n## Notes\n\n\n")
    report = refused(publisher.user, folder)
    assert f"{path}:{line_of(path, '## Notes') - 1}: section “Notes”: 'body'" in report


def test_a_reserved_category_slug_is_refused(publisher, folder):
    path = write_list(folder, "categories.yaml", [{"name": "Admin", "slug": "admin"}])
    before = database()
    report = refused(publisher.user, folder)
    assert f"{path}:{line_of(path, 'slug: admin')}: 'slug': “admin” is reserved" in report
    assert database() == before


# Sizes


def test_an_oversized_file_is_refused(publisher, folder, category):
    path = write_guide(folder, body=STEPS + "x" * MAX_FILE_BYTES)
    write_list(folder, "laws.yaml", [LAW | {"name": "y" * MAX_FILE_BYTES}])
    before = database()
    report = refused(publisher.user, folder)
    assert f"{path}: the file is larger than" in report
    assert "laws.yaml: the file is larger than" in report
    assert database() == before


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_a_device_or_a_pipe_is_refused_without_being_read(editor, folder, category):
    # /dev/zero says it is 0 bytes long and never ends; a pipe waits for a writer.
    (folder / "guides" / "endless.md").symlink_to("/dev/zero")
    os.mkfifo(folder / "guides" / "pipe.md")
    (folder / "laws.yaml").symlink_to("/dev/zero")
    report = refused(editor.user, folder)
    assert f"{folder / 'guides' / 'endless.md'}: not a regular file" in report
    assert f"{folder / 'guides' / 'pipe.md'}: not a regular file" in report
    assert f"{folder / 'laws.yaml'}: not a regular file" in report


@pytest.mark.parametrize("status", ["[draft]", "{a: 1}"])
def test_a_status_that_is_not_text_is_reported_for_any_role(editor, folder, category, status):
    path = write_guide(folder)
    path.write_text(
        path.read_text(encoding="utf-8").replace("status: draft", f"status: {status}"),
        encoding="utf-8",
    )
    report = refused(editor.user, folder)
    assert f"{path}:{line_of(path, 'status:')}: 'status' must be text" in report
    assert not Article.objects.exists()


def test_too_many_guide_files_are_refused(publisher, folder, category, monkeypatch):
    monkeypatch.setattr(import_guides, "MAX_GUIDE_FILES", 2)
    for number in range(3):
        write_guide(folder, slug=f"guide-{number}")
    with pytest.raises(CommandError, match="at most 2 are imported at once"):
        import_as(publisher.user, folder)
    assert not Article.objects.exists()


# A valid import by a Publisher


def test_a_publisher_imports_everything_with_one_revision_per_object(publisher, folder):
    write_list(folder, "categories.yaml", [{"name": "Pensions", "slug": "pensions"}])
    second_provision = {"label": "Article 2", "position": 2, "text": "Employers pay."}
    write_list(folder, "laws.yaml", [LAW | {"provisions": LAW["provisions"] + [second_provision]}])
    write_guide(
        folder,
        status="published",
        published_at="2025-01-02T10:00:00+00:00",
        tags=["pension"],
        related=["how-to-move-a-pension"],
        next="how-to-move-a-pension",
        citations=[{"law": LAW["slug"], "provision": "Article 2"}],
    )
    write_guide(folder, title="How to move a pension", slug="how-to-move-a-pension")
    import_as(publisher.user, folder)
    claim = Article.objects.get(slug="how-to-claim-a-pension")
    move = Article.objects.get(slug="how-to-move-a-pension")
    assert claim.is_published() and claim.next_article == move
    assert claim.provisions.get().label == "Article 2"
    law = Law.objects.get()
    category = Category.objects.get()

    def revision_of(obj):
        return Version.objects.get_for_object(obj).get().revision

    revisions = [revision_of(obj) for obj in (category, law, claim, move)]
    assert len(set(revisions)) == Revision.objects.count() == 4
    assert all(r.user == publisher.user and r.get_comment() for r in revisions)
    in_law_revision = {v.object_repr for v in revisions[1].version_set.all()}
    assert in_law_revision == {str(law), "Article 1, SIL", "Article 2, SIL"}
    article_type = ContentType.objects.get_for_model(Article)
    for revision, guide in [(revisions[2], claim), (revisions[3], move)]:
        guides_in_it = revision.version_set.filter(content_type=article_type)
        assert [v.object_id for v in guides_in_it] == [str(guide.pk)]
    assert revisions[2].version_set.count() == 5  # guide, section, citation, link, tag
