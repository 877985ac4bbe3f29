from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from ketaclinic.accounts.roles import Role
from ketaclinic.accounts.tests.matrix import PermissionMatrix
from ketaclinic.audit.models import AuditEvent
from ketaclinic.patients import actions
from ketaclinic.patients.history import patient_history
from ketaclinic.patients.models import Allergy, BodyMeasurement, Source
from ketaclinic.patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

DAY = dt.datetime(2026, 11, 2, 15, 0, tzinfo=dt.UTC)


class TestHistoryPermissions(PermissionMatrix):
    allowed = {Role.PRESCRIBER, Role.NURSE, Role.THERAPIST}
    patient_scoped = True

    def url(self, cast):
        return reverse("patients:history", args=[PatientFactory.create(site=cast.site_a).pk])


def _story(cast):
    """Register, correct a phone number, record and correct a weight, remove an allergy: one step a minute."""
    steps = iter(range(10))

    def at():
        return time_machine.travel(DAY + dt.timedelta(minutes=next(steps)), tick=False)

    with at():
        patient = actions.register_patient(
            site=cast.site_a,
            by=cast.coordinator,
            legal_first_name="Lee",
            legal_last_name="Marsh",
            phone="555-0100",
            date_of_birth=dt.date(1979, 7, 7),
        )
    with at():
        actions.update_patient(patient, by=cast.nurse, expected_version=1, phone="555-0199")
    with at():
        weight = actions.add_entry(BodyMeasurement, patient, by=cast.nurse, weight_kg=Decimal("70.0"))
    with at():
        actions.update_entry(weight, by=cast.prescriber, weight_kg=Decimal("72.5"))
    with at():
        allergy = actions.add_entry(Allergy, patient, by=cast.nurse, substance="Latex", severity="mild")
    with at():
        actions.remove_entry(allergy, by=cast.prescriber, reason="entered in error")
    with at():
        reported = actions.add_entry(Allergy, patient, by=None, source=Source.PATIENT, substance="Peanuts")
    with at():
        actions.accept_entry(reported, by=cast.prescriber)
    return patient


def test_it_lists_every_change_newest_first_with_who_and_what(cast):
    changes = patient_history(_story(cast))
    summary = [(c.kind, c.section, c.subject, str(c.by) if c.by else None) for c in changes]
    assert summary == [
        ("accepted", "Allergies", "Peanuts", str(cast.prescriber)),
        ("added", "Allergies", "Peanuts", None),
        ("removed", "Allergies", "Latex", str(cast.prescriber)),
        ("added", "Allergies", "Latex", str(cast.nurse)),
        ("changed", "Height and weight", "2026-11-02 09:02", str(cast.prescriber)),
        ("added", "Height and weight", "2026-11-02 09:02", str(cast.nurse)),
        ("changed", "Demographics", "Patient record", str(cast.nurse)),
        ("added", "Demographics", "Patient record", str(cast.coordinator)),
    ]
    weight_change = changes[4]
    assert [(f.label, f.old, f.new) for f in weight_change.fields] == [("Weight", "70 kg", "72.5 kg")]
    assert changes[2].note == "entered in error"
    assert [(f.label, f.old, f.new) for f in changes[6].fields] == [("Phone", "555-0100", "555-0199")]


def test_it_shows_an_edited_field_old_and_new_on_the_page_and_audits_the_read(client, cast):
    patient = _story(cast)
    client.force_login(cast.therapist)
    response = client.get(reverse("patients:history", args=[patient.pk]))
    assert response.status_code == 200
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))
    assert "Phone 555-0100 555-0199" in text
    assert "Weight 70 kg 72.5 kg" in text
    assert "Removed Allergies: Latex" in text and "Reason: entered in error" in text
    assert '<td class="old">555-0100</td><td class="new">555-0199</td>' in response.content.decode()
    event = AuditEvent.objects.filter(action=AuditEvent.Action.VIEW).get()
    assert (event.object_type, event.patient_id, event.actor) == ("patients.history", patient.pk, cast.therapist)


def test_it_pages_a_long_history(client, cast):
    patient = _story(cast)
    for n in range(30):
        actions.update_patient(patient, by=cast.nurse, pronouns=f"p{n}")
    client.force_login(cast.nurse)
    first = client.get(reverse("patients:history", args=[patient.pk]))
    assert "Page 1 of 2" in first.content.decode()
    second = client.get(reverse("patients:history", args=[patient.pk]), {"page": 2})
    assert len(second.context["page"]) == 38 - 30


def test_it_shows_status_changes_with_labels(cast):
    patient = PatientFactory.create(site=cast.site_a)
    actions.set_status(patient, "in_treatment", by=cast.prescriber, reason="course started")
    change = patient_history(patient)[0]
    fields = {f.label: (f.old, f.new) for f in change.fields}
    assert fields == {"Status": ("Referral", "In treatment"), "Status reason": ("—", "course started")}


def test_it_leaves_out_saves_that_changed_nothing_visible(cast):
    patient = PatientFactory.create(site=cast.site_a)
    actions.set_status(patient, "referral", by=cast.nurse)  # only the version moves
    assert [c.kind for c in patient_history(patient)] == ["added"]
