"""Suicide-risk follow-up: the risk tier a set of screens shows, how soon the follow-up is due, which missed follow-ups
escalate, and what a clinician must document to close one.

Tiers follow the C-SSRS screener's triage points (REFERENCE §4.5). A positive PHQ-9 item 9 on its own says that
thoughts of death or self-harm are present but not how serious they are; until someone has asked, it is treated as
high (the safer reading of "immediate follow-up regardless of total", §4.1). With a C-SSRS in the same set the C-SSRS
tier decides, but a positive item 9 never yields less than moderate.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from enum import StrEnum

from ketaclinic.clinical.policy import DEFAULT_POLICY, ClinicPolicy
from ketaclinic.clinical.rules import AreaRules
from ketaclinic.clinical.sources import Evidence, cite
from ketaclinic.clinical.vitals import aware_datetime

CSSRS = "cssrs_screener"
IDEATION_FLAG = "suicidal_ideation"


class RiskTier(StrEnum):
    """How urgent a suicide-risk follow-up is, from the screens (not a clinician's judgement)."""

    LOW = "low"
    MODERATE = "moderate"
    HIGH = "high"


class AssessedRisk(StrEnum):
    """The risk level a clinician found when following up."""

    NONE = "none"
    LOW = "low"
    MODERATE = "moderate"
    HIGH = "high"


class FollowUpAction(StrEnum):
    """What a clinician did on a suicide-risk follow-up (SAFE-T style interventions)."""

    SAFETY_PLAN = "safety_plan"
    CRISIS_RESOURCES = "crisis_resources"
    MEANS_COUNSELLING = "means_counselling"
    INCREASED_CONTACT = "increased_contact"
    PSYCHIATRIC_EVALUATION = "psychiatric_evaluation"
    EMERGENCY_REFERRAL = "emergency_referral"
    NO_FURTHER_ACTION = "no_further_action"


ACTION_LABELS = {
    FollowUpAction.SAFETY_PLAN: "Safety plan made or reviewed",
    FollowUpAction.CRISIS_RESOURCES: "Crisis resources given (988, emergency number, clinic line)",
    FollowUpAction.MEANS_COUNSELLING: "Lethal-means counselling",
    FollowUpAction.INCREASED_CONTACT: "Increased contact / earlier follow-up booked",
    FollowUpAction.PSYCHIATRIC_EVALUATION: "Same-day mental-health evaluation arranged",
    FollowUpAction.EMERGENCY_REFERRAL: "Emergency referral (emergency department / 911)",
    FollowUpAction.NO_FURTHER_ACTION: "No further action needed",
}

_ORDER = (RiskTier.LOW, RiskTier.MODERATE, RiskTier.HIGH)
_CSSRS_FLAGS = {f"cssrs_risk_{t.value}": t for t in RiskTier}
#: What an assessed level needs at least one of (Columbia triage / SAFE-T).
REQUIRED_FOR = {
    AssessedRisk.HIGH: frozenset({FollowUpAction.EMERGENCY_REFERRAL, FollowUpAction.PSYCHIATRIC_EVALUATION}),
    AssessedRisk.MODERATE: frozenset(
        {FollowUpAction.SAFETY_PLAN, FollowUpAction.PSYCHIATRIC_EVALUATION, FollowUpAction.EMERGENCY_REFERRAL}
    ),
}


def _highest(tiers: Collection[RiskTier]) -> RiskTier:
    return max(tiers, key=_ORDER.index)


def risk_tier(screens: Sequence[tuple[str, Collection[str]]]) -> RiskTier | None:
    """The follow-up tier of screens taken together, as ``(instrument id, flags)`` pairs; ``None`` if all negative.

    C-SSRS present: its highest tier (``cssrs_risk_*``), raised to at least moderate when another instrument (PHQ-9
    item 9) shows ideation. No C-SSRS: high if any instrument shows ideation.
    """
    cssrs = [t for instrument, flags in screens if instrument == CSSRS for f, t in _CSSRS_FLAGS.items() if f in flags]
    screened = any(instrument == CSSRS for instrument, _ in screens)
    ideation = any(IDEATION_FLAG in flags for instrument, flags in screens if instrument != CSSRS)
    if screened:
        if ideation:
            return _highest([*cssrs, RiskTier.MODERATE])
        return _highest(cssrs) if cssrs else None
    return RiskTier.HIGH if ideation else None


def followup_hours(tier: RiskTier, policy: ClinicPolicy | None = None) -> float:
    """How many hours after the screen the follow-up of ``tier`` is due."""
    policy = policy or DEFAULT_POLICY
    return float(getattr(policy, f"suicide_followup_{RiskTier(tier).value}_hours"))


def followup_due(tier: RiskTier, screened_at: datetime, policy: ClinicPolicy | None = None) -> datetime:
    """When the follow-up of a screen of ``tier`` taken at ``screened_at`` (aware) is due."""
    aware_datetime("screened_at", screened_at)
    return screened_at + timedelta(hours=followup_hours(tier, policy))


def escalation_due(tier: RiskTier, due_at: datetime, now: datetime) -> bool:
    """Whether an open follow-up must be escalated: high tier, past its due time."""
    aware_datetime("due_at", due_at)
    aware_datetime("now", now)
    return RiskTier(tier) is RiskTier.HIGH and now >= due_at


def check_closure(assessed: str, actions: Collection[str], note: str, *, min_note_chars: int = 10) -> list[str]:
    """What is missing before a follow-up may be closed (empty list: it may be closed).

    Needs the risk level assessed, at least one action, and a note; "no further action" stands alone and only after
    no or low risk was found; a high risk needs an emergency referral or a same-day mental-health evaluation; a
    moderate one a safety plan or either of those.
    """
    problems: list[str] = []
    levels = [a.value for a in AssessedRisk]
    if assessed not in levels:
        problems.append(f"assessed_risk: choose one of {', '.join(levels)}")
    known = {a.value for a in FollowUpAction}
    unknown = sorted(set(actions) - known)
    if unknown:
        problems.append(f"actions: unknown {', '.join(unknown)}; allowed: {', '.join(sorted(known))}")
    chosen = {FollowUpAction(a) for a in actions if a in known}
    if not chosen:
        problems.append("actions: choose at least one action taken")
    if FollowUpAction.NO_FURTHER_ACTION in chosen:
        if len(chosen) > 1:
            problems.append("actions: 'no further action' cannot be combined with other actions")
        if assessed in (AssessedRisk.MODERATE, AssessedRisk.HIGH):
            problems.append(f"actions: a {assessed} risk needs an action, not 'no further action'")
    needed = REQUIRED_FOR.get(AssessedRisk(assessed)) if assessed in levels else None
    if needed and chosen and not chosen & needed:
        names = " or ".join(ACTION_LABELS[a].lower() for a in FollowUpAction if a in needed)
        problems.append(f"actions: a {assessed} risk needs {names}")
    if len(note.strip()) < min_note_chars:
        problems.append(f"note: describe the assessment (at least {min_note_chars} characters)")
    return problems


_rule = AreaRules("suicide_followup")
_rule(
    "tier",
    "Follow-up tier of a screen",
    "C-SSRS screener: its triage tier (low, moderate, high). PHQ-9 item 9 ≥1 without a C-SSRS in the same set: high "
    "(risk unknown until assessed). With a C-SSRS: the C-SSRS tier, at least moderate when PHQ-9 item 9 is positive.",
    (cite("R39", "§4.5 triage points"), cite("R35", "item 9 ≥1 warrants immediate follow-up")),
    Evidence.POLICY,
    note="Safer reading: an unassessed positive item 9 is handled as high; a negative C-SSRS does not cancel a "
    "positive item 9.",
)
_rule(
    "due",
    "When the follow-up is due",
    "High: within ClinicPolicy.suicide_followup_high_hours (1 h); moderate: suicide_followup_moderate_hours (4 h); "
    "low: suicide_followup_low_hours (24 h), from the time of the screen.",
    (cite("R39", "Columbia triage: high → immediate precautions; moderate → consultation; low → referral"),),
    Evidence.POLICY,
)
_rule(
    "escalation",
    "Missed high-risk follow-up escalates",
    "A high-tier follow-up still open at its due time is escalated once to the site's prescribers.",
    (cite("R39", "high risk: precautions until a mental-health evaluation"),),
    Evidence.POLICY,
)
_rule(
    "closure",
    "Closing a follow-up",
    "A follow-up closes only with the assessed risk level (none, low, moderate, high), at least one action and a "
    "note. High needs an emergency referral or a same-day mental-health evaluation; moderate a safety plan or either "
    "of those; 'no further action' only alone and only after no or low risk.",
    (cite("R39", "SAFE-T with C-SSRS: risk level → intervention"),),
    Evidence.BEST_KNOWLEDGE,
)
