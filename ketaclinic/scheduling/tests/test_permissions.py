"""The permission matrix of every scheduling screen: anonymous → sign-in, wrong role → 403, right role → 200, and
for patient-scoped screens the other site's nurse → 404."""

from __future__ import annotations

import pytest
from django.urls import reverse

from ketaclinic.accounts.roles import Role
from ketaclinic.accounts.tests.matrix import PermissionMatrix
from ketaclinic.scheduling.actions import book_appointment
from ketaclinic.scheduling.models import Resource
from ketaclinic.scheduling.tests.conftest import at

EVERYONE = {Role.PRESCRIBER, Role.NURSE, Role.THERAPIST, Role.COORDINATOR, Role.CLINIC_ADMIN}


@pytest.fixture(autouse=True)
def _clinic(clinic) -> None:
    """Every matrix runs against site A with chairs, rooms and staff on shift."""


def _appointment(cast):
    from ketaclinic.patients.tests.factories import PatientFactory
    from ketaclinic.scheduling.models import AppointmentType

    patient = PatientFactory.create(site=cast.site_a)
    return book_appointment(
        patient=patient,
        appointment_type=AppointmentType.objects.get(code="ketamine_iv"),
        start=at("2026-11-02", "10:00"),
        by=cast.coordinator,
    )


class TestDayCalendar(PermissionMatrix):
    allowed = EVERYONE

    def url(self, cast):
        return reverse("scheduling:day") + "?date=2026-11-02"


class TestWeekCalendar(PermissionMatrix):
    allowed = EVERYONE

    def url(self, cast):
        return reverse("scheduling:week") + "?date=2026-11-02"


class TestFrontDesk(PermissionMatrix):
    allowed = EVERYONE

    def url(self, cast):
        return reverse("scheduling:desk")


class TestBookFindPatient(PermissionMatrix):
    allowed = {Role.COORDINATOR}

    def url(self, cast):
        return reverse("scheduling:book") + "?q=Test"


class TestBookForPatient(PermissionMatrix):
    allowed = {Role.COORDINATOR}
    patient_scoped = True

    def url(self, cast):
        return reverse("scheduling:book") + f"?patient={_appointment(cast).patient_id}"

    def test_it_hides_other_sites_records(self, client, cast):
        # A coordinator of site B (who may book) still gets 404 for a patient of site A
        from ketaclinic.accounts.tests.factories import UserFactory

        coordinator_b = UserFactory.create(username="coordinator_b", roles=[Role.COORDINATOR], sites=[cast.site_b])
        client.force_login(coordinator_b)
        assert client.get(self.url(cast)).status_code == 404


class TestAppointment(PermissionMatrix):
    allowed = EVERYONE
    patient_scoped = True

    def url(self, cast):
        return reverse("scheduling:appointment", args=[_appointment(cast).pk])


class TestMove(PermissionMatrix):
    allowed = {Role.COORDINATOR}
    patient_scoped = True

    def url(self, cast):
        return reverse("scheduling:move", args=[_appointment(cast).pk])


class TestCancel(PermissionMatrix):
    allowed = {Role.COORDINATOR}
    patient_scoped = True

    def url(self, cast):
        return reverse("scheduling:cancel", args=[_appointment(cast).pk])


class TestPatientAppointments(PermissionMatrix):
    allowed = EVERYONE
    patient_scoped = True

    def url(self, cast):
        return reverse("scheduling:patient", args=[_appointment(cast).patient_id])


class TestShifts(PermissionMatrix):
    allowed = {Role.COORDINATOR, Role.CLINIC_ADMIN}

    def url(self, cast):
        return reverse("scheduling:shifts")


class TestResources(PermissionMatrix):
    allowed = {Role.CLINIC_ADMIN}

    def url(self, cast):
        return reverse("scheduling:resources")


class TestResourceEdit(PermissionMatrix):
    allowed = {Role.CLINIC_ADMIN}

    def url(self, cast):
        return reverse("scheduling:resource_edit", args=[Resource.objects.filter(site=cast.site_a).first().pk])


class TestMyCalendar(PermissionMatrix):
    allowed = EVERYONE

    def url(self, cast):
        return reverse("scheduling:my_calendar")


class TestApiAppointments(PermissionMatrix):
    allowed = EVERYONE
    api = True

    def url(self, cast):
        return "/api/schedule/appointments?date=2026-11-02"


class TestApiSlots(PermissionMatrix):
    allowed = EVERYONE
    api = True

    def url(self, cast):
        return "/api/schedule/slots?appointment_type=ketamine_iv&earliest=2026-11-02T08:00:00-06:00"
