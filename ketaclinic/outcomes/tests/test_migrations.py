"""Migration 0002: existing rollup rows get the instrument they were computed on, or are cleared and queued."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from ketaclinic.outcomes.models import CourseOutcome, RefreshQueue

BEFORE = [("outcomes", "0001_initial")]
AFTER = [("outcomes", "0002_course_instrument")]


@pytest.mark.django_db(transaction=True)
def test_it_labels_depression_rows_phq9_and_queues_the_others_for_a_recompute() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps.get_model("outcomes", "CourseOutcome")
    at = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
    common = {"site_id": 1, "protocol": "ketamine_iv_standard", "route": "iv", "status": "completed"}
    judged = {"baseline_score": 18, "eoi_at": at, "eoi_score": 6, "eoi_response": True, "eoi_remission": False}
    for course_id, indication in ((1, "trd"), (2, "mdsi"), (3, "anxiety"), (4, "ptsd")):
        old.objects.create(course_id=course_id, patient_id=10 + course_id, indication=indication, **common, **judged)
    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    rows = {r.course_id: r for r in CourseOutcome.objects.all()}
    assert {c: r.instrument for c, r in rows.items()} == {1: "phq9", 2: "phq9", 3: "", 4: ""}
    assert (rows[1].eoi_response, rows[2].baseline_score) == (True, 18)  # PHQ-9 figures of PHQ-9 courses kept
    for course_id in (3, 4):  # PHQ-9 figures that no longer describe these courses are gone until recomputed
        row = rows[course_id]
        assert (row.baseline_score, row.eoi_score, row.eoi_response, row.eoi_remission) == (None, None, None, None)
        assert row.eoi_at == at
    queued = RefreshQueue.objects.values_list("patient_id", "response_id")
    assert sorted(queued) == [(13, None), (14, None)]
