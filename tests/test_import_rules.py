"""import_guides applies the admin's rules: roles per object, full validation of
every object before anything is written, reports with file and line, size caps,
and one history revision per object."""

import os
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import CommandError, call_command
from django.utils import translation
from reversion.models import Revision, Version

from articles import purge, surrogate
from articles.content_files import MAX_FILE_BYTES, dump_yaml
from articles.management.commands import import_guides
from articles.management.commands.import_guides import _moment
from articles.models import Article, Category, ContentRevision, Law, LegalProvision, Section
from tests.factories import (
    make_article,
    make_category,
    make_draft,
    make_law,
    make_provision,
)
from tests.test_purge import FrontCache

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
    with translation.override("en"):  # the reports' language, whatever a page left active
        call_command("import_guides", str(folder), "--user", user.username, stdout=out, stderr=err)
    return err.getvalue()


def refused(user, folder) -> str:
    """Runs an import that must fail cleanly; returns its report."""
    err = StringIO()
    with translation.override("en"), pytest.raises(CommandError, match="nothing was changed"):
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
        ({"slug": ["a", "b"]}, "'slug' must be text"),
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


# Languages: versions of one guide, and texts per language


def write_translation(folder, **fields) -> Path:
    """The Simplified Chinese version of write_guide()'s guide."""
    meta = {
        "title": "如何申领养老金",
        "slug": "申领养老金",
        "language": "zh-hans",
        "translation_of": "how-to-claim-a-pension",
        "translated_from": "en",
        "summary": "退休时申领。",
    } | fields
    body = "<!-- section: steps -->\n## 如何申请\n\n1. 填写表格。\n2. 提交表格。\n"
    return write_guide(folder, body=body, **meta)


def test_a_translation_joins_the_group_of_the_guide_it_names(publisher, folder, category):
    write_guide(folder)
    write_translation(folder)
    import_as(publisher.user, folder)
    english = Article.objects.get(slug="how-to-claim-a-pension")
    chinese = Article.objects.get(slug="申领养老金")
    assert english.language == "en" and english.translated_from == ""
    assert (chinese.language, chinese.translated_from) == ("zh-hans", "en")
    assert chinese.translation_group == english.translation_group
    # New guides: a major change each, the translation following its source.
    assert english.major_change_at is not None
    assert chinese.source_change_followed == english.major_change_at


def test_a_translation_of_a_guide_already_in_the_database(publisher, folder, category):
    english = make_article(slug="how-to-claim-a-pension", category=category)
    write_translation(folder, status="draft")
    import_as(publisher.user, folder)
    chinese = Article.objects.get(slug="申领养老金")
    assert chinese.translation_group == english.translation_group
    english.refresh_from_db()
    assert english.language == "en"  # not in the import: left alone


def test_the_old_format_without_a_language_is_english(publisher, folder, category):
    write_guide(folder)
    import_as(publisher.user, folder)
    assert Article.objects.get().language == "en"


@pytest.mark.parametrize(
    ("fields", "where", "message"),
    [
        ({"language": "fr"}, "language:", "'language' must be one of en, zh-hans"),
        ({"language": ["en"]}, "language:", "'language' must be text"),
        (
            {"translated_from": "en"},
            "translated_from:",
            "'translated_from' is this version's own language (en)",
        ),
        ({"translated_from": "de"}, "translated_from:", "'translated_from' must be one of"),
        (
            {"translation_of": "nowhere"},
            "translation_of:",
            "'translation_of' names an unknown guide 'nowhere'",
        ),
        (
            {"translation_of": "how-to-claim-a-pension"},
            "translation_of:",
            "'translation_of' names this guide itself",
        ),
        ({"minor": "yes"}, "minor:", "'minor' must be true or false"),
        (
            {"translation_matches": True},
            "translation_matches:",
            "'translation_matches': only a translation (with 'translated_from') matches",
        ),
        (
            {"major_change_at": "yesterday"},
            "major_change_at:",
            "'major_change_at' must be an ISO date and time",
        ),
        ({"slug": "How-To"}, "slug:", "'slug' must be 1 to 150 lower-case letters"),
        ({"slug": "how_to"}, "slug:", "'slug' must be 1 to 150 lower-case letters"),
        ({"slug": "申领 养老金"}, "slug:", "'slug' must be 1 to 150 lower-case letters"),
        ({"slug": "a" * 151}, "slug:", "'slug' must be 1 to 150 lower-case letters"),
    ],
)
def test_language_fields_are_checked_with_their_line(
    publisher, folder, category, fields, where, message
):
    path = write_guide(folder, **fields)
    before = database()
    report = refused(publisher.user, folder)
    assert f"{path}:{line_of(path, where)}: {message}" in report
    assert database() == before


