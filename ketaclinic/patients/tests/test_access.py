from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from ketaclinic.accounts.roles import Perm, Role
from ketaclinic.audit.models import AuditEvent
from ketaclinic.patients.access import (
    DEMOGRAPHICS_EDITORS,
    access_entry,
    access_patient,
    audit_patient_list,
    can_edit_demographics,
)
from ketaclinic.patients.models import Allergy, BodyMeasurement
from ketaclinic.patients.tests.factories import AllergyFactory, MeasurementFactory, PatientFactory

pytestmark = pytest.mark.django_db

Outcome = AuditEvent.Outcome


def test_it_returns_a_visible_patient_and_audits_the_read(cast, patient):
    assert access_patient(cast.nurse, patient.pk) == patient
    event = AuditEvent.objects.get()
    assert (event.action, event.object_type, event.patient_id, event.outcome) == (
        AuditEvent.Action.VIEW,
        "patients.patient",
        patient.pk,
        Outcome.SUCCESS,
    )
    assert event.site == cast.site_a


def test_it_audits_a_read_under_the_name_given(cast, patient):
    access_patient(cast.nurse, str(patient.pk), audit_as="patients.history")
    assert AuditEvent.objects.get().object_type == "patients.history"


@pytest.mark.parametrize("bad", ["abc", None, "1.5"])
def test_it_answers_404_for_an_id_that_is_not_a_number(cast, bad):
    with pytest.raises(Http404):
        access_patient(cast.nurse, bad)
    assert not AuditEvent.objects.exists()


def test_it_answers_404_alike_for_missing_and_other_site_patients(cast, patient, patient_b):
    for patient_id in (patient_b.pk, 999_999):
        with pytest.raises(Http404):
            access_patient(cast.nurse, patient_id)
    outcomes = list(AuditEvent.objects.order_by("id").values_list("patient_id", "outcome"))
    assert outcomes == [(patient_b.pk, Outcome.NOT_FOUND), (999_999, Outcome.NOT_FOUND)]


def test_it_answers_403_to_a_role_without_the_capability_and_audits_the_refusal(cast, patient):
    with pytest.raises(PermissionDenied, match="read the clinical chart"):
        access_patient(cast.coordinator, patient.pk)
    event = AuditEvent.objects.get()
    assert (event.outcome, event.patient_id, event.site) == (Outcome.DENIED, patient.pk, cast.site_a)


def test_it_lets_the_front_desk_read_demographics(cast, patient):
    assert access_patient(cast.coordinator, patient.pk, need=Perm.VIEW_DEMOGRAPHICS) == patient


def test_it_needs_chart_editing_to_write_and_leaves_the_audit_to_the_action(cast, patient):
    assert access_patient(cast.nurse, patient.pk, write=True) == patient
    assert not AuditEvent.objects.exists()
    with pytest.raises(PermissionDenied, match="edit the clinical chart"):
        access_patient(cast.therapist, patient.pk, write=True)


def test_it_accepts_any_one_of_several_capabilities(cast, patient):
    for user in (cast.coordinator, cast.nurse, cast.prescriber):
        assert access_patient(user, patient.pk, write=True, need=DEMOGRAPHICS_EDITORS) == patient
    for user in (cast.therapist, cast.admin):
        with pytest.raises(PermissionDenied, match="edit the clinical chart"):
            access_patient(user, patient.pk, write=True, need=DEMOGRAPHICS_EDITORS)


def test_it_lets_coordinators_and_chart_editors_edit_demographics(cast):
    allowed = {role for role, user in cast.by_role().items() if can_edit_demographics(user)}
    assert allowed == {Role.PRESCRIBER, Role.NURSE, Role.COORDINATOR}


def test_it_hides_every_patient_from_anonymous_users(cast, patient):
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(Http404):
        access_patient(AnonymousUser(), patient.pk)


def test_it_finds_a_chart_row_of_the_patient_only(cast, patient):
    row = MeasurementFactory.create(patient=patient)
    other = MeasurementFactory.create(patient=PatientFactory.create(site=cast.site_a))
    assert access_entry(patient, BodyMeasurement, str(row.pk)) == row
    for missing in (other.pk, 999_999, "x"):
        with pytest.raises(Http404):
            access_entry(patient, BodyMeasurement, missing)
    with pytest.raises(Http404):  # the id of another kind of row
        access_entry(patient, Allergy, row.pk)


def test_it_does_not_offer_removed_rows_for_editing(cast, patient):
    row = AllergyFactory.create(patient=patient, removed_reason="entered in error")
    row.removed_at = row.created_at
    row.save()
    with pytest.raises(Http404):
        access_entry(patient, Allergy, row.pk)


def test_it_audits_a_list_with_its_filters_not_its_results(cast):
    from ketaclinic.audit.context import AuditContext, acting

    with acting(AuditContext(user=cast.nurse, site=cast.site_a)):
        audit_patient_list(cast.nurse, count=3, query={"status": "screening"})
    event = AuditEvent.objects.get()
    assert (event.action, event.object_type, event.actor) == (AuditEvent.Action.LIST, "patients.patient", cast.nurse)
    assert event.detail == {"filters": {"status": "screening"}, "count": 3}
