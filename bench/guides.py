"""Shared by the benchmarks that need many guides (search.py, pages.py): import it
after django.setup()."""

from django.core.management import call_command
from django.db import connection
from django.db.models import Count

from articles.models import Article


def ensure_guides(total: int) -> str:
    """Migrate, generate guides (half in English, half in Chinese, one translation
    group each) until `total` are published, and describe what is there."""
    call_command("migrate", verbosity=0, interactive=False)
    missing = total - Article.objects.published().count()
    if missing > 1:
        print(f"Generating {missing // 2} guides in English and Chinese…", flush=True)
        call_command("generate_guides", missing // 2, both=True, verbosity=0)
    published = Article.objects.published()
    counts = dict(published.values_list("language").annotate(n=Count("pk")))
    languages = ", ".join(f"{code} {n}" for code, n in sorted(counts.items()))
    return f"Backend: {connection.vendor}, published guides: {published.count()} ({languages})"
