"""Write every guide, category and law as files, for review in version control or
moving content between deployments (read back by import_guides)."""

from pathlib import Path

from django.core.management.base import BaseCommand
from django.db.models import Prefetch

from articles.content_files import dump_yaml, guide_to_file
from articles.models import Article, Category, Law, RelatedLink


class Command(BaseCommand):
    help = "Export guides (Markdown + YAML front matter), categories.yaml and laws.yaml to DIR."

    def add_arguments(self, parser):
        parser.add_argument("directory", type=Path)

    def handle(self, *args, directory, verbosity=1, **options):
        guides_dir = directory / "guides"
        guides_dir.mkdir(parents=True, exist_ok=True)
        categories = [
            {"name": c.name, "slug": c.slug, "description": c.description, "position": c.position}
            for c in Category.objects.order_by("position", "slug")
        ]
        (directory / "categories.yaml").write_text(dump_yaml(categories), encoding="utf-8")
        laws = [
            {
                "name": law.name,
                "short_name": law.short_name,
                "slug": law.slug,
                "source_url": law.source_url,
                "provisions": [
                    {"label": p.label, "position": p.position, "text": p.text}
                    for p in law.provisions.all()
                ],
            }
            for law in Law.objects.prefetch_related("provisions").order_by("slug")
        ]
        (directory / "laws.yaml").write_text(dump_yaml(laws), encoding="utf-8")
        articles = (
            Article.objects.select_related(
                "category", "owner", "previous_article", "next_article", "draft_of"
            )
            .with_parts()
            .prefetch_related(
                Prefetch("related_links", queryset=RelatedLink.objects.select_related("to_article"))
            )
        )
        count = 0
        for article in articles.order_by("slug").iterator(chunk_size=500):
            (guides_dir / f"{article.slug}.md").write_text(guide_to_file(article), encoding="utf-8")
            count += 1
        if verbosity:
            self.stdout.write(self.style.SUCCESS(f"Exported {count} guides to {directory}."))
