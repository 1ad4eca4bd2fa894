"""Varnish's own answers carry the protections of the site's pages (CSP, nosniff, no
framing): its refusals (vcl_synth), and the 503 it gives when no node answers
(vcl_backend_error), which a Varnish of its own shows here, its one node a closed
port."""

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.cluster.conftest import HOST, ROOT, _answers, _varnishd, check_prerequisites
from tests.cluster.test_two_nodes import fetch

PROTECTIONS = {
    "Content-Security-Policy": (
        "default-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


@pytest.fixture
def varnish_with_no_node():
    check_prerequisites()  # skips, or fails in CI, without Varnish and its xkey vmod
    varnishd = _varnishd()
    # Varnish's jailed processes read this folder: mkdtemp's 0700 is opened up.
    directory = Path(tempfile.mkdtemp(prefix="helpcentre-varnish-"))
    directory.chmod(0o755)
    shutil.copy(ROOT / "deploy" / "varnish" / "default.vcl", directory / "default.vcl")
    closed = free_port()  # nothing listens there
    (directory / "backends.vcl").write_text(
        f'backend down {{ .host = "{HOST}"; .port = "{closed}"; .probe = node_health; }}\n'
        "sub vcl_init { nodes.add_backend(down); }\n"
    )
    port = free_port()
    varnish = subprocess.Popen(  # noqa: S603 (our own command line)
        [
            shutil.which("timeout"),
            "120",
            varnishd,
            "-F",
            "-n",
            str(directory / "varnish"),
            "-a",
            f"{HOST}:{port}",
            "-T",
            "none",
            "-p",
            f"vcl_path={directory}:/usr/share/varnish/vcl",
            "-f",
            str(directory / "default.vcl"),
            "-s",
            "malloc,8m",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not _answers(port):
            if varnish.poll() is not None or time.monotonic() > deadline:
                varnish.kill()
                pytest.fail(f"varnishd did not start:\n{varnish.communicate()[0]}")
            time.sleep(0.2)
        yield port
    finally:
        varnish.terminate()
        try:
            varnish.wait(timeout=15)
        except subprocess.TimeoutExpired:
            varnish.kill()
        shutil.rmtree(directory, ignore_errors=True)


def test_a_503_when_no_node_answers_is_plain_and_protected(varnish_with_no_node):
    for _ in range(2):  # never cached
        answer = fetch(varnish_with_no_node, "/en/")
        assert answer.status == 503
        assert answer.headers["Content-Type"] == "text/plain; charset=utf-8"
        assert answer.headers["Retry-After"] == "30"
        assert "not available for a moment" in answer.text
        assert {name: answer.headers.get(name) for name in PROTECTIONS} == PROTECTIONS


def test_refusals_are_protected(varnish_with_no_node):
    refused = fetch(varnish_with_no_node, "/", "BAN")
    assert refused.status == 405
    assert {name: refused.headers.get(name) for name in PROTECTIONS} == PROTECTIONS
