"""Plain factory helpers: unique defaults, any field overridable."""

import itertools
from datetime import timedelta
from typing import NamedTuple

from django.contrib.auth.models import Group, User
from django.test import Client
from django.utils import timezone

from articles.models import (
    Article,
    Category,
    Citation,
    Law,
    LegalProvision,
    RelatedLink,
    Section,
)

_sequence = itertools.count(1)


def _next() -> int:
    return next(_sequence)


def _in_english(fields: dict, *names) -> dict:
    """Translated fields given by their plain name (name=…) fill the English column."""
    for name in names:
        if name in fields:
            fields[f"{name}_en"] = fields.pop(name)
    return fields


def make_category(**fields) -> Category:
    n = _next()
    _in_english(fields, "name", "description")
    fields.setdefault("name_en", f"Category {n}")
    fields.setdefault("slug", f"category-{n}")
    return Category.objects.create(**fields)


def make_article(tags=(), **fields) -> Article:
    """A published guide, an hour old, unless told otherwise."""
    n = _next()
    fields.setdefault("title", f"Guide number {n}")
    fields.setdefault("slug", f"guide-number-{n}")
    fields.setdefault("summary", f"Summary of guide {n}.")
    fields.setdefault("status", Article.Status.PUBLISHED)
    fields.setdefault("published_at", timezone.now() - timedelta(hours=1))
    if "category" not in fields:
        fields["category"] = make_category()
    article = Article.objects.create(**fields)
    if tags:
        article.tags.add(*tags)
    return article


def make_translation(source, language="zh-hans", **fields) -> Article:
    """A published version of `source` in another language, in its translation group."""
    fields.setdefault("category", source.category)
    return make_article(
        language=language,
        translation_group=source.translation_group,
        translated_from=source.language,
        **fields,
    )


def make_draft(**fields) -> Article:
    return make_article(status=Article.Status.DRAFT, published_at=None, **fields)


def make_section(article, **fields) -> Section:
    n = _next()
    fields.setdefault("heading", f"Section {n}")
    fields.setdefault("body", f"1. First step {n}\n2. Second step {n}\n")
    fields.setdefault("kind", Section.Kind.STEPS)
    fields.setdefault("position", n)
    return Section.objects.create(article=article, **fields)


def make_law(**fields) -> Law:
    n = _next()
    _in_english(fields, "name", "short_name")
    fields.setdefault("name_en", f"Law number {n}")
    fields.setdefault("short_name_en", f"Law {n}")
    fields.setdefault("slug", f"law-{n}")
    return Law.objects.create(**fields)


def make_provision(law=None, **fields) -> LegalProvision:
    n = _next()
    _in_english(fields, "label", "text")
    fields.setdefault("label_en", f"Article {n}")
    fields.setdefault("text_en", f"Text of provision {n}.")
    fields.setdefault("position", n)
    return LegalProvision.objects.create(law=law or make_law(), **fields)


def cite(article, provision, position=0) -> Citation:
    return Citation.objects.create(article=article, provision=provision, position=position)


def link_related(article, *others) -> None:
    for position, other in enumerate(others, start=1):
        RelatedLink.objects.create(from_article=article, to_article=other, position=position)


STAFF_PASSWORD = "a-long-test-password"


class StaffMember(NamedTuple):
    user: User
    client: Client


def make_staff_member(group_name, username=None) -> StaffMember:
    """A staff user in one of the migration's groups ("Editor", "Publisher"), named
    after it ("editor") unless told, with the password STAFF_PASSWORD, and a client
    signed in as them."""
    user = User.objects.create_user(
        username or group_name.lower(), password=STAFF_PASSWORD, is_staff=True
    )
    user.groups.add(Group.objects.get(name=group_name))
    client = Client()
    client.force_login(user)
    return StaffMember(user, client)
