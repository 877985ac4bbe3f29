"""build_intake: counted chart rows only, "reviewed: none" versus "not recorded", and the snapshot."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from ketaclinic import clinical
from ketaclinic.patients.actions import accept_entry, add_entry, remove_entry
from ketaclinic.patients.models import (
    Allergy,
    AntidepressantTrial,
    Diagnosis,
    MedicalCondition,
    MedicationEntry,
    Patient,
    Source,
    SubstanceUseEntry,
)
from ketaclinic.screening.actions import mark_section_reviewed
from ketaclinic.screening.intake import build_intake
from ketaclinic.screening.tests.conftest import CALM_VITALS, NOW, new_patient

pytestmark = pytest.mark.django_db


def test_it_reads_age_from_the_date_of_birth_at_the_site(cast):
    patient = new_patient(cast, date_of_birth=dt.date(1980, 3, 11))  # 46th birthday is tomorrow
    intake, snapshot = build_intake(patient)
    assert intake.age_years == 45
    assert snapshot["age_years"] == 45 and snapshot["as_of"] == NOW.date().isoformat()


def test_it_leaves_empty_unreviewed_sections_unknown(cast):
    patient = new_patient(cast)
    intake, snapshot = build_intake(patient)
    assert intake.conditions is None
    assert intake.medications is None
    assert intake.substance_use is None
    assert intake.antidepressant_trials is None
    assert snapshot["conditions"]["state"] == "not_recorded"


def test_it_reads_a_reviewed_empty_section_as_none(cast):
    patient = new_patient(cast)
    for section in ("conditions", "medications", "substance_use", "antidepressant_trials"):
        mark_section_reviewed(patient, section, by=cast.nurse)
    intake, snapshot = build_intake(patient)
    assert intake.conditions == frozenset()
    assert intake.medications == ()
    assert intake.substance_use == ()
    assert intake.antidepressant_trials == ()
    assert snapshot["medications"]["state"] == "reviewed_none"
    assert snapshot["medications"]["reviewed_by"] == "nurse"


def test_it_asks_again_when_a_row_was_removed_after_the_none_review(cast, frozen_clock):
    patient = new_patient(cast)
    mark_section_reviewed(patient, "conditions", by=cast.nurse)
    frozen_clock.shift(dt.timedelta(minutes=5))
    row = add_entry(MedicalCondition, patient, by=cast.nurse, condition="sleep_apnoea")
    frozen_clock.shift(dt.timedelta(minutes=5))
    remove_entry(row, by=cast.nurse, reason="entered in error")
    intake, snapshot = build_intake(patient)
    assert intake.conditions is None
    assert snapshot["conditions"]["state"] == "not_recorded"


def test_it_uses_counted_rows_and_counts_pending_patient_reports(cast):
    patient = new_patient(cast)
    add_entry(MedicalCondition, patient, by=cast.nurse, condition="sleep_apnoea")
    add_entry(MedicalCondition, patient, by=None, source=Source.PATIENT, condition="cystitis")
    add_entry(MedicationEntry, patient, by=None, source=Source.PATIENT, name="lorazepam", drug_class="benzodiazepine")
    add_entry(
        AntidepressantTrial, patient, by=None, source=Source.PATIENT, drug="sertraline", drug_class="ssri", weeks=8
    )
    intake, snapshot = build_intake(patient)
    assert intake.conditions == frozenset({clinical.Condition.SLEEP_APNOEA})
    assert intake.medications is None  # the only medication is unaccepted: not recorded
    assert intake.antidepressant_trials is None
    assert snapshot["pending_patient_reported"] == {"conditions": 1, "medications": 1, "antidepressant_trials": 1}


def test_it_uses_a_patient_report_once_accepted(cast):
    patient = new_patient(cast)
    row = add_entry(MedicalCondition, patient, by=None, source=Source.PATIENT, condition="cystitis")
    accept_entry(row, by=cast.nurse)
    intake, snapshot = build_intake(patient)
    assert intake.conditions == frozenset({clinical.Condition.CYSTITIS})
    assert snapshot["pending_patient_reported"] == {}


def test_it_leaves_removed_rows_out(cast):
    patient = new_patient(cast)
    keep = add_entry(SubstanceUseEntry, patient, by=cast.nurse, substance="alcohol", current=True)
    gone = add_entry(SubstanceUseEntry, patient, by=cast.nurse, substance="cannabis", current=True)
    remove_entry(gone, by=cast.nurse, reason="entered in error")
    intake, snapshot = build_intake(patient)
    assert intake.substance_use is not None
    assert [u.substance for u in intake.substance_use] == [clinical.Substance.ALCOHOL]
    assert [i["id"] for i in snapshot["substance_use"]["items"]] == [keep.pk]


def test_it_counts_only_current_medications_and_current_episode_trials(cast):
    patient = new_patient(cast)
    add_entry(
        MedicationEntry,
        patient,
        by=cast.nurse,
        name="lorazepam",
        drug_class="benzodiazepine",
        daily_dose_mg=2,
        started_on=dt.date(2025, 1, 1),
    )
    add_entry(
        MedicationEntry,
        patient,
        by=cast.nurse,
        name="zolpidem",
        drug_class="z_drug",
        started_on=dt.date(2024, 1, 1),
        stopped_on=dt.date(2025, 1, 1),
    )
    add_entry(AntidepressantTrial, patient, by=cast.nurse, drug="fluoxetine", drug_class="ssri", current_episode=False)
    intake, _ = build_intake(patient)
    assert intake.medications is not None
    assert [(m.name, m.drug_class, m.daily_dose_mg) for m in intake.medications] == [
        ("lorazepam", clinical.DrugClass.BENZODIAZEPINE, 2.0)
    ]
    assert intake.antidepressant_trials is None  # only a past-episode trial: the current episode is not recorded


def test_it_maps_trials_with_their_numbers(cast):
    patient = new_patient(cast)
    add_entry(
        AntidepressantTrial,
        patient,
        by=cast.nurse,
        drug="sertraline",
        drug_class="ssri",
        daily_dose_mg=150,
        adequate_dose=True,
        weeks=8,
        improvement_pct=10,
    )
    add_entry(AntidepressantTrial, patient, by=cast.nurse, drug="bupropion", drug_class="bupropion")
    intake, snapshot = build_intake(patient)
    assert intake.antidepressant_trials is not None
    first, second = intake.antidepressant_trials
    assert (first.drug, first.daily_dose_mg, first.adequate_dose, first.weeks, first.improvement_pct) == (
        "sertraline",
        150.0,
        True,
        8.0,
        10.0,
    )
    assert (second.weeks, second.adequate_dose, second.improvement_pct) == (None, None, None)
    assert snapshot["antidepressant_trials"]["items"][1]["weeks"] is None


def test_it_takes_pregnancy_as_false_only_after_male_sex_at_birth(cast):
    male = new_patient(cast, sex_at_birth=Patient.SexAtBirth.MALE)
    intake, snapshot = build_intake(male)
    assert intake.pregnant is False and intake.breastfeeding is False
    assert snapshot["not_asked_after_male_sex_at_birth"] == ["pregnant", "breastfeeding"]
    for sex in (Patient.SexAtBirth.FEMALE, Patient.SexAtBirth.INTERSEX, Patient.SexAtBirth.UNKNOWN):
        intake, snapshot = build_intake(new_patient(cast, sex_at_birth=sex))
        assert intake.pregnant is None and intake.breastfeeding is None
        assert snapshot["not_asked_after_male_sex_at_birth"] == []


def test_it_keeps_a_recorded_pregnancy(cast):
    intake, _ = build_intake(new_patient(cast, pregnant=True, breastfeeding=False))
    assert intake.pregnant is True and intake.breastfeeding is False


def test_it_reads_diagnoses_as_icd10_codes(cast):
    patient = new_patient(cast)
    add_entry(Diagnosis, patient, by=cast.nurse, icd10_code="F33.2", description="MDD", is_primary=True)
    add_entry(Diagnosis, patient, by=cast.nurse, icd10_code="F41.1", description="GAD")
    intake, snapshot = build_intake(patient)
    assert intake.diagnoses == ("F33.2", "F41.1")
    assert [d["code"] for d in snapshot["diagnoses"]] == ["F33.2", "F41.1"]


def test_it_uses_the_catalogue_class_when_the_chart_disagrees(cast):
    patient = new_patient(cast)
    add_entry(MedicationEntry, patient, by=cast.nurse, name="Clonazepam", drug_class="benzodiazepine")
    row = MedicationEntry.objects.get(patient=patient)
    MedicationEntry.objects.filter(pk=row.pk).update(drug_class="other")  # a legacy row with the wrong class
    intake, snapshot = build_intake(patient)
    assert intake.medications is not None
    assert intake.medications[0].drug_class is clinical.DrugClass.BENZODIAZEPINE
    assert any("catalogue class benzodiazepine" in note for note in snapshot["notes"])


def test_it_reads_a_ketamine_allergy_as_hypersensitivity_once_conditions_are_reviewed(cast):
    patient = new_patient(cast)
    add_entry(Allergy, patient, by=cast.nurse, substance="Ketamine", reaction="rash")
    intake, snapshot = build_intake(patient)
    assert intake.conditions is None
    assert any("once the medical conditions are reviewed" in n for n in snapshot["notes"])
    mark_section_reviewed(patient, "conditions", by=cast.nurse)
    intake, _ = build_intake(patient)
    assert intake.conditions == frozenset({clinical.Condition.HYPERSENSITIVITY_KETAMINE})


def test_it_takes_screening_vitals_and_refuses_implausible_ones(cast):
    patient = new_patient(cast)
    intake, snapshot = build_intake(patient, vitals=CALM_VITALS, acute_suicidal_ideation=True)
    assert intake.vitals[clinical.Vital.SYSTOLIC] == 122.0
    assert snapshot["vitals"]["systolic_mmhg"] == 122.0
    assert intake.acute_suicidal_ideation is True
    with pytest.raises(ValueError, match="systolic_mmhg: 400 is outside the allowed range 50–300 mmHg"):
        build_intake(patient, vitals={"systolic_mmhg": 400, "diastolic_mmhg": 80})


def test_its_snapshot_is_plain_json(cast, complete_patient):
    _, snapshot = build_intake(complete_patient(), vitals=CALM_VITALS)
    assert json.loads(json.dumps(snapshot)) == snapshot


def test_it_leaves_out_and_explains_what_the_core_would_refuse(cast):
    patient = new_patient(cast, sex_at_birth=Patient.SexAtBirth.MALE, breastfeeding=False)
    add_entry(Diagnosis, patient, by=cast.nurse, icd10_code="F33.2", description="MDD", is_primary=True)
    bad = add_entry(Diagnosis, patient, by=cast.nurse, icd10_code="F41.1", description="GAD")
    Diagnosis.objects.filter(pk=bad.pk).update(icd10_code="GAD")  # a legacy free-text code
    trial = add_entry(AntidepressantTrial, patient, by=cast.nurse, drug="sertraline", drug_class="ssri", weeks=8)
    AntidepressantTrial.objects.filter(pk=trial.pk).update(drug="clonazepam", drug_class="benzodiazepine")
    intake, snapshot = build_intake(patient)
    assert intake.diagnoses == ("F33.2",)
    assert intake.antidepressant_trials == ()
    assert intake.breastfeeding is False and snapshot["not_asked_after_male_sex_at_birth"] == ["pregnant"]
    assert "Diagnosis code 'GAD' is not an ICD-10-CM code and was not used." in snapshot["notes"]
    assert any("clonazepam (benzodiazepine) is not an antidepressant treatment" in n for n in snapshot["notes"])
