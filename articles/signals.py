from django.db.models.signals import pre_save
from django.dispatch import receiver

from .markdown import render_markdown
from .models import Section


@receiver(pre_save, sender=Section)
def render_section_body(sender, instance, **kwargs):
    # A receiver rather than Section.save(): pre_save also runs for loaddata's
    # raw saves, so fixtures never carry stale or unsanitised HTML.
    instance.body_html = render_markdown(instance.body)
