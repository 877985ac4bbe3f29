"""Response, remission, MCID, rapid response and course status on constructed series."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ketaclinic.clinical import DEFAULT_POLICY
from ketaclinic.clinical.measurement import INDICATION_GROUPS
from ketaclinic.clinical.outcomes import (
    Assessment,
    OutcomeStatus,
    classify_change,
    classify_trajectory,
    not_evaluable_reason,
    primary_outcome,
    rapid_response,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def series(*points: tuple[float, int]) -> list[Assessment]:
    """Assessments at ``days`` after T0 with ``score``."""
    return [Assessment(T0 + timedelta(days=days), value) for days, value in points]


# --- classify_change -------------------------------------------------------------------------------------------------


def test_it_counts_an_exact_halving_as_response() -> None:
    change = classify_change("madrs", 30, 15)
    assert (change.percent_change, change.response, change.partial_response) == (50.0, True, False)
    assert change.points_improved == 15


@pytest.mark.parametrize(
    ("baseline", "current", "response", "partial"),
    [
        (40, 21, False, True),
        (40, 30, False, True),
        (40, 31, False, False),
        (40, 45, False, False),
        (40, 20, True, False),
    ],
)
def test_it_separates_response_partial_response_and_none(baseline, current, response, partial) -> None:
    change = classify_change("madrs", baseline, current)
    assert (change.response, change.partial_response) == (response, partial)


def test_it_reports_worsening_as_a_negative_percent_change() -> None:
    assert classify_change("phq9", 10, 15).percent_change == -50.0


def test_it_has_no_percent_change_or_response_from_a_zero_baseline() -> None:
    change = classify_change("phq9", 0, 0)
    assert (change.percent_change, change.response, change.partial_response, change.remission) == (
        None,
        False,
        False,
        True,
    )


@pytest.mark.parametrize(
    ("instrument_id", "remitted", "not_remitted"),
    [("madrs", 12, 13), ("phq9", 4, 5), ("qids_sr16", 5, 6), ("hamd17", 7, 8), ("gad7", 4, 5)],
)
def test_it_applies_each_instruments_remission_threshold(instrument_id, remitted, not_remitted) -> None:
    assert classify_change(instrument_id, 20, remitted).remission is True
    assert classify_change(instrument_id, 20, not_remitted).remission is False


def test_it_lets_the_caller_choose_the_escape_trd_madrs_threshold() -> None:
    change = classify_change("madrs", 30, 10, remission_threshold=10)
    assert (change.remission, change.remission_threshold) == (True, 10)
    assert classify_change("madrs", 30, 11, remission_threshold=10).remission is False


def test_it_has_no_remission_without_a_rule_unless_a_threshold_is_given() -> None:
    assert classify_change("ybocs", 30, 10).remission is None
    assert classify_change("ybocs", 30, 12, remission_threshold=12).remission is True


def test_it_follows_the_clinic_policy() -> None:
    policy = DEFAULT_POLICY.with_overrides({"response_reduction_pct": 40, "madrs_remission_max": 10})
    change = classify_change("madrs", 28, 12, policy=policy)
    assert (change.response, change.remission) == (True, False)


@pytest.mark.parametrize(("current", "mcid"), [(13, True), (14, False), (25, False)])
def test_it_applies_the_phq9_mcid(current: int, mcid: bool) -> None:
    assert classify_change("phq9", 18, current).mcid is mcid


def test_it_has_no_mcid_for_other_instruments() -> None:
    assert classify_change("madrs", 30, 10).mcid is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"baseline": 61, "current": 10}, "baseline: 61 is not a madrs total; allowed values: 0–60"),
        ({"baseline": 30, "current": -1}, "current: -1 is not a madrs total; allowed values: 0–60"),
        ({"baseline": True, "current": 10}, "baseline: True is not a madrs total"),
        ({"baseline": 30.0, "current": 10}, "baseline: 30.0 is not a madrs total"),
        (
            {"baseline": 30, "current": 10, "remission_threshold": 70},
            "remission_threshold: 70 is not a madrs total; allowed values: 0–60",
        ),
    ],
)
def test_it_names_the_field_with_an_out_of_range_score(kwargs, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        classify_change("madrs", **kwargs)


@pytest.mark.parametrize("instrument_id", ["aldrete", "padss", "moaas", "cssrs_screener"])
def test_it_refuses_change_on_scales_where_lower_is_not_better(instrument_id: str) -> None:
    with pytest.raises(ValueError, match=f"instrument: {instrument_id} is not a symptom scale"):
        classify_change(instrument_id, 5, 5)


@settings(derandomize=True, database=None, deadline=None, max_examples=300)
@given(baseline=st.integers(0, 60), current=st.integers(0, 60))
def test_it_agrees_with_the_percent_definition(baseline: int, current: int) -> None:
    change = classify_change("madrs", baseline, current)
    if baseline == 0:
        assert change.percent_change is None and not change.response
    else:
        exact = (baseline - current) * 100 / baseline
        assert change.percent_change == pytest.approx(exact)
        assert change.response == ((baseline - current) * 2 >= baseline)
    assert not (change.response and change.partial_response)
    assert change.remission == (current <= 12)


# --- rapid response --------------------------------------------------------------------------------------------------


def test_it_finds_the_first_response_within_24_hours_of_a_dose() -> None:
    points = [
        Assessment(T0 - timedelta(hours=1), 10),  # before the dose: ignored
        Assessment(T0 + timedelta(hours=4), 25),
        Assessment(T0 + timedelta(hours=24), 14),
        Assessment(T0 + timedelta(hours=30), 8),
    ]
    assert rapid_response("madrs", 30, T0, points) == points[2]


def test_it_finds_no_rapid_response_outside_the_window() -> None:
    points = [Assessment(T0 + timedelta(hours=25), 8)]
    assert rapid_response("madrs", 30, T0, points) is None
    wider = DEFAULT_POLICY.with_overrides({"rapid_response_hours": 48})
    assert rapid_response("madrs", 30, T0, points, policy=wider) == points[0]


def test_it_refuses_a_naive_dose_time() -> None:
    with pytest.raises(ValueError, match=r"dosed_at: .* has no time zone"):
        rapid_response("madrs", 30, datetime(2026, 3, 2, 9, 0), [])


# --- trajectories ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("points", "status"),
    [
        (((2, 28), (7, 27)), OutcomeStatus.NON_RESPONDER),
        (((2, 20),), OutcomeStatus.PARTIAL_RESPONDER),
        (((2, 14),), OutcomeStatus.RESPONDER),
        (((2, 20), (7, 10)), OutcomeStatus.REMITTER),
        (((2, 14), (5, 20)), OutcomeStatus.RESPONDER),  # one dip does not end a response
        (((2, 14), (5, 20), (9, 21)), OutcomeStatus.LOSS_OF_RESPONSE),
        (((2, 10), (5, 20), (9, 21), (12, 13)), OutcomeStatus.RESPONDER),  # responded again
    ],
)
def test_it_classifies_the_course(points, status: OutcomeStatus) -> None:
    assert classify_trajectory("madrs", 30, series(*points)).status is status


def test_it_explains_a_held_response_and_keeps_the_dip_as_evidence() -> None:
    trajectory = classify_trajectory("madrs", 30, series((2, 14), (5, 20)))
    assert "fewer than needed for loss of response" in trajectory.reason
    assert [a.score for a in trajectory.evidence] == [14, 20]
    assert trajectory.first_response == series((2, 14))[0]
    assert trajectory.latest.current == 20


def test_it_reports_loss_of_response_with_its_evidence() -> None:
    trajectory = classify_trajectory("madrs", 30, series((2, 12), (5, 16), (9, 20), (12, 21)))
    assert trajectory.status is OutcomeStatus.LOSS_OF_RESPONSE
    assert [a.score for a in trajectory.evidence] == [12, 16, 20, 21]
    assert trajectory.reason.startswith("3 consecutive assessments without response")


def test_it_uses_the_policy_count_for_loss_of_response() -> None:
    strict = DEFAULT_POLICY.with_overrides({"loss_of_response_consecutive": 1})
    assert classify_trajectory("madrs", 30, series((2, 14), (5, 20)), policy=strict).status is (
        OutcomeStatus.LOSS_OF_RESPONSE
    )


def test_it_detects_relapse_on_two_madrs_scores_a_week_apart() -> None:
    trajectory = classify_trajectory("madrs", 34, series((0, 12), (7, 24), (14, 25)))
    assert trajectory.status is OutcomeStatus.RELAPSE
    assert [a.score for a in trajectory.evidence] == [24, 25]
    assert trajectory.reason == "MADRS ≥22 on 2 consecutive assessments 7 days apart after response"


def test_it_detects_relapse_on_a_twice_weekly_schedule() -> None:
    trajectory = classify_trajectory("madrs", 34, series((0, 10), (3, 23), (6, 24), (10, 23)))
    assert trajectory.status is OutcomeStatus.RELAPSE
    assert [a.score for a in trajectory.evidence] == [23, 24, 23]


@pytest.mark.parametrize(
    "points",
    [
        ((0, 10), (7, 24), (30, 25)),  # more than 15 days apart
        ((0, 10), (7, 24), (10, 20), (14, 25)),  # interrupted by a lower score
        ((0, 10), (2, 24), (4, 25)),  # closer than 5 days
    ],
)
def test_it_does_not_call_relapse_outside_the_sustain1_window(points) -> None:
    assert classify_trajectory("madrs", 34, series(*points)).status is OutcomeStatus.LOSS_OF_RESPONSE


def test_it_does_not_call_relapse_before_any_response() -> None:
    assert classify_trajectory("madrs", 34, series((0, 30), (7, 28))).status is OutcomeStatus.NON_RESPONDER


def test_it_clears_relapse_when_response_returns() -> None:
    points = series((0, 10), (7, 24), (14, 25), (21, 12))
    assert classify_trajectory("madrs", 34, points).status is OutcomeStatus.REMITTER


def test_it_calls_relapse_even_when_a_high_baseline_keeps_the_reduction_above_half() -> None:
    trajectory = classify_trajectory("madrs", 56, series((0, 20), (7, 26), (14, 27)))
    assert trajectory.status is OutcomeStatus.RELAPSE


def test_it_needs_a_well_period_before_relapse_on_a_high_baseline() -> None:
    trajectory = classify_trajectory("madrs", 56, series((0, 26), (7, 27)))
    assert trajectory.status is OutcomeStatus.RESPONDER


def test_it_calls_relapse_only_on_the_madrs() -> None:
    trajectory = classify_trajectory("phq9", 20, series((0, 4), (7, 24), (14, 25)))
    assert trajectory.status is OutcomeStatus.LOSS_OF_RESPONSE


def test_it_explains_a_remission_from_a_zero_baseline() -> None:
    trajectory = classify_trajectory("phq9", 0, series((7, 0)))
    assert trajectory.status is OutcomeStatus.REMITTER
    assert "from a baseline of 0" in trajectory.reason


def test_it_passes_the_remission_threshold_through() -> None:
    points = series((7, 12))
    assert classify_trajectory("madrs", 30, points).status is OutcomeStatus.REMITTER
    assert classify_trajectory("madrs", 30, points, remission_threshold=10).status is OutcomeStatus.RESPONDER


@pytest.mark.parametrize(
    ("points", "message"),
    [
        ([], "assessments: at least one assessment after baseline is needed"),
        ([Assessment(datetime(2026, 3, 2), 10)], "assessments[0].at: 2026-03-02T00:00:00 has no time zone"),
        (series((7, 10), (2, 12)), "assessments[1].at: "),
        (series((7, 61)), "assessments[0].score: 61 is not a madrs total; allowed values: 0–60"),
    ],
)
def test_it_refuses_a_malformed_series(points, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        classify_trajectory("madrs", 30, points)


def test_it_names_statuses_in_plain_words() -> None:
    assert [s.value for s in OutcomeStatus] == [
        "remitter",
        "responder",
        "partial responder",
        "non-responder",
        "loss of response",
        "relapse",
    ]


# --- primary outcome per indication ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("indication", "instrument", "reason"),
    [
        ("trd", "phq9", None),
        ("mdsi", "phq9", None),
        ("depression", "phq9", None),
        ("anxiety", "gad7", None),
        ("ptsd", None, "no sourced response definition for PCL-5"),
        ("ocd", None, "no sourced response definition for Y-BOCS"),
        ("chronic_pain", None, "no sourced response definition for Numeric pain rating scale (0–10)"),
        ("migraine", None, "no sourced response definition for MIDAS"),
        ("alcohol_use", None, "no sourced response definition for AUDIT"),
    ],
)
def test_it_judges_each_indication_on_its_primary_outcome_or_not_at_all(indication, instrument, reason) -> None:
    assert primary_outcome(indication) == instrument
    assert not_evaluable_reason(indication) == reason


def test_it_names_a_primary_outcome_for_every_indication_group() -> None:
    assert {primary_outcome(i) for i in INDICATION_GROUPS} == {"phq9", "gad7", None}


def test_it_refuses_an_unknown_indication() -> None:
    with pytest.raises(ValueError, match=re.escape("indication: unknown 'insomnia'; known: trd, mdsi")):
        primary_outcome("insomnia")
    with pytest.raises(ValueError, match="indication: unknown 'insomnia'"):
        not_evaluable_reason("insomnia")


def test_it_applies_response_and_gad7_remission_to_an_anxiety_course() -> None:
    # GAD-7 baseline 16: ≥50 % reduction (≤8) is response, ≤4 remission; two assessments without either: lost.
    assert classify_change("gad7", 16, 8).response and classify_change("gad7", 16, 9).partial_response
    assert classify_change("gad7", 16, 4).remission and not classify_change("gad7", 16, 5).remission
    points = series((3, 12), (7, 8), (14, 4), (21, 10), (28, 11))
    trajectory = classify_trajectory(primary_outcome("anxiety") or "", 16, points)
    assert trajectory.status is OutcomeStatus.LOSS_OF_RESPONSE
    assert trajectory.first_response == points[1]
