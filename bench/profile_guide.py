"""CPU cost of rendering the seed guide page, uncached, beside a hello view.

Loads the demo content into a temporary SQLite database, then requests the seed
guide in English and in Chinese --repeat times each through the Django test client
(the whole middleware stack, PAGE_CACHE off, no conditional headers, so every
request renders the page), and /bench/hello/ as many times: prints CPU time per
request, the hello/guide ratio (the throughput the guide would reach as a fraction
of hello's) and a cProfile top-N of the guide requests.

    .venv/bin/python bench/profile_guide.py --repeat 300
    .venv/bin/python bench/profile_guide.py --miss   # the guide's cached parts dropped each time
    .venv/bin/python bench/profile_guide.py --cold   # the whole low-level cache emptied each time

Prints figures; asserts nothing. Every loop is bounded by --repeat.
"""

import argparse
import cProfile
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
_TMP = tempfile.TemporaryDirectory(prefix="profile-guide-")
os.environ["DATABASE_URL"] = f"sqlite:///{_TMP.name}/bench.sqlite3"
os.environ["DJANGO_SETTINGS_MODULE"] = "helpcentre.settings.base"
os.environ.setdefault("SECRET_KEY", "benchmark-only-not-secret")
os.environ["PAGE_CACHE"] = "false"
os.environ["BENCH_HELLO"] = "true"
os.environ["FRONT_CACHES"] = ""
os.environ.pop("REDIS_URL", None)
os.environ["SITE_URL"] = "http://testserver"
os.environ["ALLOWED_HOSTS"] = "testserver"

import django  # noqa: E402

django.setup()

from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402

from articles.caching import content_version  # noqa: E402
from articles.models import Article  # noqa: E402

SEED_SLUG = "how-to-activate-alipay-medical-insurance-card"


def prepare() -> dict[str, str]:
    call_command("migrate", verbosity=0, interactive=False)
    call_command("createcachetable", verbosity=0)
    call_command("load_demo_content", verbosity=0)
    seed = Article.objects.get(slug=SEED_SLUG)
    chinese = Article.objects.get(translation_group=seed.translation_group, language="zh-hans")
    return {"en": seed.get_absolute_url(), "zh-hans": chinese.get_absolute_url()}


def guide_parts_keys() -> list[str]:
    """The cache keys of the guides' parts (articles.views._render_guide) at the
    current content version."""
    version = content_version()[0]
    etag = f"c{version.timestamp():.6f}"
    return [
        f"articles:guide-page:v1:{etag}:{pk}" for pk in Article.objects.values_list("pk", flat=True)
    ]


def forget(mode, keys) -> None:
    if mode == "cold":
        cache.clear()
    elif mode == "miss":
        cache.delete_many(keys)


def cpu_per_request(client, url, repeat, mode=None) -> float:
    """Milliseconds of process CPU per request (the median of five batches)."""
    batches = []
    size = max(1, repeat // 5)
    keys = guide_parts_keys()
    for _ in range(5):
        start = time.process_time()
        for _ in range(size):
            forget(mode, keys)
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
        batches.append((time.process_time() - start) / size * 1000)
    return sorted(batches)[2]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200, help="requests per page")
    parser.add_argument("--top", type=int, default=20, help="cProfile rows to print")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--cold",
        action="store_const",
        dest="mode",
        const="cold",
        help="empty the low-level cache before every request",
    )
    mode.add_argument(
        "--miss",
        action="store_const",
        dest="mode",
        const="miss",
        help="drop the guide's cached parts before every request",
    )
    parser.add_argument(
        "--sort", default="cumulative", help="cProfile sort key (cumulative, tottime, …)"
    )
    args = parser.parse_args()

    urls = prepare()
    client = Client()
    for url in [*urls.values(), "/bench/hello/"]:  # warm up: templates, translations, URLs
        for _ in range(3):
            assert client.get(url).status_code == 200, url

    hello = cpu_per_request(client, "/bench/hello/", args.repeat)
    print(f"hello                {hello:7.3f} ms CPU/request")
    for language, url in urls.items():
        guide = cpu_per_request(client, url, args.repeat, args.mode)
        print(
            f"guide {language:<8} {guide:7.3f} ms CPU/request   "
            f"hello/guide = {hello / guide:.3f} (target >= 0.1)"
        )

    keys = guide_parts_keys()
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(max(1, args.repeat // 4)):
        for url in urls.values():
            forget(args.mode, keys)
            client.get(url)
    profile.disable()
    print()
    pstats.Stats(profile).strip_dirs().sort_stats(args.sort).print_stats(args.top)


if __name__ == "__main__":
    main()
