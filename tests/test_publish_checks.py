"""The checks before publishing (articles.checks): errors block publishing on every
path (change form, bulk action, history restore and recover, scheduled revisions,
import), warnings do not."""

import re
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from reversion.models import Version

from articles import checks, workflow
from articles.models import Article, Section
from tests.factories import (
    cite,
    make_article,
    make_category,
    make_draft,
    make_provision,
    make_section,
)
from tests.helpers import change_form

pytestmark = pytest.mark.django_db

GOOD_SUMMARY = "How to renew a residence permit online, what it costs and how long it takes."


def codes(problems):
    return sorted(problem.code for problem in problems)


def section(kind="text", heading="Heading", body="Some text."):
    return {"kind": kind, "heading": heading, "body": body}


def unsaved(**fields):
    return {"language": "en", "summary": GOOD_SUMMARY, **fields}


# The rules, on plain data.


def test_a_good_guide_has_no_problems():
    sections = [
        section("steps", "Apply", "1. Open the form.\n2. Send it."),
        section("ways", "Ways", "You can:\n\n1. Go in person.\n2. Apply online."),
        section("text", "About", "Short and clear."),
    ]
    assert checks.check_guide(unsaved(), sections, citations=0) == []


@pytest.mark.parametrize("kind", ["steps", "ways", "procedure"])
def test_steps_ways_and_procedures_must_be_numbered_lists(kind):
    problems = checks.check_guide(unsaved(), [section(kind, "How", "- one\n- two")], 0)
    assert codes(problems) == ["not-numbered"]
    assert problems[0].is_error and problems[0].section == 0 and problems[0].heading == "How"
    assert checks.check_guide(unsaved(), [section(kind, "How", "1. one\n2. two")], 0) == []
    # The page's renderer shows "1)" lines as a paragraph, not a list: refused too.
    problems = checks.check_guide(unsaved(), [section(kind, "How", "1) one\n2) two")], 0)
    assert codes(problems) == ["not-numbered"]


def test_empty_sections_and_repeated_headings_are_errors():
    problems = checks.check_guide(
        unsaved(), [section(heading="Fees", body="Ten."), section(heading=" fees ", body="  ")], 0
    )
    assert codes(problems) == ["empty-section", "repeated-heading"]
    assert all(problem.section == 1 for problem in problems)
    assert checks.publishing_refusal(problems)


def test_long_sentences_are_warnings_by_language():
    long_english = " ".join(["word"] * (checks.LONG_SENTENCE_WORDS + 1)) + "."
    short_english = " ".join(["word"] * checks.LONG_SENTENCE_WORDS) + "."
    assert codes(checks.check_guide(unsaved(), [section(body=long_english)], 0)) == [
        "long-sentence"
    ]
    assert checks.check_guide(unsaved(), [section(body=short_english)], 0) == []
    chinese = unsaved(language="zh-hans", summary="")
    long_chinese = "字" * (checks.LONG_SENTENCE_CHARACTERS + 1) + "。"
    problems = checks.check_guide(chinese, [section(body=long_chinese)], 0)
    assert codes(problems) == ["long-sentence"] and not problems[0].is_error
    assert checks.check_guide(chinese, [section(body="字" * 50 + "。" + "字" * 50)], 0) == []


def test_summary_outside_the_recommended_length_is_a_warning():
    assert codes(checks.check_guide(unsaved(summary="Too short."), [], 0)) == ["summary-length"]
    too_long = "A fine summary. " * 12
    assert codes(checks.check_guide(unsaved(summary=too_long), [], 0)) == ["summary-length"]


@pytest.mark.parametrize(
    "text", ["click here", "Here", "Read more.", "this link", "点击这里", "更多"]
)
def test_vague_link_text_is_a_warning(text):
    body = f"See [{text}](https://example.org/fees)."
    problems = checks.check_guide(unsaved(), [section(body=body)], 0)
    assert codes(problems) == ["vague-link-text"] and not problems[0].is_error
    fine = "See [the fees](https://example.org/fees) or [here is the form](https://example.org)."
    assert checks.check_guide(unsaved(), [section(body=fine)], 0) == []


