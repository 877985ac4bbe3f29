"""Factories for synthetic patients and chart rows (no real person's data)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory

from ketaclinic.accounts.tests.factories import SiteFactory
from ketaclinic.patients.models import (
    Allergy,
    AntidepressantTrial,
    BodyMeasurement,
    Diagnosis,
    MedicalCondition,
    MedicationEntry,
    Patient,
    SubstanceUseEntry,
)


class PatientFactory(factory.django.DjangoModelFactory[Patient]):
    """A patient saved directly (no action, no audit): for arranging tests, not for testing registration."""

    class Meta:
        model = Patient

    site = factory.SubFactory(SiteFactory)
    mrn = factory.Sequence(lambda n: f"TST-{n:06d}")
    legal_first_name = factory.Iterator(["Alex", "Sam", "Jordan", "Robin", "Casey"])
    legal_last_name = factory.Sequence(lambda n: f"Testperson{n}")
    date_of_birth = dt.date(1985, 6, 15)


class _EntryFactory(factory.django.DjangoModelFactory):
    patient = factory.SubFactory(PatientFactory)
    site = factory.SelfAttribute("patient.site")


class MeasurementFactory(_EntryFactory):
    class Meta:
        model = BodyMeasurement

    weight_kg = Decimal("70.0")
    height_cm = Decimal("175.0")


class AllergyFactory(_EntryFactory):
    class Meta:
        model = Allergy

    substance = "Penicillin"
    reaction = "Rash"
    severity = Allergy.Severity.MODERATE


class DiagnosisFactory(_EntryFactory):
    class Meta:
        model = Diagnosis

    icd10_code = "F33.2"
    description = "Major depressive disorder, recurrent, severe without psychotic features"
    episode = Diagnosis.Episode.RECURRENT


class ConditionFactory(_EntryFactory):
    class Meta:
        model = MedicalCondition

    condition = "hypertension_controlled"


class SubstanceUseFactory(_EntryFactory):
    class Meta:
        model = SubstanceUseEntry

    substance = "alcohol"


class MedicationFactory(_EntryFactory):
    class Meta:
        model = MedicationEntry

    name = "sertraline"
    drug_class = "ssri"
    daily_dose_mg = Decimal("100")


class TrialFactory(_EntryFactory):
    class Meta:
        model = AntidepressantTrial

    drug = "sertraline"
    drug_class = "ssri"
    daily_dose_mg = Decimal("150")
    weeks = Decimal("8")
    improvement_pct = 10
