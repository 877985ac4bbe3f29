"""Session-page panel and endpoints for the monitoring part of the session day (filled in by its own change)."""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern

from ketaclinic.dosing.models import DosingSession

#: Session-scoped URLs, mounted under /patients/<patient_id>/sessions/ with the namespace dosing.
urlpatterns: list[URLPattern] = []


def panel_context(session: DosingSession, user: Any) -> dict[str, Any]:
    """What the session page's monitoring panel needs (dosing/panels/monitoring.html)."""
    return {}
