from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import time_machine

from ketaclinic.audit.models import AuditEvent
from ketaclinic.clinical.medications import diazepam_equivalent_mg
from ketaclinic.consents.models import Consent
from ketaclinic.measures.models import QuestionnaireResponse
from ketaclinic.patients import demo
from ketaclinic.patients.models import (
    AntidepressantTrial,
    BodyMeasurement,
    Diagnosis,
    MedicalCondition,
    MedicationEntry,
    Patient,
    SubstanceUseEntry,
)
from ketaclinic.tasks.models import Task

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 27)


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def counts() -> dict[str, int]:
    models = (
        Patient,
        Patient.history.model,
        Diagnosis,
        AntidepressantTrial,
        MedicationEntry,
        MedicalCondition,
        SubstanceUseEntry,
        BodyMeasurement,
        QuestionnaireResponse,
        Consent,
        Task,
        AuditEvent,
    )
    return {model.__name__: model.objects.count() for model in models}


def test_it_seeds_the_demo_clinic_once_with_every_status_and_the_stories_it_is_for() -> None:
    """One seeding (it takes seconds: every consent is a PDF), checked from every side."""
    seeded: list[str] = []
    with time_machine.travel(dt.datetime(2026, 11, 27, 18, 0, tzinfo=dt.UTC), tick=False):
        demo.seed(seeded.append)
    check_seeding_twice_neither_duplicates_nor_wipes(seeded)
    check_every_status_and_both_sites_are_represented()
    check_histories_show_what_the_demo_is_for()
    check_one_recent_positive_item_9_opens_one_suicide_risk_task()
    check_treated_patients_hold_signed_consents_and_the_trail_is_real()
    check_the_seeded_clinic_matches_the_specification()


def check_seeding_twice_neither_duplicates_nor_wipes(seeded) -> None:
    patient = Patient.objects.get(email="maya.holloway@example.invalid")
    patient.phone = "555-0199"  # a demo user's edit survives a re-seed
    patient.save(update_fields=["phone"])
    first = counts()
    messages: list[str] = []

    demo.seed(messages.append)

    assert first["Patient"] == len(demo.PEOPLE) == 40
    assert counts() == first
    assert Patient.objects.get(pk=patient.pk).phone == "555-0199"
    assert seeded[-1] == "  patients 40/40 (40 created, 0 already there)"
    assert messages == [f"  patients {n}/40 (0 created, {n} already there)" for n in (10, 20, 30, 40)]


def check_every_status_and_both_sites_are_represented() -> None:
    statuses = set(Patient.objects.values_list("status", flat=True))
    assert statuses == set(Patient.Status.values)
    assert set(Patient.objects.values_list("site__code", flat=True)) == {"riverside", "hillcrest"}
    assert Patient.objects.filter(status="in_treatment").count() >= 5


def check_histories_show_what_the_demo_is_for() -> None:
    crane = Patient.objects.get(legal_last_name="Crane")
    assert MedicalCondition.objects.filter(patient=crane, condition="aneurysm_or_avm").exists()
    assert MedicationEntry.objects.filter(drug_class="lamotrigine").count() == 1
    benzos = MedicationEntry.objects.filter(drug_class="benzodiazepine")
    assert benzos and all(diazepam_equivalent_mg(m.name, float(m.daily_dose_mg)) > 8 for m in benzos)
    assert AntidepressantTrial.objects.filter(weeks__isnull=True).exists()  # the "missing data" demo
    assert MedicalCondition.objects.filter(condition="hypertension_controlled").exists()
    assert MedicalCondition.objects.filter(condition="sleep_apnoea").count() >= 2
    assert SubstanceUseEntry.objects.filter(substance="cannabis", current=False).count() == 1
    assert Diagnosis.objects.filter(icd10_code="F41.1").exists() and Diagnosis.objects.filter(icd10_code="F43.10")
    for patient in Patient.objects.exclude(status="referral"):
        trials = AntidepressantTrial.objects.filter(patient=patient, current_episode=True).count()
        assert 2 <= trials <= 4, patient
        assert Diagnosis.objects.filter(patient=patient, is_primary=True, icd10_code__regex=r"^F3[23]\.").count() == 1
        assert BodyMeasurement.objects.filter(patient=patient, weight_kg__isnull=False).exists()
    assert not Diagnosis.objects.filter(patient__status="referral").exists()


def check_one_recent_positive_item_9_opens_one_suicide_risk_task() -> None:
    tasks = Task.objects.filter(kind="suicide_risk")
    assert tasks.count() == 1
    task = tasks.get()
    assert task.patient.legal_last_name == "Haddadin" and task.status == "open"
    positives = QuestionnaireResponse.objects.filter(instrument="phq9", answers__q9__gt=0)
    assert [r.patient_id for r in positives] == [task.patient_id]


def check_treated_patients_hold_signed_consents_and_the_trail_is_real() -> None:
    for patient in Patient.objects.filter(status__in=("in_treatment", "maintenance", "discharged")):
        assert patient.consents.exists(), patient
        assert patient.history.count() >= 4  # registered, then each status change
    assert Consent.objects.filter(revoked_at__isnull=False).count() == 1
    assert Consent.objects.filter(channel="portal").exists() and Consent.objects.filter(channel="clinic").exists()
    assert all(c.pdf_sha256 for c in Consent.objects.all())
    maya = Patient.objects.get(legal_last_name="Holloway")
    assert AuditEvent.objects.filter(action="create", object_type="patients.patient", object_id=str(maya.pk)).exists()
    assert QuestionnaireResponse.objects.filter(patient=maya, instrument="phq9").count() >= 4


def test_it_describes_the_same_demo_every_time() -> None:
    first, second = demo.build_specs(TODAY), demo.build_specs(TODAY)
    assert first == second
    assert [s.name for s in first] == [f"{p[0]} {p[1]}" for p in demo.PEOPLE]
    assert first[0].responses[0].answers == second[0].responses[0].answers
    assert demo.build_specs(TODAY + dt.timedelta(days=1))[0].demographics == first[0].demographics


def check_the_seeded_clinic_matches_the_specification() -> None:
    specs = demo.build_specs(TODAY)
    for spec in specs:
        patient = Patient.objects.get(email=spec.email, site__code=spec.site_code)
        assert patient.status == spec.status
        assert patient.date_of_birth == spec.demographics["date_of_birth"]
        assert patient.questionnaire_responses.count() == len(spec.responses)
        assert patient.consents.count() == len(spec.consents)
    assert all(s.email.endswith("@example.invalid") for s in specs)
    assert len({s.email for s in specs}) == len(specs)
