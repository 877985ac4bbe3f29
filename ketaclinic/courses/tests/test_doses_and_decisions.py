"""Dose orders (bounds and audited overrides), starting a course (REMS hard stop), decisions and response evidence."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied

from ketaclinic.audit.models import AuditEvent
from ketaclinic.courses import actions
from ketaclinic.courses.actions import (
    CourseError,
    DoseOutOfBounds,
    RemsEnrolmentRequired,
    StaleCourseError,
    WeightRequired,
    allowed_decisions,
    effective_protocol,
    open_course,
    order_dose,
    record_decision,
    review_due,
    review_status,
    start_course,
)
from ketaclinic.courses.models import Course, CourseDecision, ImmutableRecordError
from ketaclinic.courses.tests.conftest import NOW, enrol_rems
from ketaclinic.measures.actions import record_response
from ketaclinic.patients.actions import remove_entry
from ketaclinic.patients.models import BodyMeasurement, Patient
from ketaclinic.scheduling.models import Appointment

D = CourseDecision.Decision


def phq9(patient, total, at):
    """A PHQ-9 adding up to ``total`` (item 9 always 0), completed at ``at``."""
    answers = [0] * 9
    remaining = total
    for item in range(8):
        answers[item] = min(3, remaining)
        remaining -= answers[item]
    assert remaining == 0
    return record_response(patient, "phq9", answers, respondent="patient", channel="portal", completed_at=at)


def madrs(patient, total, at, by):
    answers = [0] * 10
    remaining = total
    for item in range(10):
        answers[item] = min(6, remaining)
        remaining -= answers[item]
    return record_response(patient, "madrs", answers, respondent="clinician", channel="clinic", by=by, completed_at=at)


# --- Dose orders ---------------------------------------------------------------------------------------------------


def test_it_orders_a_new_dose_that_supersedes_the_last(iv_course, cast):
    before = iv_course.version
    order = order_dose(iv_course, by=cast.prescriber, mg_per_kg=0.75, reason="Partial response at 0.5 mg/kg")
    assert order.amount_mg == Decimal("60.0")
    assert order.mg_per_kg == Decimal("0.750")
    assert order.effective_from_session == 1  # nothing held yet: from the next session, the first
    assert iv_course.current_dose_order() == order
    assert iv_course.dose_orders.count() == 2
    assert iv_course.version == before + 1
    assert AuditEvent.objects.filter(action="create", object_type="courses.doseorder", object_id=order.pk).exists()
    assert not AuditEvent.objects.filter(action="override").exists()


def test_it_orders_from_a_later_session(iv_course, cast):
    order = order_dose(iv_course, by=cast.prescriber, mg_per_kg=0.6, reason="Titrate", effective_from_session=3)
    assert order.effective_from_session == 3


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"mg_per_kg": 0.6, "reason": "  "}, "reason", "say why"),
        ({"amount_mg": 40, "reason": "x"}, "amount_mg", "not used by ketamine_iv_standard; order mg_per_kg"),
        ({"reason": "x"}, "mg_per_kg", "enter the dose"),
        ({"mg_per_kg": 0, "reason": "x"}, "mg_per_kg", "0 mg/kg is outside 0–2 mg/kg"),
        ({"mg_per_kg": 2.1, "reason": "x", "override_reason": "a very long reason indeed"}, "mg_per_kg", "no override"),
        ({"mg_per_kg": 0.6, "reason": "x", "effective_from_session": 1001}, "effective_from_session", "from 1 to"),
        ({"mg_per_kg": 1.2, "reason": "x"}, "mg_per_kg", "1.2 is outside the allowed range 0.1–1 mg/kg"),
        ({"mg_per_kg": 1.2, "reason": "x", "override_reason": "short"}, "override_reason", "at least 20"),
    ],
)
def test_it_refuses_orders_naming_the_field(iv_course, cast, kwargs, field, message):
    with pytest.raises(CourseError) as caught:
        order_dose(iv_course, by=cast.prescriber, **kwargs)
    assert caught.value.field == field
    assert message in caught.value.message
    assert iv_course.dose_orders.count() == 1


def test_it_names_the_allowed_ranges_when_outside_the_course_bounds(cast, eligible, clinic):
    patient = eligible(route="iv")
    course = open_course(
        patient, protocol="ketamine_iv_standard", indication="trd", by=cast.prescriber, min_bound=0.4, max_bound=0.75
    )
    with pytest.raises(DoseOutOfBounds) as caught:
        order_dose(course, by=cast.prescriber, mg_per_kg=0.8, reason="Titrate up")
    assert caught.value.field == "mg_per_kg"
    assert "outside the course's titration bounds 0.4–0.75 mg/kg" in caught.value.message
    assert "(protocol 0.1–1 mg/kg, course 0.4–0.75 mg/kg)" in caught.value.message


def test_it_accepts_an_override_with_its_reason_and_audits_it(iv_course, cast):
    order = order_dose(
        iv_course,
        by=cast.prescriber,
        mg_per_kg=1.2,
        reason="Titrate above the range",
        override_reason="No response at 1.0 mg/kg; discussed risks with the patient.",
    )
    assert order.amount_mg == Decimal("96.0")  # 1.2 × 80 kg, computed outside the clinical core's range
    assert order.duration_min == Decimal("40.0")
    assert order.is_override
    event = AuditEvent.objects.get(action="override", object_type="courses.doseorder")
    assert event.detail == {"rules": ["protocol", "titration_bounds"]}
    assert event.object_id == str(order.pk)


def test_it_needs_a_weight_for_a_per_kg_order(iv_course, cast):
    for row in BodyMeasurement.objects.filter(patient=iv_course.patient):
        remove_entry(row, by=cast.nurse, reason="entered in error")
    with pytest.raises(WeightRequired):
        order_dose(iv_course, by=cast.prescriber, mg_per_kg=0.6, reason="x")


def test_it_follows_the_esketamine_label_for_orders(esk_course, cast):
    with pytest.raises(DoseOutOfBounds, match="84 mg is not allowed on day 1"):
        order_dose(esk_course, by=cast.prescriber, amount_mg=84, reason="x")
    with pytest.raises(CourseError, match="30 mg is not a whole number of 28-mg esketamine devices"):
        order_dose(esk_course, by=cast.prescriber, amount_mg=30, reason="x")
    with pytest.raises(CourseError) as caught:
        order_dose(esk_course, by=cast.prescriber, mg_per_kg=0.5, reason="x")
    assert caught.value.field == "mg_per_kg"
    order = order_dose(esk_course, by=cast.prescriber, amount_mg=84, reason="Tolerated 56 mg", effective_from_session=2)
    assert order.amount_mg == Decimal("84.0") and order.devices == 3
    overridden = order_dose(
        esk_course,
        by=cast.prescriber,
        amount_mg=28,
        reason="Dissociation",
        override_reason="Severe dissociation at 56 mg; trial 28 mg.",
        effective_from_session=3,
    )
    assert overridden.devices == 1
    assert overridden.is_override


def test_it_refuses_orders_from_other_roles_and_on_ended_courses(iv_course, cast):
    with pytest.raises(PermissionDenied):
        order_dose(iv_course, by=cast.nurse, mg_per_kg=0.6, reason="x")
    record_decision(iv_course, decision=D.STOP, reason="Patient withdrew", by=cast.prescriber)
    with pytest.raises(CourseError, match="the course is stopped; no further orders"):
        order_dose(iv_course, by=cast.prescriber, mg_per_kg=0.6, reason="x")


# --- Starting ------------------------------------------------------------------------------------------------------


def test_it_starts_induction_and_puts_the_patient_in_treatment(iv_course, cast):
    course = start_course(iv_course, by=cast.nurse)
    assert course.status == Course.Status.INDUCTION
    assert course.started_at == NOW
    assert iv_course.status == Course.Status.INDUCTION  # the caller's object is refreshed
    patient = Patient.objects.get(pk=iv_course.patient_id)
    assert patient.status == Patient.Status.IN_TREATMENT
    with pytest.raises(CourseError, match="the course is induction, not planned"):
        start_course(iv_course, by=cast.nurse)


def test_it_does_not_touch_a_patient_already_in_treatment(cast, eligible):
    patient = eligible(route="iv")
    actions.set_status(patient, Patient.Status.IN_TREATMENT, by=cast.prescriber)
    course = open_course(patient, protocol="ketamine_iv_standard", indication="trd", by=cast.prescriber)
    before = patient.history.count()
    start_course(course, by=cast.prescriber)
    assert patient.history.count() == before


def test_it_refuses_the_coordinator_to_start_a_course(iv_course, cast):
    with pytest.raises(PermissionDenied):
        start_course(iv_course, by=cast.coordinator)


def test_it_stops_esketamine_without_rems_enrolment(esk_course, cast):
    with pytest.raises(RemsEnrolmentRequired) as caught:
        start_course(esk_course, by=cast.nurse)
    assert caught.value.field == "rems"
    assert "SPRAVATO REMS enrolment is not recorded" in caught.value.message
    esk_course.refresh_from_db()
    assert esk_course.status == Course.Status.PLANNED
    assert actions.rems_enrolment(esk_course) is None

    consent = enrol_rems(esk_course.patient, cast)
    assert actions.rems_enrolment(esk_course) == consent
    assert start_course(esk_course, by=cast.nurse).status == Course.Status.INDUCTION


def test_it_stops_esketamine_when_the_enrolment_was_revoked(esk_course, cast):
    consent = enrol_rems(esk_course.patient, cast)
    consent.revoked_at = NOW - dt.timedelta(hours=1)
    consent.revoked_reason = "Patient withdrew from REMS"
    consent.save()
    with pytest.raises(RemsEnrolmentRequired):
        start_course(esk_course, by=cast.nurse)


def test_it_needs_no_rems_for_racemic_ketamine(iv_course):
    assert actions.rems_enrolment(iv_course) is None
    actions.ensure_rems(iv_course)


# --- Decisions -----------------------------------------------------------------------------------------------------


def test_it_moves_through_the_course_with_reasons(iv_course, cast):
    start_course(iv_course, by=cast.nurse)
    continued = record_decision(iv_course, decision=D.CONTINUE, reason="Improving", by=cast.prescriber)
    assert (continued.from_status, continued.to_status) == ("induction", "induction")
    moved = record_decision(iv_course, decision=D.MOVE_TO_MAINTENANCE, reason="Responder", by=cast.prescriber)
    assert iv_course.status == Course.Status.MAINTENANCE
    assert moved.to_status == "maintenance"
    assert Patient.objects.get(pk=iv_course.patient_id).status == Patient.Status.MAINTENANCE
    record_decision(iv_course, decision=D.TAPER, reason="Stable for 8 weeks", by=cast.prescriber)
    record_decision(iv_course, decision=D.PAUSE, reason="Travelling for a month", by=cast.prescriber)
    assert iv_course.status == Course.Status.PAUSED
    assert iv_course.paused_from == Course.Status.MAINTENANCE
    record_decision(iv_course, decision=D.RESUME, reason="Back", by=cast.prescriber)
    assert iv_course.status == Course.Status.MAINTENANCE
    assert iv_course.paused_from == ""
    done = record_decision(iv_course, decision=D.COMPLETE, reason="Remission held", by=cast.prescriber)
    assert iv_course.status == Course.Status.COMPLETED
    assert iv_course.ended_at == NOW
    assert done.decided_by == cast.prescriber
    assert str(done) == "Complete the course at session 0"
    assert list(iv_course.decisions.values_list("decision", flat=True)) == [
        "complete",
        "resume",
        "pause",
        "taper",
        "move_to_maintenance",
        "continue",
    ]
    assert allowed_decisions(iv_course) == []


def test_it_refuses_illegal_transitions_with_the_allowed_ones(iv_course, cast):
    with pytest.raises(ValueError, match="cannot move to maintenance a course that is planned; allowed: stop"):
        record_decision(iv_course, decision=D.MOVE_TO_MAINTENANCE, reason="x", by=cast.prescriber)
    record_decision(iv_course, decision=D.STOP, reason="Changed mind", by=cast.prescriber)
    with pytest.raises(CourseError, match=r"allowed: none \(the course has ended\)"):
        record_decision(iv_course, decision=D.RESUME, reason="x", by=cast.prescriber)
    with pytest.raises(CourseError, match="'restart' is not one of"):
        record_decision(iv_course, decision="restart", reason="x", by=cast.prescriber)


def test_it_needs_a_reason_and_a_prescriber(iv_course, cast):
    start_course(iv_course, by=cast.nurse)
    with pytest.raises(CourseError) as caught:
        record_decision(iv_course, decision=D.CONTINUE, reason="   ", by=cast.prescriber)
    assert caught.value.field == "reason"
    with pytest.raises(PermissionDenied):
        record_decision(iv_course, decision=D.CONTINUE, reason="x", by=cast.nurse)


def test_it_refuses_a_stale_decision(iv_course, cast):
    with pytest.raises(StaleCourseError):
        record_decision(iv_course, decision=D.STOP, reason="x", by=cast.prescriber, expected_version=99)
    record_decision(iv_course, decision=D.STOP, reason="x", by=cast.prescriber, expected_version=iv_course.version)


def test_it_extends_induction_and_shifts_the_later_phases(iv_course, cast):
    start_course(iv_course, by=cast.nurse)
    with pytest.raises(CourseError, match="extra_sessions: extend induction by 1 to 8 sessions"):
        record_decision(iv_course, decision=D.EXTEND_INDUCTION, reason="Partial", by=cast.prescriber)
    record_decision(
        iv_course, decision=D.EXTEND_INDUCTION, reason="Partial response", by=cast.prescriber, extra_sessions=3
    )
    assert iv_course.planned_induction_sessions == 9
    assert iv_course.review_points == [4, 6, 9]
    induction, maintenance = effective_protocol(iv_course).phases
    assert (induction.total_sessions, induction.last_week) == (9, 5)  # 3 extra at ≥ 2 a week: 2 more weeks
    assert maintenance.first_week == 6


def test_it_offers_no_maintenance_where_the_protocol_has_none(cast, eligible, clinic):
    patient = eligible(route="esketamine_nasal", indication="mdsi")
    course = open_course(patient, protocol="esketamine_mdsi", indication="mdsi", by=cast.prescriber)
    enrol_rems(patient, cast)
    start_course(course, by=cast.nurse)
    assert D.MOVE_TO_MAINTENANCE not in allowed_decisions(course)
    assert D.COMPLETE in allowed_decisions(course)
    with pytest.raises(CourseError, match="cannot move to maintenance a course that is induction"):
        record_decision(course, decision=D.MOVE_TO_MAINTENANCE, reason="x", by=cast.prescriber)


def test_it_resumes_a_paused_induction(iv_course, cast):
    start_course(iv_course, by=cast.nurse)
    record_decision(iv_course, decision=D.PAUSE, reason="Unwell with flu", by=cast.prescriber)
    row = record_decision(iv_course, decision=D.RESUME, reason="Recovered", by=cast.prescriber)
    assert (row.from_status, row.to_status) == ("paused", "induction")
    assert Patient.objects.get(pk=iv_course.patient_id).status == Patient.Status.IN_TREATMENT


def test_it_keeps_decisions_immutable(iv_course, cast):
    row = record_decision(iv_course, decision=D.STOP, reason="x", by=cast.prescriber)
    row.reason = "y"
    with pytest.raises(ImmutableRecordError):
        row.save()


def test_it_cancels_the_future_sessions_of_a_stopped_course(iv_course, clinic):
    plan = actions.plan_phase(
        iv_course, phase="induction", start_date=dt.date(2026, 10, 26), preferred_time=dt.time(10)
    )
    booked = actions.book_plan(iv_course, plan, by=clinic.coordinator)
    start_course(iv_course, by=clinic.nurse)
    record_decision(iv_course, decision=D.STOP, reason="Intolerable nausea", by=clinic.prescriber)
    statuses = set(Appointment.objects.filter(pk__in=[a.pk for a in booked]).values_list("status", "cancel_reason"))
    assert statuses == {("cancelled", "Course stopped: Intolerable nausea")}
    assert actions.needs_missed_rule(iv_course) == []


# --- Response evidence ---------------------------------------------------------------------------------------------


def test_it_has_no_evidence_before_the_course_starts(iv_course):
    status = review_status(iv_course)
    assert not status.has_evidence
    assert status.message == "Not enough measures yet: the course has not started."
    assert status.as_evidence() == {"instrument": None, "status": None, "message": status.message}
    assert status.instrument_name == ""


def test_it_says_what_measures_are_missing(iv_course, cast):
    start_course(iv_course, by=cast.nurse)
    patient = iv_course.patient
    assert review_status(iv_course).message == "Not enough measures yet: no PHQ-9 or MADRS recorded."
    phq9(patient, 18, NOW - dt.timedelta(days=2))
    assert "no PHQ-9 since session 1" in review_status(iv_course).message


def test_it_needs_a_baseline_before_session_1(iv_course, cast):
    start_course(iv_course, by=cast.nurse)
    phq9(iv_course.patient, 9, NOW + dt.timedelta(days=3))
    status = review_status(iv_course)
    assert "no PHQ-9 baseline before session 1" in status.message
    assert status.assessments and not status.has_evidence


def test_it_classifies_the_response_from_the_baseline(iv_course, cast, frozen_clock):
    patient = iv_course.patient
    phq9(patient, 20, NOW - dt.timedelta(days=3))
    start_course(iv_course, by=cast.nurse)
    phq9(patient, 12, NOW + dt.timedelta(days=4))
    phq9(patient, 8, NOW + dt.timedelta(days=10))
    status = review_status(iv_course)
    assert status.instrument == "phq9" and status.instrument_name == "PHQ-9"
    assert status.trajectory.status.value == "responder"
    evidence = status.as_evidence()
    assert evidence["status"] == "responder"
    assert evidence["baseline"]["score"] == 20
    assert evidence["latest"] == {
        "at": (NOW + dt.timedelta(days=10)).isoformat(),
        "score": 8,
        "percent_change": 60.0,
    }
    assert evidence["assessments"] == 2
    frozen_clock.move_to(NOW + dt.timedelta(days=11))
    row = record_decision(iv_course, decision=D.MOVE_TO_MAINTENANCE, reason="Responder", by=cast.prescriber)
    assert row.evidence["status"] == "responder"


def test_it_falls_back_to_the_madrs(iv_course, cast):
    patient = iv_course.patient
    madrs(patient, 34, NOW - dt.timedelta(days=1), cast.prescriber)
    start_course(iv_course, by=cast.nurse)
    phq9(patient, 7, NOW + dt.timedelta(days=2))  # PHQ-9 without a baseline
    madrs(patient, 10, NOW + dt.timedelta(days=7), cast.prescriber)
    status = review_status(iv_course)
    assert status.instrument == "madrs"
    assert status.trajectory.status.value == "remitter"
    assert status.message.startswith("MADRS")


def test_it_reports_the_review_point_due(iv_course, clinic, frozen_clock):
    plan = actions.plan_phase(iv_course, phase="induction", start_date=dt.date(2026, 10, 26), preferred_time=dt.time(9))
    actions.book_plan(iv_course, plan, by=clinic.coordinator)
    assert review_due(iv_course) is None
    frozen_clock.move_to(dt.datetime(2026, 11, 3, 18, 0, tzinfo=dt.UTC))  # after session 4 (Tue 3 Nov)
    start_course(iv_course, by=clinic.nurse, at=plan.sessions[0].start)
    assert review_due(iv_course) == 4
    record_decision(iv_course, decision=D.CONTINUE, reason="Improving", by=clinic.prescriber)
    assert review_due(iv_course) is None
    frozen_clock.move_to(dt.datetime(2026, 11, 9, 18, 0, tzinfo=dt.UTC))
    assert review_due(iv_course) == 6
