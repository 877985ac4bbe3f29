"""URLs without arguments (the menu, the base layout's links), reversed once and then reused.

Every page drew about a dozen of them through ``reverse()``, each walking the resolver again for the same answer. A
URL without arguments depends only on the URLconf in force, the script prefix and the active language, so it is
cached per resolver object — which Django replaces when the URL caches are cleared (``override_settings`` of
``ROOT_URLCONF`` in tests) and which differs for a per-request ``request.urlconf`` — and per prefix and language. A
name that does not reverse raises ``NoReverseMatch`` exactly as ``reverse()`` does, every time (failures are not
cached).
"""

from __future__ import annotations

from weakref import WeakKeyDictionary

from django.urls import get_resolver, get_script_prefix, get_urlconf, reverse
from django.urls.resolvers import URLResolver
from django.utils.translation import get_language


class FixedUrls(dict[str, str]):
    """URL name → URL under one URLconf, script prefix and language; a name is reversed the first time it is asked
    for (``reverse()`` runs under the same state the mapping was taken for: callers use it at once)."""

    def __missing__(self, name: str) -> str:
        url = self[name] = reverse(name)
        return url


_CACHE: WeakKeyDictionary[URLResolver, dict[tuple[str, str | None], FixedUrls]] = WeakKeyDictionary()


def fixed_urls() -> FixedUrls:
    """The cached URLs for the URLconf, script prefix and language in force now."""
    resolver = get_resolver(get_urlconf())
    by_key = _CACHE.get(resolver)
    if by_key is None:
        by_key = _CACHE.setdefault(resolver, {})
    key = (get_script_prefix(), get_language())
    urls = by_key.get(key)
    if urls is None:
        urls = by_key.setdefault(key, FixedUrls())
    return urls


def fixed_url(name: str) -> str:
    """``reverse(name)`` for a URL name that takes no arguments, cached as :func:`fixed_urls` says."""
    return fixed_urls()[name]
