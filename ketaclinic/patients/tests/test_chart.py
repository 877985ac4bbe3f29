from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from ketaclinic.accounts.roles import Role
from ketaclinic.accounts.tests.matrix import PermissionMatrix
from ketaclinic.audit.models import AuditEvent
from ketaclinic.measures.actions import record_response
from ketaclinic.patients import actions
from ketaclinic.patients.models import AntidepressantTrial, MedicationEntry, Source
from ketaclinic.patients.summary import bmi
from ketaclinic.patients.tests.factories import (
    AllergyFactory,
    ConditionFactory,
    DiagnosisFactory,
    MeasurementFactory,
    MedicationFactory,
    SubstanceUseFactory,
    TrialFactory,
)
from ketaclinic.tasks.actions import raise_task
from ketaclinic.tasks.models import Task

pytestmark = pytest.mark.django_db


class TestChartPermissions(PermissionMatrix):
    allowed = set(Role)  # everyone who may see the patient; the clinical part only for chart readers
    patient_scoped = True

    def url(self, cast):
        from ketaclinic.patients.tests.factories import PatientFactory

        patient = PatientFactory.create(site=cast.site_a)
        return reverse("patients:chart", args=[patient.pk])


def _chart(client, user, patient):
    client.force_login(user)
    response = client.get(reverse("patients:chart", args=[patient.pk]))
    assert response.status_code == 200
    return response


def _text(response):
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def test_it_shows_the_identity_band(client, cast, patient):
    text = _text(_chart(client, cast.prescriber, patient))
    assert "Mo Quill (she/her)" in text and "Legal name: Morgan Quill" in text
    assert f"MRN {patient.mrn}" in text and "Referral" in text and "Site A Clinic" in text
    assert f"Age {patient.age_years} (born 1985-06-15)" in text


def test_it_audits_the_read(client, cast, patient):
    _chart(client, cast.nurse, patient)
    event = AuditEvent.objects.get(action=AuditEvent.Action.VIEW)
    assert (event.patient_id, event.object_type, event.actor) == (patient.pk, "patients.patient", cast.nurse)


def test_it_says_when_there_are_no_alerts(client, cast, patient):
    assert "No allergies recorded, no positive suicide screen" in _text(_chart(client, cast.prescriber, patient))


def test_it_puts_allergies_suicide_risk_urgent_tasks_and_pending_reports_in_the_alerts(client, cast, patient):
    AllergyFactory.create(patient=patient, substance="Latex", reaction="Hives", severity="severe")
    with time_machine.travel(dt.datetime(2026, 11, 1, 15, tzinfo=dt.UTC), tick=False):
        record_response(patient, "phq9", [1] * 9, respondent="patient", channel="portal")
    raise_task(patient, kind=Task.Kind.OTHER, priority=Task.Priority.URGENT, title="Call back about dizziness")
    actions.add_entry(MedicationEntry, patient, by=None, source=Source.PATIENT, name="lorazepam")
    actions.add_entry(AntidepressantTrial, patient, by=None, source=Source.PATIENT, drug="sertraline")
    patient.pregnant = True
    patient.save()
    response = _chart(client, cast.prescriber, patient)
    alerts = response.context["summary"].alerts
    assert alerts.pending_reports == 2
    text = _text(response)
    assert "Allergy: Latex — Hives (severe (anaphylaxis))" in text
    assert "Suicide risk: positive PHQ-9 on 2026-11-01 (patient-reported)" in text
    assert "Urgent task: Call back about dizziness" in text
    assert "Urgent task: Suicide-risk follow-up" in text  # raised by the positive item 9
    assert "2 patient-reported items waiting for review" in text
    assert "Pregnant" in text
    # Pending reports are not part of the chart until accepted.
    assert response.context["summary"].medications == []


def test_it_lists_problems_medications_and_substance_use(client, cast, patient):
    DiagnosisFactory.create(patient=patient, is_primary=True, current_episode_start=dt.date(2026, 1, 5))
    ConditionFactory.create(patient=patient, condition="hypertension_controlled", notes="on amlodipine")
    MedicationFactory.create(patient=patient, name="sertraline", drug_class="ssri", daily_dose_mg=Decimal("100"))
    MedicationFactory.create(patient=patient, name="lamotrigine", drug_class="lamotrigine", daily_dose_mg=None)
    MedicationFactory.create(patient=patient, name="old", drug_class="other", stopped_on=dt.date(2020, 1, 1))
    SubstanceUseFactory.create(patient=patient, substance="cannabis", use_disorder=True, pattern="weekends")
    response = _chart(client, cast.therapist, patient)
    text = _text(response)
    assert "Primary F33.2 Major depressive disorder, recurrent, severe" in text
    assert "episode since 2026-01-05" in text
    assert "High blood pressure, controlled with treatment — on amlodipine" in text
    meds = response.context["summary"].medications
    assert [m.name for m in meds] == ["lamotrigine", "sertraline"]  # interaction-relevant first; stopped ones out
    assert "lamotrigine · Lamotrigine · dose not recorded Interacts with ketamine" in text
    assert "sertraline · SSRI · 100 mg/day" in text
    assert "Cannabis · current · use disorder — weekends" in text
    assert "Edit medications" not in text  # a therapist reads the chart but does not edit it


