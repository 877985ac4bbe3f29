"""Tags of the base layout."""

from __future__ import annotations

from django import template

from ketaclinic.fixed_urls import fixed_url as _fixed_url

register = template.Library()


@register.simple_tag
def fixed_url(name: str) -> str:
    """``{% url name %}`` for a URL without arguments, reversed once per URLconf (:mod:`ketaclinic.fixed_urls`);
    escaped like ``{% url %}`` when autoescaping is on (``simple_tag`` does that)."""
    return _fixed_url(name)
