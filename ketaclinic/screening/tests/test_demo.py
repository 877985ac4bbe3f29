"""The demo seed signs assessments consistent with each demo patient's status, once."""

from __future__ import annotations

import datetime as dt

import pytest

from ketaclinic.accounts.actions import create_staff_member
from ketaclinic.accounts.roles import Role
from ketaclinic.patients.actions import add_entry
from ketaclinic.patients.models import MedicalCondition, Patient
from ketaclinic.screening import demo
from ketaclinic.screening.models import EligibilityAssessment
from ketaclinic.screening.tests.conftest import add_trd_history, new_patient

pytestmark = pytest.mark.django_db


@pytest.fixture
def rivera(cast):
    return create_staff_member(
        username="dr.rivera",
        password="x-demo-only-x",
        roles=[Role.PRESCRIBER],
        sites=[cast.site_a],
        display_name="Dr Ana Rivera",
    )


def test_it_does_nothing_without_patients_or_prescriber(cast):
    said: list[str] = []
    demo.seed(said.append)
    assert said == ["  no demo prescriber: nothing to sign"]


def test_it_signs_consistently_with_each_status_and_only_once(cast, rivera):
    made = {}
    for status in ("eligible", "in_treatment", "declined", "referral"):
        patient = new_patient(cast, legal_last_name=status.title(), date_of_birth=dt.date(1975, 1, 2))
        add_trd_history(patient, cast.nurse)
        Patient.objects.filter(pk=patient.pk).update(status=status)
        made[status] = patient
    add_entry(MedicalCondition, made["in_treatment"], by=cast.nurse, condition="raised_icp")
    elsewhere = new_patient(cast, site=cast.site_b)
    Patient.objects.filter(pk=elsewhere.pk).update(status="eligible")

    said: list[str] = []
    demo.seed(said.append)
    signed = {a.patient.status: a for a in EligibilityAssessment.objects.select_related("patient")}
    assert set(signed) == {"eligible", "in_treatment", "declined"}  # statuses unchanged by signing
    assert signed["eligible"].prescriber_decision == "approve"
    assert signed["in_treatment"].overridden is True
    assert signed["declined"].prescriber_decision == "decline"
    assert all(a.signed_by == rivera for a in signed.values())
    assert not EligibilityAssessment.objects.filter(patient__in=[made["referral"], elsewhere]).exists()
    assert said[-1] == "  eligibility: 1 screened patient(s) left unsigned (no demo prescriber at their site)"
    assert len(said) == 4

    again: list[str] = []
    demo.seed(again.append)
    assert EligibilityAssessment.objects.count() == 3
    assert again[0] == "  eligibility: every screened demo patient already has an assessment"
