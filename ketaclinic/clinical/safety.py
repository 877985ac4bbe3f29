"""Session-day safety: the pre-dose gate, in-session alerts, discharge readiness, fasting and the REMS form.

Every threshold comes from :class:`~ketaclinic.clinical.policy.ClinicPolicy` (guideline defaults, tunable per
clinic); every vital sign is checked for plausibility first (:mod:`ketaclinic.clinical.vitals`), so a typing error
is rejected with a message instead of being read as an emergency or as reassurance.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from ketaclinic.clinical.eligibility import Condition
from ketaclinic.clinical.policy import DEFAULT_POLICY, ClinicPolicy
from ketaclinic.clinical.protocols import Route, parse_enum
from ketaclinic.clinical.rules import AreaRules, Rule
from ketaclinic.clinical.sources import Citation, Evidence, cite
from ketaclinic.clinical.vitals import VITAL_SPECS, Vital, aware_datetime, in_range, validate_vitals


class PredoseDecision(StrEnum):
    """Outcome of the pre-dose check: dose, dose only after a prescriber confirms, or do not dose."""

    GO = "go"
    REVIEW = "review"
    HOLD = "hold"


class AlertLevel(StrEnum):
    """How urgently staff must respond to an in-session alert."""

    WARNING = "warning"
    URGENT = "urgent"


@dataclass(frozen=True)
class SafetyFinding:
    """One reason behind a pre-dose decision; ``level`` is the decision this finding alone would give."""

    code: str
    level: PredoseDecision
    message: str
    citations: tuple[Citation, ...]
    evidence: Evidence
    vital: Vital | None = None
    value: float | None = None


@dataclass(frozen=True)
class SafetyDecision:
    """The pre-dose decision: the most restrictive level among the findings (``go`` when there are none)."""

    decision: PredoseDecision
    findings: tuple[SafetyFinding, ...]


@dataclass(frozen=True)
class Alert:
    """An in-session alert about one vital sign or the sedation score."""

    level: AlertLevel
    code: str
    message: str
    citations: tuple[Citation, ...]
    evidence: Evidence
    vital: Vital | None = None
    value: float | None = None


@dataclass(frozen=True)
class DischargeCriterion:
    """A discharge criterion that is not met, with the reason in plain language."""

    code: str
    message: str
    citations: tuple[Citation, ...]


@dataclass(frozen=True)
class DischargeDecision:
    """``ready`` only when every criterion is met; ``advisories`` go to the patient and escort regardless."""

    ready: bool
    unmet: tuple[DischargeCriterion, ...]
    advisories: tuple[str, ...]


@dataclass(frozen=True)
class FastingCheck:
    """Whether fasting before a dose is sufficient; ``earliest_dose_at`` is when it will be (None if unknown)."""

    ok: bool
    problems: tuple[str, ...]
    earliest_dose_at: datetime | None


# --- Rules -----------------------------------------------------------------------------------------------------------


_rule = AreaRules("safety")


#: The advice every patient leaves with, whether or not the discharge criteria were met.
NO_DRIVING_ADVICE = "No driving or operating machinery until the next day after a restful sleep."

R_REQUIRED = _rule(
    "predose.required_vitals",
    "Pre-dose vital signs are required",
    "Systolic and diastolic blood pressure, heart rate and SpO2 must be recorded before a dose; a missing "
    "one holds the dose until it is measured.",
    (cite("R1", "§2/§5.6 assess BP before dosing; pulse oximetry"), cite("R5", "vital signs prior to administration")),
    Evidence.POLICY,
    "Respiratory rate and temperature are checked when recorded.",
)
R_BP_HOLD = _rule(
    "predose.bp_hold",
    "Very high blood pressure holds the dose",
    "Systolic at or above the clinic's hold limit (default 180) or diastolic at or above its hold limit "
    "(default 110) holds the dose, for every route.",
    (cite("R34", "hypertensive urgency SBP >180 or DBP >110"), cite("R33", "exclusion SBP >180")),
    Evidence.POLICY,
    "Holding at the limit itself (≥, not >) is the safer reading.",
)
R_BP_REVIEW = _rule(
    "predose.bp_review",
    "Elevated blood pressure needs a prescriber's review",
    "Systolic above the review limit (default 140) or diastolic above it (default 90) needs a "
    "prescriber to weigh the short-term rise against the benefit before dosing, for every route.",
    (
        cite("R1", "§2/§5.6 elevated baseline e.g. >140/90: consider risk vs benefit"),
        cite("R8", "significant BP elevation a serious hazard"),
    ),
    note="The label threshold is esketamine's; racemic ketamine raises blood pressure as much (peak "
    "~40 min), so the same review applies to every route (safer reading).",
)
R_BP_LOW = _rule(
    "predose.bp_low",
    "Low blood pressure holds the dose",
    "Systolic below the clinic's low limit (default 90) holds the dose.",
    (cite("R33", "exclusion SBP <90"),),
    Evidence.POLICY,
)
R_SPO2 = _rule(
    "predose.spo2",
    "Low SpO2 holds the dose",
    "SpO2 below the clinic's limit (default 92 %) holds the dose.",
    (cite("R30", "modified Aldrete: SpO2 >92 % on room air"), cite("R1", "pulse oximetry")),
    Evidence.POLICY,
)
R_HR = _rule(
    "predose.heart_rate",
    "Heart rate before dosing",
    "Heart rate above the hold limit (default 150) or below the low limit (default 50) holds the dose; above "
    "the review limit (default 110) needs a prescriber's review.",
    (cite("R33", "exclusion HR <50 or >150"), cite("R9", "Sanacora 2017: HR >110")),
    Evidence.POLICY,
)
R_RR = _rule(
    "predose.resp_rate",
    "Respiratory rate before dosing",
    "Respiratory rate below the low limit (default 10) or above the high limit (default 30) holds the dose.",
    (cite("R33", "exclusion RR <10 or >30"),),
    Evidence.POLICY,
)
R_PRECAUTIONS = _rule(
    "predose.bp_precautions",
    "Blood-pressure precautions carried into the session",
    "Patients screened with hypertension, cardiovascular or cerebrovascular disease or a history of "
    "hypertensive encephalopathy get a reminder to recheck blood pressure about 40 minutes after the "
    "dose and to monitor it frequently; with an elevated pre-dose reading the review names the "
    "condition.",
    (cite("R1", "§5.6: reassess BP ~40 min after dosing; monitor frequently"),),
)
R_ALERT_RISE = _rule(
    "alert.bp_rise",
    "Blood-pressure rise from baseline",
    "A systolic rise at or above the clinic's limit (default 40 mmHg) or a diastolic rise at or above "
    "its limit (default 25 mmHg) from the pre-dose baseline raises a warning.",
    (cite("R1", "§6: increase ≥40 mmHg systolic and/or ≥25 mmHg diastolic"),),
)
R_ALERT_BP = _rule(
    "alert.bp_absolute",
    "Very high blood pressure during the session",
    "Systolic at or above 180 or diastolic at or above 110 (clinic settings) raises an urgent alert "
    "whatever the baseline.",
    (cite("R34", "hypertensive urgency/crisis"),),
    Evidence.POLICY,
    "Yip 2022 argues asymptomatic transient rises may be observed; the alert asks staff to assess, not "
    "to treat automatically.",
)
R_ALERT_SPO2 = _rule(
    "alert.spo2",
    "Low SpO2 during the session",
    "SpO2 below the clinic's limit (default 92 %) raises an urgent alert (possible respiratory depression).",
    (cite("R1", "boxed warning: respiratory depression; pulse oximetry"), cite("R30", "SpO2 >92 %")),
    Evidence.POLICY,
)
R_ALERT_HR = _rule(
    "alert.heart_rate",
    "Heart rate during the session",
    "Heart rate above the clinic's limit (default 120) or below its low limit (default 50) raises a warning.",
    (cite("R9", "Sanacora 2017: HR >110"), cite("R33", "HR <50 or >150")),
    Evidence.POLICY,
)
R_ALERT_RR = _rule(
    "alert.resp_rate",
    "Respiratory rate during the session",
    "Respiratory rate below the clinic's low limit (default 10) raises an urgent alert (respiratory "
    "depression); above its high limit (default 30) a warning.",
    (cite("R1", "boxed warning: respiratory depression"), cite("R33", "RR <10 or >30")),
    Evidence.POLICY,
)
R_ALERT_SEDATION = _rule(
    "alert.sedation",
    "Sedation (MOAA/S)",
    "MOAA/S at or below the clinic's limit (default 1) raises an urgent alert (0 = loss of "
    "consciousness); 2–3 raises a sedation warning.",
    (cite("R28", "MOAA/S anchors"), cite("R1", "loss of consciousness = MOAA/S 0")),
    Evidence.POLICY,
    "Esketamine trials called MOAA/S ≤3 sedation (best knowledge).",
)
R_ESCALATE = _rule(
    "alert.escalation",
    "Unacknowledged alerts escalate",
    "An alert not acknowledged within the clinic's escalation time (default 5 min) escalates.",
    (cite("R25", "face-to-face monitoring"),),
    Evidence.POLICY,
)
R_DISCHARGE_TIME = _rule(
    "discharge.observation",
    "Minimum observation before discharge",
    "Esketamine: at least the clinic's observation time (never under 120 min) from the first "
    "device. Racemic ketamine: at least the clinic's observation time (default 60 min) from the "
    "end of the dose.",
    (
        cite("R1", "boxed warning: monitor ≥2 h"),
        cite("R4", "REMS: ≥2 h"),
        cite("R33", "observe ≥60 min after the last dose"),
    ),
)
R_DISCHARGE_SCORE = _rule(
    "discharge.recovery_score",
    "Recovery score",
    "Modified Aldrete or PADSS total at or above the clinic's minimum (default 9 of 10).",
    (cite("R30", "Aldrete ≥9; PADSS ≥9"),),
)
R_DISCHARGE_VITALS = _rule(
    "discharge.vitals",
    "Vital signs before discharge",
    "Blood pressure, heart rate and SpO2 recorded before discharge; systolic and diastolic within "
    "the clinic's percentage of baseline (default 20 %); no in-session alert active.",
    (
        cite("R30", "PADSS: vital signs within 20 % of pre-procedure"),
        cite("R5", "BP prior to session completion; vital signs in acceptable range"),
        cite("R1", "BP decreasing and clinically stable"),
    ),
)
R_DISCHARGE_SYMPTOMS = _rule(
    "discharge.symptoms",
    "Sedation, dissociation and respiratory depression resolved",
    "Sedation, dissociation and respiratory depression must have resolved.",
    (cite("R4", "REMS: monitor until resolution"), cite("R8", "recovery complete")),
)
R_DISCHARGE_ESCORT = _rule(
    "discharge.escort",
    "Escort home",
    "A responsible adult must accompany the patient; no driving until the next day after a restful sleep.",
    (
        cite("R1", "driving; someone to drive home"),
        cite("R8", "accompanied by a responsible adult"),
        cite("R30", "competent adult to accompany"),
    ),
)
R_DISCHARGE_HEPATIC = _rule(
    "discharge.hepatic",
    "Longer observation with moderate hepatic impairment",
    "Esketamine patients with Child-Pugh B hepatic impairment may need observation beyond the "
    "minimum: the discharge decision carries an advisory.",
    (cite("R1", "§8.6 Child-Pugh B: longer monitoring"),),
)
R_FASTING = _rule(
    "fasting",
    "Fasting before a dose",
    "No food for the clinic's fasting time (default 2 h) and no liquids for its liquid time (default "
    "30 min) before a dose; unrecorded times are asked for.",
    (
        cite("R1", "avoid food ≥2 h and liquids ≥30 min before"),
        cite("R31", "ASA fasting"),
        cite("R8", "NPO guidelines"),
    ),
    Evidence.POLICY,
    "The label rule is esketamine's; no fasting rule exists for subanaesthetic racemic ketamine, so the "
    "same clinic setting applies to every route.",
)
R_REMS_FORM = _rule(
    "rems.monitoring_form",
    "SPRAVATO REMS Patient Monitoring Form",
    "After every outpatient esketamine session a Patient Monitoring Form is submitted within the clinic's "
    "deadline (at most 7 days), with the fields listed in REMS_FORM_FIELDS; monitoring must last at "
    "least 120 minutes from the first device.",
    (cite("R4", "submit after every session within 7 days"), cite("R5", "form fields ©11/2021")),
    note="The reachable copy of the form was truncated after the sedation question; verify the "
    "remaining fields against the current form.",
)


# --- Pre-dose check --------------------------------------------------------------------------------------------------

_REQUIRED = (Vital.SYSTOLIC, Vital.DIASTOLIC, Vital.HEART_RATE, Vital.SPO2)
_BP_PRECAUTIONS = (
    Condition.HYPERTENSION_CONTROLLED,
    Condition.CARDIOVASCULAR_DISEASE,
    Condition.CEREBROVASCULAR_DISEASE,
    Condition.HYPERTENSIVE_ENCEPHALOPATHY_HISTORY,
)
_LEVEL_ORDER = (PredoseDecision.GO, PredoseDecision.REVIEW, PredoseDecision.HOLD)


def _precautions(precautions: Iterable[str]) -> frozenset[Condition]:
    return frozenset(parse_enum(Condition, "precautions", p) for p in precautions)


def _sf(
    r: Rule, level: PredoseDecision, message: str, vital: Vital | None = None, value: float | None = None
) -> SafetyFinding:
    return SafetyFinding(r.id, level, message, r.citations, r.evidence, vital, value)


def predose_check(
    route: str,
    vitals: Mapping[str, float],
    *,
    policy: ClinicPolicy | None = None,
    precautions: Iterable[str] = (),
) -> SafetyDecision:
    """Whether a dose may be given now, given the pre-dose ``vitals`` (keyed by :class:`Vital` names).

    ``hold``: do not dose (a missing required vital, very high or low blood pressure, low SpO2, heart or respiratory
    rate outside the hold limits). ``review``: a prescriber must confirm (blood pressure above 140/90 or heart rate
    above 110 by default). ``go`` otherwise. ``precautions`` are the patient's screening conditions (values of
    :class:`~ketaclinic.clinical.eligibility.Condition`); blood-pressure ones add reminders to the findings.
    Implausible or unknown vitals, an unknown route or an unknown precaution raise ``ValueError``.
    """
    parse_enum(Route, "route", route)
    policy = policy or DEFAULT_POLICY
    conditions = _precautions(precautions)
    v = validate_vitals(vitals)
    hold, review, go = PredoseDecision.HOLD, PredoseDecision.REVIEW, PredoseDecision.GO
    findings: list[SafetyFinding] = []
    add = findings.append
    for vital in _REQUIRED:
        if vital not in v:
            add(
                _sf(
                    R_REQUIRED,
                    hold,
                    f"{VITAL_SPECS[vital].label.capitalize()} not recorded: measure it before dosing.",
                    vital,
                )
            )

    sbp, dbp = v.get(Vital.SYSTOLIC), v.get(Vital.DIASTOLIC)
    bp_conditions = [c.value.replace("_", " ") for c in _BP_PRECAUTIONS if c in conditions]
    if sbp is not None and dbp is not None:
        bp = f"{sbp:g}/{dbp:g} mmHg"
        # Each finding names the reading that crossed the line (the systolic when both did).
        if sbp >= policy.predose_hold_systolic_mmhg or dbp >= policy.predose_hold_diastolic_mmhg:
            which, reading = (
                (Vital.SYSTOLIC, sbp) if sbp >= policy.predose_hold_systolic_mmhg else (Vital.DIASTOLIC, dbp)
            )
            add(
                _sf(
                    R_BP_HOLD,
                    hold,
                    f"Blood pressure {bp} is at or above the hold limit "
                    f"{policy.predose_hold_systolic_mmhg:g}/{policy.predose_hold_diastolic_mmhg:g}: "
                    "do not dose; recheck after rest and treat if needed.",
                    which,
                    reading,
                )
            )
        elif sbp > policy.predose_review_systolic_mmhg or dbp > policy.predose_review_diastolic_mmhg:
            which, reading = (
                (Vital.SYSTOLIC, sbp) if sbp > policy.predose_review_systolic_mmhg else (Vital.DIASTOLIC, dbp)
            )
            extra = f" The patient has {', '.join(bp_conditions)}." if bp_conditions else ""
            add(
                _sf(
                    R_BP_REVIEW,
                    review,
                    f"Blood pressure {bp} is above {policy.predose_review_systolic_mmhg:g}/"
                    f"{policy.predose_review_diastolic_mmhg:g}: a prescriber must weigh the "
                    f"short-term rise against the benefit before dosing.{extra}",
                    which,
                    reading,
                )
            )
    if sbp is not None and sbp < policy.predose_hold_systolic_low_mmhg:
        add(
            _sf(
                R_BP_LOW,
                hold,
                f"Systolic {sbp:g} mmHg is below {policy.predose_hold_systolic_low_mmhg:g}: do not dose.",
                Vital.SYSTOLIC,
                sbp,
            )
        )
    if bp_conditions:
        add(
            _sf(
                R_PRECAUTIONS,
                go,
                f"Screened with {', '.join(bp_conditions)}: recheck blood pressure about 40 "
                "minutes after the dose and monitor it frequently.",
            )
        )

    spo2 = v.get(Vital.SPO2)
    if spo2 is not None and spo2 < policy.predose_hold_spo2_below_pct:
        add(
            _sf(
                R_SPO2,
                hold,
                f"SpO2 {spo2:g} % is below {policy.predose_hold_spo2_below_pct:g} %: do not dose.",
                Vital.SPO2,
                spo2,
            )
        )

    hr = v.get(Vital.HEART_RATE)
    if hr is not None:
        if hr > policy.predose_hold_heart_rate_high_bpm or hr < policy.predose_hold_heart_rate_low_bpm:
            add(
                _sf(
                    R_HR,
                    hold,
                    f"Heart rate {hr:g}/min is outside {policy.predose_hold_heart_rate_low_bpm:g}–"
                    f"{policy.predose_hold_heart_rate_high_bpm:g}/min: do not dose.",
                    Vital.HEART_RATE,
                    hr,
                )
            )
        elif hr > policy.predose_review_heart_rate_high_bpm:
            add(
                _sf(
                    R_HR,
                    review,
                    f"Heart rate {hr:g}/min is above {policy.predose_review_heart_rate_high_bpm:g}/min: "
                    "a prescriber must review before dosing.",
                    Vital.HEART_RATE,
                    hr,
                )
            )

    rr = v.get(Vital.RESP_RATE)
    if (
        rr is not None
        and not policy.predose_hold_resp_rate_low_per_min <= rr <= policy.predose_hold_resp_rate_high_per_min
    ):
        add(
            _sf(
                R_RR,
                hold,
                f"Respiratory rate {rr:g}/min is outside {policy.predose_hold_resp_rate_low_per_min:g}–"
                f"{policy.predose_hold_resp_rate_high_per_min:g}/min: do not dose.",
                Vital.RESP_RATE,
                rr,
            )
        )

    findings.sort(key=lambda f: -_LEVEL_ORDER.index(f.level))
    decision = max((f.level for f in findings), key=_LEVEL_ORDER.index, default=go)
    return SafetyDecision(decision, tuple(findings))


# --- In-session alerts -----------------------------------------------------------------------------------------------


def _alert(r: Rule, level: AlertLevel, message: str, vital: Vital | None = None, value: float | None = None) -> Alert:
    return Alert(level, r.id, message, r.citations, r.evidence, vital, value)


def evaluate_vitals(
    baseline: Mapping[str, float],
    current: Mapping[str, float],
    *,
    policy: ClinicPolicy | None = None,
) -> list[Alert]:
    """Alerts for a set of in-session ``current`` readings against the pre-dose ``baseline`` (urgent first).

    Rises are computed only where both readings exist; absolute limits apply to every current reading.
    Implausible or unknown vitals raise ``ValueError``.
    """
    policy = policy or DEFAULT_POLICY
    base, now = validate_vitals(baseline), validate_vitals(current)
    alerts: list[Alert] = []
    add = alerts.append
    warning, urgent = AlertLevel.WARNING, AlertLevel.URGENT
    for vital, limit in (
        (Vital.SYSTOLIC, policy.alert_systolic_rise_mmhg),
        (Vital.DIASTOLIC, policy.alert_diastolic_rise_mmhg),
    ):
        if vital in base and vital in now and now[vital] - base[vital] >= limit:
            add(
                _alert(
                    R_ALERT_RISE,
                    warning,
                    f"{VITAL_SPECS[vital].label.capitalize()} rose "
                    f"{now[vital] - base[vital]:g} mmHg from baseline {base[vital]:g} "
                    f"(limit {limit:g}).",
                    vital,
                    now[vital],
                )
            )
    for vital, limit in ((Vital.SYSTOLIC, policy.alert_systolic_mmhg), (Vital.DIASTOLIC, policy.alert_diastolic_mmhg)):
        if vital in now and now[vital] >= limit:
            add(
                _alert(
                    R_ALERT_BP,
                    urgent,
                    f"{VITAL_SPECS[vital].label.capitalize()} {now[vital]:g} mmHg is at or "
                    f"above {limit:g}: assess for symptoms of hypertensive crisis (chest pain, "
                    "breathlessness, severe headache, visual change).",
                    vital,
                    now[vital],
                )
            )
    spo2 = now.get(Vital.SPO2)
    if spo2 is not None and spo2 < policy.alert_spo2_below_pct:
        add(
            _alert(
                R_ALERT_SPO2,
                urgent,
                f"SpO2 {spo2:g} % is below {policy.alert_spo2_below_pct:g} %: check airway and breathing.",
                Vital.SPO2,
                spo2,
            )
        )
    hr = now.get(Vital.HEART_RATE)
    if hr is not None and not policy.alert_heart_rate_low_bpm <= hr <= policy.alert_heart_rate_high_bpm:
        add(
            _alert(
                R_ALERT_HR,
                warning,
                f"Heart rate {hr:g}/min is outside {policy.alert_heart_rate_low_bpm:g}–"
                f"{policy.alert_heart_rate_high_bpm:g}/min.",
                Vital.HEART_RATE,
                hr,
            )
        )
    rr = now.get(Vital.RESP_RATE)
    if rr is not None and rr < policy.alert_resp_rate_low_per_min:
        add(
            _alert(
                R_ALERT_RR,
                urgent,
                f"Respiratory rate {rr:g}/min is below {policy.alert_resp_rate_low_per_min:g}: "
                "possible respiratory depression.",
                Vital.RESP_RATE,
                rr,
            )
        )
    elif rr is not None and rr > policy.alert_resp_rate_high_per_min:
        add(
            _alert(
                R_ALERT_RR,
                warning,
                f"Respiratory rate {rr:g}/min is above {policy.alert_resp_rate_high_per_min:g}.",
                Vital.RESP_RATE,
                rr,
            )
        )
    alerts.sort(key=lambda a: a.level is not AlertLevel.URGENT)
    return alerts


def sedation_alert(moaas: int, *, policy: ClinicPolicy | None = None) -> Alert | None:
    """An alert for a MOAA/S score (0–5): urgent at or below the clinic's limit, a warning at 2–3, else ``None``."""
    if isinstance(moaas, bool) or not isinstance(moaas, int) or not 0 <= moaas <= 5:
        raise ValueError(f"moaas: must be a whole number from 0 to 5, got {moaas!r}")
    policy = policy or DEFAULT_POLICY
    if moaas <= policy.alert_moaas_at_or_below:
        what = "no response to pain: loss of consciousness" if moaas == 0 else "responds only to strong stimulation"
        return _alert(
            R_ALERT_SEDATION, AlertLevel.URGENT, f"MOAA/S {moaas} ({what}): check airway, breathing and SpO2."
        )
    if moaas <= 3:
        return _alert(R_ALERT_SEDATION, AlertLevel.WARNING, f"MOAA/S {moaas}: sedated; observe closely.")
    return None