def test_links_to_guides_must_be_published_and_exist():
    live = make_article()
    draft = make_draft()
    gone_category = make_category()
    bodies = {
        "live": f"[Fees]({live.get_absolute_url()})",
        "absolute": f"[Fees](http://testserver{live.get_absolute_url()})",
        "draft": f"[Draft]({draft.get_absolute_url()})",
        "missing": f"[Gone](/en/{gone_category.slug}/no-such-guide/)",
        "category": f"[A category](/en/{gone_category.slug}/)",
    }
    found = {
        name: codes(checks.check_guide(unsaved(), [section(body=body)], 0))
        for name, body in bodies.items()
    }
    assert found == {
        "live": [],
        "absolute": [],
        "draft": ["broken-guide-link"],
        "missing": ["broken-guide-link"],
        "category": [],
    }
    # A guide an import publishes at the same time counts as published.
    body = f"[Draft]({draft.get_absolute_url()})"
    assert (
        checks.check_guide(unsaved(), [section(body=body)], 0, published_slugs={draft.slug}) == []
    )


def test_a_moved_guide_is_followed_through_its_redirect():
    live = make_article()
    old_url = live.get_absolute_url()
    live.slug = "renamed-guide"
    live.save()
    assert live.get_absolute_url() != old_url
    problems = checks.check_guide(unsaved(), [section(body=f"[Fees]({old_url})")], 0)
    assert problems == []


def test_a_guide_citing_no_law_is_warned_when_its_category_mostly_cites(
    django_assert_max_num_queries,
):
    category = make_category()
    provision = make_provision()
    for _ in range(2):
        cite(make_article(category=category), provision)
    make_article(category=category)  # 2 of 3 cite a law
    data = unsaved(category_id=category.pk)
    with django_assert_max_num_queries(1):
        assert codes(checks.check_guide(data, [], 0)) == ["no-law"]
    assert checks.check_guide(data, [], 1) == []
    other = make_category()
    make_article(category=other)
    assert checks.check_guide(unsaved(category_id=other.pk), [], 0) == []


def test_a_saved_guide_is_read_from_the_database(django_assert_max_num_queries):
    guide = make_draft(summary=GOOD_SUMMARY)
    make_section(guide, kind=Section.Kind.STEPS, body="Just text.")
    make_section(guide, kind=Section.Kind.TEXT, body="[Guide](/en/nothing/none/)")
    with django_assert_max_num_queries(6):
        problems = checks.check_guide(guide)
    assert codes(problems) == ["broken-guide-link", "not-numbered"]


# Publishing paths.


def _bad_guide(**fields):
    guide = make_draft(summary=GOOD_SUMMARY, **fields)
    make_section(guide, heading="Steps", kind=Section.Kind.STEPS, body="No list here.")
    return guide


def test_publish_refuses_a_guide_with_errors(publisher):
    guide = _bad_guide()
    with pytest.raises(ValidationError, match="numbered list"):
        workflow.publish(guide, publisher.user)
    guide.refresh_from_db()
    assert guide.status == Article.Status.DRAFT


def test_bulk_publish_reports_the_errors_and_publishes_the_others(publisher):
    bad = _bad_guide()
    good = make_draft(summary=GOOD_SUMMARY)
    make_section(good)
    response = publisher.client.post(
        reverse("admin:articles_article_changelist"),
        {"action": "publish_selected", "_selected_action": [bad.pk, good.pk]},
        follow=True,
    )
    text = response.content.decode()
    assert "numbered list" in text
    bad.refresh_from_db()
    good.refresh_from_db()
    assert bad.status == Article.Status.DRAFT
    assert good.status == Article.Status.PUBLISHED


def test_change_form_refuses_to_publish_with_errors_and_shows_the_panel(publisher):
    guide = _bad_guide()
    url = reverse("admin:articles_article_change", args=[guide.pk])
    page = publisher.client.get(url).content.decode()
    assert "Checks before publishing" in page and "numbered list" in page
    response = publisher.client.post(url, change_form(guide, status=Article.Status.PUBLISHED))
    assert response.status_code == 200
    assert "numbered list" in response.content.decode()
    guide.refresh_from_db()
    assert guide.status == Article.Status.DRAFT
    # Fixed in the same form: published, with the warnings shown after the save.
    data = change_form(guide, status=Article.Status.PUBLISHED, summary="Short.")
    data["sections-0-body"] = "1. Open the form.\n2. Send it."
    response = publisher.client.post(url, data, follow=True)
    guide.refresh_from_db()
    assert guide.status == Article.Status.PUBLISHED
    assert "read best in search results" in response.content.decode()


def test_editor_saving_a_draft_with_errors_is_not_blocked(editor):
    guide = _bad_guide()
    url = reverse("admin:articles_article_change", args=[guide.pk])
    response = editor.client.post(url, change_form(guide, title="New title"))
    assert response.status_code == 302
    page = editor.client.get(url).content.decode()
    assert "Error (blocks publishing)" in page


