"""In real Chromium: a nurse runs a check with screening vitals, fixes a missing item, a prescriber signs."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from ketaclinic.patients.models import Patient
from ketaclinic.screening.models import EligibilityAssessment
from ketaclinic.screening.tests.conftest import add_trd_history, new_patient
from ketaclinic.tests.browser import expect, shot, sign_in

if TYPE_CHECKING:
    pass

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def frozen_clock():
    """The browser and the live server run on the real clock."""
    return None


def test_a_nurse_runs_a_check_and_a_prescriber_signs_it(page, live_server, cast):
    patient = new_patient(cast, pregnant=False, breastfeeding=False)
    add_trd_history(patient, cast.nurse)
    base = live_server.url

    sign_in(page, base, "nurse", cast.password)
    page.goto(f"{base}/patients/{patient.pk}/eligibility/run/")
    page.get_by_label("Esketamine nasal spray (SPRAVATO)").check()
    page.get_by_label("Systolic blood pressure (mmHg)").fill("400")
    page.get_by_label("Diastolic blood pressure (mmHg)").fill("82")
    page.get_by_role("button", name="Run check").click()
    expect(page.get_by_text("Systolic blood pressure: 400 is outside the allowed range 50–300 mmHg")).to_be_visible()
    assert page.get_by_label("Diastolic blood pressure (mmHg)").input_value() == "82"  # kept
    assert page.get_by_label("Esketamine nasal spray (SPRAVATO)").is_checked()
    shot(page, "0-run-form-error")
    page.get_by_label("Systolic blood pressure (mmHg)").fill("128")
    page.get_by_role("button", name="Run check").click()

    expect(page.get_by_text("The rules say: Incomplete")).to_be_visible()
    missing = page.locator("#missing")
    expect(missing.get_by_text("Medical and psychiatric conditions not reviewed.")).to_be_visible()
    shot(page, "1-incomplete")
    for _ in range(3):  # conditions, medications, substance use: asked about, nothing to record
        with page.expect_navigation():
            missing.get_by_role("button", name="Reviewed: none").first.click()
        expect(page.get_by_text("recorded as reviewed, none. Run the check again")).to_be_visible()
    expect(missing.get_by_role("button", name="Reviewed: none")).to_have_count(0)
    expect(missing.get_by_text("Recorded since: reviewed, none")).to_have_count(3)
    page.get_by_role("link", name="Re-run the check").click()
    assert page.get_by_label("Systolic blood pressure (mmHg)").input_value() == "128"
    page.get_by_role("button", name="Run check").click()
    shot(page, "1b-rerun")
    expect(page.get_by_text("The rules say: Eligible", exact=False).first).to_be_visible()
    expect(page.get_by_text("Awaiting a prescriber's signature.")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, base, "prescriber", cast.password)
    latest = EligibilityAssessment.objects.filter(patient=patient).order_by("-id").first()
    assert latest is not None
    page.goto(f"{base}/patients/{patient.pk}/eligibility/{latest.pk}/")
    expect(page.get_by_text("[R4] FDA SPRAVATO REMS summary", exact=False).first).to_be_visible()
    shot(page, "2-sign")
    page.get_by_label("Approve", exact=True).check()
    page.get_by_role("button", name="Sign as").click()
    expect(page.get_by_text("Eligibility signed.")).to_be_visible()
    expect(page.get_by_role("heading", name="Signed: Approve")).to_be_visible()
    shot(page, "3-signed")
    latest.refresh_from_db()
    assert latest.status == "signed" and latest.signed_by == cast.prescriber
    assert Patient.objects.get(pk=patient.pk).status == Patient.Status.ELIGIBLE
