"""Language versions in the editors' admin: starting a translation, major and minor
edits, outdated translations, what needs translating, and the roles on every path.

Each path runs as an Editor, the weakest role, where an Editor may take it; a
Publisher publishes."""

import json
import re
from datetime import timedelta
from http import HTTPStatus

import pytest
import reversion
import time_machine
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from reversion.models import Version

from articles import translation
from articles.models import Article, RelatedLink
from articles.translation import LanguageState, start_translation
from articles.workflow import apply_due_revisions, prepare_draft_revision, publish
from tests.factories import (
    cite,
    make_article,
    make_category,
    make_draft,
    make_provision,
    make_section,
)
from tests.helpers import change_form, inline_data

pytestmark = pytest.mark.django_db

GUIDES = "/admin/articles/article/"
ZH = "zh-hans"


def change_url(article):
    return f"{GUIDES}{article.pk}/change/"


def save(client, article, **overrides):
    return client.post(change_url(article), change_form(article, **overrides))


def errors(response):
    return " ".join(str(e) for e in response.context["errors"]) if response.context else ""


def messages_shown(response):
    return " ".join(str(m) for m in get_messages(response.wsgi_request))


def states(article):
    """{language: state} of the article's guide, read afresh."""
    article = Article.objects.get(pk=article.pk)
    return {status.code: status.state for status in translation.language_statuses(article)}


def listed(client, query=""):
    response = client.get(f"{GUIDES}{query}")
    assert response.status_code == HTTPStatus.OK
    return {row.pk for row in response.context["cl"].result_list}


def translate(client, article, language=ZH):
    return client.post(f"{GUIDES}{article.pk}/translate/", {"language": language})


@pytest.fixture
def published_pair(publisher):
    """An English guide and its published Chinese translation, both up to date."""
    user, client = publisher
    english = make_draft(title="Renew a residence permit", slug="renew-a-residence-permit")
    make_section(english, heading="Steps", body="1. Book an appointment")
    an_hour_ago = timezone.localtime() - timedelta(hours=1)
    response = save(
        client,
        english,
        status="published",
        published_at_0=an_hour_ago.strftime("%Y-%m-%d"),
        published_at_1=an_hour_ago.strftime("%H:%M:%S"),
        major_change="on",
    )
    assert response.status_code == HTTPStatus.FOUND, errors(response)
    english.refresh_from_db()
    chinese = start_translation(english, ZH, user)
    publish(chinese, user)
    assert states(english) == {"en": LanguageState.SOURCE, ZH: LanguageState.UP_TO_DATE}
    return english, chinese


# Starting a translation.


def test_a_translation_starts_as_a_draft_copy_with_the_same_structure(editor):
    user, _ = editor
    category, owner = make_category(), make_article().owner
    linked_with_chinese, linked_english_only = make_article(), make_article()
    chinese_version = start_translation(linked_with_chinese, ZH, None)
    source = make_article(
        title="Transfer a pension",
        slug="transfer-a-pension",
        category=category,
        owner=owner,
        previous_article=linked_with_chinese,
        next_article=linked_english_only,
        tags=["pension", "transfer"],
        major_change_at=timezone.now() - timedelta(days=2),
    )
    make_section(source, kind="steps", heading="Steps", body="1. Apply\n2. Wait", position=1)
    make_section(source, kind="question", heading="Who pays?", body="The employer.", position=2)
    provision = make_provision()
    cite(source, provision, position=3)
    RelatedLink.objects.create(from_article=source, to_article=linked_with_chinese, position=1)
    RelatedLink.objects.create(from_article=source, to_article=linked_english_only, position=2)

    copy = start_translation(source, ZH, user)

    assert copy.status == Article.Status.DRAFT and copy.published_at is None
    assert (copy.language, copy.translation_group) == (ZH, source.translation_group)
    assert copy.translated_from == "en" and copy.draft_of is None
    assert copy.source_change_followed == source.major_change_at
    assert copy.slug == "transfer-a-pension-zh-hans"
    assert (copy.category, copy.owner, copy.last_edited_by) == (category, owner, user)
    assert [(s.kind, s.heading, s.body, s.position) for s in copy.sections.all()] == [
        ("steps", "Steps", "1. Apply\n2. Wait", 1),
        ("question", "Who pays?", "The employer.", 2),
    ]
    assert "<ol>" in copy.sections.first().body_html
    assert [(c.provision, c.position) for c in copy.citations.all()] == [(provision, 3)]
    assert sorted(copy.tags.names()) == ["pension", "transfer"]
    # Links go to the Chinese versions where they exist, and are left out otherwise.
    assert copy.previous_article == chinese_version and copy.next_article is None
    assert list(copy.related_links.values_list("to_article", flat=True)) == [chinese_version.pk]
    # The source is untouched.
    assert source.sections.count() == 2 and source.related_links.count() == 2
    assert states(source) == {"en": LanguageState.SOURCE, ZH: LanguageState.DRAFT}


