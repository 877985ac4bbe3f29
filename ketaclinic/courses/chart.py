"""The treatment-course card on the patient chart: the active course, next session, dose and review due.

Clinicians see all of it; the front desk (who book sessions but do not read the chart) see the course, its status
and the next session only.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from ketaclinic.accounts.roles import Perm
from ketaclinic.courses import actions, sessions
from ketaclinic.courses.models import Course
from ketaclinic.patients.models import Patient


def chart_card(request: HttpRequest, patient: Patient) -> dict[str, Any] | None:
    """Context for ``courses/_chart_card.html``; ``None`` for users who neither read the chart nor book."""
    user: Any = request.user
    clinical = user.can(Perm.VIEW_CHART)
    if not clinical and not user.can(Perm.MANAGE_SCHEDULE):
        return None
    course = Course.objects.active().filter(patient=patient).select_related("site").first()
    past = Course.objects.filter(patient=patient).exclude(status__in=Course.ACTIVE_STATUSES).count()
    context: dict[str, Any] = {
        "course": course,
        "past_courses": past,
        "clinical": clinical,
        "can_prescribe": user.can(Perm.PRESCRIBE),
        "zone": patient.site.time_zone,
    }
    if course is not None:
        context["next_session"] = sessions.upcoming(course)
        context["rems_missing"] = course.is_esketamine and actions.rems_enrolment(course) is None
        if clinical:
            context["order"] = course.current_dose_order()
            context["review_due"] = actions.review_due(course)
    return context
