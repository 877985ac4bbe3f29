"""The screening card on the patient chart: the signed decision in force, its precautions, and drafts to sign."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from ketaclinic.accounts.roles import Perm
from ketaclinic.patients.models import Patient
from ketaclinic.screening.intake import none_review, section_rows
from ketaclinic.screening.models import ChartReview, EligibilityAssessment


def chart_card(request: HttpRequest, patient: Patient) -> dict[str, Any] | None:
    """Context for ``screening/_chart_card.html``; ``None`` (no card) for users who cannot read the chart."""
    user: Any = request.user
    if not user.can(Perm.VIEW_CHART):
        return None
    rows = list(
        EligibilityAssessment.objects.filter(patient=patient)
        .exclude(status=EligibilityAssessment.Status.SUPERSEDED)
        .select_related("signed_by")
        .order_by("-created_at", "-id")
    )
    signed = [a for a in rows if a.status == EligibilityAssessment.Status.SIGNED]
    in_force = {a.route: a for a in signed}
    # A draft needs attention only if it is newer than the decision in force for its route; an incomplete one needs
    # data before it can be approved (it can still be declined), so it is shown as such.
    awaiting = [
        a
        for a in rows
        if a.status == EligibilityAssessment.Status.DRAFT
        and (a.route not in in_force or a.created_at > in_force[a.route].created_at)
    ]
    latest_draft_per_route: dict[str, EligibilityAssessment] = {}
    for a in awaiting:
        latest_draft_per_route.setdefault(a.route, a)
    reviewed_none = [
        (ChartReview.Section(section).label, review)
        for section in ChartReview.Section.values
        if not section_rows(patient, section).exists() and (review := none_review(patient, section)) is not None
    ]
    return {
        "signed": signed,
        "reviewed_none": reviewed_none,
        "awaiting": list(latest_draft_per_route.values()),
        "can_run": user.can(Perm.EDIT_CHART),
        "can_sign": user.can(Perm.SIGN_ELIGIBILITY),
    }
