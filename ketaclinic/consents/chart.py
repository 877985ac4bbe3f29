"""The consents card on the patient chart: each kind with its state and what staff can do about it."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone

from ketaclinic.consents import access
from ketaclinic.consents.models import Consent


def chart_card(request: HttpRequest, patient: Any) -> dict[str, Any] | None:
    """Context for ``consents/_chart_card.html``; None (no card) for users who may not read consents.

    Shown to clinical staff and, on the front-desk view, to coordinators, who run in-clinic signing.
    """
    user = request.user
    if not access.can_read(user):
        return None
    statuses = Consent.objects.filter(patient=patient).status_by_kind(timezone.now())
    return {
        "consent_statuses": statuses,
        "can_sign_consents": access.can_sign(user),
    }
