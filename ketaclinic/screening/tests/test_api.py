"""/api/assessments: same access rules as the screens; 403 / 404 / 409 / 422 naming the field."""

from __future__ import annotations

import json

import pytest

from ketaclinic.accounts.roles import Role
from ketaclinic.accounts.tests.matrix import PermissionMatrix
from ketaclinic.audit.models import AuditEvent
from ketaclinic.patients.actions import add_entry
from ketaclinic.patients.models import MedicalCondition
from ketaclinic.screening.actions import run_assessment, sign_assessment
from ketaclinic.screening.models import EligibilityAssessment
from ketaclinic.screening.tests.conftest import CALM_VITALS, new_patient

pytestmark = pytest.mark.django_db
BASE = "/api/assessments"
VITALS = {"systolic_mmhg": 122, "diastolic_mmhg": 78}


def post(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json")


def fields(response):
    return {e["field"]: e["message"] for e in response.json()["errors"]}


class TestListPermissions(PermissionMatrix):
    allowed = {Role.PRESCRIBER, Role.NURSE, Role.THERAPIST}
    patient_scoped = True
    api = True

    def url(self, cast):
        return f"{BASE}?patient={new_patient(cast).pk}"


class TestDetailPermissions(PermissionMatrix):
    allowed = {Role.PRESCRIBER, Role.NURSE, Role.THERAPIST}
    patient_scoped = True
    api = True

    def url(self, cast):
        return f"{BASE}/{run_assessment(new_patient(cast), route='iv', by=cast.nurse).pk}"


def test_it_lists_a_patients_assessments(client, cast, complete_patient):
    patient = complete_patient()
    a = run_assessment(patient, route="iv", by=cast.nurse, vitals=CALM_VITALS)
    client.force_login(cast.therapist)
    body = client.get(f"{BASE}?patient={patient.pk}").json()
    assert [row["id"] for row in body] == [a.pk]
    row = body[0]
    assert row["patient"] == patient.pk and row["site"] == "site-a" and row["status"] == "draft"
    assert row["decision"] == "eligible" and row["prescriber_decision"] is None and row["signed_by"] is None
    assert row["findings"][0]["citations"][0].startswith("[R9]")
    assert row["created_by"] == "nurse" and row["inputs"]["vitals"]["systolic_mmhg"] == 122.0
    assert AuditEvent.objects.filter(action="list", patient_id=patient.pk, actor=cast.therapist).exists()


def test_a_missing_patient_parameter_is_a_422(client, cast):
    client.force_login(cast.nurse)
    response = client.get(BASE)
    assert response.status_code == 422 and "patient" in fields(response)


def test_it_runs_a_check(client, cast, complete_patient):
    patient = complete_patient()
    client.force_login(cast.nurse)
    response = post(client, BASE, {"patient": patient.pk, "route": "esketamine_nasal", "vitals": VITALS})
    assert response.status_code == 201
    body = response.json()
    assert body["decision"] == "eligible" and body["route"] == "esketamine_nasal" and body["indication"] == "trd"
    assert EligibilityAssessment.objects.get(pk=body["id"]).created_by == cast.nurse


@pytest.mark.parametrize(
    ("body", "field", "fragment"),
    [
        ({"route": "oral"}, "route", "Input should be"),
        ({"route": "iv", "indication": "ptsd"}, "indication", "Input should be"),
        ({"route": "iv", "vitals": {"systolic_mmhg": 400, "diastolic_mmhg": 80}}, "vitals.systolic_mmhg", "300"),
        ({"route": "iv", "vitals": {"systolic_mmhg": 80, "diastolic_mmhg": 90}}, "vitals.diastolic_mmhg", "below"),
        ({"route": "iv", "vitals": {"systolic_mmhg": 120}}, "vitals.diastolic_mmhg", "both"),
    ],
)
def test_a_bad_run_is_a_422_naming_the_field(client, cast, body, field, fragment):
    patient = new_patient(cast)
    client.force_login(cast.nurse)
    response = post(client, BASE, {"patient": patient.pk, **body})
    assert response.status_code == 422
    assert fragment in fields(response)[field]
    assert not EligibilityAssessment.objects.exists()


def test_running_needs_chart_editing_and_the_site(client, cast):
    patient = new_patient(cast)
    client.force_login(cast.therapist)
    assert post(client, BASE, {"patient": patient.pk, "route": "iv"}).status_code == 403
    client.force_login(cast.nurse_b)
    assert post(client, BASE, {"patient": patient.pk, "route": "iv"}).status_code == 404


def test_a_prescriber_signs(client, cast, complete_patient):
    a = run_assessment(complete_patient(), route="iv", by=cast.nurse, vitals=CALM_VITALS)
    client.force_login(cast.prescriber)
    response = post(client, f"{BASE}/{a.pk}/sign", {"decision": "approve"})
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "signed" and body["signed_by"] == "prescriber" and body["signed_at"]


def test_signing_is_403_for_non_prescribers_and_404_at_another_site(client, cast, complete_patient):
    a = run_assessment(complete_patient(), route="iv", by=cast.nurse, vitals=CALM_VITALS)
    for user in (cast.nurse, cast.therapist):
        client.force_login(user)
        assert post(client, f"{BASE}/{a.pk}/sign", {"decision": "approve"}).status_code == 403
    client.force_login(cast.nurse_b)
    assert post(client, f"{BASE}/{a.pk}/sign", {"decision": "approve"}).status_code == 404
    assert client.get(f"{BASE}/{a.pk}").status_code == 404
    assert client.get(f"{BASE}/999999").status_code == 404
    a.refresh_from_db()
    assert a.status == "draft"


def test_an_override_without_reason_is_a_422_naming_reason(client, cast, complete_patient):
    patient = complete_patient()
    add_entry(MedicalCondition, patient, by=cast.nurse, condition="raised_icp")
    a = run_assessment(patient, route="iv", by=cast.nurse, vitals=CALM_VITALS)
    client.force_login(cast.prescriber)
    response = post(client, f"{BASE}/{a.pk}/sign", {"decision": "approve_with_precautions", "reason": "ok"})
    assert response.status_code == 422
    assert "at least 20 characters" in fields(response)["reason"]
    response = post(
        client,
        f"{BASE}/{a.pk}/sign",
        {
            "decision": "approve_with_precautions",
            "reason": "Neurosurgery cleared: pressure normal on repeat imaging.",
            "precautions": [{"code": "prescriber", "message": "Neuro observations every 15 minutes."}],
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert body["overridden"] is True
    assert body["precautions"] == [{"code": "prescriber", "message": "Neuro observations every 15 minutes."}]


def test_a_bad_precaution_or_decision_is_a_422(client, cast, complete_patient):
    a = run_assessment(complete_patient(), route="iv", by=cast.nurse, vitals=CALM_VITALS)
    client.force_login(cast.prescriber)
    response = post(
        client,
        f"{BASE}/{a.pk}/sign",
        {"decision": "approve_with_precautions", "precautions": [{"code": "eligibility.maoi", "message": "x"}]},
    )
    assert response.status_code == 422 and "precautions" in fields(response)
    response = post(client, f"{BASE}/{a.pk}/sign", {"decision": "maybe"})
    assert response.status_code == 422 and "decision" in fields(response)
    response = post(client, f"{BASE}/{a.pk}/sign", {"decision": "decline"})
    assert response.status_code == 422 and "reason" in fields(response)


def test_signing_a_signed_assessment_is_a_409(client, cast, complete_patient):
    a = run_assessment(complete_patient(), route="iv", by=cast.nurse, vitals=CALM_VITALS)
    sign_assessment(a, by=cast.prescriber, decision="approve")
    client.force_login(cast.prescriber)
    response = post(client, f"{BASE}/{a.pk}/sign", {"decision": "decline", "reason": "changed"})
    assert response.status_code == 409 and "already signed" in response.json()["detail"]


def test_the_schema_documents_the_vital_ranges(client, cast):
    client.force_login(cast.nurse)
    schema = client.get("/api/openapi.json").json()
    vitals = schema["components"]["schemas"]["VitalsIn"]["properties"]["systolic_mmhg"]
    text = json.dumps(vitals)
    assert "300" in text and "50" in text
