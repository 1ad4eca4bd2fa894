"""Requests gunicorn refuses before Django sees them get the protections of the site's
pages too (gunicorn.conf.py, write_protected_error): gunicorn started as `make run`
starts it, spoken to over a raw socket on 127.0.0.1."""

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from helpcentre.refusals import REFUSAL_HEADERS
from tests.helpers import LOOPBACK, free_port, serving

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def gunicorn(tmp_path_factory):
    # A database of its own (every page reads the content version), migrated here.
    database = tmp_path_factory.mktemp("gunicorn") / "db.sqlite3"
    env = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    env["DATABASE_URL"] = f"sqlite:///{database}"
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=300,
    )
    command = shutil.which("gunicorn", path=str(Path(sys.executable).parent))
    port = free_port()
    # cwd: gunicorn reads ./gunicorn.conf.py, as with make run.
    with serving(
        [command, "helpcentre.wsgi", "--bind", f"{LOOPBACK}:{port}", "--workers", "1"],
        port,
        cwd=ROOT,
        env=env,
    ):
        yield port


def raw_request(port, data: bytes) -> tuple[str, dict[str, str], str]:
    """The status line, headers and body of the answer to `data`."""
    with socket.create_connection((LOOPBACK, port), timeout=10) as connection:
        connection.sendall(data)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    head, _, body = received.decode("latin-1").partition("\r\n\r\n")
    status, *lines = head.split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines)
    return status, headers, body


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        # A request line longer than gunicorn's limit (4094 bytes).
        (b"GET /en/" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", "414"),
        # Not HTTP at all; its text is not echoed back.
        (b"<script>alert(1)</script>\r\n\r\n", "400"),
    ],
)
def test_a_request_gunicorn_refuses_gets_the_protections(gunicorn, request_bytes, status):
    line, headers, body = raw_request(gunicorn, request_bytes)
    assert line.split(" ")[1] == status
    assert headers["Content-Type"] == "text/plain; charset=utf-8"
    assert {name: headers.get(name) for name in REFUSAL_HEADERS} == REFUSAL_HEADERS
    assert body.startswith(status) and "script" not in body


def test_pages_still_come_from_django(gunicorn):
    line, headers, _body = raw_request(
        gunicorn, b"GET /robots.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    assert line.split(" ")[1] == "200"
    assert "'self'" in headers["Content-Security-Policy"]  # the site's own policy