def test_a_translation_is_refused_when_it_exists_from_a_revision_or_in_an_unknown_language(
    publisher,
):
    user, _ = publisher
    source = make_article(title="Card guide")
    existing = start_translation(source, ZH, user)
    with pytest.raises(ValidationError, match="already has a version in 简体中文"):
        start_translation(source, ZH, user)
    with pytest.raises(ValidationError, match="already has a version in English"):
        start_translation(existing, "en", user)
    revision = prepare_draft_revision(make_article(), user)
    with pytest.raises(ValidationError, match="draft revision"):
        start_translation(revision, ZH, user)
    with pytest.raises(ValidationError, match="not one of the site's languages"):
        start_translation(make_article(), "fr", user)
    assert Article.objects.filter(language=ZH).count() == 1


def test_the_slug_is_unique_and_fits(editor):
    user, _ = editor
    source = make_article(slug="card-guide")
    make_article(slug="card-guide-zh-hans")
    assert start_translation(source, ZH, user).slug == "card-guide-zh-hans-2"
    long_source = make_article(slug="办理" * 75)
    copy = start_translation(long_source, ZH, user)
    copy.full_clean()  # within the slug's length and the longest address
    assert copy.slug.endswith("-zh-hans")


# The admin: the button, roles, the draft's workflow.


def test_an_editor_starts_a_translation_and_cannot_publish_it(editor, publisher):
    editor_user, staff = editor
    source = make_article(title="Open a bank account", tags=["bank"])
    make_section(source, heading="Steps", body="1. Bring your passport")

    form = staff.get(change_url(source)).content.decode()
    assert f'action="{GUIDES}{source.pk}/translate/"' in form
    assert "Translate into" in form and '<span lang="zh-Hans">简体中文</span>' in form
    response = translate(staff, source)

    copy = Article.objects.get(translation_group=source.translation_group, language=ZH)
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == change_url(copy)
    assert "A draft 简体中文 translation was started" in messages_shown(response)
    assert copy.status == Article.Status.DRAFT and copy.last_edited_by == editor_user
    history = Version.objects.get_for_object(copy).get().revision
    assert history.user == editor_user and "Translation into 简体中文" in history.get_comment()

    # The Editor translates and submits for review, like any draft.
    response = save(staff, copy, title="开设银行账户", slug="开设银行账户", status="review")
    assert response.status_code == HTTPStatus.FOUND, errors(response)
    # Publishing stays a Publisher's, on every path.
    response = save(staff, copy, status="published")
    assert "Only a Publisher" in errors(response)
    staff.post(GUIDES, {"action": "publish_selected", "_selected_action": [copy.pk]})
    assert Article.objects.get(pk=copy.pk).status == Article.Status.IN_REVIEW
    with pytest.raises(Exception, match="Only a Publisher"):
        publish(Article.objects.get(pk=copy.pk), editor_user)

    _, publishing = publisher
    publishing.post(GUIDES, {"action": "publish_selected", "_selected_action": [copy.pk]})
    copy.refresh_from_db()
    assert copy.is_published() and copy.title == "开设银行账户"
    assert states(source) == {"en": LanguageState.SOURCE, ZH: LanguageState.UP_TO_DATE}


def test_a_publisher_starts_a_translation_from_the_list(publisher):
    _, client = publisher
    first, second = make_article(), make_article()
    client.post(
        GUIDES,
        {"action": "start_translations", "language": ZH, "_selected_action": [first.pk]},
    )
    copy = Article.objects.get(translation_group=first.translation_group, language=ZH)
    assert copy.status == Article.Status.DRAFT
    # A second time: refused with the reason, and the other guide still done.
    response = client.post(
        GUIDES,
        {
            "action": "start_translations",
            "language": ZH,
            "_selected_action": [first.pk, second.pk],
        },
    )
    assert "already has a version in 简体中文" in messages_shown(response)
    assert Article.objects.filter(language=ZH).count() == 2


