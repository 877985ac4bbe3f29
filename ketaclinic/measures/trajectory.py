"""A patient's measures over time, per instrument: points, dosing sessions, baseline, response and remission lines,
status (``clinical.classify_trajectory``), and change since baseline and since the last session.

:func:`load_trajectories` reads everything in three statements (responses, the latest course, its sessions) whatever
the number of responses, so the trajectory page stays within its query budget.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from ketaclinic import clinical
from ketaclinic.accounts.clinic_policy import clinic_policy
from ketaclinic.clinical import Instrument, OutcomeStatus
from ketaclinic.measures.models import QuestionnaireResponse
from ketaclinic.scheduling.models import Appointment

#: Trajectory status → badge class and plain words for patients.
STATUS_BADGE = {
    OutcomeStatus.REMITTER: "ok",
    OutcomeStatus.RESPONDER: "ok",
    OutcomeStatus.PARTIAL_RESPONDER: "warn",
    OutcomeStatus.NON_RESPONDER: "warn",
    OutcomeStatus.LOSS_OF_RESPONSE: "danger",
    OutcomeStatus.RELAPSE: "danger",
}
PLAIN_STATUS = {
    OutcomeStatus.REMITTER: "your symptoms are in the low range",
    OutcomeStatus.RESPONDER: "your symptoms have gone down by at least half",
    OutcomeStatus.PARTIAL_RESPONDER: "your symptoms have gone down somewhat",
    OutcomeStatus.NON_RESPONDER: "your symptoms have not changed much yet",
    OutcomeStatus.LOSS_OF_RESPONSE: "your symptoms have come back up recently",
    OutcomeStatus.RELAPSE: "your symptoms have come back up recently",
}
SESSION_STATUSES = (Appointment.Status.CHECKED_IN, Appointment.Status.COMPLETED, Appointment.Status.BOOKED)


@dataclass(frozen=True)
class Point:
    at: dt.datetime
    score: int
    response_id: int
    respondent: str


@dataclass
class InstrumentTrajectory:
    """One instrument's series with what the chart and the status line need."""

    instrument: Instrument
    points: list[Point]
    sessions: list[dt.datetime]
    baseline: Point | None = None
    trajectory: clinical.Trajectory | None = None
    since_baseline: int | None = None
    since_baseline_pct: float | None = None
    since_last_session: int | None = None
    response_line: float | None = None
    remission_line: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.instrument.id

    @property
    def latest(self) -> Point:
        return self.points[-1]

    @property
    def status(self) -> OutcomeStatus | None:
        return self.trajectory.status if self.trajectory else None

    @property
    def badge(self) -> str:
        return STATUS_BADGE.get(self.status, "") if self.status else ""

    @property
    def plain_status(self) -> str:
        return PLAIN_STATUS.get(self.status, "") if self.status else ""

    @property
    def y_max(self) -> int:
        total_range = self.instrument.total_range
        return total_range[1] if total_range else max(p.score for p in self.points)


@dataclass
class PatientTrajectories:
    course: Any
    sessions: list[dt.datetime]
    instruments: list[InstrumentTrajectory]
    screens: list[QuestionnaireResponse]

    def get(self, instrument: str) -> InstrumentTrajectory | None:
        return next((t for t in self.instruments if t.id == instrument), None)


def load_trajectories(patient: Any, *, only: str | None = None) -> PatientTrajectories:
    """Every instrument with a total the patient has answered, in the clinic's instrument order (three queries)."""
    from ketaclinic.courses.models import Course

    rows = QuestionnaireResponse.objects.filter(patient=patient)
    if only is not None:
        rows = rows.filter(instrument=only)
    responses = list(
        rows.order_by("completed_at", "id").only(
            "id", "instrument", "total", "band", "flags", "completed_at", "respondent", "answers"
        )
    )
    course = Course.objects.filter(patient=patient).order_by("-opened_at", "-id").first()
    sessions: list[dt.datetime] = []
    if course is not None:
        sessions = list(
            Appointment.objects.filter(course_ref=course.pk, patient=patient, status__in=SESSION_STATUSES)
            .order_by("starts_at")
            .values_list("starts_at", flat=True)
        )
    by_instrument: dict[str, list[Point]] = {}
    screens = []
    for r in responses:
        if r.total is None:
            screens.append(r)
            continue
        by_instrument.setdefault(r.instrument, []).append(Point(r.completed_at, r.total, r.pk, r.respondent))
    order = list(clinical.INSTRUMENTS)
    series = [
        _build(clinical.get_instrument(i), points, sessions, course, patient.site_id)
        for i, points in sorted(by_instrument.items(), key=lambda kv: order.index(kv[0]))
    ]
    return PatientTrajectories(course, sessions, series, screens)


def _build(
    instrument: Instrument, points: list[Point], sessions: list[dt.datetime], course: Any, site_id: int
) -> InstrumentTrajectory:
    series = InstrumentTrajectory(instrument, points, sessions)
    start = sessions[0] if sessions else (course.started_at if course is not None else None)
    before = [p for p in points if start is not None and p.at < start]
    baseline = before[-1] if before else points[0]
    series.baseline = baseline
    if not before:
        series.notes.append("No score before session 1: the first score is used as the baseline.")
    after = [p for p in points if p.at > baseline.at]
    latest = points[-1]
    series.since_baseline = latest.score - baseline.score
    if baseline.score:
        series.since_baseline_pct = (baseline.score - latest.score) / baseline.score * 100
    last_session = max((s for s in sessions if s <= latest.at), default=None)
    if last_session is not None:
        reference = [p for p in points if p.at <= last_session]
        if reference and reference[-1] is not latest:
            series.since_last_session = latest.score - reference[-1].score
    outcome = instrument.higher_is_worse and instrument.total_range is not None
    if outcome and baseline.score:
        the_policy = clinic_policy(site_id)
        series.response_line = baseline.score * (1 - the_policy.response_reduction_pct / 100)
        change = clinical.classify_change(instrument, baseline.score, baseline.score, policy=the_policy)
        series.remission_line = change.remission_threshold
        if after:
            assessments = [clinical.Assessment(p.at, p.score) for p in after]
            series.trajectory = clinical.classify_trajectory(instrument, baseline.score, assessments, policy=the_policy)
    return series
