"""Create many realistic synthetic published guides, for load and search benchmarks.

Guides get 2 to 4 sections, 2 to 4 tags and up to 2 legal citations, and are
indexed for search as they are written. Bulk inserts keep 100,000 guides to
a few minutes. Synthetic guides are marked by a "synthetic" tag and a slug
prefix, so they are easy to tell apart (and delete).
"""

import random
import time
from datetime import timedelta

from django.contrib.contenttypes.models import ContentType
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.text import slugify
from taggit.models import Tag, TaggedItem

from articles.markdown import render_markdown
from articles.models import Article, Category, Citation, Law, LegalProvision, Section
from articles.search.indexing import index_articles

# The word lists below are data tables: written several words to a line they read
# as lists, so the formatter is told to leave them (`fmt: skip`).
ACTIONS = [
    "apply for", "renew", "activate", "replace", "transfer", "cancel", "check", "pay",
    "claim", "register", "update", "report the loss of", "collect", "appeal against",
    "change the address on", "get a copy of", "suspend", "reissue", "verify", "enrol in",
]  # fmt: skip
THINGS = [
    "a social security card", "a medical insurance card", "a pension account",
    "unemployment benefit", "maternity allowance", "a housing fund account",
    "an electronic health card", "a residence permit", "a work injury claim",
    "a childcare subsidy", "a disability allowance", "a student loan",
    "a business licence", "a tax refund", "an old-age pension", "a flexible employment record",
    "a birth certificate", "a marriage certificate", "a driving licence", "a passport",
    "long-term care insurance", "a hospital referral", "an outpatient reimbursement",
    "a funeral subsidy", "a personal income tax return", "a provident fund loan",
]  # fmt: skip
PLACES = [
    "Beijing", "Shanghai", "Guangzhou", "Shenzhen", "Chengdu", "Hangzhou", "Wuhan",
    "Tianjin", "Chongqing", "Nanjing", "Xi'an", "Suzhou", "Qingdao", "Xiamen", "Kunming",
    "Harbin", "Jinan", "Changsha", "Zhengzhou", "Hefei", "Fuzhou", "Nanning", "Dalian",
    "online", "by phone", "at a bank branch", "in an app", "from abroad",
]  # fmt: skip
TEMPLATES = [
    "How to {action} {thing} {place}",
    "Can I {action} {thing} {place}?",
    "What do I need to {action} {thing} {place}?",
    "{Thing}: how to {action} it {place}",
]
CATEGORIES = [
    "Social security cards", "Medical insurance", "Pensions", "Unemployment",
    "Maternity and family", "Housing fund", "Work injury", "Tax", "Identity documents",
    "Business and employment", "Health care", "Education",
]  # fmt: skip
TAGS = sorted({word for thing in THINGS for word in thing.split() if len(word) > 4} | {
    "online", "deadline", "documents", "fees", "eligibility", "appeal", "employer", "family",
})  # fmt: skip
STEP_VERBS = [
    "Open", "Go to", "Choose", "Fill in", "Upload", "Check", "Confirm", "Sign", "Print",
    "Bring", "Wait for", "Keep",
]  # fmt: skip
STEP_OBJECTS = [
    "the application form", "your ID card", "the service counter", "the online portal",
    "the confirmation message", "proof of address", "your bank details", "the receipt",
    "the reference number", "your employer's letter", "a recent photo", "the fee",
]  # fmt: skip


BODY_VARIANTS = 1000


