"""State changes of the patient record. Each is atomic, saves with ``update_fields`` where it updates, and writes
its audit event in the same transaction. Nothing else saves patient rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, TypeVar

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from ketaclinic.accounts.models import Site
from ketaclinic.audit.actions import Action, record
from ketaclinic.patients.models import ChartEntry, MrnCounter, Patient, Source

E = TypeVar("E", bound=ChartEntry)

#: Demographic fields an edit may change (identity fields that drive matching stay editable but are audited).
PATIENT_FIELDS = frozenset(
    {
        "legal_first_name",
        "legal_last_name",
        "preferred_name",
        "date_of_birth",
        "sex_at_birth",
        "gender",
        "pronouns",
        "phone",
        "email",
        "address",
        "emergency_contact_name",
        "emergency_contact_phone",
        "emergency_contact_relationship",
        "referring_clinician",
        "referring_clinician_contact",
        "pregnant",
        "breastfeeding",
    }
)


def _signed(obj: Any, by: Any) -> None:
    """Name ``by`` as the author of the history record the next save writes (also outside a web request)."""
    if getattr(by, "is_authenticated", False):
        obj._history_user = by


class StaleEditError(Exception):
    """Someone else saved the record since this edit began; nothing was overwritten."""


def next_mrn(site: Site) -> str:
    """Reserve the next medical record number at ``site`` (call inside the registering transaction)."""
    counter, _ = MrnCounter.objects.get_or_create(site=site)
    MrnCounter.objects.filter(pk=counter.pk).update(next_number=F("next_number") + 1)
    counter.refresh_from_db()
    number = counter.next_number - 1
    return f"{site.code[:3].upper()}-{number:06d}"


@transaction.atomic
def register_patient(*, site: Site, by: Any, status: str = Patient.Status.REFERRAL, **fields: Any) -> Patient:
    """Register a new patient at ``site`` with a fresh MRN (audited)."""
    unknown = set(fields) - PATIENT_FIELDS
    if unknown:
        raise ValueError(f"unknown patient fields: {', '.join(sorted(unknown))}")
    patient = Patient(site=site, mrn=next_mrn(site), status=status, **fields)
    patient.full_clean()
    _signed(patient, by)
    patient.save()
    record(Action.CREATE, obj=patient, patient_id=patient.pk, site=site, user=by)
    return patient


@transaction.atomic
def update_patient(patient: Patient, *, by: Any, expected_version: int | None = None, **changes: Any) -> Patient:
    """Change demographic fields. With ``expected_version``, refuse (``StaleEditError``) if someone saved since."""
    unknown = set(changes) - PATIENT_FIELDS
    if unknown:
        raise ValueError(f"unknown patient fields: {', '.join(sorted(unknown))}")
    changed = [name for name, value in changes.items() if getattr(patient, name) != value]
    if not changed:
        return patient
    for name in changed:
        setattr(patient, name, changes[name])
    patient.full_clean(exclude=["site"])
    version_filter = {"version": expected_version} if expected_version is not None else {}
    updated = Patient.objects.filter(pk=patient.pk, **version_filter).update(version=F("version") + 1)
    if not updated:
        raise StaleEditError("This record was changed by someone else while you were editing. Reload to see it.")
    patient.refresh_from_db(fields=["version"])
    _signed(patient, by)
    patient.save(update_fields=[*changed, "updated_at"])
    record(Action.UPDATE, obj=patient, patient_id=patient.pk, site=patient.site, user=by, detail={"fields": changed})
    return patient


@transaction.atomic
def set_status(patient: Patient, status: str, *, by: Any, reason: str = "") -> Patient:
    """Move the patient along referral → screening → eligible/declined → in treatment → maintenance → discharged."""
    if status not in Patient.Status.values:
        raise ValueError(f"status: {status!r} is not one of {', '.join(Patient.Status.values)}")
    previous = patient.status
    # Bump the version in the database first (concurrent edits see it), then save with the real number: the
    # history record written on save cannot store an F() expression.
    Patient.objects.filter(pk=patient.pk).update(version=F("version") + 1)
    patient.refresh_from_db(fields=["version"])
    patient.status = status
    patient.status_reason = reason[:300]
    _signed(patient, by)
    patient.save(update_fields=["status", "status_reason", "updated_at"])
    record(
        Action.UPDATE,
        obj=patient,
        patient_id=patient.pk,
        site=patient.site,
        user=by,
        detail={"fields": ["status"], "from": previous, "to": status},
    )
    return patient


@transaction.atomic
def add_entry(model: type[E], patient: Patient, *, by: Any, source: str = Source.STAFF, **fields: Any) -> E:
    """Add a chart row (allergy, diagnosis, condition, medication, trial, measurement …) to ``patient``.

    Rows entered by staff count at once; rows reported by the patient wait for a clinician's acceptance.
    """
    entry = model(patient=patient, site=patient.site, source=source, **fields)
    if source == Source.STAFF:
        entry.recorded_by = by if getattr(by, "is_authenticated", False) else None
    entry.full_clean()
    _signed(entry, by)
    entry.save()
    record(
        Action.CREATE,
        obj=entry,
        patient_id=patient.pk,
        site=patient.site,
        user=by if getattr(by, "is_authenticated", False) else None,
        detail={"source": source},
    )
    return entry


@transaction.atomic
def update_entry(entry: E, *, by: Any, **changes: Any) -> E:
    """Change fields of a chart row; the previous values stay in its history."""
    if not any(getattr(entry, name) != value for name, value in changes.items()):
        return entry
    before = {f.attname: getattr(entry, f.attname) for f in entry._meta.concrete_fields}
    for name, value in changes.items():
        setattr(entry, name, value)
    entry.full_clean()
    # The row's own clean() may normalise fields it derives (catalogue class, ICD-10 description): save those too.
    changed = [name for name, value in before.items() if getattr(entry, name) != value]
    _signed(entry, by)
    entry.save(update_fields=changed)
    record(Action.UPDATE, obj=entry, patient_id=entry.patient_id, site=entry.site, user=by, detail={"fields": changed})
    return entry


@transaction.atomic
def remove_entry(entry: E, *, by: Any, reason: str) -> E:
    """Mark a chart row as removed (entered in error, resolved, stopped …); it is never deleted."""
    if not reason.strip():
        raise ValueError("reason: say why the entry is removed (e.g. 'entered in error')")
    entry.removed_at = timezone.now()
    entry.removed_reason = reason.strip()[:200]
    _signed(entry, by)
    entry.save(update_fields=["removed_at", "removed_reason"])
    record(Action.DELETE, obj=entry, patient_id=entry.patient_id, site=entry.site, user=by, detail={"soft": True})
    return entry


@transaction.atomic
def accept_entry(entry: E, *, by: Any, changes: Mapping[str, Any] | None = None) -> E:
    """A clinician accepts a patient-reported row into the chart, optionally correcting it first."""
    if entry.source != Source.PATIENT or entry.accepted_at is not None:
        raise ValueError("only patient-reported entries awaiting review can be accepted")
    for name, value in (changes or {}).items():
        setattr(entry, name, value)
    entry.accepted_by = by
    entry.accepted_at = timezone.now()
    entry.full_clean()
    _signed(entry, by)
    entry.save()
    record(
        Action.UPDATE,
        obj=entry,
        patient_id=entry.patient_id,
        site=entry.site,
        user=by,
        detail={"event": "accepted_patient_report", "fields": sorted(changes or {})},
    )
    return entry


def latest_weight_kg(patient: Patient, *, on_or_before: dt.datetime | None = None) -> Any:
    """The most recent accepted weight (Decimal) or None."""
    from ketaclinic.patients.models import BodyMeasurement

    rows = BodyMeasurement.objects.current().filter(patient=patient, weight_kg__isnull=False)
    if on_or_before is not None:
        rows = rows.filter(measured_at__lte=on_or_before)
    row = rows.order_by("-measured_at", "-id").first()
    return row.weight_kg if row else None
