"""Concurrent feedback votes against a real server: every vote counted, no 5xx.

Sets up its own SQLite file in a temporary directory (migrate, createcachetable,
demo content), starts gunicorn with --workers 3 on a free 127.0.0.1 port behind
one "trusted proxy" (TRUSTED_PROXY_COUNT=1, so each client's X-Forwarded-For
gives it its own address and its own limits), then sends --votes votes on the
same guide from as many clients at once while an editor saves that guide in a
loop (a revision of the guide and its sections, as an admin save writes).

Checks that the guide's helpful count, its vote rows and the number of 200
answers all equal --votes, and that nothing answered 5xx. Prints the status
counts, the time taken, and its ratio to 200 sequential GETs of /robots.txt
measured in the same run (a reference that moves with the machine's speed).
Exits 1 on any 5xx, transport error or miscount.

    .venv/bin/python bench/feedback_votes.py [--votes 200] [--workers 3]

Only 127.0.0.1 is contacted; every wait and loop is bounded in time.
"""

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).with_name("gunicorn")
REFERENCE_REQUESTS = 200
# The deployed settings, but static files served unversioned: the manifest of
# CompressedManifestStaticFilesStorage would need a collectstatic run into the
# project's own directory, and no page measured here depends on it.
BENCH_SETTINGS = """\
from helpcentre.settings.base import *  # noqa: F403

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
"""


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--votes", type=int, default=200)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=120, help="seconds for the vote burst")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    return parser.parse_args()


def prepare_environment(workdir: Path) -> dict:
    """Environment for this process and gunicorn: the temp database, no Redis (the
    limits counters then live in the database cache table), one trusted proxy."""
    (workdir / "bench_settings.py").write_text(BENCH_SETTINGS)
    env = {
        "DJANGO_SETTINGS_MODULE": "bench_settings",
        "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
        "SECRET_KEY": "benchmark-only-not-secret",
        "REDIS_URL": "",
        "TRUSTED_PROXY_COUNT": "1",
        "ALLOWED_HOSTS": "127.0.0.1",
        "DEBUG": "false",
        "SECURE_COOKIES": "false",
        "PYTHONPATH": os.pathsep.join([str(workdir), str(ROOT)]),
    }
    os.environ.update(env)
    sys.path[:0] = [str(workdir), str(ROOT)]
    return {**os.environ, **env}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fetch(url, data=None, headers=None, timeout=30.0):
    """(status, seconds); a transport failure is reported as its exception's name."""
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError(f"the benchmark only talks to 127.0.0.1, not {url}")
    request = urllib.request.Request(url, data=data, headers=headers or {})  # noqa: S310
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (checked)
            response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    except (urllib.error.URLError, OSError) as error:
        status = type(error).__name__
    return status, time.perf_counter() - started


def wait_until_serving(origin: str, server: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with {server.returncode}")
        if fetch(f"{origin}/robots.txt", timeout=2)[0] == 200:
            return
        time.sleep(0.2)
    raise SystemExit(f"gunicorn did not answer within {seconds:.0f} s")


def stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        server.terminate()  # gunicorn's master stops its workers on SIGTERM
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=5)


class Editor(threading.Thread):
    """Saves one guide with its sections in a revision, again and again, until told
    to stop or its time is up."""

    def __init__(self, article_id: int, seconds: float):
        super().__init__(daemon=True)
        self.article_id, self.deadline = article_id, time.monotonic() + seconds
        self.saves, self.errors = 0, []
        self.done = threading.Event()

    def run(self):
        import reversion
        from django.db import connection

        from articles.models import Article

        try:
            while not self.done.is_set() and time.monotonic() < self.deadline:
                try:
                    with reversion.create_revision():
                        guide = Article.objects.get(pk=self.article_id)
                        guide.summary = f"{guide.summary.split(' [edit')[0]} [edit {self.saves}]"
                        guide.save()
                        for section in guide.sections.all():
                            section.save()
                        reversion.set_comment("Benchmark editor save")
                    self.saves += 1
                except Exception as error:
                    self.errors.append(repr(error))
                time.sleep(0.05)
        finally:
            connection.close()


