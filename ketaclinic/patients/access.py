"""The only way views, the API, reports and exports reach a patient's rows.

``access_patient`` answers 404 alike for "no such patient" and "patient at a site you do not work at", so nobody
learns that a record exists; a role without the needed capability gets 403. Every call is audited, including the
refused ones.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404

from ketaclinic.accounts.roles import Perm
from ketaclinic.audit.actions import Action, Outcome, record
from ketaclinic.patients.models import Patient


def access_patient(
    user: Any,
    patient_id: int | str,
    *,
    write: bool = False,
    need: Perm | None = None,
    audit_as: str = "patients.patient",
) -> Patient:
    """The patient ``patient_id`` if ``user`` may read it (or change it, with ``write``).

    ``need`` is the capability required (default: the clinical chart, or editing it with ``write``). A read is
    audited as a view of ``audit_as``; a write is audited by the action that performs it.
    """
    need = need or (Perm.EDIT_CHART if write else Perm.VIEW_CHART)
    try:
        pk = int(patient_id)
    except (TypeError, ValueError):
        raise Http404("No such patient.") from None
    patient = Patient.objects.visible_to(user).select_related("site").filter(pk=pk).first()
    if patient is None:
        record(Action.VIEW, object_type=audit_as, object_id=pk, patient_id=pk, outcome=Outcome.NOT_FOUND)
        raise Http404("No such patient.")
    if not user.can(need):
        record(
            Action.VIEW, object_type=audit_as, object_id=pk, patient_id=pk, outcome=Outcome.DENIED, site=patient.site
        )
        raise PermissionDenied(f"Your role does not allow this: {need.label.lower()}.")
    if not write:
        record(Action.VIEW, object_type=audit_as, object_id=pk, patient_id=pk, site=patient.site)
    return patient


def audit_patient_list(user: Any, *, count: int, query: dict[str, str]) -> None:
    """Record that ``user`` listed patients (the filters used, not the results)."""
    record(Action.LIST, object_type="patients.patient", detail={"filters": query, "count": count})
