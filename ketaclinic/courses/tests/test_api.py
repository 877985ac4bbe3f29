"""The courses API: the same rules as the screens, 422 naming the field and the allowed range, 409 on conflicts."""

from __future__ import annotations

import datetime as dt

import pytest

from ketaclinic.courses import actions
from ketaclinic.courses.models import Course
from ketaclinic.scheduling.models import Appointment, StaffShift

IV = "ketamine_iv_standard"


def post(client, path, body):
    return client.post(path, body, content_type="application/json")


def errors(response):
    return {e["field"]: e["message"] for e in response.json()["errors"]}


def test_a_prescriber_opens_a_course(client, clinic, eligible):
    patient = eligible(route="iv")
    client.force_login(clinic.prescriber)
    response = post(client, "/api/courses", {"patient": patient.pk, "protocol": IV, "indication": "trd"})
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "planned"
    assert body["current_dose"]["amount_mg"] == "40.0"
    assert body["titration_bounds"]["unit"] == "mg/kg"
    assert body["rems_enrolled"] is None
    assert body["sessions"] == []


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"max_bound": 1.2}, "max_bound", "within the protocol's 0.1–1 mg/kg"),
        ({"mg_per_kg": 1.5}, "mg_per_kg", "1.5 is outside the allowed range 0.1–1"),
        ({"protocol": "esketamine_trd"}, "eligibility", "no signed eligibility assessment"),
        ({"mg_per_kg": 3}, "mg_per_kg", "less than or equal to 2"),
        ({"indication": "insomnia"}, "indication", "Input should be"),
    ],
)
def test_opening_refusals_answer_422_naming_the_field(client, clinic, eligible, body, field, message):
    patient = eligible(route="iv")
    client.force_login(clinic.prescriber)
    response = post(client, "/api/courses", {"patient": patient.pk, "protocol": IV, "indication": "trd", **body})
    assert response.status_code == 422
    assert message in errors(response)[field]
    assert not Course.objects.exists()


def test_the_api_keeps_the_access_rules(client, clinic, iv_course):
    client.force_login(clinic.nurse)
    assert post(client, "/api/courses", {"patient": iv_course.patient_id, "protocol": IV}).status_code == 403
    client.force_login(clinic.nurse_b)
    assert client.get(f"/api/courses?patient={iv_course.patient_id}").status_code == 404
    assert client.get(f"/api/courses/{iv_course.pk}").status_code == 404
    assert client.get("/api/courses/999999").status_code == 404
    client.force_login(clinic.admin)
    assert client.get(f"/api/courses/{iv_course.pk}").status_code == 403
    client.logout()
    assert client.get(f"/api/courses/{iv_course.pk}").status_code == 401


def test_the_front_desk_reads_courses_without_the_clinical_detail(client, clinic, iv_course):
    client.force_login(clinic.coordinator)
    listed = client.get(f"/api/courses?patient={iv_course.patient_id}")
    assert listed.status_code == 200
    (course,) = listed.json()
    assert course["id"] == iv_course.pk
    assert course["current_dose"] is None and course["precautions"] is None
    client.force_login(clinic.therapist)
    assert client.get(f"/api/courses/{iv_course.pk}").json()["current_dose"]["mg_per_kg"] == "0.500"


def test_dose_orders_answer_422_with_the_allowed_range(client, clinic, iv_course):
    client.force_login(clinic.prescriber)
    path = f"/api/courses/{iv_course.pk}/doses"
    refused = post(client, path, {"mg_per_kg": 1.2, "reason": "Titrate"})
    assert refused.status_code == 422
    assert "1.2 is outside the allowed range 0.1–1 mg/kg" in errors(refused)["mg_per_kg"]
    assert "give an override reason" in errors(refused)["mg_per_kg"]
    ordered = post(
        client,
        path,
        {"mg_per_kg": 1.2, "reason": "Titrate", "override_reason": "No response at 1.0 mg/kg after 4 sessions."},
    )
    assert ordered.status_code == 201
    assert ordered.json()["amount_mg"] == "96.0"
    assert ordered.json()["override_reason"].startswith("No response")
    client.force_login(clinic.coordinator)
    assert post(client, path, {"mg_per_kg": 0.6, "reason": "x"}).status_code == 403


