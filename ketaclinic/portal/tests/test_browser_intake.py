"""In real Chromium on a phone-sized screen: a patient completes the intake, answers PHQ-9 item 9 with 'several
days', sees crisis help at once, finishes, and the clinic has the urgent task."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pytest

from ketaclinic.conftest import Cast
from ketaclinic.patients.actions import register_patient
from ketaclinic.patients.models import MedicationEntry
from ketaclinic.portal import actions
from ketaclinic.portal.intake import HISTORY_QUESTIONS
from ketaclinic.portal.models import IntakeSubmission, PortalLink
from ketaclinic.tasks.models import Task
from ketaclinic.tests.browser import choose, expect

if TYPE_CHECKING:
    from playwright.sync_api import Page
    from pytest_django.live_server_helper import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_patient_completes_the_intake_on_a_phone_and_gets_crisis_help(
    page: Page, live_server: LiveServer, cast: Cast
) -> None:
    cast.site_a.phone = "312 555 0100"
    cast.site_a.save()
    patient = register_patient(
        site=cast.site_a, by=cast.coordinator, legal_first_name="Robin", legal_last_name="Phonepatient",
        date_of_birth=dt.date(1988, 7, 9), phone="312 555 0199",
    )  # fmt: skip
    link, token = actions.create_link(patient, purpose=PortalLink.Purpose.INTAKE, by=cast.coordinator, email=None)
    page.set_viewport_size({"width": 390, "height": 844})

    page.goto(f"{live_server.url}/p/{token}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello Robin")
    page.get_by_role("button", name="Start").click()

    # Contact: a typo first — the error shows next to the field and what was typed stays.
    page.get_by_label("Your e-mail address").fill("robin@")
    page.get_by_label("Emergency contact: name").fill("Sam Contact")
    page.get_by_role("button", name="Save and continue").click()
    expect(page.get_by_text("E-mail: enter an address like name@example.com.")).to_be_visible()
    assert page.get_by_label("Emergency contact: name").input_value() == "Sam Contact"
    page.get_by_label("Your e-mail address").fill("robin@example.invalid")
    page.get_by_role("button", name="Save and continue").click()

    page.wait_for_url(f"**/p/{token}/intake/history/")
    for question in HISTORY_QUESTIONS:
        choose(page, f"condition_{question.key}", "No")
    choose(page, "pregnant", "Does not apply to me")
    choose(page, "breastfeeding", "Does not apply to me")
    page.get_by_role("button", name="Save and continue").click()

    page.wait_for_url(f"**/p/{token}/intake/medications/")
    page.locator("#id_name_0").fill("clonazepam")
    page.locator("#id_dose_0").fill("0.5 mg at night")
    page.get_by_role("button", name="Save and continue").click()

    page.wait_for_url(f"**/p/{token}/intake/antidepressants/")
    page.locator("#id_drug_0").fill("escitalopram")
    page.locator("#id_weeks_0").fill("10")
    page.locator("#id_helped_0").select_option("a_little")
    page.get_by_role("button", name="Save and continue").click()

    page.wait_for_url(f"**/p/{token}/intake/phq9/")
    for n in range(1, 9):
        choose(page, f"q{n}", "Not at all")
    choose(page, "q9", "Several days")
    page.get_by_role("button", name="Save and continue").click()

    # At once, before the intake is sent: crisis help, and the clinic already has the urgent task.
    page.wait_for_url(f"**/p/{token}/intake/phq9/support/")
    expect(page.get_by_text("If you are in danger now call 911.")).to_be_visible()
    expect(page.get_by_text("Call or text 988 (Suicide & Crisis Lifeline), available 24/7").first).to_be_visible()
    expect(page.get_by_role("link", name="Call the clinic: 312 555 0100")).to_be_visible()
    task = Task.objects.get(patient=patient, kind=Task.Kind.SUICIDE_RISK)
    assert task.priority == Task.Priority.URGENT and task.status == Task.Status.OPEN
    assert not IntakeSubmission.objects.exists()
    call = page.get_by_role("link", name="Call 988")
    box = call.bounding_box()
    assert box is not None and box["height"] >= 44  # a big touch target
    page.get_by_role("link", name="Continue the form").click()

    page.wait_for_url(f"**/p/{token}/intake/gad7/")
    for n in range(1, 8):
        choose(page, f"q{n}", "Several days")
    page.get_by_role("button", name="Save and continue").click()

    # C-SSRS skip logic in the browser: the follow-ups appear only after a "yes".
    page.wait_for_url(f"**/p/{token}/intake/cssrs/")
    expect(page.locator("#q-q3")).to_be_hidden()
    expect(page.locator("#q-q6_past_3_months")).to_be_hidden()
    choose(page, "q1", "No")
    choose(page, "q2", "Yes")
    expect(page.locator("#q-q3")).to_be_visible()
    choose(page, "q2", "No")
    expect(page.locator("#q-q3")).to_be_hidden()
    choose(page, "q6", "No")
    page.get_by_role("button", name="Save and continue").click()

    page.wait_for_url(f"**/p/{token}/intake/review/")
    expect(page.get_by_text("clonazepam — 0.5 mg at night")).to_be_visible()
    expect(page.get_by_text("Help is available now")).to_be_visible()  # the reminder stays
    page.get_by_role("button", name="Send my answers").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you — your answers are with the clinic")

    # Nothing is wider than the phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    submission = IntakeSubmission.objects.get(patient=patient)
    assert submission.task is not None and submission.task.kind == Task.Kind.INTAKE_REVIEW
    assert MedicationEntry.objects.filter(patient=patient).pending_review().count() == 1
    assert Task.objects.filter(patient=patient, kind=Task.Kind.SUICIDE_RISK).count() == 1
    link.refresh_from_db()
    assert link.state == "completed"

    page.goto(f"{live_server.url}/p/{token}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("This link has already been used")
