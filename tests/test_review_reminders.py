"""Review reminders: guides whose review date has come, or that a law change flagged,
are listed on the admin index for their owner, and `manage.py send_review_reminders`
e-mails each owner one digest (tests use Django's locmem backend: mail.outbox)."""

import socket
from datetime import timedelta
from http import HTTPStatus
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from articles.models import Article
from articles.workflow import prepare_draft_revision
from tests.factories import STAFF_PASSWORD, make_article, make_draft, make_staff_member

pytestmark = pytest.mark.django_db

INDEX = "/admin/"


def today():
    return timezone.localdate()


def due_guides(owner, **fields):
    """An overdue guide and a flagged one of `owner`, and guides of theirs not due."""
    overdue = make_article(
        owner=owner, title="Overdue guide", review_by=today() - timedelta(days=3), **fields
    )
    flagged = make_article(owner=owner, title="Flagged guide", needs_review=True, **fields)
    make_article(owner=owner, title="Fresh guide", review_by=today() + timedelta(days=9))
    make_draft(owner=owner, title="Draft guide", review_by=today() - timedelta(days=3))
    make_article(
        owner=owner,
        title="Archived guide",
        status=Article.Status.ARCHIVED,
        review_by=today() - timedelta(days=3),
    )
    return overdue, flagged


def index(client) -> str:
    response = client.get(INDEX)
    assert response.status_code == HTTPStatus.OK
    return response.content.decode()


def panel(html) -> str:
    if 'id="review-reminders"' not in html:
        return ""
    start = html.index('id="review-reminders"')
    return html[start : html.index("</div>", start)]


class TestTheAdminIndex:
    def test_an_owner_sees_their_due_guides_and_no_one_elses(self, editor, publisher):
        mine = due_guides(editor.user)
        theirs = due_guides(publisher.user)
        due_today = make_article(owner=editor.user, title="Due today", review_by=today())
        revision = prepare_draft_revision(mine[0], editor.user)
        shown = panel(index(editor.client))
        assert "Your guides due for review (3)" in shown
        for guide in [*mine, due_today]:
            assert f'href="/admin/articles/article/{guide.pk}/change/"' in shown
        for guide in [*theirs, revision]:
            assert f"/{guide.pk}/change/" not in shown
        for title in ["Fresh guide", "Draft guide", "Archived guide"]:
            assert title not in shown
        assert "A law it cites changed." in shown and "Review date:" in shown
        # Most urgent first: the law change, then by review date.
        assert (
            shown.index("Flagged guide") < shown.index("Overdue guide") < shown.index("Due today")
        )

    def test_no_panel_without_due_guides_or_permission(self, editor):
        make_article(owner=editor.user, review_by=today() + timedelta(days=9))
        assert panel(index(editor.client)) == ""
        user = User.objects.create_user("nobody", password=STAFF_PASSWORD, is_staff=True)
        make_article(owner=user, needs_review=True)
        client = Client()
        client.force_login(user)
        assert panel(index(client)) == ""

    def test_the_panel_costs_the_same_queries_however_many_guides(self, editor):
        due_guides(editor.user)
        with CaptureQueriesContext(connection) as few:
            assert "(2)" in panel(index(editor.client))
        for n in range(25):
            make_article(owner=editor.user, title=f"Old guide {n}", needs_review=True)
        with CaptureQueriesContext(connection) as many:
            shown = panel(index(editor.client))
        assert "Your guides due for review (27)" in shown
        assert shown.count("/change/") == 10
        assert len(many) <= len(few) + 1  # the count, read only past the first ten

    def test_see_all_opens_the_guide_list_filtered_the_same_way(self, editor, publisher):
        for n in range(12):
            make_article(owner=editor.user, title=f"Old guide {n}", needs_review=True)
        make_article(owner=publisher.user, title="Not mine", needs_review=True)
        make_article(owner=editor.user, title="Fresh guide", review_by=today() + timedelta(9))
        shown = panel(index(editor.client))
        assert "See all 12 guides due for review" in shown
        url = f"/admin/articles/article/?owner__id__exact={editor.user.pk}&amp;review=due"
        assert url in shown
        listed = editor.client.get(url.replace("&amp;", "&")).content.decode()
        assert "12 guides" in listed
        assert "Not mine" not in listed and "Fresh guide" not in listed


