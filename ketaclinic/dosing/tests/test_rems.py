"""The REMS Patient Monitoring Form: values from the session, the PDF read back, the due date, the REMS list."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse
from pypdf import PdfReader

from ketaclinic import clinical
from ketaclinic.accounts.roles import Role
from ketaclinic.accounts.tests.matrix import PermissionMatrix
from ketaclinic.audit.models import AuditEvent
from ketaclinic.clinical.safety import RemsFieldKind
from ketaclinic.conftest import Cast
from ketaclinic.dosing import discharge, documents
from ketaclinic.dosing.actions import DosingError
from ketaclinic.dosing.models import AdverseEvent, RemsForm, SessionAlert
from ketaclinic.dosing.tests.session_data import (  # noqa: F401 (fixtures)
    CALM,
    Built,
    at,
    esk_fixture,
    esk_patient_fixture,
    iv_fixture,
    iv_patient_fixture,
    monitored_session,
    observe,
    recover,
    vitals,
)
from ketaclinic.patients.actions import add_entry
from ketaclinic.patients.models import MedicationEntry

pytestmark = pytest.mark.django_db
FOOTER = re.compile(r" ?Session \d+ · generated [\d-]+ [\d:]+ Page \d+ of \d+ ?")
ADDRESS = "1200 Lake Shore Drive, Suite 4\nChicago, IL 60610"


@pytest.fixture(autouse=True)
def _site_contact(clinic: Cast) -> None:
    clinic.site_a.address, clinic.site_a.phone = ADDRESS, "312-555-0100"
    clinic.site_a.save(update_fields=["address", "phone"])


def finish(built: Built, frozen_clock: Any, *, ready_at: int = 62, leave_at: int = 125) -> RemsForm:
    """Ready to leave at ``ready_at`` min, recovered, discharged at ``leave_at`` min after the first device."""
    recover(built, minutes=leave_at)
    frozen_clock.move_to(at(ready_at))
    discharge.record_ready_to_leave(built.session, by=built.cast.nurse)
    frozen_clock.move_to(at(leave_at))
    discharge.discharge_patient(built.session, by=built.cast.nurse, symptoms_resolved=True, escort_present=True)
    return RemsForm.objects.get(session=built.session)


def pdf_text(form: RemsForm) -> str:
    with form.pdf.open("rb") as handle:
        reader = PdfReader(io.BytesIO(handle.read()))
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    # The page footers ("Session 1 · generated … Page 1 of 2") may fall between a label and its value.
    return FOOTER.sub(" ", text)


def printed(text: str) -> dict[str, str]:
    """Each form label's printed value, read from the PDF text in form order (label, value, next label …)."""
    labels = [f.label for f in clinical.rems_form_fields()]
    out: dict[str, str] = {}
    position = 0
    for index, label in enumerate(labels):
        start = text.index(label, position) + len(label)
        end = (
            text.index(labels[index + 1], start)
            if index + 1 < len(labels)
            else text.index("Filled by KetaClinic", start)
        )
        out[clinical.rems_form_fields()[index].name] = text[start:end].strip()
        position = end
    return out


