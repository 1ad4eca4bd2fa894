"""Create or update guides, categories and laws from files written by export_guides.

Every file is validated first; when any is invalid, each problem is reported with
its file and line and nothing is changed. The importing user's role applies as in
the admin: an Editor cannot publish or change a public guide this way either.
"""

from pathlib import Path

import reversion
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.dateparse import parse_date, parse_datetime

from articles import workflow
from articles.content_files import ContentError, check_guide, load_yaml, parse_guide
from articles.models import (
    Article,
    Category,
    Citation,
    Law,
    LegalProvision,
    RelatedLink,
    Section,
)


def _moment(value):
    return parse_datetime(value) if isinstance(value, str) else value


def _day(value):
    return parse_date(value) if isinstance(value, str) else value


class Command(BaseCommand):
    help = "Import guides, categories and laws from DIR (as written by export_guides)."

    def add_arguments(self, parser):
        parser.add_argument("directory", type=Path)
        parser.add_argument("--user", required=True, help="Username the changes are made as.")
        parser.add_argument("--dry-run", action="store_true", help="Validate only.")

    def handle(self, *args, directory, user, dry_run=False, verbosity=1, **options):
        try:
            self.user = get_user_model().objects.get(username=user)
        except get_user_model().DoesNotExist as error:
            raise CommandError(f"No user named {user!r}.") from error
        if not (directory / "guides").is_dir():
            raise CommandError(f"{directory} has no guides/ folder.")
        problems, categories, laws, guides = self.read(directory)
        if problems:
            for problem in problems:
                self.stderr.write(str(problem))
            raise CommandError(f"{len(problems)} problem(s) found; nothing was changed.")
        if dry_run:
            self.stdout.write(f"{len(guides)} guides are valid; nothing was changed (dry run).")
            return
        with transaction.atomic(), reversion.create_revision():
            reversion.set_user(self.user)
            reversion.set_comment(f"Imported from {directory.name}")
            self.apply(categories, laws, guides)
        if verbosity:
            self.stdout.write(self.style.SUCCESS(f"Imported {len(guides)} guides."))

    def read(self, directory):
        problems, categories, laws, guides = [], [], [], []
        for name, into in [("categories.yaml", categories), ("laws.yaml", laws)]:
            path = directory / name
            if path.exists():
                try:
                    data = load_yaml(path, path.read_text(encoding="utf-8")) or []
                    if not isinstance(data, list):
                        raise ContentError(path, "must be a list", 1)
                    into.extend(data)
                except ContentError as error:
                    problems.append(error)
        for path in sorted((directory / "guides").glob("*.md")):
            try:
                guides.append(parse_guide(path))
            except ContentError as error:
                problems.append(error)
        known_categories = {c.get("slug") for c in categories if isinstance(c, dict)}
        known_categories |= set(Category.objects.values_list("slug", flat=True))
        slugs = [g.meta.get("slug") for g in guides]
        known_slugs = set(slugs) | set(Article.objects.values_list("slug", flat=True))
        known_provisions = {
            (law.get("slug"), p.get("label"))
            for law in laws
            if isinstance(law, dict)
            for p in law.get("provisions") or []
            if isinstance(p, dict)
        } | set(LegalProvision.objects.values_list("law__slug", "label"))
        existing = Article.objects.in_bulk(
            [s for s in slugs if isinstance(s, str)], field_name="slug"
        )
        for guide in guides:
            problems += check_guide(guide, known_categories, known_slugs, known_provisions)
            if slugs.count(guide.meta.get("slug")) > 1:
                problems.append(ContentError(guide.path, "another file has the same slug"))
            try:
                workflow.check_edit(
                    self.user, existing.get(guide.meta.get("slug")), guide.meta.get("status")
                )
            except PermissionDenied as denied:
                problems.append(ContentError(guide.path, str(denied)))
        return problems, categories, laws, guides

    def apply(self, categories, laws, guides):
        for data in categories:
            Category.objects.update_or_create(
                slug=data["slug"],
                defaults={
                    "name": data["name"],
                    "description": data.get("description") or "",
                    "position": data.get("position") or 0,
                },
            )
        for data in laws:
            law, _ = Law.objects.update_or_create(
                slug=data["slug"],
                defaults={
                    "name": data["name"],
                    "short_name": data.get("short_name") or "",
                    "source_url": data.get("source_url") or "",
                },
            )
            for provision in data.get("provisions") or []:
                LegalProvision.objects.update_or_create(
                    law=law,
                    label=provision["label"],
                    defaults={
                        "text": provision["text"],
                        "position": provision.get("position") or 0,
                    },
                )
        users = get_user_model().objects
        articles = {}
        for guide in guides:
            meta = guide.meta
            owner = users.filter(username=meta.get("owner")).first() if meta.get("owner") else None
            articles[meta["slug"]], _ = Article.objects.update_or_create(
                slug=meta["slug"],
                defaults={
                    "title": meta["title"],
                    "summary": meta["summary"],
                    "status": meta["status"],
                    "category": Category.objects.get(slug=meta["category"]),
                    "published_at": _moment(meta.get("published_at")),
                    "owner": owner,
                    "review_by": _day(meta.get("review_by")),
                    "needs_review": bool(meta.get("needs_review")),
                    "last_edited_by": self.user,
                },
            )
        by_slug = Article.objects.in_bulk(field_name="slug")
        for guide in guides:
            meta, article = guide.meta, articles[guide.meta["slug"]]
            article.previous_article = by_slug.get(meta.get("previous"))
            article.next_article = by_slug.get(meta.get("next"))
            article.draft_of = by_slug.get(meta.get("draft_of"))
            article.save()
            article.sections.all().delete()
            for section in guide.sections:
                Section.objects.create(
                    article=article,
                    kind=section["kind"],
                    heading=section["heading"],
                    body=section["body"],
                    position=section["position"],
                )
            article.citations.all().delete()
            for position, citation in enumerate(meta.get("citations") or [], start=1):
                provision = LegalProvision.objects.get(
                    law__slug=citation["law"], label=citation["provision"]
                )
                Citation.objects.create(article=article, provision=provision, position=position)
            article.related_links.all().delete()
            for position, slug in enumerate(meta.get("related") or [], start=1):
                RelatedLink.objects.create(
                    from_article=article, to_article=by_slug[slug], position=position
                )
            article.tags.set(meta.get("tags") or [], clear=True)
        # Last, so the saves above (which move "last updated") leave the files' dates.
        for guide in guides:
            dates = {
                name: _moment(guide.meta[name])
                for name in ["created_at", "updated_at"]
                if guide.meta.get(name)
            }
            if dates:
                Article.objects.filter(slug=guide.meta["slug"]).update(**dates)
