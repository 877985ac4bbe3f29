"""Moving, cancelling, no-shows, check-in and completion: legal transitions, freed slots, versions and audit."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from ketaclinic.audit.models import AuditEvent
from ketaclinic.scheduling.actions import (
    BookingConflict,
    StaleAppointmentError,
    book_appointment,
    cancel_appointment,
    check_in,
    complete_appointment,
    mark_no_show,
    move_appointment,
)
from ketaclinic.scheduling.models import Appointment, Reservation
from ketaclinic.scheduling.tests.conftest import at


@pytest.fixture
def iv(clinic, types, patient, cast) -> Appointment:
    return book_appointment(
        patient=patient, appointment_type=types["ketamine_iv"], start=at("2026-11-02", "10:00"), by=cast.coordinator
    )


def slots_of(appointment: Appointment) -> list[str]:
    return [f"{r.slot_start:%H:%M}" for r in Reservation.objects.filter(appointment=appointment).order_by("slot_start")]


def test_it_moves_an_appointment_and_its_reservations(iv, cast):
    moved = move_appointment(iv, new_start=at("2026-11-03", "14:00"), by=cast.coordinator, expected_version=1)
    assert moved.starts_at == at("2026-11-03", "14:00") and moved.ends_at == at("2026-11-03", "15:10")
    assert moved.version == 2 and moved.resource == iv.resource
    assert slots_of(moved) == ["20:00", "20:15", "20:30", "20:45", "21:00"]  # UTC
    event = AuditEvent.objects.filter(object_type="scheduling.appointment", action="update").get()
    assert event.detail == {"fields": ["starts_at"]}


def test_it_moves_within_its_own_time_without_clashing_with_itself(iv, cast):
    moved = move_appointment(iv, new_start=at("2026-11-02", "10:30"), by=cast.coordinator)
    assert moved.starts_at == at("2026-11-02", "10:30")


def test_it_moves_to_another_chair_when_its_own_is_taken(iv, types, other_patient, cast, chairs):
    book_appointment(
        patient=other_patient,
        appointment_type=types["ketamine_iv"],
        start=at("2026-11-03", "10:00"),
        by=cast.coordinator,
        resource=chairs[0],
    )
    moved = move_appointment(iv, new_start=at("2026-11-03", "10:00"), by=cast.coordinator)
    assert moved.resource == chairs[1]
    assert AuditEvent.objects.filter(action="update").get().detail == {"fields": ["starts_at", "resource"]}


def test_it_moves_to_a_chosen_chair(iv, cast, chairs):
    moved = move_appointment(iv, new_start=at("2026-11-02", "10:00"), by=cast.coordinator, resource=chairs[2])
    assert moved.resource == chairs[2]


def test_it_refuses_a_move_that_conflicts_with_alternatives(iv, types, other_patient, cast):
    book_appointment(
        patient=iv.patient, appointment_type=types["consult"], start=at("2026-11-03", "10:00"), by=cast.coordinator
    )
    with pytest.raises(BookingConflict) as refused:
        move_appointment(iv, new_start=at("2026-11-03", "10:30"), by=cast.coordinator)
    assert refused.value.conflicts == ["patient already booked 10:00–11:00"]
    assert refused.value.alternatives
    iv.refresh_from_db()
    assert iv.starts_at == at("2026-11-02", "10:00") and iv.version == 1
    assert len(slots_of(iv)) == 5


def test_it_refuses_a_stale_move(iv, cast):
    with pytest.raises(StaleAppointmentError, match="changed by someone else"):
        move_appointment(iv, new_start=at("2026-11-03", "10:00"), by=cast.coordinator, expected_version=7)


def test_it_keeps_a_chosen_clinician_when_moving(clinic, types, patient, cast):
    consult = book_appointment(
        patient=patient,
        appointment_type=types["consult"],
        start=at("2026-11-02", "10:00"),
        by=cast.coordinator,
        staff=cast.prescriber,
    )
    moved = move_appointment(consult, new_start=at("2026-11-04", "09:00"), by=cast.coordinator)
    assert moved.staff == cast.prescriber
    with pytest.raises(BookingConflict) as refused:
        move_appointment(moved, new_start=at("2026-11-07", "09:00"), by=cast.coordinator)  # Saturday: no shift
    assert f"{cast.prescriber} is not on shift 09:00–10:00" in refused.value.conflicts


def test_it_refuses_to_move_an_appointment_that_is_not_booked(iv, cast):
    cancel_appointment(iv, by=cast.coordinator, reason="Patient unwell")
    with pytest.raises(ValueError, match="only a booked appointment can be moved; this one is cancelled"):
        move_appointment(iv, new_start=at("2026-11-03", "10:00"), by=cast.coordinator)


def test_it_cancels_with_a_reason_and_frees_the_chair(iv, types, other_patient, cast):
    cancelled = cancel_appointment(iv, by=cast.coordinator, reason="  Patient unwell, will rebook ")
    assert cancelled.status == Appointment.Status.CANCELLED
    assert cancelled.cancel_reason == "Patient unwell, will rebook"
    assert cancelled.cancelled_at is not None and cancelled.version == 2
    assert slots_of(cancelled) == []
    again = book_appointment(
        patient=other_patient,
        appointment_type=types["ketamine_iv"],
        start=at("2026-11-02", "10:00"),
        by=cast.coordinator,
        resource=iv.resource,
    )
    assert again.resource == iv.resource
    event = AuditEvent.objects.filter(action="update").get()
    assert event.detail == {"status": "cancelled", "fields": ["status", "cancel_reason", "cancelled_at"]}


@pytest.mark.parametrize(("reason", "message"), [("  ", "reason: say why"), ("x" * 301, "reason: at most 300")])
def test_it_refuses_a_cancel_without_a_proper_reason(iv, cast, reason, message):
    with pytest.raises(ValueError, match=message):
        cancel_appointment(iv, by=cast.coordinator, reason=reason)


def test_it_checks_in_on_the_day_and_completes(iv, cast):
    with pytest.raises(ValueError, match="check-in is for today's appointments; this one is on 2026-11-02"):
        check_in(iv, by=cast.coordinator)
    with time_machine.travel(at("2026-11-02", "09:50"), tick=False):
        arrived = check_in(iv, by=cast.nurse)
    assert arrived.status == Appointment.Status.CHECKED_IN and arrived.checked_in_at is not None
    assert len(slots_of(arrived)) == 5  # still holds its chair
    done = complete_appointment(arrived, by=cast.nurse)
    assert done.status == Appointment.Status.COMPLETED and len(slots_of(done)) == 5
    with pytest.raises(ValueError, match="a completed appointment cannot become cancelled"):
        cancel_appointment(done, by=cast.coordinator, reason="too late")


def test_it_cancels_a_checked_in_appointment(iv, cast):
    with time_machine.travel(at("2026-11-02", "09:50"), tick=False):
        check_in(iv, by=cast.coordinator)
    assert cancel_appointment(iv, by=cast.coordinator, reason="BP too high today").status == "cancelled"


def test_it_records_a_no_show_once_the_time_has_begun(iv, cast):
    with pytest.raises(ValueError, match="once the appointment time has begun"):
        mark_no_show(iv, by=cast.coordinator)
    with time_machine.travel(at("2026-11-02", "10:20"), tick=False):
        missed = mark_no_show(iv, by=cast.coordinator)
        assert missed.status == Appointment.Status.NO_SHOW and slots_of(missed) == []
        with pytest.raises(ValueError, match="a no-show appointment cannot become checked in"):
            check_in(iv, by=cast.coordinator)


def test_it_refuses_to_complete_an_appointment_never_checked_in(iv, cast):
    with pytest.raises(ValueError, match="a booked appointment cannot become completed"):
        complete_appointment(iv, by=cast.nurse)


def test_a_transition_reads_the_current_status_not_the_callers_copy(iv, cast):
    stale_copy = Appointment.objects.get(pk=iv.pk)
    cancel_appointment(iv, by=cast.coordinator, reason="Patient unwell")
    with pytest.raises(ValueError, match="a cancelled appointment cannot become cancelled"):
        cancel_appointment(stale_copy, by=cast.coordinator, reason="again")


def test_moving_after_a_dst_change_keeps_the_local_time(iv, cast):
    moved = move_appointment(iv, new_start=at("2027-03-15", "10:00"), by=cast.coordinator)
    assert moved.starts_at.astimezone(dt.UTC).hour == 15
