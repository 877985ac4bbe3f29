"""The only way views, the API, reports and exports reach a patient's rows.

``access_patient`` answers 404 alike for "no such patient" and "patient at a site you do not work at", so nobody
learns that a record exists; a role without the needed capability gets 403. Every call is audited, including the
refused ones.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied
from django.http import Http404

from ketaclinic.accounts.roles import Perm
from ketaclinic.audit.actions import Action, Outcome, record
from ketaclinic.patients.models import ChartEntry, Patient

E = TypeVar("E", bound=ChartEntry)

#: Who may correct identity and contact details: clinicians who edit the chart, and the front desk who registers
#: patients (coordinators edit demographics and contacts only, never clinical sections).
DEMOGRAPHICS_EDITORS: tuple[Perm, ...] = (Perm.EDIT_CHART, Perm.REGISTER_PATIENT)


def can_edit_demographics(user: Any) -> bool:
    """True when ``user`` may change a patient's identity and contact details."""
    return any(user.can(perm) for perm in DEMOGRAPHICS_EDITORS)


def access_patient(
    user: Any,
    patient_id: int | str,
    *,
    write: bool = False,
    need: Perm | Iterable[Perm] | None = None,
    audit_as: str = "patients.patient",
) -> Patient:
    """The patient ``patient_id`` if ``user`` may read it (or change it, with ``write``).

    ``need`` is the capability required, or several of which any one suffices (default: the clinical chart, or
    editing it with ``write``). A read is audited as a view of ``audit_as``; a write is audited by the action that
    performs it.
    """
    needs = _needs(need, write)
    try:
        pk = int(patient_id)
    except (TypeError, ValueError):
        raise Http404("No such patient.") from None
    patient = Patient.objects.visible_to(user).select_related("site").filter(pk=pk).first()
    if patient is None:
        record(Action.VIEW, object_type=audit_as, object_id=pk, patient_id=pk, outcome=Outcome.NOT_FOUND)
        raise Http404("No such patient.")
    if not any(user.can(perm) for perm in needs):
        record(
            Action.VIEW, object_type=audit_as, object_id=pk, patient_id=pk, outcome=Outcome.DENIED, site=patient.site
        )
        raise PermissionDenied(f"Your role does not allow this: {needs[0].label.lower()}.")
    if not write:
        record_chart_read(patient, audit_as=audit_as)
    return patient


def may_read_chart(user: Any) -> bool:
    """True when ``user``'s roles let ``access_patient`` (default ``need``) show them the clinical chart of a patient
    at one of their sites. A page that reads the patient in its own statement, filtered by the user's sites, checks
    this first, calls :func:`record_chart_read` when the patient was found, and ``access_patient`` otherwise."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return bool(user.can(Perm.VIEW_DEMOGRAPHICS) and user.can(Perm.VIEW_CHART))


def record_chart_read(patient: Patient, *, audit_as: str = "patients.patient") -> None:
    """Audit a successful read of ``patient``'s chart as a view of ``audit_as`` (what ``access_patient`` records)."""
    record(Action.VIEW, object_type=audit_as, object_id=patient.pk, patient_id=patient.pk, site=patient.site)


def _needs(need: Perm | Iterable[Perm] | None, write: bool) -> tuple[Perm, ...]:
    if need is None:
        return (Perm.EDIT_CHART if write else Perm.VIEW_CHART,)
    if isinstance(need, Perm):
        return (need,)
    return tuple(need)


def access_entry(patient: Patient, model: type[E], entry_id: int | str) -> E:
    """The chart row ``entry_id`` of ``model`` if it belongs to ``patient`` (already accessed) and is not removed.

    A row of another patient answers 404 like a missing one, so a URL cannot pair one patient with another's row.
    """
    try:
        pk = int(entry_id)
    except (TypeError, ValueError):
        raise Http404("No such entry.") from None
    entry = model.objects.filter(patient=patient, pk=pk, removed_at__isnull=True).first()
    if entry is None:
        raise Http404("No such entry.")
    return entry


def audit_patient_list(user: Any, *, count: int, query: dict[str, str]) -> None:
    """Record that ``user`` listed patients (the filters used, not the results)."""
    record(Action.LIST, object_type="patients.patient", detail={"filters": query, "count": count})