def alert_escalation_due(raised_at: datetime, now: datetime, *, policy: ClinicPolicy | None = None) -> bool:
    """Whether an alert raised at ``raised_at`` and still unacknowledged at ``now`` must escalate (aware datetimes)."""
    raised_at, now = aware_datetime("raised_at", raised_at), aware_datetime("now", now)
    if now < raised_at:
        raise ValueError(f"now: {now.isoformat()} is before raised_at {raised_at.isoformat()}")
    return now - raised_at >= timedelta(minutes=(policy or DEFAULT_POLICY).alert_escalate_after_min)


# --- Discharge -------------------------------------------------------------------------------------------------------


def _unmet(r: Rule, message: str) -> DischargeCriterion:
    return DischargeCriterion(r.id, message, r.citations)


def discharge_readiness(
    *,
    route: str,
    recovery_score: int,
    minutes_since_dose: float,
    vitals: Mapping[str, float],
    baseline_vitals: Mapping[str, float],
    symptoms_resolved: bool,
    escort_present: bool,
    policy: ClinicPolicy | None = None,
    precautions: Iterable[str] = (),
) -> DischargeDecision:
    """Whether the patient may leave.

    ``minutes_since_dose`` counts from the first esketamine device, or from the end of a racemic ketamine dose.
    ``recovery_score`` is the modified Aldrete or PADSS total (0–10). ``symptoms_resolved`` means sedation,
    dissociation and respiratory depression have resolved. Guarantees ``ready`` is false while any criterion is
    unmet, and that esketamine is never discharged before 120 minutes. Invalid values raise ``ValueError``.
    """
    how = parse_enum(Route, "route", route)
    policy = policy or DEFAULT_POLICY
    conditions = _precautions(precautions)
    if isinstance(recovery_score, bool) or not isinstance(recovery_score, int) or not 0 <= recovery_score <= 10:
        raise ValueError(f"recovery_score: must be a whole number from 0 to 10, got {recovery_score!r}")
    minutes = in_range("minutes_since_dose", minutes_since_dose, 0, 24 * 60, "min")
    for name, flag in (("symptoms_resolved", symptoms_resolved), ("escort_present", escort_present)):
        if not isinstance(flag, bool):
            raise ValueError(f"{name}: must be true or false")
    now, base = validate_vitals(vitals), validate_vitals(baseline_vitals)
    unmet: list[DischargeCriterion] = []
    advisories = [NO_DRIVING_ADVICE]
    esketamine = how is Route.ESKETAMINE_NASAL

    # The policy cannot go below the label's 120 min, but the floor is restated here so no override can breach it.
    needed = max(policy.esketamine_min_observation_min, 120) if esketamine else policy.ketamine_min_observation_min
    since = "the first device" if esketamine else "the end of the dose"
    if minutes < needed:
        unmet.append(
            _unmet(R_DISCHARGE_TIME, f"Observed {minutes:g} min since {since}; at least {needed:g} min are required.")
        )
    if recovery_score < policy.discharge_min_recovery_score:
        unmet.append(
            _unmet(
                R_DISCHARGE_SCORE, f"Recovery score {recovery_score} is below {policy.discharge_min_recovery_score:g}."
            )
        )
    for vital in _REQUIRED:
        if vital not in now:
            unmet.append(
                _unmet(R_DISCHARGE_VITALS, f"{VITAL_SPECS[vital].label.capitalize()} before discharge not recorded.")
            )
    limit = policy.discharge_bp_within_pct_of_baseline
    for vital in (Vital.SYSTOLIC, Vital.DIASTOLIC):
        if vital in now and vital not in base:
            unmet.append(
                _unmet(
                    R_DISCHARGE_VITALS,
                    f"Baseline {VITAL_SPECS[vital].label} not recorded, so recovery to baseline cannot be judged.",
                )
            )
        elif vital in now and abs(now[vital] - base[vital]) / base[vital] * 100 > limit:
            unmet.append(
                _unmet(
                    R_DISCHARGE_VITALS,
                    f"{VITAL_SPECS[vital].label.capitalize()} {now[vital]:g} is more "
                    f"than {limit:g} % from baseline {base[vital]:g}.",
                )
            )
    for alert in evaluate_vitals(baseline_vitals, vitals, policy=policy):
        unmet.append(_unmet(R_DISCHARGE_VITALS, f"Vital signs not in an acceptable range: {alert.message}"))
    if not symptoms_resolved:
        unmet.append(_unmet(R_DISCHARGE_SYMPTOMS, "Sedation, dissociation or respiratory depression has not resolved."))
    if not escort_present:
        unmet.append(_unmet(R_DISCHARGE_ESCORT, "No responsible adult is present to take the patient home."))
    if esketamine and Condition.LIVER_DISEASE_CHILD_PUGH_B in conditions:
        advisories.append("Moderate hepatic impairment: consider observing for longer than the minimum.")
    return DischargeDecision(not unmet, tuple(unmet), tuple(advisories))


