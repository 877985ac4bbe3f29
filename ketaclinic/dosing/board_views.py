"""Site-level board screens of the session day (filled in by its own change)."""

from __future__ import annotations

from django.urls import URLPattern

#: Site-level URLs, mounted under /dosing/ with the namespace dosing_site.
urlpatterns: list[URLPattern] = []