def test_a_guide_slug_may_be_in_any_script(publisher, folder, category):
    write_guide(folder, slug="如何申领养老金-2025", language="zh-hans")
    import_as(publisher.user, folder)
    assert Article.objects.get().slug == "如何申领养老金-2025"


def test_an_address_too_long_once_encoded_is_refused(publisher, folder, category):
    # /zh-hans/pensions/<21 Chinese characters, 9 characters each once encoded>/
    path = write_guide(folder, slug="申" * 21, language="zh-hans")
    report = refused(publisher.user, folder)
    assert f"{path}:{line_of(path, 'slug:')}: 'slug': The address would be too long" in report
    assert not Article.objects.exists()


def test_an_address_too_long_under_a_new_category_is_refused(publisher, folder):
    write_list(folder, "categories.yaml", [{"name": "Pensions", "slug": "pensions"}])
    path = write_guide(folder, slug="申" * 21, language="zh-hans")
    report = refused(publisher.user, folder)
    assert f"{path}:{line_of(path, 'slug:')}: 'slug': the address would be too long" in report
    assert not Category.objects.exists()


def test_a_translation_in_the_same_language_is_refused(publisher, folder, category):
    make_article(slug="how-to-claim-a-pension", category=category)
    path = write_translation(folder, language="en", translated_from=None)
    before = database()
    report = refused(publisher.user, folder)
    line = line_of(path, "translation_of:")
    assert f"{path}:{line}: 'translation_of' names a version in this one's own language" in report
    assert database() == before


def test_a_group_holds_one_version_per_language(publisher, folder, category):
    english = make_article(slug="how-to-claim-a-pension", category=category)
    make_article(
        slug="已有的译文",
        language="zh-hans",
        translation_group=english.translation_group,
        category=category,
    )
    path = write_translation(folder)
    before = database()
    report = refused(publisher.user, folder)
    line = line_of(path, "translation_of:")
    assert f"{path}:{line}: this guide would have two versions in zh-hans: '已有的译文'" in report
    assert database() == before


def test_two_files_of_one_language_joining_one_group_are_both_reported(publisher, folder, category):
    write_guide(folder)
    first = write_translation(folder)
    second = write_translation(folder, slug="申领养老金-2")
    report = refused(publisher.user, folder)
    assert f"{first}:{line_of(first, 'translation_of:')}: this guide would have two" in report
    assert f"{second}:{line_of(second, 'translation_of:')}: this guide would have two" in report
    assert not Article.objects.exists()


def test_translation_of_going_round_in_a_circle_is_refused(publisher, folder, category):
    write_guide(folder, translation_of="申领养老金")
    write_translation(folder)
    report = refused(publisher.user, folder)
    assert "'translation_of' goes round in a circle" in report
    assert not Article.objects.exists()


def test_translation_of_a_draft_revision_is_refused(publisher, folder, category):
    original = make_article(slug="how-to-claim-a-pension", category=category)
    make_article(
        slug="how-to-claim-a-pension-draft",
        draft_of=original,
        status=Article.Status.DRAFT,
        published_at=None,
        translation_group=original.translation_group,
        category=category,
    )
    path = write_translation(folder, translation_of="how-to-claim-a-pension-draft")
    report = refused(publisher.user, folder)
    line = line_of(path, "translation_of:")
    assert f"{path}:{line}: 'translation_of' names a draft revision" in report


def test_a_draft_revision_is_in_the_language_of_the_guide_it_revises(publisher, folder, category):
    make_article(slug="how-to-claim-a-pension", category=category)
    path = write_guide(
        folder, slug="revision", language="zh-hans", draft_of="how-to-claim-a-pension"
    )
    report = refused(publisher.user, folder)
    assert f"{path}:{line_of(path, 'language:')}: 'language': a draft revision is in" in report


