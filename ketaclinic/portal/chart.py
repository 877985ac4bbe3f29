"""The portal's card on the patient chart: send an intake link, see each link's state, revoke, review intakes.

Shown to everyone who may send links (front desk included); the review entry point only to roles that edit the
chart. Nothing clinical is on the card.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from ketaclinic.accounts.roles import Perm
from ketaclinic.patients.models import Patient
from ketaclinic.portal.views.staff import links_context


def chart_card(request: HttpRequest, patient: Patient) -> dict[str, Any] | None:
    """Context for ``portal/_chart_card.html``; None (no card) for roles that neither send links nor review."""
    user: Any = request.user
    if not (user.can(Perm.SEND_PORTAL_LINK) or user.can(Perm.EDIT_CHART)):
        return None
    return links_context(user, patient)
