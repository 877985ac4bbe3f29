"""Planning against the site, booking a series in one step, moving a session and replanning, missed sessions."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied

from ketaclinic.accounts.models import ClosedDay
from ketaclinic.audit.models import AuditEvent
from ketaclinic.courses import actions, sessions
from ketaclinic.courses.actions import CourseError, RemsEnrolmentRequired
from ketaclinic.courses.models import CourseDecision, MissedSession
from ketaclinic.courses.tests.conftest import NOW, enrol_rems
from ketaclinic.scheduling.actions import BookingConflict, StaleAppointmentError, cancel_appointment, move_appointment
from ketaclinic.scheduling.models import Appointment, AppointmentType, StaffShift
from ketaclinic.tasks.models import Task

MONDAY = dt.date(2026, 10, 26)
NINE = dt.time(9)
D = CourseDecision.Decision


def book_induction(course, by, start=MONDAY, at=NINE):
    plan = actions.plan_phase(
        course, phase=course.clinical_protocol.phases[0].name, start_date=start, preferred_time=at
    )
    return plan, actions.book_plan(course, plan, by=by)


def local(appointment):
    return f"{appointment.starts_at.astimezone(appointment.site.zone):%a %Y-%m-%d %H:%M}"


# --- Planning against the site -------------------------------------------------------------------------------------


def test_it_plans_in_the_site_time_zone_around_closed_days(iv_course, clinic):
    ClosedDay.objects.create(site=clinic.site_a, date=dt.date(2026, 10, 30), reason="Staff training")
    plan = actions.plan_phase(iv_course, phase="induction", start_date=MONDAY, preferred_time=NINE)
    assert plan.ok
    assert plan.appointment_type == "ketamine_iv"
    assert plan.duration_min == 70
    assert plan.zone == "America/Chicago"
    days = [f"{s.start:%a %m-%d %H:%M %z}" for s in plan.sessions]
    assert days == [
        "Mon 10-26 09:00 -0500",
        "Wed 10-28 09:00 -0500",
        "Sat 10-31 09:00 -0500",  # Friday closed for training: the next open day that keeps 48 h
        "Mon 11-02 09:00 -0600",  # after the DST change, still 09:00 on the clinic's clock
        "Wed 11-04 09:00 -0600",
        "Fri 11-06 09:00 -0600",
    ]
    assert "Staff training" in plan.sessions[2].note


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"start_date": dt.date(2026, 10, 20)}, "start_date", "2026-10-20 is in the past"),
        ({"preferred_time": dt.time(9, 10)}, "preferred_time", "09:10 is not on a quarter hour"),
        ({"phase": "booster"}, "phase", "'booster' is not a phase"),
        ({"weekdays": [0, 1, 2, 3]}, "weekdays", "allows at most 3 session(s) a week"),
        ({"phase": "maintenance"}, "phase", "the course has no session yet"),
    ],
)
def test_it_refuses_bad_plans_naming_the_field(iv_course, kwargs, field, message):
    arguments = {"phase": "induction", "start_date": MONDAY, "preferred_time": NINE, **kwargs}
    with pytest.raises(CourseError) as caught:
        actions.plan_phase(iv_course, **arguments)
    assert caught.value.field == field
    assert message in caught.value.message


def test_it_says_when_the_clinic_has_no_appointment_type_for_the_route(iv_course):
    AppointmentType.objects.filter(route="iv").update(active=False)
    with pytest.raises(CourseError) as caught:
        actions.plan_phase(iv_course, phase="induction", start_date=MONDAY, preferred_time=NINE)
    assert caught.value.field == "appointment_type"
    assert "no dosing appointment type for 'iv'" in caught.value.message


def test_it_plans_what_the_phase_still_needs(iv_course, clinic):
    plan = actions.plan_phase(iv_course, phase="induction", start_date=MONDAY, preferred_time=NINE, count=2)
    actions.book_plan(iv_course, plan, by=clinic.coordinator)
    rest = actions.plan_phase(iv_course, phase="induction", start_date=dt.date(2026, 10, 29), preferred_time=NINE)
    assert len(rest.sessions) == 4
    assert rest.first_number == 3
    actions.book_plan(iv_course, rest, by=clinic.coordinator)
    with pytest.raises(CourseError, match="every session of the induction phase is already booked"):
        actions.plan_phase(iv_course, phase="induction", start_date=dt.date(2026, 11, 9), preferred_time=NINE)
    maintenance = actions.plan_phase(
        iv_course, phase="maintenance", start_date=dt.date(2026, 11, 9), preferred_time=NINE
    )
    assert [f"{s.start:%m-%d}" for s in maintenance.sessions] == ["11-16", "11-23", "11-30", "12-07"]
    assert maintenance.first_number == 7


# --- Booking -------------------------------------------------------------------------------------------------------


def test_the_coordinator_books_the_induction_series_in_one_step(iv_course, clinic):
    _, booked = book_induction(iv_course, clinic.coordinator)
    assert [a.sequence_number for a in booked] == [1, 2, 3, 4, 5, 6]
    assert {a.course_ref for a in booked} == {iv_course.pk}
    assert {a.appointment_type.code for a in booked} == {"ketamine_iv"}
    assert [local(a) for a in booked][:2] == ["Mon 2026-10-26 09:00", "Wed 2026-10-28 09:00"]
    event = AuditEvent.objects.get(object_type="courses.course", detail__event="sessions_booked")
    assert event.detail["appointments"] == [a.pk for a in booked]
    assert sessions.next_sequence_number(iv_course) == 7
    assert sessions.upcoming(iv_course) == booked[0]
    assert sessions.sessions_held(iv_course) == 0


def test_the_prescriber_may_book_too_but_not_the_therapist(iv_course, clinic):
    plan = actions.plan_phase(iv_course, phase="induction", start_date=MONDAY, preferred_time=NINE)
    with pytest.raises(PermissionDenied):
        actions.book_plan(iv_course, plan, by=clinic.therapist)
    assert actions.book_plan(iv_course, plan, by=clinic.prescriber)


def test_it_refuses_to_book_esketamine_without_rems_enrolment(esk_course, clinic):
    plan = actions.plan_phase(esk_course, phase="induction", start_date=MONDAY, preferred_time=NINE)
    preview = actions.preview_booking(esk_course, plan)
    assert preview.rems_missing and not preview.ok
    with pytest.raises(RemsEnrolmentRequired, match="REMS enrolment is not recorded for this patient"):
        actions.book_plan(esk_course, plan, by=clinic.coordinator)
    assert not Appointment.objects.exists()
    enrol_rems(esk_course.patient, clinic)
    booked = actions.book_plan(esk_course, plan, by=clinic.coordinator)
    assert len(booked) == 8
    assert [f"{a.starts_at.astimezone(clinic.site_a.zone):%a}" for a in booked][:4] == ["Mon", "Thu", "Mon", "Thu"]


def test_it_refuses_to_book_a_paused_or_stopped_course(iv_course, clinic):
    plan = actions.plan_phase(iv_course, phase="induction", start_date=MONDAY, preferred_time=NINE)
    actions.start_course(iv_course, by=clinic.nurse)
    actions.record_decision(iv_course, decision=D.PAUSE, reason="Holiday", by=clinic.prescriber)
    with pytest.raises(CourseError, match="the course is paused: resume it"):
        actions.book_plan(iv_course, plan, by=clinic.coordinator)
    actions.record_decision(iv_course, decision=D.STOP, reason="Moved away", by=clinic.prescriber)
    with pytest.raises(CourseError, match="the course is stopped; nothing can be booked"):
        actions.book_plan(iv_course, plan, by=clinic.coordinator)


def test_it_refuses_chosen_times_that_break_the_spacing(iv_course, clinic):
    zone = clinic.site_a.zone
    monday = dt.datetime(2026, 10, 26, 9, tzinfo=zone)
    plan = actions.plan_from_starts(iv_course, "induction", [monday, monday + dt.timedelta(days=1)])
    assert plan.sessions[1].course_week == 1
    preview = actions.preview_booking(iv_course, plan)
    assert "Only 24.0 h" in preview.spacing_by_start[monday + dt.timedelta(days=1)][0]
    with pytest.raises(CourseError) as caught:
        actions.book_plan(iv_course, plan, by=clinic.coordinator)
    assert caught.value.field == "starts"
    assert "Tue 2026-10-27 09:00 breaks the protocol" in caught.value.message
    with pytest.raises(CourseError, match="choose at least one session time"):
        actions.plan_from_starts(iv_course, "induction", [])
    with pytest.raises(CourseError, match="'x' is not a phase"):
        actions.plan_from_starts(iv_course, "x", [monday])


def test_it_refuses_an_empty_plan(iv_course, clinic):
    plan = actions.plan_phase(iv_course, phase="induction", start_date=MONDAY, preferred_time=NINE)
    empty = actions.planning.SeriesPlan(
        plan.protocol, plan.phase, plan.zone, 0, (), (), (), None, 70, plan.appointment_type
    )
    with pytest.raises(CourseError, match="the plan has no sessions to book"):
        actions.book_plan(iv_course, empty, by=clinic.coordinator)
    assert actions.preview_booking(iv_course, empty).ok


def test_it_shows_conflicts_with_alternatives_that_keep_the_spacing(iv_course, clinic):
    # No nurse on Wednesday 28 October: that session cannot be booked.
    zone = clinic.site_a.zone
    wednesday = dt.date(2026, 10, 28)
    StaffShift.objects.filter(
        role_on_shift="nurse", starts_at__date__gte=wednesday, starts_at__date__lt=wednesday + dt.timedelta(days=1)
    ).delete()
    plan = actions.plan_phase(iv_course, phase="induction", start_date=MONDAY, preferred_time=NINE)
    preview = actions.preview_booking(iv_course, plan)
    refused = dt.datetime(2026, 10, 28, 9, tzinfo=zone)
    assert not preview.ok
    assert list(preview.conflicts_by_start) == [refused]
    offered = [f"{s.start.astimezone(zone):%a %H:%M}" for s in preview.alternatives_by_start[refused]]
    # Tuesday or Thursday would be < 48 h from Monday or Friday: only spacing-valid times are offered.
    assert offered
    for slot in preview.alternatives_by_start[refused]:
        others = [s for s in plan.starts if s != refused]
        check = actions.planning.spacing_check(
            actions.effective_protocol(iv_course), others, slot.start, course_start=plan.starts[0], zone=zone
        )
        assert check.ok, offered

    with pytest.raises(BookingConflict) as caught:
        actions.book_plan(iv_course, plan, by=clinic.coordinator)
    assert "cannot be booked" in caught.value.message
    assert caught.value.alternatives == preview.alternatives_by_start[refused]
    assert not Appointment.objects.exists()  # all or nothing


# --- Moving --------------------------------------------------------------------------------------------------------


def test_moving_a_session_rechecks_the_rest_across_the_dst_change(iv_course, clinic):
    _, booked = book_induction(iv_course, clinic.coordinator)
    zone = clinic.site_a.zone
    third = booked[2]  # Friday 30 October 09:00 CDT
    saturday = dt.datetime(2026, 10, 31, 11, 30, tzinfo=zone)
    replan = actions.move_session(iv_course, third, new_start=saturday, by=clinic.coordinator)
    third.refresh_from_db()
    assert local(third) == "Sat 2026-10-31 11:30"
    assert replan.moved.pk == third.pk
    # Saturday 11:30 CDT → Monday 09:00 CST is 46.5 hours of wall clock but 46.5 + 1 = 47.5 hours elapsed.
    assert [i.appointment.sequence_number for i in replan.to_move] == [4]
    item = replan.to_move[0]
    assert "Only 46.5 h" in item.problems[0] or "Only 47.5 h" in item.problems[0]
    assert item.alternatives
    assert all(s.start.astimezone(zone) >= saturday + dt.timedelta(hours=48) for s in item.alternatives)
    assert not replan.ok
    assert [i.appointment.sequence_number for i in replan.items] == [3, 4, 5, 6]


def test_moving_within_the_spacing_needs_no_more_moves(iv_course, clinic):
    _, booked = book_induction(iv_course, clinic.coordinator)
    zone = clinic.site_a.zone
    replan = actions.move_session(
        iv_course, booked[2], new_start=dt.datetime(2026, 10, 30, 14, tzinfo=zone), by=clinic.coordinator
    )
    assert replan.ok and replan.to_move == []


def test_it_refuses_a_move_too_close_to_an_earlier_session(iv_course, clinic):
    _, booked = book_induction(iv_course, clinic.coordinator)
    zone = clinic.site_a.zone
    with pytest.raises(CourseError) as caught:
        actions.move_session(
            iv_course, booked[2], new_start=dt.datetime(2026, 10, 29, 9, tzinfo=zone), by=clinic.coordinator
        )
    assert caught.value.field == "new_start"
    assert "Only 24.0 h" in caught.value.message
    # Thursday and Tuesday are too close to Wednesday and Monday; Saturday keeps 48 h on both sides.
    assert "Nearest valid times: Sat 2026-10-31 09:00, Mon 2026-11-09 09:00" in caught.value.message
    booked[2].refresh_from_db()
    assert local(booked[2]) == "Fri 2026-10-30 09:00"


def test_it_refuses_a_move_before_the_course_started(iv_course, clinic):
    _, booked = book_induction(iv_course, clinic.coordinator)
    actions.start_course(iv_course, by=clinic.nurse, at=booked[0].starts_at)
    with pytest.raises(CourseError, match="before the start of the course"):
        actions.move_session(
            iv_course, booked[1], new_start=booked[0].starts_at - dt.timedelta(days=1), by=clinic.coordinator
        )


def test_it_refuses_stale_and_foreign_moves(iv_course, clinic, eligible):
    _, booked = book_induction(iv_course, clinic.coordinator)
    with pytest.raises(StaleAppointmentError):
        actions.move_session(
            iv_course,
            booked[5],
            new_start=booked[5].starts_at + dt.timedelta(days=3),
            by=clinic.coordinator,
            expected_version=booked[5].version + 1,
        )
    other = Appointment(pk=10**6, course_ref=iv_course.pk + 1, patient_id=iv_course.patient_id)
    with pytest.raises(CourseError, match="not a session of the course"):
        actions.move_session(iv_course, other, new_start=booked[5].starts_at, by=clinic.coordinator)
    with pytest.raises(PermissionDenied):
        actions.move_session(iv_course, booked[5], new_start=booked[5].starts_at, by=clinic.nurse)


# --- Missed and cancelled sessions ---------------------------------------------------------------------------------


def test_a_cancelled_iv_session_leaves_the_series_going(iv_course, clinic):
    _, booked = book_induction(iv_course, clinic.coordinator)
    missed = actions.cancel_session(iv_course, booked[1], by=clinic.coordinator, reason="Car broke down")
    assert missed.kind == MissedSession.Kind.CANCELLED
    assert missed.rule == "protocols.session_spacing"
    assert missed.course_week == 1 and missed.phase == "induction"
    assert missed.guidance.startswith("The series continues")
    assert "keep the spacing" in missed.guidance
    assert missed.suggestion.startswith("Induction now has 5 of 6 sessions")
    assert str(missed) == "Cancelled session 2 (2026-10-28)"
    assert actions.record_missed_session(iv_course, booked[1], by=clinic.coordinator) == missed
    assert AuditEvent.objects.filter(object_type="courses.missedsession", action="create").count() == 1
    with pytest.raises(CourseError, match="reason: say why"):
        actions.cancel_session(iv_course, booked[2], by=clinic.coordinator, reason="")


def test_it_names_sessions_a_missed_one_leaves_crowded(iv_course, clinic):
    _, booked = book_induction(iv_course, clinic.coordinator)
    # Someone moved session 5 in the schedule screens, straight into session 6's 48 hours.
    move_appointment(booked[4], new_start=booked[5].starts_at - dt.timedelta(hours=24), by=clinic.coordinator)
    cancelled = cancel_appointment(booked[0], by=clinic.coordinator, reason="Unwell")
    assert [a.pk for a in actions.needs_missed_rule(iv_course)] == [booked[0].pk]
    missed = actions.record_missed_session(iv_course, cancelled, by=clinic.nurse)
    assert "1 of them now break the spacing and need moving" in missed.guidance
    assert actions.needs_missed_rule(iv_course) == []


def test_it_refuses_to_record_a_session_that_still_stands(iv_course, clinic):
    _, booked = book_induction(iv_course, clinic.coordinator)
    with pytest.raises(CourseError, match="only a cancelled or missed"):
        actions.record_missed_session(iv_course, booked[0], by=clinic.nurse)
    with pytest.raises(CourseError, match="no-show can be recorded once the appointment time has begun"):
        actions.mark_session_missed(iv_course, booked[0], by=clinic.nurse)


def test_a_missed_esketamine_induction_session_continues_the_schedule(esk_course, clinic, frozen_clock):
    enrol_rems(esk_course.patient, clinic)
    _, booked = book_induction(esk_course, clinic.coordinator)
    frozen_clock.move_to(booked[2].starts_at + dt.timedelta(minutes=30))
    missed = actions.mark_session_missed(esk_course, booked[2], by=clinic.nurse)
    assert missed.kind == MissedSession.Kind.MISSED
    assert missed.rule == "protocols.esketamine_missed_dose"
    assert missed.course_week == 2
    assert "continue the current twice-weekly schedule; no catch-up dose" in missed.guidance
    assert missed.suggestion == ""


@pytest.mark.parametrize(
    ("worsening", "suggestion", "task"),
    [
        (True, "consider returning to the previous, more frequent schedule", True),
        (None, "Ask whether the patient is worse", False),
        (False, "", False),
    ],
)
def test_a_missed_esketamine_maintenance_session_suggests_the_previous_frequency(
    esk_course, clinic, frozen_clock, worsening, suggestion, task
):
    enrol_rems(esk_course.patient, clinic, at=NOW - dt.timedelta(weeks=6))
    actions.start_course(esk_course, by=clinic.nurse, at=NOW - dt.timedelta(weeks=5))
    actions.record_decision(esk_course, decision=D.MOVE_TO_MAINTENANCE, reason="Responder", by=clinic.prescriber)
    plan = actions.plan_phase(
        esk_course, phase="maintenance weekly", start_date=dt.date(2026, 10, 26), preferred_time=NINE, count=1
    )
    (booked,) = actions.book_plan(esk_course, plan, by=clinic.coordinator)
    frozen_clock.move_to(booked.starts_at + dt.timedelta(hours=1))
    missed = actions.mark_session_missed(esk_course, booked, by=clinic.coordinator, worsening=worsening)
    assert missed.course_week == 6 and missed.phase == "maintenance weekly"
    assert "Missed during maintenance (course week 6): continue the current schedule" in missed.guidance
    assert suggestion in missed.suggestion
    if not suggestion:
        assert missed.suggestion == ""
    tasks = Task.objects.filter(patient=esk_course.patient, source_type="courses.missed_session")
    assert tasks.exists() is task


def test_the_therapist_cannot_record_a_missed_session(iv_course, clinic):
    _, booked = book_induction(iv_course, clinic.coordinator)
    with pytest.raises(PermissionDenied):
        actions.cancel_session(iv_course, booked[0], by=clinic.therapist, reason="x")


def test_it_offers_no_alternatives_when_the_site_never_opens(iv_course, clinic):
    _, booked = book_induction(iv_course, clinic.coordinator)
    atype = booked[0].appointment_type
    assert len(actions._candidate_starts(iv_course, atype, booked[0].starts_at, [])) == actions.ALTERNATIVE_CANDIDATES
    clinic.site_a.opening_hours.all().delete()
    assert actions._valid_alternatives(iv_course, atype, booked[0].starts_at, []) == []


def test_a_missed_session_with_its_replacement_booked_needs_nothing_more(iv_course, clinic):
    _, booked = book_induction(iv_course, clinic.coordinator)
    cancelled = cancel_appointment(booked[1], by=clinic.coordinator, reason="Unwell")
    replacement = actions.plan_phase(iv_course, phase="induction", start_date=dt.date(2026, 11, 9), preferred_time=NINE)
    assert len(replacement.sessions) == 1 and replacement.first_number == 7
    actions.book_plan(iv_course, replacement, by=clinic.coordinator)
    missed = actions.record_missed_session(iv_course, cancelled, by=clinic.nurse)
    assert missed.suggestion == ""


def test_a_missed_iv_maintenance_session_only_rechecks_the_spacing(iv_course, clinic):
    actions.start_course(iv_course, by=clinic.nurse, at=NOW - dt.timedelta(weeks=4))
    plan = actions.plan_phase(
        iv_course, phase="maintenance", start_date=dt.date(2026, 10, 26), preferred_time=NINE, count=2
    )
    booked = actions.book_plan(iv_course, plan, by=clinic.coordinator)
    missed = actions.cancel_session(iv_course, booked[0], by=clinic.coordinator, reason="Work trip")
    assert missed.phase == "maintenance"
    assert missed.rule == "protocols.session_spacing"
    assert missed.suggestion == ""
