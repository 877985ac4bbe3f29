from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from ketaclinic.clinical.eligibility import Condition, Substance
from ketaclinic.clinical.medications import DrugClass
from ketaclinic.patients.models import (
    CONDITION_LABELS,
    DRUG_CLASS_LABELS,
    SUBSTANCE_LABELS,
    BodyMeasurement,
    Diagnosis,
    MedicationEntry,
    Patient,
    earliest_adult_birth_date,
    validate_adult_date_of_birth,
)
from ketaclinic.patients.tests.factories import (
    DiagnosisFactory,
    MedicationFactory,
    PatientFactory,
    TrialFactory,
)

pytestmark = pytest.mark.django_db


def test_it_labels_every_clinical_code_in_plain_language():
    assert set(CONDITION_LABELS) == {c.value for c in Condition}
    assert set(SUBSTANCE_LABELS) == {s.value for s in Substance}
    assert set(DRUG_CLASS_LABELS) == {d.value for d in DrugClass}


def test_it_takes_the_last_day_of_february_for_a_leap_day():
    assert earliest_adult_birth_date(dt.date(2028, 2, 29)) == dt.date(2010, 2, 28)
    assert earliest_adult_birth_date(dt.date(2026, 11, 2)) == dt.date(2008, 11, 2)


@time_machine.travel(dt.datetime(2026, 11, 2, 12, tzinfo=dt.UTC), tick=False)
def test_it_validates_a_date_of_birth():
    validate_adult_date_of_birth(dt.date(2008, 11, 2))
    with pytest.raises(ValidationError, match="in the future"):
        validate_adult_date_of_birth(dt.date(2027, 1, 1))
    with pytest.raises(ValidationError, match=r"born on or before 2008-11-02"):
        validate_adult_date_of_birth(dt.date(2008, 11, 3))


def test_it_reads_names_and_ages(cast):
    patient = PatientFactory.build(
        legal_first_name="Jordan", legal_last_name="Lee", preferred_name="", date_of_birth=dt.date(1990, 5, 20)
    )
    assert patient.display_name == "Jordan Lee" and patient.legal_name == "Jordan Lee"
    patient.preferred_name = "Jo"
    assert patient.display_name == "Jo Lee"
    assert patient.age_on(dt.date(2026, 5, 19)) == 35 and patient.age_on(dt.date(2026, 5, 20)) == 36


def test_it_fills_and_checks_a_drug_class_from_the_catalogue(cast, patient):
    row = MedicationEntry(patient=patient, site=patient.site, name="Clonazepam", drug_class="other")
    row.full_clean()
    assert row.drug_class == "benzodiazepine"
    row = MedicationEntry(patient=patient, site=patient.site, name="phenelzine", drug_class="ssri")
    with pytest.raises(ValidationError) as error:
        row.full_clean()
    assert error.value.message_dict["drug_class"] == ["Drug class: phenelzine is MAOI in the drug catalogue, not SSRI."]
    unknown = MedicationEntry(patient=patient, site=patient.site, name="Brandname", drug_class="other")
    unknown.full_clean()
    assert unknown.drug_class == "other"


def test_it_checks_medication_dates_in_order(cast, patient):
    row = MedicationEntry(
        patient=patient,
        site=patient.site,
        name="sertraline",
        started_on=dt.date(2026, 5, 1),
        stopped_on=dt.date(2026, 4, 1),
    )
    with pytest.raises(ValidationError) as error:
        row.full_clean()
    assert error.value.message_dict["stopped_on"] == ["Stopped on: cannot be before the start date."]


def test_it_marks_interaction_relevant_medications(cast, patient):
    assert MedicationFactory.build(drug_class="lamotrigine").is_interaction_relevant
    assert MedicationFactory.build(drug_class="methylxanthine").is_interaction_relevant
    assert not MedicationFactory.build(drug_class="ssri").is_interaction_relevant
    assert MedicationFactory.build(stopped_on=None).is_current
    assert not MedicationFactory.build(stopped_on=dt.date(2000, 1, 1)).is_current


def test_it_fills_a_blank_trial_class_for_a_catalogued_drug(cast, patient):
    from ketaclinic.patients.models import AntidepressantTrial

    trial = AntidepressantTrial(patient=patient, site=patient.site, drug="Mirtazapine")
    trial.full_clean()
    assert trial.drug_class == "mirtazapine"
    unknown = AntidepressantTrial(patient=patient, site=patient.site, drug="Brandix")
    with pytest.raises(ValidationError) as error:
        unknown.full_clean()
    assert list(error.value.message_dict) == ["drug_class"]


def test_it_checks_a_trials_class(cast, patient):
    trial = TrialFactory.build(patient=patient, site=patient.site, drug="bupropion", drug_class="ssri")
    with pytest.raises(ValidationError, match="Bupropion in the drug catalogue"):
        trial.full_clean()
    assert str(trial) == "bupropion"


