"""The history of changes of one patient's record and chart rows, read from django-simple-history.

Each change says who, when, what (the record or a chart row), and for each field the old and new value as shown on
screen. Removals and acceptances of patient-reported rows are called out, because those are what a reviewer looks for.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ketaclinic.patients.models import Patient
from ketaclinic.patients.sections import SECTIONS, display_value, field_label

#: Bookkeeping fields that are not part of what a clinician changed.
HIDDEN_FIELDS = frozenset(
    {
        "id",
        "patient",
        "site",
        "mrn",
        "version",
        "created_at",
        "updated_at",
        "recorded_by",
        "accepted_by",
        "removed_at",
        "removed_reason",
        "accepted_at",
        "source",
    }
)


@dataclass(frozen=True)
class FieldChange:
    label: str
    old: str
    new: str


@dataclass
class Change:
    """One saved change: ``kind`` is added, changed, removed or accepted."""

    at: dt.datetime
    by: Any
    subject: str
    section: str
    kind: str
    fields: list[FieldChange] = field(default_factory=list)
    note: str = ""
    order: int = 0


def _text(record: Any, name: str, units: dict[str, str]) -> str:
    return display_value(record, name, units.get(name, "")) or "—"


def _shown(record: Any, name: str) -> bool:
    return display_value(record, name) is not None


def _tracked(model: Any) -> list[str]:
    return [f.name for f in model._meta.concrete_fields if f.name not in HIDDEN_FIELDS]


def _changes_of(
    records: Iterable[Any], model: Any, section: str, subject_field: str | None, units: dict[str, str]
) -> list[Change]:
    """Changes of one model's rows, from their historical records in id/date order."""
    names = _tracked(model)
    previous: dict[int, Any] = {}
    changes = []
    for record in records:
        before = previous.get(record.id)
        previous[record.id] = record
        subject = _text(record, subject_field, units) if subject_field else "Patient record"
        base = {
            "at": record.history_date,
            "by": record.history_user,
            "subject": subject,
            "section": section,
            "order": record.history_id,
        }
        if before is None:
            shown = [
                FieldChange(field_label(model, n), "", _text(record, n, units)) for n in names if _shown(record, n)
            ]
            changes.append(Change(kind="added", fields=shown, **base))
            continue
        diffs = [
            FieldChange(field_label(model, n), _text(before, n, units), _text(record, n, units))
            for n in names
            if getattr(before, n) != getattr(record, n)
        ]
        removed = getattr(record, "removed_at", None) and not getattr(before, "removed_at", None)
        accepted = getattr(record, "accepted_at", None) and not getattr(before, "accepted_at", None)
        if removed:
            changes.append(Change(kind="removed", fields=diffs, note=record.removed_reason, **base))
        elif accepted:
            changes.append(Change(kind="accepted", fields=diffs, **base))
        elif diffs:
            changes.append(Change(kind="changed", fields=diffs, **base))
    return changes


def patient_history(patient: Patient) -> list[Change]:
    """Every change to ``patient`` and its chart rows, newest first."""
    changes = _changes_of(
        Patient.history.filter(id=patient.pk).select_related("history_user").order_by("history_date", "history_id"),
        Patient,
        "Demographics",
        None,
        {},
    )
    for section in SECTIONS.values():
        history: Any = section.model.history  # type: ignore[attr-defined]
        records = history.filter(patient_id=patient.pk).select_related("history_user")
        changes += _changes_of(
            records.order_by("history_date", "history_id"),
            section.model,
            section.title,
            section.columns[0],
            dict(section.units),
        )
    changes.sort(key=lambda c: (c.at, c.order), reverse=True)
    return changes