def test_the_translate_button_refuses_gets_strangers_and_revisions(editor, client):
    user, staff = editor
    source = make_article()
    assert staff.get(f"{GUIDES}{source.pk}/translate/").status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert translate(client, source).status_code == HTTPStatus.FOUND  # to the login
    assert not Article.objects.filter(language=ZH).exists()
    revision = prepare_draft_revision(source, user)
    assert "/translate/" not in staff.get(change_url(revision)).content.decode()
    response = translate(staff, revision)
    assert response["Location"] == change_url(revision)
    assert "draft revision" in messages_shown(response)
    assert not Article.objects.filter(language=ZH).exists()
    # Nothing left to translate: no button.
    start_translation(source, ZH, user)
    assert "/translate/" not in staff.get(change_url(source)).content.decode()


# Major and minor edits, outdated translations.


def test_major_and_minor_edits_and_marking_a_translation_up_to_date(publisher, published_pair):
    _, client = publisher
    english, chinese = published_pair

    # A minor edit (the box unticked): the translation stays up to date.
    response = save(client, english, title="Renew your residence permit")
    assert response.status_code == HTTPStatus.FOUND, errors(response)
    assert states(chinese)[ZH] == LanguageState.UP_TO_DATE
    assert chinese.pk in listed(client, "?translation=current")

    # A major edit: the translation is outdated, and the filters find it.
    response = save(
        client,
        english,
        summary="New rules from March.",
        major_change="on",
        change_note="New rules from March.",
    )
    assert response.status_code == HTTPStatus.FOUND, errors(response)
    assert states(chinese) == {"en": LanguageState.SOURCE, ZH: LanguageState.OUTDATED}
    assert listed(client, "?translation=outdated") == {english.pk, chinese.pk}
    assert listed(client, "?translation=needed") == {english.pk, chinese.pk}
    assert listed(client, "?translation=current") == set()
    page = client.get(f"{GUIDES}?translation=outdated").content.decode()
    assert '<span lang="zh-Hans">简体中文</span></a>: outdated' in page

    # Edited without saying so: still outdated.
    response = save(client, chinese, title="更新居留许可")
    assert response.status_code == HTTPStatus.FOUND, errors(response)
    assert states(chinese)[ZH] == LanguageState.OUTDATED

    # The translator says it matches the source now: up to date.
    form = client.get(change_url(chinese)).content.decode()
    assert "This translation now matches the source" in form
    assert "Major change: translations must be updated" not in form
    response = save(client, chinese, translation_matches="on")
    assert response.status_code == HTTPStatus.FOUND, errors(response)
    assert states(chinese)[ZH] == LanguageState.UP_TO_DATE
    assert listed(client, "?translation=current") == {english.pk, chinese.pk}


def test_the_major_change_box_is_ticked_by_default_and_a_new_guide_is_a_major_change(
    editor,
):
    _, staff = editor
    form = staff.get(f"{GUIDES}add/").content.decode()
    assert 'name="major_change"' not in form and 'name="language"' in form
    data = change_form(make_draft(), refresh=False) | {
        "title": "外国人就业许可",
        "slug": "外国人就业许可",
        "language": ZH,
        "status": "draft",
        "edited_version": "",
    }
    data |= inline_data("sections", [])
    before = timezone.now()
    response = staff.post(f"{GUIDES}add/", data)
    assert response.status_code == HTTPStatus.FOUND, errors(response)
    added = Article.objects.get(slug="外国人就业许可")
    assert added.language == ZH and added.translated_from == ""
    assert added.major_change_at >= before
    form = staff.get(change_url(added)).content.decode()
    assert re.search(r'<input type="checkbox" name="major_change"[^>]* checked', form)
    assert "This translation now matches the source" not in form


def test_an_editor_revises_a_live_source_and_the_major_change_goes_live_with_it(
    editor, publisher, published_pair
):
    english, chinese = published_pair
    _, staff = editor
    staff.post(GUIDES, {"action": "prepare_draft_revisions", "_selected_action": [english.pk]})
    revision = english.draft_revisions.get()
    assert (revision.language, revision.translation_group) == ("en", english.translation_group)

    response = save(
        staff,
        revision,
        summary="New rules from March.",
        major_change="on",
        change_note="New rules from March.",
    )
    assert response.status_code == HTTPStatus.FOUND, errors(response)
    # Not live yet: the translation still matches what citizens read.
    assert states(chinese)[ZH] == LanguageState.UP_TO_DATE

    publisher_user, _ = publisher
    publish(Article.objects.get(pk=revision.pk), publisher_user)
    english.refresh_from_db()
    assert english.summary == "New rules from March."
    assert states(chinese)[ZH] == LanguageState.OUTDATED


