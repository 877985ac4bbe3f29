from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from ketaclinic.audit.models import AuditEvent
from ketaclinic.measures.actions import record_response
from ketaclinic.measures.models import QuestionnaireResponse
from ketaclinic.patients.actions import register_patient
from ketaclinic.tasks.models import Task

pytestmark = pytest.mark.django_db

URL = "/api/measures"
NOW = dt.datetime(2026, 11, 27, 15, 0, tzinfo=dt.UTC)


@pytest.fixture
def patient(cast):
    return register_patient(
        site=cast.site_a,
        by=cast.coordinator,
        legal_first_name="Corin",
        legal_last_name="Ashdown",
        date_of_birth=dt.date(1988, 2, 2),
    )


def post(client, user, body):
    client.force_login(user)
    return client.post(URL, body, content_type="application/json")


def test_it_scores_and_stores_a_staff_entered_response(client, cast, patient) -> None:
    answers = [2, 2, 1, 1, 1, 1, 1, 0, 0]
    body = {"patient": patient.pk, "instrument": "phq9", "answers": answers, "respondent": "patient"}
    with time_machine.travel(NOW, tick=False):
        response = post(client, cast.nurse, body)

    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["total"], data["band"], data["flags"]) == (9, "mild", [])
    assert data["channel"] == "clinic" and data["respondent"] == "patient"
    assert data["entered_by"] == cast.nurse.username
    assert data["instrument_name"] == "PHQ-9" and data["loinc_total"] == "44261-6"
    assert data["completed_at"].startswith("2026-11-27T15:00:00")
    assert data["suicide_risk_task"] is None
    stored = QuestionnaireResponse.objects.get(pk=data["id"])
    assert stored.entered_by == cast.nurse and stored.answers["q1"] == 2


def test_it_opens_the_suicide_risk_task_on_a_positive_item_9(client, cast, patient) -> None:
    body = {
        "patient": patient.pk,
        "instrument": "phq9",
        "answers": {f"q{n}": 1 for n in range(1, 10)},
        "respondent": "clinician",
    }
    data = post(client, cast.prescriber, body).json()

    assert data["flags"] == ["suicidal_ideation"]
    task = Task.objects.get(pk=data["suicide_risk_task"])
    assert (task.kind, task.priority, task.status, task.patient) == ("suicide_risk", "urgent", "open", patient)


@pytest.mark.parametrize(
    ("answers", "field", "message"),
    [
        ([0, 0, 0, 0, 0, 0, 0, 0, 4], "answers.q9", "phq9 item q9: 4 is not an allowed answer; allowed values: 0–3"),
        ([0, 0, 0, 0, 0, 0, 0, 0], "answers.q9", "phq9 item q9: answer missing; allowed values: 0–3"),
        ({"q10": 1}, "answers.q10", "phq9: unknown item 'q10'"),
        ([True, 0, 0, 0, 0, 0, 0, 0, 0], "answers.q1", "not a whole number; allowed values: 0–3"),
        ([0] * 11, "answers", "11 answers given but the instrument has 10 items"),
    ],
)
def test_it_answers_422_naming_the_item_and_allowed_values(client, cast, patient, answers, field, message):
    body = {"patient": patient.pk, "instrument": "phq9", "answers": answers, "respondent": "patient"}
    response = post(client, cast.nurse, body)

    assert response.status_code == 422
    errors = response.json()["errors"]
    assert [e["field"] for e in errors] == [field]
    assert message in errors[0]["message"]
    assert not QuestionnaireResponse.objects.exists()


def test_it_refuses_unknown_instruments_strings_and_bad_times(client, cast, patient) -> None:
    base = {"patient": patient.pk, "instrument": "phq9", "answers": [0] * 9, "respondent": "patient"}
    cases = [
        ({"instrument": "phq10"}, "instrument", "unknown instrument 'phq10'; known: phq9, gad7"),
        ({"answers": ["2"] + [0] * 8}, "answers", ""),
        ({"respondent": "family"}, "respondent", ""),
        ({"completed_at": "2026-11-27T09:00:00"}, "completed_at", "give the UTC offset"),
        ({"completed_at": "2026-11-28T09:00:00+00:00"}, "completed_at", "cannot be in the future"),
    ]
    with time_machine.travel(NOW, tick=False):
        for change, field, message in cases:
            response = post(client, cast.nurse, {**base, **change})  # type: ignore[dict-item]
            assert response.status_code == 422, change
            fields = [e["field"] for e in response.json()["errors"]]
            assert any(f == field or f.startswith(field + ".") for f in fields), (change, fields)
            assert message in response.json()["errors"][0]["message"]
    assert not QuestionnaireResponse.objects.exists()


