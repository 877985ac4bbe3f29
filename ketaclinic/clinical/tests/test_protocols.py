"""Protocols, dose orders and schedule rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ketaclinic.clinical.policy import DEFAULT_POLICY
from ketaclinic.clinical.protocols import (
    PROTOCOLS,
    Drug,
    Indication,
    Jurisdiction,
    PerKgDose,
    Route,
    WeightBasis,
    check_spacing,
    course_week,
    dose,
    get_protocol,
    min_spacing_hours,
    phase_for_week,
)
from ketaclinic.clinical.rules import catalogue

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)  # a Monday


def test_it_catalogues_the_documented_protocols() -> None:
    assert set(PROTOCOLS) == {
        "ketamine_iv_standard",
        "ketamine_im",
        "ketamine_sublingual",
        "ketamine_intranasal_racemic",
        "esketamine_trd",
        "esketamine_mdsi",
    }
    for p in PROTOCOLS.values():
        assert p.citations and p.phases and p.min_age_years == 18


def test_it_registers_a_rule_for_each_protocol() -> None:
    ids = {r.id for r in catalogue()}
    assert {f"protocols.{p}" for p in PROTOCOLS} <= ids
    assert {"protocols.esketamine_devices", "protocols.session_spacing", "protocols.esketamine_missed_dose"} <= ids


def test_it_accepts_a_protocol_object_and_rejects_unknown_ids() -> None:
    proto = PROTOCOLS["ketamine_iv_standard"]
    assert get_protocol(proto) is proto
    with pytest.raises(ValueError, match="protocol: 'nope' is not a protocol; known protocols are ketamine_iv"):
        get_protocol("nope")
    with pytest.raises(ValueError, match="protocol"):
        get_protocol(None)  # type: ignore[arg-type]


# --- Per-kg doses ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("weight", "amount", "rate"),
    [(82, 41.0, 1.025), (70, 35.0, 0.875), (82.3, 41.2, 1.03), (0.1, 0.1, 0.003), (350, 175.0, 4.375)],
)
def test_it_doses_iv_ketamine_at_half_a_milligram_per_kilo_over_forty_minutes(weight, amount, rate) -> None:
    order = dose("ketamine_iv_standard", weight_kg=weight)
    assert (order.amount_mg, order.duration_min, order.rate_mg_per_min) == (amount, 40, rate)
    assert order.mg_per_kg == 0.5 and order.weight_basis_kg == weight and order.weight_basis is WeightBasis.ACTUAL
    assert order.drug is Drug.KETAMINE and order.route is Route.IV and order.devices is None


def test_it_lets_the_prescriber_choose_mg_per_kg_within_bounds() -> None:
    assert dose("ketamine_iv_standard", weight_kg=80, mg_per_kg=0.75).amount_mg == 60.0
    assert dose("ketamine_iv_standard", weight_kg=80, mg_per_kg=1.0).amount_mg == 80.0
    assert dose("ketamine_iv_standard", weight_kg=80, mg_per_kg=0.1).amount_mg == 8.0
    with pytest.raises(ValueError, match=r"mg_per_kg: 1\.1 is outside the allowed range 0\.1–1 mg/kg"):
        dose("ketamine_iv_standard", weight_kg=80, mg_per_kg=1.1)
    with pytest.raises(ValueError, match=r"mg_per_kg: 0\.4 is outside the allowed range 0\.5–1 mg/kg"):
        dose("ketamine_im", weight_kg=80, mg_per_kg=0.4)


def test_it_records_the_weight_basis() -> None:
    assert dose("ketamine_iv_standard", weight_kg=80, weight_basis="ideal").weight_basis is WeightBasis.IDEAL
    with pytest.raises(ValueError, match="weight_basis: 'lean' is not allowed; allowed values are actual, ideal"):
        dose("ketamine_iv_standard", weight_kg=80, weight_basis="lean")


def test_it_doses_im_ketamine_as_a_bolus() -> None:
    order = dose("ketamine_im", weight_kg=60)
    assert (order.amount_mg, order.duration_min, order.rate_mg_per_min) == (30.0, None, None)
    assert "cannot be slowed" in order.notes[0]


@pytest.mark.parametrize("weight", [0, -1, 350.01, 1000])
def test_it_rejects_implausible_weights(weight) -> None:
    with pytest.raises(ValueError, match=r"weight_kg: .* above 0 and at most 350 kg"):
        dose("ketamine_iv_standard", weight_kg=weight)


@pytest.mark.parametrize("weight", [True, "82", float("nan"), float("inf")])
def test_it_rejects_weights_that_are_not_numbers(weight) -> None:
    with pytest.raises(ValueError, match="weight_kg: must be a"):
        dose("ketamine_iv_standard", weight_kg=weight)


def test_it_requires_a_weight_for_per_kg_protocols() -> None:
    with pytest.raises(ValueError, match="weight_kg: required for ketamine_iv_standard"):
        dose("ketamine_iv_standard")


@pytest.mark.parametrize("arg", ["amount_mg", "previous_amount_mg"])
def test_it_refuses_fixed_amounts_for_per_kg_protocols(arg) -> None:
    with pytest.raises(ValueError, match=f"{arg}: not used by ketamine_iv_standard"):
        dose("ketamine_iv_standard", weight_kg=80, **{arg: 40})  # type: ignore[arg-type]


def test_it_refuses_doses_below_the_minimum_age() -> None:
    assert dose("ketamine_iv_standard", weight_kg=80, age_years=18).amount_mg == 40
    with pytest.raises(ValueError, match="age_years: 17 is below the minimum age 18 years for ketamine_iv_standard"):
        dose("ketamine_iv_standard", weight_kg=80, age_years=17)
    older = DEFAULT_POLICY.with_overrides({"minimum_age_years": 21})
    with pytest.raises(ValueError, match="age_years: 20 is below the minimum age 21"):
        dose("esketamine_trd", age_years=20, policy=older)
    with pytest.raises(ValueError, match=r"age_years: 131 is outside the allowed range 0–130 years"):
        dose("esketamine_trd", age_years=131)


@given(st.floats(min_value=0.5, max_value=349.0), st.floats(min_value=0.0, max_value=1.0))
def test_it_never_lowers_the_dose_as_weight_rises(weight, extra) -> None:
    lighter = dose("ketamine_iv_standard", weight_kg=weight)
    heavier = dose("ketamine_iv_standard", weight_kg=weight + extra)
    assert lighter.amount_mg <= heavier.amount_mg
    assert lighter.rate_mg_per_min is not None and heavier.rate_mg_per_min is not None
    assert lighter.rate_mg_per_min <= heavier.rate_mg_per_min
    assert abs(lighter.amount_mg - 0.5 * weight) <= 0.05 + 1e-9


# --- Fixed racemic doses ---------------------------------------------------------------------------------------------


def test_it_doses_sublingual_and_intranasal_racemic_ketamine() -> None:
    sublingual = dose("ketamine_sublingual")
    assert (sublingual.amount_mg, sublingual.mg_per_kg, sublingual.weight_basis) == (10.0, None, None)
    assert dose("ketamine_sublingual", amount_mg=10, weight_kg=80).mg_per_kg == 0.125
    nasal = dose("ketamine_intranasal_racemic")
    assert nasal.amount_mg == 50 and nasal.devices is None and "Five sprays" in nasal.notes[0]
    with pytest.raises(ValueError, match="amount_mg: 20 mg is not allowed for ketamine_sublingual; allowed: 10 mg"):
        dose("ketamine_sublingual", amount_mg=20)


def test_it_refuses_per_kg_and_previous_amounts_for_fixed_racemic_doses() -> None:
    with pytest.raises(ValueError, match="mg_per_kg: not used by ketamine_sublingual, which is a fixed dose"):
        dose("ketamine_sublingual", mg_per_kg=0.5)
    with pytest.raises(ValueError, match="previous_amount_mg: not used by ketamine_sublingual"):
        dose("ketamine_sublingual", session_number=2, previous_amount_mg=10)


# --- Esketamine ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "amount", "devices"),
    [
        ({"age_years": 45}, 56, 2),
        ({"age_years": 45, "session_number": 2}, 56, 2),
        ({"age_years": 45, "session_number": 2, "amount_mg": 84}, 84, 3),
        ({"age_years": 45, "session_number": 3, "previous_amount_mg": 84}, 84, 3),
        ({"age_years": 45, "session_number": 3, "previous_amount_mg": 84, "amount_mg": 56}, 56, 2),
        ({"age_years": 70, "jurisdiction": "EU"}, 28, 1),
        ({"age_years": 65, "jurisdiction": "HK"}, 28, 1),
        ({"age_years": 64, "jurisdiction": "EU"}, 56, 2),
        ({"age_years": 70, "jurisdiction": "EU", "session_number": 2, "amount_mg": 56}, 56, 2),
        ({"age_years": 70, "jurisdiction": "EU", "session_number": 3, "previous_amount_mg": 28}, 28, 1),
        ({"age_years": 70}, 56, 2),
        ({"age_years": 70, "amount_mg": 28}, 28, 1),
        ({"age_years": 40, "japanese_ancestry": True}, 28, 1),
        ({"age_years": 40, "japanese_ancestry": True, "amount_mg": 56}, 56, 2),
        ({"age_years": 40, "japanese_ancestry": True, "session_number": 2}, 28, 1),
    ],
)
def test_it_doses_esketamine_for_trd_by_label(kwargs, amount, devices) -> None:
    order = dose("esketamine_trd", **kwargs)
    assert (order.amount_mg, order.devices, order.rest_between_devices_min) == (amount, devices, 5)
    assert order.duration_min is None and order.rate_mg_per_min is None and order.drug is Drug.ESKETAMINE


def test_it_explains_label_specific_esketamine_choices() -> None:
    assert any("65 or over start at 28" in n for n in dose("esketamine_trd", age_years=70, jurisdiction="EU").notes)
    assert any("TRANSFORM-3" in n for n in dose("esketamine_trd", age_years=70).notes)
    assert any("ESCAPE-TRD" in n for n in dose("esketamine_trd", age_years=30, japanese_ancestry=True).notes)
    assert dose("esketamine_trd", age_years=70, jurisdiction="EU").jurisdiction is Jurisdiction.EU


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"age_years": 45, "amount_mg": 84}, "amount_mg: 84 mg is not allowed on day 1; allowed: 56 mg"),
        ({"age_years": 45, "amount_mg": 28}, "amount_mg: 28 mg is not allowed on day 1"),
        ({"age_years": 45, "session_number": 2, "amount_mg": 28}, "amount_mg: 28 mg is not allowed for esketamine_trd"),
        ({"age_years": 45, "session_number": 2, "amount_mg": 60}, "amount_mg: 60 mg is not allowed"),
        ({"age_years": 70, "jurisdiction": "EU", "amount_mg": 56}, "amount_mg: 56 mg is not allowed on day 1"),
        (
            {"age_years": 70, "jurisdiction": "EU", "session_number": 2, "previous_amount_mg": 28, "amount_mg": 84},
            "amount_mg: 84 mg is more than one 28-mg step above the previous 28 mg",
        ),
        ({"age_years": 45, "previous_amount_mg": 56}, "previous_amount_mg: session 1 has no previous dose"),
        ({"age_years": 45, "session_number": 2, "previous_amount_mg": 30}, "previous_amount_mg: 30 mg is not allowed"),
        ({}, "age_years: required for esketamine_trd"),
        ({"age_years": 17}, "age_years: 17 is below the minimum age 18"),
        ({"age_years": 45, "mg_per_kg": 1}, "mg_per_kg: not used by esketamine_trd"),
        ({"age_years": 45, "jurisdiction": "JP"}, "jurisdiction: 'JP' is not allowed; allowed values are US, EU, HK"),
        ({"age_years": 45, "session_number": 0}, "session_number: must be a whole number from 1 to 1000"),
        ({"age_years": 45, "session_number": True}, "session_number"),
        ({"age_years": 45, "session_number": 2.0}, "session_number"),
    ],
)
def test_it_refuses_esketamine_amounts_outside_the_label(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        dose("esketamine_trd", **kwargs)


def test_it_doses_esketamine_for_mdsi() -> None:
    first = dose("esketamine_mdsi", age_years=40)
    assert (first.amount_mg, first.devices) == (84, 3)
    assert dose("esketamine_mdsi", age_years=40, session_number=2, amount_mg=56).amount_mg == 56
    assert dose("esketamine_mdsi", age_years=40, session_number=3, previous_amount_mg=56).amount_mg == 56
    assert dose("esketamine_mdsi", age_years=70).amount_mg == 84  # the US label has no upper age
    assert not any("Beyond 4 weeks" in n for n in dose("esketamine_mdsi", age_years=40, session_number=8).notes)
    assert any("Beyond 4 weeks" in n for n in dose("esketamine_mdsi", age_years=40, session_number=9).notes)
    with pytest.raises(ValueError, match="amount_mg: 56 mg is not allowed on day 1; allowed: 84 mg"):
        dose("esketamine_mdsi", age_years=40, amount_mg=56)
    with pytest.raises(ValueError, match="under the EU/HK label esketamine for MDSI is for adults under 65"):
        dose("esketamine_mdsi", age_years=65, jurisdiction="EU")


# --- Schedules -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("protocol", "week", "phase"),
    [
        ("ketamine_iv_standard", 1, "induction"),
        ("ketamine_iv_standard", 3, "induction"),
        ("ketamine_iv_standard", 4, "maintenance"),
        ("ketamine_iv_standard", 52, "maintenance"),
        ("esketamine_trd", 4, "induction"),
        ("esketamine_trd", 5, "maintenance weekly"),
        ("esketamine_trd", 8, "maintenance weekly"),
        ("esketamine_trd", 9, "maintenance individualised"),
        ("esketamine_mdsi", 4, "treatment"),
        ("esketamine_mdsi", 5, None),
        ("ketamine_intranasal_racemic", 2, None),
        ("ketamine_sublingual", 30, "ongoing"),
    ],
)
def test_it_finds_the_phase_of_a_course_week(protocol, week, phase) -> None:
    found = phase_for_week(protocol, week)
    assert (found.name if found else None) == phase


def test_it_states_each_phase_frequency() -> None:
    induction = phase_for_week("esketamine_trd", 1)
    assert induction is not None
    assert (induction.sessions_per_week_min, induction.sessions_per_week_max, induction.total_sessions) == (2, 2, 8)
    iv = phase_for_week("ketamine_iv_standard", 1)
    assert iv is not None and (iv.sessions_per_week_min, iv.sessions_per_week_max, iv.total_sessions) == (2, 3, 6)
    later = phase_for_week("esketamine_trd", 9)
    assert later is not None and later.sessions_per_week_min == 0.5


@pytest.mark.parametrize("week", [0, -1, 1.5, True])
def test_it_rejects_invalid_weeks(week) -> None:
    with pytest.raises(ValueError, match="week: must be a whole number of at least 1"):
        phase_for_week("esketamine_trd", week)


def test_it_reads_the_minimum_spacing_from_policy() -> None:
    assert min_spacing_hours("ketamine_iv_standard") == 48
    policy = DEFAULT_POLICY.with_overrides({"session_min_spacing_hours": 72})
    assert min_spacing_hours("esketamine_trd", policy=policy) == 72


def test_it_counts_course_weeks_in_seven_day_blocks() -> None:
    assert course_week(T0, T0) == 1
    assert course_week(T0, T0 + timedelta(days=6, hours=23)) == 1
    assert course_week(T0, T0 + timedelta(days=7)) == 2
    with pytest.raises(ValueError, match=r"when: .* is before the course start"):
        course_week(T0, T0 - timedelta(hours=1))


def test_it_accepts_a_thrice_weekly_induction() -> None:
    sessions = [T0, T0 + timedelta(days=2), T0 + timedelta(days=4)]
    check = check_spacing("ketamine_iv_standard", sessions[:2], sessions[2])
    assert check.ok and check.problems == () and check.course_week == 1
    assert check.phase is not None and check.phase.name == "induction"


def test_it_flags_sessions_too_close_together() -> None:
    check = check_spacing("ketamine_iv_standard", [T0], T0 + timedelta(hours=47))
    assert not check.ok
    assert check.problems[0].startswith("Only 47.0 h from the session at 2025-03-03T09:00:00+00:00")
    assert check_spacing("ketamine_iv_standard", [T0], T0 + timedelta(hours=48)).ok
    # A session proposed before an existing one is checked against it too.
    assert not check_spacing(
        "ketamine_iv_standard", [T0 + timedelta(days=2)], T0 + timedelta(days=1), course_start=T0
    ).ok


def test_it_flags_too_many_sessions_in_a_week() -> None:
    sessions = [T0, T0 + timedelta(days=2)]
    check = check_spacing("esketamine_trd", sessions, T0 + timedelta(days=4))
    assert check.problems == ("3 sessions in course week 1; the induction phase allows at most 2 a week.",)
    weekly = [T0 + timedelta(days=28)]
    assert not check_spacing("esketamine_trd", weekly, T0 + timedelta(days=31), course_start=T0).ok


def test_it_flags_sessions_beyond_the_phase_total() -> None:
    sessions = [T0 + timedelta(days=d) for d in (0, 2, 4, 7, 9, 11)]
    check = check_spacing("ketamine_iv_standard", sessions, T0 + timedelta(days=14))
    assert check.problems == ("7 sessions in the induction phase; it has 6.",)
    assert check_spacing("ketamine_iv_standard", sessions, T0 + timedelta(days=21)).ok


def test_it_flags_sessions_after_the_defined_schedule() -> None:
    check = check_spacing("esketamine_mdsi", [T0], T0 + timedelta(days=28))
    assert check.phase is None
    assert check.problems == ("Course week 5 is after the end of the esketamine_mdsi schedule.",)


def test_it_requires_aware_times_within_the_course() -> None:
    naive = datetime(2025, 3, 3, 9, 0)
    with pytest.raises(ValueError, match="proposed: must be a timezone-aware datetime"):
        check_spacing("esketamine_trd", [], naive)
    with pytest.raises(ValueError, match=r"previous_sessions\[0\]: must be a timezone-aware datetime"):
        check_spacing("esketamine_trd", [naive], T0)
    with pytest.raises(ValueError, match="course_start: must be a timezone-aware datetime"):
        check_spacing("esketamine_trd", [], T0, course_start=naive)
    with pytest.raises(ValueError, match=r"previous_sessions\[0\]: .* is before the course start"):
        check_spacing("esketamine_trd", [T0 - timedelta(days=1)], T0, course_start=T0)


def test_it_describes_protocol_metadata() -> None:
    iv = PROTOCOLS["ketamine_iv_standard"]
    assert isinstance(iv.dose_rule, PerKgDose) and iv.infusion_min == 40 and iv.indications == (Indication.TRD,)
    assert PROTOCOLS["esketamine_mdsi"].indications == (Indication.MDSI,)
    assert PROTOCOLS["esketamine_trd"].device_mg == 28


def test_spacing_counts_elapsed_hours_across_a_dst_change() -> None:
    from zoneinfo import ZoneInfo

    chicago = ZoneInfo("America/Chicago")
    saturday = datetime(2027, 3, 13, 9, 0, tzinfo=chicago)  # CST; clocks go forward on Sunday 14 March
    monday = datetime(2027, 3, 15, 9, 0, tzinfo=chicago)  # CDT: 47 h later, although 48 h on the wall clock
    check = check_spacing("ketamine_iv_standard", [saturday], monday)
    assert not check.ok
    assert "Only 47.0 h" in check.problems[0]
    assert check_spacing("ketamine_iv_standard", [saturday], monday.replace(hour=10)).ok
