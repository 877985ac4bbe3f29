"""The discharge panel and its endpoints: permissions, errors next to the field with typed values kept, 409 on a
stale version, the note's forms and the superbill downloads."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from ketaclinic.audit.models import AuditEvent
from ketaclinic.conftest import Cast
from ketaclinic.dosing import discharge, documents
from ketaclinic.dosing.models import Discharge, DosingSession, SessionNote
from ketaclinic.dosing.tests.session_data import (  # noqa: F401 (fixtures)
    Built,
    at,
    esk_fixture,
    esk_patient_fixture,
    iv_fixture,
    iv_patient_fixture,
    monitored_session,
    recover,
)

pytestmark = pytest.mark.django_db
REASON = "Assessed at the chair: alert, steady gait, escort waiting; safe to leave now."


def url(session: DosingSession, name: str, *extra: Any) -> str:
    return reverse(f"dosing:{name}", args=[session.patient_id, session.pk, *extra])


def post(client: Client, session: DosingSession, name: str, prefix: str, **fields: Any) -> Any:
    data = {f"{prefix}-{k}": v for k, v in fields.items()}
    data.setdefault(f"{prefix}-version", session.version)
    return client.post(url(session, name), data)


def page(client: Client, session: DosingSession) -> str:
    response = client.get(url(session, "session"))
    assert response.status_code == 200
    return response.content.decode()


def test_the_panel_shows_minutes_the_ready_button_and_what_blocks_discharge(
    esk: Built, client: Client, frozen_clock: Any
) -> None:
    frozen_clock.move_to(at(30))
    client.force_login(esk.cast.nurse)
    html = page(client, esk.session)
    assert 'id="minutes-since-dose">30 min' in html and "Would be ready to leave now" in html
    assert "Discharge blocked" in html and "No modified Aldrete or PADSS score since the dose." in html
    assert "Sam Escort (555-0199)" in html
    assert "Record what is missing first" in html and "Tell the patient and the escort" not in html
    client.force_login(esk.cast.prescriber)
    assert "Discharge despite unmet criteria" not in page(client, esk.session)
    recover(esk, minutes=100)
    frozen_clock.move_to(at(100))
    client.logout()
    client.force_login(esk.cast.prescriber)  # signed in again after the idle time
    html = page(client, esk.session)
    assert "This cannot be overridden." in html and "Discharge despite unmet criteria" not in html
    assert "Observed 100 min since the first device" in html


def test_ready_to_leave_is_recorded_once(esk: Built, client: Client, frozen_clock: Any) -> None:
    frozen_clock.move_to(at(64))
    client.force_login(esk.cast.nurse)
    assert post(client, esk.session, "ready_to_leave", "ready").status_code == 302
    esk.session.refresh_from_db()
    assert esk.session.ready_to_leave_at == at(64)
    assert "64 min after the start of the dose" in page(client, esk.session)
    again = post(client, esk.session, "ready_to_leave", "ready")
    assert again.status_code == 400 and b"Ready to leave at: Already recorded at 10:09." in again.content


def test_a_stale_version_answers_409_and_keeps_what_was_typed(esk: Built, client: Client, frozen_clock: Any) -> None:
    recover(esk, aldrete=7)
    frozen_clock.move_to(at(125))
    client.force_login(esk.cast.prescriber)
    stale = post(
        client,
        esk.session,
        "discharge",
        "discharge",
        version=esk.session.version - 1,
        symptoms_resolved="on",
        escort_present="on",
        override_reason=REASON,
    )
    assert stale.status_code == 409
    html = stale.content.decode()
    assert "Someone else changed this session" in html and REASON in html
    assert not Discharge.objects.exists()


def test_a_blocked_discharge_names_the_criteria_and_keeps_the_reason(
    esk: Built, client: Client, frozen_clock: Any
) -> None:
    recover(esk, aldrete=7)
    frozen_clock.move_to(at(125))
    client.force_login(esk.cast.prescriber)
    assert "Discharge despite unmet criteria" in page(client, esk.session)
    response = post(
        client, esk.session, "discharge", "discharge", symptoms_resolved="on", escort_present="on", override_reason="ok"
    )
    assert response.status_code == 400
    assert b"Reason: Write at least 20 characters (got 2)." in response.content
    assert b'name="discharge-override_reason"' in response.content and b">\nok</textarea>" in response.content
    blocked = post(client, esk.session, "discharge", "discharge", symptoms_resolved="on", escort_present="on")
    assert blocked.status_code == 400 and b"Discharge is blocked: Recovery score 7 is below 9." in blocked.content
    assert not Discharge.objects.exists()


def test_a_nurse_cannot_override_a_blocked_discharge(esk: Built, client: Client, frozen_clock: Any) -> None:
    recover(esk, aldrete=7)
    frozen_clock.move_to(at(125))
    client.force_login(esk.cast.nurse)
    assert "Only a prescriber can discharge before every criterion is met." in page(client, esk.session)
    response = post(
        client,
        esk.session,
        "discharge",
        "discharge",
        symptoms_resolved="on",
        escort_present="on",
        override_reason=REASON,
    )
    assert response.status_code == 403
    assert not Discharge.objects.exists()


def test_a_prescriber_override_discharges_through_the_form(esk: Built, client: Client, frozen_clock: Any) -> None:
    recover(esk, aldrete=7)
    frozen_clock.move_to(at(125))
    client.force_login(esk.cast.prescriber)
    response = post(
        client,
        esk.session,
        "discharge",
        "discharge",
        symptoms_resolved="on",
        escort_present="on",
        override_reason=REASON,
    )
    assert response.status_code == 302 and response["Location"].endswith("#discharge")
    record = Discharge.objects.get()
    assert not record.ready and record.override_by == esk.cast.prescriber
    assert AuditEvent.objects.filter(action="override", object_type="dosing.discharge").count() == 1
    html = page(client, esk.session)
    assert "criteria not met" in html and "No driving or operating machinery" in html


def test_the_check_moves_to_ready_and_the_nurse_discharges(esk: Built, client: Client, frozen_clock: Any) -> None:
    recover(esk)
    frozen_clock.move_to(at(125))
    client.force_login(esk.cast.nurse)
    html = page(client, esk.session)
    assert "All discharge criteria met" in html and "Discharge the patient" in html
    assert "Tell the patient and the escort" in html and "No driving" in html
    checked = post(
        client, esk.session, "discharge_check", "discharge_check", symptoms_resolved="on", escort_present="on"
    )
    assert checked.status_code == 302
    esk.session.refresh_from_db()
    assert esk.session.state == "ready_for_discharge"
    unchecked = post(client, esk.session, "discharge_check", "discharge_check", symptoms_resolved="on")
    assert unchecked.status_code == 302
    esk.session.refresh_from_db()
    assert esk.session.state == "monitoring"
    done = post(client, esk.session, "discharge", "discharge", symptoms_resolved="on", escort_present="on")
    assert done.status_code == 302
    esk.session.refresh_from_db()
    assert esk.session.state == "discharged"
    html = page(client, esk.session)
    assert "SPRAVATO REMS Patient Monitoring Form" in html and "Superbill" in html and "G2082" in html


def test_a_missing_version_is_a_400_naming_the_field(esk: Built, client: Client) -> None:
    client.force_login(esk.cast.nurse)
    response = client.post(url(esk.session, "ready_to_leave"), {})
    assert response.status_code == 400


@pytest.mark.parametrize("name", ["ready_to_leave", "discharge_check", "discharge", "note_save", "note_amend"])
def test_other_roles_and_sites_cannot_post(esk: Built, client: Client, clinic: Cast, name: str) -> None:
    client.force_login(clinic.therapist)
    assert client.post(url(esk.session, name), {}).status_code == 403
    client.force_login(clinic.nurse_b)
    assert client.post(url(esk.session, name), {}).status_code == 404
    client.logout()
    assert client.post(url(esk.session, name), {}).status_code == 302


def test_the_note_is_drafted_saved_signed_cosigned_and_amended(
    esk: Built, client: Client, frozen_clock: Any, clinic: Cast
) -> None:
    recover(esk)
    frozen_clock.move_to(at(125))
    discharge.discharge_patient(esk.session, by=clinic.nurse, symptoms_resolved=True, escort_present=True)
    client.force_login(clinic.nurse)
    html = page(client, esk.session)
    assert "Prefilled from the session" in html and "Dose: 56.0 mg esketamine" in html
    assert post(client, esk.session, "note_save", "note", version=0, text="Draft text.").status_code == 302
    note = SessionNote.objects.get()
    signed = post(client, esk.session, "note_sign", "note", version=note.version, text="Final text.")
    assert signed.status_code == 302
    html = page(client, esk.session)
    assert "awaiting the prescriber" in html and "Sign the note" not in html and "Co-sign the note" not in html
    note.refresh_from_db()
    client.force_login(clinic.prescriber)
    assert "Co-sign the note" in page(client, esk.session)
    assert post(client, esk.session, "note_cosign", "cosign", version=note.version).status_code == 302
    note.refresh_from_db()
    amended = post(
        client,
        esk.session,
        "note_amend",
        "amend",
        version=note.version,
        text="Added: escort was her husband.",
        reason="late entry",
    )
    assert amended.status_code == 302
    html = page(client, esk.session)
    assert 'id="note-original">Final text.</pre>' in html and "Added: escort was her husband." in html
    assert "Reason: late entry" in html and "co-signed by" in html


def test_a_nurse_cannot_cosign(esk: Built, client: Client, clinic: Cast, frozen_clock: Any) -> None:
    documents.sign_note(esk.session, by=clinic.nurse, text="Signed.")
    client.force_login(clinic.nurse)
    assert post(client, esk.session, "note_cosign", "cosign", version=2).status_code == 403


def test_a_stale_note_answers_409_and_keeps_the_text(esk: Built, client: Client, clinic: Cast) -> None:
    documents.save_note(esk.session, by=clinic.prescriber, text="Saved elsewhere.")
    client.force_login(clinic.nurse)
    typed = "My longer version of the note."
    response = post(client, esk.session, "note_save", "note", version=0, text=typed)
    assert response.status_code == 409
    assert b"Someone else changed the note" in response.content and typed.encode() in response.content
    assert SessionNote.objects.get().text == "Saved elsewhere."


def test_editing_a_signed_note_is_refused_with_400(esk: Built, client: Client, clinic: Cast) -> None:
    note = documents.sign_note(esk.session, by=clinic.nurse, text="Signed.")
    client.force_login(clinic.nurse)
    response = post(client, esk.session, "note_save", "note", version=note.version, text="Changed.")
    assert response.status_code == 400 and b"cannot be edited; add an amendment instead" in response.content
    assert b"What you typed (not saved)" in response.content and b"Changed." in response.content
    empty_reason = post(client, esk.session, "note_amend", "amend", version=note.version, text="More.", reason="")
    assert empty_reason.status_code == 400 and b"More." in empty_reason.content


def test_the_superbill_downloads_as_pdf_and_csv(
    clinic: Cast, iv_patient: Any, client: Client, frozen_clock: Any
) -> None:
    built = monitored_session(clinic, iv_patient, route="iv", infusion_min=40)
    client.force_login(clinic.nurse)
    csv_response = client.get(url(built.session, "superbill", "csv"))
    assert csv_response.status_code == 200 and csv_response["Content-Type"].startswith("text/csv")
    assert b"96365" in csv_response.content and "attachment" in csv_response["Content-Disposition"]
    pdf_response = client.get(url(built.session, "superbill", "pdf"))
    assert pdf_response.status_code == 200 and pdf_response.content.startswith(b"%PDF")
    assert AuditEvent.objects.filter(action="export").count() == 2
    assert client.get(url(built.session, "superbill", "xls")).status_code == 400
    client.force_login(clinic.coordinator)
    assert client.get(url(built.session, "superbill", "csv")).status_code == 403


def test_a_superbill_problem_is_shown_after_discharge(clinic: Cast, iv_patient: Any, client: Client) -> None:
    built = monitored_session(clinic, iv_patient, route="iv", infusion_min=1500)
    DosingSession.objects.filter(pk=built.session.pk).update(state="discharged")
    client.force_login(clinic.nurse)
    assert "is outside the allowed range" in page(client, built.session)
