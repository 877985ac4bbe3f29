"""Issue 4's journey in real Chromium, across the apps: the coordinator registers a patient and sends the intake
link; the patient completes it on a phone with PHQ-9 item 9 positive and sees crisis help at once; the prescriber
sees the urgent task on the home screen, reviews the intake, and signs the eligibility decision.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from ketaclinic.conftest import Cast
from ketaclinic.patients.models import Patient
from ketaclinic.portal.intake import HISTORY_QUESTIONS
from ketaclinic.screening.models import EligibilityAssessment
from ketaclinic.screening.tests.conftest import add_trd_history
from ketaclinic.tasks.models import Task
from ketaclinic.tests.browser import choose, expect, sign_in

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page
    from pytest_django.live_server_helper import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_intake_to_signed_eligibility(page: Page, browser: Browser, live_server: LiveServer, cast: Cast) -> None:
    base = live_server.url

    # Front desk: register the referral and send the intake link.
    sign_in(page, base, "coordinator", cast.password)
    page.goto(f"{base}/patients/register/")
    page.get_by_label("Legal first name").fill("Jordan")
    page.get_by_label("Legal last name").fill("Journey")
    page.get_by_label("Date of birth").fill("1979-04-12")
    page.get_by_label("Sex at birth").select_option("female")
    page.get_by_role("button", name="Register patient").click()
    expect(page.get_by_role("heading", name="Jordan Journey")).to_be_visible()
    patient = Patient.objects.get(legal_last_name="Journey")
    page.get_by_label("Send to e-mail").fill("jordan@example.invalid")
    page.get_by_role("button", name="Send intake link").click()
    expect(page.get_by_text("E-mailed to")).to_be_visible()
    portal_url = page.locator("#portal-url").input_value()
    assert portal_url.startswith(f"{base}/p/")

    # The patient, on a phone.
    phone = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    phone.goto(portal_url)
    phone.get_by_role("button", name="Start").click()
    phone.get_by_label("Your e-mail address").fill("jordan@example.invalid")
    phone.get_by_role("button", name="Save and continue").click()
    phone.wait_for_url("**/intake/history/")
    for question in HISTORY_QUESTIONS:
        choose(phone, f"condition_{question.key}", "No")
    choose(phone, "pregnant", "No")
    choose(phone, "breastfeeding", "No")
    phone.get_by_role("button", name="Save and continue").click()
    phone.wait_for_url("**/intake/medications/")
    phone.locator("#id_name_0").fill("clonazepam")
    phone.locator("#id_dose_0").fill("0.5 mg at night")
    phone.get_by_role("button", name="Save and continue").click()
    phone.wait_for_url("**/intake/antidepressants/")
    phone.locator("#id_drug_0").fill("escitalopram")
    phone.locator("#id_weeks_0").fill("10")
    phone.locator("#id_helped_0").select_option("a_little")
    phone.get_by_role("button", name="Save and continue").click()
    phone.wait_for_url("**/intake/phq9/")
    for n in range(1, 9):
        choose(phone, f"q{n}", "More than half the days")
    choose(phone, "q9", "Several days")
    phone.get_by_role("button", name="Save and continue").click()
    phone.wait_for_url("**/intake/phq9/support/")
    expect(phone.get_by_text("If you are in danger now call 911.")).to_be_visible()
    expect(phone.get_by_text("Call or text 988 (Suicide & Crisis Lifeline), available 24/7").first).to_be_visible()
    assert Task.objects.filter(patient=patient, kind=Task.Kind.SUICIDE_RISK, priority=Task.Priority.URGENT).exists()
    phone.get_by_role("link", name="Continue the form").click()
    phone.wait_for_url("**/intake/gad7/")
    for n in range(1, 8):
        choose(phone, f"q{n}", "Several days")
    phone.get_by_role("button", name="Save and continue").click()
    phone.wait_for_url("**/intake/cssrs/")
    choose(phone, "q1", "No")
    choose(phone, "q2", "No")
    choose(phone, "q6", "No")
    phone.get_by_role("button", name="Save and continue").click()
    phone.wait_for_url("**/intake/review/")
    phone.get_by_role("button", name="Send my answers").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Thank you — your answers are with the clinic")
    phone.context.close()

    # The prescriber: the urgent task is on the home screen; review the intake; sign eligibility.
    add_trd_history(patient, cast.prescriber)  # diagnosis and prior trials taken from the referral letter
    sign_in(page, base, "prescriber", cast.password)
    expect(page.get_by_text("Suicide-risk follow-up").first).to_be_visible()
    page.goto(f"{base}/patients/{patient.pk}/")
    page.get_by_role("link", name="Review intake").first.click()
    # The patient wrote "0.5 mg at night": the prescriber records the daily dose the interaction rules need.
    clonazepam = page.locator("article.review-row", has_text="clonazepam")
    clonazepam.get_by_text("Correct or reject").click()
    clonazepam.get_by_label("Daily dose", exact=False).fill("0.5")
    with page.expect_navigation():
        clonazepam.get_by_role("button", name="Save correction and accept").click()
    while page.get_by_role("button", name="Accept", exact=True).count():
        with page.expect_navigation():
            page.get_by_role("button", name="Accept", exact=True).first.click()
    page.get_by_label("Review note").fill("Reviewed with the patient by phone; all items confirmed.")
    page.get_by_role("button", name="Mark review complete").click()

    page.goto(f"{base}/patients/{patient.pk}/eligibility/run/")
    page.get_by_label("IV infusion (racemic ketamine)").check()
    page.get_by_label("Systolic blood pressure (mmHg)").fill("126")
    page.get_by_label("Diastolic blood pressure (mmHg)").fill("80")
    page.get_by_label("Heart rate (/min)").fill("72")
    page.get_by_label("Oxygen saturation (pulse oximetry) (%)").fill("98")
    page.get_by_role("button", name="Run check").click()
    missing = page.locator("#missing")
    while missing.get_by_role("button", name="Reviewed: none").count():
        with page.expect_navigation():
            missing.get_by_role("button", name="Reviewed: none").first.click()
    if page.get_by_role("link", name="Re-run the check").count():
        page.get_by_role("link", name="Re-run the check").click()
        page.get_by_role("button", name="Run check").click()
    expect(page.get_by_text("The rules say: Eligible", exact=False).first).to_be_visible()
    page.get_by_label("Approve with precautions").check()
    page.get_by_role("button", name="Sign as").click()
    expect(page.get_by_text("Eligibility signed.")).to_be_visible()

    signed = EligibilityAssessment.objects.get(patient=patient, status="signed")
    assert signed.signed_by == cast.prescriber
    assert any("benzodiazepine" in p["message"].lower() for p in signed.precautions)  # clonazepam carried
    assert Patient.objects.get(pk=patient.pk).status == Patient.Status.ELIGIBLE
