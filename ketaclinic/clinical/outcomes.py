"""Measurement-based care: response, remission, clinically meaningful change, rapid response, and the course status
of a series of assessments (remitter, responder, partial responder, non-responder, loss of response, relapse).

Pure functions over frozen dataclasses. Thresholds come from :class:`~ketaclinic.clinical.policy.ClinicPolicy`;
definitions and their sources are registered as catalogue rules in the ``outcomes`` area (REFERENCE §5).
Percent change is always the reduction from baseline, ``(baseline − current) / baseline × 100``: positive is better.

:func:`primary_outcome` names, for a course's indication, the one instrument its response and remission are judged on:
PHQ-9 for the depression group, GAD-7 for anxiety. The other indications (PTSD, OCD, chronic pain, migraine, alcohol
use) have measures but no sourced response or remission definition for them (REFERENCE §4.6–4.10, §5), so they have no
primary outcome: such a course is *not evaluable*, never judged on an invented threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from ketaclinic.clinical.instruments import Instrument, get_instrument
from ketaclinic.clinical.measurement import INDICATION_GROUPS, MEASURE_SETS
from ketaclinic.clinical.policy import DEFAULT_POLICY, ClinicPolicy
from ketaclinic.clinical.rules import rule
from ketaclinic.clinical.sources import Evidence, cite

#: The ClinicPolicy setting holding each instrument's remission threshold (score at or below it is remission).
REMISSION_SETTINGS = {
    "madrs": "madrs_remission_max",
    "phq9": "phq9_remission_max",
    "qids_sr16": "qids_sr16_remission_max",
    "hamd17": "hamd17_remission_max",
    "gad7": "gad7_remission_max",
}
#: The ClinicPolicy setting holding each instrument's minimal clinically important improvement, in points.
MCID_SETTINGS = {"phq9": "phq9_mcid_points"}
#: Relapse is defined on the MADRS only (SUSTAIN-1).
RELAPSE_INSTRUMENT = "madrs"
RELAPSE_MIN_GAP = timedelta(days=5)
RELAPSE_MAX_GAP = timedelta(days=15)
#: Indication group (``measurement.INDICATION_GROUPS``) → the instrument response and remission are judged on, or
#: ``None`` where no source defines response or remission on the group's measure (the course is not evaluable).
PRIMARY_OUTCOMES: dict[str, str | None] = {
    "depression": "phq9",
    "anxiety": "gad7",
    "ptsd": None,
    "ocd": None,
    "chronic_pain": None,
    "migraine": None,
    "alcohol_use": None,
}


@dataclass(frozen=True)
class Change:
    """Change from baseline on one instrument.

    ``percent_change`` is the reduction from baseline in percent (positive = improvement; ``None`` when the baseline
    is 0, where no relative change exists). ``remission`` and ``mcid`` are ``None`` where the instrument has no such
    definition. ``response`` and ``partial_response`` are never both true.
    """

    instrument: str
    baseline: int
    current: int
    points_improved: int
    percent_change: float | None
    response: bool
    partial_response: bool
    remission: bool | None
    remission_threshold: float | None
    mcid: bool | None


@dataclass(frozen=True)
class Assessment:
    """One total score at an aware point in time."""

    at: datetime
    score: int


class OutcomeStatus(StrEnum):
    """Where a course stands, judged on its assessments against baseline."""

    REMITTER = "remitter"
    RESPONDER = "responder"
    PARTIAL_RESPONDER = "partial responder"
    NON_RESPONDER = "non-responder"
    LOSS_OF_RESPONSE = "loss of response"
    RELAPSE = "relapse"


@dataclass(frozen=True)
class Trajectory:
    """The status of a series of assessments, with the assessments that decided it (``evidence``) and why."""

    status: OutcomeStatus
    evidence: tuple[Assessment, ...]
    reason: str
    latest: Change
    first_response: Assessment | None


def _outcome_instrument(instrument: str | Instrument) -> tuple[Instrument, tuple[int, int]]:
    definition = instrument if isinstance(instrument, Instrument) else get_instrument(instrument)
    total_range = definition.total_range
    if total_range is None or not definition.higher_is_worse:
        raise ValueError(
            f"instrument: {definition.id} is not a symptom scale (lower is better), so response and remission do "
            "not apply"
        )
    return definition, total_range


def _check_score(field: str, value: object, total_range: tuple[int, int], instrument_id: str) -> int:
    low, high = total_range
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{field}: {value!r} is not a {instrument_id} total; allowed values: {low}–{high}")
    return value


def _remission_threshold(
    definition: Instrument, override: int | None, total_range: tuple[int, int], policy: ClinicPolicy
) -> float | None:
    if override is not None:
        return _check_score("remission_threshold", override, total_range, definition.id)
    setting = REMISSION_SETTINGS.get(definition.id)
    return None if setting is None else float(getattr(policy, setting))


def _reached(points_improved: int, baseline: int, pct: float) -> bool:
    # Cross-multiplied so that an exact 50 % reduction counts as 50 %, free of floating-point rounding.
    return baseline > 0 and points_improved * 100 >= pct * baseline


def classify_change(
    instrument: str | Instrument,
    baseline: int,
    current: int,
    *,
    remission_threshold: int | None = None,
    policy: ClinicPolicy | None = None,
) -> Change:
    """Classify the change from ``baseline`` to ``current`` on a symptom scale.

    Response: reduction ≥ ``policy.response_reduction_pct`` (50 %). Partial response: reduction ≥
    ``policy.partial_response_reduction_pct`` (25 %) but short of response. Remission: ``current`` at or below
    ``remission_threshold`` if given (e.g. 10 for MADRS as in ESCAPE-TRD), else the instrument's policy threshold
    (MADRS ≤12, PHQ-9 ≤4, QIDS-SR16 ≤5, HAM-D17 ≤7, GAD-7 ≤4); ``None`` for instruments without one. MCID: PHQ-9
    improvement ≥ ``policy.phq9_mcid_points``. Scores outside the instrument's range raise ``ValueError`` naming the
    field.
    """
    policy = policy or DEFAULT_POLICY
    definition, total_range = _outcome_instrument(instrument)
    baseline = _check_score("baseline", baseline, total_range, definition.id)
    current = _check_score("current", current, total_range, definition.id)
    threshold = _remission_threshold(definition, remission_threshold, total_range, policy)
    improved = baseline - current
    response = _reached(improved, baseline, policy.response_reduction_pct)
    mcid_setting = MCID_SETTINGS.get(definition.id)
    return Change(
        instrument=definition.id,
        baseline=baseline,
        current=current,
        points_improved=improved,
        percent_change=improved / baseline * 100 if baseline else None,
        response=response,
        partial_response=not response and _reached(improved, baseline, policy.partial_response_reduction_pct),
        remission=None if threshold is None else current <= threshold,
        remission_threshold=threshold,
        mcid=None if mcid_setting is None else improved >= getattr(policy, mcid_setting),
    )


def _check_series(instrument: str | Instrument, assessments: Sequence[Assessment], field: str = "assessments") -> None:
    definition, total_range = _outcome_instrument(instrument)
    previous: datetime | None = None
    for n, assessment in enumerate(assessments):
        _check_score(f"{field}[{n}].score", assessment.score, total_range, definition.id)
        if assessment.at.tzinfo is None or assessment.at.utcoffset() is None:
            raise ValueError(f"{field}[{n}].at: {assessment.at.isoformat()} has no time zone; use an aware datetime")
        if previous is not None and assessment.at < previous:
            raise ValueError(f"{field}[{n}].at: {assessment.at.isoformat()} is earlier than the assessment before it")
        previous = assessment.at


def rapid_response(
    instrument: str | Instrument,
    baseline: int,
    dosed_at: datetime,
    assessments: Sequence[Assessment],
    *,
    policy: ClinicPolicy | None = None,
) -> Assessment | None:
    """The first assessment after ``dosed_at`` and within ``policy.rapid_response_hours`` (24 h) of it that meets
    response; ``None`` if there is none. Assessments before the dose are ignored.
    """
    policy = policy or DEFAULT_POLICY
    if dosed_at.tzinfo is None or dosed_at.utcoffset() is None:
        raise ValueError(f"dosed_at: {dosed_at.isoformat()} has no time zone; use an aware datetime")
    _check_series(instrument, assessments)
    window_end = dosed_at + timedelta(hours=policy.rapid_response_hours)
    for assessment in assessments:
        in_window = dosed_at <= assessment.at <= window_end
        if in_window and classify_change(instrument, baseline, assessment.score, policy=policy).response:
            return assessment
    return None


def _relapse_run(assessments: Sequence[Assessment], minimum: float) -> tuple[Assessment, ...] | None:
    """The first run of consecutive assessments all at or above ``minimum`` whose first and last are 5–15 days
    apart; consecutive means no assessment below ``minimum`` in between.
    """
    for start, first in enumerate(assessments):
        if first.score < minimum:
            continue
        for end in range(start + 1, len(assessments)):
            if assessments[end].score < minimum:
                break
            gap = assessments[end].at - first.at
            if RELAPSE_MIN_GAP <= gap <= RELAPSE_MAX_GAP:
                return tuple(assessments[start : end + 1])
    return None


def classify_trajectory(
    instrument: str | Instrument,
    baseline: int,
    assessments: Sequence[Assessment],
    *,
    remission_threshold: int | None = None,
    policy: ClinicPolicy | None = None,
) -> Trajectory:
    """The course status of time-ordered ``assessments`` (aware datetimes) against ``baseline``.

    Benefit means response or remission. In order of precedence:

    * relapse (MADRS only): after benefit, MADRS ≥ ``policy.relapse_madrs_min`` (22) on consecutive assessments
      5–15 days apart, with no assessment showing benefit below that level since;
    * loss of response: after benefit, the last ``policy.loss_of_response_consecutive`` (2) or more assessments in a
      row show no benefit;
    * otherwise the status of the latest assessment showing benefit if it is among the last few (a single dip does
      not end a response), else of the latest assessment: remitter, responder, partial responder (25–49 %) or
      non-responder.

    Raises ``ValueError`` for an empty or unordered series, a naive datetime or a score outside the range.
    """
    policy = policy or DEFAULT_POLICY
    if not assessments:
        raise ValueError("assessments: at least one assessment after baseline is needed")
    _check_series(instrument, assessments)
    changes = [
        classify_change(instrument, baseline, a.score, remission_threshold=remission_threshold, policy=policy)
        for a in assessments
    ]
    benefit = [c.response or c.remission is True for c in changes]
    latest = changes[-1]
    first_response = next((a for a, b in zip(assessments, benefit, strict=True) if b), None)
    if first_response is None:
        status = OutcomeStatus.PARTIAL_RESPONDER if latest.partial_response else OutcomeStatus.NON_RESPONDER
        return Trajectory(status, (assessments[-1],), f"no response yet; latest {_pct(latest)}", latest, None)

    last_benefit = max(n for n, b in enumerate(benefit) if b)
    if changes[0].instrument == RELAPSE_INSTRUMENT:
        relapse_min = policy.relapse_madrs_min
        # A relapse can only follow a well period: start after the last assessment that shows benefit below the
        # relapse level (a MADRS ≥22 can still be a 50 % reduction from a very high baseline).
        first_benefit = benefit.index(True)
        well = max(
            (n for n, (a, b) in enumerate(zip(assessments, benefit, strict=True)) if b and a.score < relapse_min),
            default=first_benefit,
        )
        run = _relapse_run(assessments[well + 1 :], relapse_min)
        if run is not None:
            reason = (
                f"MADRS ≥{relapse_min:g} on {len(run)} consecutive assessments "
                f"{(run[-1].at - run[0].at).days} days apart after response"
            )
            return Trajectory(OutcomeStatus.RELAPSE, run, reason, latest, first_response)

    without = len(assessments) - 1 - last_benefit
    if without >= policy.loss_of_response_consecutive:
        evidence = tuple(assessments[last_benefit:])
        reason = (
            f"{without} consecutive assessments without response after response on {_day(assessments[last_benefit])}"
        )
        return Trajectory(OutcomeStatus.LOSS_OF_RESPONSE, evidence, reason, latest, first_response)

    decisive = changes[last_benefit]
    status = OutcomeStatus.REMITTER if decisive.remission else OutcomeStatus.RESPONDER
    reason = f"{status.value} on {_day(assessments[last_benefit])} ({_pct(decisive)})"
    if without:
        reason += f"; {without} later assessment(s) without response, fewer than needed for loss of response"
    return Trajectory(status, tuple(assessments[last_benefit:]), reason, latest, first_response)


def primary_outcome(indication: str) -> str | None:
    """The instrument a course for ``indication`` is judged on for response and remission, or ``None``.

    TRD, MDSI and other depression: ``"phq9"`` (response ≥50 % reduction [R45], remission <5 [R45]). Anxiety:
    ``"gad7"`` (the same ≥50 % reduction rule :func:`classify_change` applies to every symptom scale, and remission at
    or below ``ClinicPolicy.gad7_remission_max``, the minimal band [R36]). PTSD (PCL-5), OCD (Y-BOCS), chronic pain
    (NRS), migraine (MIDAS) and alcohol use (AUDIT): ``None`` — the reference gives no sourced response or remission
    definition on those instruments, so the safer reading is that such a course is not evaluable (see
    :func:`not_evaluable_reason`), never that it is judged on an invented threshold. An unknown indication raises
    ``ValueError`` naming the known ones.
    """
    group = INDICATION_GROUPS.get(indication)
    if group is None:
        raise ValueError(f"indication: unknown {indication!r}; known: {', '.join(INDICATION_GROUPS)}")
    return PRIMARY_OUTCOMES[group]


def not_evaluable_reason(indication: str) -> str | None:
    """Why a course for ``indication`` has no response or remission (``None`` when it has a primary outcome):
    ``"no sourced response definition for PCL-5"``, naming the instrument the indication is measured on."""
    if primary_outcome(indication) is not None:
        return None
    measured = MEASURE_SETS[INDICATION_GROUPS[indication]][0][0]
    return f"no sourced response definition for {get_instrument(measured).name}"


def _pct(change: Change) -> str:
    if change.percent_change is None:
        return f"score {change.current} from a baseline of 0"
    return f"score {change.current}, {change.percent_change:.0f} % reduction"


def _day(assessment: Assessment) -> str:
    return assessment.at.date().isoformat()


_AREA = "outcomes"
rule(
    "outcomes.percent_change",
    area=_AREA,
    title="Percent change from baseline",
    statement="Percent change = (baseline − current) / baseline × 100, positive meaning improvement; with a baseline "
    "of 0 there is no percent change and no response.",
    citations=(cite("R12", "≥50 % decrease from baseline"), cite("R27", "reductions from baseline")),
)
rule(
    "outcomes.response",
    area=_AREA,
    title="Response",
    statement="A reduction from baseline of at least ClinicPolicy.response_reduction_pct (default 50 %) is response.",
    citations=(cite("R12", "response ≥50 % MADRS decrease"), cite("R27", "response ≥50 %"), cite("R45", "PHQ-9 ≥50 %")),
)
rule(
    "outcomes.partial_response",
    area=_AREA,
    title="Partial response",
    statement="A reduction of at least ClinicPolicy.partial_response_reduction_pct (default 25 %) but short of "
    "response is partial response.",
    citations=(cite("R27", "≤25 % improvement counts as non-response"),),
    evidence=Evidence.POLICY,
)
_REMISSION = {
    "madrs": (
        "MADRS ≤12 (ClinicPolicy.madrs_remission_max); ≤10 selectable per call as in ESCAPE-TRD",
        (cite("R45", "SUSTAIN programme MADRS ≤12"), cite("R7", "ESCAPE-TRD MADRS ≤10")),
        Evidence.PUBLISHED,
    ),
    "phq9": (
        "PHQ-9 <5, i.e. ≤4 (ClinicPolicy.phq9_remission_max)",
        (cite("R45", "SUSTAIN-3 PHQ-9 <5"),),
        Evidence.PUBLISHED,
    ),
    "qids_sr16": (
        "QIDS-SR16 ≤5 (ClinicPolicy.qids_sr16_remission_max)",
        (cite("R37", "remission ≤5 (STAR*D)"),),
        Evidence.PUBLISHED,
    ),
    "hamd17": (
        "HAM-D17 ≤7 (ClinicPolicy.hamd17_remission_max)",
        (cite("R44", "0–7 no depression"),),
        Evidence.BEST_KNOWLEDGE,
    ),
    "gad7": (
        "GAD-7 ≤4, the minimal band (ClinicPolicy.gad7_remission_max)",
        (cite("R36", "0–4 minimal"),),
        Evidence.POLICY,
    ),
}
for _instrument_id, (_statement, _citations, _evidence) in _REMISSION.items():
    rule(
        f"outcomes.remission.{_instrument_id}",
        area=_AREA,
        title=f"Remission on {get_instrument(_instrument_id).name}",
        statement=f"Remission is {_statement}. Other instruments have no remission rule unless a threshold is passed.",
        citations=_citations,
        evidence=_evidence,
    )
rule(
    "outcomes.mcid.phq9",
    area=_AREA,
    title="Clinically meaningful change on the PHQ-9",
    statement="An improvement of at least ClinicPolicy.phq9_mcid_points (default 5 points) is a minimal clinically "
    "important difference.",
    citations=(cite("R35", "Löwe 2004: 5 points (2 SEM)"),),
    note="Alternative: about 20 % reduction (Psychol Med 2022); not used.",
)
rule(
    "outcomes.rapid_response",
    area=_AREA,
    title="Rapid response",
    statement="Response on an assessment within ClinicPolicy.rapid_response_hours (default 24 h) after a dose is a "
    "rapid response.",
    citations=(cite("R10", "primary outcome at 24 h"), cite("R12", "24 h endpoint"), cite("R45", "ASPIRE I: 24 h")),
    evidence=Evidence.POLICY,
)
rule(
    "outcomes.loss_of_response",
    area=_AREA,
    title="Loss of response",
    statement="After response (or remission), ClinicPolicy.loss_of_response_consecutive (default 2) consecutive "
    "assessments without response are loss of response; fewer leave the status unchanged.",
    citations=(cite("R45", "SUSTAIN-1: two consecutive assessments"),),
    evidence=Evidence.POLICY,
    note="No published ketamine-specific definition exists; two consecutive assessments mirror SUSTAIN-1's relapse "
    "confirmation.",
)
rule(
    "outcomes.relapse",
    area=_AREA,
    title="Relapse (MADRS)",
    statement="After response, MADRS at or above ClinicPolicy.relapse_madrs_min (default 22) on consecutive "
    "assessments whose first and last are 5–15 days apart, with no assessment below that level in between, is "
    "relapse. It takes precedence over loss of response.",
    citations=(cite("R45", "SUSTAIN-1 relapse: MADRS ≥22 on 2 consecutive assessments 5–15 days apart"),),
    evidence=Evidence.BEST_KNOWLEDGE,
    note="SUSTAIN-1 also counts hospitalisation for worsening depression, suicide attempt or completed suicide as "
    "relapse; those events are recorded clinically, not derived from scores. Assessments closer than 5 days are "
    "treated as one run so weekly and twice-weekly schedules are both caught (safer reading).",
)
rule(
    "outcomes.primary.depression",
    area=_AREA,
    title="Primary outcome: depression",
    statement="TRD, MDSI and other depression courses are judged for response and remission on the PHQ-9: response "
    "a reduction of at least ClinicPolicy.response_reduction_pct (50 %) from baseline, remission PHQ-9 ≤ "
    "ClinicPolicy.phq9_remission_max (<5).",
    citations=(cite("R45", "SUSTAIN-3: PHQ-9 ≥50 % reduction, PHQ-9 <5"), cite("R35", "PHQ-9 scoring")),
    evidence=Evidence.POLICY,
    note="The patient-reported PHQ-9 is the one depression measure every depression course collects at every "
    "timepoint; MADRS is clinician-rated and only asked in the clinic.",
)
rule(
    "outcomes.primary.anxiety",
    area=_AREA,
    title="Primary outcome: anxiety",
    statement="Anxiety courses are judged for response and remission on the GAD-7: response the same reduction of at "
    "least ClinicPolicy.response_reduction_pct (50 %) from baseline applied to every symptom scale, remission GAD-7 ≤ "
    "ClinicPolicy.gad7_remission_max (4, the minimal band).",
    citations=(cite("R36", "GAD-7 0–4 minimal"), cite("R45", "PHQ-9 ≥50 % reduction as response")),
    evidence=Evidence.POLICY,
    note="No source in the reference defines GAD-7 response; the ≥50 % reduction is the response rule sourced for the "
    "PHQ-9 and MADRS, applied to the GAD-7, the only measure an anxiety course collects.",
)
rule(
    "outcomes.primary.none",
    area=_AREA,
    title="No primary outcome: PTSD, OCD, chronic pain, migraine, alcohol use",
    statement="PTSD (PCL-5), OCD (Y-BOCS), chronic pain (NRS), migraine (MIDAS) and alcohol use (AUDIT) courses have "
    "no primary outcome: they are reported as not evaluable (no sourced response definition for the instrument), "
    "never judged for response or remission.",
    citations=(
        cite("R40", "PCL-5: provisional-diagnosis cut-points and change ranges, no response definition"),
        cite("R41", "Y-BOCS severity bands only"),
        cite("R30", "NRS bands only"),
        cite("R43", "MIDAS disability grades only"),
        cite("R42", "AUDIT risk zones only"),
    ),
    evidence=Evidence.POLICY,
    note="Safer reading: an invented threshold would put unsourced response rates on the dashboard beside sourced "
    "ones.",
)
