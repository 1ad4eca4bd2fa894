"""Throttled sign-in (django-axes): repeated failures pause signing in for a while,
counted per username and per client, the client read through our trusted proxies."""

import logging
from datetime import timedelta
from http import HTTPStatus

import pytest
import time_machine
from axes.models import AccessAttempt
from django.conf import settings
from django.http import HttpRequest
from django.test import Client
from django.utils import timezone

from tests.factories import STAFF_PASSWORD as PASSWORD

pytestmark = pytest.mark.django_db

LOGIN_URL = "/admin/login/?next=/admin/"
PAUSED = "signing in is paused"


def sign_in(username, password, **client_address):
    """One sign-in attempt from a fresh browser at the given address."""
    return Client(**client_address).post(
        LOGIN_URL, {"username": username, "password": password}, **client_address
    )


def signed_in(response) -> bool:
    return response.status_code == HTTPStatus.FOUND and response["Location"] == "/admin/"


def fail_many_times(times, *, usernames=None, **client_address):
    for n in range(times):
        username = usernames[n % len(usernames)] if usernames else "editor"
        sign_in(username, "wrong password", **client_address)


def test_twenty_wrong_passwords_then_the_right_one_is_refused(editor):
    client = Client()
    first = client.post(LOGIN_URL, {"username": "editor", "password": "wrong"})
    assert first.status_code == HTTPStatus.OK  # the form again, with its error
    for _ in range(19):
        client.post(LOGIN_URL, {"username": "editor", "password": "wrong"})

    response = client.post(LOGIN_URL, {"username": "editor", "password": PASSWORD})

    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert "_auth_user_id" not in client.session
    page = response.content.decode()
    assert PAUSED in page and "Wait 15 minutes" in page
    assert "Help centre administration" in page  # the admin's look
    assert response["Retry-After"] == str(15 * 60)
    assert "no-store" in response["Cache-Control"]


def test_another_client_signing_in_to_another_account_is_not_affected(editor, publisher):
    fail_many_times(20, REMOTE_ADDR="203.0.113.5")
    assert signed_in(sign_in("publisher", PASSWORD, REMOTE_ADDR="198.51.100.7"))


def test_signing_in_works_again_after_the_cool_off(editor):
    fail_many_times(20, REMOTE_ADDR="203.0.113.5")
    assert sign_in("editor", PASSWORD, REMOTE_ADDR="203.0.113.5").status_code == 429

    with time_machine.travel(timezone.now() + timedelta(minutes=14), tick=False):
        assert sign_in("editor", PASSWORD, REMOTE_ADDR="203.0.113.5").status_code == 429
    # That refused attempt counted too: the 15 minutes start again from it.
    with time_machine.travel(timezone.now() + timedelta(minutes=30), tick=False):
        assert signed_in(sign_in("editor", PASSWORD, REMOTE_ADDR="203.0.113.5"))


def test_one_account_attacked_from_many_addresses_is_paused(editor):
    for n in range(settings.AXES_FAILURE_LIMIT):
        sign_in("editor", "wrong password", REMOTE_ADDR=f"203.0.113.{n + 1}")

    refused = sign_in("editor", PASSWORD, REMOTE_ADDR="198.51.100.7")

    assert refused.status_code == HTTPStatus.TOO_MANY_REQUESTS


def test_one_address_trying_many_accounts_is_paused(editor):
    fail_many_times(
        settings.AXES_FAILURE_LIMIT, usernames=["admin", "root", "staff"], REMOTE_ADDR="203.0.113.5"
    )

    assert sign_in("editor", PASSWORD, REMOTE_ADDR="203.0.113.5").status_code == 429
    # The account itself had no failure: from elsewhere it still signs in.
    assert signed_in(sign_in("editor", PASSWORD, REMOTE_ADDR="198.51.100.7"))


def test_behind_a_trusted_proxy_clients_are_told_apart_by_x_forwarded_for(settings, editor):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    fail_many_times(20, usernames=["admin", "root"], HTTP_X_FORWARDED_FOR="203.0.113.5", **proxy)

    assert AccessAttempt.objects.filter(ip_address="203.0.113.5").exists()
    assert (
        sign_in("editor", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.5", **proxy).status_code == 429
    )
    assert signed_in(sign_in("editor", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.6", **proxy))


def test_without_a_trusted_proxy_x_forwarded_for_is_ignored(settings, editor):
    settings.TRUSTED_PROXY_COUNT = 0
    fail_many_times(
        20, usernames=["admin", "root"], HTTP_X_FORWARDED_FOR="203.0.113.5", REMOTE_ADDR="10.0.0.2"
    )

    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"10.0.0.2"}
    # A different (forged) header buys no fresh attempts.
    spoofed = sign_in(
        "editor", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.6", REMOTE_ADDR="10.0.0.2"
    )
    assert spoofed.status_code == HTTPStatus.TOO_MANY_REQUESTS


def test_ipv6_addresses_in_one_64_network_share_a_counter(editor):
    fail_many_times(20, usernames=["admin", "root"], REMOTE_ADDR="2001:db8:1:2::1")

    same_network = sign_in("editor", PASSWORD, REMOTE_ADDR="2001:db8:1:2:ffff:ffff:ffff:fffe")
    assert same_network.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert signed_in(sign_in("editor", PASSWORD, REMOTE_ADDR="2001:db8:1:3::1"))


def test_the_lockout_is_logged_at_warning_with_the_client_address(caplog, settings, editor):
    settings.TRUSTED_PROXY_COUNT = 1
    with caplog.at_level(logging.INFO):
        fail_many_times(
            settings.AXES_FAILURE_LIMIT,
            usernames=["admin"],
            HTTP_X_FORWARDED_FOR="203.0.113.5",
            REMOTE_ADDR="10.0.0.2",
        )

    lockouts = [r for r in caplog.records if "Locking out" in r.getMessage()]
    assert len(lockouts) == 1 and lockouts[0].levelno == logging.WARNING
    assert 'ip_address: "203.0.113.5"' in lockouts[0].getMessage()
    assert "admin" not in lockouts[0].getMessage().replace("/admin/", "")  # usernames stay out
    # The project's LOGGING lets axes' warnings through to the console.
    assert logging.getLogger(lockouts[0].name).isEnabledFor(logging.WARNING)


def test_test_clients_sign_in_with_a_request_or_force_login(client, editor):
    # AxesStandaloneBackend needs the request; Client.login passes one when given.
    assert client.login(request=HttpRequest(), username="editor", password=PASSWORD)
    other = Client()
    other.force_login(editor.user)
    assert other.get("/admin/").status_code == HTTPStatus.OK