def test_a_scheduled_revision_failing_the_checks_goes_back_to_review(publisher):
    guide = make_article(summary=GOOD_SUMMARY)
    make_section(guide)
    revision = workflow.prepare_draft_revision(guide, publisher.user)
    revision.sections.update(body="No longer a list.")
    Article.objects.filter(pk=revision.pk).update(
        status=Article.Status.PUBLISHED, published_at=timezone.now() - timedelta(minutes=1)
    )
    assert workflow.apply_due_revisions() == 0
    revision.refresh_from_db()
    assert revision.status == Article.Status.IN_REVIEW
    assert "numbered list" in revision.publish_problem


# History: restoring a version, or recovering a deleted guide, is a save through the
# change form (django-reversion writes the version back first, then the form posts).


def _public_guide_failing_the_checks_saved_once(publisher):
    """A public guide whose steps fail the checks (written before they existed),
    saved through the admin: its version in the history is public content."""
    guide = _bad_guide()
    Article.objects.filter(pk=guide.pk).update(
        status=Article.Status.PUBLISHED, published_at=timezone.now()
    )
    url = reverse("admin:articles_article_change", args=[guide.pk])
    # Saved as it is while public (an edit of a live guide is not blocked).
    data = change_form(guide, title="Residence card", change_note="Reworded the title.")
    assert publisher.client.post(url, data).status_code == 302
    return guide, url


def _published_version_of_a_guide_now_failing(publisher):
    """That guide, then unpublished."""
    guide, url = _public_guide_failing_the_checks_saved_once(publisher)
    published = Version.objects.get_for_object(guide).get()
    data = change_form(guide, status=Article.Status.DRAFT)
    assert publisher.client.post(url, data).status_code == 302
    guide.refresh_from_db()
    assert guide.status == Article.Status.DRAFT
    return guide, published


def _posted_form(client, url, data):
    """`data`, the guide's form, as posted back from the history's form at `url`."""
    form = client.get(url).content.decode()
    started = re.search(r'name="edited_version" value="([^"]*)"', form).group(1)
    assert 'value="published" selected' in form  # the version's status, as it was
    return {**data, "status": Article.Status.PUBLISHED, "edited_version": started}


def test_restoring_a_published_version_runs_the_checks(publisher):
    guide, published = _published_version_of_a_guide_now_failing(publisher)
    url = reverse("admin:articles_article_revision", args=[guide.pk, published.pk])
    data = _posted_form(publisher.client, url, change_form(guide))
    response = publisher.client.post(url, data)
    assert response.status_code == 200
    assert "numbered list" in response.content.decode()
    guide.refresh_from_db()
    assert guide.status == Article.Status.DRAFT  # nothing was restored

    data["sections-0-body"] = "1. Go to the counter.\n2. Show your card."
    assert publisher.client.post(url, data).status_code == 302
    guide.refresh_from_db()
    assert guide.status == Article.Status.PUBLISHED


def test_recovering_a_deleted_published_guide_runs_the_checks(publisher):
    guide, _url = _public_guide_failing_the_checks_saved_once(publisher)
    data = change_form(guide)
    Article.objects.filter(pk=guide.pk).delete()
    deleted = Version.objects.get_deleted(Article).get()
    url = reverse("admin:articles_article_recover", args=[deleted.pk])
    data = _posted_form(publisher.client, url, data)
    response = publisher.client.post(url, data)
    assert response.status_code == 200
    assert "numbered list" in response.content.decode()
    assert not Article.objects.filter(pk=guide.pk).exists()


def test_restoring_a_version_of_a_live_guide_is_not_blocked(publisher):
    """As any edit of a live guide: saved, the panel lists the problems."""
    guide, published = _published_version_of_a_guide_now_failing(publisher)
    Article.objects.filter(pk=guide.pk).update(
        status=Article.Status.PUBLISHED, published_at=timezone.now()
    )
    url = reverse("admin:articles_article_revision", args=[guide.pk, published.pk])
    data = _posted_form(publisher.client, url, change_form(guide))
    assert publisher.client.post(url, data).status_code == 302