def test_a_draft_revision_takes_the_group_of_the_guide_it_revises(publisher, folder, category):
    original = make_article(slug="how-to-claim-a-pension", category=category)
    write_guide(folder, slug="revision", draft_of="how-to-claim-a-pension")
    import_as(publisher.user, folder)
    revision = Article.objects.get(slug="revision")
    assert revision.translation_group == original.translation_group


def test_versions_can_change_places_in_one_import(publisher, folder, category):
    """A version leaves a group as another joins it in the same language: the import
    checks the groups as it leaves them and saves without a conflict on the way."""
    pension = make_article(slug="how-to-claim-a-pension", category=category)
    other = make_article(slug="how-to-move-a-pension", category=category)
    old = make_article(
        slug="旧译文", language="zh-hans", translation_group=pension.translation_group
    )
    write_translation(folder)  # joins the claim guide, where 旧译文 is now
    write_translation(
        folder, slug="旧译文", title="如何转移养老金", translation_of="how-to-move-a-pension"
    )
    import_as(publisher.user, folder)
    old.refresh_from_db()
    assert old.translation_group == other.translation_group
    new = Article.objects.get(slug="申领养老金")
    assert new.translation_group == pension.translation_group


def test_unchanged_and_minor_imports_keep_the_change_times(publisher, folder, category):
    write_guide(folder)
    write_translation(folder)
    import_as(publisher.user, folder)
    english = Article.objects.get(slug="how-to-claim-a-pension")
    chinese = Article.objects.get(slug="申领养老金")
    import_as(publisher.user, folder)  # the same files: no change at all
    write_guide(folder, minor=True, body=STEPS.replace("Hand it in.", "Hand it in!"))
    import_as(publisher.user, folder)
    after = Article.objects.get(pk=english.pk)
    assert "Hand it in!" in after.sections.get().body
    assert after.major_change_at == english.major_change_at
    assert Article.objects.get(pk=chinese.pk).source_change_followed == english.major_change_at
    write_guide(folder, body=STEPS.replace("Hand it in.", "Post it."))  # a major change
    import_as(publisher.user, folder)
    after = Article.objects.get(pk=english.pk)
    assert after.major_change_at > english.major_change_at
    assert Article.objects.get(pk=chinese.pk).source_change_followed < after.major_change_at


def test_a_new_guide_keeps_the_change_times_its_file_brings(publisher, folder, category):
    write_guide(folder, major_change_at="2025-01-01T00:00:00+00:00")
    write_translation(
        folder,
        major_change_at="2025-02-01T00:00:00+00:00",
        source_change_followed="2024-12-01T00:00:00+00:00",  # out of date where it came from
    )
    import_as(publisher.user, folder)
    english = Article.objects.get(slug="how-to-claim-a-pension")
    chinese = Article.objects.get(slug="申领养老金")
    assert english.major_change_at.isoformat() == "2025-01-01T00:00:00+00:00"
    assert chinese.major_change_at.isoformat() == "2025-02-01T00:00:00+00:00"
    assert chinese.source_change_followed < english.major_change_at


# Categories, laws and provisions per language


def test_categories_and_laws_are_read_per_language(publisher, folder):
    write_list(
        folder,
        "categories.yaml",
        [
            {
                "name": {"en": "Pensions", "zh-hans": "养老金"},
                "slug": "pensions",
                "description": {"en": "About pensions.", "zh-hans": "关于养老金。"},
            }
        ],
    )
    law = LAW | {
        "name": {"en": "Social Insurance Law", "zh-hans": "社会保险法"},
        "authoritative_language": "zh-hans",
        "provisions": [
            {
                "label": {"en": "Article 1", "zh-hans": "第一条"},
                "position": 1,
                "text": {"en": "Everyone is insured.", "zh-hans": "人人参保。"},
            }
        ],
    }
    write_list(folder, "laws.yaml", [law])
    write_guide(folder, citations=[{"law": LAW["slug"], "provision": "Article 1"}])
    import_as(publisher.user, folder)
    category = Category.objects.get()
    assert (category.name_en, category.name_zh_hans) == ("Pensions", "养老金")
    assert category.description_zh_hans == "关于养老金。"
    imported = Law.objects.get()
    assert imported.name_zh_hans == "社会保险法" and imported.authoritative_language == "zh-hans"
    provision = imported.provisions.get()
    assert (provision.label_zh_hans, provision.text_zh_hans) == ("第一条", "人人参保。")
    assert Article.objects.get().provisions.get() == provision


