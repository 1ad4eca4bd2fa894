"""The cluster tests: two gunicorn nodes behind Varnish, started by deploy/cluster.sh
on loopback ports of their own, spoken to over plain HTTP.

They run only when asked for (`pytest -m cluster`, or a path under tests/cluster on
the command line), so `make test` and the PostgreSQL run of CI do not start a
cluster; CI runs them once, in a step of their own. Outside CI they skip when
Varnish, PostgreSQL or Redis is missing; in CI (CI=true) that is a failure.
"""

import glob
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.helpers import answers as _answers

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "cluster.sh"
HERE = Path(__file__).resolve().parent
HOST = "127.0.0.1"
IN_CI = os.environ.get("CI", "").lower() == "true"
# Ports of their own, so a `make cluster` left running (8101, 8102, 6081) is not in the way.
PORTS = {
    "NODE_A_PORT": int(os.environ.get("CLUSTER_TEST_NODE_A_PORT", "8111")),
    "NODE_B_PORT": int(os.environ.get("CLUSTER_TEST_NODE_B_PORT", "8112")),
    "VARNISH_PORT": int(os.environ.get("CLUSTER_TEST_VARNISH_PORT", "6091")),
    "VARNISH_ADMIN_PORT": int(os.environ.get("CLUSTER_TEST_VARNISH_ADMIN_PORT", "6092")),
}
# Its own database too: the tests edit guides.
DATABASE = os.environ.get("CLUSTER_TEST_DATABASE", "helpcentre_cluster_test")
# However the run ends, the cluster's processes stop by themselves after this.
TTL_SECONDS = 900
SCRIPT_TIMEOUT = 300
# Settings of this test run that must not reach the cluster's processes.
NOT_PASSED_ON = ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL", "CACHE_KEY_PREFIX")


def _explicitly_asked_for(config) -> bool:
    if "cluster" in (config.option.markexpr or ""):
        return True
    start = Path(config.invocation_params.dir)
    for arg in config.invocation_params.args:
        if arg.startswith("-"):
            continue
        path = (start / arg.split("::")[0]).resolve()
        if path == HERE or HERE in path.parents:
            return True
    return False


def pytest_collection_modifyitems(config, items):
    mine = [item for item in items if HERE in Path(str(item.fspath)).resolve().parents]
    for item in mine:
        item.add_marker(pytest.mark.cluster)
    if mine and not _explicitly_asked_for(config):
        config.hook.pytest_deselected(items=mine)
        items[:] = [item for item in items if item not in mine]


def _unavailable(message: str):
    if IN_CI:
        pytest.fail(f"{message}: the cluster tests must run in CI", pytrace=False)
    pytest.skip(message)


def _varnishd() -> str | None:
    return shutil.which("varnishd") or shutil.which("varnishd", path="/usr/sbin:/usr/local/sbin")


def check_prerequisites() -> None:
    if not _varnishd():
        _unavailable("varnishd not found (apt-get install varnish varnish-modules)")
    if not glob.glob("/usr/lib/*/varnish/vmods/libvmod_xkey.so") + glob.glob(
        "/usr/lib/varnish/vmods/libvmod_xkey.so"
    ):
        _unavailable("Varnish's xkey vmod not found (apt-get install varnish-modules)")
    for tool in ("curl", "psql", "createdb", "pg_isready", "timeout"):
        if not shutil.which(tool):
            _unavailable(f"{tool} not found (deploy/cluster.sh needs it)")
    if not _answers(5432):
        _unavailable("PostgreSQL does not answer on 127.0.0.1:5432")
    if not _answers(6379):
        _unavailable("Redis does not answer on 127.0.0.1:6379")


@dataclass
class Cluster:
    env: dict[str, str]
    node_a: int = PORTS["NODE_A_PORT"]
    node_b: int = PORTS["NODE_B_PORT"]
    varnish: int = PORTS["VARNISH_PORT"]
    directory: Path = field(default_factory=Path)

    @property
    def site_origin(self) -> str:
        """SITE_URL of the cluster: the public origin is Varnish."""
        return f"http://{HOST}:{self.varnish}"

    def script(self, *args: str, extra_env: dict | None = None, timeout=SCRIPT_TIMEOUT):
        # Our own script, with arguments from these tests; bash from PATH as in CI.
        return subprocess.run(  # noqa: S603
            ["bash", str(SCRIPT), *args],  # noqa: S607
            cwd=ROOT,
            env={**self.env, **(extra_env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def manage_json(self, code: str, extra_env: dict | None = None):
        """Run Python in `manage.py shell` on the cluster's database; the code prints one
        JSON value as its last line."""
        done = self.script("manage", "shell", "-v", "0", "-c", code, extra_env=extra_env)
        assert done.returncode == 0, f"manage.py shell failed:\n{done.stdout}\n{done.stderr}"
        lines = [line for line in done.stdout.splitlines() if line.strip()]
        return json.loads(lines[-1])

    def logs(self) -> str:
        parts = []
        for log in sorted(self.directory.glob("*.log")):
            tail = log.read_text(errors="replace").splitlines()[-40:]
            parts.append(f"--- {log.name}\n" + "\n".join(tail))
        return "\n".join(parts)


@pytest.fixture(scope="session")
def cluster():
    check_prerequisites()
    # Varnish's jailed processes read this folder: mkdtemp's 0700 is opened up.
    directory = Path(tempfile.mkdtemp(prefix="helpcentre-cluster-"))
    directory.chmod(0o755)
    env = {key: value for key, value in os.environ.items() if key not in NOT_PASSED_ON}
    env.update({key: str(port) for key, port in PORTS.items()})
    env.update(
        CLUSTER_DIR=str(directory),
        CLUSTER_DATABASE=DATABASE,
        CLUSTER_TTL=str(TTL_SECONDS),
        PATH=env.get("PATH", "/usr/bin:/bin") + ":/usr/sbin:/sbin",
    )
    running = Cluster(env=env, directory=directory)
    started = running.script("start")
    try:
        if started.returncode != 0:
            pytest.fail(
                "deploy/cluster.sh start failed:\n"
                f"{started.stdout}\n{started.stderr}\n{running.logs()}",
                pytrace=False,
            )
        yield running
    finally:
        stopped = running.script("stop", timeout=120)
        if stopped.returncode == 0:
            shutil.rmtree(directory, ignore_errors=True)
        else:
            print(f"deploy/cluster.sh stop failed:\n{stopped.stdout}\n{stopped.stderr}")
