"""The editable sections of the chart: which row model, which form, and how a row reads on screen.

Screens, the edit flow and the history page share this registry, so a new chart section is declared once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django.utils import formats, timezone

from ketaclinic.patients import forms
from ketaclinic.patients.models import (
    Allergy,
    AntidepressantTrial,
    BodyMeasurement,
    ChartEntry,
    Diagnosis,
    MedicalCondition,
    MedicationEntry,
    Patient,
    SubstanceUseEntry,
)

NOT_RECORDED = "not recorded"

#: Screen labels where a field's name carries its unit (``weight_kg``) or reads awkwardly.
FIELD_LABELS: dict[str, str] = {
    "weight_kg": "Weight",
    "height_cm": "Height",
    "daily_dose_mg": "Daily dose",
    "improvement_pct": "Improvement",
    "is_primary": "Primary",
    "icd10_code": "ICD-10-CM",
    "current_episode_start": "Current episode began",
    "current_episode": "Current episode",
    "use_disorder": "Use disorder",
    "current": "Current use",
    "dose_text": "As prescribed",
    "removed_at": "Removed",
    "removed_reason": "Reason for removal",
    "accepted_at": "Accepted into the chart",
    "legal_first_name": "Legal first name",
    "legal_last_name": "Legal last name",
    "preferred_name": "Preferred name",
    "status_reason": "Status reason",
    "breastfeeding": "Breast-feeding",
}


def field_label(model: Any, name: str) -> str:
    if name in FIELD_LABELS:
        return FIELD_LABELS[name]
    label = str(model._meta.get_field(name).verbose_name)
    return label[:1].upper() + label[1:]


@dataclass(frozen=True)
class Cell:
    """One value of a row as shown: its label, its text, and whether it is missing (shown as "not recorded")."""

    label: str
    text: str
    missing: bool = False


@dataclass(frozen=True)
class Section:
    """A chart section: ``kind`` is its URL slug (also the API path)."""

    kind: str
    model: type[ChartEntry]
    form: type[forms.ChartEntryForm]
    title: str
    noun: str
    columns: tuple[str, ...]
    units: tuple[tuple[str, str], ...] = ()
    #: Columns whose absence matters clinically: shown as "not recorded" (others show a dash).
    needed: tuple[str, ...] = ()

    def rows(self, patient: Patient) -> QuerySet[Any]:
        """Rows not removed (staff-entered and patient-reported) in the section's order."""
        return self.model.objects.filter(patient=patient, removed_at__isnull=True).select_related("recorded_by")

    def cells(self, entry: ChartEntry) -> list[Cell]:
        return [
            display_cell(entry, name, dict(self.units).get(name, ""), needed=name in self.needed)
            for name in self.columns
        ]


def display_value(entry: Any, name: str, unit: str = "") -> str | None:
    """The on-screen text of field ``name`` of ``entry``; None when the value is not recorded."""
    field = entry._meta.get_field(name)
    value = getattr(entry, name)
    if value is None or value == "":
        return None
    if field.choices:
        return str(getattr(entry, f"get_{name}_display")())
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, dt.datetime):
        return formats.date_format(timezone.localtime(value), "Y-m-d H:i")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        text = f"{value.normalize():f}"
        return f"{text} {unit}".strip()
    return f"{value} {unit}".strip()


def display_cell(entry: Any, name: str, unit: str = "", *, needed: bool = True) -> Cell:
    text = display_value(entry, name, unit)
    if text is None:
        return Cell(label=field_label(entry, name), text=NOT_RECORDED if needed else "—", missing=needed)
    return Cell(label=field_label(entry, name), text=text)


SECTIONS: dict[str, Section] = {
    s.kind: s
    for s in (
        Section(
            "measurements",
            BodyMeasurement,
            forms.MeasurementForm,
            "Height and weight",
            "measurement",
            ("measured_at", "weight_kg", "height_cm"),
            (("weight_kg", "kg"), ("height_cm", "cm")),
        ),
        Section("allergies", Allergy, forms.AllergyForm, "Allergies", "allergy", ("substance", "reaction", "severity")),
        Section(
            "diagnoses",
            Diagnosis,
            forms.DiagnosisForm,
            "Diagnoses",
            "diagnosis",
            ("icd10_code", "description", "episode", "is_primary", "current_episode_start"),
        ),
        Section(
            "conditions",
            MedicalCondition,
            forms.ConditionForm,
            "Medical conditions",
            "condition",
            ("condition", "notes"),
        ),
        Section(
            "medications",
            MedicationEntry,
            forms.MedicationForm,
            "Current medications",
            "medication",
            ("name", "drug_class", "daily_dose_mg", "dose_text", "started_on", "stopped_on"),
            (("daily_dose_mg", "mg/day"),),
            ("daily_dose_mg",),
        ),
        Section(
            "trials",
            AntidepressantTrial,
            forms.TrialForm,
            "Antidepressant trials",
            "antidepressant trial",
            ("drug", "drug_class", "daily_dose_mg", "adequate_dose", "weeks", "improvement_pct", "current_episode"),
            (("daily_dose_mg", "mg/day"), ("weeks", "weeks"), ("improvement_pct", "%")),
            ("daily_dose_mg", "adequate_dose", "weeks", "improvement_pct"),
        ),
        Section(
            "substance-use",
            SubstanceUseEntry,
            forms.SubstanceUseForm,
            "Substance use",
            "substance use entry",
            ("substance", "current", "use_disorder", "pattern", "last_use"),
        ),
    )
}

#: Each row model's section, for the history page.
SECTION_OF_MODEL: dict[type[ChartEntry], Section] = {s.model: s for s in SECTIONS.values()}


def section_for(kind: str) -> Section:
    """The section with URL slug ``kind``; 404 for anything else."""
    try:
        return SECTIONS[kind]
    except KeyError:
        raise Http404("No such chart section.") from None