def test_a_scheduled_guide_is_checked_when_edited(publisher):
    """It goes live at its time with no other check: its edits are publishing it."""
    guide = make_draft(summary=GOOD_SUMMARY)
    make_section(guide, heading="Steps", kind=Section.Kind.STEPS, body="1. Go.\n2. Ask.")
    url = reverse("admin:articles_article_change", args=[guide.pk])
    later = timezone.localtime() + timedelta(days=2)
    scheduled = {
        "status": Article.Status.PUBLISHED,
        "published_at_0": later.strftime("%Y-%m-%d"),
        "published_at_1": later.strftime("%H:%M:%S"),
    }
    assert publisher.client.post(url, change_form(guide, **scheduled)).status_code == 302
    guide.refresh_from_db()
    assert guide.status == Article.Status.PUBLISHED and not guide.is_published()

    for when in [later, timezone.localtime() - timedelta(hours=1)]:  # kept, or made live now
        data = change_form(
            guide,
            published_at_0=when.strftime("%Y-%m-%d"),
            published_at_1=when.strftime("%H:%M:%S"),
        )
        data["sections-0-body"] = "Just go."
        response = publisher.client.post(url, data)
        assert response.status_code == 200, when
        assert "numbered list" in response.content.decode()
    assert guide.sections.get().body == "1. Go.\n2. Ask."


def test_restoring_onto_a_scheduled_guide_runs_the_checks(publisher):
    guide, published = _published_version_of_a_guide_now_failing(publisher)
    Section.objects.filter(article=guide).update(body="1. Go.\n2. Ask.")
    Article.objects.filter(pk=guide.pk).update(
        status=Article.Status.PUBLISHED, published_at=timezone.now() + timedelta(days=2)
    )
    url = reverse("admin:articles_article_revision", args=[guide.pk, published.pk])
    data = _posted_form(publisher.client, url, change_form(guide))
    data["sections-0-body"] = "Just go."
    response = publisher.client.post(url, data)
    assert response.status_code == 200
    assert "numbered list" in response.content.decode()


def test_a_form_posted_without_its_sections_is_checked_on_the_saved_ones(publisher):
    guide = _bad_guide()
    url = reverse("admin:articles_article_change", args=[guide.pk])
    data = {
        key: value
        for key, value in change_form(guide, status=Article.Status.PUBLISHED).items()
        if not key.startswith("sections-")
    }
    data |= {"sections-TOTAL_FORMS": "0", "sections-INITIAL_FORMS": "0"}
    response = publisher.client.post(url, data)
    assert response.status_code == 200
    assert "numbered list" in response.content.decode()
    guide.refresh_from_db()
    assert guide.status == Article.Status.DRAFT


def test_a_history_address_with_a_bad_guide_id_is_not_found(publisher):
    response = publisher.client.get("/admin/articles/article/abc/history/1/")
    assert response.status_code == 404


# import_guides.


def _write_guide(directory: Path, slug, category, status, body):
    (directory / "guides").mkdir(parents=True, exist_ok=True)
    (directory / "guides" / f"{slug}.md").write_text(
        f"---\ntitle: Guide {slug}\nslug: {slug}\ncategory: {category.slug}\n"
        f"summary: {GOOD_SUMMARY}\nstatus: {status}\n"
        + ("published_at: 2026-01-01T10:00:00+00:00\n" if status == "published" else "")
        + "---\n"
        f"<!-- section: steps -->\n## Apply\n\n{body}\n",
        encoding="utf-8",
    )


def test_import_refuses_a_published_guide_with_errors(publisher, tmp_path):
    category = make_category()
    _write_guide(tmp_path, "bad-guide", category, "published", "Not a list, click here.")
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("import_guides", str(tmp_path), user=publisher.user.username, stderr=err)
    assert "bad-guide.md" in err.getvalue() and "section “Apply”" in err.getvalue()
    assert "numbered list" in err.getvalue()
    assert not Article.objects.filter(slug="bad-guide").exists()


def test_import_prints_warnings_and_lets_drafts_through(publisher, tmp_path):
    category = make_category()
    _write_guide(tmp_path, "draft-guide", category, "draft", "Not a list.")
    _write_guide(
        tmp_path, "good-guide", category, "published", "1. See [here](https://example.org/)."
    )
    out = StringIO()
    call_command("import_guides", str(tmp_path), user=publisher.user.username, stdout=out)
    assert "warning:" in out.getvalue()
    assert Article.objects.get(slug="good-guide").status == Article.Status.PUBLISHED


# The demo content passes.


def test_the_demo_guides_pass_the_checks(demo):
    for guide in Article.objects.filter(status=Article.Status.PUBLISHED):
        assert checks.errors(checks.check_guide(guide)) == [], guide.slug