def cast_votes(origin, slug, how_many, seconds):
    """One vote from each of `how_many` clients, released together."""
    url = f"{origin}/feedback/{slug}/"
    body = urlencode({"helpful": "yes"}).encode()
    start = threading.Barrier(how_many, timeout=seconds)
    results = [None] * how_many

    def vote(n):
        headers = {
            "Origin": origin,
            "Accept": "application/json",
            "Content-Type": "application/x-www-form-urlencoded",
            # Our one trusted proxy would have written this: client n's own address.
            "X-Forwarded-For": f"198.18.{n // 250}.{n % 250 + 1}",
        }
        try:
            start.wait()
        except threading.BrokenBarrierError:
            results[n] = ("not started", 0.0)
            return
        results[n] = fetch(url, body, headers, timeout=seconds)

    threads = [threading.Thread(target=vote, args=[n], daemon=True) for n in range(how_many)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + seconds + 10
    for thread in threads:
        thread.join(timeout=max(0.1, deadline - time.monotonic()))
    elapsed = time.perf_counter() - started
    return [r if r is not None else ("no answer in time", 0.0) for r in results], elapsed


def main() -> int:
    args = parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="feedback-bench-", dir="/tmp"))
    server_env = prepare_environment(workdir)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from articles.models import Article, FeedbackVote, GuideFeedback

    server = log = None
    try:
        call_command("migrate", verbosity=0)
        call_command("createcachetable", verbosity=0)
        call_command("load_demo_content", verbosity=0)
        guide = Article.objects.published().order_by("pk").first()
        connection.close()

        port = free_port()
        origin = f"http://127.0.0.1:{port}"
        log = (workdir / "gunicorn.log").open("w")
        server = subprocess.Popen(  # noqa: S603 (our own gunicorn, fixed arguments)
            [
                str(GUNICORN),
                "helpcentre.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(args.workers),
                "--chdir",
                str(ROOT),
                "--timeout",
                "60",
            ],
            env=server_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_until_serving(origin, server)

        reference_started = time.perf_counter()
        reference = [fetch(f"{origin}/robots.txt")[0] for _ in range(REFERENCE_REQUESTS)]
        reference_seconds = time.perf_counter() - reference_started

        editor = Editor(guide.pk, seconds=args.timeout)
        editor.start()
        results, vote_seconds = cast_votes(origin, guide.slug, args.votes, args.timeout)
        editor.done.set()
        editor.join(timeout=30)

        statuses = Counter(status for status, _ in results)
        latencies = sorted(seconds for status, seconds in results if isinstance(status, int))
        feedback = GuideFeedback.objects.filter(article=guide).first()
        helpful = feedback.helpful if feedback else 0
        rows = FeedbackVote.objects.filter(article=guide, day=timezone.localdate()).count()
        server_errors = sum(n for s, n in statuses.items() if not isinstance(s, int) or s >= 500)

        print(
            f"feedback votes: {args.votes} clients at once, gunicorn --workers {args.workers}, "
            f"SQLite file (WAL), limits in the database cache table"
        )
        print(f"  statuses: {dict(sorted(statuses.items(), key=str))}")
        print(f"  counted: helpful={helpful}, vote rows={rows}, answered 200={statuses[200]}")
        print(f"  editor saves meanwhile: {editor.saves} (errors: {len(editor.errors)})")
        for error in editor.errors[:3]:
            print(f"    {error}")
        if latencies:
            p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))]
            print(
                f"  latency: median {statistics.median(latencies) * 1000:.0f} ms, "
                f"p95 {p95 * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms"
            )
        print(f"  all votes answered in {vote_seconds:.2f} s")
        print(
            f"  reference: {REFERENCE_REQUESTS} sequential GET /robots.txt in "
            f"{reference_seconds:.2f} s ({Counter(reference)[200]} × 200)"
        )
        print(f"  ratio votes / reference: {vote_seconds / reference_seconds:.2f}")

        exact = helpful == rows == statuses[200] == args.votes
        if server_errors or not exact or editor.errors:
            print(
                f"FAIL: {server_errors} 5xx or failed requests, exact count: {exact}, "
                f"editor errors: {len(editor.errors)} (log: {workdir / 'gunicorn.log'})"
            )
            args.keep = True
            return 1
        print("OK: every vote counted exactly once, no 5xx")
        return 0
    finally:
        if server is not None:
            stop(server)
        if log is not None:
            log.close()
        connection.close()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
