"""A patient's measures over time, per instrument: points, dosing sessions, baseline, response and remission lines,
status (``clinical.classify_trajectory``), and change since baseline and since the last session.

:func:`load_trajectories` reads everything in ONE statement whatever the number of responses — a typed ``UNION ALL``
(:mod:`ketaclinic.typed_union`) of the patient, their scored responses, their unscored screens (C-SSRS), their
courses and the sessions of the latest course — so the trajectory page stays within its query budget.
:func:`access_trajectories` folds the access check into that same statement for the page: the patient branch is the
only one that checks the reader's sites, and without its row the page falls back to ``access_patient``, which answers
404 or 403 and audits the refusal exactly as everywhere else.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet, Subquery, TextField
from django.db.models.functions import Cast

from ketaclinic import clinical
from ketaclinic.accounts.clinic_policy import clinic_policy
from ketaclinic.clinical import ClinicPolicy, Instrument, OutcomeStatus
from ketaclinic.measures.models import QuestionnaireResponse
from ketaclinic.patients.access import access_patient, may_read_chart, record_chart_read
from ketaclinic.patients.models import Patient
from ketaclinic.scheduling.models import Appointment
from ketaclinic.typed_union import TypedUnion, instance

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


UNION = TypedUnion(("kind", "ref", "at", "at2", "n1", "s1", "s2", "s3", "s4", "s5"))
#: The patient's fields the union reads (the rest are deferred: the page shows the name only).
PATIENT_FIELDS = ("mrn", "legal_first_name", "legal_last_name", "preferred_name", "status")


def trajectory_query(patient_id: int, site_ids: list[int], only: str | None = None) -> QuerySet[Any]:
    """The one ``UNION ALL`` query of :func:`load_trajectories` (unevaluated). Only the patient branch checks the
    site; the caller throws the other rows away when it is missing."""
    from ketaclinic.courses.models import Course

    responses = QuestionnaireResponse.objects.filter(patient_id=patient_id)
    if only is not None:
        responses = responses.filter(instrument=only)
    courses = Course.objects.filter(patient_id=patient_id)
    latest = courses.order_by("-opened_at", "-id").values("pk")[:1]
    branches = [
        UNION.branch(
            Patient.objects.filter(pk=patient_id, site_id__in=site_ids),
            "patient",
            ref="pk",
            n1="site_id",
            **{f"s{i}": name for i, name in enumerate(PATIENT_FIELDS, start=1)},
        ),
        UNION.branch(
            responses.filter(total__isnull=False),
            "point",
            ref="pk",
            at="completed_at",
            n1="total",
            s1="instrument",
            s2="respondent",
        ),
        UNION.branch(
            responses.filter(total__isnull=True),
            "screen",
            ref="pk",
            at="completed_at",
            s1="instrument",
            s2="respondent",
            s3="band",
            s4=Cast("flags", TextField()),
            s5=Cast("answers", TextField()),
        ),
        UNION.branch(courses, "course", ref="pk", at="opened_at", at2="started_at", n1="site_id", s1="status"),
        UNION.branch(
            Appointment.objects.filter(
                Q(course_ref=Subquery(latest)), patient_id=patient_id, status__in=SESSION_STATUSES
            ),
            "session",
            ref="pk",
            at="starts_at",
        ),
    ]
    first, *rest = branches
    return first.union(*rest, all=True)


def trajectory_rows(patient_id: int, site_ids: Sequence[int], only: str | None = None) -> list[tuple[Any, ...]]:
    """The rows of :func:`trajectory_query`, run from its SQL composed once per database, number of sites and
    whether one instrument is asked for."""
    return UNION.rows(trajectory_query, patient_id=patient_id, site_ids=list(site_ids), only=only)


def _patient_from(rows: Sequence[tuple[Any, ...]], sites: Sequence[Any]) -> Patient | None:
    """The patient of the union's patient row with its site from ``sites`` (already loaded), or None."""
    row = next((r for r in rows if r[0] == "patient"), None)
    if row is None:
        return None
    site_id = int(row[4])
    patient: Patient = instance(
        Patient, {"id": int(row[1]), "site_id": site_id, **dict(zip(PATIENT_FIELDS, row[5:], strict=True))}
    )
    patient.site = {s.pk: s for s in sites}[site_id]  # the row was read for one of these sites
    return patient


