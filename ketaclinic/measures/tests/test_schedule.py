"""Stored schedules follow the course's real sessions: booked series, a moved session, a cancelled one; regeneration
is idempotent and answered rows are never touched."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction

from ketaclinic.conftest import Cast
from ketaclinic.courses import actions
from ketaclinic.courses.models import Course
from ketaclinic.courses.tests.conftest import (  # noqa: F401 — fixtures
    NOW,
    clinic,
    eligible,
    frozen_clock,
    iv_course,
)
from ketaclinic.measures.actions import record_response
from ketaclinic.measures.models import MeasureDue
from ketaclinic.measures.schedule import SyncResult, open_due, sync_schedule
from ketaclinic.scheduling.models import Appointment

pytestmark = pytest.mark.django_db

MONDAY = dt.date(2026, 10, 26)
NINE = dt.time(9)


def book_induction(course: Course, by: object) -> list[Appointment]:
    plan = actions.plan_phase(course, phase="induction", start_date=MONDAY, preferred_time=NINE)
    return actions.book_plan(course, plan, by=by)


def rows(course: Course) -> dict[str, MeasureDue]:
    return {d.key: d for d in MeasureDue.objects.filter(course=course)}


def test_an_open_course_without_sessions_has_its_baseline_due(iv_course: Course) -> None:  # noqa: F811
    result = sync_schedule(iv_course)
    assert result.created == 4
    stored = rows(iv_course)
    assert set(stored) == {f"baseline:course:{i}" for i in ("phq9", "cssrs_screener", "qids_sr16", "madrs")}
    assert all(d.closes_at is None and d.patient_id == iv_course.patient_id for d in stored.values())
    assert {d.instrument for d in open_due(iv_course.patient, NOW, delivery="portal")} == {
        "phq9",
        "cssrs_screener",
        "qids_sr16",
    }


def test_booking_moving_and_cancelling_sessions_moves_and_drops_their_measures(
    iv_course: Course,  # noqa: F811
    clinic: Cast,  # noqa: F811
) -> None:
    booked = book_induction(iv_course, clinic.coordinator)
    sync_schedule(iv_course)
    before = rows(iv_course)
    first, second = booked[0], booked[1]
    assert before["baseline:course:phq9"].due_at == first.starts_at
    assert before[f"pre_session:{second.pk}:phq9"].due_at == second.starts_at
    assert before[f"post_24h:{first.pk}:phq9"].due_at == first.starts_at + dt.timedelta(hours=24)
    assert before[f"pre_session:{second.pk}:madrs"].delivery == "clinic"
    # Regenerating with nothing changed changes nothing.
    assert sync_schedule(iv_course) == SyncResult(0, 0, 0)

    new_start = second.starts_at + dt.timedelta(hours=2)
    actions.move_session(iv_course, second, new_start=new_start, by=clinic.coordinator)
    result = sync_schedule(iv_course)
    assert result.moved >= 2 and result.dropped == 0
    after = rows(iv_course)
    assert after[f"pre_session:{second.pk}:phq9"].due_at == new_start
    assert after[f"pre_session:{second.pk}:phq9"].pk == before[f"pre_session:{second.pk}:phq9"].pk

    third = booked[2]
    actions.cancel_session(iv_course, Appointment.objects.get(pk=third.pk), by=clinic.coordinator, reason="Flu")
    result = sync_schedule(iv_course)
    assert result.dropped > 0
    assert not [k for k in rows(iv_course) if f":{third.pk}:" in k]


def test_an_answered_measure_is_kept_when_its_session_is_cancelled(iv_course: Course, clinic: Cast) -> None:  # noqa: F811
    booked = book_induction(iv_course, clinic.coordinator)
    sync_schedule(iv_course)
    due = MeasureDue.objects.get(course=iv_course, key=f"pre_session:{booked[1].pk}:madrs")
    record_response(iv_course.patient, "madrs", [2] * 10, respondent="clinician", channel="clinic", due=due)
    actions.cancel_session(iv_course, Appointment.objects.get(pk=booked[1].pk), by=clinic.coordinator, reason="Ill")
    sync_schedule(iv_course)
    due.refresh_from_db()
    assert due.response is not None and due.response.course_id == iv_course.pk


def test_a_saved_course_appointment_regenerates_the_schedule_after_commit(
    iv_course: Course,  # noqa: F811
    clinic: Cast,  # noqa: F811
    django_capture_on_commit_callbacks: object,
) -> None:
    booked = book_induction(iv_course, clinic.coordinator)
    sync_schedule(iv_course)
    second = booked[1]
    new_start = second.starts_at + dt.timedelta(hours=1)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        actions.move_session(iv_course, second, new_start=new_start, by=clinic.coordinator)
    assert rows(iv_course)[f"pre_session:{second.pk}:phq9"].due_at == new_start


def test_an_unrelated_appointment_does_not_touch_schedules(
    iv_course: Course,  # noqa: F811
    django_capture_on_commit_callbacks: object,
) -> None:
    from ketaclinic.measures.schedule import _appointment_saved

    with django_capture_on_commit_callbacks() as callbacks:
        _appointment_saved(Appointment, Appointment(course_ref=None))
    assert callbacks == []
    from ketaclinic.measures.schedule import _sync_course_id

    _sync_course_id(999999)  # a deleted course: nothing to do, no error
    assert not MeasureDue.objects.exists()


def test_answering_a_due_measure_marks_it_done_and_a_resend_stores_once(iv_course: Course) -> None:  # noqa: F811
    sync_schedule(iv_course)
    due = MeasureDue.objects.get(course=iv_course, instrument="phq9")
    first = record_response(iv_course.patient, "phq9", [1] * 9, respondent="patient", channel="portal", due=due)
    again = record_response(iv_course.patient, "phq9", [2] * 9, respondent="patient", channel="portal", due=due)
    assert first.pk == again.pk and first.total == 9
    due.refresh_from_db()
    assert due.response_id == first.pk and due.state_at(NOW) == "done"
    with pytest.raises(ValueError, match="instrument: this due questionnaire is phq9"):
        record_response(iv_course.patient, "gad7", [0] * 7, respondent="patient", channel="portal", due=due)


def test_due_states() -> None:
    row = MeasureDue(
        opens_at=NOW,
        due_at=NOW + dt.timedelta(hours=1),
        closes_at=NOW + dt.timedelta(hours=2),
        instrument="phq9",
        timepoint="baseline",
    )
    assert row.state_at(NOW - dt.timedelta(minutes=1)) == "upcoming"
    assert row.state_at(NOW) == "open" and row.is_open_at(NOW)
    assert row.state_at(NOW + dt.timedelta(hours=2)) == "missed" and not row.is_open_at(NOW + dt.timedelta(hours=3))
    assert row.instrument_name == "PHQ-9"
    assert str(row) == "phq9 Baseline (2026-10-21)"