class Command(BaseCommand):
    help = "Create N synthetic published guides (with sections, tags, citations) and index them."

    def add_arguments(self, parser):
        parser.add_argument("count", type=int, help="How many guides to create.")
        parser.add_argument("--seed", type=int, default=1, help="Random seed (repeatable data).")
        parser.add_argument("--batch-size", type=int, default=2000)

    def handle(self, *args, count, seed, batch_size, verbosity=1, **options):
        if count < 1 or count > 2_000_000:
            raise CommandError("count must be between 1 and 2,000,000")
        rng = random.Random(seed)  # noqa: S311 (synthetic content, not security)
        started = time.monotonic()
        categories = self._categories()
        provisions = self._provisions()
        tags = [Tag.objects.get_or_create(slug=slugify(n), defaults={"name": n})[0] for n in TAGS]
        synthetic_tag, _ = Tag.objects.get_or_create(
            slug="synthetic", defaults={"name": "synthetic"}
        )
        content_type = ContentType.objects.get_for_model(Article)
        rendered = {}
        first = Article.objects.filter(slug__startswith="synthetic-").count()
        now = timezone.now()
        done = 0
        while done < count:
            size = min(batch_size, count - done)
            with transaction.atomic():
                articles = []
                for offset in range(size):
                    n = first + done + offset + 1
                    title = self._title(rng)
                    articles.append(
                        Article(
                            title=title,
                            slug=f"synthetic-{n}-{slugify(title)}"[:150],
                            category=rng.choice(categories),
                            summary=f"{title.rstrip('?')}: who can do it, what to bring, "
                            "and the steps to follow.",
                            status=Article.Status.PUBLISHED,
                            published_at=now - timedelta(minutes=rng.randrange(1, 3_000_000)),
                        )
                    )
                Article.objects.bulk_create(articles)
                sections, citations, tagged = [], [], []
                for article in articles:
                    for position in range(1, rng.randint(2, 4) + 1):
                        # A pool of bodies per position: realistic variety, rendered once each.
                        kind, heading, body = self._section(
                            random.Random(position * 10_000 + rng.randrange(BODY_VARIANTS)),  # noqa: S311
                            position,
                        )
                        if body not in rendered:
                            rendered[body] = render_markdown(body)
                        sections.append(
                            Section(
                                article=article,
                                position=position,
                                kind=kind,
                                heading=heading,
                                body=body,
                                body_html=rendered[body],
                            )
                        )
                    for position, provision in enumerate(rng.sample(provisions, rng.randint(0, 2))):
                        citations.append(
                            Citation(article=article, provision=provision, position=position)
                        )
                    for tag in [*rng.sample(tags, rng.randint(2, 4)), synthetic_tag]:
                        tagged.append(
                            TaggedItem(tag=tag, content_type=content_type, object_id=article.pk)
                        )
                Section.objects.bulk_create(sections, batch_size=1000)
                Citation.objects.bulk_create(citations, batch_size=1000)
                TaggedItem.objects.bulk_create(tagged, batch_size=1000)
            index_articles([article.pk for article in articles])
            done += size
            if verbosity:
                rate = done / (time.monotonic() - started)
                self.stdout.write(f"  {done}/{count} guides ({rate:.0f}/s)")
        # Fresh planner statistics: without them the database may plan searches as if
        # the tables were still nearly empty.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        if verbosity:
            seconds = time.monotonic() - started
            self.stdout.write(self.style.SUCCESS(f"Created {count} guides in {seconds:.1f} s."))

    def _title(self, rng):
        action, thing, place = rng.choice(ACTIONS), rng.choice(THINGS), rng.choice(PLACES)
        if place not in {"online", "by phone", "from abroad"} and not place.startswith(
            ("at", "in")
        ):
            place = f"in {place}"
        template = rng.choice(TEMPLATES)
        title = template.format(
            action=action, thing=thing, Thing=thing[0].upper() + thing[1:], place=place
        )
        return title[0].upper() + title[1:]

    def _section(self, rng, position):
        if position == 1:
            steps = [
                f"{rng.choice(STEP_VERBS)} {rng.choice(STEP_OBJECTS)}."
                for _ in range(rng.randint(3, 7))
            ]
            return "steps", "Steps", "\n".join(f"{i}. {s}" for i, s in enumerate(steps, 1))
        if position == 2:
            ways = [
                f"**{rng.choice(PLACES).capitalize()}.** {rng.choice(STEP_VERBS)} "
                f"{rng.choice(STEP_OBJECTS)}."
                for _ in range(rng.randint(2, 4))
            ]
            return "ways", "Other ways", "\n".join(f"{i}. {w}" for i, w in enumerate(ways, 1))
        if position == 3:
            holder, proof = rng.choice(THINGS), rng.choice(STEP_OBJECTS)
            return "question", "Who can apply?", f"Anyone who holds {holder} and can show {proof}."
        return (
            "text",
            "Good to know",
            f"Keep {rng.choice(STEP_OBJECTS)} until the process is complete.",
        )

    def _categories(self):
        return [
            Category.objects.get_or_create(
                slug=f"topic-{slugify(name)}", defaults={"name": name, "position": 100 + i}
            )[0]
            for i, name in enumerate(CATEGORIES)
        ]

    def _provisions(self):
        law, _ = Law.objects.get_or_create(
            slug="synthetic-public-services-act",
            defaults={
                "name": "Public Services Act (synthetic)",
                "short_name": "Public Services Act",
            },
        )
        return [
            LegalProvision.objects.get_or_create(
                law=law,
                label=f"Article {n}",
                defaults={"text": f"Provision {n} on {THINGS[n % len(THINGS)]}.", "position": n},
            )[0]
            for n in range(1, 31)
        ]