def test_it_stores_a_retried_post_with_the_same_key_once(client, cast, patient) -> None:
    body = {
        "patient": patient.pk,
        "instrument": "gad7",
        "answers": [1] * 7,
        "respondent": "patient",
        "submission_key": "tablet-7f3a-0001",
        "completed_at": "2026-11-20T10:00:00-06:00",
    }
    first = post(client, cast.nurse, body).json()
    second = post(client, cast.nurse, body).json()
    assert first["id"] == second["id"] and first["total"] == 7
    assert first["completed_at"].startswith("2026-11-20T16:00:00")
    assert QuestionnaireResponse.objects.count() == 1


def test_it_applies_the_access_rules_of_the_screens(client, cast, patient) -> None:
    body = {"patient": patient.pk, "instrument": "gad7", "answers": [0] * 7, "respondent": "patient"}
    assert client.post(URL, body, content_type="application/json").status_code == 401
    assert post(client, cast.therapist, body).status_code == 403
    assert post(client, cast.coordinator, body).status_code == 403
    assert post(client, cast.nurse_b, body).status_code == 404
    assert post(client, cast.nurse, {**body, "patient": 999999}).status_code == 404
    client.force_login(cast.nurse_b)
    assert client.get(URL, {"patient": patient.pk}).status_code == 404
    client.force_login(cast.coordinator)
    assert client.get(URL, {"patient": patient.pk}).status_code == 403
    client.logout()
    assert client.get(URL, {"patient": patient.pk}).status_code == 401
    assert not QuestionnaireResponse.objects.exists()


def test_it_lists_a_patients_responses_newest_first_and_audits_the_read(client, cast, patient) -> None:
    for days, instrument, answers in ((30, "phq9", [3] * 9), (10, "gad7", [2] * 7), (3, "phq9", [1] * 8 + [0])):
        record_response(
            patient,
            instrument,
            answers,
            respondent="patient",
            channel="portal",
            completed_at=NOW - dt.timedelta(days=days),
        )
    client.force_login(cast.therapist)

    everything = client.get(URL, {"patient": patient.pk}).json()
    phq9 = client.get(URL, {"patient": patient.pk, "instrument": "phq9"}).json()
    latest = client.get(URL, {"patient": patient.pk, "limit": 1}).json()

    assert [(r["instrument"], r["total"]) for r in everything] == [("phq9", 8), ("gad7", 14), ("phq9", 27)]
    assert [r["total"] for r in phq9] == [8, 27]
    assert everything[2]["suicide_risk_task"] is not None  # item 9 = 3 opened a task
    assert everything[0]["entered_by"] is None and everything[0]["channel"] == "portal"
    assert len(latest) == 1
    reads = AuditEvent.objects.filter(action="view", object_type="measures.questionnaireresponse", actor=cast.therapist)
    assert reads.count() == 3 and reads.first().patient_id == patient.pk


def test_it_validates_list_parameters(client, cast, patient) -> None:
    client.force_login(cast.nurse)
    unknown = client.get(URL, {"patient": patient.pk, "instrument": "bdi"})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "instrument"
    assert client.get(URL, {"patient": patient.pk, "limit": 0}).status_code == 422
    assert client.get(URL).status_code == 422


def test_it_documents_the_endpoints_in_openapi(client, cast) -> None:
    client.force_login(cast.nurse)
    schema = client.get("/api/openapi.json").json()
    post_op = schema["paths"]["/api/measures"]["post"]
    assert "201" in post_op["responses"]
    assert "instrument" in str(schema["components"]["schemas"]["ResponseIn"])
