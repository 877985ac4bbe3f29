"""In real Chromium: an IV session is checked in, held for a baseline of 185/100, and a prescriber overrides the
hold with a written reason that the audit trail shows."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from ketaclinic.consents.models import Consent
from ketaclinic.courses.tests.conftest import new_patient
from ketaclinic.dosing.models import DosingSession
from ketaclinic.dosing.tests.conftest import consent
from ketaclinic.scheduling.models import Appointment, AppointmentType
from ketaclinic.scheduling.tests.conftest import ensure_appointment_types
from ketaclinic.tests.browser import expect, shot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
REASON = "Repeat BP after 15 min rest 176/98, asymptomatic; labetalol given; benefit outweighs the risk."


@pytest.fixture
def frozen_clock():
    """The browser and the live server run on the real clock."""
    return None


def test_an_iv_session_on_hold_is_overridden_by_a_prescriber(page, live_server, cast):
    ensure_appointment_types()
    now = timezone.now().replace(microsecond=0)
    # Fasting times are typed as times of today at the site: pick a zone where it is at least 04:00 now.
    cast.site_a.time_zone = "UTC" if now.hour >= 4 else "Asia/Tokyo"
    cast.site_a.save(update_fields=["time_zone"])
    patient = new_patient(cast)
    consent(patient, cast, Consent.Kind.KETAMINE_TREATMENT)
    # Stored directly (no chair booking): the journey starts at the door, and "now" is always today at the site.
    Appointment.objects.create(
        site=patient.site,
        patient=patient,
        appointment_type=AppointmentType.objects.get(route="iv", is_dosing=True),
        starts_at=now,
        ends_at=now + dt.timedelta(minutes=70),
        created_by=cast.coordinator,
    )
    base = live_server.url
    zone = patient.site.zone
    earlier = (now - dt.timedelta(hours=3)).astimezone(zone)

    sign_in(page, base, "nurse", cast.password)
    page.goto(f"{base}/patients/{patient.pk}/")
    page.get_by_role("button", name="Start session").click()
    page.get_by_label("Identity confirmed").check()
    page.get_by_label("Weight today (kg)").fill("80")
    page.get_by_label("Last food (time today)").fill(earlier.strftime("%H:%M"))
    page.get_by_label("Last liquid (time today)").fill(earlier.strftime("%H:%M"))
    page.get_by_label("Escort or driver").fill("Sam Escort")
    page.get_by_label("Escort's phone").fill("555-0199")
    page.get_by_label("Escort confirmed for the ride home").check()
    page.get_by_label("Negative").check()
    page.get_by_label("No hold ordered").check()
    page.get_by_role("button", name="Check in").click()
    expect(page.locator("#state")).to_have_text("Checked in")

    page.get_by_label("Systolic (mmHg)").fill("185")
    page.get_by_label("Diastolic (mmHg)").fill("100")
    page.get_by_label("Heart rate (/min)").fill("78")
    page.get_by_label("SpO2 (%)").fill("98")
    page.get_by_role("button", name="Save baseline vitals").click()
    page.get_by_role("button", name="Run the pre-dose gate").click()
    expect(page.locator("#state")).to_have_text("On hold")
    expect(page.locator("#decision")).to_contain_text("185/100 mmHg is at or above the hold limit")
    expect(page.locator("#hold")).to_contain_text("On hold: a prescriber must review.")
    shot(page, "dosing-0-hold-nurse")

    sign_in(page, base, "prescriber", cast.password)
    session = DosingSession.objects.get(patient=patient)
    page.goto(f"{base}/patients/{patient.pk}/sessions/{session.pk}/")
    page.get_by_label("Reason").fill(REASON)
    shot(page, "dosing-1-override")
    page.get_by_role("button", name="Override the hold").click()
    expect(page.locator("#state")).to_have_text("Cleared to dose")
    expect(page.locator("#overrides")).to_contain_text(REASON)

    sign_in(page, base, "admin", cast.password)
    page.goto(f"{base}/audit/?patient_id={patient.pk}&action=override")
    row = page.locator("tr", has=page.get_by_role("cell", name="Overrode a safety finding", exact=True))
    expect(row).to_have_count(1)
    expect(row).to_contain_text("prescriber")
    expect(row).to_contain_text(f"dosing.holdoverride #{session.overrides.get().pk}")