class TestTheCommand:
    def run(self, *args) -> str:
        out = StringIO()
        call_command("send_review_reminders", *args, stdout=out)
        return out.getvalue()

    @pytest.fixture
    def owners(self, db):
        alice = make_staff_member("Editor", username="alice").user
        alice.email, alice.first_name, alice.last_name = "alice@example.org", "Alice", "Li"
        alice.save()
        bob = make_staff_member("Publisher", username="bob").user
        bob.email = "bob@example.org"
        bob.save()
        carol = make_staff_member("Editor", username="carol").user  # no e-mail address
        return alice, bob, carol

    def test_one_digest_per_owner_with_links_to_the_admin(self, owners, settings):
        settings.SITE_URL = "https://help.example.org"
        alice, bob, carol = owners
        overdue, flagged = due_guides(alice)
        bobs = make_article(owner=bob, title="Bob's guide", needs_review=True)
        make_article(owner=carol, needs_review=True)
        make_article(title="Nobody's guide", needs_review=True)

        out = self.run()

        assert len(mail.outbox) == 2
        by_recipient = {message.to[0]: message for message in mail.outbox}
        to_alice = by_recipient["alice@example.org"]
        assert "2 guides of yours are due for review" in to_alice.subject
        assert to_alice.body.startswith("Hello Alice Li,")
        for guide in (overdue, flagged):
            assert guide.title in to_alice.body
            assert f"https://help.example.org/admin/articles/article/{guide.pk}/change/" in (
                to_alice.body
            )
        assert "A law it cites changed" in to_alice.body
        review_day = overdue.review_by
        assert f"Review date: {review_day.day} {review_day:%B %Y}." in to_alice.body
        assert "Fresh guide" not in to_alice.body and "Bob's guide" not in to_alice.body
        to_bob = by_recipient["bob@example.org"]
        assert "1 guide of yours is due for review" in to_bob.subject
        assert f"/admin/articles/article/{bobs.pk}/change/" in to_bob.body
        assert to_bob.from_email == settings.DEFAULT_FROM_EMAIL

        assert "Sent 2 review reminder(s) about 3 guide(s)" in out
        assert "Skipped carol (no e-mail address): 1 guide(s)" in out
        assert "1 guide(s) due for review have no owner" in out

    def test_inactive_owners_are_skipped(self, owners):
        alice, *_ = owners
        alice.is_active = False
        alice.save()
        due_guides(alice)
        out = self.run()
        assert mail.outbox == []
        assert "Skipped alice (no longer active)" in out

    def test_a_dry_run_sends_nothing_and_says_who_would_get_one(self, owners):
        alice, bob, _carol = owners
        due_guides(alice)
        out = self.run("--dry-run")
        assert mail.outbox == []
        assert "Would send 1 review reminder(s) about 2 guide(s)" in out
        assert "alice <alice@example.org>: 2 guide(s)" in out

    def test_nothing_due_nothing_sent(self, owners):
        alice, *_ = owners
        make_article(owner=alice, review_by=today() + timedelta(days=1))
        assert "Sent 0 review reminder(s)" in self.run()
        assert mail.outbox == []

    def test_it_is_written_in_the_sites_default_language(self, owners, settings):
        settings.LANGUAGE_CODE = "zh-hans"
        alice, *_ = owners
        make_article(owner=alice, title="Overdue guide", review_by=today() - timedelta(days=3))
        self.run()
        (message,) = mail.outbox
        day = today() - timedelta(days=3)
        # The shared date format is translated; the new sentences wait for the catalogue.
        assert f"{day.year}年{day.month}月{day.day}日" in message.body

    def test_a_mail_server_that_refuses_is_reported_and_fails_the_run(self, owners, settings):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]  # closed again: nothing listens there
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 2
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        alice, *_ = owners
        due_guides(alice)
        err = StringIO()
        with pytest.raises(CommandError, match="1 review reminder"):
            call_command("send_review_reminders", stdout=StringIO(), stderr=err)
        assert "Not sent to alice" in err.getvalue()