# --- Fasting ---------------------------------------------------------------------------------------------------------


def fasting_check(
    *,
    dose_at: datetime,
    last_food_at: datetime | None,
    last_liquid_at: datetime | None,
    policy: ClinicPolicy | None = None,
) -> FastingCheck:
    """Whether the patient has fasted long enough for a dose at ``dose_at``.

    ``None`` means the time was not recorded: it is asked for and ``ok`` is false. Times after ``dose_at`` or
    naive datetimes raise ``ValueError``.
    """
    policy = policy or DEFAULT_POLICY
    dose_at = aware_datetime("dose_at", dose_at)
    problems: list[str] = []
    earliest = [dose_at]
    known = True
    for field, when, wait, what in (
        ("last_food_at", last_food_at, timedelta(hours=policy.fasting_food_hours), "food"),
        ("last_liquid_at", last_liquid_at, timedelta(minutes=policy.fasting_liquids_min), "liquids"),
    ):
        if when is None:
            problems.append(f"Time of last {what} not recorded.")
            known = False
            continue
        when = aware_datetime(field, when)
        if when > dose_at:
            raise ValueError(f"{field}: {when.isoformat()} is after the dose time {dose_at.isoformat()}")
        if dose_at - when < wait:
            problems.append(f"Last {what} at {when.isoformat()}: allow {_duration(wait)} before the dose.")
        earliest.append(when + wait)
    return FastingCheck(not problems, tuple(problems), max(earliest) if known else None)