def test_the_pdf_carries_every_field_as_the_session_recorded_it(
    esk: Built, frozen_clock: Any, media_root: Path
) -> None:
    patient, cast = esk.session.patient, esk.cast
    add_entry(MedicationEntry, patient, by=cast.nurse, name="lorazepam", drug_class="benzodiazepine")
    add_entry(MedicationEntry, patient, by=cast.nurse, name="methylphenidate", drug_class="psychostimulant")
    observe(esk.session, cast.nurse, "moaas", 3, 20)  # sedated at 20 min
    observe(esk.session, cast.nurse, "cadss", 0, 20)
    vitals(esk.session, 35, {"systolic_mmhg": 150, "diastolic_mmhg": 90, "heart_rate_bpm": 80, "spo2_pct": 97})
    form = finish(esk, frozen_clock)
    values = printed(pdf_text(form))

    assert values["patient_name"] == "Robin Testperson"
    assert values["patient_dob"] == "1980-05-01"
    assert values["patient_sex"] == "Female"
    assert values["first_treatment"] == "Yes"
    assert values["patient_enrolled"] == "Yes"
    assert values["concomitant_benzodiazepines"] == "Yes"
    assert values["concomitant_sedative_hypnotics"] == "No"
    assert values["concomitant_psychostimulants"] == "Yes"
    assert values["concomitant_maois"] == "No"
    assert values["concomitant_opioids"] == "No"
    assert values["monitoring_hcp_name"] == str(cast.nurse)
    assert values["monitoring_hcp_phone"] == "312-555-0100"
    assert values["monitoring_hcp_email"] == "nurse@example.invalid"
    assert values["setting_name"] == "Site A Clinic"
    assert values["setting_address"] == "1200 Lake Shore Drive, Suite 4 Chicago, IL 60610"
    assert values["treatment_date"] == "2026-10-21"
    assert values["dose"] == "56 mg"
    assert values["dose_other_mg"] == "not recorded"
    assert values["lot_number"] == "ESK-2291A"
    assert values["total_monitoring_min"] == "125 min"
    assert values["ready_to_leave_min"] == "62 min"
    assert values["vitals_acceptable_before_administration"] == "Yes"
    assert values["vitals_acceptable_before_completion"] == "Yes"
    assert values["bp_before_administration"] == f"{CALM['systolic_mmhg']}/{CALM['diastolic_mmhg']} mmHg"
    assert values["bp_40_min"] == "126/80 mmHg"  # the set taken for timepoint 40, not the closer-to-start 150/90
    assert values["bp_before_completion"] == "126/80 mmHg"
    assert values["sedation"] == "Yes"
    assert values["dissociation"] == "No"
    assert values["respiratory_depression"] == "No"
    assert form.problems == []
    assert "Submit to the REMS by 2026-10-28" in pdf_text(form)


def test_it_stores_the_pdf_with_its_sha256_and_the_values_as_json(esk: Built, frozen_clock: Any) -> None:
    form = finish(esk, frozen_clock)
    with form.pdf.open("rb") as handle:
        assert hashlib.sha256(handle.read()).hexdigest() == form.pdf_sha256
    assert form.values["patient_dob"] == "1980-05-01" and form.values["bp_40_min"] == [126, 80]
    assert form.due_on == dt.date(2026, 10, 28) == clinical.rems_due_date(dt.date(2026, 10, 21))
    assert form.generated_by == esk.cast.nurse
    event = AuditEvent.objects.get(object_type="dosing.remsform", action="create")
    assert event.detail == {"problems": 0}


def test_the_40_minute_pressure_is_the_closest_set_between_30_and_60_minutes(esk: Built) -> None:
    start = at(0)
    assert documents.bp_at_40_min(esk.session, start) is None
    vitals(esk.session, 25)
    late = vitals(esk.session, 50, {"systolic_mmhg": 140, "diastolic_mmhg": 85, "heart_rate_bpm": 70, "spo2_pct": 98})
    assert documents.bp_at_40_min(esk.session, start) == late
    near = vitals(esk.session, 37, {"systolic_mmhg": 138, "diastolic_mmhg": 84, "heart_rate_bpm": 70, "spo2_pct": 98})
    assert documents.bp_at_40_min(esk.session, start) == near


def test_it_reports_dissociation_and_respiratory_depression_from_alerts_and_events(
    esk: Built, frozen_clock: Any
) -> None:
    session, nurse = esk.session, esk.cast.nurse
    observe(session, nurse, "cadss6", 2, 30)
    SessionAlert.objects.create(
        session=session,
        code="safety.alert.spo2",
        level="urgent",
        message="SpO2 90 %.",
        raised_at=at(15),
        acknowledged_at=at(16),
        acknowledged_by=nurse,
        action="observed",
    )
    form = finish(esk, frozen_clock)
    assert form.values["dissociation"] is True and form.values["respiratory_depression"] is True
    assert form.values["sedation"] is False


