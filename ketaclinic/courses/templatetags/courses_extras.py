"""Template helpers of the course screens."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def get(mapping: Any, key: Any) -> Any:
    """``mapping[key]`` or None (dictionaries keyed by datetimes cannot be read with Django's dot lookup)."""
    try:
        return mapping.get(key)
    except AttributeError:
        return None
