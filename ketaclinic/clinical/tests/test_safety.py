"""Session-day safety: pre-dose gate, alerts, discharge, fasting and the REMS form."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ketaclinic.clinical.policy import DEFAULT_POLICY
from ketaclinic.clinical.rules import catalogue
from ketaclinic.clinical.safety import (
    REMS_FORM_FIELDS,
    AlertLevel,
    PredoseDecision,
    alert_escalation_due,
    check_rems_form,
    discharge_readiness,
    evaluate_vitals,
    fasting_check,
    predose_check,
    rems_due_date,
    rems_form_fields,
    sedation_alert,
)
from ketaclinic.clinical.vitals import Vital

GO, REVIEW, HOLD = PredoseDecision.GO, PredoseDecision.REVIEW, PredoseDecision.HOLD
NORMAL = {"systolic_mmhg": 120, "diastolic_mmhg": 80, "heart_rate_bpm": 70, "spo2_pct": 98}
ROUTES = ["iv", "im", "sublingual", "intranasal", "esketamine_nasal", "oral"]
_ORDER = [GO, REVIEW, HOLD]


def _check(route: str = "esketamine_nasal", **changes: float) -> PredoseDecision:
    return predose_check(route, {**NORMAL, **changes}).decision


# --- Pre-dose --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, GO),
        ({"systolic_mmhg": 140, "diastolic_mmhg": 90}, GO),
        ({"systolic_mmhg": 141}, REVIEW),
        ({"diastolic_mmhg": 91}, REVIEW),
        ({"systolic_mmhg": 179, "diastolic_mmhg": 109}, REVIEW),
        ({"systolic_mmhg": 180}, HOLD),
        ({"diastolic_mmhg": 110, "systolic_mmhg": 150}, HOLD),
        ({"systolic_mmhg": 90, "diastolic_mmhg": 60}, GO),
        ({"systolic_mmhg": 89, "diastolic_mmhg": 60}, HOLD),
        ({"spo2_pct": 92}, GO),
        ({"spo2_pct": 91}, HOLD),
        ({"heart_rate_bpm": 110}, GO),
        ({"heart_rate_bpm": 111}, REVIEW),
        ({"heart_rate_bpm": 150}, REVIEW),
        ({"heart_rate_bpm": 151}, HOLD),
        ({"heart_rate_bpm": 50}, GO),
        ({"heart_rate_bpm": 49}, HOLD),
        ({"resp_rate_per_min": 10}, GO),
        ({"resp_rate_per_min": 9}, HOLD),
        ({"resp_rate_per_min": 30}, GO),
        ({"resp_rate_per_min": 31}, HOLD),
        ({"temperature_c": 37.2}, GO),
    ],
)
@pytest.mark.parametrize("route", ROUTES)
def test_it_gates_the_dose_at_each_threshold(route, changes, expected) -> None:
    assert _check(route, **changes) is expected


@pytest.mark.parametrize("missing", ["systolic_mmhg", "diastolic_mmhg", "heart_rate_bpm", "spo2_pct"])
def test_it_holds_when_a_required_vital_is_missing(missing) -> None:
    vitals = {k: v for k, v in NORMAL.items() if k != missing}
    result = predose_check("iv", vitals)
    assert result.decision is HOLD
    assert result.findings[0].code == "safety.predose.required_vitals" and "not recorded" in result.findings[0].message


def test_it_names_the_reading_and_sources_in_each_finding() -> None:
    result = predose_check("esketamine_nasal", {**NORMAL, "systolic_mmhg": 150, "diastolic_mmhg": 92})
    (finding,) = result.findings
    assert finding.code == "safety.predose.bp_review" and "150/92" in finding.message
    assert (finding.vital, finding.value) == (Vital.SYSTOLIC, 150)
    assert any(c.source.id == "R1" for c in finding.citations)
    diastolic = predose_check("iv", {**NORMAL, "diastolic_mmhg": 112, "systolic_mmhg": 150}).findings[0]
    assert (diastolic.vital, diastolic.value) == (Vital.DIASTOLIC, 112)


def test_it_orders_findings_hold_first() -> None:
    result = predose_check("iv", {**NORMAL, "heart_rate_bpm": 120, "spo2_pct": 90})
    assert [f.level for f in result.findings] == [HOLD, REVIEW]


def test_it_follows_clinic_policy_overrides() -> None:
    strict = DEFAULT_POLICY.with_overrides({"predose_hold_systolic_mmhg": 160, "predose_review_systolic_mmhg": 130})
    assert predose_check("iv", {**NORMAL, "systolic_mmhg": 135}, policy=strict).decision is REVIEW
    assert predose_check("iv", {**NORMAL, "systolic_mmhg": 160}, policy=strict).decision is HOLD


def test_it_carries_blood_pressure_precautions_into_the_session() -> None:
    result = predose_check("esketamine_nasal", NORMAL, precautions=["cardiovascular_disease", "cystitis"])
    assert result.decision is GO
    (reminder,) = result.findings
    assert reminder.code == "safety.predose.bp_precautions" and "cardiovascular disease" in reminder.message
    elevated = predose_check(
        "esketamine_nasal", {**NORMAL, "systolic_mmhg": 150}, precautions=["hypertension_controlled"]
    )
    assert elevated.decision is REVIEW
    assert "The patient has hypertension controlled." in elevated.findings[0].message


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("nasal", NORMAL), {}, "route: 'nasal' is not allowed"),
        (("iv", {**NORMAL, "sbp": 120}), {}, "sbp: unknown vital sign"),
        (("iv", {**NORMAL, "systolic_mmhg": 400}), {}, "systolic_mmhg: 400 is outside the allowed range 50–300"),
        (("iv", NORMAL), {"precautions": ["gout"]}, "precautions: 'gout' is not allowed"),
    ],
)
def test_it_rejects_invalid_predose_input(args, kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        predose_check(*args, **kwargs)


@given(
    st.sampled_from(ROUTES),
    st.integers(min_value=100, max_value=299),
    st.integers(min_value=0, max_value=150),
    st.integers(min_value=50, max_value=99),
)
def test_it_never_relaxes_the_decision_as_blood_pressure_rises(route, systolic, rise, diastolic) -> None:
    higher = min(systolic + rise, 300)
    low = predose_check(route, {**NORMAL, "systolic_mmhg": systolic, "diastolic_mmhg": diastolic}).decision
    high = predose_check(route, {**NORMAL, "systolic_mmhg": higher, "diastolic_mmhg": diastolic}).decision
    assert _ORDER.index(low) <= _ORDER.index(high)


@given(st.sampled_from(ROUTES), st.integers(min_value=40, max_value=100), st.integers(min_value=0, max_value=34))
def test_it_never_relaxes_the_decision_as_diastolic_rises(route, diastolic, rise) -> None:
    # A systolic of 135 is below every limit, so only the diastolic drives the decision (up to 134 mmHg).
    low = predose_check(route, {**NORMAL, "systolic_mmhg": 135, "diastolic_mmhg": diastolic}).decision
    high = predose_check(route, {**NORMAL, "systolic_mmhg": 135, "diastolic_mmhg": diastolic + rise}).decision
    assert _ORDER.index(low) <= _ORDER.index(high)


# --- In-session alerts -----------------------------------------------------------------------------------------------

BASE = {"systolic_mmhg": 120, "diastolic_mmhg": 80}


@pytest.mark.parametrize(
    ("current", "codes"),
    [
        ({"systolic_mmhg": 159, "diastolic_mmhg": 104}, []),
        ({"systolic_mmhg": 160, "diastolic_mmhg": 80}, [("warning", "safety.alert.bp_rise")]),
        ({"systolic_mmhg": 130, "diastolic_mmhg": 105}, [("warning", "safety.alert.bp_rise")]),
        ({"systolic_mmhg": 179, "diastolic_mmhg": 80}, [("warning", "safety.alert.bp_rise")]),
        (
            {"systolic_mmhg": 180, "diastolic_mmhg": 80},
            [("urgent", "safety.alert.bp_absolute"), ("warning", "safety.alert.bp_rise")],
        ),
        (
            {"systolic_mmhg": 150, "diastolic_mmhg": 110},
            [("urgent", "safety.alert.bp_absolute"), ("warning", "safety.alert.bp_rise")],
        ),
        ({"spo2_pct": 92}, []),
        ({"spo2_pct": 91}, [("urgent", "safety.alert.spo2")]),
        ({"heart_rate_bpm": 120}, []),
        ({"heart_rate_bpm": 121}, [("warning", "safety.alert.heart_rate")]),
        ({"heart_rate_bpm": 49}, [("warning", "safety.alert.heart_rate")]),
        ({"resp_rate_per_min": 10}, []),
        ({"resp_rate_per_min": 9}, [("urgent", "safety.alert.resp_rate")]),
        ({"resp_rate_per_min": 30}, []),
        ({"resp_rate_per_min": 31}, [("warning", "safety.alert.resp_rate")]),
    ],
)
def test_it_raises_in_session_alerts(current, codes) -> None:
    alerts = evaluate_vitals(BASE, current)
    assert [(a.level.value, a.code) for a in alerts] == codes
    assert all(a.citations and a.message for a in alerts)


def test_it_skips_rises_without_a_baseline() -> None:
    assert evaluate_vitals({}, {"systolic_mmhg": 175, "diastolic_mmhg": 100}) == []


def test_it_explains_the_rise_in_the_alert() -> None:
    (alert,) = evaluate_vitals(BASE, {"systolic_mmhg": 165, "diastolic_mmhg": 85})
    assert alert.message == "Systolic blood pressure rose 45 mmHg from baseline 120 (limit 40)."
    assert (alert.vital, alert.value) == (Vital.SYSTOLIC, 165)


@pytest.mark.parametrize(
    ("score", "level"), [(0, "urgent"), (1, "urgent"), (2, "warning"), (3, "warning"), (4, None), (5, None)]
)
def test_it_alerts_on_sedation(score, level) -> None:
    alert = sedation_alert(score)
    assert (alert.level.value if alert else None) == level
    if score == 0:
        assert alert is not None and "loss of consciousness" in alert.message


def test_it_follows_the_sedation_policy() -> None:
    policy = DEFAULT_POLICY.with_overrides({"alert_moaas_at_or_below": 3})
    alert = sedation_alert(3, policy=policy)
    assert alert is not None and alert.level is AlertLevel.URGENT


@pytest.mark.parametrize("score", [-1, 6, 2.5, True, "3"])
def test_it_rejects_invalid_moaas_scores(score) -> None:
    with pytest.raises(ValueError, match="moaas: must be a whole number from 0 to 5"):
        sedation_alert(score)


def test_it_escalates_unacknowledged_alerts() -> None:
    raised = datetime(2025, 1, 1, 10, 0, tzinfo=UTC)
    assert not alert_escalation_due(raised, raised + timedelta(minutes=4, seconds=59))
    assert alert_escalation_due(raised, raised + timedelta(minutes=5))
    with pytest.raises(ValueError, match=r"now: .* is before raised_at"):
        alert_escalation_due(raised, raised - timedelta(minutes=1))


# --- Discharge -------------------------------------------------------------------------------------------------------

READY = {
    "route": "esketamine_nasal",
    "recovery_score": 9,
    "minutes_since_dose": 120,
    "vitals": {"systolic_mmhg": 130, "diastolic_mmhg": 85, "heart_rate_bpm": 75, "spo2_pct": 97},
    "baseline_vitals": {"systolic_mmhg": 125, "diastolic_mmhg": 80, "heart_rate_bpm": 70, "spo2_pct": 98},
    "symptoms_resolved": True,
    "escort_present": True,
}


def _discharge(**changes):
    return discharge_readiness(**{**READY, **changes})


def test_it_discharges_when_every_criterion_is_met() -> None:
    result = _discharge()
    assert result.ready and result.unmet == ()
    assert "next day after a restful sleep" in result.advisories[0]


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"minutes_since_dose": 119}, "safety.discharge.observation"),
        ({"route": "iv", "minutes_since_dose": 59}, "safety.discharge.observation"),
        ({"recovery_score": 8}, "safety.discharge.recovery_score"),
        ({"symptoms_resolved": False}, "safety.discharge.symptoms"),
        ({"escort_present": False}, "safety.discharge.escort"),
        (
            {"vitals": {"systolic_mmhg": 151, "diastolic_mmhg": 85, "heart_rate_bpm": 75, "spo2_pct": 97}},
            "safety.discharge.vitals",
        ),
        (
            {"vitals": {"systolic_mmhg": 130, "diastolic_mmhg": 63, "heart_rate_bpm": 75, "spo2_pct": 97}},
            "safety.discharge.vitals",
        ),
        (
            {"vitals": {"systolic_mmhg": 130, "diastolic_mmhg": 85, "heart_rate_bpm": 75, "spo2_pct": 91}},
            "safety.discharge.vitals",
        ),
        ({"vitals": {"systolic_mmhg": 130, "diastolic_mmhg": 85, "heart_rate_bpm": 75}}, "safety.discharge.vitals"),
        ({"baseline_vitals": {"heart_rate_bpm": 70}}, "safety.discharge.vitals"),
    ],
)
def test_it_withholds_discharge_for_each_unmet_criterion(changes, code) -> None:
    result = _discharge(**changes)
    assert not result.ready
    assert {u.code for u in result.unmet} == {code}
    assert all(u.citations and u.message for u in result.unmet)


def test_it_uses_the_racemic_observation_time_from_policy() -> None:
    assert _discharge(route="iv", minutes_since_dose=60).ready
    longer = DEFAULT_POLICY.with_overrides({"ketamine_min_observation_min": 90})
    assert not _discharge(route="im", minutes_since_dose=60, policy=longer).ready
    assert _discharge(
        minutes_since_dose=150, policy=DEFAULT_POLICY.with_overrides({"esketamine_min_observation_min": 150})
    ).ready


def test_it_never_discharges_esketamine_before_two_hours() -> None:
    with pytest.raises(ValueError, match="esketamine_min_observation_min: 60 is outside the allowed range"):
        DEFAULT_POLICY.with_overrides({"esketamine_min_observation_min": 60})
    assert not _discharge(minutes_since_dose=119.9).ready


def test_it_advises_longer_observation_with_child_pugh_b() -> None:
    result = _discharge(precautions=["liver_disease_child_pugh_b"])
    assert result.ready and any("hepatic" in a for a in result.advisories)
    assert not any(
        "hepatic" in a for a in _discharge(route="iv", precautions=["liver_disease_child_pugh_b"]).advisories
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"recovery_score": 11}, "recovery_score: must be a whole number from 0 to 10"),
        ({"recovery_score": True}, "recovery_score"),
        ({"minutes_since_dose": -1}, "minutes_since_dose: -1 is outside the allowed range 0–1440 min"),
        ({"symptoms_resolved": None}, "symptoms_resolved: must be true or false"),
        ({"escort_present": "yes"}, "escort_present: must be true or false"),
        ({"route": "nasal"}, "route"),
        ({"precautions": ["nope"]}, "precautions"),
        ({"vitals": {"spo2_pct": 101}}, "spo2_pct"),
    ],
)
def test_it_rejects_invalid_discharge_input(changes, message) -> None:
    with pytest.raises(ValueError, match=message):
        _discharge(**changes)


# --- Fasting ---------------------------------------------------------------------------------------------------------

DOSE_AT = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


def test_it_accepts_sufficient_fasting() -> None:
    result = fasting_check(
        dose_at=DOSE_AT, last_food_at=DOSE_AT - timedelta(hours=2), last_liquid_at=DOSE_AT - timedelta(minutes=30)
    )
    assert result.ok and result.problems == () and result.earliest_dose_at == DOSE_AT


def test_it_reports_short_fasting_and_when_the_dose_can_be_given() -> None:
    result = fasting_check(
        dose_at=DOSE_AT, last_food_at=DOSE_AT - timedelta(minutes=90), last_liquid_at=DOSE_AT - timedelta(minutes=29)
    )
    assert not result.ok
    assert result.problems == (
        "Last food at 2025-01-01T10:30:00+00:00: allow 2 h before the dose.",
        "Last liquids at 2025-01-01T11:31:00+00:00: allow 30 min before the dose.",
    )
    assert result.earliest_dose_at == DOSE_AT + timedelta(minutes=30)


def test_it_asks_for_unrecorded_fasting_times() -> None:
    result = fasting_check(dose_at=DOSE_AT, last_food_at=None, last_liquid_at=None)
    assert not result.ok and result.earliest_dose_at is None
    assert result.problems == ("Time of last food not recorded.", "Time of last liquids not recorded.")


def test_it_follows_the_fasting_policy() -> None:
    asa = DEFAULT_POLICY.with_overrides({"fasting_food_hours": 6})
    result = fasting_check(dose_at=DOSE_AT, last_food_at=DOSE_AT - timedelta(hours=5), last_liquid_at=None, policy=asa)
    assert "allow 6 h" in result.problems[0]


def test_it_rejects_invalid_fasting_times() -> None:
    with pytest.raises(ValueError, match=r"last_food_at: .* is after the dose time"):
        fasting_check(dose_at=DOSE_AT, last_food_at=DOSE_AT + timedelta(minutes=1), last_liquid_at=None)
    with pytest.raises(ValueError, match="dose_at: must be a timezone-aware datetime"):
        fasting_check(dose_at=datetime(2025, 1, 1), last_food_at=None, last_liquid_at=None)
    with pytest.raises(ValueError, match="last_liquid_at: must be a timezone-aware datetime"):
        fasting_check(dose_at=DOSE_AT, last_food_at=None, last_liquid_at=datetime(2025, 1, 1))


# --- REMS ------------------------------------------------------------------------------------------------------------

COMPLETE_FORM: dict[str, object] = {
    "patient_name": "A Patient",
    "patient_dob": date(1980, 5, 1),
    "patient_sex": "female",
    "first_treatment": False,
    "patient_enrolled": True,
    "concomitant_benzodiazepines": False,
    "concomitant_sedative_hypnotics": False,
    "concomitant_psychostimulants": False,
    "concomitant_maois": False,
    "monitoring_hcp_name": "N Nurse",
    "monitoring_hcp_phone": "555-0100",
    "monitoring_hcp_email": "nurse@example.org",
    "setting_name": "KetaClinic",
    "setting_address": "1 Main St",
    "treatment_date": date(2025, 1, 1),
    "dose": "56 mg",
    "lot_number": "ABC123",
    "total_monitoring_min": 125,
    "ready_to_leave_min": 90,
    "vitals_acceptable_before_administration": True,
    "vitals_acceptable_before_completion": True,
    "bp_before_administration": (128, 82),
    "bp_40_min": (142, 90),
    "bp_before_completion": (130, 84),
    "sedation": False,
    "dissociation": True,
    "respiratory_depression": False,
}


def test_it_lists_the_rems_form_fields() -> None:
    fields = rems_form_fields()
    assert fields is REMS_FORM_FIELDS
    names = [f.name for f in fields]
    assert {"dose", "lot_number", "total_monitoring_min", "bp_40_min", "respiratory_depression"} <= set(names)
    assert len(names) == len(set(names))


def test_it_accepts_a_complete_rems_form() -> None:
    assert check_rems_form(COMPLETE_FORM) == ()
    assert check_rems_form({**COMPLETE_FORM, "dose": "other", "dose_other_mg": 28, "concomitant_opioids": True}) == ()


def test_it_lists_what_a_rems_form_lacks() -> None:
    form = {**COMPLETE_FORM, "lot_number": None, "dose": "other", "total_monitoring_min": 110}
    del form["sedation"]
    assert check_rems_form(form) == (
        "Lot number: not recorded.",
        "Did the patient experience sedation?: not recorded.",
        "Other dose (mg): required when the dose is 'other'.",
        "Total monitoring time 110 min is under the required 120 min.",
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("lot", "x", "lot: not a REMS form field"),
        ("patient_name", " ", "patient_name: ' ' is not allowed; expected a text value"),
        ("patient_dob", datetime(1980, 5, 1, tzinfo=UTC), "patient_dob: .* expected a date value"),
        ("first_treatment", "no", "first_treatment: 'no' is not allowed; expected a yes no value"),
        ("dose", "112 mg", "dose: '112 mg' is not allowed; expected one of 56 mg, 84 mg, other"),
        ("total_monitoring_min", 120.5, "total_monitoring_min: .* expected a minutes value"),
        ("dose_other_mg", 0, "dose_other_mg: 0 is outside the allowed range 1–1000 mg"),
        ("bp_40_min", (140,), "bp_40_min: .* expected a blood pressure value"),
        ("bp_40_min", (90, 140), "diastolic_mmhg: 140 must be below systolic_mmhg 90"),
    ],
)
def test_it_rejects_malformed_rems_values(field, value, message) -> None:
    with pytest.raises(ValueError, match=message):
        check_rems_form({**COMPLETE_FORM, field: value})


def test_it_dates_the_rems_deadline() -> None:
    assert rems_due_date(date(2025, 1, 28)) == date(2025, 2, 4)
    shorter = DEFAULT_POLICY.with_overrides({"rems_form_due_days": 3})
    assert rems_due_date(date(2025, 1, 28), policy=shorter) == date(2025, 1, 31)
    with pytest.raises(ValueError, match="session_date: must be a date"):
        rems_due_date(datetime(2025, 1, 28, tzinfo=UTC))
    with pytest.raises(ValueError, match="session_date: must be a date"):
        rems_due_date("2025-01-28")  # type: ignore[arg-type]


def test_it_registers_every_safety_rule_with_a_citation() -> None:
    rules = [r for r in catalogue() if r.area == "safety"]
    assert len(rules) >= 20 and all(r.citations for r in rules)
