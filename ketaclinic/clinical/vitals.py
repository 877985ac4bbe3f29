"""Vital-sign names, units, codes and plausibility limits shared by every clinical rule.

A reading outside its plausible range is almost always a typing or device error (a systolic of 1200, an SpO2 of
0), so it is rejected with a message naming the field and the range rather than being scored as a real emergency or
silently clamped. These limits are data-entry checks, not clinical thresholds: the thresholds a clinic may tune
(hold, review, alert) live in :class:`~ketaclinic.clinical.policy.ClinicPolicy`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from ketaclinic.clinical.rules import rule
from ketaclinic.clinical.sources import Evidence, cite


class Vital(StrEnum):
    """A vital sign, named as it is keyed in mappings: the unit is part of the name."""

    SYSTOLIC = "systolic_mmhg"
    DIASTOLIC = "diastolic_mmhg"
    HEART_RATE = "heart_rate_bpm"
    SPO2 = "spo2_pct"
    RESP_RATE = "resp_rate_per_min"
    TEMPERATURE = "temperature_c"


@dataclass(frozen=True)
class VitalSpec:
    """What a vital sign means, its UCUM unit, its LOINC code and the range a real reading can fall in."""

    vital: Vital
    label: str
    unit: str
    ucum: str
    loinc: str
    minimum: float
    maximum: float


VITAL_SPECS: Mapping[Vital, VitalSpec] = {
    spec.vital: spec
    for spec in (
        VitalSpec(Vital.SYSTOLIC, "systolic blood pressure", "mmHg", "mm[Hg]", "8480-6", 50, 300),
        VitalSpec(Vital.DIASTOLIC, "diastolic blood pressure", "mmHg", "mm[Hg]", "8462-4", 20, 200),
        VitalSpec(Vital.HEART_RATE, "heart rate", "/min", "/min", "8867-4", 20, 250),
        # Pulse oximetry is how clinics measure SpO2; US Core pairs 59408-5 with 2708-6.
        VitalSpec(Vital.SPO2, "oxygen saturation (pulse oximetry)", "%", "%", "59408-5", 50, 100),
        VitalSpec(Vital.RESP_RATE, "respiratory rate", "/min", "/min", "9279-1", 4, 60),
        VitalSpec(Vital.TEMPERATURE, "body temperature", "°C", "Cel", "8310-5", 30, 45),
    )
}

#: Dosing weight: above zero and at most this many kilograms.
MAX_WEIGHT_KG = 350.0
#: Age: from zero up to this many years.
MAX_AGE_YEARS = 130.0

PLAUSIBILITY_RULE = rule(
    "vitals.plausible_ranges",
    area="vitals",
    title="Implausible vital signs are rejected, never clamped",
    statement="Readings outside "
    + "; ".join(f"{s.vital} {s.minimum:g}–{s.maximum:g}" for s in VITAL_SPECS.values())
    + f"; diastolic at or above systolic; weight outside (0, {MAX_WEIGHT_KG:g}] kg; age outside "
    f"0–{MAX_AGE_YEARS:g} years are rejected with a message naming the field and the range.",
    citations=(cite("R46", "FHIR R4 vital-signs value set: LOINC codes and UCUM units"),),
    evidence=Evidence.POLICY,
    note="Ranges are data-entry plausibility limits chosen wide enough for any living patient in a clinic chair; "
    "they are not clinical thresholds.",
)


def number(field: str, value: object) -> float:
    """``value`` as a finite float; booleans, strings, NaN and infinities raise ``ValueError`` naming ``field``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{field}: must be a number, got {value!r}")
    result = float(value)
    if not math.isfinite(result):
        raise ValueError(f"{field}: must be a finite number, got {value!r}")
    return result


def in_range(field: str, value: object, minimum: float, maximum: float, unit: str) -> float:
    """``value`` as a float checked against the inclusive range; outside it raises ``ValueError`` naming ``field``."""
    result = number(field, value)
    if not minimum <= result <= maximum:
        raise ValueError(f"{field}: {result:g} is outside the allowed range {minimum:g}–{maximum:g} {unit}".rstrip())
    return result


def validate_vitals(vitals: Mapping[str, object]) -> dict[Vital, float]:
    """The readings keyed by :class:`Vital`, each checked against its plausible range.

    Unknown names raise ``ValueError`` listing the known ones, so ``"sbp"`` is caught rather than ignored; a
    diastolic at or above the systolic raises too. An empty mapping is valid (callers decide what is required).
    """
    known = {v.value: v for v in Vital}
    out: dict[Vital, float] = {}
    for name, raw in vitals.items():
        if name not in known:
            raise ValueError(f"{name}: unknown vital sign; known vital signs are {', '.join(known)}")
        spec = VITAL_SPECS[known[name]]
        out[spec.vital] = in_range(name, raw, spec.minimum, spec.maximum, spec.unit)
    systolic, diastolic = out.get(Vital.SYSTOLIC), out.get(Vital.DIASTOLIC)
    if systolic is not None and diastolic is not None and diastolic >= systolic:
        raise ValueError(f"diastolic_mmhg: {diastolic:g} must be below systolic_mmhg {systolic:g}")
    return out


def aware_datetime(field: str, value: object) -> datetime:
    """``value`` if it is a timezone-aware datetime, else ``ValueError`` naming ``field`` (clinical times are aware)."""
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise ValueError(f"{field}: must be a timezone-aware datetime, got {value!r}")
    return value


def validate_weight_kg(weight_kg: object) -> float:
    """A dosing weight in kilograms: above 0 and at most :data:`MAX_WEIGHT_KG`, else ``ValueError``."""
    weight = number("weight_kg", weight_kg)
    if not 0 < weight <= MAX_WEIGHT_KG:
        raise ValueError(
            f"weight_kg: {weight:g} is outside the allowed range: above 0 and at most {MAX_WEIGHT_KG:g} kg"
        )
    return weight


def validate_age_years(age_years: object) -> float:
    """An age in years from 0 to :data:`MAX_AGE_YEARS`, else ``ValueError`` naming ``age_years``."""
    return in_range("age_years", age_years, 0, MAX_AGE_YEARS, "years")
