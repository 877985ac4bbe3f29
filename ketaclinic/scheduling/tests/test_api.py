"""The scheduling API: day list, free slots, booking (409 with conflicts and alternatives), move, cancel."""

from __future__ import annotations

import pytest

from ketaclinic.scheduling.actions import book_appointment, cancel_appointment
from ketaclinic.scheduling.models import Appointment
from ketaclinic.scheduling.tests.conftest import at


@pytest.fixture
def api(client, cast, clinic):
    client.force_login(cast.coordinator)
    return client


@pytest.fixture
def iv(clinic, types, patient, cast):
    return book_appointment(
        patient=patient, appointment_type=types["ketamine_iv"], start=at("2026-11-02", "10:00"), by=cast.coordinator
    )


def post(client, url, body):
    return client.post(url, body, content_type="application/json")


def test_it_lists_a_sites_day(api, iv):
    body = api.get("/api/schedule/appointments", {"date": "2026-11-02"}).json()
    assert [a["id"] for a in body] == [iv.pk]
    assert body[0]["starts_at"] == "2026-11-02T16:00:00Z" and body[0]["resource"] == "Chair 1"
    assert body[0]["appointment_type"] == "ketamine_iv" and body[0]["patient_name"] == "Morgan Quill"
    assert api.get("/api/schedule/appointments").json() == []  # today (28 Oct)


def test_it_hides_other_sites(api, cast):
    assert api.get("/api/schedule/appointments", {"site": cast.site_b.pk}).status_code == 404


def test_it_reads_one_appointment(api, iv, client, cast):
    assert api.get(f"/api/schedule/appointments/{iv.pk}").json()["version"] == 1
    client.force_login(cast.nurse_b)
    assert client.get(f"/api/schedule/appointments/{iv.pk}").status_code == 404


def test_it_lists_appointment_types(api):
    body = api.get("/api/schedule/types").json()
    iv = next(t for t in body if t["code"] == "ketamine_iv")
    assert iv["total_min"] == 70 and iv["reminder_hours_before"] == [48, 24] and iv["route"] == "iv"


def test_it_finds_free_slots(api, patient):
    body = api.get(
        "/api/schedule/slots",
        {"appointment_type": "esketamine_nasal", "earliest": "2026-11-02T08:00:00-06:00", "patient": patient.pk},
    ).json()
    assert body[0] == {
        "start": "2026-11-02T14:00:00Z",
        "end": "2026-11-02T16:20:00Z",
        "resource_id": body[0]["resource_id"],
        "resource": "Chair 1",
        "staff_id": None,
        "staff": None,
    }
    assert len(body) == 5