def _duration(wait: timedelta) -> str:
    minutes = wait / timedelta(minutes=1)
    return f"{minutes / 60:g} h" if minutes >= 60 else f"{minutes:g} min"


# --- REMS ------------------------------------------------------------------------------------------------------------


class RemsFieldKind(StrEnum):
    """How a REMS form field is answered."""

    TEXT = "text"
    DATE = "date"
    YES_NO = "yes_no"
    CHOICE = "choice"
    MINUTES = "minutes"
    MG = "mg"
    BLOOD_PRESSURE = "blood_pressure"  # (systolic, diastolic) in mmHg


@dataclass(frozen=True)
class RemsField:
    """One field of the SPRAVATO REMS Patient Monitoring Form (outpatient, ©11/2021)."""

    name: str
    label: str
    kind: RemsFieldKind
    required: bool = True
    choices: tuple[str, ...] = ()


_T, _D, _Y, _CH, _MIN, _MG, _BP = RemsFieldKind
REMS_FORM_FIELDS: tuple[RemsField, ...] = (
    RemsField("patient_name", "Patient name", _T),
    RemsField("patient_dob", "Patient date of birth", _D),
    RemsField("patient_sex", "Patient sex", _CH, choices=("female", "male")),
    RemsField("first_treatment", "Is this the patient's first treatment?", _Y),
    RemsField("patient_enrolled", "Is the patient enrolled in the SPRAVATO REMS?", _Y),
    RemsField("concomitant_benzodiazepines", "Concomitant benzodiazepines", _Y),
    RemsField("concomitant_sedative_hypnotics", "Concomitant non-benzodiazepine sedative hypnotics", _Y),
    RemsField("concomitant_psychostimulants", "Concomitant psychostimulants", _Y),
    RemsField("concomitant_maois", "Concomitant MAOIs", _Y),
    RemsField("concomitant_opioids", "Concomitant opioids (form walk-through video)", _Y, required=False),
    RemsField("monitoring_hcp_name", "Monitoring healthcare provider name", _T),
    RemsField("monitoring_hcp_phone", "Monitoring healthcare provider phone", _T),
    RemsField("monitoring_hcp_email", "Monitoring healthcare provider email", _T),
    RemsField("setting_name", "Healthcare setting name", _T),
    RemsField("setting_address", "Healthcare setting address", _T),
    RemsField("treatment_date", "Treatment date", _D),
    RemsField("dose", "Dose", _CH, choices=("56 mg", "84 mg", "other")),
    RemsField("dose_other_mg", "Other dose (mg)", _MG, required=False),
    RemsField("lot_number", "Lot number", _T),
    RemsField("total_monitoring_min", "Total minutes from first device to completion of monitoring", _MIN),
    RemsField(
        "ready_to_leave_min",
        "Minutes from start of administration when the patient would have been ready "
        "to leave without the 2-hour requirement",
        _MIN,
    ),
    RemsField("vitals_acceptable_before_administration", "Vital signs in acceptable range prior to administration", _Y),
    RemsField("vitals_acceptable_before_completion", "Vital signs in acceptable range prior to session completion", _Y),
    RemsField("bp_before_administration", "Blood pressure prior to administration", _BP),
    RemsField("bp_40_min", "Blood pressure 40 minutes after administration", _BP),
    RemsField("bp_before_completion", "Blood pressure prior to session completion", _BP),
    RemsField("sedation", "Did the patient experience sedation?", _Y),
    RemsField("dissociation", "Did the patient experience dissociation?", _Y),
    RemsField("respiratory_depression", "Did the patient experience respiratory depression?", _Y),
)
_REMS_BY_NAME = {f.name: f for f in REMS_FORM_FIELDS}


