"""Measurement-based care: which questionnaires are due when, from a course's actual sessions.

Each indication has a set of instruments (depression: PHQ-9, QIDS-SR16, clinician MADRS, with the C-SSRS screener at
every depression timepoint; anxiety: GAD-7; PTSD: PCL-5; OCD: Y-BOCS where licensed; chronic pain: NRS; migraine:
MIDAS; alcohol use: AUDIT). Each instrument is due at some of these timepoints: baseline (before session 1), before
each later session, 24 h and 7 days after each dose, every week during induction, every two weeks in maintenance, or
every few months for long-recall instruments. Intervals and windows are :class:`ClinicPolicy` settings.

:func:`measure_schedule` is a pure function of the sessions that still stand: a moved session moves its measures, a
cancelled one drops them. Every due measure has a stable ``key`` (timepoint, session, instrument), so a caller can
store the schedule and regenerate it idempotently whenever the sessions change.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from ketaclinic.clinical.instruments import Respondent, get_instrument
from ketaclinic.clinical.policy import DEFAULT_POLICY, ClinicPolicy
from ketaclinic.clinical.protocols import Protocol, course_week, get_protocol
from ketaclinic.clinical.rules import AreaRules
from ketaclinic.clinical.sources import Evidence, cite
from ketaclinic.clinical.vitals import aware_datetime


class Timepoint(StrEnum):
    """When in a course a questionnaire is due. The order is the rank used when two timepoints coincide."""

    BASELINE = "baseline"
    PRE_SESSION = "pre_session"
    POST_24H = "post_24h"
    POST_7D = "post_7d"
    WEEKLY = "weekly"
    FORTNIGHTLY = "fortnightly"
    PERIODIC = "periodic"


RANK = {t: n for n, t in enumerate(Timepoint)}
TIMEPOINT_LABELS = {
    Timepoint.BASELINE: "baseline",
    Timepoint.PRE_SESSION: "before the session",
    Timepoint.POST_24H: "24 h after the dose",
    Timepoint.POST_7D: "7 days after the dose",
    Timepoint.WEEKLY: "weekly (induction)",
    Timepoint.FORTNIGHTLY: "every 2 weeks (maintenance)",
    Timepoint.PERIODIC: "periodic",
}


class Delivery(StrEnum):
    """How a due questionnaire reaches its respondent: the patient through the portal, or staff in the clinic."""

    PORTAL = "portal"
    CLINIC = "clinic"


_ALL = tuple(Timepoint)[:-1]  # every timepoint but the periodic one
_IN_CLINIC = (Timepoint.BASELINE, Timepoint.PRE_SESSION)
_TRACKING = (Timepoint.BASELINE, Timepoint.WEEKLY, Timepoint.FORTNIGHTLY)
_LONG_RECALL = (Timepoint.BASELINE, Timepoint.PERIODIC)

#: Indication group → (instrument, timepoints at which it is due). Clinician-rated instruments are due only at
#: timepoints when the patient is in the clinic (baseline and before a session).
MEASURE_SETS: dict[str, tuple[tuple[str, tuple[Timepoint, ...]], ...]] = {
    "depression": (
        ("phq9", _ALL),
        ("cssrs_screener", _ALL),
        ("qids_sr16", _TRACKING),
        ("madrs", _IN_CLINIC),
    ),
    "anxiety": (("gad7", _ALL),),
    "ptsd": (("pcl5", _TRACKING),),
    "ocd": (("ybocs", _IN_CLINIC),),
    "chronic_pain": (("nrs_pain", _ALL),),
    "migraine": (("midas", _LONG_RECALL),),
    "alcohol_use": (("audit", _LONG_RECALL),),
}
#: A course's indication → its measure set (TRD, MDSI and other depression share the depression set).
INDICATION_GROUPS = {
    "trd": "depression",
    "mdsi": "depression",
    "depression": "depression",
    "anxiety": "anxiety",
    "ptsd": "ptsd",
    "ocd": "ocd",
    "chronic_pain": "chronic_pain",
    "migraine": "migraine",
    "alcohol_use": "alcohol_use",
}
#: Instruments used only where the clinic holds a licence for electronic use (REFERENCE §4.12).
LICENCE_REQUIRED = frozenset({"ybocs"})
#: Clinician instruments that also have a self-report form the patient may fill in through the portal.
SELF_REPORT_FORMS = frozenset({"cssrs_screener"})


@dataclass(frozen=True)
class SessionTime:
    """One standing dosing session of a course: its number in the course, its start, and the caller's reference."""

    number: int
    at: datetime
    ref: int


@dataclass(frozen=True)
class DueMeasure:
    """One questionnaire due at one timepoint.

    It may be answered from ``opens_at`` until ``closes_at`` (``None``: until answered); ``due_at`` is its nominal
    time. ``session_ref``/``session_number`` name the session it belongs to (``None`` for calendar timepoints).
    """

    key: str
    instrument: str
    timepoint: Timepoint
    due_at: datetime
    opens_at: datetime
    closes_at: datetime | None
    session_ref: int | None
    session_number: int | None
    delivery: Delivery