def build_trajectories(rows: Sequence[tuple[Any, ...]], patient: Any) -> PatientTrajectories:
    """Turn the rows of :func:`trajectory_query` into the patient's trajectories, in the clinic's instrument order."""
    from ketaclinic.courses.models import Course

    points: list[tuple[Any, ...]] = []
    screens: list[tuple[Any, ...]] = []
    courses: list[tuple[Any, ...]] = []
    sessions: list[tuple[dt.datetime, int]] = []
    for row in rows:
        kind = row[0]
        if kind == "point":
            points.append(row)
        elif kind == "screen":
            screens.append(row)
        elif kind == "course":
            courses.append(row)
        elif kind == "session":
            sessions.append((row[2], int(row[1])))
    course = None
    if courses:
        _, ref, opened_at, started_at, site_id, status, *_ = max(courses, key=lambda r: (r[2], int(r[1])))
        course = instance(
            Course,
            {
                "id": int(ref),
                "patient_id": patient.pk,
                "site_id": int(site_id),
                "status": status,
                "opened_at": opened_at,
                "started_at": started_at,
            },
        )
    by_instrument: dict[str, list[Point]] = {}
    for _, ref, at, _, total, instrument, respondent, *_ in sorted(points, key=lambda r: (r[2], int(r[1]))):
        by_instrument.setdefault(instrument, []).append(Point(at, int(total), int(ref), respondent))
    order = list(clinical.INSTRUMENTS)
    starts = [at for at, _ in sorted(sessions)]
    policies: list[ClinicPolicy] = []

    def policy() -> ClinicPolicy:
        # Read once for all the patient's instruments, and only if one of them has response and remission lines.
        if not policies:
            policies.append(clinic_policy(patient.site_id))
        return policies[0]

    series = [
        _build(clinical.get_instrument(i), found, starts, course, policy)
        for i, found in sorted(by_instrument.items(), key=lambda kv: order.index(kv[0]))
    ]
    unscored = [
        instance(
            QuestionnaireResponse,
            {
                "id": int(ref),
                "instrument": instrument,
                "total": None,
                "band": band,
                "flags": json.loads(flags),
                "completed_at": at,
                "respondent": respondent,
                "answers": json.loads(answers),
            },
        )
        for _, ref, at, _, _, instrument, respondent, band, flags, answers in sorted(
            screens, key=lambda r: (r[2], int(r[1]))
        )
    ]
    return PatientTrajectories(course, starts, series, unscored)


def load_trajectories(patient: Any, *, only: str | None = None) -> PatientTrajectories:
    """Every instrument with a total the patient (already accessed) has answered, in the clinic's instrument order,
    read in one statement; ``only`` keeps one instrument."""
    return build_trajectories(trajectory_rows(patient.pk, [patient.site_id], only), patient)


def access_trajectories(user: Any, patient_id: int, sites: Sequence[Any], *, audit_as: str) -> tuple[Patient, Any]:
    """The patient ``patient_id`` and their trajectories, if ``user`` may read the clinical chart and the patient is
    at one of ``sites`` (the user's sites, as the middleware loaded them): one statement and the audit row.

    Any other case — no such patient, another site, a role without the chart — goes to ``access_patient``, which
    answers 404 or 403 and audits the refusal as it does for every patient page (and, should it find the patient
    after all, the trajectories are read for the patient it returns).
    """
    site_ids = [s.pk for s in sites] if may_read_chart(user) else []
    if site_ids:
        rows = trajectory_rows(patient_id, site_ids)
        patient = _patient_from(rows, sites)
        if patient is not None:
            record_chart_read(patient, audit_as=audit_as)
            return patient, build_trajectories(rows, patient)
    patient = access_patient(user, patient_id, audit_as=audit_as)
    return patient, load_trajectories(patient)


def _build(
    instrument: Instrument,
    points: list[Point],
    sessions: list[dt.datetime],
    course: Any,
    policy: Callable[[], ClinicPolicy],
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
        the_policy = policy()
        series.response_line = baseline.score * (1 - the_policy.response_reduction_pct / 100)
        change = clinical.classify_change(instrument, baseline.score, baseline.score, policy=the_policy)
        series.remission_line = change.remission_threshold
        if after:
            assessments = [clinical.Assessment(p.at, p.score) for p in after]
            series.trajectory = clinical.classify_trajectory(instrument, baseline.score, assessments, policy=the_policy)
    return series
