"""The documents a clinic sends about a course: the progress letter to the referring clinician and the
end-of-induction summary. Both are built from the chart (doses, the course's measure, decisions) and rendered to PDF
by WeasyPrint.

The course's measure is the dashboard's (:mod:`ketaclinic.outcomes.definitions`): the PHQ-9 for depression, the GAD-7
for anxiety. Response status is ``clinical.classify_trajectory`` on that series against its baseline; "end of
induction" and the baseline are the dashboard's definitions, read from the course's freshly recomputed rollup so the
letter and the dashboard never disagree. A course whose indication has no primary outcome (PTSD, OCD, …) gets its own
instrument charted and the reason it is not evaluable, never a response status.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone

from ketaclinic.clinical import DEFAULT_POLICY, Instrument, get_instrument
from ketaclinic.clinical.outcomes import REMISSION_SETTINGS, Assessment, Trajectory, classify_trajectory
from ketaclinic.courses.models import Course
from ketaclinic.outcomes import definitions
from ketaclinic.outcomes.models import CourseOutcome, SessionOutcome
from ketaclinic.outcomes.rollup import refresh_courses
from ketaclinic.reports.trajectory import trajectory_svg


class NotReady(ValueError):
    """The document cannot be written yet (e.g. the induction has not ended); the message says why."""


@dataclass(frozen=True)
class CourseReport:
    course: Course
    outcome: CourseOutcome
    sessions: list[SessionOutcome]
    scores: list[tuple[dt.datetime, int]]
    trajectory: Trajectory | None
    chart: str
    decisions: list[Any]
    upcoming: list[Any]
    #: The instrument charted: the course's measure, or the instrument of an indication without one.
    instrument: Instrument
    #: Why response is not judged (the indication has no primary outcome); ``None`` when it is.
    not_evaluable: str | None


def _refuse_fetching(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    # Reports are built from our own templates only; nothing may be fetched (no SSRF, no file reads).
    raise ValueError(f"report PDFs load no external resources (refused {url[:60]!r})")


def course_report(course: Course) -> CourseReport:
    """Everything a letter says about ``course``, read once."""
    from ketaclinic.measures.models import QuestionnaireResponse
    from ketaclinic.scheduling.models import Appointment

    refresh_courses([course.pk])
    outcome = CourseOutcome.objects.get(course_id=course.pk)
    sessions = list(SessionOutcome.objects.filter(course_id=course.pk).order_by("sequence"))
    since = (outcome.first_dose_at or course.opened_at) - definitions.BASELINE_LOOKBACK
    instrument = get_instrument(outcome.instrument or definitions.charted_instrument(course.indication))
    responses = QuestionnaireResponse.objects.filter(
        patient_id=course.patient_id, instrument=instrument.id, total__isnull=False, completed_at__gte=since
    )
    if course.ended_at:
        responses = responses.filter(completed_at__lte=course.ended_at)
    scores = [
        (at, int(total or 0))
        for at, total in responses.order_by("completed_at", "id").values_list("completed_at", "total")
    ]
    trajectory = None
    follow_up = [Assessment(at, s) for at, s in scores if outcome.first_dose_at and at > outcome.first_dose_at]
    if outcome.instrument and outcome.baseline_score is not None and follow_up:
        trajectory = classify_trajectory(outcome.instrument, outcome.baseline_score, follow_up)
    lines = []
    if outcome.instrument and outcome.baseline_score:
        reduction = DEFAULT_POLICY.response_reduction_pct / 100
        lines.append((outcome.baseline_score * (1 - reduction), "response"))
    if outcome.instrument:
        lines.append((float(getattr(DEFAULT_POLICY, REMISSION_SETTINGS[outcome.instrument])), "remission"))
    total_range = instrument.total_range or (0, 27)
    chart = trajectory_svg(
        scores,
        [s.dosed_at for s in sessions],
        maximum=total_range[1],
        label=f"{instrument.name} over time; dashed lines are dosing sessions",
        lines=lines,
    )
    upcoming = list(
        Appointment.objects.filter(course_ref=course.pk, status="booked", starts_at__gte=timezone.now()).order_by(
            "starts_at"
        )[:6]
    )
    decisions = list(course.decisions.order_by("-decided_at", "-id")[:3])
    reason = outcome.not_evaluable_reason
    return CourseReport(course, outcome, sessions, scores, trajectory, chart, decisions, upcoming, instrument, reason)


def render_pdf(template: str, report: CourseReport, **extra: Any) -> bytes:
    """``template`` rendered with ``report`` in the site's time zone, as PDF bytes."""
    from weasyprint import HTML  # imported here: loading WeasyPrint is slow and only reports need it

    course = report.course
    setting = REMISSION_SETTINGS.get(report.instrument.id)
    with timezone.override(course.site.zone):
        html = render_to_string(
            template,
            {
                "report": report,
                "course": course,
                "patient": course.patient,
                "site": course.site,
                "instrument": report.instrument,
                "today": timezone.localdate(),
                "response_pct": DEFAULT_POLICY.response_reduction_pct,
                "remission_max": getattr(DEFAULT_POLICY, setting) if setting else None,
                "lookback_days": definitions.BASELINE_LOOKBACK.days,
                "window_days": definitions.END_OF_INDUCTION_WINDOW.days,
                **extra,
            },
        )
    pdf: bytes = HTML(string=html, url_fetcher=_refuse_fetching).write_pdf()
    return pdf


def progress_letter(course: Course, *, recipient: str, plan: str, by: Any) -> bytes:
    """The progress letter for ``recipient`` (default: the patient's referring clinician)."""
    report = course_report(course)
    if not report.sessions:
        raise NotReady("No dose has been given in this course yet, so there is no progress to report.")
    return render_pdf("reports/pdf/progress_letter.html", report, recipient=recipient, plan=plan, author=by)


def end_of_induction_summary(course: Course, *, by: Any) -> bytes:
    """The end-of-induction summary; refused until the course has reached the end of its induction."""
    report = course_report(course)
    if report.outcome.eoi_at is None:
        raise NotReady(
            f"The induction has not ended: {report.outcome.sessions} of {course.planned_induction_sessions} "
            "induction sessions have been given."
        )
    return render_pdf("reports/pdf/end_of_induction.html", report, author=by)
