"""The measures demo: the demo courses get months of answered questionnaires along realistic trajectories (rapid
responder, relapse flagged for review, non-responder, partial responder); twice adds nothing."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from ketaclinic.accounts import demo as accounts_demo
from ketaclinic.courses import demo as courses_demo
from ketaclinic.courses.models import Course
from ketaclinic.measures import demo
from ketaclinic.measures.models import MeasureDue, QuestionnaireResponse
from ketaclinic.measures.trajectory import load_trajectories
from ketaclinic.patients import demo as patients_demo
from ketaclinic.scheduling import demo as scheduling_demo
from ketaclinic.screening import demo as screening_demo
from ketaclinic.tasks.models import Task

WEDNESDAY = dt.datetime(2026, 12, 2, 20, 0, tzinfo=dt.UTC)


def quiet(_message: str) -> None:
    return None


def test_it_answers_the_demo_courses_questionnaires_along_their_trajectories(db: None) -> None:
    with time_machine.travel(WEDNESDAY, tick=False):
        said: list[str] = []
        demo.seed(said.append)
        assert said == ["  measures: no demo courses; run the courses demo first"]
        for module in (accounts_demo, patients_demo, screening_demo, scheduling_demo, courses_demo):
            module.seed(quiet)
        demo.seed(said.append)
        count = QuestionnaireResponse.objects.count()
        demo.seed(quiet)
        assert QuestionnaireResponse.objects.count() == count  # idempotent
    courses = {c.protocol + ":" + c.status: c for c in Course.objects.select_related("patient")}
    status = {}
    for key, course in courses.items():
        series = load_trajectories(course.patient).get("phq9")
        status[key] = series.status.value if series and series.status else None
    assert status["ketamine_iv_standard:maintenance"] == "loss of response"
    assert status["ketamine_im:paused"] == "non-responder"
    induction = load_trajectories(courses["ketamine_iv_standard:induction"].patient).get("phq9")
    assert induction is not None
    assert status["ketamine_iv_standard:induction"] in ("responder", "remitter"), (
        [(p.at.isoformat(), p.score) for p in induction.points],
        induction.sessions,
    )
    single = courses["ketamine_intranasal_racemic:completed"]
    base = MeasureDue.objects.get(course=single, key="baseline:course:phq9").response
    week = MeasureDue.objects.filter(course=single, instrument="phq9", timepoint="post_7d").get().response
    assert base is not None and week is not None and base.total and week.total is not None
    assert 0.25 <= (base.total - week.total) / base.total < 0.5  # partial response a week after the single dose
    maintenance = courses["ketamine_iv_standard:maintenance"]
    phq9 = QuestionnaireResponse.objects.filter(patient=maintenance.patient, instrument="phq9")
    first = phq9.order_by("completed_at").first()
    assert first is not None and (WEDNESDAY - first.completed_at).days > 90  # months of history
    assert Task.objects.filter(kind=Task.Kind.COURSE_REVIEW, patient=maintenance.patient).count() == 1
    assert MeasureDue.objects.filter(course=maintenance, response__isnull=False).count() > 20
    assert (
        not Task.objects.filter(kind=Task.Kind.SUICIDE_RISK)
        .exclude(patient__in=[c.patient for c in courses.values()])
        .count()
        > 1
    )
    assert not Task.objects.filter(kind=Task.Kind.SUICIDE_RISK, patient__in=[c.patient for c in courses.values()])
    assert any("relapse" in line for line in said)


@pytest.mark.parametrize("instrument", ["phq9", "qids_sr16", "madrs", "gad7", "cssrs_screener"])
def test_synthetic_answers_score_and_keep_suicide_items_at_zero(instrument: str) -> None:
    from ketaclinic import clinical

    for fraction in (0.0, 0.3, 0.7, 1.0):
        score = clinical.score(instrument, demo.answers_for(instrument, fraction))
        assert not score.flags
    assert demo.curve("steady", 20, -1) == 20
