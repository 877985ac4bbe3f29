"""Patients for screening tests, built through the patients app's own actions (synthetic people only)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
import time_machine

from ketaclinic.conftest import Cast
from ketaclinic.patients.actions import add_entry, register_patient
from ketaclinic.patients.models import AntidepressantTrial, Diagnosis, Patient
from ketaclinic.screening.actions import mark_section_reviewed

#: Tests run on a fixed clock so ages and "as of" dates never drift.
NOW = dt.datetime(2026, 3, 10, 15, 0, tzinfo=dt.UTC)
CALM_VITALS = {"systolic_mmhg": 122, "diastolic_mmhg": 78, "heart_rate_bpm": 72, "spo2_pct": 98}


@pytest.fixture(autouse=True)
def frozen_clock() -> Any:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def new_patient(cast: Cast, *, site: Any = None, **fields: Any) -> Patient:
    defaults: dict[str, Any] = {
        "legal_first_name": "Robin",
        "legal_last_name": "Testperson",
        "date_of_birth": dt.date(1980, 5, 1),
        "sex_at_birth": Patient.SexAtBirth.FEMALE,
    }
    defaults.update(fields)
    return register_patient(site=site or cast.site_a, by=cast.coordinator, status=Patient.Status.SCREENING, **defaults)


def add_trd_history(patient: Patient, by: Any) -> None:
    """An MDD diagnosis and two adequate failed antidepressant trials in the current episode (TRD met)."""
    add_entry(Diagnosis, patient, by=by, icd10_code="F33.2", description="MDD, recurrent, severe", is_primary=True)
    add_entry(
        AntidepressantTrial,
        patient,
        by=by,
        drug="sertraline",
        drug_class="ssri",
        daily_dose_mg=150,
        adequate_dose=True,
        weeks=8,
        improvement_pct=10,
    )
    add_entry(
        AntidepressantTrial,
        patient,
        by=by,
        drug="venlafaxine",
        drug_class="snri",
        daily_dose_mg=225,
        adequate_dose=True,
        weeks=10,
        improvement_pct=5,
    )


@pytest.fixture
def complete_patient(cast: Cast) -> Callable[..., Patient]:
    """A factory for a patient whose chart is complete and eligible (nothing but the off-label note)."""

    def make(**fields: Any) -> Patient:
        patient = new_patient(cast, pregnant=False, breastfeeding=False, **fields)
        add_trd_history(patient, cast.nurse)
        for section in ("conditions", "medications", "substance_use"):
            mark_section_reviewed(patient, section, by=cast.nurse)
        return patient

    return make
