from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from ketaclinic.accounts.roles import Role
from ketaclinic.accounts.tests.factories import UserFactory
from ketaclinic.accounts.tests.matrix import PermissionMatrix
from ketaclinic.patients.models import Patient
from ketaclinic.patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

TODAY = dt.datetime(2026, 11, 2, 15, 0, tzinfo=dt.UTC)


class TestRegisterPermissions(PermissionMatrix):
    allowed = {Role.COORDINATOR}

    def url(self, cast):
        return reverse("patients:register")


def _form(**overrides):
    data = {
        "legal_first_name": "Avery",
        "legal_last_name": "Stone",
        "preferred_name": "Ave",
        "date_of_birth": "1988-04-09",
        "sex_at_birth": "female",
        "gender": "Non-binary",
        "pronouns": "they/them",
        "phone": "555-0142",
        "email": "avery@example.invalid",
        "emergency_contact_name": "Kit Stone",
        "emergency_contact_phone": "555-0143",
        "emergency_contact_relationship": "Sibling",
        "referring_clinician": "Dr. Example",
    }
    data.update(overrides)
    return data


def test_it_registers_a_patient_at_the_acting_site_and_opens_the_chart(client, cast):
    client.force_login(cast.coordinator)
    response = client.post(reverse("patients:register"), _form())
    patient = Patient.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("patients:chart", args=[patient.pk])
    assert (patient.site, patient.mrn, patient.pronouns) == (cast.site_a, "SIT-000001", "they/them")
    assert (patient.emergency_contact_name, patient.referring_clinician) == ("Kit Stone", "Dr. Example")
    assert patient.pregnant is None  # the front desk does not record pregnancy
    chart = client.get(response["Location"])
    assert "Registered Ave Stone, MRN SIT-000001." in chart.content.decode()


def test_it_offers_no_pregnancy_fields_to_the_front_desk(client, cast):
    client.force_login(cast.coordinator)
    html = client.get(reverse("patients:register")).content.decode()
    assert 'name="legal_first_name"' in html and 'name="pregnant"' not in html


@time_machine.travel(TODAY, tick=False)
def test_it_refuses_a_birth_date_in_the_future_next_to_the_field(client, cast):
    client.force_login(cast.coordinator)
    response = client.post(reverse("patients:register"), _form(date_of_birth="2027-01-01"))
    assert response.status_code == 400
    assert response.context["form"].errors["date_of_birth"] == [
        "Date of birth: 2027-01-01 is in the future (today is 2026-11-02)."
    ]
    assert not Patient.objects.exists()


@time_machine.travel(TODAY, tick=False)
def test_it_refuses_a_patient_aged_17_and_keeps_what_was_typed(client, cast):
    client.force_login(cast.coordinator)
    response = client.post(reverse("patients:register"), _form(date_of_birth="2009-03-01"))
    html = response.content.decode()
    assert response.status_code == 400
    assert "Date of birth: patients must be 18 or older (born on or before 2008-11-02)." in html
    assert 'id="id_date_of_birth_error"' in html  # next to the field
    assert 'value="Kit Stone"' in html and 'value="avery@example.invalid"' in html
    assert not Patient.objects.exists()


def test_it_asks_to_confirm_a_possible_duplicate(client, cast):
    existing = PatientFactory.create(site=cast.site_a, legal_last_name="STONE", date_of_birth=dt.date(1988, 4, 9))
    client.force_login(cast.coordinator)
    response = client.post(reverse("patients:register"), _form())
    html = response.content.decode()
    assert response.status_code == 400
    assert "Possible duplicate" in html and existing.mrn in html
    assert Patient.objects.count() == 1
    response = client.post(reverse("patients:register"), _form(confirm_not_duplicate="on"))
    assert response.status_code == 302
    assert Patient.objects.count() == 2


def test_it_does_not_call_a_patient_at_another_site_a_duplicate(client, cast):
    PatientFactory.create(site=cast.site_b, legal_last_name="Stone", date_of_birth=dt.date(1988, 4, 9))
    client.force_login(cast.coordinator)
    assert client.post(reverse("patients:register"), _form()).status_code == 302


def test_it_requires_the_names_and_the_birth_date(client, cast):
    client.force_login(cast.coordinator)
    response = client.post(reverse("patients:register"), _form(legal_last_name="", date_of_birth=""))
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"legal_last_name", "date_of_birth"}


def test_it_explains_that_a_user_without_a_site_cannot_register(client, cast):
    loner = UserFactory.create(username="loner", roles=[Role.COORDINATOR])
    client.force_login(loner)
    assert "not assigned to a clinic site" in client.get(reverse("patients:register")).content.decode()
    response = client.post(reverse("patients:register"), _form())
    assert response.status_code == 400 and not Patient.objects.exists()


def test_it_shows_a_validation_error_the_form_did_not_catch(client, cast, monkeypatch):
    from django.core.exceptions import ValidationError

    def refuse(**kwargs):
        raise ValidationError("The record could not be saved.")

    monkeypatch.setattr("ketaclinic.patients.actions.register_patient", refuse)
    client.force_login(cast.coordinator)
    response = client.post(reverse("patients:register"), _form())
    assert response.status_code == 400 and "The record could not be saved." in response.content.decode()


def test_it_lets_a_registering_clinician_record_pregnancy(client, cast):
    both = UserFactory.create(username="both", roles=[Role.COORDINATOR, Role.NURSE], sites=[cast.site_a])
    client.force_login(both)
    assert 'name="pregnant"' in client.get(reverse("patients:register")).content.decode()
    response = client.post(reverse("patients:register"), _form(pregnant="false", breastfeeding="unknown"))
    assert response.status_code == 302
    assert Patient.objects.get().pregnant is False
