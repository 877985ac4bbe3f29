"""ClinicPolicy: every threshold a clinic may tune, with its guideline default and source.

A clinic (or one of its sites) overrides a value through :meth:`ClinicPolicy.with_overrides`, which checks the name
and the allowed range, so a typo or an implausible value can never silently change a safety rule. Where the sources
disagree the default is the safer reading, and the setting's ``note`` says so.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from ketaclinic.clinical.sources import Citation, Evidence, cite


@dataclass(frozen=True)
class Setting:
    """Metadata of one tunable threshold."""

    name: str
    default: float
    minimum: float
    maximum: float
    unit: str
    meaning: str
    citations: tuple[Citation, ...]
    evidence: Evidence
    note: str = ""


def _setting(
    default: float,
    *,
    minimum: float,
    maximum: float,
    unit: str,
    meaning: str,
    citations: tuple[Citation, ...],
    evidence: Evidence = Evidence.PUBLISHED,
    note: str = "",
) -> Any:
    meta = {
        "minimum": minimum,
        "maximum": maximum,
        "unit": unit,
        "meaning": meaning,
        "citations": citations,
        "evidence": evidence,
        "note": note,
    }
    return field(default=default, metadata=meta)


_POLICY = Evidence.POLICY
_BEST = Evidence.BEST_KNOWLEDGE


@dataclass(frozen=True)
class ClinicPolicy:
    """All tunable clinical thresholds. Defaults follow the cited guideline; comparisons are stated in ``meaning``."""

    # --- Pre-dose gate -------------------------------------------------------------------------------------------
    predose_review_systolic_mmhg: float = _setting(
        140,
        minimum=120,
        maximum=180,
        unit="mmHg",
        meaning="baseline systolic above this needs a prescriber's review before dosing",
        citations=(cite("R1", "§2 / §5.6 blood pressure: elevated baseline e.g. >140/90"),),
    )
    predose_review_diastolic_mmhg: float = _setting(
        90,
        minimum=70,
        maximum=110,
        unit="mmHg",
        meaning="baseline diastolic above this needs a prescriber's review before dosing",
        citations=(cite("R1", "§2 / §5.6 blood pressure: elevated baseline e.g. >140/90"),),
    )
    predose_hold_systolic_mmhg: float = _setting(
        180,
        minimum=140,
        maximum=220,
        unit="mmHg",
        meaning="baseline systolic at or above this holds the dose",
        citations=(cite("R34", "hypertensive urgency SBP >180"), cite("R33", "exclusion SBP >180")),
        evidence=_POLICY,
        note="Safer reading: hold at 180 itself rather than only above it.",
    )
    predose_hold_diastolic_mmhg: float = _setting(
        110,
        minimum=90,
        maximum=130,
        unit="mmHg",
        meaning="baseline diastolic at or above this holds the dose",
        citations=(cite("R34", "StatPearls: urgency DBP >110"),),
        evidence=_POLICY,
        note="ACC/AHA crisis is >120; the lower StatPearls urgency figure is the safer default.",
    )
    predose_hold_systolic_low_mmhg: float = _setting(
        90,
        minimum=70,
        maximum=110,
        unit="mmHg",
        meaning="baseline systolic below this holds the dose",
        citations=(cite("R33", "exclusion SBP <90"),),
        evidence=_POLICY,
    )
    predose_hold_spo2_below_pct: float = _setting(
        92,
        minimum=85,
        maximum=98,
        unit="%",
        meaning="baseline SpO2 below this holds the dose",
        citations=(cite("R30", "modified Aldrete: full points for SpO2 >92 % on room air"),),
        evidence=_POLICY,
        note="No published ketamine-psychiatry SpO2 stop threshold; 92 % mirrors the Aldrete criterion.",
    )
    predose_review_heart_rate_high_bpm: float = _setting(
        110,
        minimum=90,
        maximum=150,
        unit="/min",
        meaning="baseline heart rate above this needs a prescriber's review",
        citations=(cite("R9", "Sanacora 2017 (HR >110)"),),
        evidence=_BEST,
    )
    predose_hold_heart_rate_high_bpm: float = _setting(
        150,
        minimum=110,
        maximum=180,
        unit="/min",
        meaning="baseline heart rate above this holds the dose",
        citations=(cite("R33", "exclusion HR >150"),),
        evidence=_POLICY,
    )
    predose_hold_heart_rate_low_bpm: float = _setting(
        50,
        minimum=30,
        maximum=60,
        unit="/min",
        meaning="baseline heart rate below this holds the dose",
        citations=(cite("R33", "exclusion HR <50"),),
        evidence=_POLICY,
    )
    predose_hold_resp_rate_low_per_min: float = _setting(
        10,
        minimum=6,
        maximum=12,
        unit="/min",
        meaning="baseline respiratory rate below this holds the dose",
        citations=(cite("R33", "exclusion RR <10"),),
        evidence=_POLICY,
    )
    predose_hold_resp_rate_high_per_min: float = _setting(
        30,
        minimum=20,
        maximum=40,
        unit="/min",
        meaning="baseline respiratory rate above this holds the dose",
        citations=(cite("R33", "exclusion RR >30"),),
        evidence=_POLICY,
    )

    # --- In-session alerts ---------------------------------------------------------------------------------------
    alert_systolic_rise_mmhg: float = _setting(
        40,
        minimum=10,
        maximum=80,
        unit="mmHg",
        meaning="systolic rise from baseline at or above this raises an alert",
        citations=(cite("R1", "adverse reactions: increase ≥40 mmHg systolic"),),
    )
    alert_diastolic_rise_mmhg: float = _setting(
        25,
        minimum=10,
        maximum=60,
        unit="mmHg",
        meaning="diastolic rise from baseline at or above this raises an alert",
        citations=(cite("R1", "adverse reactions: increase ≥25 mmHg diastolic"),),
    )
    alert_systolic_mmhg: float = _setting(
        180,
        minimum=140,
        maximum=220,
        unit="mmHg",
        meaning="systolic at or above this raises an urgent alert whatever the baseline",
        citations=(cite("R34", "hypertensive urgency/crisis SBP >180"),),
        evidence=_POLICY,
    )
    alert_diastolic_mmhg: float = _setting(
        110,
        minimum=90,
        maximum=130,
        unit="mmHg",
        meaning="diastolic at or above this raises an urgent alert whatever the baseline",
        citations=(cite("R34", "StatPearls: urgency DBP >110"),),
        evidence=_POLICY,
    )
    alert_spo2_below_pct: float = _setting(
        92,
        minimum=85,
        maximum=98,
        unit="%",
        meaning="SpO2 below this raises an alert",
        citations=(cite("R30", "modified Aldrete SpO2 >92 %"), cite("R1", "pulse oximetry each session")),
        evidence=_POLICY,
    )
    alert_heart_rate_high_bpm: float = _setting(
        120,
        minimum=90,
        maximum=180,
        unit="/min",
        meaning="heart rate above this raises an alert",
        citations=(cite("R9", "Sanacora 2017 (HR >110)"), cite("R33", "HR >150")),
        evidence=_POLICY,
    )
    alert_heart_rate_low_bpm: float = _setting(
        50,
        minimum=30,
        maximum=60,
        unit="/min",
        meaning="heart rate below this raises an alert",
        citations=(cite("R33", "HR <50"),),
        evidence=_POLICY,
    )
    alert_resp_rate_low_per_min: float = _setting(
        10,
        minimum=6,
        maximum=12,
        unit="/min",
        meaning="respiratory rate below this raises an alert (respiratory depression)",
        citations=(cite("R33", "RR <10"), cite("R1", "boxed warning: respiratory depression")),
        evidence=_POLICY,
    )
    alert_resp_rate_high_per_min: float = _setting(
        30,
        minimum=20,
        maximum=40,
        unit="/min",
        meaning="respiratory rate above this raises an alert",
        citations=(cite("R33", "RR >30"),),
        evidence=_POLICY,
    )
    alert_moaas_at_or_below: float = _setting(
        1,
        minimum=0,
        maximum=3,
        unit="MOAA/S points",
        meaning="a MOAA/S at or below this raises an urgent sedation alert",
        citations=(cite("R28", "MOAA/S anchors"), cite("R1", "loss of consciousness = MOAA/S 0")),
        evidence=_POLICY,
        note="Trials called MOAA/S ≤3 sedation; alerting at ≤1 avoids alarm fatigue while "
        "catching response only to pain or none.",
    )
    alert_escalate_after_min: float = _setting(
        5,
        minimum=1,
        maximum=30,
        unit="min",
        meaning="an unacknowledged alert escalates after this many minutes",
        citations=(cite("R25", "face-to-face monitoring"),),
        evidence=_POLICY,
    )

    # --- In-session monitoring timepoints --------------------------------------------------------------------------
    monitoring_bp_peak_min: float = _setting(
        40,
        minimum=30,
        maximum=60,
        unit="min",
        meaning="minutes after the first esketamine device at which blood pressure is reassessed (and the "
        "sedation and dissociation scales are taken)",
        citations=(
            cite("R1", "§5.6: reassess BP ~40 min after dosing; BP peaks ~40 min"),
            cite("R5", "BP 40 min post"),
        ),
        note="The REMS monitoring form asks for the blood pressure 40 minutes after administration.",
    )
    iv_vitals_during_infusion_every_min: float = _setting(
        10,
        minimum=5,
        maximum=15,
        unit="min",
        meaning="vital signs are due this often while an IV infusion runs",
        citations=(cite("R22", "BP every 10 min during the infusion"), cite("R23", "BP every 10 min")),
        evidence=_BEST,
    )
    iv_vitals_after_infusion_every_min: float = _setting(
        15,
        minimum=5,
        maximum=30,
        unit="min",
        meaning="vital signs are due this often after an IV infusion until the end of observation",
        citations=(cite("R22", "every 15 min thereafter"),),
        evidence=_BEST,
    )
    monitoring_vitals_every_min: float = _setting(
        15,
        minimum=5,
        maximum=30,
        unit="min",
        meaning="vital signs are due this often after an IM, intranasal, sublingual or oral dose",
        citations=(cite("R25", "face-to-face monitoring"), cite("R22", "every 15 min after the infusion")),
        evidence=_POLICY,
        note="No source gives a schedule for these routes; the IV post-infusion interval is reused.",
    )
    monitoring_moaas_every_min: float = _setting(
        15,
        minimum=5,
        maximum=30,
        unit="min",
        meaning="MOAA/S is due this often after an esketamine dose until the end of observation (IV and other "
        "routes: with every set of vital signs)",
        citations=(cite("R1", "sedation assessed with MOAA/S; monitor ≥2 h"), cite("R28", "MOAA/S anchors")),
        evidence=_BEST,
        note="Esketamine trials assessed sedation around 40 min and later (best knowledge); the safer reading "
        "repeats it through the whole observation time.",
    )
    monitoring_grace_min: float = _setting(
        5,
        minimum=1,
        maximum=15,
        unit="min",
        meaning="a timepoint may be recorded this early, and becomes overdue this long after its minute",
        citations=(cite("R1", "§5.6: reassess BP ~40 min after dosing"),),
        evidence=_POLICY,
    )

    # --- Discharge -----------------------------------------------------------------------------------------------
    discharge_min_recovery_score: float = _setting(
        9,
        minimum=8,
        maximum=10,
        unit="points",
        meaning="modified Aldrete or PADSS total needed for discharge",
        citations=(cite("R30", "Aldrete ≥9; PADSS ≥9 fit for discharge"),),
    )
    esketamine_min_observation_min: float = _setting(
        120,
        minimum=120,
        maximum=360,
        unit="min",
        meaning="observation after the first esketamine device before discharge",
        citations=(cite("R1", "boxed warning: monitor ≥2 h"), cite("R4", "REMS: ≥2 h")),
        note="The label minimum cannot be lowered; a clinic may only lengthen it.",
    )
    ketamine_min_observation_min: float = _setting(
        60,
        minimum=30,
        maximum=240,
        unit="min",
        meaning="observation after the end of a racemic ketamine dose before discharge",
        citations=(cite("R33", "observe ≥60 min after last dose"), cite("R8", "release when recovery complete")),
        evidence=_POLICY,
    )
    discharge_bp_within_pct_of_baseline: float = _setting(
        20,
        minimum=10,
        maximum=40,
        unit="%",
        meaning="blood pressure back within this percentage of baseline for discharge",
        citations=(cite("R30", "PADSS vital signs within 20 % of pre-procedure"),),
    )

    # --- Eligibility ---------------------------------------------------------------------------------------------
    minimum_age_years: float = _setting(
        18,
        minimum=18,
        maximum=25,
        unit="years",
        meaning="youngest age treated",
        citations=(cite("R1", "not approved under 18 years"),),
        note="Cannot be lowered below the label's 18 years.",
    )
    review_age_years: float = _setting(
        75,
        minimum=60,
        maximum=100,
        unit="years",
        meaning="age above which treatment is a precaution needing review",
        citations=(cite("R33", "excludes >75 y"), cite("R3", "≥65 y lower esketamine start")),
        evidence=_POLICY,
    )
    trd_minimum_failed_trials: float = _setting(
        2,
        minimum=1,
        maximum=5,
        unit="trials",
        meaning="adequate antidepressant trials failed in the current episode to call depression treatment-resistant",
        citations=(cite("R27", "≥2 antidepressants, adequate dose and duration"), cite("R13", "≥2 adequate courses")),
    )
    trd_minimum_trial_weeks: float = _setting(
        6,
        minimum=4,
        maximum=12,
        unit="weeks",
        meaning="weeks at an adequate dose for a trial to count as adequate",
        citations=(cite("R27", "adequate duration ≥6 weeks"),),
    )
    trd_maximum_improvement_pct: float = _setting(
        25,
        minimum=0,
        maximum=49,
        unit="%",
        meaning="improvement at or below which an adequate trial counts as failed",
        citations=(cite("R27", "≤25 % improvement (esketamine programme)"), cite("R13", "<50 % (Fava 2018)")),
        note="The stricter regulatory ≤25 % is the default, matching the esketamine label population; a clinic "
        "following Fava 2018 may set 49.",
    )
    benzodiazepine_diazepam_eq_mg: float = _setting(
        8,
        minimum=0,
        maximum=40,
        unit="mg/day diazepam-equivalent",
        meaning="daily benzodiazepine dose above which a precaution (blunted response, sedation) is raised",
        citations=(
            cite("R26", "Andrashko 2020: >8 mg diazepam-equivalent"),
            cite("R51", "exclusion >3 mg lorazepam-equivalent"),
        ),
    )

    # --- Outcomes ------------------------------------------------------------------------------------------------
    response_reduction_pct: float = _setting(
        50,
        minimum=25,
        maximum=75,
        unit="%",
        meaning="reduction from baseline that counts as response",
        citations=(cite("R12", "≥50 % MADRS decrease"), cite("R27", "response ≥50 %")),
    )
    madrs_remission_max: float = _setting(
        12,
        minimum=6,
        maximum=12,
        unit="points",
        meaning="MADRS at or below this is remission",
        citations=(cite("R45", "SUSTAIN programme MADRS ≤12"), cite("R7", "ESCAPE-TRD MADRS ≤10")),
    )
    phq9_remission_max: float = _setting(
        4,
        minimum=2,
        maximum=4,
        unit="points",
        meaning="PHQ-9 at or below this is remission (PHQ-9 < 5)",
        citations=(cite("R45", "SUSTAIN-3 PHQ-9 <5"),),
    )
    qids_sr16_remission_max: float = _setting(
        5,
        minimum=3,
        maximum=5,
        unit="points",
        meaning="QIDS-SR16 at or below this is remission",
        citations=(cite("R37", "remission ≤5 (STAR*D)"),),
    )
    hamd17_remission_max: float = _setting(
        7,
        minimum=5,
        maximum=7,
        unit="points",
        meaning="HAM-D17 at or below this is remission",
        citations=(cite("R44", "0–7 no depression"),),
        evidence=_BEST,
    )
    gad7_remission_max: float = _setting(
        4,
        minimum=2,
        maximum=4,
        unit="points",
        meaning="GAD-7 at or below this is remission (minimal band)",
        citations=(cite("R36", "0–4 minimal"),),
        evidence=_POLICY,
    )
    phq9_mcid_points: float = _setting(
        5,
        minimum=3,
        maximum=10,
        unit="points",
        meaning="PHQ-9 change that is clinically meaningful",
        citations=(cite("R35", "Löwe 2004: 5 points"),),
    )
    rapid_response_hours: float = _setting(
        24,
        minimum=4,
        maximum=72,
        unit="hours",
        meaning="window after a dose in which a response counts as rapid",
        citations=(cite("R10", "primary outcome at 24 h"), cite("R12", "24 h endpoint")),
        evidence=_POLICY,
    )
    loss_of_response_consecutive: float = _setting(
        2,
        minimum=1,
        maximum=4,
        unit="assessments",
        meaning="consecutive assessments no longer meeting response that count as loss of response",
        citations=(cite("R45", "SUSTAIN-1: two consecutive assessments"),),
        evidence=_POLICY,
    )
    relapse_madrs_min: float = _setting(
        22,
        minimum=16,
        maximum=30,
        unit="points",
        meaning="MADRS at or above this on consecutive assessments counts as relapse",
        citations=(cite("R45", "SUSTAIN-1 relapse MADRS ≥22 on 2 assessments 5–15 days apart"),),
        evidence=_BEST,
    )
    partial_response_reduction_pct: float = _setting(
        25,
        minimum=20,
        maximum=45,
        unit="%",
        meaning="reduction from baseline at or above this, but short of response, counts as partial response",
        citations=(cite("R27", "≤25 % improvement counts as non-response (esketamine programme)"),),
        evidence=_POLICY,
        note="Partial response is 25–49 % by default; keep it below response_reduction_pct.",
    )
    pcl5_provisional_cutoff: float = _setting(
        33,
        minimum=31,
        maximum=38,
        unit="points",
        meaning="PCL-5 total at or above this flags provisional PTSD",
        citations=(cite("R40", "provisional PTSD total ≥31–33; early VA guidance 38"),),
        note="Choose the cut by purpose: 31 favours sensitivity, 38 specificity.",
    )

    # --- Measurement-based care: when questionnaires are due, suicide-risk follow-up --------------------------------
    measure_pre_session_open_hours: float = _setting(
        48,
        minimum=4,
        maximum=96,
        unit="hours",
        meaning="a pre-session questionnaire may be answered from this long before the session until it starts",
        citations=(cite("R12", "ratings before each infusion"), cite("R45", "MADRS before dosing")),
        evidence=_POLICY,
        note="48 h lets a patient answer the evening before a morning session without overlapping the previous "
        "session of a thrice-weekly induction.",
    )
    measure_post_dose_early_hours: float = _setting(
        24,
        minimum=4,
        maximum=48,
        unit="hours",
        meaning="the early post-dose questionnaire is due this long after each dose",
        citations=(cite("R10", "primary outcome 24 h after infusion"), cite("R45", "ASPIRE I: MADRS 24 h after dose")),
        evidence=_POLICY,
    )
    measure_post_dose_early_tolerance_hours: float = _setting(
        12,
        minimum=2,
        maximum=24,
        unit="hours",
        meaning="the early post-dose questionnaire counts if answered within this many hours either side of its time",
        citations=(cite("R10", "24 h endpoint"),),
        evidence=_POLICY,
        note="Keep below half the spacing between sessions so it never merges into the next pre-session measure.",
    )
    measure_post_dose_late_days: float = _setting(
        7,
        minimum=3,
        maximum=14,
        unit="days",
        meaning="the late post-dose questionnaire is due this long after each dose",
        citations=(cite("R11", "median 18 days to relapse after six infusions"),),
        evidence=_POLICY,
        note="Weekly follow-up catches the return of symptoms well before the median time to relapse.",
    )
    measure_window_days: float = _setting(
        2,
        minimum=0.5,
        maximum=5,
        unit="days",
        meaning="weekly, fortnightly, periodic and 7-day questionnaires count if answered within this many days "
        "either side of their time",
        citations=(cite("R45", "SUSTAIN-1 scheduled assessment visits"),),
        evidence=_POLICY,
    )
    measure_induction_interval_days: float = _setting(
        7,
        minimum=3,
        maximum=14,
        unit="days",
        meaning="during induction a full set of questionnaires is due every this many days from session 1",
        citations=(cite("R45", "weekly MADRS during induction (TRANSFORM/SUSTAIN)"),),
        evidence=_POLICY,
    )
    measure_maintenance_interval_days: float = _setting(
        14,
        minimum=7,
        maximum=56,
        unit="days",
        meaning="during maintenance a full set of questionnaires is due every this many days",
        citations=(cite("R45", "SUSTAIN-1 maintenance assessments every 1–2 weeks"),),
        evidence=_POLICY,
    )
    measure_periodic_interval_days: float = _setting(
        90,
        minimum=28,
        maximum=180,
        unit="days",
        meaning="instruments with a long recall (MIDAS 3 months, AUDIT past year) are repeated every this many days",
        citations=(cite("R43", "MIDAS: days in the last 3 months"), cite("R42", "AUDIT: past year")),
        evidence=_POLICY,
    )
    measure_merge_hours: float = _setting(
        12,
        minimum=0,
        maximum=24,
        unit="hours",
        meaning="two timepoints of one instrument closer than this are one questionnaire (the higher-ranked stays)",
        citations=(cite("R35", "PHQ-9 recall: past 2 weeks"),),
        evidence=_POLICY,
        note="Keeps a Monday session's 7-day follow-up and the next Monday's pre-session measure from asking twice.",
    )
    suicide_followup_high_hours: float = _setting(
        1,
        minimum=0.25,
        maximum=4,
        unit="hours",
        meaning="a high suicide-risk follow-up (C-SSRS high, or PHQ-9 item 9 without a C-SSRS) is due within this",
        citations=(
            cite("R39", "Columbia triage: high risk → immediate precautions until a mental-health evaluation"),
            cite("R35", "PHQ-9 item 9 ≥1 warrants immediate follow-up"),
        ),
        evidence=_POLICY,
    )
    suicide_followup_moderate_hours: float = _setting(
        4,
        minimum=1,
        maximum=24,
        unit="hours",
        meaning="a moderate suicide-risk follow-up is due within this (same working day)",
        citations=(cite("R39", "Columbia triage: moderate risk → consultation, consider precautions"),),
        evidence=_POLICY,
    )
    suicide_followup_low_hours: float = _setting(
        24,
        minimum=4,
        maximum=72,
        unit="hours",
        meaning="a low suicide-risk follow-up is due within this",
        citations=(cite("R39", "Columbia triage: low risk → behavioural-health referral"),),
        evidence=_POLICY,
    )

    # --- Session day and documents -------------------------------------------------------------------------------
    fasting_food_hours: float = _setting(
        2,
        minimum=2,
        maximum=8,
        unit="hours",
        meaning="no food for this long before dosing",
        citations=(cite("R1", "avoid food ≥2 h before"), cite("R31", "light meal 6 h")),
        evidence=_POLICY,
        note="The label's 2 h is the minimum; clinics following ASA light-meal guidance set 6.",
    )
    fasting_liquids_min: float = _setting(
        30,
        minimum=30,
        maximum=240,
        unit="min",
        meaning="no liquids for this long before dosing",
        citations=(cite("R1", "avoid liquids ≥30 min before"),),
    )
    rems_form_due_days: float = _setting(
        7,
        minimum=1,
        maximum=7,
        unit="days",
        meaning="days after an esketamine session within which the REMS monitoring form is due",
        citations=(cite("R4", "submit within 7 days"),),
        note="A clinic may only shorten the REMS deadline.",
    )
    session_min_spacing_hours: float = _setting(
        48,
        minimum=20,
        maximum=168,
        unit="hours",
        meaning="dosing sessions of one course are at least this far apart",
        citations=(
            cite("R11", "six infusions three times weekly over 12 days"),
            cite("R12", "six infusions thrice weekly over 2 weeks"),
        ),
        evidence=_POLICY,
        note="No source states a minimum interval; thrice-weekly schedules (Mon/Wed/Fri) imply 48 h, and the "
        "esketamine label's twice-weekly induction fits within it.",
    )

    @classmethod
    def settings(cls) -> list[Setting]:
        """Every tunable setting with its default, range, unit and sources."""
        out = []
        for f in dataclasses.fields(cls):
            m = f.metadata
            default = float(cast(float, f.default))
            out.append(
                Setting(
                    f.name,
                    default,
                    m["minimum"],
                    m["maximum"],
                    m["unit"],
                    m["meaning"],
                    m["citations"],
                    m["evidence"],
                    m["note"],
                )
            )
        return out

    def with_overrides(self, overrides: Mapping[str, object]) -> ClinicPolicy:
        """A copy with ``overrides`` applied; an unknown name or out-of-range value raises ``ValueError``."""
        known = _known_settings()
        changes: dict[str, float] = {}
        for name, raw in overrides.items():
            if name not in known:
                raise ValueError(f"{name}: unknown policy setting; known settings are {', '.join(sorted(known))}")
            s = known[name]
            if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
                raise ValueError(f"{name}: must be a number between {s.minimum:g} and {s.maximum:g} {s.unit}")
            try:
                value = float(raw)
            except ValueError:
                raise ValueError(f"{name}: must be a number between {s.minimum:g} and {s.maximum:g} {s.unit}") from None
            if not s.minimum <= value <= s.maximum:
                raise ValueError(f"{name}: {value:g} is outside the allowed range {s.minimum:g}–{s.maximum:g} {s.unit}")
            changes[name] = value
        # Frozen: with nothing to change the policy itself is the copy (most sites tune nothing).
        return dataclasses.replace(self, **changes) if changes else self


@functools.cache
def _known_settings() -> dict[str, Setting]:
    # The settings are the class's own field metadata, fixed at import: every clinic_policy() call on every page
    # rebuilt them before this (dataclasses.fields and one Setting per field).
    return {s.name: s for s in ClinicPolicy.settings()}


DEFAULT_POLICY = ClinicPolicy()
