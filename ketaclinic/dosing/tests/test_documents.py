"""The session note (draft, sign, co-sign, immutable, amendments) and the superbill."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from pypdf import PdfReader

from ketaclinic.audit.models import AuditEvent
from ketaclinic.conftest import Cast
from ketaclinic.dosing import discharge, documents
from ketaclinic.dosing.actions import DosingError
from ketaclinic.dosing.documents import StaleNoteError
from ketaclinic.dosing.models import (
    AdverseEvent,
    DosingSession,
    InfusionRateChange,
    NoteAmendment,
    RescueMedication,
    SessionAlert,
    SessionNote,
)
from ketaclinic.dosing.tests.session_data import (  # noqa: F401 (fixtures)
    Built,
    at,
    esk_fixture,
    esk_patient_fixture,
    iv_fixture,
    iv_patient_fixture,
    monitored_session,
    observe,
    recover,
)

pytestmark = pytest.mark.django_db
REASON = "Assessed at the chair: alert, steady gait, escort waiting; safe to leave now."


def discharged(built: Built, frozen_clock: Any, leave_at: int = 125) -> DosingSession:
    recover(built, minutes=leave_at)
    frozen_clock.move_to(at(leave_at))
    discharge.discharge_patient(built.session, by=built.cast.nurse, symptoms_resolved=True, escort_present=True)
    built.session.refresh_from_db()
    return built.session


# --- The note -------------------------------------------------------------------------------------------------------


def test_the_draft_tells_the_session_from_its_rows(esk: Built, frozen_clock: Any) -> None:
    session, nurse = esk.session, esk.cast.nurse
    observe(session, nurse, "moaas", 3, 20)
    SessionAlert.objects.create(
        session=session,
        code="safety.alert.bp_rise",
        level="warning",
        message="Systolic rose 42 mmHg from baseline.",
        raised_at=at(38),
        acknowledged_at=at(39),
        acknowledged_by=nurse,
        action="observed",
        action_note="repeat in 5 min",
    )
    SessionAlert.objects.create(session=session, code="safety.alert.heart_rate", level="warning", message="HR 121.")
    event = AdverseEvent.objects.create(
        session=session,
        kind="nausea_vomiting",
        severity="mild",
        onset_at=at(25),
        outcome="resolved",
        description="queasy",
        recorded_by=nurse,
    )
    RescueMedication.objects.create(
        session=session, adverse_event=event, medication="ondansetron", dose=4, route="oral", given_by=nurse
    )
    frozen_clock.move_to(at(70))
    discharge.record_ready_to_leave(session, by=nurse)
    discharged(esk, frozen_clock)
    text = documents.draft_note_text(session)
    assert text.startswith(
        "Dosing session, route esketamine_nasal, 2026-10-21 at Site A Clinic (times America/Chicago)."
    )
    assert "Check-in 09:00 by" in text and "escort Sam Escort (555-0199)" in text and "consent valid" in text
    assert "Pre-dose gate 09:00: go (no findings)." in text
    assert "Dose: 56.0 mg esketamine nasal spray (esketamine_nasal), ordered 56.0 mg; lot ESK-2291A" in text
    assert "Devices: #1 at 09:05, #2 at 09:10." in text
    assert "highest BP 126/80" in text
    assert "Alert (warning) 09:43: Systolic rose 42 mmHg from baseline. acknowledged 09:44" in text
    assert "observed; repeat measurement (repeat in 5 min)" in text and "HR 121. not acknowledged" in text
    assert "MOAA/S 3 at 09:25" in text and "Modified Aldrete 10 at" in text
    assert "Adverse event: nausea or vomiting (mild) from 09:30: queasy; resolved." in text
    assert "Given: ondansetron 4 mg oral at" in text
    assert "Would have been ready to leave at 10:15 (70 min after the start of the dose)." in text
    assert "Discharged 11:10 by" in text and "after 125 min of observation, recovery score 10; all criteria met" in text
    assert "No driving" in text


def test_the_draft_shows_overrides_and_an_overridden_discharge(
    clinic: Cast, iv_patient: Any, frozen_clock: Any
) -> None:
    high = {"systolic_mmhg": 185, "diastolic_mmhg": 100, "heart_rate_bpm": 72, "spo2_pct": 98}
    built = monitored_session(clinic, iv_patient, route="iv", baseline=high)
    InfusionRateChange.objects.create(
        administration=built.administration, at=at(10), rate_ml_per_h=50, reason="nausea", by=clinic.nurse
    )
    recover(built, aldrete=8)
    frozen_clock.move_to(at(125))
    discharge.discharge_patient(
        built.session, by=clinic.prescriber, symptoms_resolved=True, escort_present=True, override_reason=REASON
    )
    text = documents.draft_note_text(built.session)
    assert "Pre-dose gate 09:00: hold (hold:" in text
    assert "Hold overridden by" in text and "Rechecked; asymptomatic" in text
    assert "Started 09:05, stopped 09:45." in text and "Rate 50.0 mL/h at 09:15: nausea." in text
    assert (
        "after 85 min of observation, recovery score 8; criteria NOT met: Recovery score 8 is below 9. Systolic "
        "blood pressure 126 is more than 20 % from baseline 185. Discharged on the decision of"
    ) in text
    assert f"{REASON} Advised: No driving" in text


def test_a_draft_before_the_dose_says_so(make_session: Any) -> None:
    session = make_session()
    assert "Dose: not given." in documents.draft_note_text(session)


def test_the_nurse_saves_signs_and_the_prescriber_cosigns(esk: Built, frozen_clock: Any) -> None:
    session = discharged(esk, frozen_clock)
    nurse, prescriber = esk.cast.nurse, esk.cast.prescriber
    note = documents.save_note(session, by=nurse, text="  Draft one.  ", version=0)
    assert note.text == "Draft one." and note.version == 1 and not note.is_signed
    note = documents.save_note(session, by=nurse, text="Draft two.", version=1)
    assert note.version == 2
    note = documents.sign_note(session, by=nurse, text="Final text.", version=2)
    assert note.text == "Final text." and note.nurse_signed_by == nurse and note.is_signed and note.version == 4
    note = documents.cosign_note(session, by=prescriber, version=4)
    assert note.prescriber_signed_by == prescriber and note.prescriber_signed_at is not None
    actions = list(AuditEvent.objects.filter(object_type="dosing.sessionnote").order_by("id"))
    assert [(e.action, e.detail.get("role")) for e in actions] == [
        ("create", None),
        ("update", None),
        ("update", None),
        ("sign", "nurse"),
        ("sign", "prescriber"),
    ]
    assert all("text" not in str(e.detail).lower() for e in actions)


def test_a_signed_note_cannot_be_edited(esk: Built, frozen_clock: Any) -> None:
    session = discharged(esk, frozen_clock)
    note = documents.sign_note(session, by=esk.cast.nurse, text="Signed text.")
    with pytest.raises(DosingError, match="signed and cannot be edited") as error:
        documents.save_note(session, by=esk.cast.nurse, text="Rewritten.", version=note.version)
    assert error.value.field == "text"
    with pytest.raises(DosingError, match="signed and cannot be edited"):
        documents.sign_note(session, by=esk.cast.nurse, text="Rewritten.")
    assert SessionNote.objects.get().text == "Signed text."


def test_an_amendment_keeps_the_original(esk: Built, frozen_clock: Any) -> None:
    session = discharged(esk, frozen_clock)
    note = documents.sign_note(session, by=esk.cast.nurse, text="BP at 40 min 126/80.")
    amendment = documents.amend_note(
        session,
        by=esk.cast.prescriber,
        text="BP at 40 min was 136/80.",
        reason="transcription error",
        version=note.version,
    )
    note.refresh_from_db()
    assert note.text == "BP at 40 min 126/80." and note.version == 3
    assert list(note.amendments.all()) == [amendment] and amendment.by == esk.cast.prescriber
    assert AuditEvent.objects.filter(object_type="dosing.noteamendment", action="create").get().detail == {
        "note_id": note.pk
    }


def test_amendments_need_a_signed_note_text_and_reason(esk: Built, frozen_clock: Any) -> None:
    session = discharged(esk, frozen_clock)
    with pytest.raises(DosingError, match="only a signed note is amended"):
        documents.amend_note(session, by=esk.cast.nurse, text="x", reason="y")
    documents.save_note(session, by=esk.cast.nurse, text="Draft.")
    with pytest.raises(DosingError, match="only a signed note is amended"):
        documents.amend_note(session, by=esk.cast.nurse, text="x", reason="y")
    documents.sign_note(session, by=esk.cast.nurse, text="Signed.")
    with pytest.raises(DosingError) as no_text:
        documents.amend_note(session, by=esk.cast.nurse, text="  ", reason="why")
    assert no_text.value.field == "text"
    with pytest.raises(DosingError, match="1–300 characters") as no_reason:
        documents.amend_note(session, by=esk.cast.nurse, text="More.", reason=" ")
    assert no_reason.value.field == "reason"
    with pytest.raises(DosingError, match="1–300 characters"):
        documents.amend_note(session, by=esk.cast.nurse, text="More.", reason="r" * 301)
    assert not NoteAmendment.objects.exists()


def test_cosigning_needs_a_nurse_signature_a_second_person_and_happens_once(esk: Built, frozen_clock: Any) -> None:
    session, prescriber = discharged(esk, frozen_clock), esk.cast.prescriber
    with pytest.raises(DosingError, match="the nurse signs the note first"):
        documents.cosign_note(session, by=prescriber)
    documents.sign_note(session, by=prescriber, text="Signed by the prescriber at the chair.")
    with pytest.raises(DosingError, match="another prescriber co-signs"):
        documents.cosign_note(session, by=prescriber)
    with pytest.raises(PermissionDenied):
        documents.cosign_note(session, by=esk.cast.nurse)
    SessionNote.objects.update(nurse_signed_by=esk.cast.nurse)
    documents.cosign_note(session, by=prescriber)
    with pytest.raises(DosingError, match="already co-signed"):
        documents.cosign_note(session, by=prescriber)


def test_a_stale_note_version_is_refused(esk: Built, frozen_clock: Any) -> None:
    session = discharged(esk, frozen_clock)
    documents.save_note(session, by=esk.cast.nurse, text="First.")
    with pytest.raises(StaleNoteError) as stale:
        documents.save_note(session, by=esk.cast.prescriber, text="Other screen.", version=0)
    assert stale.value.note.version == 1
    assert SessionNote.objects.get().text == "First."


def test_the_note_needs_text_an_arrived_patient_and_a_clinician(make_session: Any, clinic: Cast) -> None:
    booked = make_session(checked_in=False)
    with pytest.raises(DosingError, match="a booked session has no note"):
        documents.save_note(booked, by=clinic.nurse, text="Nothing yet.")
    session = make_session()
    with pytest.raises(DosingError, match="write the note text"):
        documents.save_note(session, by=clinic.nurse, text=" ")
    with pytest.raises(PermissionDenied):
        documents.save_note(session, by=clinic.therapist, text="Therapist note.")


# --- The superbill ------------------------------------------------------------------------------------------------


def test_an_esketamine_superbill_bills_by_devices(esk: Built, frozen_clock: Any) -> None:
    session = discharged(esk, frozen_clock)
    bill = documents.superbill(session)
    assert [(line.code, line.units) for line in bill.lines] == [("G2082", 1)]
    assert bill.esketamine_dose_mg == 56 and bill.infusion_minutes is None
    assert bill.diagnoses == [("F33.2", "MDD, recurrent, severe")]


def test_84_mg_is_g2083(clinic: Cast, esk_patient: Any) -> None:
    built = monitored_session(clinic, esk_patient, route="esketamine_nasal", devices=3)
    assert [line.code for line in documents.superbill(built.session).lines] == ["G2083"]


def test_an_iv_superbill_bills_by_infusion_minutes(clinic: Cast, iv_patient: Any) -> None:
    forty = monitored_session(clinic, iv_patient, route="iv", infusion_min=40)
    bill = documents.superbill(forty.session)
    assert [(line.code, line.units) for line in bill.lines] == [("96365", 1), ("J3490", 1)]
    assert bill.infusion_minutes == 40
    forty.administration.stopped_at = at(100)
    forty.administration.save(update_fields=["stopped_at"])
    assert [(line.code, line.units) for line in documents.superbill(forty.session).lines] == [
        ("96365", 1),
        ("96366", 1),
        ("J3490", 1),
    ]


def test_the_csv_has_one_row_per_code(clinic: Cast, iv_patient: Any) -> None:
    built = monitored_session(clinic, iv_patient, route="iv", infusion_min=100)
    content, filename, kind = documents.export_superbill(built.session, by=clinic.nurse, fmt="csv")
    rows = list(csv.DictReader(io.StringIO(content.decode())))
    assert [r["code"] for r in rows] == ["96365", "96366", "J3490"]
    assert rows[0]["mrn"] == built.session.patient.mrn and rows[0]["service_date"] == "2026-10-21"
    assert rows[0]["diagnoses"] == "F33.2" and rows[0]["patient"] == "Robin Testperson"
    assert filename == f"{built.session.patient.mrn}-superbill-2026-10-21.csv" and kind.startswith("text/csv")
    event = AuditEvent.objects.get(action="export")
    assert event.detail == {"document": "superbill", "format": "csv"} and event.patient_id == built.session.patient_id


def test_the_pdf_lists_codes_and_diagnoses(esk: Built, frozen_clock: Any) -> None:
    session = discharged(esk, frozen_clock)
    content, filename, kind = documents.export_superbill(session, by=esk.cast.nurse, fmt="pdf")
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    assert kind == "application/pdf" and filename.endswith(".pdf")
    assert "G2082" in text and "F33.2" in text and "Robin Testperson" in text and "2026-10-21" in text


def test_the_superbill_needs_a_complete_dose_record(clinic: Cast, iv_patient: Any, make_session: Any) -> None:
    with pytest.raises(DosingError, match="the dose is not recorded"):
        documents.superbill(make_session())
    running = monitored_session(clinic, iv_patient, route="iv", infusion_min=None)
    with pytest.raises(DosingError, match="has not been stopped"):
        documents.superbill(running.session)
    with pytest.raises(DosingError, match="pdf or csv"):
        documents.export_superbill(running.session, by=clinic.nurse, fmt="xls")
    with pytest.raises(PermissionDenied):
        documents.export_superbill(running.session, by=clinic.coordinator, fmt="csv")


def test_the_superbill_needs_a_device_for_esketamine(esk: Built) -> None:
    esk.administration.devices.all().delete()
    with pytest.raises(DosingError, match="no esketamine device"):
        documents.superbill(esk.session)


def test_an_impossible_infusion_time_is_reported_not_crashed(clinic: Cast, iv_patient: Any) -> None:
    built = monitored_session(clinic, iv_patient, route="iv", infusion_min=1500)
    with pytest.raises(DosingError, match="outside the allowed range") as error:
        documents.superbill(built.session)
    assert error.value.field == "infusion_minutes"


def test_a_route_without_an_administration_code_bills_nothing(clinic: Cast, iv_patient: Any) -> None:
    built = monitored_session(clinic, iv_patient, route="iv")
    DosingSession.objects.filter(pk=built.session.pk).update(route="sublingual")
    built.session.refresh_from_db()
    assert documents.superbill(built.session).lines == []


def test_the_draft_lists_new_medicines_and_a_booked_session_has_no_checkin(make_session: Any) -> None:
    session = make_session(new_medications_or_substances=True, new_medications_text="cetirizine 10 mg yesterday")
    assert "New medicines or substances: cetirizine 10 mg yesterday." in documents.draft_note_text(session)
    booked = make_session(checked_in=False)
    assert "Check-in" not in documents.draft_note_text(booked)


def test_documents_fetch_nothing_from_outside() -> None:
    with pytest.raises(ValueError, match="load no external resources"):
        documents._refuse_fetching("https://example.com/logo.png")
