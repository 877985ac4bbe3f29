"""Derive the dashboard's rollups from the clinical record, for chosen courses, for queued patients, or for all.

Each course is read in a handful of set-based queries (courses, doses, per-session aggregates, the instrument's
scores) and classified with the clinical core's definitions: ``clinical.classify_change`` decides response and
remission for each (baseline, score) pair — memoised, since a 0–27 scale has at most 784 of them — and the
loss-of-response count is ``ClinicPolicy.loss_of_response_consecutive``. The rows are then replaced in one
transaction, so a reader sees either the old or the new rollup of a course, never half of it.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from django.db import transaction
from django.db.models import Count, Max, Q
from django.utils import timezone

from ketaclinic.clinical import DEFAULT_POLICY, ClinicPolicy
from ketaclinic.clinical.outcomes import Change, classify_change
from ketaclinic.outcomes import definitions as d
from ketaclinic.outcomes.models import CourseOutcome, RefreshQueue, SessionOutcome

#: Courses recomputed per batch (keeps every IN list well under the databases' parameter limits).
BATCH = 500


@dataclass(frozen=True)
class Dose:
    session_id: int
    at: dt.datetime
    amount_mg: Decimal
    mg_per_kg: Decimal | None


@lru_cache(maxsize=4096)
def _change(baseline: int, score: int, policy: ClinicPolicy) -> Change:
    return classify_change(d.INSTRUMENT, baseline, score, policy=policy)


def benefit(baseline: int, score: int, policy: ClinicPolicy = DEFAULT_POLICY) -> bool:
    """Response or remission of ``score`` against ``baseline``, as ``clinical.classify_trajectory`` counts benefit."""
    change = _change(baseline, score, policy)
    return change.response or change.remission is True


def first_loss_of_response(
    baseline: int, scores: Sequence[tuple[dt.datetime, int]], policy: ClinicPolicy = DEFAULT_POLICY
) -> tuple[int | None, int | None]:
    """Indexes of the first assessment showing benefit and of the first at which response is lost (or ``None``).

    Loss: after benefit, ``policy.loss_of_response_consecutive`` consecutive assessments without it — the first
    prefix of the series that ``clinical.classify_trajectory`` classifies as loss of response (a test checks this).
    """
    first: int | None = None
    run = 0
    for n, (_, score) in enumerate(scores):
        if benefit(baseline, score, policy):
            first = n if first is None else first
            run = 0
        elif first is not None:
            run += 1
            if run == policy.loss_of_response_consecutive:
                return first, n
    return first, None


def _dose_group(dose: Dose) -> tuple[str, Decimal]:
    return ("mg/kg", dose.mg_per_kg) if dose.mg_per_kg is not None else ("mg", dose.amount_mg)


def _end_of_induction(status: str, planned: int, doses: Sequence[Dose]) -> Dose | None:
    if len(doses) >= planned:
        return doses[planned - 1]
    if doses and status in d.ENDED_STATUSES:
        return doses[-1]
    return None


def refresh_courses(course_ids: Iterable[int], *, policy: ClinicPolicy = DEFAULT_POLICY) -> int:
    """Recompute the rollups of ``course_ids`` (courses without a dose get a course row and no session rows)."""
    ids = sorted(set(course_ids))
    for start in range(0, len(ids), BATCH):
        _refresh_batch(ids[start : start + BATCH], policy)
    return len(ids)


def _refresh_batch(ids: list[int], policy: ClinicPolicy) -> None:
    from ketaclinic.courses.models import Course
    from ketaclinic.dosing.models import AdverseEvent, DoseAdministration, ScaleObservation, SessionAlert
    from ketaclinic.measures.models import QuestionnaireResponse

    courses = list(
        Course.objects.filter(pk__in=ids)
        .order_by()
        .values_list(
            "id", "patient_id", "site_id", "protocol", "route", "indication", "status",
            "planned_induction_sessions", "ended_at",
        )
    )  # fmt: skip
    doses: dict[int, list[Dose]] = defaultdict(list)
    for course_id, session_id, at, amount, per_kg in (
        DoseAdministration.objects.filter(session__course_ref__in=ids)
        .order_by("started_at", "id")
        .values_list("session__course_ref", "session_id", "started_at", "amount_mg", "mg_per_kg")
    ):
        doses[int(course_id or 0)].append(Dose(session_id, at, amount, per_kg))
    session_ids = [dose.session_id for course in doses.values() for dose in course]
    alerts = {
        row["session_id"]: row
        for row in SessionAlert.objects.filter(session_id__in=session_ids)
        .order_by()
        .values("session_id")
        .annotate(n=Count("id"), urgent=Count("id", filter=Q(level="urgent")))
    }
    events = {
        row["session_id"]: row
        for row in AdverseEvent.objects.filter(session_id__in=session_ids)
        .order_by()
        .values("session_id")
        .annotate(n=Count("id"), serious=Count("id", filter=Q(serious=True)))
    }
    dissociation: dict[int, tuple[str, Decimal]] = {}
    for session_id, instrument, peak in (
        ScaleObservation.objects.filter(session_id__in=session_ids, instrument__in=("cadss", "cadss6"))
        .order_by("instrument")
        .values_list("session_id", "instrument")
        .annotate(peak=Max("total"))
    ):
        dissociation.setdefault(session_id, (instrument, peak))  # full CADSS wins over CADSS-6 if both were taken
    scores: dict[int, list[tuple[dt.datetime, int]]] = defaultdict(list)
    for patient_id, at, total in (
        QuestionnaireResponse.objects.filter(
            patient_id__in={c[1] for c in courses}, instrument=d.INSTRUMENT, total__isnull=False
        )
        .order_by("patient_id", "completed_at", "id")
        .values_list("patient_id", "completed_at", "total")
    ):
        scores[patient_id].append((at, int(total or 0)))  # total__isnull=False

    now = timezone.now()
    course_rows: list[CourseOutcome] = []
    session_rows: list[SessionOutcome] = []
    for course_id, patient_id, site_id, protocol, route, indication, status, planned, ended_at in courses:
        given = doses.get(course_id, [])
        row = CourseOutcome(
            course_id=course_id,
            patient_id=patient_id,
            site_id=site_id,
            protocol=protocol,
            route=route,
            indication=indication,
            status=status,
            sessions=len(given),
            refreshed_at=now,
        )
        course_rows.append(row)
        for sequence, dose in enumerate(given, start=1):
            unit, value = _dose_group(dose)
            alert, event = alerts.get(dose.session_id, {}), events.get(dose.session_id, {})
            instrument, peak = dissociation.get(dose.session_id, ("", None))
            session_rows.append(
                SessionOutcome(
                    session_id=dose.session_id,
                    course_id=course_id,
                    patient_id=patient_id,
                    site_id=site_id,
                    protocol=protocol,
                    route=route,
                    indication=indication,
                    dosed_at=dose.at,
                    sequence=sequence,
                    dose_unit=unit,
                    dose_value=value,
                    alerts=alert.get("n", 0),
                    urgent_alerts=alert.get("urgent", 0),
                    adverse_events=event.get("n", 0),
                    serious_adverse_events=event.get("serious", 0),
                    dissociation_instrument=instrument,
                    dissociation_max=peak,
                )
            )
        if given:
            _classify(row, given, scores.get(patient_id, []), planned, ended_at, policy)

    with transaction.atomic():
        SessionOutcome.objects.filter(course_id__in=ids).delete()
        CourseOutcome.objects.filter(course_id__in=ids).delete()
        CourseOutcome.objects.bulk_create(course_rows, batch_size=BATCH)
        SessionOutcome.objects.bulk_create(session_rows, batch_size=BATCH)


def _classify(
    row: CourseOutcome,
    doses: list[Dose],
    series: list[tuple[dt.datetime, int]],
    planned: int,
    ended_at: dt.datetime | None,
    policy: ClinicPolicy,
) -> None:
    first_dose = doses[0].at
    row.first_dose_at = first_dose
    times = [at for at, _ in series]
    # Baseline: the latest score at or before the first dose, within the look-back.
    upto = bisect_right(times, first_dose)
    baseline = next((s for at, s in reversed(series[:upto]) if at >= first_dose - d.BASELINE_LOOKBACK), None)
    if baseline is None:
        return
    row.baseline_score = baseline
    follow_up = [(at, s) for at, s in series[upto:] if ended_at is None or at <= ended_at]
    eoi = _end_of_induction(row.status, planned, doses)
    if eoi is not None:
        row.eoi_at = eoi.at
        window_end = eoi.at + d.END_OF_INDUCTION_WINDOW
        last = next((s for at, s in reversed(follow_up) if at <= window_end), None)
        if last is not None:
            change = _change(baseline, last, policy)
            row.eoi_score = last
            row.eoi_response = change.response
            row.eoi_remission = change.remission is True
    first, lost = first_loss_of_response(baseline, follow_up, policy)
    if first is None:
        return
    responded_at = follow_up[first][0]
    row.first_response_at = responded_at
    row.sessions_to_response = sum(1 for dose in doses if dose.at <= responded_at)
    end_at = follow_up[lost][0] if lost is not None else follow_up[-1][0]
    row.lost_response = lost is not None
    row.loss_at = follow_up[lost][0] if lost is not None else None
    row.followup_days = (end_at - responded_at).days


def queue_patients(patient_ids: Iterable[int]) -> None:
    """Mark patients' rollups out of date (for bulk writes, which send no signals)."""
    RefreshQueue.objects.bulk_create([RefreshQueue(patient_id=p) for p in set(patient_ids)], batch_size=BATCH)