def test_plain_text_is_english_and_leaves_the_other_languages_alone(publisher, folder):
    make_category(name="Pensions", name_zh_hans="养老金", slug="pensions")
    write_list(folder, "categories.yaml", [{"name": "Pensions and benefits", "slug": "pensions"}])
    import_as(publisher.user, folder)
    category = Category.objects.get()
    assert (category.name_en, category.name_zh_hans) == ("Pensions and benefits", "养老金")
    write_list(
        folder, "categories.yaml", [{"name": {"en": "Pensions", "zh-hans": ""}, "slug": "pensions"}]
    )
    import_as(publisher.user, folder)
    category.refresh_from_db()
    assert (category.name_en, category.name_zh_hans) == ("Pensions", "")


def test_a_provision_is_known_by_its_english_label(publisher, folder):
    law = make_law(**{k: LAW[k] for k in ["name", "short_name", "slug", "source_url"]})
    provision = make_provision(law, label="Article 1", position=1, text="Everyone is insured.")
    entry = LAW | {
        "provisions": [
            {"label": {"en": "Article 1", "zh-hans": "第一条"}, "text": {"zh-hans": "人人参保。"}}
        ]
    }
    # The English text is required, even to add another language's.
    path = write_list(folder, "laws.yaml", [entry])
    report = refused(publisher.user, folder)
    assert f"{path}:{line_of(path, 'text:')}: 'text' needs its en text" in report
    entry["provisions"][0]["text"]["en"] = "Everyone is insured."
    write_list(folder, "laws.yaml", [entry])
    import_as(publisher.user, folder)
    provision.refresh_from_db()
    assert (provision.label_zh_hans, provision.text_zh_hans) == ("第一条", "人人参保。")
    assert LegalProvision.objects.count() == 1


@pytest.mark.parametrize(
    ("name", "where", "message"),
    [
        ({"en": "Pensions", "fr": "Retraites"}, "fr:", "'name': unknown language 'fr'"),
        (
            {"en": "Pensions", "zh-hans": ["养老金"]},
            "zh-hans:",
            "'name': the zh-hans text must be text",
        ),
        ({"zh-hans": "养老金"}, "name:", "'name' needs its en text"),
        ({"en": " "}, "name:", "'name' needs its en text"),
        (["Pensions"], "name:", "'name' must be text, or a mapping of language codes to text"),
    ],
)
def test_texts_per_language_are_checked_with_their_line(publisher, folder, name, where, message):
    path = write_list(folder, "categories.yaml", [{"name": name, "slug": "pensions"}])
    before = database()
    report = refused(publisher.user, folder)
    assert f"{path}:{line_of(path, where)}: {message}" in report
    assert database() == before


def test_a_too_long_text_in_another_language_is_reported_at_its_line(publisher, folder):
    name = {"en": "Pensions", "zh-hans": "养" * 101}
    path = write_list(folder, "categories.yaml", [{"name": name, "slug": "pensions"}])
    report = refused(publisher.user, folder)
    line = line_of(path, "zh-hans:")
    assert f"{path}:{line}: 'name' (zh-hans): Ensure this value has at most 100" in report


def test_an_editor_cannot_change_a_categorys_chinese_name(editor, folder, category):
    path = write_list(
        folder,
        "categories.yaml",
        [{"name": {"en": "Pensions", "zh-hans": "养老金"}, "slug": "pensions"}],
    )
    before = database()
    report = refused(editor.user, folder)
    assert f"{path}:1: you may not change categories" in report
    assert database() == before


def test_a_translation_said_to_match_needs_its_source(publisher, folder, category):
    path = write_guide(folder, language="zh-hans", translated_from="en", translation_matches=True)
    report = refused(publisher.user, folder)
    line = line_of(path, "translation_matches:")
    assert f"{path}:{line}: 'translation_matches': this guide has no version in en" in report


def test_an_unchanged_translation_said_to_match_follows_its_source(publisher, folder, category):
    write_guide(folder)
    write_translation(folder)
    import_as(publisher.user, folder)
    write_guide(folder, body=STEPS.replace("Hand it in.", "Post it."))  # a major change
    import_as(publisher.user, folder)
    english = Article.objects.get(slug="how-to-claim-a-pension")
    assert Article.objects.get(slug="申领养老金").source_change_followed < english.major_change_at
    write_translation(folder, translation_matches=True)  # reviewed: it still says it all
    import_as(publisher.user, folder)
    chinese = Article.objects.get(slug="申领养老金")
    assert chinese.source_change_followed == english.major_change_at


