"""What the chart shows a clinician in one screen: alerts first, then problems, medications, trials, measurements,
measures and substance use. Read-only: it gathers, it never changes anything.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ketaclinic import clinical
from ketaclinic.measures.models import QuestionnaireResponse
from ketaclinic.patients.models import (
    Allergy,
    AntidepressantTrial,
    BodyMeasurement,
    Diagnosis,
    MedicalCondition,
    MedicationEntry,
    Patient,
    SubstanceUseEntry,
)
from ketaclinic.patients.sections import SECTIONS
from ketaclinic.tasks.models import Task


def bmi(weight_kg: Decimal | None, height_cm: Decimal | None) -> Decimal | None:
    """Body-mass index (kg/m²) to one decimal; None unless both are known."""
    if weight_kg is None or not height_cm:
        return None
    metres = Decimal(height_cm) / 100
    return (Decimal(weight_kg) / (metres * metres)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Measurements:
    """The latest weight and height (each with its date) and the BMI from them."""

    weight_kg: Decimal | None = None
    weight_at: dt.datetime | None = None
    height_cm: Decimal | None = None
    height_at: dt.datetime | None = None

    @property
    def bmi(self) -> Decimal | None:
        return bmi(self.weight_kg, self.height_cm)


def latest_measurements(patient: Patient) -> Measurements:
    """Latest accepted weight and height; each may come from a different visit."""
    rows = BodyMeasurement.objects.current().filter(patient=patient).order_by("-measured_at", "-id")
    weight = rows.filter(weight_kg__isnull=False).first()
    height = rows.filter(height_cm__isnull=False).first()
    return Measurements(
        weight_kg=weight.weight_kg if weight else None,
        weight_at=weight.measured_at if weight else None,
        height_cm=height.height_cm if height else None,
        height_at=height.measured_at if height else None,
    )


@dataclass(frozen=True)
class MeasureLine:
    """The latest response to one instrument, as the chart shows it."""

    instrument: str
    name: str
    total: int | None
    maximum: int | None
    band: str
    completed_at: dt.datetime
    respondent: str
    suicide_flag: bool


def latest_measures(patient: Patient) -> list[MeasureLine]:
    lines = []
    for response in QuestionnaireResponse.objects.filter(patient=patient).latest_per_instrument():
        try:
            definition = clinical.get_instrument(response.instrument)
            name, total_range = definition.name, definition.total_range
        except ValueError:  # an instrument retired from the catalogue still shows what was recorded
            name, total_range = response.instrument, None
        lines.append(
            MeasureLine(
                instrument=response.instrument,
                name=name,
                total=response.total,
                maximum=total_range[1] if total_range else None,
                band=response.band,
                completed_at=response.completed_at,
                respondent=response.get_respondent_display(),
                suicide_flag=response.is_positive_suicide_screen,
            )
        )
    return lines


@dataclass
class Alerts:
    """What must be seen before anything else: allergies, suicide-risk screens, urgent tasks, unreviewed reports."""

    allergies: list[Allergy] = field(default_factory=list)
    suicide_screens: list[MeasureLine] = field(default_factory=list)
    urgent_tasks: list[Task] = field(default_factory=list)
    pending_reports: int = 0
    pregnancy: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(
            self.allergies or self.suicide_screens or self.urgent_tasks or self.pending_reports or self.pregnancy
        )


def pending_report_count(patient: Patient) -> int:
    """Patient-reported chart rows waiting for a clinician to accept or reject them."""
    return sum(s.model.objects.pending_review().filter(patient=patient).count() for s in SECTIONS.values())


@dataclass
class ChartSummary:
    alerts: Alerts
    diagnoses: list[Diagnosis]
    conditions: list[MedicalCondition]
    medications: list[MedicationEntry]
    trials: list[AntidepressantTrial]
    measurements: Measurements
    measures: list[MeasureLine]
    substance_use: list[SubstanceUseEntry]
    status_changes: list[dict[str, Any]]


def status_changes(patient: Patient, *, limit: int = 6) -> list[dict[str, Any]]:
    """The patient's status moves, newest first (from the record's history)."""
    moves: list[dict[str, Any]] = []
    previous: str | None = None
    rows = Patient.history.filter(id=patient.pk).order_by("history_date", "history_id").select_related("history_user")
    for row in rows.only("status", "status_reason", "history_date", "history_user"):
        if row.status != previous:
            moves.append(
                {
                    "status": Patient.Status(row.status).label,
                    "reason": row.status_reason,
                    "at": row.history_date,
                    "by": row.history_user,
                }
            )
            previous = row.status
    return moves[::-1][:limit]


def chart_summary(patient: Patient) -> ChartSummary:
    """Everything the clinical part of the chart shows (only rows that count: accepted and not removed)."""
    measures = latest_measures(patient)
    medications = [
        m for m in MedicationEntry.objects.current().filter(patient=patient).order_by("name") if m.is_current
    ]
    return ChartSummary(
        alerts=Alerts(
            allergies=list(Allergy.objects.current().filter(patient=patient)),
            suicide_screens=[m for m in measures if m.suicide_flag],
            urgent_tasks=list(Task.objects.open().filter(patient=patient, priority=Task.Priority.URGENT)),
            pending_reports=pending_report_count(patient),
            pregnancy=[
                label
                for label, value in (("Pregnant", patient.pregnant), ("Breast-feeding", patient.breastfeeding))
                if value
            ],
        ),
        diagnoses=list(Diagnosis.objects.current().filter(patient=patient)),
        conditions=list(MedicalCondition.objects.current().filter(patient=patient)),
        # Interaction-relevant classes first: they are what a prescriber must not miss.
        medications=sorted(medications, key=lambda m: not m.is_interaction_relevant),
        trials=list(AntidepressantTrial.objects.current().filter(patient=patient, current_episode=True)),
        measurements=latest_measurements(patient),
        measures=measures,
        substance_use=list(SubstanceUseEntry.objects.current().filter(patient=patient)),
        status_changes=status_changes(patient),
    )