def test_it_requires_a_weight_or_a_height(cast, patient):
    row = BodyMeasurement(patient=patient, site=patient.site)
    with pytest.raises(ValidationError) as error:
        row.full_clean()
    assert error.value.message_dict["weight_kg"] == ["Weight: enter a weight or a height (or both)."]
    with pytest.raises(IntegrityError), transaction.atomic():
        BodyMeasurement.objects.create(patient=patient, site=patient.site, weight_kg=Decimal("0"))


def test_it_normalises_an_icd10_code_and_fills_it_from_the_catalogue(cast, patient):
    row = Diagnosis(patient=patient, site=patient.site, icd10_code=" f32.2 ")
    row.full_clean()
    assert (row.icd10_code, row.episode) == ("F32.2", "single")
    assert row.description == "Major depressive disorder, single episode, severe without psychotic features"
    anxiety = Diagnosis(patient=patient, site=patient.site, icd10_code="F41.1", description="GAD")
    anxiety.full_clean()
    assert (anxiety.description, anxiety.episode) == ("GAD", "n/a")


def test_it_refuses_an_unknown_icd10_code(cast, patient):
    row = Diagnosis(patient=patient, site=patient.site, icd10_code="F33.22")
    with pytest.raises(ValidationError) as error:
        row.full_clean()
    assert error.value.message_dict["icd10_code"] == [
        "ICD-10-CM code: F33.22 is not in the clinic's catalogue; pick one from the list, e.g. F33.2."
    ]


def test_it_keeps_one_primary_diagnosis(cast, patient):
    first = DiagnosisFactory.create(patient=patient, is_primary=True)
    second = Diagnosis(patient=patient, site=patient.site, icd10_code="F41.1", is_primary=True)
    with pytest.raises(ValidationError) as error:
        second.full_clean()
    assert error.value.message_dict == {
        "is_primary": ["Primary: F33.2 is already the primary diagnosis; untick it there first."]
    }
    first.full_clean()  # itself is no conflict
    with pytest.raises(IntegrityError), transaction.atomic():
        DiagnosisFactory.create(patient=patient, icd10_code="F41.1", is_primary=True)
    DiagnosisFactory.create(patient=PatientFactory.create(site=cast.site_a), is_primary=True)  # per patient


def test_it_searches_names_mrns_birth_dates_and_status(cast):
    site = cast.site_a
    ana = PatientFactory.create(
        site=site, legal_first_name="Ana", legal_last_name="Okafor", mrn="SIT-000101", preferred_name="Annie"
    )
    ben = PatientFactory.create(
        site=site,
        legal_first_name="Ben",
        legal_last_name="Okafor-Reyes",
        mrn="SIT-000102",
        date_of_birth=dt.date(1970, 3, 4),
        status=Patient.Status.SCREENING,
    )
    PatientFactory.create(site=site, legal_first_name="Cy", legal_last_name="Dunn", mrn="SIT-000200")

    def found(*args, **kwargs):
        return set(Patient.objects.search(*args, **kwargs).values_list("legal_first_name", flat=True))

    assert found("okaf") == {"Ana", "Ben"}
    assert found("annie") == {"Ana"}
    assert found("ANA okafor") == {"Ana"}
    assert found("0001") == {"Ana", "Ben"}
    assert found(mrn="sit-000102") == {"Ben"}
    assert found(date_of_birth=dt.date(1970, 3, 4)) == {"Ben"}
    assert found(status="screening") == {"Ben"}
    assert found("") == {"Ana", "Ben", "Cy"}
    assert ben in Patient.objects.at_site(site) and ana in Patient.objects.at_site(site)


def test_it_finds_possible_duplicates_at_the_site(cast):
    born = dt.date(1980, 1, 1)
    same = PatientFactory.create(site=cast.site_a, legal_last_name="Ng", date_of_birth=born)
    PatientFactory.create(site=cast.site_b, legal_last_name="Ng", date_of_birth=born)
    PatientFactory.create(site=cast.site_a, legal_last_name="Ng", date_of_birth=dt.date(1980, 1, 2))
    found = Patient.objects.possible_duplicates(site=cast.site_a, legal_last_name=" NG ", date_of_birth=born)
    assert list(found) == [same]


def test_it_shows_patients_of_the_users_sites_only(cast, patient, patient_b):
    assert list(Patient.objects.visible_to(cast.coordinator)) == [patient]
    assert list(Patient.objects.visible_to(cast.nurse_b)) == [patient_b]
    assert list(Patient.objects.visible_to(None)) == []


def test_it_describes_rows_for_people(cast, patient):
    from ketaclinic.patients.actions import next_mrn
    from ketaclinic.patients.models import MrnCounter

    next_mrn(cast.site_a)
    assert str(MrnCounter.objects.get()) == f"{cast.site_a.pk}: 2"
    assert str(patient) == f"Mo Quill ({patient.mrn})"
    assert (
        str(DiagnosisFactory.build()) == "F33.2 Major depressive disorder, recurrent, severe without psychotic features"
    )
