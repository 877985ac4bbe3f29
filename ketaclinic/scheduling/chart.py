"""The appointments card on the patient chart (front desk included): the next appointments and a booking link."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone

from ketaclinic.accounts.roles import Perm
from ketaclinic.patients.models import Patient
from ketaclinic.scheduling.models import Appointment


def chart_card(request: HttpRequest, patient: Patient) -> dict[str, Any] | None:
    """Context for ``scheduling/_chart_card.html``; ``None`` for users who may not see appointments."""
    user: Any = request.user
    if not user.can(Perm.VIEW_DEMOGRAPHICS):
        return None
    upcoming = list(
        Appointment.objects.filter(
            patient=patient,
            ends_at__gte=timezone.now(),
            status__in=(Appointment.Status.BOOKED, Appointment.Status.CHECKED_IN),
        )
        .select_related("appointment_type", "resource")
        .order_by("starts_at")[:5]
    )
    return {"upcoming": upcoming, "can_book": user.can(Perm.MANAGE_SCHEDULE)}
