from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine

from ketaclinic.accounts.roles import Role
from ketaclinic.accounts.tests.factories import UserFactory
from ketaclinic.accounts.tests.matrix import PermissionMatrix
from ketaclinic.audit.models import AuditEvent
from ketaclinic.patients import actions
from ketaclinic.patients.models import AntidepressantTrial, BodyMeasurement, Diagnosis, Patient
from ketaclinic.patients.tests import factories

pytestmark = pytest.mark.django_db

TODAY = dt.datetime(2026, 11, 2, 15, 0, tzinfo=dt.UTC)
KINDS = ("measurements", "allergies", "diagnoses", "conditions", "medications", "trials", "substance-use")


def _post(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json")


def _patch(client, url, body):
    return client.patch(url, json.dumps(body), content_type="application/json")


def _fields(response):
    return {e["field"]: e["message"] for e in response.json()["errors"]}


class TestListApiPermissions(PermissionMatrix):
    allowed = set(Role)
    api = True

    def url(self, cast):
        return "/api/patients"


class TestPatientApiPermissions(PermissionMatrix):
    allowed = set(Role)
    api = True
    patient_scoped = True

    def url(self, cast):
        return f"/api/patients/{factories.PatientFactory.create(site=cast.site_a).pk}"


def _kind_matrix(kind):
    class Matrix(PermissionMatrix):
        allowed = {Role.PRESCRIBER, Role.NURSE, Role.THERAPIST}
        api = True
        patient_scoped = True

        def url(self, cast):
            return f"/api/patients/{factories.PatientFactory.create(site=cast.site_a).pk}/{kind}"

    Matrix.__name__ = Matrix.__qualname__ = f"Test{kind.title().replace('-', '')}ApiPermissions"
    return Matrix


for _kind in KINDS:
    _m = _kind_matrix(_kind)
    globals()[_m.__name__] = _m


# --- list --------------------------------------------------------------------------------------------------------


def test_it_searches_patients_of_the_acting_site_with_pages(client, cast, patient, patient_b):
    factories.PatientFactory.create_batch(3, site=cast.site_a, legal_last_name="Zed")
    client.force_login(cast.nurse)
    body = client.get("/api/patients", {"page_size": 2}).json()
    assert (body["count"], body["pages"], body["page"], len(body["results"])) == (4, 2, 1, 2)
    assert client.get("/api/patients", {"page_size": 2, "page": 2}).json()["results"][-1]["legal_last_name"] == "Zed"
    found = client.get("/api/patients", {"q": "mo quill"}).json()["results"]
    assert [(p["id"], p["mrn"], p["site"], p["preferred_name"]) for p in found] == [
        (patient.pk, patient.mrn, "site-a", "Mo")
    ]
    assert client.get("/api/patients", {"mrn": patient.mrn.lower()}).json()["count"] == 1
    assert client.get("/api/patients", {"date_of_birth": "1985-06-15", "status": "referral"}).json()["count"] == 4
    assert client.get("/api/patients", {"site": cast.site_b.pk}).json()["count"] == 0  # not one of the nurse's sites
    assert client.get("/api/patients", {"all_sites": True}).json()["count"] == 4
    event = AuditEvent.objects.filter(action=AuditEvent.Action.LIST).earliest("id")
    assert event.detail == {"filters": {}, "count": 4}


def test_it_lists_another_of_the_users_sites(client, cast, patient, patient_b):
    both = UserFactory.create(username="float", roles=[Role.NURSE], sites=[cast.site_a, cast.site_b])
    client.force_login(both)
    assert client.get("/api/patients", {"site": cast.site_b.pk}).json()["results"][0]["id"] == patient_b.pk
    assert client.get("/api/patients", {"all_sites": "true"}).json()["count"] == 2


def test_it_refuses_bad_search_parameters_with_422(client, cast):
    client.force_login(cast.nurse)
    response = client.get("/api/patients", {"page_size": 500, "status": "asleep"})
    assert response.status_code == 422
    assert set(_fields(response)) == {"page_size", "status"}


def test_it_lists_nothing_for_a_user_without_a_site(client, cast, patient):
    loner = UserFactory.create(username="loner", roles=[Role.NURSE])
    client.force_login(loner)
    assert client.get("/api/patients").json()["count"] == 0


# --- register ----------------------------------------------------------------------------------------------------


def _new(**overrides):
    body = {"legal_first_name": "Sky", "legal_last_name": "Rowe", "date_of_birth": "1990-02-03", "pronouns": "he/him"}
    body.update(overrides)
    return body


def test_it_registers_a_patient(client, cast):
    client.force_login(cast.coordinator)
    response = _post(client, "/api/patients", _new())
    assert response.status_code == 201
    body = response.json()
    patient = Patient.objects.get()
    assert (body["id"], body["mrn"], body["site"], body["version"], body["status"]) == (
        patient.pk,
        "SIT-000001",
        "site-a",
        1,
        "referral",
    )


@time_machine.travel(TODAY, tick=False)
def test_it_answers_422_naming_the_birth_date_for_a_future_date_or_a_minor(client, cast):
    client.force_login(cast.coordinator)
    future = _post(client, "/api/patients", _new(date_of_birth="2027-01-01"))
    assert future.status_code == 422
    assert _fields(future) == {"date_of_birth": "Date of birth: 2027-01-01 is in the future (today is 2026-11-02)."}
    minor = _post(client, "/api/patients", _new(date_of_birth="2009-01-01"))
    assert minor.json() == {
        "detail": "Some fields are not valid.",
        "errors": [
            {
                "field": "date_of_birth",
                "message": "Date of birth: patients must be 18 or older (born on or before 2008-11-02).",
            }
        ],
    }
    assert not Patient.objects.exists()


def test_it_answers_422_for_missing_or_malformed_fields(client, cast):
    client.force_login(cast.coordinator)
    response = _post(client, "/api/patients", {"legal_first_name": "", "date_of_birth": "02/03/1990"})
    assert response.status_code == 422
    assert set(_fields(response)) == {"legal_first_name", "legal_last_name", "date_of_birth"}
    response = _post(client, "/api/patients", _new(email="not-an-email"))
    assert set(_fields(response)) == {"email"}


def test_it_answers_409_for_a_possible_duplicate_until_confirmed(client, cast):
    existing = factories.PatientFactory.create(
        site=cast.site_a, legal_last_name="rowe", date_of_birth=dt.date(1990, 2, 3)
    )
    client.force_login(cast.coordinator)
    response = _post(client, "/api/patients", _new())
    assert response.status_code == 409
    assert [d["id"] for d in response.json()["duplicates"]] == [existing.pk]
    assert _post(client, "/api/patients", _new(confirm_not_duplicate=True)).status_code == 201


def test_it_refuses_registration_to_roles_that_do_not_register(client, cast):
    client.force_login(cast.nurse)
    assert _post(client, "/api/patients", _new()).status_code == 403


def test_it_keeps_the_front_desk_out_of_pregnancy_status(client, cast):
    client.force_login(cast.coordinator)
    response = _post(client, "/api/patients", _new(pregnant=True))
    assert response.status_code == 403 and not Patient.objects.exists()
    patient = factories.PatientFactory.create(site=cast.site_a, pregnant=True)
    assert client.get(f"/api/patients/{patient.pk}").json()["pregnant"] is None
    client.force_login(cast.nurse)
    assert client.get(f"/api/patients/{patient.pk}").json()["pregnant"] is True


def test_it_lets_a_registering_clinician_record_pregnancy(client, cast):
    both = UserFactory.create(username="both", roles=[Role.COORDINATOR, Role.NURSE], sites=[cast.site_a])
    client.force_login(both)
    response = _post(client, "/api/patients", _new(pregnant=False))
    assert response.status_code == 201 and response.json()["pregnant"] is False


def test_it_needs_a_site_to_register(client, cast):
    loner = UserFactory.create(username="loner", roles=[Role.COORDINATOR])
    client.force_login(loner)
    assert _post(client, "/api/patients", _new()).status_code == 403


# --- read and patch ----------------------------------------------------------------------------------------------


def test_it_reads_a_patient_and_audits_it(client, cast, patient):
    client.force_login(cast.coordinator)
    body = client.get(f"/api/patients/{patient.pk}").json()
    assert (body["legal_first_name"], body["phone"], body["version"]) == ("Morgan", "555-0100", 1)
    event = AuditEvent.objects.get(action=AuditEvent.Action.VIEW)
    assert (event.patient_id, event.actor) == (patient.pk, cast.coordinator)


def test_it_answers_404_for_another_sites_patient(client, cast, patient_b):
    client.force_login(cast.nurse)
    assert client.get(f"/api/patients/{patient_b.pk}").status_code == 404
    assert _patch(client, f"/api/patients/{patient_b.pk}", {"version": 1, "phone": "1"}).status_code == 404
    assert _post(client, f"/api/patients/{patient_b.pk}/trials", {"drug": "sertraline"}).status_code == 404
    assert client.get(f"/api/patients/{patient_b.pk}/trials").json() == {"detail": "Not found."}


def test_it_patches_demographics_with_the_version(client, cast, patient):
    client.force_login(cast.coordinator)
    response = _patch(client, f"/api/patients/{patient.pk}", {"version": 1, "phone": "555-0188"})
    assert response.status_code == 200
    assert (response.json()["phone"], response.json()["version"]) == ("555-0188", 2)
    stale = _patch(client, f"/api/patients/{patient.pk}", {"version": 1, "phone": "555-0000"})
    assert stale.status_code == 409
    assert stale.json()["current_version"] == 2
    patient.refresh_from_db()
    assert patient.phone == "555-0188"


def test_it_requires_the_version_to_patch(client, cast, patient):
    client.force_login(cast.nurse)
    response = _patch(client, f"/api/patients/{patient.pk}", {"phone": "555-0188"})
    assert response.status_code == 422 and set(_fields(response)) == {"version"}


@time_machine.travel(TODAY, tick=False)
def test_it_answers_422_to_a_patch_that_does_not_validate(client, cast, patient):
    client.force_login(cast.nurse)
    url = f"/api/patients/{patient.pk}"
    response = _patch(client, url, {"version": 1, "date_of_birth": "2010-01-01"})
    assert response.status_code == 422 and set(_fields(response)) == {"date_of_birth"}
    response = _patch(client, url, {"version": 1, "legal_last_name": None})
    assert _fields(response) == {"legal_last_name": "legal_last_name: may not be null"}
    assert _patch(client, url, {"version": 1, "pregnant": None}).status_code == 200


def test_it_limits_the_front_desk_and_refuses_other_roles_a_patch(client, cast, patient):
    client.force_login(cast.coordinator)
    assert _patch(client, f"/api/patients/{patient.pk}", {"version": 1, "pregnant": True}).status_code == 403
    client.force_login(cast.therapist)
    assert _patch(client, f"/api/patients/{patient.pk}", {"version": 1, "phone": "1"}).status_code == 403


# --- chart rows --------------------------------------------------------------------------------------------------


def test_it_lists_rows_not_removed_and_audits_the_read(client, cast, patient):
    kept = factories.TrialFactory.create(patient=patient, weeks=None)
    gone = factories.TrialFactory.create(patient=patient, drug="bupropion", drug_class="bupropion")
    actions.remove_entry(gone, by=cast.nurse, reason="entered in error")
    client.force_login(cast.therapist)
    rows = client.get(f"/api/patients/{patient.pk}/trials").json()
    assert [(r["id"], r["drug"], r["weeks"], r["source"], r["pending_review"]) for r in rows] == [
        (kept.pk, "sertraline", None, "staff", False)
    ]
    event = AuditEvent.objects.get(action=AuditEvent.Action.VIEW)
    assert (event.object_type, event.patient_id) == ("patients.antidepressanttrial", patient.pk)


@pytest.mark.parametrize("kind", KINDS)
def test_it_lists_every_kind(client, cast, patient, kind):
    from ketaclinic.patients.tests.test_edit import ROW_FACTORIES

    row = ROW_FACTORIES[kind].create(patient=patient)
    client.force_login(cast.nurse)
    assert [r["id"] for r in client.get(f"/api/patients/{patient.pk}/{kind}").json()] == [row.pk]


def test_it_answers_422_naming_weeks_for_a_trial_of_0_weeks(client, cast, patient):
    client.force_login(cast.nurse)
    response = _post(client, f"/api/patients/{patient.pk}/trials", {"drug": "sertraline", "weeks": 0})
    assert response.status_code == 422
    assert _fields(response) == {"weeks": "Input should be greater than 0"}
    assert not AntidepressantTrial.objects.exists()


def test_it_records_a_trial_with_the_catalogue_class(client, cast, patient):
    client.force_login(cast.nurse)
    url = f"/api/patients/{patient.pk}/trials"
    response = _post(client, url, {"drug": "Sertraline", "weeks": 8, "improvement_pct": 20, "daily_dose_mg": "150"})
    assert response.status_code == 201
    body = response.json()
    assert (body["drug_class"], body["current_episode"], body["adequate_dose"]) == ("ssri", True, None)
    unknown = _post(client, url, {"drug": "Brandix"})
    assert _fields(unknown) == {"drug_class": "drug_class: Brandix is not in the drug catalogue; give its class"}
    assert _post(client, url, {"drug": "Brandix", "drug_class": "other_antidepressant"}).status_code == 201
    wrong = _post(client, url, {"drug": "phenelzine", "drug_class": "ssri"})
    assert set(_fields(wrong)) == {"drug_class"}
    assert set(_fields(_post(client, url, {"drug": "x", "improvement_pct": 101, "drug_class": "ssri"}))) == {
        "improvement_pct"
    }


@pytest.mark.parametrize("weight", [0, 351, -1])
def test_it_answers_422_naming_weight_kg_out_of_range(client, cast, patient, weight):
    client.force_login(cast.nurse)
    response = _post(client, f"/api/patients/{patient.pk}/measurements", {"weight_kg": weight})
    assert response.status_code == 422 and set(_fields(response)) == {"weight_kg"}
    assert not BodyMeasurement.objects.exists()


def test_it_records_measurements(client, cast, patient):
    client.force_login(cast.nurse)
    url = f"/api/patients/{patient.pk}/measurements"
    response = _post(client, url, {"weight_kg": "350", "height_cm": 180})
    assert response.status_code == 201
    assert BodyMeasurement.objects.get().recorded_by == cast.nurse
    assert set(_fields(_post(client, url, {"height_cm": 49}))) == {"height_cm"}
    assert _fields(_post(client, url, {})) == {"weight_kg": "Weight: enter a weight or a height (or both)."}


def test_it_answers_422_for_an_unknown_icd10_code(client, cast, patient):
    client.force_login(cast.nurse)
    url = f"/api/patients/{patient.pk}/diagnoses"
    response = _post(client, url, {"icd10_code": "F33.22"})
    assert response.status_code == 422
    assert _fields(response) == {
        "icd10_code": "ICD-10-CM code: F33.22 is not in the clinic's catalogue; pick one from the list, e.g. F33.2."
    }
    response = _post(client, url, {"icd10_code": "f32.2", "is_primary": True})
    assert response.status_code == 201
    assert (response.json()["description"], response.json()["episode"]) == (
        "Major depressive disorder, single episode, severe without psychotic features",
        "single",
    )
    second = _post(client, url, {"icd10_code": "F41.1", "is_primary": True})
    assert set(_fields(second)) == {"is_primary"}
    assert Diagnosis.objects.count() == 1


def test_it_records_allergies_conditions_substance_use_and_medications(client, cast, patient):
    client.force_login(cast.prescriber)
    base = f"/api/patients/{patient.pk}"
    assert _post(client, f"{base}/allergies", {"substance": "Latex", "severity": "severe"}).status_code == 201
    assert _post(client, f"{base}/conditions", {"condition": "bipolar"}).status_code == 201
    assert set(_fields(_post(client, f"{base}/conditions", {"condition": "flu"}))) == {"condition"}
    assert _post(client, f"{base}/substance-use", {"substance": "alcohol", "use_disorder": True}).status_code == 201
    medication = _post(client, f"{base}/medications", {"name": "Lorazepam", "daily_dose_mg": 2})
    assert medication.status_code == 201 and medication.json()["drug_class"] == "benzodiazepine"
    other = _post(client, f"{base}/medications", {"name": "Vitamin D"})
    assert other.json()["drug_class"] == "other"
    assert set(_fields(_post(client, f"{base}/medications", {"name": "x", "daily_dose_mg": 0}))) == {"daily_dose_mg"}


def test_it_refuses_chart_writes_to_roles_that_do_not_edit(client, cast, patient):
    for user in (cast.therapist, cast.coordinator):
        client.force_login(user)
        assert _post(client, f"/api/patients/{patient.pk}/allergies", {"substance": "Latex"}).status_code == 403


def test_it_documents_the_ranges_in_the_openapi_schema(client, cast):
    client.force_login(cast.nurse)
    schemas = client.get("/api/openapi.json").json()["components"]["schemas"]
    assert schemas["TrialIn"]["properties"]["weeks"]["anyOf"][0]["exclusiveMinimum"] == 0
    weight = schemas["MeasurementIn"]["properties"]["weight_kg"]["anyOf"][0]
    assert weight["exclusiveMinimum"] == 0 and float(weight["maximum"]) == 350
    assert schemas["TrialIn"]["properties"]["improvement_pct"]["anyOf"][0]["maximum"] == 100