def test_a_minor_revision_going_live_leaves_translations_up_to_date(
    editor, publisher, published_pair
):
    english, chinese = published_pair
    editor_user, staff = editor
    revision = prepare_draft_revision(english, editor_user)
    response = save(staff, revision, title="Renew your residence permit")
    assert response.status_code == HTTPStatus.FOUND, errors(response)
    publish(Article.objects.get(pk=revision.pk), publisher[0])
    assert Article.objects.get(pk=english.pk).title == "Renew your residence permit"
    assert states(chinese)[ZH] == LanguageState.UP_TO_DATE


def test_a_scheduled_revision_of_a_translation_brings_it_up_to_date_when_due(
    editor, publisher, published_pair
):
    english, chinese = published_pair
    publisher_user, client = publisher
    save(
        client,
        english,
        summary="New rules from March.",
        major_change="on",
        change_note="New rules from March.",
    )
    assert states(chinese)[ZH] == LanguageState.OUTDATED

    editor_user, staff = editor
    revision = prepare_draft_revision(Article.objects.get(pk=chinese.pk), editor_user)
    form = staff.get(change_url(revision)).content.decode()
    assert "This translation now matches the source" in form
    assert 'name="language"' not in form  # always its guide's
    response = save(staff, revision, summary="三月起的新规定。", translation_matches="on")
    assert response.status_code == HTTPStatus.FOUND, errors(response)
    assert states(chinese)[ZH] == LanguageState.OUTDATED  # not live yet

    due = timezone.now() + timedelta(days=1)
    publish(Article.objects.get(pk=revision.pk), publisher_user, when=due)
    with time_machine.travel(due + timedelta(minutes=1)):
        assert apply_due_revisions() == 1
    chinese.refresh_from_db()
    assert chinese.summary == "三月起的新规定。" and chinese.language == ZH
    assert states(chinese)[ZH] == LanguageState.UP_TO_DATE


# Languages of existing guides.


def test_moving_a_guide_into_a_language_its_guide_has_is_a_form_error(publisher, published_pair):
    _, client = publisher
    english, chinese = published_pair
    response = save(client, chinese, language="en")
    assert response.status_code == HTTPStatus.OK
    assert "already has a version in English" in errors(response)
    assert Article.objects.get(pk=chinese.pk).language == ZH
    # While a draft revision waits, the guide keeps its language (the revision's).
    user, _ = publisher
    revised = make_article()
    prepare_draft_revision(revised, user)
    response = save(client, revised, language=ZH)
    assert "has a draft revision" in errors(response)
    assert (
        Article.objects.filter(translation_group=revised.translation_group)
        .filter(language="en")
        .count()
        == 2
    )
    # A guide alone in its group may change language.
    lone = make_draft()
    response = save(client, lone, language=ZH, major_change="on")
    assert response.status_code == HTTPStatus.FOUND, errors(response)
    assert Article.objects.get(pk=lone.pk).language == ZH


def test_restoring_a_version_in_a_language_now_taken_is_refused(publisher):
    user, client = publisher
    guide = make_draft(title="Pay tax")
    response = save(client, guide, major_change="on")
    assert response.status_code == HTTPStatus.FOUND, errors(response)
    english_version = Version.objects.get_for_object(guide).first()
    response = save(client, guide, language=ZH)
    assert response.status_code == HTTPStatus.FOUND, errors(response)
    guide.refresh_from_db()
    english = start_translation(guide, "en", user)

    response = client.post(
        f"{GUIDES}{guide.pk}/history/{english_version.pk}/",
        change_form(guide),
    )
    assert response.status_code == HTTPStatus.FOUND
    assert "would come back in English" in messages_shown(response)
    assert Article.objects.get(pk=guide.pk).language == ZH
    assert Article.objects.get(pk=english.pk).language == "en"


