"""The course documents card on the patient chart: a link to each course's progress letter and summary."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from ketaclinic.accounts.roles import Perm
from ketaclinic.courses.models import Course


def chart_card(request: HttpRequest, patient: Any) -> dict[str, Any] | None:
    """Context for ``reports/_chart_card.html``; None (no card) without chart access or without a course."""
    if not request.user.can(Perm.VIEW_CHART):  # type: ignore[union-attr]
        return None
    courses = list(Course.objects.filter(patient=patient).order_by("-opened_at", "-id")[:5])
    if not courses:
        return None
    return {"report_courses": courses}
