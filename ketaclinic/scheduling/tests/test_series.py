"""book_series / check_series: all-or-nothing, every conflict with its date, alternatives per date, chair
continuity, sequence numbers, and a series across both DST changes."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from ketaclinic.audit.models import AuditEvent
from ketaclinic.scheduling.actions import BookingConflict, SeriesCheck, book_appointment, book_series, check_series
from ketaclinic.scheduling.models import Appointment, Reservation
from ketaclinic.scheduling.tests.conftest import CHICAGO, at

#: Six IV sessions over two weeks, Monday/Wednesday/Friday at 10:00 (after the autumn DST change).
SIX = [at(day, "10:00") for day in ("2026-11-02", "2026-11-04", "2026-11-06", "2026-11-09", "2026-11-11", "2026-11-13")]


def local(moment: dt.datetime) -> str:
    return f"{moment.astimezone(CHICAGO):%Y-%m-%d %H:%M}"


def test_it_books_a_whole_series_in_time_order_with_sequence_numbers(clinic, types, patient, cast):
    booked = book_series(
        patient=patient,
        appointment_type=types["ketamine_iv"],
        starts=list(reversed(SIX)),
        by=cast.coordinator,
        course_ref=42,
        first_sequence_number=3,
    )
    assert [local(a.starts_at) for a in booked] == [local(s) for s in SIX]
    assert [a.sequence_number for a in booked] == [3, 4, 5, 6, 7, 8]
    assert {a.course_ref for a in booked} == {42}
    assert {a.resource.name for a in booked if a.resource} == {"Chair 1"}
    assert Reservation.objects.filter(appointment__in=booked).count() == 6 * 5
    assert AuditEvent.objects.filter(object_type="scheduling.appointment", action="create").count() == 6


def test_it_keeps_the_patient_in_the_same_chair_when_it_is_free(clinic, types, patient, other_patient, cast):
    book_appointment(
        patient=other_patient, appointment_type=types["ketamine_iv"], start=SIX[0], by=cast.coordinator
    )  # Chair 1 on the first day only
    booked = book_series(patient=patient, appointment_type=types["ketamine_iv"], starts=SIX, by=cast.coordinator)
    assert [a.resource.name for a in booked if a.resource] == ["Chair 2"] * 6


def test_it_books_nothing_when_one_date_conflicts_and_names_every_conflict(clinic, types, patient, cast):
    starts = [*SIX[:3], at("2026-12-25", "10:00"), at("2026-11-07", "10:00")]  # Christmas Day; a Saturday, no nurse
    with pytest.raises(BookingConflict) as refused:
        book_series(patient=patient, appointment_type=types["ketamine_iv"], starts=starts, by=cast.coordinator)
    conflict = refused.value
    assert Appointment.objects.count() == 0 and Reservation.objects.count() == 0
    assert conflict.conflicts == [
        "Sat 2026-11-07 10:00: no nurse on shift 10:00–11:10",
        "Fri 2026-12-25 10:00: closed on 2026-12-25 (Christmas Day)",
    ]
    assert conflict.message.startswith("2 of 5 sessions (IV infusion session) cannot be booked: Sat 2026-11-07 10:00")
    assert set(conflict.alternatives_by_start) == {at("2026-11-07", "10:00"), at("2026-12-25", "10:00")}
    assert conflict.alternatives == conflict.alternatives_by_start[at("2026-11-07", "10:00")]
    # Alternatives avoid the sessions of the same series that could be booked (Friday 6 Nov, 10:00)
    friday = [local(a.start) for a in conflict.alternatives if local(a.start).startswith("2026-11-06")]
    assert friday and all(not ("09:00" <= t[11:] <= "11:10") for t in friday)
    christmas = {a.start.astimezone(CHICAGO).date() for a in conflict.alternatives_by_start[at("2026-12-25", "10:00")]}
    assert dt.date(2026, 12, 25) not in christmas


def test_it_refuses_sessions_of_the_series_that_clash_with_each_other(clinic, types, patient, cast):
    starts = [at("2026-11-02", "10:00"), at("2026-11-02", "10:30")]
    with pytest.raises(BookingConflict) as refused:
        book_series(patient=patient, appointment_type=types["ketamine_iv"], starts=starts, by=cast.coordinator)
    assert refused.value.conflicts == ["Mon 2026-11-02 10:30: patient already booked 10:00–11:10"]


def test_check_series_shows_the_conflicts_without_booking(clinic, types, patient, cast):
    starts = [*SIX[:2], at("2026-12-25", "10:00")]
    check = check_series(patient=patient, appointment_type=types["ketamine_iv"], starts=starts, by=cast.coordinator)
    assert isinstance(check, SeriesCheck) and isinstance(check, list)
    assert not check.ok and check  # a non-empty list of conflicts is truthy
    assert list(check) == check.conflicts == ["Fri 2026-12-25 10:00: closed on 2026-12-25 (Christmas Day)"]
    assert check.conflicts_by_start == {at("2026-12-25", "10:00"): ["closed on 2026-12-25 (Christmas Day)"]}
    assert check.alternatives_by_start[at("2026-12-25", "10:00")]
    assert sorted(check.slots) == SIX[:2]
    assert Appointment.objects.count() == 0


def test_check_series_is_empty_when_everything_fits(clinic, types, patient):
    check = check_series(patient=patient, appointment_type=types["ketamine_iv"], starts=SIX)
    assert check == [] and check.ok and check.message == ""
    assert [s.resource.name for s in check.slots.values() if s.resource] == ["Chair 1"] * 6


def test_it_keeps_ten_oclock_across_both_dst_changes(clinic, types, patient, cast):
    # Weekly sessions from October (CDT) through November (CST) to March (CDT again)
    starts = [
        at("2026-10-30", "10:00"),
        at("2026-11-02", "10:00"),
        at("2027-03-12", "10:00"),
        at("2027-03-15", "10:00"),
    ]
    booked = book_series(
        patient=patient, appointment_type=types["esketamine_nasal"], starts=starts, by=cast.coordinator
    )
    assert [a.starts_at.astimezone(CHICAGO).strftime("%H:%M") for a in booked] == ["10:00"] * 4
    assert [a.starts_at.astimezone(dt.UTC).hour for a in booked] == [15, 16, 16, 15]
    assert all(a.ends_at - a.starts_at == dt.timedelta(minutes=140) for a in booked)


def test_it_plans_a_series_through_a_closed_day(clinic, types, patient, cast):
    starts = [at(day, "10:00") for day in ("2026-12-21", "2026-12-23", "2026-12-25")]
    with time_machine.travel(at("2026-12-01", "09:00"), tick=False):
        check = check_series(patient=patient, appointment_type=types["ketamine_iv"], starts=starts)
    assert list(check.conflicts_by_start) == [at("2026-12-25", "10:00")]
    offered = [local(s.start) for s in check.alternatives_by_start[at("2026-12-25", "10:00")]]
    assert "2026-12-24 10:00" in offered and not any(o.startswith("2026-12-25") for o in offered)


@pytest.mark.parametrize(
    ("starts", "message"),
    [
        ([], "starts: give at least one start"),
        ([at("2026-11-02", "10:00")] * 2, "starts: the same start is given twice"),
        ([at("2026-11-02", "10:05")], r"starts\[0\]: 2026-11-02 10:05 is not on a quarter hour"),
        ([at("2026-11-02", "10:00")] * 53, "starts: at most 52 sessions in one series"),
    ],
)
def test_it_refuses_bad_series_arguments(clinic, types, patient, cast, starts, message):
    with pytest.raises(ValueError, match=message):
        book_series(patient=patient, appointment_type=types["ketamine_iv"], starts=starts, by=cast.coordinator)


def test_it_books_a_series_in_a_chosen_chair(clinic, types, patient, cast, chairs):
    booked = book_series(
        patient=patient, appointment_type=types["ketamine_iv"], starts=SIX[:2], by=cast.coordinator, resource=chairs[2]
    )
    assert {a.resource for a in booked} == {chairs[2]}