def test_the_front_desk_plans_and_books_through_the_api(client, clinic, iv_course):
    client.force_login(clinic.coordinator)
    planned = post(client, f"/api/courses/{iv_course.pk}/plan", {"phase": "induction", "start_date": "2026-10-26"})
    assert planned.status_code == 200
    body = planned.json()
    assert body["ok"] and body["appointment_type"] == "ketamine_iv"
    starts = [s["start"] for s in body["sessions"]]
    assert starts[3] == "2026-11-02T09:00:00-06:00"
    booked = post(client, f"/api/courses/{iv_course.pk}/book", {"phase": "induction", "starts": starts})
    assert booked.status_code == 201
    assert [s["sequence_number"] for s in booked.json()] == [1, 2, 3, 4, 5, 6]
    course = client.get(f"/api/courses/{iv_course.pk}").json()
    assert len(course["sessions"]) == 6


def test_planning_refusals_answer_422(client, clinic, iv_course):
    client.force_login(clinic.coordinator)
    path = f"/api/courses/{iv_course.pk}/plan"
    past = post(client, path, {"phase": "induction", "start_date": "2026-10-01"})
    assert past.status_code == 422
    assert errors(past)["start_date"] == "2026-10-01 is in the past"
    naive = post(client, f"/api/courses/{iv_course.pk}/book", {"phase": "induction", "starts": ["2026-10-26T09:00"]})
    assert naive.status_code == 422
    assert "time zone" in errors(naive)["starts"]


def test_a_refused_booking_answers_409_with_spacing_valid_alternatives(client, clinic, iv_course):
    wednesday = dt.date(2026, 10, 28)
    StaffShift.objects.filter(
        role_on_shift="nurse", starts_at__date__gte=wednesday, starts_at__date__lt=wednesday + dt.timedelta(days=1)
    ).delete()
    client.force_login(clinic.coordinator)
    planned = post(client, f"/api/courses/{iv_course.pk}/plan", {"phase": "induction", "start_date": "2026-10-26"})
    body = planned.json()
    assert not body["ok"]
    refused = [s for s in body["sessions"] if s["conflicts"]]
    assert len(refused) == 1 and refused[0]["alternatives"]
    starts = [s["start"] for s in body["sessions"]]
    response = post(client, f"/api/courses/{iv_course.pk}/book", {"phase": "induction", "starts": starts})
    assert response.status_code == 409
    conflict = response.json()
    assert "cannot be booked" in conflict["detail"]
    assert list(conflict["alternatives_by_start"]) == ["2026-10-28T14:00:00+00:00"]
    assert not Appointment.objects.exists()


def test_esketamine_booking_without_rems_answers_422(client, clinic, esk_course):
    client.force_login(clinic.coordinator)
    planned = post(client, f"/api/courses/{esk_course.pk}/plan", {"phase": "induction", "start_date": "2026-10-26"})
    assert planned.json()["rems_missing"] is True
    starts = [s["start"] for s in planned.json()["sessions"]]
    response = post(client, f"/api/courses/{esk_course.pk}/book", {"phase": "induction", "starts": starts})
    assert response.status_code == 422
    assert "REMS enrolment is not recorded" in errors(response)["rems"]


def test_decisions_through_the_api(client, clinic, iv_course):
    actions.start_course(iv_course, by=clinic.nurse)
    client.force_login(clinic.prescriber)
    path = f"/api/courses/{iv_course.pk}/decisions"
    illegal = post(client, path, {"decision": "resume", "reason": "x"})
    assert illegal.status_code == 422
    assert "cannot resume a course that is induction" in errors(illegal)["decision"]
    stale = post(client, path, {"decision": "continue", "reason": "x", "expected_version": 99})
    assert stale.status_code == 409
    done = post(client, path, {"decision": "move_to_maintenance", "reason": "Responder"})
    assert done.status_code == 201
    assert done.json()["to_status"] == "maintenance"
    assert done.json()["evidence"]["status"] is None