def test_restoring_a_version_from_before_languages_keeps_the_guide_in_its_group(publisher):
    user, client = publisher
    guide = make_draft(title="First title")
    with reversion.create_revision():
        reversion.add_to_revision(guide)
    old = Version.objects.get_for_object(guide).first()
    # Saved before guides had languages: the fields were not there.
    saved = json.loads(old.serialized_data)
    for name in ["language", "translation_group", "translated_from"]:
        del saved[0]["fields"][name]
    Version.objects.filter(pk=old.pk).update(serialized_data=json.dumps(saved))
    old.refresh_from_db()
    guide.title = "Second title"
    guide.save()
    chinese = start_translation(guide, ZH, user)

    # The revert form as a browser posts it back: the old version's values.
    form = change_form(
        guide, title="First title", edited_version=old.field_dict["updated_at"].isoformat()
    )
    response = client.post(f"{GUIDES}{guide.pk}/history/{old.pk}/", form)
    assert response.status_code == HTTPStatus.FOUND, messages_shown(response)
    guide.refresh_from_db()
    assert guide.title == "First title"
    assert guide.translation_group == chinese.translation_group and guide.language == "en"


# The changelist and the change form.


def test_the_changelist_shows_and_filters_languages(publisher, published_pair):
    _, client = publisher
    english, chinese = published_pair
    alone = make_article(title="Only in English")
    draft_translation = start_translation(make_article(title="Being translated"), ZH, None)

    page = client.get(GUIDES).content.decode()
    assert "简体中文</span>: missing" in page and "简体中文</span></a>: draft" in page
    assert "(this guide)" in page
    assert listed(client, "?language__exact=zh-hans") == {chinese.pk, draft_translation.pk}
    assert listed(client, "?translation=missing") == {alone.pk}
    assert listed(client, "?translation=needed") == {alone.pk}
    assert listed(client, "?translation=current") == {english.pk, chinese.pk}


def test_the_change_form_lists_the_other_language_versions(editor, published_pair):
    _, staff = editor
    english, chinese = published_pair
    page = staff.get(change_url(english)).content.decode()
    assert f'href="{change_url(chinese)}"' in page
    assert "简体中文</span></a>: up to date" in page
    assert "English</span></strong>" in page and ": source" in page


def test_the_filters_agree_with_the_statuses(publisher):
    """The queryset filters and the Python rules are written twice: same answers."""
    user, client = publisher
    now = timezone.now()
    up_to_date = make_article(major_change_at=now)
    publish(start_translation(up_to_date, ZH, user), user)
    outdated = make_article(major_change_at=now - timedelta(days=1))
    publish(start_translation(outdated, ZH, user), user)
    Article.objects.filter(pk=outdated.pk).update(major_change_at=now)
    drafted = make_article(major_change_at=now)
    start_translation(drafted, ZH, user)
    make_article()  # missing
    make_draft(language=ZH)  # a Chinese original, English missing
    never_changed = make_article()  # no major change recorded: follows nothing
    publish(start_translation(never_changed, ZH, user), user)

    expected = {"outdated": set(), "missing": set(), "current": set(), "needed": set()}
    for article in Article.objects.all():
        found = set(states(article).values())
        if LanguageState.OUTDATED in found:
            expected["outdated"].add(article.pk)
        if LanguageState.MISSING in found:
            expected["missing"].add(article.pk)
        if found <= {LanguageState.SOURCE, LanguageState.UP_TO_DATE}:
            expected["current"].add(article.pk)
    expected["needed"] = expected["outdated"] | expected["missing"]
    assert expected["outdated"] and expected["missing"] and expected["current"]
    for value, pks in expected.items():
        assert listed(client, f"?translation={value}") == pks, value


def test_the_changelist_costs_the_same_queries_however_many_guides(publisher):
    user, client = publisher

    def add_guides(count):
        for _ in range(count):
            guide = make_article(major_change_at=timezone.now())
            publish(start_translation(guide, ZH, user), user)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(GUIDES).status_code == HTTPStatus.OK
        return len(captured)

    add_guides(2)
    client.get(GUIDES)  # a first request reads the session and the revision schedule
    few = queries()
    add_guides(8)
    client.get(GUIDES)
    assert queries() == few


def test_translating_a_guide_into_its_own_language_says_so(publisher):
    user, _ = publisher
    source = make_article(title="Card guide")
    with pytest.raises(ValidationError, match="is itself the version in English"):
        start_translation(source, "en", user)
