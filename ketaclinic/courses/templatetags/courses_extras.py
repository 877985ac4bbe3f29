"""Template helpers of the course screens."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
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


@register.filter
def num(value: Any) -> str:
    """A dose or bound without trailing zeros: 0.500 → 0.5, 1.000 → 1, 40.0 → 40."""
    if value is None or value == "":
        return ""
    try:
        number = Decimal(str(value)).normalize()
    except InvalidOperation:
        return str(value)
    return f"{number:f}"