def test_slot_search_names_bad_fields(api):
    response = api.get("/api/schedule/slots", {"appointment_type": "nope", "earliest": "2026-11-02T08:00:00Z"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "appointment_type"
    response = api.get("/api/schedule/slots", {"appointment_type": "consult", "earliest": "2026-11-02T08:00:00"})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "earliest"
    response = api.get("/api/schedule/slots", {"appointment_type": "consult", "earliest": "x", "count": 99})
    assert response.status_code == 422


def test_it_books_and_answers_201(api, patient, types):
    response = post(
        api,
        "/api/schedule/appointments",
        {
            "patient": patient.pk,
            "appointment_type": "ketamine_iv",
            "start": "2026-11-02T10:00:00-06:00",
            "course_ref": 12,
            "sequence_number": 1,
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert body["course_ref"] == 12 and body["sequence_number"] == 1 and body["ends_at"] == "2026-11-02T17:10:00Z"


def test_a_conflict_answers_409_with_alternatives(api, iv, other_patient, chairs):
    response = post(
        api,
        "/api/schedule/appointments",
        {
            "patient": other_patient.pk,
            "appointment_type": "ketamine_iv",
            "start": "2026-11-02T10:30:00-06:00",
            "resource": chairs[0].pk,
        },
    )
    assert response.status_code == 409
    body = response.json()
    assert body["conflicts"] == ["Chair 1 is booked 10:00–11:10"]
    assert body["detail"].startswith("Cannot book the IV infusion session on Mon 2026-11-02 10:30")
    assert {"start", "end", "resource", "resource_id", "staff", "staff_id"} == set(body["alternatives"][0])


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"start": "2026-11-02T10:10:00-06:00"}, "start"),
        ({"start": "2026-11-02T10:00:00"}, "start"),
        ({"appointment_type": "unknown"}, "appointment_type"),
        ({"resource": 999999}, "resource"),
        ({"staff": 999999}, "staff"),
        ({"sequence_number": 0}, "sequence_number"),
    ],
)
def test_bad_booking_fields_answer_422_naming_the_field(api, patient, change, field):
    body = {"patient": patient.pk, "appointment_type": "consult", "start": "2026-11-02T10:00:00-06:00", **change}
    response = post(api, "/api/schedule/appointments", body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == field


def test_booking_is_for_coordinators_and_own_site_patients(client, cast, clinic, patient, patient_b):
    body = {"patient": patient.pk, "appointment_type": "consult", "start": "2026-11-02T10:00:00-06:00"}
    client.force_login(cast.nurse)
    assert post(client, "/api/schedule/appointments", body).status_code == 403
    client.force_login(cast.coordinator)
    assert post(client, "/api/schedule/appointments", {**body, "patient": patient_b.pk}).status_code == 404
    client.force_login(cast.nurse_b)
    assert post(client, "/api/schedule/appointments", body).status_code == 404


def test_it_books_with_a_chosen_chair_and_clinician(api, patient, rooms, cast):
    response = post(
        api,
        "/api/schedule/appointments",
        {
            "patient": patient.pk,
            "appointment_type": "consult",
            "start": "2026-11-02T10:00:00-06:00",
            "resource": rooms["consult_room"].pk,
            "staff": cast.prescriber.pk,
        },
    )
    assert response.status_code == 201 and response.json()["staff_id"] == cast.prescriber.pk


def test_it_moves_and_answers_409_when_stale_or_refused(api, iv, chairs):
    url = f"/api/schedule/appointments/{iv.pk}/move"
    response = post(api, url, {"new_start": "2026-11-03T09:00:00-06:00", "version": 1, "resource": chairs[1].pk})
    assert response.status_code == 200 and response.json()["version"] == 2 and response.json()["resource"] == "Chair 2"
    response = post(api, url, {"new_start": "2026-11-04T09:00:00-06:00", "version": 1})
    assert response.status_code == 409 and "changed by someone else" in response.json()["detail"]
    response = post(api, url, {"new_start": "2026-12-25T09:00:00-06:00"})
    assert response.status_code == 409 and response.json()["alternatives"]
    response = post(api, url, {"new_start": "2026-11-04T09:05:00-06:00"})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "new_start"
    response = post(api, url, {"new_start": "2026-11-04T09:00:00-06:00", "resource": 999999})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "resource"


def test_moving_a_cancelled_appointment_answers_409(api, iv, cast):
    cancel_appointment(iv, by=cast.coordinator, reason="unwell")
    response = post(api, f"/api/schedule/appointments/{iv.pk}/move", {"new_start": "2026-11-04T09:00:00-06:00"})
    assert response.status_code == 409 and "only a booked appointment" in response.json()["detail"]


def test_it_cancels_with_a_reason(api, iv):
    url = f"/api/schedule/appointments/{iv.pk}/cancel"
    assert post(api, url, {"reason": ""}).status_code == 422
    assert post(api, url, {"reason": "   "}).status_code == 422
    response = post(api, url, {"reason": "Patient unwell"})
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert Appointment.objects.get().cancel_reason == "Patient unwell"
    response = post(api, url, {"reason": "again"})
    assert response.status_code == 409 and response.json()["detail"] == "a cancelled appointment cannot be cancelled"
