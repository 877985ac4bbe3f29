"""The session page and its forms: permissions, errors named next to the field, optimistic locking, the chart card."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from ketaclinic.accounts.roles import Role
from ketaclinic.accounts.tests.matrix import PermissionMatrix
from ketaclinic.audit.models import AuditEvent
from ketaclinic.conftest import Cast
from ketaclinic.dosing.models import DosingSession, VitalSign
from ketaclinic.dosing.tests.conftest import CALM, gate

pytestmark = pytest.mark.django_db
MakeSession = Callable[..., DosingSession]
REASON = "Rechecked after rest, asymptomatic; benefit outweighs the risk today."


def url(session: DosingSession, name: str = "session") -> str:
    return reverse(f"dosing:{name}", args=[session.patient_id, session.pk])


def post(client: Client, session: DosingSession, name: str, **fields: Any) -> Any:
    data = {f"{name}-{k}": v for k, v in fields.items()}
    data.setdefault(f"{name}-version", session.version)
    return client.post(url(session, name), data)


class TestSessionPage(PermissionMatrix):
    allowed = {Role.NURSE, Role.PRESCRIBER}
    patient_scoped = True

    @pytest.fixture(autouse=True)
    def _session(self, make_session: MakeSession) -> None:
        self.session = make_session()

    def url(self, cast: Cast) -> str:
        return url(self.session)


def test_it_checks_in_through_the_form(make_session: MakeSession, client: Client, clinic: Cast) -> None:
    session = make_session(checked_in=False)
    client.force_login(clinic.nurse)
    page = client.get(url(session))
    assert page.status_code == 200 and b"Check in" in page.content
    response = post(
        client,
        session,
        "checkin",
        identity_confirmed="on",
        weight_kg="81.5",
        last_food_at="05:30",
        last_liquid_at="07:45",
        escort_name="Sam Escort",
        escort_phone="555-0199",
        escort_confirmed="on",
        pregnancy_test="n/a",
        benzodiazepine_held="not_ordered",
    )
    assert response.status_code == 302
    session.refresh_from_db()
    assert session.state == "checked_in"
    assert str(session.checkin.weight_kg) == "81.5"
    assert session.checkin.last_food_at.astimezone(session.site.zone).strftime("%H:%M") == "05:30"


def test_it_names_the_field_and_keeps_the_typed_values(make_session: MakeSession, client: Client, clinic: Cast) -> None:
    session = make_session(checked_in=False)
    client.force_login(clinic.nurse)
    response = post(
        client,
        session,
        "checkin",
        weight_kg="351",
        escort_name="Sam Escort",
        pregnancy_test="negative",
        benzodiazepine_held="yes",
        identity_confirmed="on",
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "Must be above 0 and at most 350 kg." in body
    assert 'value="351"' in body and 'value="Sam Escort"' in body


def test_it_rejects_implausible_vitals_with_the_range(make_session: MakeSession, client: Client, clinic: Cast) -> None:
    session = make_session()
    client.force_login(clinic.nurse)
    response = post(client, session, "vitals", **{**CALM, "systolic_mmhg": 400})
    assert response.status_code == 400
    body = response.content.decode()
    assert "400 is outside the allowed range 50–300 mmHg" in body
    assert 'name="vitals-systolic_mmhg"' in body and 'value="400"' in body and 'value="98"' in body
    assert not VitalSign.objects.exists()
    response = post(client, session, "vitals", **{**CALM, "spo2_pct": ""})
    assert response.status_code == 400 and "This field is required." in response.content.decode()


def test_it_answers_409_on_a_stale_version(make_session: MakeSession, client: Client, clinic: Cast) -> None:
    session = make_session()
    client.force_login(clinic.nurse)
    stale = session.version
    assert post(client, session, "vitals", **CALM).status_code == 302
    response = post(client, session, "vitals", version=stale, **{**CALM, "heart_rate_bpm": 88})
    assert response.status_code == 409
    body = response.content.decode()
    assert "Someone else changed this session" in body and 'value="88"' in body
    assert VitalSign.objects.count() == 1


def test_it_shows_the_gate_and_the_hold_to_a_nurse(make_session: MakeSession, client: Client, clinic: Cast) -> None:
    session = make_session()
    client.force_login(clinic.nurse)
    assert post(client, session, "vitals", **{**CALM, "systolic_mmhg": 185, "diastolic_mmhg": 100}).status_code == 302
    session.refresh_from_db()
    assert post(client, session, "gate").status_code == 302
    body = client.get(url(session)).content.decode()
    assert "Gate decision: Hold" in body and "Source: clinical.predose_check" in body
    assert "On hold: a prescriber must review." in body
    assert "Override the hold" not in body
    session.refresh_from_db()
    assert post(client, session, "override", reason=REASON).status_code == 403


def test_a_prescriber_overrides_through_the_form(make_session: MakeSession, client: Client, clinic: Cast) -> None:
    session = make_session()
    gate(session, clinic.nurse, {**CALM, "spo2_pct": 91})
    client.force_login(clinic.prescriber)
    body = client.get(url(session)).content.decode()
    assert "Override the hold" in body and "At least 20 characters" in body
    response = post(client, session, "override", reason="seems fine")
    assert response.status_code == 400 and "Write at least 20 characters (got 10)." in response.content.decode()
    assert "seems fine</textarea>" in response.content.decode()
    assert post(client, session, "override", reason=REASON).status_code == 302
    session.refresh_from_db()
    assert session.state == "cleared"
    assert AuditEvent.objects.filter(action="override", patient_id=session.patient_id).count() == 1


def test_a_prescriber_confirms_a_review_through_the_form(
    make_session: MakeSession, client: Client, clinic: Cast
) -> None:
    session = make_session(route="esketamine_nasal")
    gate(session, clinic.nurse, {**CALM, "systolic_mmhg": 150, "diastolic_mmhg": 92})
    client.force_login(clinic.nurse)
    assert "Review: a prescriber must confirm before dosing." in client.get(url(session)).content.decode()
    client.force_login(clinic.prescriber)
    assert post(client, session, "review", reason=REASON).status_code == 302
    session.refresh_from_db()
    assert session.state == "cleared"
    assert "Cleared to dose" in client.get(url(session)).content.decode()


def test_it_reports_an_action_refusal_outside_the_form(make_session: MakeSession, client: Client, clinic: Cast) -> None:
    session = make_session()
    client.force_login(clinic.nurse)
    response = post(client, session, "gate")
    assert response.status_code == 400 and "Vitals: Record the baseline vital signs first." in response.content.decode()


def test_it_opens_a_session_from_the_chart_card(make_session: MakeSession, client: Client, clinic: Cast) -> None:
    session = make_session(checked_in=False)
    appointment = session.appointment
    DosingSession.objects.filter(pk=session.pk).delete()
    client.force_login(clinic.nurse)
    chart = client.get(reverse("patients:chart", args=[appointment.patient_id])).content.decode()
    open_url = reverse("dosing:open", args=[appointment.patient_id, appointment.pk])
    assert "Today&#x27;s sessions" in chart or "Today's sessions" in chart
    assert open_url in chart
    response = client.post(open_url)
    created = DosingSession.objects.get(appointment=appointment)
    assert response.status_code == 302 and response["Location"] == url(created)
    chart = client.get(reverse("patients:chart", args=[appointment.patient_id])).content.decode()
    assert url(created) in chart
    client.force_login(clinic.therapist)
    assert (
        "Today&#x27;s sessions"
        not in client.get(reverse("patients:chart", args=[appointment.patient_id])).content.decode()
    )
    assert client.post(open_url).status_code == 403
    client.force_login(clinic.nurse_b)
    assert client.post(open_url).status_code == 404
    client.force_login(clinic.nurse)
    assert client.post(reverse("dosing:open", args=[appointment.patient_id, 999999])).status_code == 404


def test_it_refuses_to_open_a_cancelled_appointment(make_session: MakeSession, client: Client, clinic: Cast) -> None:
    session = make_session(checked_in=False)
    appointment = session.appointment
    DosingSession.objects.filter(pk=session.pk).delete()
    type(appointment).objects.filter(pk=appointment.pk).update(status="cancelled")
    client.force_login(clinic.nurse)
    response = client.post(reverse("dosing:open", args=[appointment.patient_id, appointment.pk]))
    assert response.status_code == 400 and b"cancelled appointment" in response.content


def test_it_hides_other_patients_sessions(make_session: MakeSession, client: Client, clinic: Cast) -> None:
    one, two = make_session(), make_session()
    client.force_login(clinic.nurse)
    assert client.get(reverse("dosing:session", args=[one.patient_id, two.pk])).status_code == 404
    assert client.get(reverse("dosing:session", args=[one.patient_id, 0])).status_code == 404


def test_access_refuses_a_malformed_session_id(make_session: MakeSession, clinic: Cast) -> None:
    from django.http import Http404

    from ketaclinic.dosing.access import access_session

    session = make_session()
    with pytest.raises(Http404):
        access_session(clinic.nurse, session.patient_id, "x1")
    assert access_session(clinic.nurse, session.patient_id, str(session.pk)) == session


def screen(phq9: list[int], cssrs: dict[str, str]) -> dict[str, str]:
    fields = {f"phq9_q{n}": str(v) for n, v in enumerate(phq9, start=1)}
    fields.update({f"cssrs_screener_{k}": v for k, v in cssrs.items()})
    return fields


def test_a_positive_screen_through_the_form_blocks_clearing(
    make_session: MakeSession, client: Client, clinic: Cast
) -> None:
    from ketaclinic.tasks.models import Task

    session = make_session()
    client.force_login(clinic.nurse)
    page = client.get(url(session)).content.decode()
    assert "PHQ-9 q9: Thoughts that you would be better off dead" in page
    fields = screen([1, 1, 0, 1, 0, 0, 0, 0, 1], {"q1": "no", "q2": "no", "q6": "no"})
    assert post(client, session, "screen", **fields).status_code == 302
    assert Task.objects.filter(patient=session.patient, kind=Task.Kind.SUICIDE_RISK, status="open").exists()
    session.refresh_from_db()
    assert post(client, session, "vitals", **CALM).status_code == 302
    session.refresh_from_db()
    assert post(client, session, "gate").status_code == 302
    session.refresh_from_db()
    assert session.state == "review"
    body = client.get(url(session)).content.decode()
    assert "positive suicide screen" in body and "Source: pre-session screen" in body


def test_it_names_the_screen_item_in_error(make_session: MakeSession, client: Client, clinic: Cast) -> None:
    session = make_session()
    client.force_login(clinic.nurse)
    fields = screen([0] * 9, {"q1": "no", "q2": "no", "q3": "yes", "q6": "no"})
    response = post(client, session, "screen", **fields)
    assert response.status_code == 400
    body = response.content.decode()
    assert 'id="id_screen-cssrs_screener_q3_error"' in body and "Must be left unanswered" in body


def test_it_offers_no_override_for_missing_consent(make_session: MakeSession, client: Client, clinic: Cast) -> None:
    session = make_session(consented=False)
    gate(session, clinic.nurse)
    client.force_login(clinic.prescriber)
    body = client.get(url(session)).content.decode()
    assert "Hard stop: no valid consent on file." in body and "Override the hold" not in body
    response = post(client, session, "override", reason=REASON)
    assert response.status_code == 400 and "Decision: Cannot be overridden" in response.content.decode()


def test_it_cancels_and_marks_no_shows_from_the_page(make_session: MakeSession, client: Client, clinic: Cast) -> None:
    absent = make_session(checked_in=False)  # 09:00, the time has begun
    first = make_session()  # 10:00
    later = make_session(checked_in=False)  # 11:00
    client.force_login(clinic.nurse)
    assert "Cancel the session" in client.get(url(first)).content.decode()
    response = post(client, first, "cancel", reason="")
    assert response.status_code == 400 and "This field is required." in response.content.decode()
    assert post(client, first, "cancel", reason="Feeling unwell; rebooked.").status_code == 302
    first.refresh_from_db()
    assert first.state == "cancelled"
    assert "Not dosing today" not in client.get(url(first)).content.decode()
    response = post(client, later, "no_show")
    assert response.status_code == 400 and "once the appointment time has begun" in response.content.decode()
    response = post(client, absent, "no_show")
    assert response.status_code == 302 and response["Location"] == url(absent)
    absent.refresh_from_db()
    assert absent.state == "no_show"