def test_a_source_cannot_change_language_from_under_its_translations(publisher, folder, category):
    english = make_article(slug="how-to-claim-a-pension", category=category)
    make_article(
        slug="申领养老金",
        language="zh-hans",
        translated_from="en",
        translation_group=english.translation_group,
        category=category,
    )
    path = write_guide(
        folder, language="zh-hans", status="published", published_at="2025-01-02T10:00:00+00:00"
    )
    before = database()
    report = refused(publisher.user, folder)
    line = line_of(path, "language:")
    assert f"{path}:{line}: 'language': other versions are translated from this one (en)" in report
    assert database() == before


def test_a_guide_with_a_pending_draft_revision_keeps_its_language(publisher, folder, category):
    original = make_article(slug="how-to-claim-a-pension", category=category)
    make_article(
        slug="how-to-claim-a-pension-draft",
        draft_of=original,
        status=Article.Status.DRAFT,
        published_at=None,
        translation_group=original.translation_group,
        category=category,
    )
    path = write_guide(
        folder, language="zh-hans", status="published", published_at="2025-01-02T10:00:00+00:00"
    )
    before = database()
    report = refused(publisher.user, folder)
    line = line_of(path, "language:")
    assert f"{path}:{line}: 'language': this guide has a draft revision in en" in report
    assert database() == before


# Front caches and the content clock: an import changes public pages as admin saves do


@pytest.fixture
def front_cache(settings):
    """Front caches on (a stand-in for Varnish on 127.0.0.1), each purge sent once."""
    cache = FrontCache()
    settings.FRONT_CACHES = [cache.url]
    settings.FRONT_CACHE_REPURGE_DELAY = 0
    yield cache
    assert purge.wait(timeout=10), "the purge thread did not finish"
    cache.close()


def purged(front_cache) -> set[str]:
    assert purge.wait(timeout=10)
    return front_cache.keys()


def guide_keys(guide, *tags) -> set[str]:
    return {
        surrogate.guide_key(guide.pk),
        surrogate.topic_key(guide.category_id),
        surrogate.listing_key(guide.language),
    } | {surrogate.tag_key(tag.pk) for tag in tags}


def test_an_import_that_changes_a_guides_dates_purges_it_and_moves_the_clock(
    publisher, folder, category, front_cache
):
    published = "2025-01-02T10:00:00+00:00"
    guide = make_article(
        slug="how-to-claim-a-pension", category=category, published_at=_moment(published)
    )
    purged(front_cache)
    front_cache.purges.clear()
    clock = ContentRevision.objects.get().changed_at
    write_guide(
        folder,
        status="published",
        published_at=published,
        title=guide.title,
        summary=guide.summary,
        created_at="2024-05-01T08:00:00+00:00",
        updated_at="2024-06-01T08:00:00+00:00",
    )
    import_as(publisher.user, folder)
    guide.refresh_from_db()
    assert guide.updated_at.isoformat() == "2024-06-01T08:00:00+00:00"
    assert guide_keys(guide) <= purged(front_cache)
    assert len(front_cache.purges) == 1  # once, when the import commits
    assert ContentRevision.objects.get().changed_at > clock


def test_a_version_moved_to_another_group_purges_the_versions_it_left(
    publisher, folder, category, front_cache
):
    """Their pages link to it (language links): they must not keep a link to a
    version now in another group."""
    pension = make_article(slug="how-to-claim-a-pension", category=category)
    move = make_article(slug="how-to-move-a-pension", category=category)
    version = make_article(
        slug="养老金", language="zh-hans", translation_group=pension.translation_group
    )
    purged(front_cache)
    front_cache.purges.clear()
    write_translation(
        folder,
        slug="养老金",
        status="published",
        published_at=version.published_at.isoformat(),
        translation_of="how-to-move-a-pension",
    )
    import_as(publisher.user, folder)
    version.refresh_from_db()
    assert version.translation_group == move.translation_group
    keys = purged(front_cache)
    assert guide_keys(version) <= keys
    assert {surrogate.guide_key(pension.pk), surrogate.guide_key(move.pk)} <= keys
