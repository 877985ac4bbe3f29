"""In real Chromium: a coordinator runs an in-clinic signing on a tablet; a patient signs through a link on a phone."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pytest

from ketaclinic.conftest import Cast
from ketaclinic.consents.models import Consent
from ketaclinic.patients.actions import register_patient
from ketaclinic.portal.actions import create_link
from ketaclinic.portal.models import PortalLink
from ketaclinic.tests.browser import expect

if TYPE_CHECKING:
    from playwright.sync_api import Page
    from pytest_django.live_server_helper import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _patient(cast: Cast):
    return register_patient(
        site=cast.site_a,
        by=cast.coordinator,
        legal_first_name="Juniper",
        legal_last_name="Oakhurst",
        date_of_birth=dt.date(1979, 9, 30),
    )


def test_it_lets_a_coordinator_run_an_in_clinic_signing_and_download_the_pdf(
    page: Page, live_server: LiveServer, cast: Cast
) -> None:
    patient = _patient(cast)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("coordinator")
    page.get_by_label("Password").fill(cast.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/")

    page.goto(f"{live_server.url}/patients/{patient.pk}/consents/")
    page.locator("#kind-ketamine_treatment").locator("xpath=..").get_by_role("link", name="Sign in clinic").click()
    expect(page.get_by_text("Racemic ketamine for depression is off-label.")).to_be_visible()

    page.get_by_label("Patient's full legal name, typed by the patient").fill("Juniper Oakhust")
    page.get_by_label("The patient has read this text").check()
    page.get_by_label("I watched the patient type their name").check()
    page.get_by_role("button", name="Sign and store").click()
    page.get_by_text("The typed name does not match").wait_for()
    assert page.get_by_label("Patient's full legal name, typed by the patient").input_value() == "Juniper Oakhust"

    page.get_by_label("Patient's full legal name, typed by the patient").fill("juniper oakhurst")
    page.get_by_role("button", name="Sign and store").click()
    page.wait_for_url(f"{live_server.url}/patients/{patient.pk}/consents/")
    expect(page.get_by_text("signed and stored as a PDF")).to_be_visible()

    with page.expect_download() as download:
        page.get_by_role("link", name="Download PDF").click()
    assert download.value.suggested_filename.endswith("-ketamine_treatment-" + _local_date(patient) + ".pdf")
    consent = Consent.objects.get(patient=patient)
    assert consent.witnessed_by == cast.coordinator and consent.channel == "clinic"


def _local_date(patient) -> str:
    consent = Consent.objects.get(patient=patient)
    return f"{consent.signed_at.astimezone(patient.site.zone).date():%Y-%m-%d}"


def test_it_lets_a_patient_sign_through_a_link_on_a_phone(page: Page, live_server: LiveServer, cast: Cast) -> None:
    patient = _patient(cast)
    _, token = create_link(patient, purpose=PortalLink.Purpose.CONSENT, by=cast.nurse, email=None)
    page.set_viewport_size({"width": 390, "height": 844})

    page.goto(f"{live_server.url}/p/{token}/consent/")
    page.get_by_role("link", name="Read and sign").nth(1).click()  # SPRAVATO REMS enrolment
    expect(page.get_by_text("at least 2 hours after each dose")).to_be_visible()
    page.get_by_label("Type your full name").fill("Juniper Oakhurst")
    page.get_by_label("I have read the text above and I agree.").check()
    page.get_by_role("button", name="Sign").click()

    page.get_by_role("heading", name="Thank you — signed").wait_for()
    consent = Consent.objects.get(patient=patient)
    assert (consent.kind, consent.channel, consent.signed_ip) == ("esketamine_rems", "portal", "127.0.0.1")