def test_it_marks_what_a_trial_does_not_record(client, cast, patient):
    TrialFactory.create(patient=patient, drug="escitalopram", drug_class="ssri", weeks=None, adequate_dose=None)
    TrialFactory.create(patient=patient, drug="venlafaxine", drug_class="snri", current_episode=False)
    response = _chart(client, cast.prescriber, patient)
    html = response.content.decode()
    assert [t.drug for t in response.context["summary"].trials] == ["escitalopram"]  # the current episode only
    row = html[html.index("<td>escitalopram</td>") :].split("</tr>")[0]
    assert row.count('class="missing">not recorded') == 2 and "150 mg" in row and "10 %" in row


def test_it_shows_the_latest_weight_height_and_bmi(client, cast, patient):
    early = dt.datetime(2026, 1, 1, 9, tzinfo=dt.UTC)
    MeasurementFactory.create(patient=patient, weight_kg=Decimal("90"), height_cm=Decimal("180"), measured_at=early)
    MeasurementFactory.create(
        patient=patient, weight_kg=Decimal("81.0"), height_cm=None, measured_at=early.replace(month=3)
    )
    text = _text(_chart(client, cast.nurse, patient))
    assert "Weight 81.0 kg (2026-03-01)" in text and "Height 180.0 cm (2026-01-01)" in text
    assert "BMI 25.0 kg/m²" in text


def test_it_computes_bmi_only_from_both_values():
    assert bmi(Decimal("70"), Decimal("175")) == Decimal("22.9")
    assert bmi(None, Decimal("175")) is None and bmi(Decimal("70"), None) is None


def test_it_shows_the_latest_response_per_instrument(client, cast, patient):
    with time_machine.travel(dt.datetime(2026, 10, 1, 15, tzinfo=dt.UTC), tick=False):
        record_response(patient, "phq9", [3] * 8 + [0], respondent="patient", channel="portal")
    with time_machine.travel(dt.datetime(2026, 10, 20, 15, tzinfo=dt.UTC), tick=False):
        record_response(patient, "phq9", [1] * 8 + [0], respondent="patient", channel="portal")
        record_response(patient, "gad7", [2] * 7, respondent="clinician", channel="clinic", by=cast.nurse)
    response = _chart(client, cast.prescriber, patient)
    lines = {m.instrument: m for m in response.context["summary"].measures}
    assert (lines["phq9"].total, lines["phq9"].maximum, lines["phq9"].band) == (8, 27, "mild")
    text = _text(response)
    assert "PHQ-9 8/27 · mild · 2026-10-20 · Patient-reported" in text
    assert "GAD-7 14/21 · moderate · 2026-10-20 · Clinician-rated" in text
    assert "Suicide risk" not in text


def test_it_still_shows_a_response_to_an_instrument_no_longer_catalogued(client, cast, patient):
    from ketaclinic.measures.models import QuestionnaireResponse

    QuestionnaireResponse.objects.create(
        patient=patient,
        site=patient.site,
        instrument="old_scale",
        answers={},
        total=4,
        respondent="clinician",
        channel="clinic",
    )
    line = _chart(client, cast.prescriber, patient).context["summary"].measures[0]
    assert (line.name, line.total, line.maximum) == ("old_scale", 4, None)


def test_it_shows_status_changes(client, cast):
    patient = actions.register_patient(
        site=cast.site_a,
        by=cast.coordinator,
        legal_first_name="A",
        legal_last_name="B",
        date_of_birth=dt.date(1980, 1, 1),
    )
    actions.set_status(patient, "screening", by=cast.nurse, reason="intake done")
    text = _text(_chart(client, cast.prescriber, patient))
    assert "Screening · " in text and "intake done" in text


def test_it_gives_the_front_desk_identity_and_contacts_only(client, cast, patient):
    AllergyFactory.create(patient=patient)
    MedicationFactory.create(patient=patient, name="lorazepam", drug_class="benzodiazepine")
    response = _chart(client, cast.coordinator, patient)
    text = _text(response)
    assert response.context["summary"] is None
    assert "Phone 555-0100" in text and "visible to clinicians only" in text
    assert "Edit demographics" in text and "Change status" not in text
    assert "Penicillin" not in text and "lorazepam" not in text and "Alerts" not in text
    assert "History of changes" not in text


def test_it_offers_the_edit_links_to_chart_editors(client, cast, patient):
    text = _text(_chart(client, cast.nurse, patient))
    for link in ("Edit demographics", "Change status", "Edit diagnoses", "Edit medications", "Edit trials"):
        assert link in text
