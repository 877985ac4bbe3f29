"""The measures card on the patient chart: each instrument's latest score and status with a small chart, what is
due now, and links to the questionnaires and the trajectory. Clinical roles only."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone

from ketaclinic.accounts.roles import Perm
from ketaclinic.measures.models import MeasureDue
from ketaclinic.measures.schedule import active_course, sync_schedule
from ketaclinic.measures.trajectory import load_trajectories
from ketaclinic.patients.models import Patient


def chart_card(request: HttpRequest, patient: Patient) -> dict[str, Any] | None:
    """Context for ``measures/_chart_card.html``; ``None`` for users who do not read the clinical chart."""
    user: Any = request.user
    if not user.can(Perm.VIEW_CHART):
        return None
    from ketaclinic.measures.trajectory_markup import chart_figure
    from ketaclinic.measures.views import chart_svg

    course = active_course(patient)
    if course is not None:
        sync_schedule(course)  # series booked in bulk send no signal; the card must not show a stale count
    data = load_trajectories(patient)
    now = timezone.now()
    open_now = (
        MeasureDue.objects.filter(patient=patient, response__isnull=True, opens_at__lte=now)
        .exclude(closes_at__lte=now)
        .count()
    )
    zone = patient.site.zone
    return {
        "series": [
            {"series": s, "figure": chart_figure(s, chart_svg(s, zone, height=160), patient_id=patient.pk, zone=zone)}
            for s in data.instruments[:3]
        ],
        "more": max(len(data.instruments) - 3, 0),
        "open_now": open_now,
        "zone": patient.site.time_zone,
    }
