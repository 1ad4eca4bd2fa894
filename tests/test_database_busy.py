"""Locks wait, never crash: when SQLite stays locked past its busy timeout the
answer is a 503 page with Retry-After, whether a view or a middleware hit the lock,
and a due revision waiting for the lock never fails the request."""

import sqlite3
from contextlib import contextmanager
from datetime import timedelta
from http import HTTPStatus

import pytest
import time_machine
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.utils import timezone

from articles.models import Article, ContentRevision
from articles.workflow import RETRY_AFTER_FAILURE, prepare_draft_revision, publish
from tests.factories import make_article, make_section

# A real database file: the lock is taken from another connection.
pytestmark = pytest.mark.django_db(transaction=True)
sqlite_only = pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's file lock")

# Long enough for SQLite to retry once, short enough to keep the suite fast.
SHORT_BUSY_TIMEOUT = 0.2


@contextmanager
def write_lock_held_elsewhere():
    """Another connection holds the write lock (as a long editor's save would), and
    this process waits only SHORT_BUSY_TIMEOUT for it."""
    options = connection.settings_dict["OPTIONS"]
    usual_timeout = options.get("timeout")
    options["timeout"] = SHORT_BUSY_TIMEOUT
    connection.close()  # the next query connects with the short timeout
    writer = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        writer.execute("ROLLBACK")
        writer.close()
        options["timeout"] = usual_timeout
        connection.close()


def assert_busy_page(response):
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response["Retry-After"].isdigit()
    assert "no-store" in response["Cache-Control"]
    assert "The service is busy" in response.content.decode()


class WritesOnEveryRequest:
    """A middleware that writes, so the lock is hit outside any view."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        ContentRevision.bump()
        return self.get_response(request)


@sqlite_only
def test_a_write_in_a_view_answers_503():
    User.objects.create_user("publisher", password="a long passphrase", is_staff=True)
    client = Client()
    with write_lock_held_elsewhere():
        # Signing in writes the session and the last login time.
        response = client.post(
            "/admin/login/", {"username": "publisher", "password": "a long passphrase"}
        )
    assert_busy_page(response)


@sqlite_only
def test_a_write_in_a_middleware_answers_503(settings):
    busy_middleware = "articles.middleware.DatabaseBusyMiddleware"
    position = settings.MIDDLEWARE.index(busy_middleware) + 1
    settings.MIDDLEWARE = [
        *settings.MIDDLEWARE[:position],
        f"{__name__}.WritesOnEveryRequest",
        *settings.MIDDLEWARE[position:],
    ]
    # The test client re-raises what Django turned into a response, unless told not
    # to; a real server only sees the response.
    client = Client(raise_request_exception=False)
    with write_lock_held_elsewhere():
        response = client.get("/robots.txt")
    assert_busy_page(response)


class FailsOnEveryRequest:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        raise RuntimeError("a bug")


def test_other_errors_still_answer_500(settings):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, f"{__name__}.FailsOnEveryRequest"]
    response = Client(raise_request_exception=False).get("/robots.txt")
    assert response.status_code == HTTPStatus.INTERNAL_SERVER_ERROR
    assert "Retry-After" not in response


@sqlite_only
def test_a_due_revision_waiting_for_the_lock_never_fails_the_request(client):
    guide = make_article(title="Card guide")
    make_section(guide, heading="Steps", body="1. Old step")
    publisher = User.objects.create_superuser("publisher", password="a long passphrase")
    revision = prepare_draft_revision(guide, publisher)
    step = revision.sections.get()
    step.body = "1. New step"
    step.save()
    due = timezone.now() + timedelta(minutes=5)
    publish(revision, publisher, when=due)
    with time_machine.travel(due + timedelta(seconds=1)):
        with write_lock_held_elsewhere():
            assert client.get("/robots.txt").status_code == HTTPStatus.OK
        # A lock is no fault of the revision: it stays scheduled, tried again later.
        assert Article.objects.get(pk=revision.pk).status == Article.Status.PUBLISHED
        assert "Old step" in client.get(guide.get_absolute_url()).content.decode()
    with time_machine.travel(due + timedelta(seconds=RETRY_AFTER_FAILURE + 5)):
        assert "New step" in client.get(guide.get_absolute_url()).content.decode()
    assert not Article.objects.filter(pk=revision.pk).exists()
