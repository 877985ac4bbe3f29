"""The session-day card on the patient chart: today's dosing appointments and their sessions, with links.

Only for staff who record sessions (nurses and prescribers); others see no card.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils import timezone

from ketaclinic.accounts.roles import Perm
from ketaclinic.dosing.models import DosingSession
from ketaclinic.patients.models import Patient
from ketaclinic.scheduling.models import Appointment


def chart_card(request: HttpRequest, patient: Patient) -> dict[str, Any] | None:
    """Context for ``dosing/_chart_card.html``: today's dosing appointments (clinic time), each with its session."""
    user: Any = request.user
    if not user.can(Perm.RECORD_SESSION):
        return None
    zone = patient.site.zone
    today = timezone.now().astimezone(zone).date()
    appointments = [
        a
        for a in Appointment.objects.filter(
            patient=patient,
            appointment_type__is_dosing=True,
            starts_at__date__gte=today - dt.timedelta(days=1),
            starts_at__date__lte=today + dt.timedelta(days=1),
        ).select_related("appointment_type")
        if a.starts_at.astimezone(zone).date() == today
    ]
    sessions = {s.appointment_id: s for s in DosingSession.objects.filter(appointment__in=appointments)}
    rows = [{"appointment": a, "session": sessions.get(a.pk)} for a in appointments]
    return {"rows": rows, "zone": patient.site.time_zone}