def measure_set(indication: str, *, licensed: Collection[str] = ()) -> tuple[tuple[str, tuple[Timepoint, ...]], ...]:
    """The instruments and their timepoints for a course ``indication``; ``ValueError`` for an unknown one.

    Instruments in :data:`LICENCE_REQUIRED` are left out unless listed in ``licensed``.
    """
    group = INDICATION_GROUPS.get(indication)
    if group is None:
        raise ValueError(f"indication: unknown {indication!r}; known: {', '.join(INDICATION_GROUPS)}")
    return tuple((i, t) for i, t in MEASURE_SETS[group] if i not in LICENCE_REQUIRED or i in licensed)


def delivery(instrument: str) -> Delivery:
    """Patient-reported instruments (and self-report forms of clinician screeners) go through the portal."""
    definition = get_instrument(instrument)
    if definition.respondent is Respondent.PATIENT or definition.id in SELF_REPORT_FORMS:
        return Delivery.PORTAL
    return Delivery.CLINIC


def _induction_weeks(protocol: Protocol) -> int | None:
    """The last course week of the first phase (induction); ``None`` when the first phase is open-ended."""
    return protocol.phases[0].last_week


def _calendar_points(
    sessions: Sequence[SessionTime], protocol: Protocol, policy: ClinicPolicy
) -> list[tuple[Timepoint, datetime]]:
    """Weekly anchors during induction, fortnightly ones in maintenance, periodic ones throughout, from session 1
    while the course has sessions (up to the late follow-up after the last one)."""
    start, last = sessions[0].at, sessions[-1].at
    horizon = last + timedelta(days=policy.measure_post_dose_late_days)
    induction_weeks = _induction_weeks(protocol)
    induction_end = None if induction_weeks is None else start + timedelta(days=7 * induction_weeks)
    points: list[tuple[Timepoint, datetime]] = []
    step = timedelta(days=policy.measure_induction_interval_days)
    anchor = start + step
    while anchor <= horizon and (induction_end is None or anchor <= induction_end):
        points.append((Timepoint.WEEKLY, anchor))
        anchor += step
    if induction_end is not None and last >= induction_end:
        step = timedelta(days=policy.measure_maintenance_interval_days)
        anchor = induction_end + step
        while anchor <= horizon:
            points.append((Timepoint.FORTNIGHTLY, anchor))
            anchor += step
    step = timedelta(days=policy.measure_periodic_interval_days)
    anchor = start + step
    while anchor <= horizon:
        points.append((Timepoint.PERIODIC, anchor))
        anchor += step
    return points


def measure_schedule(
    indication: str,
    protocol: str | Protocol,
    sessions: Sequence[SessionTime],
    *,
    opened_at: datetime,
    licensed: Collection[str] = (),
    policy: ClinicPolicy | None = None,
) -> tuple[DueMeasure, ...]:
    """Every questionnaire due for a course, in due-time order.

    ``sessions`` are the course's standing sessions (moved ones at their new time, cancelled ones left out);
    ``opened_at`` is when the course was opened (the baseline may be answered from then). Before any session is
    booked only the baseline is due (open until session 1). Timepoints of one instrument less than
    ``policy.measure_merge_hours`` apart are one questionnaire: the higher-ranked timepoint stays (pre-session before
    baseline, 24 h, 7 days, weekly, fortnightly, periodic). Datetimes must be aware.
    """
    policy = policy or DEFAULT_POLICY
    proto = get_protocol(protocol)
    aware_datetime("opened_at", opened_at)
    for n, session in enumerate(sessions):
        aware_datetime(f"sessions[{n}].at", session.at)
    ordered = sorted(sessions, key=lambda s: (s.at, s.number))
    instruments = measure_set(indication, licensed=licensed)
    candidates: list[DueMeasure] = []
    for instrument, timepoints in instruments:
        candidates += _candidates(instrument, set(timepoints), ordered, proto, opened_at, policy)
    return tuple(sorted(_merge(candidates, policy), key=lambda d: (d.due_at, RANK[d.timepoint], d.instrument)))


