"""Varnish's own answers carry the protections of the site's pages (CSP, nosniff, no
framing: helpcentre.refusals): its refusals (vcl_synth), and the 503 it gives when no
node answers (vcl_backend_error), which a Varnish of its own shows here, its one node
a closed port."""

import shutil
import tempfile
from pathlib import Path

import pytest

from helpcentre.refusals import REFUSAL_HEADERS
from tests.cluster.conftest import ROOT, _varnishd, check_prerequisites
from tests.cluster.test_two_nodes import fetch
from tests.helpers import LOOPBACK, free_port, serving


@pytest.fixture
def varnish_with_no_node():
    check_prerequisites()  # skips, or fails in CI, without Varnish and its xkey vmod
    # Varnish's jailed processes read this folder: mkdtemp's 0700 is opened up.
    directory = Path(tempfile.mkdtemp(prefix="helpcentre-varnish-"))
    directory.chmod(0o755)
    shutil.copy(ROOT / "deploy" / "varnish" / "default.vcl", directory / "default.vcl")
    closed = free_port()  # nothing listens there
    (directory / "backends.vcl").write_text(
        f'backend down {{ .host = "{LOOPBACK}"; .port = "{closed}"; .probe = node_health; }}\n'
        "sub vcl_init { nodes.add_backend(down); }\n"
    )
    port = free_port()
    command = [
        _varnishd(),
        *("-F", "-n", str(directory / "varnish"), "-a", f"{LOOPBACK}:{port}", "-T", "none"),
        *("-p", f"vcl_path={directory}:/usr/share/varnish/vcl"),
        *("-f", str(directory / "default.vcl"), "-s", "malloc,8m"),
    ]
    try:
        with serving(command, port):
            yield port
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def test_a_503_when_no_node_answers_is_plain_and_protected(varnish_with_no_node):
    for _ in range(2):  # never cached
        answer = fetch(varnish_with_no_node, "/en/")
        assert answer.status == 503
        assert answer.headers["Content-Type"] == "text/plain; charset=utf-8"
        assert answer.headers["Retry-After"] == "30"
        assert "not available for a moment" in answer.text
        assert {name: answer.headers.get(name) for name in REFUSAL_HEADERS} == REFUSAL_HEADERS


def test_refusals_are_protected(varnish_with_no_node):
    refused = fetch(varnish_with_no_node, "/", "BAN")
    assert refused.status == 405
    assert {name: refused.headers.get(name) for name in REFUSAL_HEADERS} == REFUSAL_HEADERS
