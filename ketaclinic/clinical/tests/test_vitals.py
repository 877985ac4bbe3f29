"""Vital-sign plausibility: every implausible reading is rejected with the field and range named."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ketaclinic.clinical.vitals import (
    VITAL_SPECS,
    Vital,
    aware_datetime,
    validate_age_years,
    validate_vitals,
    validate_weight_kg,
)


def test_it_knows_the_loinc_code_and_unit_of_every_vital() -> None:
    assert set(VITAL_SPECS) == set(Vital)
    assert VITAL_SPECS[Vital.SYSTOLIC].loinc == "8480-6" and VITAL_SPECS[Vital.SPO2].loinc == "59408-5"
    assert VITAL_SPECS[Vital.TEMPERATURE].ucum == "Cel"


@pytest.mark.parametrize(
    ("name", "low", "high"),
    [
        ("systolic_mmhg", 50, 300),
        ("diastolic_mmhg", 20, 200),
        ("heart_rate_bpm", 20, 250),
        ("spo2_pct", 50, 100),
        ("resp_rate_per_min", 4, 60),
        ("temperature_c", 30, 45),
    ],
)
def test_it_accepts_the_range_limits_and_rejects_just_beyond(name, low, high) -> None:
    extra = {"systolic_mmhg": 300} if name == "diastolic_mmhg" else {}
    assert validate_vitals({name: low, **extra})[Vital(name)] == low
    assert validate_vitals({name: high, **extra})[Vital(name)] == high
    for bad in (low - 0.5, high + 0.5):
        with pytest.raises(ValueError, match=rf"{name}: .* is outside the allowed range {low}–{high}"):
            validate_vitals({name: bad})


@given(
    st.sampled_from(list(Vital)),
    st.one_of(st.floats(max_value=-0.001), st.floats(min_value=300.001)),
    st.floats(allow_nan=False),
)
def test_it_rejects_every_implausible_reading(vital, beyond, anywhere) -> None:
    spec = VITAL_SPECS[vital]
    for value in (beyond, anywhere):
        if spec.minimum <= value <= spec.maximum:
            continue
        with pytest.raises(ValueError, match=vital.value):
            validate_vitals({vital.value: value})


@pytest.mark.parametrize("value", [float("nan"), float("inf"), "120", None, True])
def test_it_rejects_values_that_are_not_finite_numbers(value) -> None:
    with pytest.raises(ValueError, match="systolic_mmhg: must be a"):
        validate_vitals({"systolic_mmhg": value})


def test_it_rejects_unknown_vital_names() -> None:
    with pytest.raises(ValueError, match="sbp: unknown vital sign; known vital signs are systolic_mmhg"):
        validate_vitals({"sbp": 120})


def test_it_rejects_a_diastolic_not_below_the_systolic() -> None:
    with pytest.raises(ValueError, match="diastolic_mmhg: 120 must be below systolic_mmhg 120"):
        validate_vitals({"systolic_mmhg": 120, "diastolic_mmhg": 120})
    assert validate_vitals({}) == {}


def test_it_checks_weight_age_and_times() -> None:
    assert validate_weight_kg(350) == 350
    with pytest.raises(ValueError, match="weight_kg: 0 is outside the allowed range: above 0 and at most 350 kg"):
        validate_weight_kg(0)
    assert validate_age_years(0) == 0
    with pytest.raises(ValueError, match="age_years: -1 is outside the allowed range 0–130 years"):
        validate_age_years(-1)
    now = datetime(2025, 1, 1, tzinfo=UTC)
    assert aware_datetime("at", now) is now
    with pytest.raises(ValueError, match="at: must be a timezone-aware datetime"):
        aware_datetime("at", datetime(2025, 1, 1))
    with pytest.raises(ValueError, match="at: must be a timezone-aware datetime"):
        aware_datetime("at", "2025-01-01")