def rems_form_fields() -> tuple[RemsField, ...]:
    """The fields of the REMS Patient Monitoring Form, in form order."""
    return REMS_FORM_FIELDS


def check_rems_form(values: Mapping[str, object]) -> tuple[str, ...]:
    """What is missing or wrong in a REMS form before it can be submitted (empty when complete).

    Unknown field names and values of the wrong kind raise ``ValueError`` naming the field; missing required
    fields, an "other" dose without its amount, and monitoring under 120 minutes are returned as problems.
    """
    problems: list[str] = []
    for name, value in values.items():
        if name not in _REMS_BY_NAME:
            raise ValueError(f"{name}: not a REMS form field; fields are {', '.join(_REMS_BY_NAME)}")
        _check_rems_value(_REMS_BY_NAME[name], value)
    for spec in REMS_FORM_FIELDS:
        if spec.required and values.get(spec.name) is None:
            problems.append(f"{spec.label}: not recorded.")
    if values.get("dose") == "other" and values.get("dose_other_mg") is None:
        problems.append("Other dose (mg): required when the dose is 'other'.")
    total = values.get("total_monitoring_min")
    if isinstance(total, int) and total < 120:
        problems.append(f"Total monitoring time {total} min is under the required 120 min.")
    return tuple(problems)


def _check_rems_value(spec: RemsField, value: object) -> None:
    if value is None:
        return
    name, kind = spec.name, spec.kind
    ok: bool
    if kind is RemsFieldKind.TEXT:
        ok = isinstance(value, str) and bool(value.strip())
    elif kind is RemsFieldKind.DATE:
        ok = isinstance(value, date) and not isinstance(value, datetime)
    elif kind is RemsFieldKind.YES_NO:
        ok = isinstance(value, bool)
    elif kind is RemsFieldKind.CHOICE:
        ok = value in spec.choices
    elif kind is RemsFieldKind.MINUTES:
        ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 24 * 60
    elif kind is RemsFieldKind.MG:
        in_range(name, value, 1, 1000, "mg")
        ok = True
    elif isinstance(value, tuple) and len(value) == 2:
        validate_vitals({Vital.SYSTOLIC.value: value[0], Vital.DIASTOLIC.value: value[1]})
        ok = True
    else:
        ok = False
    if not ok:
        allowed = f"one of {', '.join(spec.choices)}" if spec.choices else f"a {kind.value.replace('_', ' ')} value"
        raise ValueError(f"{name}: {value!r} is not allowed; expected {allowed}")


def rems_due_date(session_date: date, *, policy: ClinicPolicy | None = None) -> date:
    """The last day to submit the REMS monitoring form for a session on ``session_date`` (the clinic's local date)."""
    if not isinstance(session_date, date) or isinstance(session_date, datetime):
        raise ValueError(f"session_date: must be a date (the session's local date), got {session_date!r}")
    return session_date + timedelta(days=(policy or DEFAULT_POLICY).rems_form_due_days)