def test_an_event_alone_counts(esk: Built, frozen_clock: Any) -> None:
    for kind in ("dissociation", "respiratory_depression"):
        AdverseEvent.objects.create(
            session=esk.session,
            kind=kind,
            severity="mild",
            onset_at=at(20),
            outcome="resolved",
            recorded_by=esk.cast.nurse,
        )
    values = documents.rems_values(esk.session)
    assert values["dissociation"] is True and values["respiratory_depression"] is True


def test_a_high_respiratory_rate_warning_is_not_respiratory_depression(esk: Built) -> None:
    SessionAlert.objects.create(session=esk.session, code="safety.alert.resp_rate", level="warning", message="RR 32.")
    assert documents.rems_values(esk.session)["respiratory_depression"] is False
    SessionAlert.objects.create(session=esk.session, code="safety.alert.resp_rate", level="urgent", message="RR 8.")
    assert documents.rems_values(esk.session)["respiratory_depression"] is True


def test_a_later_session_is_not_the_first_treatment_and_lists_what_is_missing(
    esk: Built, frozen_clock: Any, clinic: Cast
) -> None:
    finish(esk, frozen_clock)
    frozen_clock.move_to(at(0) + dt.timedelta(days=3))
    later = monitored_session(clinic, esk.session.patient, route="esketamine_nasal", devices=3, day_offset=3)
    clinic.site_a.phone = ""
    clinic.site_a.save(update_fields=["phone"])
    values = documents.rems_values(later.session)
    assert values["first_treatment"] is False
    assert values["dose"] == "84 mg" and values["ready_to_leave_min"] is None and values["total_monitoring_min"] is None
    problems = clinical.check_rems_form(values)
    assert "Monitoring healthcare provider phone: not recorded." in problems
    assert any(p.startswith("Minutes from start of administration") for p in problems)


def test_an_other_dose_is_reported_with_its_amount(clinic: Cast, esk_patient: Any) -> None:
    built = monitored_session(clinic, esk_patient, route="esketamine_nasal", devices=1)
    values = documents.rems_values(built.session)
    assert values["dose"] == "other" and values["dose_other_mg"] == 28


def test_a_vitals_hold_overridden_is_not_acceptable_before_administration(clinic: Cast, esk_patient: Any) -> None:
    high = {**CALM, "systolic_mmhg": 185, "diastolic_mmhg": 100}
    built = monitored_session(clinic, esk_patient, route="esketamine_nasal", baseline=high)
    assert documents.rems_values(built.session)["vitals_acceptable_before_administration"] is False


def test_a_confirmed_vitals_review_is_acceptable_before_administration(clinic: Cast, esk_patient: Any) -> None:
    raised = {**CALM, "systolic_mmhg": 150, "diastolic_mmhg": 92}
    built = monitored_session(clinic, esk_patient, route="esketamine_nasal", baseline=raised)
    assert built.session.decisions.get().decision == "review"
    assert documents.rems_values(built.session)["vitals_acceptable_before_administration"] is True


def test_the_form_is_for_esketamine_only(iv: Built, frozen_clock: Any) -> None:
    recover(iv, minutes=40 + discharge.minutes_needed(iv.session))
    frozen_clock.move_to(at(40 + discharge.minutes_needed(iv.session)))
    discharge.discharge_patient(iv.session, by=iv.cast.nurse, symptoms_resolved=True, escort_present=True)
    assert not RemsForm.objects.exists()
    with pytest.raises(DosingError, match="esketamine sessions only"):
        documents.generate_rems_form(iv.session, by=iv.cast.nurse)


def test_it_is_filled_at_discharge_only(esk: Built) -> None:
    with pytest.raises(DosingError, match="filled at discharge"):
        documents.generate_rems_form(esk.session, by=esk.cast.nurse)


def test_it_needs_the_dose_record(esk: Built) -> None:
    esk.administration.devices.all().delete()
    esk.administration.delete()
    with pytest.raises(DosingError, match="needs the dose record"):
        documents.rems_values(esk.session)


