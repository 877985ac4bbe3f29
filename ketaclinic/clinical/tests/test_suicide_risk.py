"""Suicide-risk follow-up: tiers from screens, due times from policy, escalation, and what closing needs."""

from __future__ import annotations

import datetime as dt

import pytest

from ketaclinic import clinical
from ketaclinic.clinical.suicide_risk import (
    AssessedRisk,
    FollowUpAction,
    RiskTier,
    check_closure,
    escalation_due,
    followup_due,
    followup_hours,
    risk_tier,
)

AT = dt.datetime(2026, 10, 21, 14, 0, tzinfo=dt.UTC)
PHQ9_POS = ("phq9", {"suicidal_ideation"})
PHQ9_NEG: tuple[str, set[str]] = ("phq9", set())


@pytest.mark.parametrize(
    ("screens", "tier"),
    [
        ([], None),
        ([PHQ9_NEG], None),
        ([PHQ9_POS], RiskTier.HIGH),
        ([("cssrs_screener", set())], None),
        ([("cssrs_screener", {"suicidal_ideation", "cssrs_risk_low"})], RiskTier.LOW),
        ([("cssrs_screener", {"suicidal_behaviour", "cssrs_risk_moderate"})], RiskTier.MODERATE),
        ([("cssrs_screener", {"cssrs_risk_high"})], RiskTier.HIGH),
        ([PHQ9_POS, ("cssrs_screener", set())], RiskTier.MODERATE),
        ([PHQ9_POS, ("cssrs_screener", {"cssrs_risk_low"})], RiskTier.MODERATE),
        ([PHQ9_POS, ("cssrs_screener", {"cssrs_risk_high"})], RiskTier.HIGH),
        ([PHQ9_NEG, ("cssrs_screener", {"cssrs_risk_low"})], RiskTier.LOW),
    ],
)
def test_the_tier_of_screens_taken_together(screens: list[tuple[str, set[str]]], tier: RiskTier | None) -> None:
    assert risk_tier(screens) == tier


def test_due_times_follow_the_policy() -> None:
    assert followup_due(RiskTier.HIGH, AT) == AT + dt.timedelta(hours=1)
    assert followup_due(RiskTier.MODERATE, AT) == AT + dt.timedelta(hours=4)
    assert followup_due(RiskTier.LOW, AT) == AT + dt.timedelta(hours=24)
    policy = clinical.DEFAULT_POLICY.with_overrides({"suicide_followup_low_hours": 8})
    assert followup_hours(RiskTier.LOW, policy) == 8
    with pytest.raises(ValueError, match="screened_at"):
        followup_due(RiskTier.LOW, dt.datetime(2026, 1, 1))


def test_only_a_missed_high_tier_follow_up_escalates() -> None:
    due = AT
    assert escalation_due(RiskTier.HIGH, due, AT)
    assert not escalation_due(RiskTier.HIGH, due, AT - dt.timedelta(minutes=1))
    assert not escalation_due(RiskTier.MODERATE, due, AT + dt.timedelta(days=1))
    with pytest.raises(ValueError, match="now"):
        escalation_due(RiskTier.HIGH, due, dt.datetime(2026, 1, 1))


NOTE = "Called the patient; C-SSRS repeated."


@pytest.mark.parametrize(
    ("assessed", "actions", "problem"),
    [
        ("low", ["safety_plan"], None),
        ("none", ["no_further_action"], None),
        ("high", ["emergency_referral", "crisis_resources"], None),
        ("moderate", ["psychiatric_evaluation"], None),
        ("maybe", ["safety_plan"], "assessed_risk: choose one of none, low, moderate, high"),
        ("low", [], "actions: choose at least one action taken"),
        ("low", ["hugs"], "actions: unknown hugs"),
        ("low", ["no_further_action", "safety_plan"], "cannot be combined"),
        ("high", ["no_further_action"], "a high risk needs an action"),
        ("high", ["safety_plan"], "a high risk needs same-day mental-health evaluation arranged or emergency"),
        ("moderate", ["crisis_resources"], "a moderate risk needs safety plan made or reviewed or"),
    ],
)
def test_closing_needs_a_level_an_action_fitting_the_level_and_a_note(
    assessed: str, actions: list[str], problem: str | None
) -> None:
    problems = check_closure(assessed, actions, NOTE)
    if problem is None:
        assert problems == []
    else:
        assert any(problem in p for p in problems), problems


def test_closing_needs_a_note() -> None:
    assert check_closure(AssessedRisk.LOW, [FollowUpAction.SAFETY_PLAN], " short ") == [
        "note: describe the assessment (at least 10 characters)"
    ]
