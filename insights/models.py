"""Records kept for editors' reports. None of them holds personal data: no IP
address, no cookie, no user agent, and a search is dated to the day only."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from articles.models import Article, GuideFeedback, Law


class SearchRecord(models.Model):
    """One search submitted by a citizen on the search page (not type-ahead, not a
    further page of results), and the result they opened first, if any."""

    MAX_QUERY_LENGTH = 200

    day = models.DateField(_("day"), db_index=True)
    language = models.CharField(_("language"), max_length=16)
    query = models.CharField(
        _("query"), max_length=MAX_QUERY_LENGTH, help_text=_("As normalised for searching.")
    )
    category = models.CharField(_("topic filter"), max_length=100, blank=True)
    tag = models.CharField(_("tag filter"), max_length=100, blank=True)
    every_language = models.BooleanField(_("all languages"), default=False)
    result_count = models.PositiveIntegerField(_("results"))
    opened_position = models.PositiveSmallIntegerField(
        _("position opened"), null=True, blank=True, help_text=_("1 is the first result.")
    )
    opened_article = models.ForeignKey(
        Article,
        verbose_name=_("guide opened"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("search")
        verbose_name_plural = _("searches")
        ordering = ["-day", "-pk"]
        indexes = [models.Index(fields=["language", "day"], name="search_record_lang_day_idx")]

    def __str__(self):
        return f"{self.day} {self.language}: {self.query}"


class LinkCheck(models.Model):
    """The last check of one link found in a guide's body or a law's source address."""

    class Status(models.TextChoices):
        OK = "ok", _("Working")
        REDIRECTED = "redirected", _("Redirected")
        BROKEN = "broken", _("Broken")
        TIMED_OUT = "timeout", _("Timed out")
        UNCHECKED = "unchecked", _("Not checked")

    article = models.ForeignKey(
        Article,
        verbose_name=_("guide"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="link_checks",
    )
    law = models.ForeignKey(
        Law,
        verbose_name=_("law"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="link_checks",
    )
    url = models.CharField(_("address"), max_length=2000)
    internal = models.BooleanField(_("on this site"), default=False)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices)
    http_status = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    final_url = models.CharField(_("redirected to"), max_length=2000, blank=True)
    message = models.CharField(_("details"), max_length=500, blank=True)
    checked_at = models.DateTimeField(_("checked"))

    class Meta:
        verbose_name = _("link check")
        verbose_name_plural = _("link checks")
        ordering = ["status", "url"]
        permissions = [("check_links", "Can check guides' links")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(article__isnull=False) | models.Q(law__isnull=False),
                name="link_check_has_a_source",
            ),
        ]
        indexes = [models.Index(fields=["status"], name="link_check_status_idx")]

    def __str__(self):
        return self.url


class FeedbackDay(models.Model):
    """A guide's counted "Was this page helpful?" votes on one day, kept after the
    one-vote-a-day rows (articles.FeedbackVote) are purged, for trends over time."""

    article = models.ForeignKey(
        Article, verbose_name=_("guide"), on_delete=models.CASCADE, related_name="+"
    )
    day = models.DateField(_("day"))
    helpful = models.PositiveIntegerField(_("helpful"), default=0)
    not_helpful = models.PositiveIntegerField(_("not helpful"), default=0)

    class Meta:
        verbose_name = _("votes on a day")
        verbose_name_plural = _("votes by day")
        constraints = [
            models.UniqueConstraint(fields=["article", "day"], name="feedback_day_once"),
        ]
        indexes = [models.Index(fields=["day"], name="feedback_day_day_idx")]

    def __str__(self):
        return f"{self.day}: {self.helpful} yes, {self.not_helpful} no"


class HelpfulnessReport(GuideFeedback):
    """The admin's report of "Was this page helpful?" votes and comments."""

    class Meta:
        proxy = True
        verbose_name = _("helpfulness report")
        verbose_name_plural = _("helpfulness")
