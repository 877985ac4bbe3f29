"""In-session monitoring: which observations a protocol asks for, when, and which are done, due or overdue.

Timepoints count in minutes from the start of the dose (for esketamine, the first device). Minute 0 is the pre-dose
set (the baseline the gate ran on). The last timepoint is "before discharge": the end of the minimum observation
time (:func:`observation_end_min`). Intervals are :class:`~ketaclinic.clinical.policy.ClinicPolicy` settings.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from ketaclinic.clinical.policy import DEFAULT_POLICY, ClinicPolicy
from ketaclinic.clinical.protocols import Route, parse_enum
from ketaclinic.clinical.rules import AreaRules
from ketaclinic.clinical.sources import Citation, Evidence, cite
from ketaclinic.clinical.vitals import in_range


class Due(StrEnum):
    """What a timepoint asks for: a set of vital signs, a MOAA/S rating, a CADSS (or CADSS-6) rating."""

    VITALS = "vitals"
    MOAAS = "moaas"
    CADSS = "cadss"


class TimepointState(StrEnum):
    """Where a timepoint stands at a given minute."""

    DONE = "done"
    UPCOMING = "upcoming"
    DUE = "due"
    OVERDUE = "overdue"


@dataclass(frozen=True)
class Timepoint:
    """One protocol timepoint: the minute from the start of the dose, what is due then, and why."""

    minute: int
    due: frozenset[Due]
    label: str
    citations: tuple[Citation, ...]
    evidence: Evidence


@dataclass(frozen=True)
class TimepointStatus:
    """A timepoint at a given minute: its state and what is still missing (empty when done)."""

    timepoint: Timepoint
    state: TimepointState
    missing: frozenset[Due]
    overdue_by_min: float = 0.0


_rule = AreaRules("monitoring")

R_ESKETAMINE = _rule(
    "timepoints.esketamine",
    "Esketamine monitoring timepoints",
    "Blood pressure, heart rate, SpO2 and respiratory rate before the first device, at the clinic's BP-peak minute "
    "(default 40) and before discharge (the end of observation, at least 120 min); MOAA/S every "
    "monitoring_moaas_every_min (default 15) from then until discharge; CADSS at the peak minute and before "
    "discharge.",
    (
        cite("R1", "§5.6: BP before dosing, ~40 min after and as warranted; monitor ≥2 h; pulse oximetry"),
        cite("R4", "REMS: monitor until sedation, dissociation and respiratory depression resolve"),
        cite("R5", "BP prior to administration, 40 min post, prior to session completion"),
        cite("R29", "CADSS in esketamine trials"),
    ),
    Evidence.BEST_KNOWLEDGE,
    "The label fixes only the blood-pressure times; the trials' MOAA/S and CADSS times are best knowledge, so the "
    "safer reading repeats MOAA/S through the whole observation and checks CADSS again before discharge.",
)
R_IV = _rule(
    "timepoints.iv",
    "IV ketamine monitoring timepoints",
    "Vital signs before the infusion, every iv_vitals_during_infusion_every_min (default 10) during it, at its end, "
    "then every iv_vitals_after_infusion_every_min (default 15) until the end of the minimum observation after the "
    "infusion; MOAA/S with every set after the start; CADSS at the end of the infusion and before discharge.",
    (
        cite("R22", "BP every 10 min during the infusion and every 15 min thereafter (684 infusions)"),
        cite("R23", "BP every 10 min; peak at 40 min"),
        cite("R33", "observe ≥60 min after the last dose"),
        cite("R29", "CADSS during ketamine infusions"),
    ),
    Evidence.BEST_KNOWLEDGE,
    "Practice data (Emory, Yale), not a label. Sedation and dissociation scale times are a clinic policy.",
)
R_OTHER = _rule(
    "timepoints.other_routes",
    "Monitoring timepoints for IM, racemic intranasal, sublingual and oral ketamine",
    "Vital signs before the dose; vital signs and MOAA/S every monitoring_vitals_every_min (default 15) until the "
    "end of the minimum observation; CADSS at the BP-peak minute and before discharge.",
    (cite("R25", "face-to-face monitoring"), cite("R8", "monitor vital signs"), cite("R33", "observe ≥60 min")),
    Evidence.POLICY,
    "No source gives a schedule for these routes; the IV post-infusion interval is reused.",
)
R_OVERDUE = _rule(
    "timepoints.overdue",
    "Missed timepoints are overdue",
    "A timepoint is due from monitoring_grace_min (default 5) before its minute; once that grace has passed after "
    "its minute with something still missing, it is overdue. An observation counts for the nearest open "
    "timepoint it may fulfil.",
    (cite("R1", "§5.6: reassess BP ~40 min after dosing"),),
    Evidence.POLICY,
)


def observation_end_min(route: str, *, dose_minutes: float = 0, policy: ClinicPolicy | None = None) -> int:
    """Minutes from the start of the dose to the end of the minimum observation (the "before discharge" timepoint).

    Esketamine: from the first device, never under 120. Other routes: the dose's own duration plus the clinic's
    observation time after the end of the dose.
    """
    how = parse_enum(Route, "route", route)
    policy = policy or DEFAULT_POLICY
    length = in_range("dose_minutes", dose_minutes, 0, 600, "min")
    if how is Route.ESKETAMINE_NASAL:
        return int(max(policy.esketamine_min_observation_min, 120))
    return round(length + policy.ketamine_min_observation_min)


def _every(start: float, step: float, stop: float) -> list[int]:
    out, minute = [], start
    while minute < stop:
        out.append(round(minute))
        minute += step
    return out


def monitoring_timepoints(
    route: str, *, dose_minutes: float = 0, policy: ClinicPolicy | None = None
) -> tuple[Timepoint, ...]:
    """The protocol's timepoints for ``route``, in order of minute (from the start of the dose).

    ``dose_minutes`` is the infusion's length for IV (ignored for esketamine); 0 for a dose given at once. Unknown
    routes or a length outside 0–600 min raise ``ValueError``.
    """
    how = parse_enum(Route, "route", route)
    policy = policy or DEFAULT_POLICY
    length = in_range("dose_minutes", dose_minutes, 0, 600, "min")
    end = observation_end_min(route, dose_minutes=length, policy=policy)
    due: dict[int, set[Due]] = {0: {Due.VITALS}}
    labels: dict[int, str] = {0: "Before the dose"}

    def add(minute: int, *what: Due, label: str = "") -> None:
        due.setdefault(minute, set()).update(what)
        if label and minute not in labels:
            labels[minute] = label

    if how is Route.ESKETAMINE_NASAL:
        r = R_ESKETAMINE
        peak = int(policy.monitoring_bp_peak_min)
        add(end, Due.VITALS, Due.MOAAS, Due.CADSS, label="Before discharge")
        add(peak, Due.VITALS, Due.MOAAS, Due.CADSS, label=f"{peak} min (blood-pressure peak)")
        for minute in _every(policy.monitoring_moaas_every_min, policy.monitoring_moaas_every_min, end):
            add(minute, Due.MOAAS)
    elif how is Route.IV:
        r = R_IV
        stop = round(length)
        add(end, Due.VITALS, Due.MOAAS, Due.CADSS, label="Before discharge")
        if stop:
            add(stop, Due.VITALS, Due.MOAAS, Due.CADSS, label="End of infusion")
        for minute in _every(
            policy.iv_vitals_during_infusion_every_min, policy.iv_vitals_during_infusion_every_min, stop
        ):
            add(minute, Due.VITALS, Due.MOAAS, label="During the infusion")
        after = policy.iv_vitals_after_infusion_every_min
        for minute in _every(stop + after, after, end):
            add(minute, Due.VITALS, Due.MOAAS, label="After the infusion")
    else:
        r = R_OTHER
        peak = int(policy.monitoring_bp_peak_min)
        add(end, Due.VITALS, Due.MOAAS, Due.CADSS, label="Before discharge")
        if peak < end:
            add(peak, Due.CADSS)
        every = policy.monitoring_vitals_every_min
        for minute in _every(every, every, end):
            add(minute, Due.VITALS, Due.MOAAS)
    return tuple(
        Timepoint(minute, frozenset(due[minute]), labels.get(minute, f"{minute} min"), r.citations, r.evidence)
        for minute in sorted(due)
    )


def timepoint_status(
    timepoints: Iterable[Timepoint],
    *,
    minute_now: float,
    fulfilled: Mapping[int, Iterable[Due | str]],
    policy: ClinicPolicy | None = None,
) -> list[TimepointStatus]:
    """Each timepoint's state at ``minute_now`` (minutes since the start of the dose; negative before it).

    ``fulfilled`` maps a timepoint's minute to what has been recorded for it. Done when nothing is missing;
    upcoming before ``minute - grace``; due until ``minute + grace``; overdue after, by how many minutes past its
    minute.
    """
    policy = policy or DEFAULT_POLICY
    grace = policy.monitoring_grace_min
    now = in_range("minute_now", minute_now, -24 * 60, 24 * 60, "min")
    out = []
    for tp in timepoints:
        got = {Due(str(d)) for d in fulfilled.get(tp.minute, ())}
        missing = frozenset(tp.due - got)
        if not missing:
            state = TimepointState.DONE
        elif now < tp.minute - grace:
            state = TimepointState.UPCOMING
        elif now <= tp.minute + grace:
            state = TimepointState.DUE
        else:
            state = TimepointState.OVERDUE
        late = now - tp.minute if state is TimepointState.OVERDUE else 0.0
        out.append(TimepointStatus(tp, state, missing, late))
    return out


def match_timepoint(
    timepoints: Iterable[Timepoint],
    what: Due | str,
    *,
    minute: float,
    fulfilled: Mapping[int, Iterable[Due | str]],
    policy: ClinicPolicy | None = None,
) -> int | None:
    """The minute of the nearest open timepoint an observation of ``what`` taken at ``minute`` fulfils, or None.

    Open means it asks for ``what`` and has none yet. A timepoint cannot be fulfilled more than the grace before its
    minute (too early); late ones still can. Minute 0 (pre-dose) is fulfilled by the baseline only, so in-session
    observations never match it. Ties go to the earlier timepoint.
    """
    kind = Due(str(what))
    policy = policy or DEFAULT_POLICY
    at = in_range("minute", minute, -24 * 60, 24 * 60, "min")
    candidates = [
        tp.minute
        for tp in timepoints
        if tp.minute > 0
        and kind in tp.due
        and kind not in {Due(str(d)) for d in fulfilled.get(tp.minute, ())}
        and tp.minute - policy.monitoring_grace_min <= at
    ]
    if not candidates:
        return None
    return min(candidates, key=lambda m: (abs(m - at), m))