def test_it_can_be_filled_again_until_submitted(
    esk: Built, frozen_clock: Any, media_root: Path, django_capture_on_commit_callbacks: Any
) -> None:
    form = finish(esk, frozen_clock)
    first_pdf = form.pdf.name
    esk.cast.site_a.phone = "312-555-0199"
    esk.cast.site_a.save(update_fields=["phone"])
    with django_capture_on_commit_callbacks(execute=True):
        refreshed = documents.generate_rems_form(esk.session, by=esk.cast.prescriber)
    assert refreshed.pk == form.pk and refreshed.values["monitoring_hcp_phone"] == "312-555-0199"
    assert refreshed.pdf.name != first_pdf and not (media_root / first_pdf).exists()
    documents.mark_rems_submitted(refreshed, by=esk.cast.nurse, confirmation=" RX-99812 ")
    refreshed.refresh_from_db()
    assert refreshed.confirmation == "RX-99812" and refreshed.submitted_by == esk.cast.nurse
    with pytest.raises(DosingError, match="already submitted"):
        documents.generate_rems_form(esk.session, by=esk.cast.nurse)
    with pytest.raises(DosingError, match="already marked submitted on 2026-10-21"):
        documents.mark_rems_submitted(refreshed, by=esk.cast.nurse)
    event = AuditEvent.objects.filter(object_type="dosing.remsform", action="update").order_by("id").last()
    assert event is not None and event.detail == {"submitted": True, "late": False}


def test_submitting_checks_the_role_and_the_confirmation_length(esk: Built, frozen_clock: Any) -> None:
    form = finish(esk, frozen_clock)
    with pytest.raises(PermissionDenied):
        documents.mark_rems_submitted(form, by=esk.cast.coordinator)
    with pytest.raises(DosingError) as error:
        documents.mark_rems_submitted(form, by=esk.cast.nurse, confirmation="9" * 61)
    assert error.value.field == "confirmation"


# --- The REMS list ---------------------------------------------------------------------------------------------


class TestRemsList(PermissionMatrix):
    allowed = {Role.NURSE, Role.PRESCRIBER}

    def url(self, cast: Cast) -> str:
        return reverse("dosing_site:rems")


def test_the_list_shows_open_forms_and_flags_overdue_ones(
    esk: Built, frozen_clock: Any, client: Client, clinic: Cast
) -> None:
    form = finish(esk, frozen_clock)
    client.force_login(clinic.nurse)
    page = client.get(reverse("dosing_site:rems"))
    assert page.status_code == 200
    assert f'id="rems-{form.pk}"' in page.content.decode() and b"7 days left" in page.content
    frozen_clock.move_to(dt.datetime(2026, 10, 29, 15, 0, tzinfo=dt.UTC))
    client.force_login(clinic.nurse)  # a week later: signed in again
    page = client.get(reverse("dosing_site:rems"))
    assert b"1 overdue" in page.content and b'class="overdue"' in page.content
    # The other site's nurse sees nothing of site A.
    client.force_login(clinic.nurse_b)
    assert f'id="rems-{form.pk}"' not in client.get(reverse("dosing_site:rems")).content.decode()
    assert AuditEvent.objects.filter(object_type="dosing.remsform", action="list").count() == 3


def test_marking_submitted_takes_it_off_the_list(esk: Built, frozen_clock: Any, client: Client, clinic: Cast) -> None:
    form = finish(esk, frozen_clock)
    client.force_login(clinic.nurse)
    url = reverse("dosing_site:rems_submitted", args=[form.pk])
    response = client.post(url, {f"rems{form.pk}-confirmation": "RX-1"})
    assert response.status_code == 302
    form.refresh_from_db()
    assert form.submitted_at is not None and form.confirmation == "RX-1"
    assert f'id="rems-{form.pk}"' not in client.get(reverse("dosing_site:rems")).content.decode()
    again = client.post(url, {f"rems{form.pk}-confirmation": "RX-2"})
    assert again.status_code == 400
    form.refresh_from_db()
    assert form.confirmation == "RX-1"