def _candidates(
    instrument: str,
    timepoints: set[Timepoint],
    sessions: Sequence[SessionTime],
    protocol: Protocol,
    opened_at: datetime,
    policy: ClinicPolicy,
) -> list[DueMeasure]:
    how = delivery(instrument)
    out: list[DueMeasure] = []

    def add(
        timepoint: Timepoint,
        due: datetime,
        opens: datetime,
        closes: datetime | None,
        session: SessionTime | None,
        tag: str,
    ) -> None:
        if timepoint in timepoints:
            ref = session.ref if session else None
            number = session.number if session else None
            key = f"{timepoint.value}:{tag}:{instrument}"
            out.append(DueMeasure(key, instrument, timepoint, due, opens, closes, ref, number, how))

    first = sessions[0] if sessions else None
    baseline_due = first.at if first else opened_at
    add(Timepoint.BASELINE, baseline_due, min(opened_at, baseline_due), first.at if first else None, first, "course")
    if not sessions:
        return out
    pre_open = timedelta(hours=policy.measure_pre_session_open_hours)
    early = timedelta(hours=policy.measure_post_dose_early_hours)
    early_tol = timedelta(hours=policy.measure_post_dose_early_tolerance_hours)
    late = timedelta(days=policy.measure_post_dose_late_days)
    window = timedelta(days=policy.measure_window_days)
    for session in sessions:
        if session is not first:
            add(Timepoint.PRE_SESSION, session.at, session.at - pre_open, session.at, session, str(session.ref))
        due = session.at + early
        add(Timepoint.POST_24H, due, due - early_tol, due + early_tol, session, str(session.ref))
        due = session.at + late
        add(Timepoint.POST_7D, due, due - window, due + window, session, str(session.ref))
    for timepoint, anchor in _calendar_points(sessions, protocol, policy):
        week = course_week(sessions[0].at, anchor)
        add(timepoint, anchor, anchor - window, anchor + window, None, f"week{week}")
    return out


def _merge(candidates: Sequence[DueMeasure], policy: ClinicPolicy) -> list[DueMeasure]:
    """Drop each timepoint that falls within the merge distance of a higher-ranked one of the same instrument."""
    gap = timedelta(hours=policy.measure_merge_hours)
    kept: list[DueMeasure] = []
    for candidate in sorted(candidates, key=lambda d: (RANK[d.timepoint], d.due_at)):
        if any(k.instrument == candidate.instrument and abs(k.due_at - candidate.due_at) < gap for k in kept):
            continue
        kept.append(candidate)
    return kept


_rule = AreaRules("measurement")
_rule(
    "timepoints",
    "When questionnaires are due",
    "Baseline before session 1; before each later session (from ClinicPolicy.measure_pre_session_open_hours before "
    "it until it starts); measure_post_dose_early_hours (24 h) and measure_post_dose_late_days (7 days) after each "
    "dose; every measure_induction_interval_days (7) during induction and every measure_maintenance_interval_days "
    "(14) in maintenance, counted from session 1. Schedules follow the sessions that stand: a moved session moves its "
    "measures, a cancelled one drops them.",
    (
        cite("R10", "24 h primary outcome"),
        cite("R12", "ratings before and after each infusion"),
        cite("R45", "weekly assessments in induction, every 1–2 weeks in maintenance"),
        cite("R11", "median 18 days to relapse"),
    ),
    Evidence.POLICY,
    note="No source prescribes a clinic measurement schedule; this mirrors the trial visit schedules.",
)
_rule(
    "merge",
    "One questionnaire for coinciding timepoints",
    "Timepoints of one instrument closer than ClinicPolicy.measure_merge_hours (12 h) are asked once; the "
    "higher-ranked timepoint stays (baseline, pre-session, 24 h, 7 days, weekly, fortnightly, periodic).",
    (cite("R35", "PHQ-9 recall: past 2 weeks"),),
    Evidence.POLICY,
    note="A questionnaire answered twice within hours adds burden, not information.",
)
_rule(
    "sets.depression",
    "Depression measures",
    "TRD, MDSI and other depression courses: PHQ-9 and the C-SSRS screener at every timepoint, QIDS-SR16 at "
    "baseline, weekly and fortnightly, clinician-rated MADRS at baseline and before each session (the patient is in "
    "the clinic).",
    (
        cite("R35", "PHQ-9"),
        cite("R37", "QIDS-SR16"),
        cite("R38", "MADRS clinician-rated"),
        cite("R39", "C-SSRS screener at every contact"),
    ),
    Evidence.POLICY,
    note="The C-SSRS screener goes with every depression measure so a positive PHQ-9 item 9 is triaged at once.",
)
_rule(
    "sets.other",
    "Measures for other indications",
    "Anxiety: GAD-7 at every timepoint. PTSD: PCL-5 at baseline, weekly and fortnightly. OCD: clinician Y-BOCS at "
    "baseline and before each session, only where the clinic holds a licence. Chronic pain: NRS at every "
    "timepoint. Migraine: MIDAS and alcohol use: AUDIT at baseline and every measure_periodic_interval_days (90).",
    (
        cite("R36", "GAD-7"),
        cite("R40", "PCL-5"),
        cite("R41", "Y-BOCS: licence required for EMR use"),
        cite("R43", "MIDAS 3-month recall"),
        cite("R42", "AUDIT past-year recall"),
    ),
    Evidence.POLICY,
)
_rule(
    "delivery",
    "Who answers",
    "Patient-reported instruments, and the self-report form of the C-SSRS screener, go to the patient through the "
    "portal; clinician-rated instruments (MADRS, Y-BOCS) are filled in by staff.",
    (cite("R39", "C-SSRS screener self-report use"), cite("R38", "MADRS clinician-rated")),
    Evidence.POLICY,
)
