"""In real Chromium: a coordinator registers a patient; a nurse records the chart inline (htmx) and fixes a refused
weight without losing what was typed; the prescriber reads the chart with its alerts and the history of changes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from ketaclinic.patients.models import Allergy, BodyMeasurement, Patient
from ketaclinic.tests.browser import expect, shot, sign_in

if TYPE_CHECKING:
    pass


pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_patient_is_registered_charted_and_read(page, live_server, cast, real_cards):
    base = live_server.url

    sign_in(page, base, "coordinator", cast.password)
    page.goto(f"{base}/patients/")
    page.get_by_role("link", name="Register patient").click()
    page.get_by_label("Legal first name").fill("Harper")
    page.get_by_label("Legal last name").fill("Vale")
    page.get_by_label("Preferred first name").fill("Hal")
    page.get_by_label("Date of birth").fill("2015-01-01")
    page.get_by_label("Pronouns").fill("he/him")
    page.get_by_role("button", name="Register patient").click()
    expect(page.get_by_text("Date of birth: patients must be 18 or older")).to_be_visible()
    expect(page.get_by_label("Preferred first name")).to_have_value("Hal")  # kept
    shot(page, "patients-0-register-error")
    page.get_by_label("Date of birth").fill("1984-03-09")
    page.get_by_role("button", name="Register patient").click()
    expect(page.get_by_role("heading", name="Hal Vale (he/him)")).to_be_visible()
    expect(page.get_by_text("The clinical chart is visible to clinicians only.")).to_be_visible()
    shot(page, "patients-1-front-desk-chart")
    patient = Patient.objects.get()

    sign_in(page, base, "nurse", cast.password)
    page.goto(f"{base}/patients/{patient.pk}/chart/measurements/")
    page.get_by_label("Weight (kg)").fill("0")
    page.get_by_label("Height (cm)").fill("178")
    page.get_by_role("button", name="Add measurement").click()
    expect(page.get_by_text("Weight: must be above 0 kg and at most 350 kg (you entered 0).")).to_be_visible()
    expect(page.get_by_label("Height (cm)")).to_have_value("178")
    shot(page, "patients-2-weight-error")
    page.get_by_label("Weight (kg)").fill("81.5")
    page.get_by_role("button", name="Add measurement").click()
    expect(page.get_by_text("Added measurement")).to_be_visible()
    expect(page.get_by_text("BMI 25.7 kg/m²")).to_be_visible()
    assert BodyMeasurement.objects.get().weight_kg == 81.5

    page.goto(f"{base}/patients/{patient.pk}/chart/allergies/")
    page.get_by_label("Substance or drug").fill("Latex")
    page.get_by_label("Severity").select_option("severe")
    page.get_by_role("button", name="Add allergy").click()
    expect(page.get_by_text("Added allergy: Latex.")).to_be_visible()
    expect(page.get_by_label("Substance or drug")).to_have_value("")  # ready for the next one
    assert Allergy.objects.get().substance == "Latex"

    page.goto(f"{base}/patients/{patient.pk}/chart/medications/")
    page.get_by_label("Medication (generic name)").fill("clonazepam")
    page.get_by_label("Medication (generic name)").blur()
    expect(page.get_by_text("in the drug catalogue (used if Drug class is left blank)")).to_be_visible()
    page.get_by_label("Total daily dose (mg)").fill("1")
    page.get_by_role("button", name="Add medication").click()
    expect(page.get_by_text("Added medication: clonazepam.")).to_be_visible()
    shot(page, "patients-3-medications")

    sign_in(page, base, "prescriber", cast.password)
    page.goto(f"{base}/patients/{patient.pk}/")
    expect(page.get_by_text("Allergy: Latex")).to_be_visible()
    expect(page.get_by_text("Interacts with ketamine")).to_be_visible()
    shot(page, "patients-4-chart")
    page.get_by_role("link", name="History of changes").click()
    expect(page.get_by_text("Latex").first).to_be_visible()
    shot(page, "patients-5-history")