def test_a_too_long_confirmation_is_refused_and_kept(
    esk: Built, frozen_clock: Any, client: Client, clinic: Cast
) -> None:
    form = finish(esk, frozen_clock)
    client.force_login(clinic.nurse)
    typed = "X" * 61
    response = client.post(
        reverse("dosing_site:rems_submitted", args=[form.pk]), {f"rems{form.pk}-confirmation": typed}
    )
    assert response.status_code == 400 and typed.encode() in response.content
    form.refresh_from_db()
    assert form.submitted_at is None


def test_marking_submitted_is_limited_to_the_forms_site_and_roles(
    esk: Built, frozen_clock: Any, client: Client, clinic: Cast
) -> None:
    form = finish(esk, frozen_clock)
    url = reverse("dosing_site:rems_submitted", args=[form.pk])
    client.force_login(clinic.nurse_b)
    assert client.post(url, {}).status_code == 404
    client.force_login(clinic.coordinator)
    assert client.post(url, {}).status_code == 403
    client.force_login(clinic.nurse)
    assert client.post(reverse("dosing_site:rems_submitted", args=[form.pk + 100]), {}).status_code == 404
    form.refresh_from_db()
    assert form.submitted_at is None


def test_the_session_page_shows_the_form_and_serves_its_pdf(
    esk: Built, frozen_clock: Any, client: Client, clinic: Cast
) -> None:
    form = finish(esk, frozen_clock)
    client.force_login(clinic.nurse)
    session_url = reverse("dosing:session", args=[esk.session.patient_id, esk.session.pk])
    page = client.get(session_url).content.decode()
    assert "SPRAVATO REMS Patient Monitoring Form" in page and "Wed 2026-10-28" in page
    pdf = client.get(reverse("dosing:rems_pdf", args=[esk.session.patient_id, esk.session.pk]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert hashlib.sha256(pdf.content).hexdigest() == form.pdf_sha256
    refresh = client.post(reverse("dosing:rems_refresh", args=[esk.session.patient_id, esk.session.pk]))
    assert refresh.status_code == 302


def test_there_is_no_pdf_before_discharge(esk: Built, client: Client, clinic: Cast) -> None:
    client.force_login(clinic.nurse)
    args = [esk.session.patient_id, esk.session.pk]
    assert client.get(reverse("dosing:rems_pdf", args=args)).status_code == 404
    refused = client.post(reverse("dosing:rems_refresh", args=args))
    assert refused.status_code == 400 and b"filled at discharge" in refused.content


def test_only_medicines_taken_on_the_treatment_date_count(esk: Built) -> None:
    patient, nurse = esk.session.patient, esk.cast.nurse
    add_entry(
        MedicationEntry,
        patient,
        by=nurse,
        name="lorazepam",
        drug_class="benzodiazepine",
        started_on=dt.date(2026, 1, 1),
        stopped_on=dt.date(2026, 10, 1),
    )
    add_entry(MedicationEntry, patient, by=nurse, name="phenelzine", drug_class="maoi", started_on=dt.date(2026, 11, 1))
    add_entry(MedicationEntry, patient, by=nurse, name="zolpidem", drug_class="z_drug", started_on=dt.date(2026, 9, 1))
    values = documents.rems_values(esk.session)
    assert values["concomitant_benzodiazepines"] is False and values["concomitant_maois"] is False
    assert values["concomitant_sedative_hypnotics"] is True


def test_impossible_minutes_are_left_blank(esk: Built) -> None:
    esk.session.ready_to_leave_at = at(-5)
    assert documents.rems_values(esk.session)["ready_to_leave_min"] is None


def test_values_are_printed_as_the_form_asks() -> None:
    assert documents.display_value(RemsFieldKind.MG, 28) == "28 mg"
    assert documents.display_value(RemsFieldKind.TEXT, None) == "not recorded"
    assert documents.display_value(RemsFieldKind.CHOICE, "84 mg") == "84 mg"


def test_without_a_gate_decision_before_the_dose_the_answer_is_left_for_the_nurse(esk: Built) -> None:
    esk.session.decisions.update(decided_at=at(1))
    values = documents.rems_values(esk.session)
    assert values["vitals_acceptable_before_administration"] is None
    assert "Vital signs in acceptable range prior to administration: not recorded." in clinical.check_rems_form(values)
