"""book_appointment: double booking refused (chair, patient, clinician), staffing rules, clear conflicts, nearest
alternatives, bad arguments, and the database constraint as the last line."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from ketaclinic.accounts.roles import Role
from ketaclinic.accounts.tests.factories import UserFactory
from ketaclinic.audit.models import AuditEvent
from ketaclinic.patients.tests.factories import PatientFactory
from ketaclinic.scheduling import planning
from ketaclinic.scheduling.actions import BookingConflict, appointment_type_for_route, book_appointment
from ketaclinic.scheduling.models import Appointment, Reservation, Resource, SitePolicy
from ketaclinic.scheduling.tests.conftest import CHICAGO, at, put_on_shift


def book(patient, atype, start, by, **kwargs):
    return book_appointment(patient=patient, appointment_type=atype, start=start, by=by, **kwargs)


def local(moment: dt.datetime) -> str:
    return f"{moment.astimezone(CHICAGO):%Y-%m-%d %H:%M}"


def test_it_books_a_free_chair_and_reserves_every_quarter_hour(clinic, types, patient, cast):
    appointment = book(patient, types["ketamine_iv"], at("2026-11-02", "10:00"), cast.coordinator, course_ref=7)
    assert appointment.status == Appointment.Status.BOOKED
    assert appointment.site == clinic and appointment.resource.name == "Chair 1"
    assert appointment.ends_at == at("2026-11-02", "11:10")
    assert appointment.course_ref == 7 and appointment.created_by == cast.coordinator
    # 10:00–11:10 touches five quarter hours; the chair stays held until 11:15 (turnover)
    slots = list(Reservation.objects.filter(appointment=appointment).order_by("slot_start"))
    assert [local(r.slot_start) for r in slots] == [
        "2026-11-02 10:00",
        "2026-11-02 10:15",
        "2026-11-02 10:30",
        "2026-11-02 10:45",
        "2026-11-02 11:00",
    ]
    assert {(r.resource_id, r.patient_id, r.staff_id) for r in slots} == {(appointment.resource_id, patient.pk, None)}
    event = AuditEvent.objects.get(object_type="scheduling.appointment", action="create")
    assert event.patient_id == patient.pk and event.actor == cast.coordinator
    assert event.detail["appointment_type"] == "ketamine_iv"


def test_it_takes_the_next_chair_when_the_first_is_booked(clinic, types, patient, other_patient, cast):
    first = book(patient, types["ketamine_iv"], at("2026-11-02", "10:00"), cast.coordinator)
    second = book(other_patient, types["ketamine_iv"], at("2026-11-02", "10:30"), cast.coordinator)
    assert (first.resource.name, second.resource.name) == ("Chair 1", "Chair 2")


def test_it_refuses_a_chair_that_is_booked_and_offers_the_nearest_alternatives(
    clinic, types, patient, other_patient, cast
):
    first = book(patient, types["ketamine_iv"], at("2026-11-02", "10:00"), cast.coordinator)
    with pytest.raises(BookingConflict) as refused:
        book(other_patient, types["ketamine_iv"], at("2026-11-02", "10:30"), cast.coordinator, resource=first.resource)
    conflict = refused.value
    assert conflict.conflicts == ["Chair 1 is booked 10:00–11:10"]
    assert conflict.message == (
        "Cannot book the IV infusion session on Mon 2026-11-02 10:30: Chair 1 is booked 10:00–11:10."
    )
    # The nearest valid slot is the same time in another chair
    offered = [(local(a.start), a.resource.name if a.resource else "") for a in conflict.alternatives]
    assert ("2026-11-02 10:30", "Chair 2") in offered
    assert len(conflict.alternatives) == 5
    assert conflict.alternatives == sorted(conflict.alternatives, key=lambda s: s.start)
    assert list(conflict.alternatives_by_start) == [at("2026-11-02", "10:30")]
    assert Appointment.objects.count() == 1


def test_it_refuses_when_every_chair_is_booked(clinic, types, cast):
    for _ in range(3):
        book(PatientFactory.create(site=clinic), types["ketamine_iv"], at("2026-11-02", "10:00"), cast.coordinator)
    with pytest.raises(BookingConflict) as refused:
        book(PatientFactory.create(site=clinic), types["ketamine_iv"], at("2026-11-02", "10:00"), cast.coordinator)
    assert refused.value.conflicts == [
        "every infusion chair is booked 10:00–11:10 (Chair 1 is booked 10:00–11:10; Chair 2 is booked 10:00–11:10; "
        "Chair 3 is booked 10:00–11:10)"
    ]
    assert all(
        local(a.start) >= "2026-11-02 11:15" or a.start < at("2026-11-02", "08:50") for a in refused.value.alternatives
    )


def test_it_lists_at_most_three_busy_chairs(clinic, types, cast):
    Resource.objects.create(site=clinic, kind="infusion_chair", name="Chair 4")
    for _ in range(4):
        book(PatientFactory.create(site=clinic), types["ketamine_iv"], at("2026-11-02", "10:00"), cast.coordinator)
    with pytest.raises(BookingConflict) as refused:
        book(PatientFactory.create(site=clinic), types["ketamine_iv"], at("2026-11-02", "10:00"), cast.coordinator)
    assert refused.value.conflicts[0].endswith("Chair 3 is booked 10:00–11:10; …)")


def test_it_refuses_to_double_book_the_patient(clinic, types, patient, cast):
    book(patient, types["consult"], at("2026-11-02", "10:30"), cast.coordinator)
    with pytest.raises(BookingConflict) as refused:
        book(patient, types["ketamine_iv"], at("2026-11-02", "10:00"), cast.coordinator)
    assert refused.value.conflicts == ["patient already booked 10:30–11:30"]


def test_it_lets_dosing_day_support_accompany_the_dosing_session(clinic, types, patient, cast):
    book(patient, types["ketamine_iv"], at("2026-11-02", "10:00"), cast.coordinator)
    support = book(patient, types["therapy_dosing_support"], at("2026-11-02", "10:00"), cast.coordinator)
    assert support.staff == cast.therapist and support.resource is None
    assert not Reservation.objects.filter(appointment=support, patient__isnull=False).exists()
    assert Reservation.objects.filter(appointment=support, staff=cast.therapist).count() == 6


def test_it_refuses_to_double_book_a_clinician(clinic, types, patient, other_patient, cast):
    book(patient, types["therapy_preparation"], at("2026-11-02", "10:00"), cast.coordinator)
    with pytest.raises(BookingConflict) as refused:
        book(other_patient, types["consult"], at("2026-11-02", "10:30"), cast.coordinator, staff=cast.therapist)
    assert refused.value.conflicts == [f"{cast.therapist} is booked 10:00–10:50"]


def test_it_refuses_when_every_therapist_on_shift_is_booked(clinic, types, patient, other_patient, cast):
    Resource.objects.create(site=clinic, kind="therapy_room", name="Therapy room 2")
    book(patient, types["therapy_preparation"], at("2026-11-02", "10:00"), cast.coordinator)
    with pytest.raises(BookingConflict) as refused:
        book(other_patient, types["therapy_integration"], at("2026-11-02", "10:30"), cast.coordinator)
    assert refused.value.conflicts == [
        f"every therapist on shift is booked 10:30–11:20 ({cast.therapist} is booked 10:00–10:50)"
    ]


def test_it_refuses_a_clinician_who_is_not_on_shift(clinic, types, patient, cast):
    with pytest.raises(BookingConflict) as refused:
        book(patient, types["consult"], at("2026-11-02", "10:00"), cast.coordinator, staff=cast.admin)
    # the clinic admin works at the site but has no shift
    assert refused.value.conflicts == [f"{cast.admin} is not on shift 10:00–11:00"]


def test_it_wants_a_therapist_on_shift_as_a_therapist(clinic, types, patient, cast):
    with pytest.raises(BookingConflict) as refused:
        book(patient, types["therapy_preparation"], at("2026-11-02", "10:00"), cast.coordinator, staff=cast.nurse)
    assert refused.value.conflicts == [f"{cast.nurse} is not on shift as a therapist 10:00–10:50"]


def test_it_refuses_when_no_therapist_is_on_shift(site, rooms, types, patient, cast):
    with pytest.raises(BookingConflict) as refused:
        book(patient, types["therapy_preparation"], at("2026-11-02", "10:00"), cast.coordinator)
    assert refused.value.conflicts == ["no therapist on shift 10:00–10:50"]
    assert refused.value.alternatives == []


def test_it_refuses_a_closed_day_naming_it(clinic, types, patient, cast):
    with pytest.raises(BookingConflict) as refused:
        book(patient, types["consult"], at("2026-12-25", "10:00"), cast.coordinator)
    assert "closed on 2026-12-25 (Christmas Day)" in refused.value.conflicts
    days = {a.start.astimezone(CHICAGO).date() for a in refused.value.alternatives}
    assert dt.date(2026, 12, 25) not in days and dt.date(2026, 12, 24) in days


def test_it_refuses_a_day_without_opening_hours(clinic, types, patient, cast):
    with pytest.raises(BookingConflict) as refused:
        book(patient, types["consult"], at("2026-11-01", "10:00"), cast.coordinator)
    assert refused.value.conflicts[0] == "closed on Sunday 2026-11-01 (no opening hours)"


def test_it_refuses_a_visit_that_would_end_after_closing(clinic, types, patient, cast):
    with pytest.raises(BookingConflict) as refused:
        book(patient, types["ketamine_iv"], at("2026-11-02", "17:00"), cast.coordinator)
    assert refused.value.conflicts[0] == "outside opening hours 08:00–18:00 (this visit needs 17:00–18:10)"
    assert max(local(a.start) for a in refused.value.alternatives if a.start.date() == dt.date(2026, 11, 2)) == (
        "2026-11-02 16:45"
    )


def test_it_needs_a_nurse_on_shift_for_dosing(site, chairs, types, patient, cast):
    with pytest.raises(BookingConflict) as refused:
        book(patient, types["ketamine_iv"], at("2026-11-02", "10:00"), cast.coordinator)
    assert refused.value.conflicts == ["no nurse on shift 10:00–11:10"]


def test_it_keeps_the_nurse_ratio_of_the_site_policy(clinic, types, cast):
    SitePolicy.objects.create(site=clinic, nurse_ratio=2)
    book(PatientFactory.create(site=clinic), types["ketamine_iv"], at("2026-11-02", "10:00"), cast.coordinator)
    book(PatientFactory.create(site=clinic), types["esketamine_nasal"], at("2026-11-02", "10:30"), cast.coordinator)
    # a consult is not a dosing session: the nurse ratio does not count it
    book(PatientFactory.create(site=clinic), types["consult"], at("2026-11-02", "10:30"), cast.coordinator)
    with pytest.raises(BookingConflict) as refused:
        book(PatientFactory.create(site=clinic), types["ketamine_iv"], at("2026-11-02", "09:30"), cast.coordinator)
    assert refused.value.conflicts == ["nurse ratio 1:2 reached at 10:30 (2 dosing patients, 1 nurse on shift)"]


def test_it_counts_two_nurses_for_twice_the_patients(clinic, types, cast):
    SitePolicy.objects.create(site=clinic, nurse_ratio=1)
    book(PatientFactory.create(site=clinic), types["ketamine_iv"], at("2026-11-02", "10:00"), cast.coordinator)
    with pytest.raises(BookingConflict) as refused:
        book(PatientFactory.create(site=clinic), types["ketamine_iv"], at("2026-11-02", "10:00"), cast.coordinator)
    assert refused.value.conflicts == ["nurse ratio 1:1 reached at 10:00 (1 dosing patients, 1 nurse on shift)"]
    second = UserFactory.create(username="nurse2", roles=[Role.NURSE], sites=[clinic])
    put_on_shift(second, clinic, "nurse", dt.date(2026, 11, 2), dt.date(2026, 11, 2))
    book(PatientFactory.create(site=clinic), types["ketamine_iv"], at("2026-11-02", "10:00"), cast.coordinator)


def test_it_needs_a_prescriber_on_site_for_an_esketamine_session(site, chairs, types, patient, cast):
    put_on_shift(cast.nurse, site, "nurse", dt.date(2026, 11, 2), dt.date(2026, 11, 2))
    put_on_shift(cast.prescriber, site, "prescriber", dt.date(2026, 11, 2), dt.date(2026, 11, 2), ("08:00", "11:00"))
    with pytest.raises(BookingConflict) as refused:
        book(patient, types["esketamine_nasal"], at("2026-11-02", "09:00"), cast.coordinator)
    assert refused.value.conflicts == ["no prescriber on site 09:00–11:20 for the nasal spray session (supervised)"]
    appointment = book(patient, types["esketamine_nasal"], at("2026-11-02", "08:30"), cast.coordinator)
    assert appointment.ends_at == at("2026-11-02", "10:50")


def test_it_names_the_missing_kind_of_room(site, staffed, types, patient, cast):
    with pytest.raises(BookingConflict) as refused:
        book(patient, types["ketamine_im"], at("2026-11-02", "10:00"), cast.coordinator)
    assert refused.value.conflicts == ["no treatment room at Site A Clinic"]


def test_it_refuses_a_start_that_is_not_on_a_quarter_hour(clinic, types, patient, cast):
    with pytest.raises(ValueError, match=r"start: 2026-11-02 10:10 is not on a quarter hour"):
        book(patient, types["consult"], at("2026-11-02", "10:10"), cast.coordinator)


def test_it_refuses_a_naive_start(clinic, types, patient, cast):
    with pytest.raises(ValueError, match="start: must be a date and time with a time zone"):
        book(patient, types["consult"], dt.datetime(2026, 11, 2, 10), cast.coordinator)


def test_it_refuses_a_room_of_the_wrong_kind(clinic, types, patient, cast, rooms):
    with pytest.raises(
        ValueError, match="resource: Consult room 1 is a consult room; the IV infusion session needs an infusion chair"
    ):
        book(patient, types["ketamine_iv"], at("2026-11-02", "10:00"), cast.coordinator, resource=rooms["consult_room"])


def test_it_refuses_a_room_for_a_type_that_needs_none(clinic, types, patient, cast, rooms):
    with pytest.raises(ValueError, match="needs no chair or room"):
        book(
            patient,
            types["therapy_dosing_support"],
            at("2026-11-02", "10:00"),
            cast.coordinator,
            resource=rooms["therapy_room"],
        )


def test_it_refuses_a_chair_out_of_service(clinic, types, patient, cast, chairs):
    chairs[0].active = False
    chairs[0].save()
    with pytest.raises(ValueError, match="resource: Chair 1 is out of service"):
        book(patient, types["ketamine_iv"], at("2026-11-02", "10:00"), cast.coordinator, resource=chairs[0])


def test_it_refuses_a_chair_of_another_site(clinic, types, patient, cast):
    elsewhere = Resource.objects.create(site=cast.site_b, kind="infusion_chair", name="Chair B1")
    with pytest.raises(ValueError, match="resource: Chair B1 is not at Site A Clinic"):
        book(patient, types["ketamine_iv"], at("2026-11-02", "10:00"), cast.coordinator, resource=elsewhere)


def test_it_refuses_staff_of_another_site(clinic, types, patient, cast):
    with pytest.raises(ValueError, match=r"staff: .* does not work at Site A Clinic"):
        book(patient, types["consult"], at("2026-11-02", "10:00"), cast.coordinator, staff=cast.nurse_b)


@pytest.mark.parametrize("number", [0, True])
def test_it_refuses_a_sequence_number_below_one(clinic, types, patient, cast, number):
    with pytest.raises(ValueError, match="sequence_number: must be 1 or more"):
        book(patient, types["consult"], at("2026-11-02", "10:00"), cast.coordinator, sequence_number=number)


def test_it_books_a_chosen_chair_and_clinician(clinic, types, patient, cast, chairs, rooms):
    consult = book(patient, types["consult"], at("2026-11-02", "10:00"), cast.coordinator, staff=cast.prescriber)
    assert consult.staff == cast.prescriber and consult.resource == rooms["consult_room"]
    iv = book(
        patient,
        types["ketamine_iv"],
        at("2026-11-03", "10:00"),
        cast.coordinator,
        resource=chairs[2],
        sequence_number=1,
    )
    assert iv.resource == chairs[2] and iv.sequence_number == 1


def test_it_maps_clinical_routes_to_dosing_types(types):
    assert appointment_type_for_route("iv") == types["ketamine_iv"]
    assert appointment_type_for_route("esketamine_nasal") == types["esketamine_nasal"]
    with pytest.raises(
        ValueError, match="route: no dosing appointment type for 'oral'; known routes: esketamine_nasal"
    ):
        appointment_type_for_route("oral")


def test_it_turns_a_lost_race_into_a_conflict_and_books_nothing(
    clinic, types, patient, other_patient, cast, monkeypatch
):
    """If a concurrent booking commits between our check and our write, the unique constraint refuses ours."""
    winner = book(patient, types["ketamine_iv"], at("2026-11-02", "10:00"), cast.coordinator)
    real_check = planning.Horizon.check
    calls = {"n": 0}

    def blind_first_check(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:  # the booking's own check does not see the winner (it "was not committed yet")
            self.res_busy.clear()
        return real_check(self, *args, **kwargs)

    monkeypatch.setattr(planning.Horizon, "check", blind_first_check)
    with pytest.raises(BookingConflict) as refused:
        book(other_patient, types["ketamine_iv"], at("2026-11-02", "10:00"), cast.coordinator, resource=winner.resource)
    assert refused.value.conflicts == ["Chair 1 is booked 10:00–11:10"]
    assert refused.value.alternatives
    assert Appointment.objects.filter(patient=other_patient).count() == 0
    assert Reservation.objects.filter(patient=other_patient).count() == 0


def test_it_names_an_unexplained_race_generically(clinic, types, patient, cast, monkeypatch):
    def fail(objs, *args, **kwargs):
        raise IntegrityError("reservation_resource_slot")

    monkeypatch.setattr(Reservation.objects, "bulk_create", fail)
    with pytest.raises(BookingConflict) as refused:
        book(patient, types["ketamine_iv"], at("2026-11-02", "10:00"), cast.coordinator)
    assert refused.value.conflicts == ["booked by someone else a moment ago; choose the time again"]
    assert Appointment.objects.count() == 0


def test_the_database_refuses_a_second_reservation_of_a_chair(clinic, types, patient, other_patient, cast):
    first = book(patient, types["ketamine_iv"], at("2026-11-02", "10:00"), cast.coordinator)
    second = book(other_patient, types["ketamine_iv"], at("2026-11-02", "12:00"), cast.coordinator)
    with pytest.raises(IntegrityError), transaction.atomic():
        Reservation.objects.create(appointment=second, slot_start=at("2026-11-02", "10:00"), resource=first.resource)
