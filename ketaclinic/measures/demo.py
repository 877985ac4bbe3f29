"""Demo measures: months of synthetic questionnaires with realistic trajectories for the demo courses.

Each demo course's schedule is generated from its sessions (``sync_schedule``), then every questionnaire due in the
past is answered through ``record_response`` with a score drawn from the course's trajectory type:

* IV induction this week: a rapid responder (PHQ-9 about halves within days);
* IV in maintenance: remission, then symptoms return over the last weeks (loss of response: the course is flagged
  for a booster / review by the real rule);
* IM course paused: a non-responder;
* single intranasal dose completed: a partial responder;
* anything else: a steady responder.

Before each course, monthly PHQ-9s from the months of waiting and screening show a stable high baseline. Suicide
items are always 0 and every C-SSRS is negative (the patients demo already has the one positive screen).
Deterministic (``random.Random`` seeded with the patient's MRN, dates relative to the day of seeding) and idempotent:
a course seeded before is left alone. Runs after the courses demo (``RUN_AFTER``).
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.utils import timezone

from ketaclinic import clinical
from ketaclinic.measures.actions import record_response
from ketaclinic.measures.models import MeasureDue, QuestionnaireResponse
from ketaclinic.measures.schedule import course_sessions, sync_schedule

RUN_AFTER = "courses"
SITE = "riverside"
#: The item whose answer is about suicide, kept at 0 in synthetic data.
SUICIDE_ITEMS = {"phq9": "q9", "qids_sr16": "q12", "madrs": "q10"}
PHQ9_MAX = 27
PRE_COURSE_MONTHS = 4


def curve(kind: str, baseline: int, days: float) -> float:
    """The PHQ-9-scale score ``days`` after session 1 for a trajectory type."""
    if days < 0:
        return baseline
    if kind == "rapid":
        return baseline * (0.2 + 0.8 * math.exp(-days / 0.7))
    if kind == "relapse":
        well = baseline * (0.15 + 0.85 * math.exp(-days / 4))
        return well if days < 24 else min(baseline * 0.85, well + (days - 24) * 0.75)
    if kind == "non_responder":
        return baseline * (1 - 0.12 * min(days / 10, 1))
    if kind == "partial":
        return baseline * (0.58 + 0.42 * math.exp(-days / 3))
    return baseline * (0.4 + 0.6 * math.exp(-days / 5))


def kind_for(course: Any) -> str:
    if course.status == "maintenance":
        return "relapse"
    if course.status == "paused":
        return "non_responder"
    if course.status == "completed":
        return "partial"
    if course.protocol == "ketamine_iv_standard":
        return "rapid"
    return "steady"


def answers_for(instrument: str, fraction: float) -> dict[str, Any]:
    """Item answers whose total is about ``fraction`` of the instrument's maximum, spread over its domains."""
    definition = clinical.get_instrument(instrument)
    if definition.total_range is None:  # the C-SSRS screener: negative
        return {"q1": False, "q2": False, "q6": False}
    suicide = SUICIDE_ITEMS.get(instrument)
    answers: dict[str, Any] = {i.id: min(i.options) for i in definition.items if i.scored and i.asked_when is None}
    domains = [d for d in definition.scoring_domains if d[0] != suicide]
    top = {d[0]: int(max(definition.item(d[0]).options)) for d in domains}
    target = round(fraction * definition.total_range[1])
    total = 0
    while total < target and any(answers[d[0]] < top[d[0]] for d in domains):
        for domain in domains:
            if total >= target:
                break
            if answers[domain[0]] < top[domain[0]]:
                answers[domain[0]] += 1
                total += 1
    return answers


def _completed_at(due: MeasureDue, rng: random.Random) -> dt.datetime:
    if due.timepoint == MeasureDue.Timepoint.BASELINE:
        # Demo courses are opened on the day of seeding with sessions dated back: the baseline is the day before.
        return due.due_at - dt.timedelta(hours=rng.randint(16, 30))
    if due.closes_at is not None and due.closes_at == due.due_at:  # before a session: the evening before
        return max(due.opens_at, due.due_at - dt.timedelta(hours=rng.randint(12, 20)))
    return due.due_at + dt.timedelta(hours=rng.randint(1, 8))


def seed_course(course: Any, say: Callable[[str], None]) -> int:
    """Answer the course's past questionnaires along its trajectory type; how many responses were stored."""
    sync_schedule(course)
    if QuestionnaireResponse.objects.filter(submission_key__startswith=f"demo:{course.pk}:").exists():
        return 0  # seeded before
    sessions = course_sessions(course)
    patient = course.patient
    rng = random.Random(patient.mrn)  # noqa: S311 — synthetic demo data, reproducible on purpose
    kind = kind_for(course)
    baseline = rng.randint(17, 23)
    now = timezone.now()
    start = sessions[0].at if sessions else now
    stored = 0
    for month in range(PRE_COURSE_MONTHS, 0, -1):
        at = start - dt.timedelta(days=30 * month + rng.randint(0, 3))
        score = max(0, min(PHQ9_MAX, baseline + rng.randint(-2, 2)))
        record_response(
            patient,
            "phq9",
            answers_for("phq9", score / PHQ9_MAX),
            respondent="patient",
            channel="portal",
            completed_at=at,
            submission_key=f"demo:{course.pk}:month{month}",
        )
        stored += 1
    for due in MeasureDue.objects.filter(course=course, response__isnull=True).order_by("due_at"):
        at = _completed_at(due, rng)
        if at >= now - dt.timedelta(minutes=5):
            continue
        days = (at - start).total_seconds() / 86400
        level = curve(kind, baseline, days) + rng.uniform(-1.2, 1.2)
        fraction = max(0.0, min(1.0, level / PHQ9_MAX))
        instrument = clinical.get_instrument(due.instrument)
        record_response(
            patient,
            due.instrument,
            answers_for(due.instrument, fraction),
            respondent=instrument.respondent.value,
            channel="portal" if due.delivery == "portal" else "clinic",
            completed_at=at,
            due=due,
            by=course.opened_by if due.delivery == "clinic" else None,
        )
        stored += 1
    say(f"  measures {patient.mrn}: {stored} responses ({kind.replace('_', ' ')})")
    return stored


def seed(say: Callable[[str], None]) -> None:
    """Answer the past questionnaires of every demo course (idempotent)."""
    from ketaclinic.courses.models import Course

    courses = list(Course.objects.filter(site__code=SITE).select_related("patient", "site", "opened_by"))
    if not courses:
        say("  measures: no demo courses; run the courses demo first")
        return
    for course in courses:
        with transaction.atomic():
            seed_course(course, say)
