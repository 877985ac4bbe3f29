"""Calendar feeds: valid iCalendar, one VEVENT per appointment (and shift), UTC times, nothing clinical, secret URL."""

from __future__ import annotations

import pytest

from ketaclinic.audit.models import AuditEvent
from ketaclinic.scheduling.actions import book_appointment, cancel_appointment, feed_token_for, regenerate_feed_token
from ketaclinic.scheduling.feeds import escape, fold
from ketaclinic.scheduling.models import FeedToken
from ketaclinic.scheduling.tests.conftest import at


def unfold(text: str) -> list[str]:
    """RFC 5545 §3.1: a CRLF followed by a space continues the previous line."""
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    return text.replace("\r\n ", "").split("\r\n")[:-1]


def events(lines: list[str]) -> list[dict[str, str]]:
    found: list[dict[str, str]] = []
    current: dict[str, str] | None = None
    for line in lines:
        if line == "BEGIN:VEVENT":
            current = {}
        elif line == "END:VEVENT" and current is not None:
            found.append(current)
            current = None
        elif current is not None:
            name, _, value = line.partition(":")
            current[name] = value
    return found


@pytest.fixture
def booked(clinic, types, patient, cast):
    return [
        book_appointment(
            patient=patient, appointment_type=types["ketamine_iv"], start=at("2026-11-02", "10:00"), by=cast.coordinator
        ),
        book_appointment(
            patient=patient,
            appointment_type=types["therapy_integration"],
            start=at("2026-11-03", "10:00"),
            by=cast.coordinator,
        ),
        book_appointment(
            patient=patient, appointment_type=types["consult"], start=at("2026-11-04", "10:00"), by=cast.coordinator
        ),
    ]


def test_a_patients_feed_is_valid_icalendar_with_one_event_per_appointment(client, booked, patient, cast):
    cancel_appointment(booked[2], by=cast.coordinator, reason="not needed")
    token = feed_token_for(patient=patient, by=cast.coordinator)
    response = client.get(f"/schedule/ics/{token.token}.ics")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    lines = unfold(response.content.decode())
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR"
    assert "VERSION:2.0" in lines and any(line.startswith("PRODID:") for line in lines)
    found = events(lines)
    assert len(found) == 2  # the cancelled one is left out
    assert found[0]["DTSTART"] == "20261102T160000Z" and found[0]["DTEND"] == "20261102T171000Z"
    assert found[1]["DTSTART"] == "20261103T160000Z"
    assert {e["SUMMARY"] for e in found} == {"KetaClinic appointment"}
    assert found[0]["UID"] == f"appointment-{booked[0].pk}@ketaclinic"
    assert found[0]["LOCATION"] == "Site A Clinic"
    assert "Bring an adult who can take you home" in found[0]["DESCRIPTION"]
    text = response.content.decode().lower()
    for word in ("ketamine", "infusion", "integration", "quill", "depress"):
        assert word not in text
    assert all(len(line.encode()) <= 75 for line in response.content.decode().split("\r\n"))


def test_a_staff_feed_has_their_shifts_and_appointments_without_patient_names(client, booked, cast):
    token = feed_token_for(user=cast.therapist, by=cast.therapist)
    lines = unfold(client.get(f"/schedule/ics/{token.token}.ics").content.decode())
    found = events(lines)
    appointments = [e for e in found if e["UID"].startswith("appointment-")]
    shifts = [e for e in found if e["UID"].startswith("shift-")]
    assert [e["DTSTART"] for e in appointments] == ["20261103T160000Z"]
    assert "DESCRIPTION" not in appointments[0]
    assert shifts and shifts[0]["SUMMARY"] == "KetaClinic shift (therapist)"
    assert "quill" not in "\n".join(lines).lower()


def test_an_unknown_or_replaced_token_is_not_found_and_audited(client, patient, cast):
    token = feed_token_for(patient=patient, by=cast.coordinator)
    old = token.token
    assert client.get("/schedule/ics/not-a-token.ics").status_code == 404
    regenerate_feed_token(token, by=cast.coordinator)
    assert client.get(f"/schedule/ics/{old}.ics").status_code == 404
    assert client.get(f"/schedule/ics/{token.token}.ics").status_code == 200
    assert AuditEvent.objects.filter(object_type="scheduling.feedtoken", outcome="not_found").count() == 2
    read = AuditEvent.objects.get(object_type="scheduling.feedtoken", action="export")
    assert read.patient_id == patient.pk and read.actor_username == "(calendar feed)"


def test_a_feed_token_is_created_once(patient, cast):
    first = feed_token_for(patient=patient, by=cast.coordinator)
    assert feed_token_for(patient=patient, by=cast.coordinator) == first
    assert FeedToken.objects.count() == 1 and len(first.token) >= 40
    assert AuditEvent.objects.filter(object_type="scheduling.feedtoken", action="create").count() == 1


def test_a_feed_token_belongs_to_a_patient_or_a_user(patient, cast):
    with pytest.raises(ValueError, match="give either patient or user"):
        feed_token_for(patient=patient, user=cast.nurse, by=cast.coordinator)
    with pytest.raises(ValueError, match="give either patient or user"):
        feed_token_for(by=cast.coordinator)


def test_text_is_escaped_and_long_lines_are_folded():
    assert escape("a,b;c\\d\ne") == "a\\,b\\;c\\\\d\\ne"
    line = "DESCRIPTION:" + "é" * 80
    folded = fold(line)
    assert all(len(part.encode()) <= 75 for part in folded.split("\r\n"))
    assert folded.replace("\r\n ", "") == line
