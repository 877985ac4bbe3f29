"""Model rules: appointment types' limits and reminder hours, names people read, database checks, the admin."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from ketaclinic.scheduling.models import (
    Appointment,
    AppointmentType,
    FeedToken,
    ReminderSent,
    Reservation,
    Resource,
    SitePolicy,
    StaffShift,
    kind_phrase,
)
from ketaclinic.scheduling.tests.conftest import at


def test_the_seeded_types_have_the_clinics_durations(types):
    chair = {code: t.total_min for code, t in types.items()}
    assert chair["ketamine_iv"] == 70 and chair["esketamine_nasal"] == 140 and chair["ketamine_im"] == 75
    assert chair["ketamine_sublingual"] == 90 and chair["ketamine_intranasal"] == 75
    assert chair["therapy_preparation"] == chair["therapy_integration"] == 50 and chair["consult"] == 60
    assert types["esketamine_nasal"].needs_prescriber_on_site and types["esketamine_nasal"].is_dosing
    assert types["consult"].resource_kind == "consult_room" and types["therapy_preparation"].needs_therapist
    assert types["ketamine_iv"].reminder_hours == [48, 24]
    for t in types.values():
        t.full_clean()
        assert "ketamine" not in t.instructions.lower()  # instructions are e-mailed: no treatment named


def test_an_appointment_type_keeps_its_limits():
    too_long = AppointmentType(code="long", name="Long", duration_min=400, recovery_min=100)
    with pytest.raises(ValidationError, match="at most 480 minutes"):
        too_long.clean()
    for hours in ([0], [337], ["24"], [True], 24):
        with pytest.raises(ValidationError, match="Reminder hours"):
            AppointmentType(code="x", name="x", duration_min=30, reminder_hours_before=hours).clean()


def test_names_people_read(cast, clinic, types, patient, chairs):
    assert kind_phrase("infusion_chair") == "an infusion chair" and kind_phrase("consult_room") == "a consult room"
    assert str(chairs[0]) == "Chair 1" and str(types["consult"]) == "Consultation and assessment"
    policy = SitePolicy.objects.create(site=clinic)
    assert str(policy) == f"scheduling policy of site {clinic.pk}"
    shift = StaffShift.objects.filter(user=cast.nurse).first()
    assert str(shift).startswith(f"{cast.nurse} nurse ")
    appointment = Appointment.objects.create(
        site=clinic,
        patient=patient,
        appointment_type=types["consult"],
        starts_at=at("2026-11-02", "10:00"),
        ends_at=at("2026-11-02", "11:00"),
        created_by=cast.coordinator,
    )
    assert str(appointment) == f"{types['consult'].pk} for patient {patient.pk} at 2026-11-02 16:00Z"
    assert appointment.is_active and appointment.can_become("checked_in") and not appointment.can_become("completed")
    slot = Reservation.objects.create(appointment=appointment, slot_start=appointment.starts_at, patient=patient)
    assert str(slot) == f"slot 2026-11-02 16:00Z of appointment {appointment.pk}"
    reminder = ReminderSent.objects.create(appointment=appointment, hours_before=24)
    assert str(reminder) == f"reminder 24 h before appointment {appointment.pk}"
    assert str(FeedToken.objects.create(patient=patient)) == f"calendar feed of patient {patient.pk}"
    assert str(FeedToken.objects.create(user=cast.nurse)) == f"calendar feed of user {cast.nurse.pk}"


def test_the_database_refuses_inconsistent_rows(cast, clinic, types, patient):
    with pytest.raises(IntegrityError), transaction.atomic():
        Appointment.objects.create(
            site=clinic,
            patient=patient,
            appointment_type=types["consult"],
            starts_at=at("2026-11-02", "10:00"),
            ends_at=at("2026-11-02", "10:00"),
            created_by=cast.coordinator,
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        FeedToken.objects.create()
    with pytest.raises(IntegrityError), transaction.atomic():
        Resource.objects.create(site=clinic, kind="sofa", name="Sofa")
    with pytest.raises(IntegrityError), transaction.atomic():
        SitePolicy.objects.create(site=clinic, nurse_ratio=0)


def test_the_admin_lists_types_and_policies(admin_client):
    assert admin_client.get("/admin/scheduling/appointmenttype/").status_code == 200
    assert admin_client.get("/admin/scheduling/sitepolicy/").status_code == 200
