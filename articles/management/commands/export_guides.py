"""Write every guide, category and law as files, for review in version control or
moving content between deployments (read back by import_guides).

Every language is written: each guide file names its language and, for a version of
a guide in several languages, the version whose translation group it joins; the
texts of categories, laws and provisions are mappings of language codes to text
(articles.content_files)."""

from pathlib import Path

from django.core.management.base import BaseCommand
from django.db.models import Prefetch

from articles.content_files import (
    dump_yaml,
    guide_to_file,
    translated_to_file,
    translation_roots,
)
from articles.models import Article, Category, Law, RelatedLink


class Command(BaseCommand):
    help = "Export guides (Markdown + YAML front matter), categories.yaml and laws.yaml to DIR."

    def add_arguments(self, parser):
        parser.add_argument("directory", type=Path)

    def handle(self, *args, directory, verbosity=1, **options):
        guides_dir = directory / "guides"
        guides_dir.mkdir(parents=True, exist_ok=True)
        categories = [
            {
                "name": translated_to_file(c, "name"),
                "slug": c.slug,
                "description": translated_to_file(c, "description"),
                "position": c.position,
            }
            for c in Category.objects.order_by("position", "slug")
        ]
        (directory / "categories.yaml").write_text(dump_yaml(categories), encoding="utf-8")
        laws = [
            {
                "name": translated_to_file(law, "name"),
                "short_name": translated_to_file(law, "short_name"),
                "slug": law.slug,
                "source_url": law.source_url,
                "authoritative_language": law.authoritative_language,
                "provisions": [
                    {
                        "label": translated_to_file(p, "label"),
                        "position": p.position,
                        "text": translated_to_file(p, "text"),
                    }
                    for p in law.provisions.all()
                ],
            }
            for law in Law.objects.prefetch_related("provisions").order_by("slug")
        ]
        (directory / "laws.yaml").write_text(dump_yaml(laws), encoding="utf-8")
        roots = translation_roots(
            Article.objects.filter(draft_of__isnull=True).values_list(
                "slug", "translation_group", "language", "translated_from", "pk"
            )
        )
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
            text = guide_to_file(article, translation_of=roots.get(article.slug))
            (guides_dir / f"{article.slug}.md").write_text(text, encoding="utf-8")
            count += 1
        if verbosity:
            self.stdout.write(self.style.SUCCESS(f"Exported {count} guides to {directory}."))
