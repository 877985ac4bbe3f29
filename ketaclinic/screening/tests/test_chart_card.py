"""The eligibility card on the patient chart."""

from __future__ import annotations

import datetime as dt

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory

from ketaclinic.patients.actions import add_entry
from ketaclinic.patients.models import MedicalCondition
from ketaclinic.screening.actions import run_assessment, sign_assessment
from ketaclinic.screening.chart import chart_card
from ketaclinic.screening.tests.conftest import CALM_VITALS, new_patient

pytestmark = pytest.mark.django_db


def render_card(user, patient):
    request = RequestFactory().get(f"/patients/{patient.pk}/")
    request.user = user
    context = chart_card(request, patient)
    if context is None:
        return None
    return render_to_string("screening/_chart_card.html", {**context, "patient": patient, "request": request})


def test_it_is_hidden_from_roles_that_cannot_read_the_chart(cast):
    patient = new_patient(cast)
    assert render_card(cast.coordinator, patient) is None
    assert render_card(cast.admin, patient) is None


def test_it_offers_a_first_check_when_there_is_none(cast):
    html = render_card(cast.nurse, new_patient(cast))
    assert "No signed eligibility decision." in html and "Run eligibility check" in html
    assert "Asked about, nothing to record" not in html
    assert "Run eligibility check" not in render_card(cast.therapist, new_patient(cast))


def test_it_shows_the_decision_in_force_its_precautions_and_newer_drafts(cast, complete_patient, frozen_clock):
    patient = complete_patient()
    add_entry(MedicalCondition, patient, by=cast.nurse, condition="sleep_apnoea")
    old = run_assessment(patient, route="iv", by=cast.nurse, vitals=CALM_VITALS)  # older than the signed one
    frozen_clock.shift(dt.timedelta(hours=1))
    signed = run_assessment(patient, route="iv", by=cast.nurse, vitals=CALM_VITALS)
    sign_assessment(signed, by=cast.prescriber, decision="approve_with_precautions")
    frozen_clock.shift(dt.timedelta(hours=1))
    run_assessment(patient, route="esketamine_nasal", by=cast.nurse, vitals=CALM_VITALS)
    run_assessment(patient, route="esketamine_nasal", by=cast.nurse, vitals=CALM_VITALS)
    html = render_card(cast.prescriber, patient)
    assert "Approve with precautions" in html and "Sleep apnoea: higher risk" in html
    assert html.count("Awaiting signature") == 1  # one line per route, the newest draft
    assert "review and sign" in html
    assert f"/eligibility/{old.pk}/" not in html
    assert "review and sign" not in render_card(cast.nurse, patient)


def test_an_incomplete_draft_is_shown_as_incomplete(cast):
    patient = new_patient(cast)
    run_assessment(patient, route="iv", by=cast.nurse)
    html = render_card(cast.prescriber, patient)
    assert "Incomplete" in html and "review and sign" not in html


def test_it_says_which_empty_sections_were_reviewed_as_none(cast, complete_patient):
    patient = complete_patient()  # conditions, medications and substance use reviewed: none
    add_entry(MedicalCondition, patient, by=cast.nurse, condition="cystitis")
    html = render_card(cast.nurse, patient)
    assert "Asked about, nothing to record: current medications (" in html
    assert "; substance use (" in html
    assert "medical and psychiatric conditions" not in html  # it has a row now