def refresh_pending(*, policy: ClinicPolicy = DEFAULT_POLICY) -> int:
    """Recompute the courses of every queued patient and clear what was handled; returns the courses refreshed.

    Rows queued while this runs (a higher id) stay queued for the next run.
    """
    from ketaclinic.courses.models import Course

    last = RefreshQueue.objects.order_by("-id").values_list("id", flat=True).first()
    if last is None:
        return 0
    patients = set(RefreshQueue.objects.filter(id__lte=last).values_list("patient_id", flat=True))
    course_ids = list(Course.objects.filter(patient_id__in=patients).values_list("id", flat=True))
    refreshed = refresh_courses(course_ids, policy=policy)
    RefreshQueue.objects.filter(id__lte=last).delete()
    return refreshed


def rebuild_all(*, policy: ClinicPolicy = DEFAULT_POLICY) -> int:
    """Recompute every course's rollups from scratch (after a data load or a change of definitions)."""
    from ketaclinic.courses.models import Course

    last = RefreshQueue.objects.order_by("-id").values_list("id", flat=True).first()
    ids = list(Course.objects.order_by("id").values_list("id", flat=True))
    refreshed = refresh_courses(ids, policy=policy)
    SessionOutcome.objects.exclude(course_id__in=Course.objects.values("id")).delete()
    if last is not None:
        RefreshQueue.objects.filter(id__lte=last).delete()
    return refreshed
